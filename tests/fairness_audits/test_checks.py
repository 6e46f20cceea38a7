"""The gate's statistics: Benjamini-Hochberg, Wilson intervals and calibration slopes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression

from fairness_audits.checks import Z_95, adjust, calibration_slopes, wilson

p_values = arrays(np.float64, st.integers(1, 200), elements=st.floats(0.0, 1.0))


@given(p_values)
def test_adjusted_p_values_are_never_below_the_raw_ones(raw: np.ndarray) -> None:
    adjusted = adjust(raw)
    assert adjusted.shape == raw.shape
    assert np.all(adjusted >= raw - 1e-12)
    assert np.all(adjusted <= 1.0)


@given(p_values)
def test_adjustment_keeps_the_order_of_the_raw_p_values(raw: np.ndarray) -> None:
    adjusted = adjust(raw)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-12)


def test_adjustment_matches_benjamini_hochberg_by_hand() -> None:
    raw = np.array([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01, 0.03, 0.04, 0.2 times m / rank: 0.04, 0.06, 0.0533, 0.2; then running minimum from the top.
    assert adjust(raw) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2], abs=1e-6)
    assert len(adjust(np.array([]))) == 0


def test_a_check_just_under_five_percent_among_many_null_checks_is_not_flagged() -> None:
    nulls = np.linspace(0.3, 1.0, 29)  # checks where nothing is wrong
    adjusted = adjust(np.concatenate([[0.049], nulls]))
    assert adjusted[0] >= 0.05  # 0.049 * 30 checks / rank 1, capped at 1
    assert adjust(np.array([0.049]))[0] == pytest.approx(0.049)  # alone, it would be


def test_strong_evidence_survives_the_adjustment() -> None:
    adjusted = adjust(np.concatenate([[1e-6], np.linspace(0.3, 1.0, 29)]))
    assert adjusted[0] < 0.05


def test_wilson_interval_of_five_out_of_five_does_not_collapse() -> None:
    low, high = wilson(5, 5)
    assert high == pytest.approx(1.0)
    assert low == pytest.approx(5 / (5 + Z_95**2))  # 0.566: n / (n + z^2) when every trial succeeds
    low, high = wilson(0, 5)
    assert low == pytest.approx(0.0) and high == pytest.approx(Z_95**2 / (5 + Z_95**2))


def test_wilson_interval_matches_the_textbook_value() -> None:
    # 8 of 20 (Agresti and Coull 1998, Wilson score interval): 0.219 to 0.613.
    low, high = wilson(8, 20)
    assert (low, high) == pytest.approx((0.2188, 0.6134), abs=1e-4)
    assert all(np.isnan(wilson(0, 0)))


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_holds_the_share_inside_zero_and_one(successes: int, trials: int) -> None:
    successes = min(successes, trials)
    low, high = wilson(successes, trials)
    share = successes / trials
    assert 0.0 <= low <= share + 1e-12 and share - 1e-12 <= high <= 1.0
    assert high - low > 0


@pytest.mark.parametrize(("successes", "trials"), [(10, 10), (0, 12)])
def test_wilson_interval_of_all_or_none_reaches_the_edge_exactly(successes: int, trials: int) -> None:
    # All selected is the case Wilson is there for: the interval must still hold the
    # point value (JSON readers check low <= value <= high), not stop one rounding error short.
    low, high = wilson(successes, trials)
    assert low <= successes / trials <= high, (low, high)


def test_calibration_slopes_match_a_logistic_fit_per_group() -> None:
    rng = np.random.default_rng(0)
    n = 6_000
    group = rng.integers(0, 3, n).astype(np.intp)
    logit = rng.normal(-1.5, 1.0, n)
    true_slope = np.array([1.0, 0.6, 1.5])[group]  # group 1 over-confident, group 2 under-confident
    label = rng.random(n) < 1 / (1 + np.exp(-true_slope * logit))
    score = 1 / (1 + np.exp(-logit))
    slope, se = calibration_slopes(group, 3, score, label)
    for g in range(3):
        rows = group == g
        x = logit[rows, np.newaxis]
        fit = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1_000).fit(x, label[rows])
        assert slope[g] == pytest.approx(fit.coef_[0, 0], abs=1e-5)
        design = np.column_stack([np.ones(rows.sum()), x[:, 0]])
        mu = fit.predict_proba(x)[:, 1]
        covariance = np.linalg.inv(design.T @ (design * (mu * (1 - mu))[:, np.newaxis]))
        assert se[g] == pytest.approx(np.sqrt(covariance[1, 1]), rel=1e-4)
    assert slope[1] < 0.8 < 1.25 < slope[2]


def _three_groups_of_twenty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    group = np.repeat(np.arange(3), 20).astype(np.intp)
    score = np.tile(np.linspace(0.05, 0.95, 20), 3)
    label = np.zeros(60, dtype=bool)
    label[20:40] = score[20:40] > 0.5  # group 1: perfectly separated
    label[40:60] = np.arange(20) % 3 == 0  # group 2: a proper fit
    return group, score, label


@pytest.mark.parametrize("levels", ["spread", "two"])
def test_calibration_slope_is_undefined_for_a_separated_group(levels: str) -> None:
    group, score, label = _three_groups_of_twenty()
    if levels == "two":  # group 1 scores only 0.95 (its positives) and 0.005 (its negatives)
        score[20:40] = np.where(label[20:40], 0.95, 0.005)
    slope, se = calibration_slopes(group, 3, score, label)
    assert np.isnan(slope[1]) and np.isnan(se[1]), (slope[1], se[1])
    assert np.isfinite(slope[2]) and np.isfinite(se[2])


def test_a_group_whose_scores_hardly_vary_has_no_slope_and_no_overflow() -> None:
    """Its information matrix is nearly singular, so Newton's steps run the slope off to infinity."""
    rng = np.random.default_rng(0)
    score = np.r_[rng.random(200), np.full(199, 0.2), [0.2000001]]
    label = np.r_[rng.random(200) < score[:200], np.arange(200) >= 150]
    group = np.repeat([0, 1], 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warnings reached the audit's output
        slope, se = calibration_slopes(group, 2, score, label)
    assert np.isnan(slope[1]) and np.isnan(se[1]) and np.isfinite(slope[0])


@pytest.mark.parametrize("outcome", [False, True])
def test_calibration_slope_is_undefined_for_a_group_with_one_class(outcome: bool) -> None:
    group, score, label = _three_groups_of_twenty()
    label[:20] = outcome  # group 0: nobody (or everybody) had a support need
    slope, se = calibration_slopes(group, 3, score, label)
    # The docstring: "NaN where the fit is not defined (one class, or separation)".
    assert np.isnan(slope[0]) and np.isnan(se[0]), (slope[0], se[0])
    assert np.isfinite(slope[2])
