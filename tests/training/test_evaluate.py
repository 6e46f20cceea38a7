"""Evaluation metrics agree with scikit-learn and hand counts; intervals behave."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from fairness_audits.selection import capacity_count, top_k
from training.calibrate import fit_calibrator
from training.evaluate import evaluate


def _data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probability = np.round(rng.beta(1, 6, n), 2)  # rounded: many ties
    label = (rng.random(n) < probability).astype(int)
    return label, probability


def test_point_metrics_match_scikit_learn() -> None:
    label, probability = _data()
    values = evaluate(label, probability, k=0.1, resamples=0).values
    assert values["roc_auc"] == pytest.approx(roc_auc_score(label, probability), abs=1e-12)
    assert values["pr_auc"] == pytest.approx(average_precision_score(label, probability), abs=1e-12)
    assert values["brier"] == pytest.approx(brier_score_loss(label, probability), abs=1e-12)


def test_capacity_metrics_by_hand() -> None:
    label = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    values = evaluate(label, score, k=3, resamples=0).values
    assert values["precision_at_k"] == pytest.approx(2 / 3)
    assert values["recall_at_k"] == pytest.approx(2 / 3)
    assert values["lift_at_k"] == pytest.approx((2 / 3) / 0.3)


def test_ece_by_hand() -> None:
    label = np.array([1, 0, 0, 0])
    probability = np.array([0.05, 0.05, 0.95, 0.95])  # bin 0: observed .5 vs .05; bin 9: 0 vs .95
    assert evaluate(label, probability, k=1, resamples=0).values["ece"] == pytest.approx(
        0.5 * 0.45 + 0.5 * 0.95
    )


def test_capacity_is_a_share_or_a_count() -> None:
    assert capacity_count(1000, 0.1) == 100
    assert capacity_count(1000, 250) == 250
    assert capacity_count(10, 0.01) == 1
    assert capacity_count(2346, 0.1) == 234  # never more places than the share allows


def test_evaluation_counts_the_people_the_shared_engine_selects() -> None:
    label, probability = _data(2346)
    evaluation = evaluate(label, probability, k=0.1, resamples=0, seed=5)
    selected = top_k(probability, capacity_count(2346, 0.1), seed=5)
    assert evaluation.k == int(selected.sum()) == 234
    assert evaluation.values["precision_at_k"] == pytest.approx(label[selected].mean())


def test_top_k_breaks_ties_by_seed_not_by_row_order() -> None:
    score = np.zeros(100)
    assert top_k(score, 10, seed=1).sum() == 10
    assert not np.array_equal(np.flatnonzero(top_k(score, 10, seed=1)), np.arange(10))


def test_intervals_contain_the_estimate_narrow_with_n_and_repeat_by_seed() -> None:
    small = evaluate(*_data(1000), k=0.1, resamples=300, seed=3)
    large = evaluate(*_data(16000), k=0.1, resamples=300, seed=3)
    for name in ("roc_auc", "brier", "precision_at_k"):
        low, high = small.intervals[name]
        assert low <= small.values[name] <= high
        assert (large.intervals[name][1] - large.intervals[name][0]) < (high - low)
    assert evaluate(*_data(1000), k=0.1, resamples=300, seed=3).intervals == small.intervals


def test_calibrator_keeps_platt_when_isotonic_does_not_earn_its_place() -> None:
    """Logistic truth: isotonic's flexibility buys nothing beyond a standard error, so Platt is kept."""
    rng = np.random.default_rng(0)
    score = rng.normal(size=5000)
    label = (rng.random(5000) < 1 / (1 + np.exp(-(2 * score - 1)))).astype(int)
    calibrator = fit_calibrator(score, label)
    assert calibrator.method == "platt"
    assert calibrator.brier_platt is not None and calibrator.brier_isotonic is not None
    probability = calibrator.probability(score)
    assert ((probability > 0) & (probability < 1)).all()
    assert abs(probability.mean() - label.mean()) < 0.01


def test_isotonic_wins_a_step_and_never_says_certain() -> None:
    """A step-shaped truth Platt cannot follow: isotonic is chosen, and its ends stay inside (0, 1)."""
    rng = np.random.default_rng(1)
    score = rng.uniform(0, 1, size=4000)
    truth = np.where(score < 0.5, 0.05, 0.6)
    label = (rng.random(4000) < truth).astype(int)
    label[np.argsort(score)[-4:]] = 1  # the top block: a few rows, all positive
    label[np.argsort(score)[:4]] = 0
    calibrator = fit_calibrator(score, label)
    assert calibrator.method == "isotonic"
    probability = calibrator.probability(np.array([0.0, 0.25, 0.75, 1.0]))
    assert ((probability > 0) & (probability < 1)).all()
    assert probability[1] < 0.15 < 0.45 < probability[2]
