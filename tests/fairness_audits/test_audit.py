"""Statuses, groups, references and decision rules of the audit (the gate's scenarios: test_gate.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness_audits import Threshold, TopK, audit
from fairness_audits.audit import TOLERANCE_INVALID
from fairness_audits.checks import GATE_MEASURES
from fairness_audits.groups import REFERENCE_UNKNOWN_VALUE
from fairness_audits.selection import CAPACITY_INVALID
from previ.errors import PreviError
from tests.fairness_audits.factories import age_band_table, hand_table, synthetic_table


def _audit(frame: pd.DataFrame, **options: object):  # type: ignore[no-untyped-def]
    settings: dict[str, object] = {
        "label": "outcome",
        "score": "probability",
        "groups": ["municipality"],
        "rule": Threshold(0.3),
        "resamples": 300,
    }
    settings.update(options)
    return audit(frame, **settings)  # type: ignore[arg-type]


def _flagged(result) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return {(f.column, f.value, f.check.check) for f in result.gate.flagged}


def test_under_rated_municipality_fails_the_gate_on_calibration() -> None:
    result = _audit(synthetic_table(20_000, seed=1, miss_in="Sur"))
    sur = result.group("municipality", "Sur")
    assert sur.checks["calibration_in_the_large"].flagged  # outcomes at twice the predicted rate
    assert sur.checks["calibration_in_the_large"].estimate.value == pytest.approx(2.0, rel=0.1)
    assert not result.gate.passed
    assert ("municipality", "Sur", "calibration") in _flagged(result)
    assert all(value == "Sur" for _, value, _ in _flagged(result))


def test_fair_calibrated_score_passes_the_gate() -> None:
    result = _audit(synthetic_table(20_000, seed=2), groups=["municipality", "sex"])
    assert result.gate.passed, _flagged(result)


def test_groups_are_compared_with_the_whole_population_by_default() -> None:
    result = _audit(synthetic_table(20_000, seed=2), groups=["municipality", "sex"])
    assert dict(result.reference) == {}, result.reference  # not the largest group (Centro)
    assert not any(group.is_reference for group in result.groups)
    assert result.to_dict()["reference"] == "the whole population"
    centro = result.group("municipality", "Centro")
    expected = centro.metrics["fpr"].value / result.overall.metrics["fpr"].value
    assert centro.disparity["fpr"].status != "reference"
    assert centro.disparity["fpr"].ratio.value == pytest.approx(expected, abs=1e-12)


def test_recall_and_selection_differences_are_reported_but_never_gate() -> None:
    # A calibrated score on bands with base rates 4%, 12% and 10%: by need, the bands get
    # very different shares of places and recall. That is allocation, not a gate finding.
    result = _audit(age_band_table(20_000, seed=3), score="score", groups=["age_band"], rule=TopK(0.1))
    bands = [group for group in result.groups if group.column == "age_band"]
    assert any(group.disparity["tpr"].flagged for group in bands)
    assert any(group.disparity["selection_rate"].flagged for group in bands)
    assert result.gate.passed, _flagged(result)
    assert all(set(group.checks) == set(GATE_MEASURES) - {"recall_vs_champion"} for group in bands)
    assert all(f.check.measure in GATE_MEASURES for f in (*result.gate.flagged, *result.gate.not_judged))


def test_small_groups_are_kept_with_values_but_never_ok_nor_flagged() -> None:
    frame = synthetic_table(5_000, seed=4)
    frame.loc[frame.index[:12], "municipality"] = "Isla"
    result = _audit(frame, min_n=30, min_positives=5)
    isla = result.group("municipality", "Isla")
    assert isla.status == "insufficient_data" and isla.n == 12
    assert np.isfinite(isla.metrics["selection_rate"].value)
    assert all(d.status == "insufficient_data" and not d.flagged for d in isla.disparity.values())
    assert isla.checks and all(check.status == "insufficient_data" for check in isla.checks.values())
    not_judged = {(f.column, f.value, f.check.measure) for f in result.gate.not_judged}
    for measure in ("calibration_in_the_large", "calibration_slope", "auc_above_chance"):
        assert ("municipality", "Isla", measure) in not_judged
    assert all(f.value != "Isla" for f in result.gate.flagged)


def test_group_with_few_positives_is_insufficient_even_when_large() -> None:
    frame = synthetic_table(3_000, seed=5)
    norte = frame["municipality"] == "Norte"
    frame.loc[norte, "outcome"] = 0
    frame.loc[frame.index[norte][:3], "outcome"] = 1
    result = _audit(frame, min_positives=5)
    assert result.group("municipality", "Norte").status == "insufficient_data"
    assert result.group("municipality", "Norte").positives == 3


def test_thresholds_are_configurable() -> None:
    frame = synthetic_table(2_000, seed=6)
    frame.loc[frame.index[:40], "municipality"] = "Isla"
    assert _audit(frame, min_n=30, min_positives=1).group("municipality", "Isla").status == "ok"
    assert (
        _audit(frame, min_n=50, min_positives=1).group("municipality", "Isla").status == "insufficient_data"
    )


def test_a_chosen_reference_changes_the_reported_disparities_only() -> None:
    frame = synthetic_table(3_000, seed=7, miss_in="Norte")
    result = _audit(frame, reference={"municipality": "Sur"})
    assert result.group("municipality", "Sur").is_reference
    assert result.group("municipality", "Sur").disparity["fnr"].status == "reference"
    norte = result.group("municipality", "Norte")
    sur = result.group("municipality", "Sur")
    assert norte.disparity["fnr"].ratio.value == pytest.approx(
        norte.metrics["fnr"].value / sur.metrics["fnr"].value, abs=1e-12
    )
    against_population = _audit(frame)
    assert result.to_dict()["gate"] == against_population.to_dict()["gate"]  # the gate never moves
    assert not result.gate.passed
    for group in result.groups:
        assert group.checks == against_population.group(group.column, group.value).checks
    with pytest.raises(PreviError) as error:
        _audit(frame, reference={"municipality": "Atlantis"})
    assert str(error.value) == REFERENCE_UNKNOWN_VALUE.format(
        value="Atlantis", column="municipality", available="'Centro', 'Norte', 'Sur'"
    )


def test_every_pair_and_the_full_intersection_are_audited() -> None:
    frame = synthetic_table(3_000, seed=8)
    frame["age_group"] = np.where(np.arange(len(frame)) % 2, "12-14", "15-17")
    result = _audit(frame, groups=["municipality", "sex", "age_group"])
    columns = list(dict.fromkeys(group.column for group in result.groups))
    assert columns == [
        "municipality",
        "sex",
        "age_group",
        "municipality*sex",
        "municipality*age_group",
        "sex*age_group",
        "municipality*sex*age_group",
    ]
    assert result.group("municipality*sex*age_group", "Norte*F*12-14").n == int(
        ((frame.municipality == "Norte") & (frame.sex == "F") & (frame.age_group == "12-14")).sum()
    )
    assert result.intersections_omitted == ()
    assert all(group.checks == {} for group in result.groups if "*" in group.column)  # reported, not gated


def test_a_single_group_column_may_be_given_as_a_string() -> None:
    result = _audit(synthetic_table(500, seed=13), groups="sex")
    assert result.group_columns == ("sex",)


def test_blank_group_values_form_their_own_group() -> None:
    frame = synthetic_table(2_000, seed=9)
    frame.loc[frame.index[:50], "municipality"] = None
    result = _audit(frame)
    assert result.group("municipality", "missing").n == 50


def test_calibration_is_not_applicable_when_scores_are_not_probabilities() -> None:
    frame = hand_table()
    frame["score"] = frame["score"] * 10
    result = audit(
        frame,
        label="label",
        score="score",
        groups=["group"],
        rule=Threshold(5),
        min_n=1,
        min_positives=1,
        resamples=200,
    )
    group = result.group("group", "A")
    assert not result.calibration_applicable
    assert np.isnan(group.metrics["ece"].value)
    assert set(group.checks) == {"auc_above_chance"}  # discrimination still means something
    assert group.to_dict()["metrics"]["ece"] == {"value": None, "ci": None}
    assert group.calibration_curve == ()
    assert all(f.check.check != "calibration" for f in (*result.gate.flagged, *result.gate.not_judged))
    assert result.allocations == ()  # equal expected recall needs probabilities


def test_top_k_count_and_fraction_select_exactly_k_with_seeded_tie_breaks() -> None:
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    assert TopK(3).select(scores, seed=1).sum() == 3
    assert TopK(0.5).select(scores, seed=1).sum() == 3  # floor(0.5 * 6)
    assert TopK(0.3).count(10) == 3  # no floating-point surprise: 0.3 * 10 = 2.9999...
    first, again = TopK(3).select(scores, seed=1), TopK(3).select(scores, seed=1)
    assert np.array_equal(first, again) and first[0] and not first[-1]
    picks = {tuple(TopK(3).select(scores, seed=seed)) for seed in range(20)}
    assert len(picks) > 1  # ties are not broken by row order


def test_top_k_rule_over_the_whole_table_is_reported() -> None:
    result = _audit(synthetic_table(1_000, seed=10), rule=TopK(100))
    assert result.selection["selected"] == 100
    assert result.to_dict()["rule"]["kind"] == "top_k"
    assert sum(g.counts["tp"] + g.counts["fp"] for g in result.groups if g.column == "municipality") == 100


@pytest.mark.parametrize("k", [0, -1, 1.5, 5_000, float("nan")])
def test_top_k_out_of_range_is_refused(k: float) -> None:
    with pytest.raises(PreviError) as error:
        TopK(k).count(1_000)
    assert str(error.value) == CAPACITY_INVALID.format(n=1_000, k=k)


@pytest.mark.parametrize("tolerance", [(1.2, 0.8), (0.0, 1.25), (0.8, 1.0)])
def test_tolerance_must_surround_one(tolerance: tuple[float, float]) -> None:
    with pytest.raises(PreviError) as error:
        _audit(synthetic_table(500, seed=11), tolerance=tolerance)
    assert str(error.value) == TOLERANCE_INVALID.format(tolerance=tolerance)


def test_json_has_the_documented_shape_and_no_nan() -> None:
    import json

    result = _audit(synthetic_table(1_000, seed=12), groups=["municipality", "sex"])
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)  # raises on NaN or infinity
    assert "NaN" not in text
    assert {"rule", "reference", "tolerance", "gate", "n", "resamples", "seed", "overall", "groups"} <= set(
        data
    )
    group = data["groups"][0]
    assert set(group) >= {"column", "value", "n", "status", "metrics", "disparity", "checks"}
    assert set(group["metrics"]["fpr"]) == {"value", "ci"}
    assert set(group["disparity"]["fnr"]) >= {"ratio", "ratio_ci", "difference", "difference_ci", "status"}
    assert "primary" not in group["disparity"]["fnr"]
    assert set(group["checks"]) == {"calibration_in_the_large", "calibration_slope", "auc_above_chance"}
    assert set(group["checks"]["calibration_slope"]) >= {"check", "value", "ci", "p_value", "p_adjusted"}
    assert data["gate"]["status"] in ("passed", "failed")
    assert data["gate"]["passed"] is (data["gate"]["status"] == "passed")
    assert {"flags", "not_judged", "checks_judged", "false_discovery_rate"} <= set(data["gate"])
    assert data["intersections_omitted"] == [] and data["allocation_policies"] == []  # threshold rule
