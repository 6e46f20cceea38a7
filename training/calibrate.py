"""Calibration: turn a model's raw score into a probability people can read.

Both candidates are fitted on the calibration half of the validation fold
(rows the model never saw) and compared in a 2-fold cross-fit on those rows.
Platt scaling (two parameters) is kept unless isotonic regression beats it by
more than one standard error of the paired difference in squared error (the
one-standard-error rule: the more flexible fit has to earn its place). The
isotonic fit's blocks are shrunk by half an observation of each class (Jeffreys),
so a block of four positive rows reads 0.9, not 1.0: no probability is exactly
0 or 1. The result is a small JSON-serialisable object, so the service can
apply it without scikit-learn.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.calibration import Calibrator, Method


def fit_calibrator(score: np.ndarray, label: np.ndarray, *, seed: int = 0) -> Calibrator:
    """Fit Platt and isotonic calibration; keep isotonic only when it wins by more than a standard error."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label, dtype=int)
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(score)) % 2 == 0
    errors = {}
    for method in ("platt", "isotonic"):
        predicted = np.empty(len(score))
        for fit_rows in (half, ~half):
            predicted[~fit_rows] = _fit(method, score[fit_rows], label[fit_rows]).probability(
                score[~fit_rows]
            )
        errors[method] = (predicted - label) ** 2
    briers = {method: float(np.mean(error)) for method, error in errors.items()}
    gain = errors["platt"] - errors["isotonic"]
    standard_error = float(np.std(gain, ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else np.inf
    best: Method = "isotonic" if float(np.mean(gain)) > standard_error else "platt"
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
    _, block = np.unique(isotonic.predict(score), return_inverse=True)
    positives = np.bincount(block, weights=label)
    rows = np.bincount(block)
    shrunk = ((positives + 0.5) / (rows + 1.0))[block]  # Jeffreys: strictly inside (0, 1)
    isotonic = IsotonicRegression(out_of_bounds="clip").fit(score, shrunk)  # shrinking can break the order
    return Calibrator(
        "isotonic",
        thresholds=tuple(float(value) for value in isotonic.X_thresholds_),
        values=tuple(float(value) for value in isotonic.y_thresholds_),
    )
