"""``previ evaluate``: did the programmes reduce the adverse outcome among the young people served?

Two entry points share one estimator (:func:`evaluation.estimate.estimate_effect`)
and one writer (:func:`write_evaluation`):

* :func:`evaluate_bundle` on a data bundle: the sequential design of
  :mod:`evaluation.design`, one estimate per programme and one pooled over
  every programme ("served"), with heterogeneity by municipality and tier;
* :func:`evaluate_table` on a flat table of one row per person (the Catalonia
  juvenile-justice records): one treatment value against a control value.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.design import NOT_SERVED, TREATMENT_COLUMN, evaluation_sample
from evaluation.estimate import Effect, estimate_effect
from evaluation.margin import DESIGNS, Design, lottery_effect, margin_rows, rd_effect, read_allocations
from evaluation.report import write_evaluation
from features.load import load_bundle
from previ.config import PreviConfig
from previ.errors import PreviError

GOAL = 0.15  # the programmes' goal: 15% less violence among the young people served
SERVED = "served"
GROUPINGS = ("municipality", "tier")
COMPARISONS_PER_PROGRAM = 10  # comparison rows per served row of one programme (a random share of them)
MAX_SERVED = 12_000  # served rows per estimate (a random subset above it): bounds the time on large bundles
MAX_COMPARISONS = 80_000  # comparison rows sampled in all (see evaluation.design)


@dataclass(frozen=True)
class Evaluation:
    """What ``previ evaluate`` found; :meth:`as_dict` is ``evaluation.json``."""

    source: str
    served: Effect
    programs: dict[str, Effect]
    notes: dict[str, Any]
    design: str = "observational"

    def as_dict(self) -> dict[str, Any]:
        return {
            "goal": GOAL,
            "design": self.design,
            "source": self.source,
            "served": self.served.as_dict(),
            "programs": {name: effect.as_dict() for name, effect in self.programs.items()},
            "notes": self.notes,
        }


def evaluate_bundle(
    settings: PreviConfig,
    *,
    data_dir: Path,
    programs: list[str] | None = None,
    by_municipality: bool = False,
    seed: int = 0,
    max_comparisons: int = MAX_COMPARISONS,
) -> Evaluation:
    """Effects of every programme (or those in ``programs``) and of being served at all.

    Each estimate uses at most ``MAX_SERVED`` served rows (a random subset above
    it) and a random share of the comparison rows; neither draw depends on
    anything but the seed, so the effect on the served stays unbiased and only
    its interval widens. At the issue's scale (20,000 young people) no cap binds.
    Raises PreviError for an unknown programme or one with too few served rows.
    """
    bundle = load_bundle(data_dir, audit_columns=settings.data.audit_columns)
    sample = evaluation_sample(bundle, settings.features, max_comparisons=max_comparisons, seed=seed)
    frame = sample.frame
    known = sorted(set(frame[TREATMENT_COLUMN]) - {NOT_SERVED})
    wanted = known if programs is None else programs
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise PreviError(
            f"--programs: unknown {', '.join(unknown)}; served in this bundle: {', '.join(known)}"
        )
    covariates = frame[list(sample.covariates)]
    served = (frame[TREATMENT_COLUMN] != NOT_SERVED).to_numpy()
    outcome = frame["outcome"].to_numpy(dtype=float)
    clusters = frame["youth_id"].to_numpy()
    groups = {"tier": _need_tier(frame, sample.covariates, settings)}
    if by_municipality:
        groups["municipality"] = frame["municipality"].astype(str).to_numpy()
    if served.sum() <= MAX_SERVED:
        pooled = estimate_effect(
            covariates,
            served,
            outcome,
            name=SERVED,
            clusters=clusters,
            groups=groups,
            seed=seed,
            threads=settings.training.threads,
        )
    else:
        rows = ~served | _at_most(served, MAX_SERVED, seed)
        pooled = estimate_effect(
            covariates[rows],
            served[rows],
            outcome[rows],
            name=SERVED,
            clusters=clusters[rows],
            groups={grouping: labels[rows] for grouping, labels in groups.items()},
            seed=seed,
            threads=settings.training.threads,
        )
    effects = {}
    comparisons = np.flatnonzero(~served)
    for index, name in enumerate(wanted):
        # each programme against a random share of the comparison rows, at most COMPARISONS_PER_PROGRAM
        # per served row: a share drawn independently of everything keeps the effect on the served unbiased
        mine = _at_most((frame[TREATMENT_COLUMN] == name).to_numpy(), MAX_SERVED, seed)
        share = min(1.0, COMPARISONS_PER_PROGRAM * mine.sum() / max(comparisons.size, 1))
        drawn = np.random.default_rng([seed, index]).random(comparisons.size) < share
        rows = mine.copy()
        rows[comparisons[drawn]] = True
        effects[name] = estimate_effect(
            covariates[rows],
            served[rows],
            outcome[rows],
            name=name,
            clusters=clusters[rows],
            groups={"municipality": groups["municipality"][rows]} if by_municipality else None,
            seed=seed,
            threads=settings.training.threads,
        )
    notes = {
        "design": "served in month m versus not served then; covariates at the first day of m; outcome "
        f"within {sample.horizon_days} days from the first day of m + 1",
        "months": [sample.months[0].isoformat(), sample.months[-1].isoformat()],
        "comparison_sampling_rate": sample.comparison_rate,
        "comparisons_per_program": (
            f"a random share of the comparison rows, at most {COMPARISONS_PER_PROGRAM} per served row"
        ),
        "served_per_estimate": f"at most {MAX_SERVED:,} (a random subset above it)",
        "covariates": list(sample.covariates),
        "tier": "tiers by the share of comparison rows with a higher need score (the config's tier shares)",
    }
    return Evaluation(source=str(data_dir), served=pooled, programs=effects, notes=notes)


def _at_most(mask: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """``mask`` itself, or a random subset of ``limit`` of its rows when it has more."""
    rows = np.flatnonzero(mask)
    if rows.size <= limit:
        return mask
    kept = np.zeros(mask.size, dtype=bool)
    kept[np.random.default_rng([seed, limit]).choice(rows, size=limit, replace=False)] = True
    return kept


def evaluate_margin(settings: PreviConfig, *, data_dir: Path, design: Design) -> Evaluation:
    """The effect at the capacity cut-off, by ``rd`` or ``lottery`` (:mod:`evaluation.margin`).

    ``served`` is the effect among those ranked near the cut-off; there is no
    per-programme estimate (the margin mixes programmes). Raises PreviError when
    the bundle has no allocations table, or no lottery band for ``lottery``.
    """
    if design not in DESIGNS:
        raise PreviError(f"--design: expected rd or lottery (got '{design}')")
    allocations = read_allocations(data_dir, design)
    bundle = load_bundle(data_dir, audit_columns=settings.data.audit_columns)
    rows = margin_rows(bundle, allocations, settings.features)
    effect = lottery_effect(rows) if design == "lottery" else rd_effect(rows)
    described = {
        "lottery": "a place offered by lottery within the band around the capacity cut-off, winners versus "
        "losers (cycle fixed effects, clustered by young person)",
        "rd": "regression discontinuity in the rank at the capacity cut-off, or at the lottery band's "
        "two edges (rdrobust, clustered by young person)",
    }
    notes = {
        "design": f"{described[design]}; outcome within {settings.features.horizon_days} days from the "
        "first day of the month after the cycle",
        "cycles": list(rows.cycles),
        "rows": len(rows.frame),
    }
    return Evaluation(source=str(data_dir), served=effect, programs={}, notes=notes, design=design)


def _need_tier(frame: pd.DataFrame, covariates: tuple[str, ...], settings: PreviConfig) -> np.ndarray:
    """Prevention tier by a simple need score: the count of risk features above their median.

    The evaluation does not need a trained model; this ordering only groups
    people of similar recorded need to show whether effects differ with need.
    """
    values = frame[list(covariates)].to_numpy(dtype=float)
    medians = np.nanmedian(values, axis=0)
    score = np.nansum(values > medians[None, :], axis=1).astype(float)
    rank = pd.Series(score).rank(pct=True, method="average").to_numpy()
    tiers = settings.training.tiers
    names = np.full(len(frame), "universal", dtype=object)
    names[rank > 1.0 - tiers.selective] = "selective"
    names[rank > 1.0 - tiers.indicated] = "indicated"
    return names


def evaluate_table(
    table: Path,
    *,
    treatment: str,
    control: str | None,
    label: str,
    positive: str,
    id_column: str,
    exclude: list[str],
    seed: int = 0,
    threads: int = 1,
) -> Evaluation:
    """One treatment value against a control value (or every other row) in a flat table.

    ``treatment`` and ``control`` are ``COLUMN=VALUE``. Covariates are every
    other column except the id, the label, the treatment column and those
    matching an ``exclude`` glob; text columns are one-hot encoded, a missing
    value gets its own indicator. Raises PreviError naming the option at fault.
    """
    frame = _read_table(table)
    column, value = _assignment("--treatment", treatment)
    for option, name in (("--treatment", column), ("--label", label), ("--id", id_column)):
        if name not in frame.columns:
            raise PreviError(f"{option}: no column '{name}' in {table.name}")
    text = frame[column].astype("string").str.strip()
    treated = (text == value).fillna(False).to_numpy()
    if control is not None:
        control_column, control_value = _assignment("--control", control)
        if control_column != column:
            raise PreviError(f"--control: must name the treatment's column {column} (got {control_column})")
        rows = treated | (text == control_value).fillna(False).to_numpy()
    else:
        rows = np.ones(len(frame), dtype=bool)
    if not treated.any():
        raise PreviError(f"--treatment: no row has {column} = {value}")
    labels = frame[label].astype("string").str.strip()
    if not (labels == positive).any():
        raise PreviError(f"--positive: no row has {label} = {positive}")
    frame, treated, outcome = frame[rows], treated[rows], (labels == positive).fillna(False).to_numpy()[rows]
    dropped = {id_column, label, column}
    kept = [
        name
        for name in frame.columns
        if name not in dropped and not any(fnmatch.fnmatch(name, pattern) for pattern in exclude)
    ]
    covariates = _encode(frame[kept])
    effect = estimate_effect(
        covariates,
        treated,
        outcome.astype(float),
        name=value,
        clusters=frame[id_column].to_numpy(),
        seed=seed,
        threads=threads,
    )
    notes = {
        "design": f"{column} = {value} versus {control or 'every other row'}; outcome {label} = {positive}",
        "covariates": list(kept),
    }
    return Evaluation(source=str(table), served=effect, programs={}, notes=notes)


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise PreviError(f"--table: no file {path}")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, low_memory=False)
    raise PreviError(f"--table: {path.name} must be .csv or .parquet")


def _assignment(option: str, text: str) -> tuple[str, str]:
    column, sign, value = text.partition("=")
    if not sign or not column.strip() or not value.strip():
        raise PreviError(f"{option}: expected COLUMN=VALUE (got '{text}')")
    return column.strip(), value.strip()


def _encode(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers stay (missing stays missing); text becomes one indicator per value seen 20+ times."""
    parts = []
    for name in frame.columns:
        numbers = pd.to_numeric(frame[name], errors="coerce")
        present = frame[name].notna()
        if numbers[present].notna().all():
            parts.append(numbers.rename(name).astype(float))
            continue
        text = frame[name].astype("string").fillna("(missing)")
        counts = text.value_counts()
        for level in counts[counts >= 20].index:
            parts.append((text == level).astype(float).rename(f"{name}={level}"))
    if not parts:
        raise PreviError("evaluate: no covariate left after --exclude")
    return pd.concat(parts, axis=1)


def save(evaluation: Evaluation, out: Path, *, settings: PreviConfig) -> Path:
    """Write evaluation.json, the es/en reports and the MLflow run; see :func:`write_evaluation`."""
    return write_evaluation(
        evaluation.as_dict(),
        {n: e.balance for n, e in [(SERVED, evaluation.served), *evaluation.programs.items()]},
        out,
        settings=settings,
    )
