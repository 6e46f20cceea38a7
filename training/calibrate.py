"""Calibration: turn a model's raw score into a probability people can read.

Both candidates are fitted on the calibration half of the validation fold
(rows the model never saw) and the one with the lower Brier score in a 2-fold
cross-fit on those rows is kept. The result is a small JSON-serialisable
object, so the service can apply it without scikit-learn.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.calibration import Calibrator, Method


def fit_calibrator(score: np.ndarray, label: np.ndarray, *, seed: int = 0) -> Calibrator:
    """Fit Platt and isotonic calibration and keep the one with the lower cross-fitted Brier score."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=int)
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(score)) % 2 == 0
    briers = {}
    for method in ("platt", "isotonic"):
        predicted = np.empty(len(score))
        for fit_rows in (half, ~half):
            predicted[~fit_rows] = _fit(method, score[fit_rows], label[fit_rows]).probability(
                score[~fit_rows]
            )
        briers[method] = float(np.mean((predicted - label) ** 2))
    best: Method = "platt" if briers["platt"] <= briers["isotonic"] else "isotonic"
    fitted = _fit(best, score, label)
    return Calibrator(
        method=fitted.method,
        slope=fitted.slope,
        intercept=fitted.intercept,
        thresholds=fitted.thresholds,
        values=fitted.values,
        brier_platt=briers["platt"],
        brier_isotonic=briers["isotonic"],
    )


def _fit(method: str, score: np.ndarray, label: np.ndarray) -> Calibrator:
    if method == "platt":
        model = LogisticRegression(C=1e6, max_iter=1000).fit(score.reshape(-1, 1), label)
        return Calibrator("platt", slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score, label)
    return Calibrator(
        "isotonic",
        thresholds=tuple(float(value) for value in isotonic.X_thresholds_),
        values=tuple(float(value) for value in isotonic.y_thresholds_),
    )
