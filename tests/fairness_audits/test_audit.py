"""Checks, statuses and the gate: what gets flagged, what cannot be judged, and the decision rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness_audits import Threshold, TopK, audit
from fairness_audits.audit import TOLERANCE_INVALID
from fairness_audits.groups import REFERENCE_UNKNOWN_VALUE
from fairness_audits.rules import TOP_K_INVALID
from previ.errors import PreviError
from tests.fairness_audits.factories import hand_table, synthetic_table


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


def test_under_rated_municipality_is_flagged_and_fails_the_gate() -> None:
    result = _audit(synthetic_table(20_000, seed=1, miss_in="Sur"))
    sur = result.group("municipality", "Sur")
    assert sur.disparity["fnr"].flagged and sur.disparity["fnr"].primary
    assert sur.calibration["calibration_in_the_large"].flagged  # outcomes at twice the predicted rate
    assert not result.gate.passed
    flagged = {(f.column, f.value, f.check) for f in result.gate.flagged}
    assert ("municipality", "Sur", "fnr") in flagged
    assert ("municipality", "Norte", "fnr") not in flagged


def test_fair_calibrated_score_passes_the_gate() -> None:
    result = _audit(synthetic_table(20_000, seed=2), groups=["municipality", "sex"])
    assert result.gate.passed, [(f.column, f.value, f.check) for f in result.gate.flagged]
    assert result.group("municipality", "Centro").is_reference  # the largest group by default


def test_secondary_disparities_are_reported_but_never_gate() -> None:
    frame = synthetic_table(20_000, seed=3)
    # A shifted score for one municipality: selection rate differs, recall too.
    frame.loc[frame["municipality"] == "Norte", "probability"] *= 0.5
    result = _audit(frame)
    norte = result.group("municipality", "Norte")
    assert norte.disparity["selection_rate"].flagged and not norte.disparity["selection_rate"].primary
    assert all(f.check in ("fnr", "tpr", "calibration_in_the_large", "ece") for f in result.gate.flagged)


def test_small_groups_are_kept_with_values_but_never_ok_nor_flagged() -> None:
    frame = synthetic_table(5_000, seed=4)
    frame.loc[frame.index[:12], "municipality"] = "Isla"
    result = _audit(frame, min_n=30, min_positives=5)
    isla = result.group("municipality", "Isla")
    assert isla.status == "insufficient_data" and isla.n == 12
    assert np.isfinite(isla.metrics["selection_rate"].value)
    assert all(d.status == "insufficient_data" and not d.flagged for d in isla.disparity.values())
    assert isla.calibration["ece"].status == "insufficient_data"
    not_judged = {(f.column, f.value, f.check) for f in result.gate.not_judged}
    assert ("municipality", "Isla", "fnr") in not_judged
    assert ("municipality", "Isla", "calibration_in_the_large") in not_judged


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


def test_reference_can_be_chosen_and_unknown_values_are_refused() -> None:
    frame = synthetic_table(3_000, seed=7)
    result = _audit(frame, reference={"municipality": "Sur"})
    assert result.group("municipality", "Sur").is_reference
    assert result.group("municipality", "Sur").disparity["fnr"].status == "reference"
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
    assert group.calibration["ece"].status == "not_applicable"
    assert group.to_dict()["metrics"]["ece"] == {"value": None, "ci": None}
    assert group.calibration_curve == ()
    assert all(f.check not in ("ece", "calibration_in_the_large") for f in result.gate.not_judged)


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
    assert str(error.value) == TOP_K_INVALID.format(n=1_000, k=k)


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
    assert set(group) >= {"column", "value", "n", "status", "metrics", "disparity"}
    assert set(group["metrics"]["fpr"]) == {"value", "ci"}
    assert set(group["disparity"]["fnr"]) >= {
        "ratio",
        "ratio_ci",
        "difference",
        "difference_ci",
        "flagged",
        "primary",
    }
    assert data["gate"]["status"] in ("passed", "failed")
