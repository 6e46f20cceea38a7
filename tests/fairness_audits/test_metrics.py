"""Every metric against numbers worked out by hand, and against fairlearn and scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import confusion_matrix, precision_score, roc_auc_score

from fairness_audits import AuditResult, Threshold, audit
from fairness_audits.checks import wilson
from fairness_audits.metrics import METRICS, N_STATISTICS, PROPORTIONS, compute_metrics
from tests.fairness_audits.factories import hand_table, synthetic_table

TOLERANCE = 1e-12


def hand_audit(**options: Any) -> AuditResult:
    settings: dict[str, Any] = {"min_n": 1, "min_positives": 1, "resamples": 200}
    settings.update(options)
    return audit(
        hand_table(),
        label="label",
        score="score",
        groups=["group", "region"],
        rule=Threshold(0.5),
        **settings,
    )


# Group A: scores 0.9 0.8 0.7 0.6 | 0.4 0.3 0.2 0.1 (selected | not), labels 1 0 1 0 | 1 0 0 0.
EXPECTED_A = {
    "prevalence": 3 / 8,
    "selection_rate": 4 / 8,
    "tpr": 2 / 3,
    "fnr": 1 / 3,
    "fpr": 2 / 5,
    "ppv": 2 / 4,
    "fdr": 2 / 4,
    "for": 1 / 4,
    "npv": 3 / 4,
    # positives 0.9, 0.7, 0.4 beat 5, 4 and 3 of the 5 negatives.
    "roc_auc": 12 / 15,
    # one score per bin: |1-.9|+|0-.8|+|1-.7|+|0-.6|+|1-.4|+|0-.3|+|0-.2|+|0-.1| = 3.0, over 8 rows.
    "ece": 3.0 / 8,
    # 3 observed over 4.0 predicted.
    "calibration_in_the_large": 3 / 4.0,
}
# Group B: scores 0.5 0.5 0.5 | 0.2 0.2 0.05, labels 1 1 0 | 1 0 0 (ties inside both halves).
EXPECTED_B = {
    "prevalence": 3 / 6,
    "selection_rate": 3 / 6,
    "tpr": 2 / 3,
    "fnr": 1 / 3,
    "fpr": 1 / 3,
    "ppv": 2 / 3,
    "fdr": 1 / 3,
    "for": 1 / 3,
    "npv": 2 / 3,
    # each 0.5 positive: tie (1/2) + 2 wins; the 0.2 positive: tie (1/2) + 1 win -> 6.5 of 9 pairs.
    "roc_auc": 6.5 / 9,
    # bins: {0.5 x3: |2 - 1.5|}, {0.2 x2: |1 - 0.4|}, {0.05: |0 - 0.05|} -> 1.15 over 6 rows.
    "ece": 1.15 / 6,
    "calibration_in_the_large": 3 / 1.95,
}


@pytest.mark.parametrize(("value", "expected"), [("A", EXPECTED_A), ("B", EXPECTED_B)])
def test_group_metrics_match_hand_computed_values(value: str, expected: dict[str, float]) -> None:
    group = hand_audit().group("group", value)
    for metric, number in expected.items():
        assert group.metrics[metric].value == pytest.approx(number, abs=TOLERANCE), metric


def test_confusion_counts_match_hand_computed_values() -> None:
    result = hand_audit()
    assert dict(result.group("group", "A").counts) == {"tp": 2, "fp": 2, "fn": 1, "tn": 3}
    assert dict(result.group("group", "B").counts) == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert dict(result.overall.counts) == {"tp": 4, "fp": 3, "fn": 2, "tn": 5}


# The whole table: TP 4, FP 3, FN 2, TN 5. Positives .9 .7 .5 .5 .4 .2 against negatives
# .8 .6 .5 .3 .2 .2 .1 .05: 8 + 7 + 2 x 5.5 + 5 + 3 = 34 of 48 pairs (ties count half).
OVERALL_AUC = 34 / 48


def test_disparities_compare_with_the_whole_population_by_default() -> None:
    result = hand_audit()
    group_b = result.group("group", "B")
    assert result.overall.metrics["roc_auc"].value == pytest.approx(OVERALL_AUC, abs=TOLERANCE)
    assert group_b.disparity["fnr"].ratio.value == pytest.approx((1 / 3) / (2 / 6), abs=TOLERANCE)
    assert group_b.disparity["fpr"].ratio.value == pytest.approx((1 / 3) / (3 / 8), abs=TOLERANCE)
    assert group_b.disparity["ppv"].ratio.value == pytest.approx((2 / 3) / (4 / 7), abs=TOLERANCE)
    assert group_b.disparity["ppv"].difference.value == pytest.approx(2 / 3 - 4 / 7, abs=TOLERANCE)
    assert group_b.disparity["roc_auc"].difference.value == pytest.approx(
        6.5 / 9 - OVERALL_AUC, abs=TOLERANCE
    )


# Within-group pairs of the column "group", pooled: A has 12 of 15, B 6.5 of 9 -> 18.5 of 24.
POOLED_WITHIN_GROUP_AUC = 18.5 / 24


def test_gated_auc_measure_is_above_chance_relative_to_the_pooled_within_group_auc() -> None:
    check = hand_audit().group("group", "B").checks["auc_above_chance"]
    expected = (6.5 / 9 - 0.5) / (POOLED_WITHIN_GROUP_AUC - 0.5)
    assert check.estimate.value == pytest.approx(expected, abs=TOLERANCE)


def test_disparities_to_a_chosen_group_match_hand_computed_ratios_and_differences() -> None:
    group_b = hand_audit(reference={"group": "A"}).group("group", "B")
    assert group_b.disparity["fnr"].ratio.value == pytest.approx(1.0, abs=TOLERANCE)
    assert group_b.disparity["fpr"].ratio.value == pytest.approx((1 / 3) / (2 / 5), abs=TOLERANCE)
    assert group_b.disparity["ppv"].ratio.value == pytest.approx((2 / 3) / (1 / 2), abs=TOLERANCE)
    assert group_b.disparity["ppv"].difference.value == pytest.approx(2 / 3 - 1 / 2, abs=TOLERANCE)
    assert group_b.disparity["roc_auc"].difference.value == pytest.approx(6.5 / 9 - 12 / 15, abs=TOLERANCE)


def test_intersections_are_named_with_stars_and_match_hand_counts() -> None:
    result = hand_audit()
    values = [group.value for group in result.groups if group.column == "group*region"]
    assert values == ["A*N", "A*S", "B*N", "B*S"]
    # A*N: scores .9 .8 .7 .6 all selected, labels 1 0 1 0.
    assert dict(result.group("group*region", "A*N").counts) == {"tp": 2, "fp": 2, "fn": 0, "tn": 0}
    # B*S: scores .2 .2 .05 none selected, labels 1 0 0.
    assert dict(result.group("group*region", "B*S").counts) == {"tp": 0, "fp": 0, "fn": 1, "tn": 2}


def test_undefined_metrics_are_nan_and_null_in_json() -> None:
    result = hand_audit()
    all_positive_selected = result.group("group*region", "A*N")  # no one left unselected
    assert np.isnan(all_positive_selected.metrics["npv"].value)
    as_json = all_positive_selected.to_dict()["metrics"]
    assert as_json["npv"] == {"value": None, "ci": None}
    assert as_json["fnr"]["value"] == 0.0


def test_metrics_from_statistics_follow_the_formulas() -> None:
    # tp, fp, fn, tn, auc_u, calibration_gap, calibration_abs_gap, baseline_tp
    statistics = np.array([[3.0, 1.0, 2.0, 4.0, 15.0, 1.0, 2.0, 4.0]])
    assert statistics.shape[-1] == N_STATISTICS
    metrics = compute_metrics(statistics, calibration=True)
    assert set(metrics) == set(METRICS)
    assert metrics["tpr"][0] == pytest.approx(3 / 5)
    assert metrics["roc_auc"][0] == pytest.approx(15 / 25)
    assert metrics["ece"][0] == pytest.approx(2 / 10)
    assert metrics["calibration_in_the_large"][0] == pytest.approx(5 / (5 - 1))
    assert metrics["baseline_recall"][0] == pytest.approx(4 / 5)


def test_point_metrics_agree_with_fairlearn_metricframe_and_sklearn() -> None:
    frame = synthetic_table(3_000, seed=3)
    result = audit(
        frame,
        label="outcome",
        score="probability",
        groups=["municipality", "sex"],
        rule=Threshold(0.3),
        resamples=100,
    )
    y_true = frame["outcome"].to_numpy()
    y_pred = (frame["probability"] >= 0.3).to_numpy().astype(int)
    by_rule = MetricFrame(
        metrics={
            "tpr": true_positive_rate,
            "fnr": false_negative_rate,
            "fpr": false_positive_rate,
            "selection_rate": selection_rate,
            "ppv": precision_score,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=frame[["municipality", "sex"]],
    )
    by_score = MetricFrame(
        metrics=roc_auc_score,
        y_true=y_true,
        y_pred=frame["probability"],
        sensitive_features=frame[["municipality", "sex"]],
    )
    for (municipality, sex), expected in by_rule.by_group.iterrows():
        group = result.group("municipality*sex", f"{municipality}*{sex}")
        for metric in ("tpr", "fnr", "fpr", "selection_rate", "ppv"):
            assert group.metrics[metric].value == pytest.approx(expected[metric], abs=TOLERANCE)
        assert group.metrics["roc_auc"].value == pytest.approx(
            by_score.by_group[(municipality, sex)], abs=TOLERANCE
        )
    for municipality, rows in frame.groupby("municipality"):
        tn, fp, fn, tp = confusion_matrix(rows["outcome"], rows["probability"] >= 0.3).ravel()
        assert dict(result.group("municipality", str(municipality)).counts) == {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        }
    overall_auc = roc_auc_score(y_true, frame["probability"])
    assert result.overall.metrics["roc_auc"].value == pytest.approx(overall_auc, abs=TOLERANCE)
    assert by_rule.overall["fpr"] == pytest.approx(result.overall.metrics["fpr"].value, abs=TOLERANCE)


def test_by_group_view_lists_every_group_and_metric() -> None:
    table = hand_audit().by_group()
    assert isinstance(table, pd.DataFrame)
    assert table.loc[("group", "A"), "fpr"] == pytest.approx(2 / 5)
    assert len(table) == 2 + 2 + 4


def test_every_proportion_is_its_numerator_over_its_denominator() -> None:
    group = hand_audit().group("group", "A")
    parts = {
        "tp": 2,
        "fp": 2,
        "fn": 1,
        "tn": 3,
        "n": 8,
        "positives": 3,
        "negatives": 5,
        "selected": 4,
        "not_selected": 4,
    }
    for metric, (numerator, denominator) in PROPORTIONS.items():
        assert group.metrics[metric].value == pytest.approx(parts[numerator] / parts[denominator]), metric


def test_small_denominators_get_wilson_intervals() -> None:
    group = hand_audit().group("group", "A")  # every denominator below 40
    assert group.metrics["tpr"].ci == pytest.approx(wilson(2, 3))
    assert group.metrics["fpr"].ci == pytest.approx(wilson(2, 5))
    assert group.metrics["ppv"].ci == pytest.approx(wilson(2, 4))
