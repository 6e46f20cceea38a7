"""Small tables for the fairness-audit tests, and where the shared real data lives."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from tests.factories import shared_data_dir

__all__ = ["shared_data_dir"]

AGE_BAND_INTERCEPTS = {"11-13": -3.618326517714650, "14-15": -2.337328510254132, "16-17": -2.564221500110294}
"""Logit intercepts giving base rates of 4%, 12% and 10% when logit = intercept + N(0, 1).

Solved exactly (80-point Gauss-Hermite quadrature of E[expit(a + x)]), as
bench/bench_gate.py does at run time.
"""


def hand_table() -> pd.DataFrame:
    """14 rows whose metrics are worked out by hand in test_metrics.py.

    Group A (8 rows, threshold 0.5): TP 2, FP 2, FN 1, TN 3; every score in its own ECE bin.
    Group B (6 rows, ties at 0.5 and 0.2): TP 2, FP 1, FN 1, TN 2.
    """
    scores_a = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
    labels_a = [1, 0, 1, 0, 1, 0, 0, 0]
    scores_b = [0.5, 0.5, 0.5, 0.2, 0.2, 0.05]
    labels_b = [1, 1, 0, 1, 0, 0]
    return pd.DataFrame(
        {
            "youth_id": [f"Y{index:04d}" for index in range(14)],
            "group": ["A"] * 8 + ["B"] * 6,
            "region": ["N", "N", "N", "N", "S", "S", "S", "S", "N", "N", "N", "S", "S", "S"],
            "score": scores_a + scores_b,
            "label": labels_a + labels_b,
        }
    )


def synthetic_table(rows: int, seed: int = 0, *, miss_in: str | None = None) -> pd.DataFrame:
    """Calibrated probabilities for three municipalities and two sexes.

    ``miss_in`` names a municipality whose needs the score under-rates (its
    scores are halved, so outcomes happen at twice the predicted rate and a
    threshold misses more young people there).
    """
    rng = np.random.default_rng(seed)
    municipality = rng.choice(["Centro", "Norte", "Sur"], rows, p=[0.5, 0.3, 0.2])
    sex = rng.choice(["F", "M"], rows)
    probability = rng.beta(2.0, 5.0, rows)
    outcome = (rng.random(rows) < probability).astype(int)
    if miss_in is not None:
        probability = np.where(municipality == miss_in, probability / 2, probability)
    return pd.DataFrame(
        {
            "youth_id": [f"Y{index:06d}" for index in range(rows)],
            "municipality": municipality,
            "sex": sex,
            "probability": probability,
            "outcome": outcome,
        }
    )


def age_band_table(
    rows: int,
    seed: int = 0,
    *,
    halve_odds_in: str | None = None,
    intercepts: dict[str, float] = AGE_BAND_INTERCEPTS,
) -> pd.DataFrame:
    """Issue #10's oracle world: three age bands of equal size, base rates about 4%, 12% and 10%.

    ``probability`` is the true probability of a support need (logit = the
    band's intercept + N(0, 1)); ``score`` equals it, except in
    ``halve_odds_in``, where the score's odds are half the true odds
    (logit - log 2), so the score under-rates that band's needs.
    """
    rng = np.random.default_rng(seed)
    bands = np.array(list(intercepts))
    band_index = rng.integers(0, len(bands), rows)
    logit = np.array(list(intercepts.values()))[band_index] + rng.standard_normal(rows)
    probability = special.expit(logit)
    outcome = (rng.random(rows) < probability).astype(int)
    score = probability.copy()
    if halve_odds_in is not None:
        under_rated = bands[band_index] == halve_odds_in
        score[under_rated] = special.expit(logit[under_rated] - np.log(2))
    return pd.DataFrame(
        {
            "youth_id": [f"Y{index:06d}" for index in range(rows)],
            "age_band": bands[band_index],
            "probability": probability,
            "score": score,
            "outcome": outcome,
        }
    )
