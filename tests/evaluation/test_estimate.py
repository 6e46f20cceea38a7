"""The doubly robust estimator recovers a known effect on the treated; its diagnostics are right."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluation.estimate import e_value, estimate_effect
from previ.errors import PreviError


def _confounded(rows: int, seed: int, effect: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float]:
    """Need drives both treatment and outcome; treatment multiplies the risk by (1 - effect)."""
    rng = np.random.default_rng(seed)
    need = rng.normal(0.0, 1.0, rows)
    noise = rng.normal(0.0, 1.0, rows)
    treated = rng.random(rows) < 1.0 / (1.0 + np.exp(-(-2.0 + 1.2 * need)))
    base = 1.0 / (1.0 + np.exp(-(-1.5 + 0.9 * need)))
    risk = np.where(treated, base * (1.0 - effect), base)
    outcome = (rng.random(rows) < risk).astype(float)
    true_rrr = 1.0 - risk[treated].mean() / base[treated].mean()
    return pd.DataFrame({"need": need, "noise": noise}), treated, outcome, float(true_rrr)


def test_adjusted_effect_covers_the_truth_and_the_naive_one_does_not() -> None:
    covariates, treated, outcome, truth = _confounded(20000, seed=1, effect=0.3)
    effect = estimate_effect(covariates, treated, outcome, name="test", seed=0)
    low, high = effect.relative_risk_reduction.ci
    assert low <= truth <= high
    assert not low <= effect.naive_relative_risk_reduction <= high
    assert effect.balance_max_smd["before"] > 0.5 > 0.1 > effect.balance_max_smd["after"]
    assert effect.n_served == int(
        treated.sum() - round(effect.overlap["trimmed_served_share"] * treated.sum())
    )


def test_estimate_is_deterministic_for_a_seed() -> None:
    covariates, treated, outcome, _ = _confounded(3000, seed=4, effect=0.2)
    first = estimate_effect(covariates, treated, outcome, name="test", seed=1)
    second = estimate_effect(covariates, treated, outcome, name="test", seed=1)
    assert first.relative_risk_reduction == second.relative_risk_reduction


def test_groups_get_their_own_effects_pooling_and_a_q_test() -> None:
    covariates, treated, outcome, _ = _confounded(6000, seed=5, effect=0.3)
    place = np.where(covariates["noise"] > 0, "north", "south")
    effect = estimate_effect(covariates, treated, outcome, name="test", groups={"place": place}, seed=0)
    found = effect.groups["place"]
    assert set(found["groups"]) == {"north", "south"}
    assert 0.0 <= found["heterogeneity"]["p_value"] <= 1.0
    low, high = found["pooled_risk_difference"]["ci"]
    assert low < found["pooled_risk_difference"]["value"] < high


def test_too_few_treated_rows_are_refused_with_the_counts() -> None:
    covariates, treated, outcome, _ = _confounded(500, seed=6, effect=0.2)
    treated = np.zeros_like(treated)
    treated[:5] = True
    with pytest.raises(PreviError, match="tiny has 5 treated and 495 untreated rows"):
        estimate_effect(covariates, treated, outcome, name="tiny")


def test_e_value_of_a_halved_risk() -> None:
    assert e_value(0.1, 0.2) == pytest.approx(2.0 + math.sqrt(2.0))
    assert e_value(0.2, 0.2) == pytest.approx(1.0)


@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99))
def test_e_value_is_symmetric_and_at_least_one(first: float, second: float) -> None:
    assert e_value(first, second) == pytest.approx(e_value(second, first))
    assert e_value(first, second) >= 1.0
