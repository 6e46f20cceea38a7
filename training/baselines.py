"""Baselines that any evaluation in this field must beat, and say so.

* The ABC early-warning rule (attendance, behaviour, course failure): flag a
  young person when attendance over the last 90 days is under 90%, or there was
  any suspension or serious incident in the last year, or a core subject
  (mathematics or Spanish) was failed in the latest term. Its score is the
  number of ABC indicators (0-3), so it can rank with ties.
* The one-feature ranker: the single feature that best ranks the training rows
  (highest ROC AUC after orienting it), used alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ABC_FEATURES = (
    "attendance_rate_90d",
    "suspension_days_365d",
    "serious_incidents_365d",
    "failed_core_subject_last_term",
)


def abc_applicable(feature_names: list[str]) -> bool:
    return all(name in feature_names for name in ABC_FEATURES)


@dataclass(frozen=True)
class ABCRule:
    """The ABC rule; no parameters are learned."""

    name: str = "abc_rule"

    def score(self, features: pd.DataFrame) -> np.ndarray:
        attendance = (features["attendance_rate_90d"] < 0.9).to_numpy(dtype=float)
        behaviour = (
            (features["suspension_days_365d"] > 0) | (features["serious_incidents_365d"] > 0)
        ).to_numpy(dtype=float)
        course = (features["failed_core_subject_last_term"] == 1).to_numpy(dtype=float)
        return attendance + behaviour + course

    def flagged(self, features: pd.DataFrame) -> np.ndarray:
        return self.score(features) > 0


@dataclass(frozen=True)
class OneFeatureRanker:
    """Rank by one feature, oriented so that a higher score means more need."""

    feature: str
    sign: float
    fill: float
    train_auc: float
    name: str = "one_feature"

    def score(self, features: pd.DataFrame) -> np.ndarray:
        values = features[self.feature].to_numpy(dtype=float)
        return self.sign * np.where(np.isnan(values), self.fill, values)


def fit_one_feature_ranker(features: pd.DataFrame, label: np.ndarray) -> OneFeatureRanker:
    """Pick the numeric feature with the best oriented training ROC AUC (missing values at the median)."""
    best: OneFeatureRanker | None = None
    for name in features.columns:
        if isinstance(features[name].dtype, pd.CategoricalDtype):
            continue
        values = features[name].to_numpy(dtype=float)
        finite = values[~np.isnan(values)]
        if len(finite) == 0 or np.all(finite == finite[0]):
            continue
        fill = float(np.median(finite))
        auc = float(roc_auc_score(label, np.where(np.isnan(values), fill, values)))
        sign = 1.0 if auc >= 0.5 else -1.0
        oriented = max(auc, 1 - auc)
        if best is None or oriented > best.train_auc:
            best = OneFeatureRanker(feature=name, sign=sign, fill=fill, train_auc=oriented)
    if best is None:
        raise ValueError("no numeric feature varies in the training rows")
    return best
