"""A fitted calibration: turns a model's raw score into a probability people can read.

It is a small JSON-serialisable object that needs only numpy, so the serving
process applies it without scikit-learn; ``training.calibrate`` fits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Method = Literal["platt", "isotonic"]


@dataclass(frozen=True)
class Calibrator:
    """``platt``: sigmoid(slope * score + intercept); ``isotonic``: a step function of the score."""

    method: Method
    slope: float = 1.0
    intercept: float = 0.0
    thresholds: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    brier_platt: float | None = None
    brier_isotonic: float | None = None

    def probability(self, score: np.ndarray) -> np.ndarray:
        score = np.asarray(score, dtype=float)
        if self.method == "platt":
            return 1.0 / (1.0 + np.exp(-(self.slope * score + self.intercept)))
        return np.interp(score, np.asarray(self.thresholds), np.asarray(self.values))

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "slope": self.slope,
            "intercept": self.intercept,
            "thresholds": list(self.thresholds),
            "values": list(self.values),
            "brier_platt": self.brier_platt,
            "brier_isotonic": self.brier_isotonic,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Calibrator:
        return cls(
            method=raw["method"],
            slope=float(raw["slope"]),
            intercept=float(raw["intercept"]),
            thresholds=tuple(raw["thresholds"]),
            values=tuple(raw["values"]),
            brier_platt=raw.get("brier_platt"),
            brier_isotonic=raw.get("brier_isotonic"),
        )
