"""The doubly robust estimator recovers a known effect on the treated; its diagnostics are right."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from evaluation._variance import cluster_covariance
from evaluation.estimate import Effect, _fit, _folds, e_value, effect_interval, estimate_effect
from evaluation.report import _finite, render
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


def test_rows_repeated_for_one_person_do_not_narrow_the_interval() -> None:
    """Four monthly rows of each person, one outcome per person: they carry about the information of
    one row each, so the interval, clustered by person, keeps its width (econml's row-wise interval
    halved it: width ratio 0.51 on these draws)."""
    rng = np.random.default_rng(8)
    persons, months = 1500, 4
    need = rng.normal(0.0, 1.0, persons)
    treated = rng.random(persons) < 1.0 / (1.0 + np.exp(-(-1.0 + 1.2 * need)))
    base = 1.0 / (1.0 + np.exp(-(-1.5 + 0.9 * need)))
    outcome = (rng.random(persons) < np.where(treated, base * 0.7, base)).astype(float)
    recorded = pd.DataFrame({"need": need + rng.normal(0.0, 0.3, persons)})
    once = estimate_effect(recorded, treated, outcome, name="once", seed=0)
    person = np.repeat(np.arange(persons), months)
    monthly = pd.DataFrame({"need": need[person] + rng.normal(0.0, 0.3, person.size)})
    repeated = estimate_effect(
        monthly, treated[person], outcome[person], name="repeated", clusters=person, seed=0
    )

    def width(effect: Effect) -> float:
        low, high = effect.risk_difference.ci
        return high - low

    assert width(repeated) / width(once) > 0.75


def test_cluster_covariance_sums_the_rows_of_one_person_first() -> None:
    influence = np.random.default_rng(3).normal(0.0, 1.0, (200, 2))
    influence -= influence.mean(axis=0)
    single = cluster_covariance(influence, np.arange(200))
    doubled = cluster_covariance(np.vstack([influence, influence]), np.tile(np.arange(200), 2))
    np.testing.assert_allclose(doubled, single)
    assert single[0, 0] == pytest.approx(np.sum(influence[:, 0] ** 2) / 200**2 * 200 / 199)


def test_the_learner_divides_by_the_propensity_behind_its_weights() -> None:
    """The scores are weighted by the cross-fitted propensity; the learner must divide by that same
    propensity (a second fit on other rows or folds made the weights a ratio of two estimates)."""
    covariates, treated, outcome, _ = _confounded(1500, seed=8, effect=0.2)
    matrix = covariates.to_numpy(dtype=float)
    folds = _folds(np.arange(len(treated)), 0, 1)
    propensity = np.random.default_rng(2).uniform(0.05, 0.9, len(treated))
    with threadpool_limits(limits=1, user_api="openmp"):  # as estimate_effect runs it (oversubscribed: 90 s)
        learner = _fit(matrix, treated, outcome, folds, propensity, 0, None)
    with_ids = np.column_stack([matrix, np.arange(len(treated), dtype=float)])
    for model in learner.models_propensity[0]:
        np.testing.assert_array_equal(model.predict_proba(with_ids)[:, 1], propensity)


def test_an_interval_reaching_the_served_risk_leaves_the_reduction_unbounded_below() -> None:
    served_risk = 0.1
    open_below = effect_interval(served_risk, -0.02, (-0.05, 0.1))
    assert open_below.ci[0] == -math.inf
    assert open_below.ci[1] == pytest.approx(0.05 / 0.15)
    assert open_below.value == pytest.approx(0.02 / 0.12)
    bounded = effect_interval(served_risk, -0.02, (-0.05, 0.05))
    assert bounded.ci == pytest.approx((-0.05 / 0.05, 0.05 / 0.15))
    assert all(math.isnan(bound) for bound in effect_interval(served_risk, 0.15, (0.12, 0.2)).ci)


def test_an_unbounded_bound_is_null_in_json_and_named_in_the_reports() -> None:
    interval = effect_interval(0.1, -0.02, (-0.05, 0.12)).as_dict()
    assert json.loads(json.dumps(_finite(interval), allow_nan=False))["ci"][0] is None
    effect = {
        "n_served": 40,
        "n_comparison": 400,
        "relative_risk_reduction": interval,
        "risk_difference": {"value": -0.02, "ci": [-0.05, 0.12]},
        "naive_relative_risk_reduction": -0.1,
        "balance_max_smd": {"before": 0.6, "after": 0.05},
        "overlap": {"trimmed_share": 0.0},
        "e_value": {"estimate": 1.5, "ci": 1.0},
        "groups": {},
    }
    result = {
        "goal": 0.15,
        "design": "observational",
        "source": "test",
        "served": effect,
        "programs": {},
        "notes": {"design": "test"},
    }
    assert "sin límite" in render(result, "es")
    assert "unbounded" in render(result, "en")
    assert "1.50 (1.00)" in render(result, "en")
    # an E-value the risks cannot define (NaN, null in evaluation.json) is shown as missing, not as 1
    for missing in (math.nan, None):
        effect["e_value"] = {"estimate": missing, "ci": missing}
        assert "<td>– (–)</td>" in render(result, "en") and "1.00 (1.00)" not in render(result, "en")
