"""Evaluation on a fold: ranking, calibration and the programme's capacity.

Headline metric, as in dssg/triage: precision at the programme's capacity k
(how many of the k young people a programme can take really needed support),
beside recall at k, lift at k, ROC AUC, PR AUC, Brier score and expected
calibration error (ECE, 10 equal-width bins of the calibrated probability).

Intervals are percentile bootstrap intervals over resamples of the test rows.
Every metric is written as a weighted sum so that all resamples are computed
at once from a matrix of resample counts (chunks of resamples bound memory).
The selection at k is fixed on the full fold (the programme's cut-off) and
the bootstrap shows how precision and recall at that cut-off vary. Selection
goes through :mod:`fairness_audits.selection`, the engine the audit and the
service's tiers share, so the fold's audit checks exactly these people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairness_audits.selection import capacity_count, top_k

METRICS = ("roc_auc", "pr_auc", "brier", "ece", "precision_at_k", "recall_at_k", "lift_at_k")
ECE_BINS = 10
_CHUNK = 50


@dataclass(frozen=True)
class Evaluation:
    """Point values and 95% intervals of every metric on one set of rows."""

    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    n: int
    positives: int
    k: int

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {name: round(value, 6) for name, value in self.values.items()}
        result.update(
            {f"{name}_ci": [round(low, 6), round(high, 6)] for name, (low, high) in self.intervals.items()}
        )
        result.update(
            n=self.n, positives=self.positives, prevalence=round(self.positives / self.n, 6), k=self.k
        )
        return result


def evaluate(
    label: np.ndarray,
    probability: np.ndarray,
    *,
    k: float,
    resamples: int = 1000,
    seed: int = 0,
    ranking: np.ndarray | None = None,
) -> Evaluation:
    """Metrics of ``probability`` (calibrated) against ``label``, with bootstrap intervals.

    ``ranking`` orders young people for the capacity metrics and the AUCs when
    it differs from the probability (a rule's indicator count, say); by default
    the probability ranks.
    """
    label = np.asarray(label, dtype=float)
    probability = np.asarray(probability, dtype=float)
    ranking = probability if ranking is None else np.asarray(ranking, dtype=float)
    n = len(label)
    count = capacity_count(n, k)
    selected = top_k(ranking, count, seed=seed)
    parts = _Parts.build(label, probability, ranking, selected)
    values = {name: float(value[0]) for name, value in parts.metrics(np.ones((1, n))).items()}
    rng = np.random.default_rng(seed)
    replicates: dict[str, list[np.ndarray]] = {name: [] for name in METRICS}
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        draws = rng.integers(0, n, size=(size, n))
        offsets = (np.arange(size)[:, None] * n + draws).ravel()
        weights = np.bincount(offsets, minlength=size * n).reshape(size, n).astype(float)
        for name, value in parts.metrics(weights).items():
            replicates[name].append(value)
    intervals = {}
    for name, chunks in replicates.items():
        values_r = np.concatenate(chunks) if chunks else np.array([np.nan])
        low, high = (
            np.nanpercentile(values_r, [2.5, 97.5]) if np.isfinite(values_r).any() else (np.nan, np.nan)
        )
        intervals[name] = (float(low), float(high))
    return Evaluation(values=values, intervals=intervals, n=n, positives=int(label.sum()), k=count)


@dataclass(frozen=True)
class _Parts:
    """Per-row pieces of every metric, arranged so that a weight matrix gives all resamples."""

    label: np.ndarray
    level: np.ndarray  # index of each row's distinct ranking level, highest first
    levels: int
    squared_error: np.ndarray
    bins: np.ndarray
    probability: np.ndarray
    selected: np.ndarray

    @classmethod
    def build(
        cls, label: np.ndarray, probability: np.ndarray, ranking: np.ndarray, selected: np.ndarray
    ) -> _Parts:
        unique = np.unique(ranking)
        level = len(unique) - 1 - np.searchsorted(unique, ranking)
        bins = np.minimum((probability * ECE_BINS).astype(int), ECE_BINS - 1)
        return cls(label, level, len(unique), (probability - label) ** 2, bins, probability, selected)

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        positive_w = weights * self.label
        negative_w = weights - positive_w
        total = weights.sum(axis=1)
        positives = positive_w.sum(axis=1)
        negatives = total - positives
        pos_level = _sum_by_level(positive_w, self.level, self.levels)
        neg_level = _sum_by_level(negative_w, self.level, self.levels)
        pos_above = np.cumsum(pos_level, axis=1) - pos_level
        cum_pos = np.cumsum(pos_level, axis=1)
        cum_all = cum_pos + np.cumsum(neg_level, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (neg_level * (pos_above + 0.5 * pos_level)).sum(axis=1) / (positives * negatives)
            precision_at_level = np.where(cum_all > 0, cum_pos / np.where(cum_all > 0, cum_all, 1), 0)
            pr_auc = (pos_level * precision_at_level).sum(axis=1) / positives
            brier = weights @ self.squared_error / total
            observed = _sum_by_level(positive_w, self.bins, ECE_BINS)
            predicted = _sum_by_level(weights * self.probability, self.bins, ECE_BINS)
            ece = np.abs(observed - predicted).sum(axis=1) / total
            selected_w = weights[:, self.selected]
            true_selected = positive_w[:, self.selected].sum(axis=1)
            precision = true_selected / selected_w.sum(axis=1)
            recall = true_selected / positives
            lift = precision / (positives / total)
        return {
            "roc_auc": auc,
            "pr_auc": pr_auc,
            "brier": brier,
            "ece": ece,
            "precision_at_k": precision,
            "recall_at_k": recall,
            "lift_at_k": lift,
        }


def _sum_by_level(weights: np.ndarray, level: np.ndarray, levels: int) -> np.ndarray:
    """Sum the columns of ``weights`` that share a level: (resamples, rows) -> (resamples, levels)."""
    order = np.argsort(level, kind="stable")
    sorted_level = level[order]
    starts = np.flatnonzero(np.r_[True, sorted_level[1:] != sorted_level[:-1]])
    sums = np.add.reduceat(weights[:, order], starts, axis=1)
    result = np.zeros((weights.shape[0], levels))
    result[:, sorted_level[starts]] = sums
    return result
