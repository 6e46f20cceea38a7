"""The proxy screen: a feature that alone predicts a protected attribute is not a feature.

Protected attributes (the audit-only group columns: sex, municipality, age
band, indigenous status, disability on the bundle path; ``--group`` columns on
the flat path) are never features. A feature that stands in for one of them
would bring it back through the side door, so before training each candidate
feature is tested against each protected column:

* a numeric (or yes/no) feature is a proxy when it separates one value of the
  protected column from the rest with ROC AUC >= ``training.proxy_auc``
  (0.8 by default; the AUC is folded, so "predicts not-X" counts too);
* a category feature is a proxy when its Cramér's V with the protected column
  is >= ``training.proxy_cramers_v`` (0.5 by default).

Values of a protected column held by fewer than :data:`MIN_LEVEL_ROWS` people
are not tested (an AUC on a handful of people is noise). A flagged feature is
left out with a warning naming it and its figure; ``--allow-feature NAME`` (or
``training.allow_features``) keeps it, and the model card records that. Age
band is not screened (``training.proxy_exempt``): it derives from age, which
stays a feature as a developmental factor (support needs change with age), so
a feature that tracks age is no side door; age band is audited instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats.contingency import association
from sklearn.metrics import roc_auc_score

from previ.config import TrainingConfig
from previ.errors import PreviError
from training.dataset import TrainingSet

ALL_PROXIES = (
    "training: every feature predicts a protected column on its own ({names}); "
    "keep the ones that are legitimate with --allow-feature NAME"
)
MIN_LEVEL_ROWS = 30
PROXY_CRAMERS_V = 0.5
"""The default of ``training.proxy_cramers_v``, for columns the flat-table reader drops before the screen."""
SAMPLE_ROWS = 50_000
"""The screen reads at most this many rows (a seeded sample): enough to tell 0.8 from chance."""


@dataclass(frozen=True)
class ProxyFinding:
    """A feature that predicts a protected column on its own."""

    feature: str
    protected: str
    value: str | None
    measure: str
    figure: float

    @property
    def why(self) -> str:
        target = f"{self.protected}={self.value}" if self.value is not None else self.protected
        return f"proxy: alone predicts {target} with {self.measure} {self.figure:.2f}"


def screen_proxies(data: TrainingSet, settings: TrainingConfig, *, allow: Sequence[str] = ()) -> TrainingSet:
    """``data`` without its proxy features; ``excluded``, ``allowed`` and ``warnings`` say what happened."""
    allowed_names = set(settings.allow_features) | set(allow)
    screened = [column for column in data.groups.columns if column not in settings.proxy_exempt]
    findings = find_proxies(
        data.features,
        data.groups[screened],
        auc_threshold=settings.proxy_auc,
        cramers_v_threshold=settings.proxy_cramers_v,
        seed=settings.seed,
    )
    worst: dict[str, ProxyFinding] = {}
    for finding in findings:
        if finding.feature not in worst or finding.figure > worst[finding.feature].figure:
            worst[finding.feature] = finding
    dropped = [name for name in worst if name not in allowed_names]
    kept = [name for name in worst if name in allowed_names]
    if len(dropped) == len(data.feature_names):
        raise PreviError(ALL_PROXIES.format(names=", ".join(dropped)))
    warnings = [
        f"left out {name}: {worst[name].why} (keep it with --allow-feature {name})" for name in dropped
    ]
    warnings += [f"kept {name} although {worst[name].why} (allowed)" for name in kept]
    return replace(
        data,
        features=data.features.drop(columns=dropped),
        excluded=(*data.excluded, *((name, worst[name].why) for name in dropped)),
        allowed=tuple((name, worst[name].why) for name in kept),
        monotone={name: sign for name, sign in data.monotone.items() if name not in dropped},
        warnings=(*data.warnings, *warnings),
    )


def find_proxies(
    features: pd.DataFrame,
    protected: pd.DataFrame,
    *,
    auc_threshold: float = 0.8,
    cramers_v_threshold: float = 0.5,
    seed: int = 0,
) -> list[ProxyFinding]:
    """Every (feature, protected column) pair that crosses its threshold."""
    if len(features) > SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(features), SAMPLE_ROWS, replace=False))
        features, protected = features.iloc[rows], protected.iloc[rows]
    findings = []
    for column in protected.columns:
        target = protected[column].astype("string").fillna("missing").to_numpy(dtype=object)
        levels, counts = np.unique(target, return_counts=True)
        tested = [
            level
            for level, count in zip(levels, counts, strict=True)
            if MIN_LEVEL_ROWS <= count <= len(target) - MIN_LEVEL_ROWS
        ]
        if len(levels) == 2:
            tested = tested[:1]  # the two levels of a binary column give the same folded AUC
        for name in features.columns:
            values = features[name]
            if isinstance(values.dtype, pd.CategoricalDtype):
                figure = cramers_v(values, target)
                if figure >= cramers_v_threshold:
                    findings.append(ProxyFinding(str(name), str(column), None, "Cramér's V", figure))
                continue
            finding = _best_auc(str(name), values.to_numpy(dtype=float), target, tested, str(column))
            if finding is not None and finding.figure >= auc_threshold:
                findings.append(finding)
    return findings


def _best_auc(
    name: str, values: np.ndarray, target: np.ndarray, levels: Sequence[str], column: str
) -> ProxyFinding | None:
    known = np.isfinite(values)
    best: ProxyFinding | None = None
    if known.sum() < 2 * MIN_LEVEL_ROWS or np.unique(values[known]).size < 2:
        return None
    for level in levels:
        is_level = target[known] == level
        if is_level.sum() < MIN_LEVEL_ROWS or (~is_level).sum() < MIN_LEVEL_ROWS:
            continue
        auc = float(roc_auc_score(is_level, values[known]))
        folded = max(auc, 1 - auc)
        if best is None or folded > best.figure:
            best = ProxyFinding(name, column, str(level), "ROC AUC", folded)
    return best


def cramers_v(values: pd.Series, target: np.ndarray) -> float:
    """Cramér's V between two categorical columns (missing values form a level of their own)."""
    table = pd.crosstab(values.astype("string").fillna("missing").to_numpy(dtype=object), target)
    if min(table.shape) < 2:
        return 0.0
    return float(association(table.to_numpy(), method="cramer"))
