"""The promotion gate: a good score passes, a biased one fails naming its group, edges hold.

The gate asks one question, "does the score mean the same thing for every
group?" (calibration, discrimination, recall against the champion), so a
perfectly calibrated score passes even though recall differs between groups
whose base rates differ (issue #10).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairness_audits import AuditResult, TopK, audit
from fairness_audits.audit import FDR_INVALID
from fairness_audits.checks import GATE_CHECKS, adjust, wilson
from previ.errors import PreviError
from tests.fairness_audits.factories import age_band_table, synthetic_table


def gate_audit(frame: pd.DataFrame, **options: Any) -> AuditResult:
    settings: dict[str, Any] = {
        "label": "outcome",
        "score": "score",
        "groups": ["age_band"],
        "rule": TopK(0.1),
        "resamples": 200,
    }
    settings.update(options)
    return audit(frame, **settings)


def flagged(result: AuditResult) -> set[tuple[str, str, str]]:
    return {(finding.column, finding.value, finding.check.check) for finding in result.gate.flagged}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_true_probability_passes_the_gate_although_recall_differs(seed: int) -> None:
    result = gate_audit(age_band_table(20_000, seed=seed), seed=seed)
    assert result.gate.passed, flagged(result)
    assert result.gate.judged == 9  # 3 bands x (in-the-large, slope, AUC above chance)
    recall = {group.value: group.metrics["tpr"].value for group in result.groups}
    # Base rates 4% and 12%: by need, the youngest band gets far fewer places per need.
    assert recall["11-13"] < 0.7 * recall["14-15"]


def test_the_true_probability_passes_the_gate_when_base_rates_differ_widely() -> None:
    # Base rates of about 6%, 29% and 50%: the true probability is still the best score there is.
    intercepts = {"11-13": -3.0, "14-15": -1.0, "16-17": 0.0}
    result = gate_audit(age_band_table(20_000, seed=0, intercepts=intercepts))
    auc = [group.metrics["roc_auc"].value for group in result.groups]
    assert max(auc) - min(auc) < 0.04  # the score orders every band about equally well
    assert result.gate.passed, sorted(
        (f.value, f.check.measure, round(f.check.estimate.value, 3)) for f in result.gate.flagged
    )


@pytest.mark.parametrize("band", ["11-13", "14-15", "16-17"])
def test_halved_odds_fail_the_gate_on_calibration_naming_that_group(band: str) -> None:
    result = gate_audit(age_band_table(20_000, seed=5, halve_odds_in=band), seed=5)
    assert not result.gate.passed
    assert flagged(result) == {("age_band", band, "calibration")}
    check = result.group("age_band", band).checks["calibration_in_the_large"]
    assert check.flagged and check.estimate.value > 1.5  # needs met about 1.8 times as often as scored
    assert check.p_adjusted < 0.05
    flags = result.to_dict()["gate"]["flags"]
    assert {(flag["value"], flag["check"], flag["measure"]) for flag in flags} == {
        (band, "calibration", "calibration_in_the_large")
    }


def _with_small_school(frame: pd.DataFrame, *, size: int) -> pd.DataFrame:
    """A second group column with a small school whose 5 positives score 0.95 (all selected)."""
    frame = frame.copy()
    frame["school"] = np.where(np.arange(len(frame)) % 2, "Norte", "Sur")
    small = frame.index[:size]
    frame.loc[small, "school"] = "Isla"
    frame.loc[small, ["score", "probability", "outcome"]] = [0.005, 0.005, 0]
    frame.loc[small[:5], ["score", "probability", "outcome"]] = [0.95, 0.95, 1]
    return frame


def test_five_positives_all_selected_get_a_wilson_interval_and_are_never_flagged() -> None:
    result = gate_audit(
        _with_small_school(age_band_table(20_000, seed=4), size=60), groups=["age_band", "school"]
    )
    isla = result.group("school", "Isla")
    assert (isla.status, isla.positives, isla.counts["tp"]) == ("ok", 5, 5)
    tpr, fnr = isla.metrics["tpr"], isla.metrics["fnr"]
    assert tpr.value == 1.0 and tpr.ci != (1.0, 1.0)
    assert tpr.ci == pytest.approx(wilson(5, 5)) and tpr.ci[0] < 0.6
    assert fnr.value == 0.0 and fnr.ci == pytest.approx(wilson(0, 5)) and fnr.ci[1] > 0.4
    assert all(finding.value != "Isla" for finding in result.gate.flagged)
    assert not any(check.flagged for check in isla.checks.values())


def test_a_small_separated_group_is_not_judged_on_its_calibration_slope() -> None:
    result = gate_audit(
        _with_small_school(age_band_table(20_000, seed=4), size=60), groups=["age_band", "school"]
    )
    slope = result.group("school", "Isla").checks["calibration_slope"]
    # Every positive scores 0.95 and every negative 0.005: the logistic fit does not exist.
    # calibration_slopes promises NaN for separation, so a person is asked to look
    # (not_judged) instead of the gate counting a slope of any value as judged.
    assert slope.status == "undefined", slope
    assert ("school", "Isla", "calibration_slope") in {
        (finding.column, finding.value, finding.check.measure) for finding in result.gate.not_judged
    }


def test_proportions_with_large_denominators_keep_their_bootstrap_interval() -> None:
    result = gate_audit(age_band_table(20_000, seed=4))
    overall = result.overall.metrics["selection_rate"]
    assert overall.ci == pytest.approx((0.1, 0.1))  # top k re-selected: exactly k in every resample
    band = result.group("age_band", "14-15").metrics["selection_rate"]
    assert band.ci[0] < band.value < band.ci[1]  # but a band's share of the places varies


def test_p_values_are_adjusted_together_and_flag_only_below_the_false_discovery_rate() -> None:
    frame = synthetic_table(8_000, seed=1, miss_in="Sur")
    frame["score"] = frame["probability"]
    result = gate_audit(frame, groups=["municipality", "sex"])
    judged = [
        check
        for group in result.groups
        for check in group.checks.values()
        if check.status in ("ok", "flagged")
    ]
    assert len(judged) == result.gate.judged == 5 * 3  # 5 groups x 3 gated measures
    raw = np.array([check.p_value for check in judged])
    assert [check.p_adjusted for check in judged] == pytest.approx(list(adjust(raw)))
    for check in judged:
        assert check.p_adjusted >= check.p_value - 1e-12
        assert check.flagged == (check.p_adjusted < result.gate.false_discovery_rate)
    assert ("municipality", "Sur", "calibration") in flagged(result)


def test_a_stricter_false_discovery_rate_flags_no_more() -> None:
    frame = age_band_table(20_000, seed=6, halve_odds_in="16-17")
    loose = flagged(gate_audit(frame, false_discovery_rate=0.2))
    strict = flagged(gate_audit(frame, false_discovery_rate=1e-12))
    assert strict <= loose


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1])
def test_false_discovery_rate_must_be_a_share(rate: float) -> None:
    with pytest.raises(PreviError) as error:
        gate_audit(age_band_table(500, seed=0), false_discovery_rate=rate)
    assert str(error.value) == FDR_INVALID.format(fdr=rate)


def test_intersections_with_a_small_cell_are_omitted_listed_and_never_gated() -> None:
    frame = _with_small_school(age_band_table(6_000, seed=7), size=45)  # about 15 per age band
    result = gate_audit(frame, groups=["age_band", "school"], min_n=30)
    assert result.intersections_omitted == ("age_band*school",)
    assert all(group.column != "age_band*school" for group in result.groups)
    assert result.to_dict()["intersections_omitted"] == ["age_band*school"]
    findings = (*result.gate.flagged, *result.gate.not_judged)
    assert all("*" not in finding.column for finding in findings)
    assert result.group("school", "Isla").n == 45  # the column itself is still audited


def test_reported_intersections_are_never_gated_even_when_a_cell_is_biased() -> None:
    frame = age_band_table(20_000, seed=8)
    frame["school"] = np.where(np.arange(len(frame)) % 2, "Norte", "Sur")
    biased = age_band_table(20_000, seed=8, halve_odds_in="14-15")["score"]
    cell = (frame["age_band"] == "14-15") & (frame["school"] == "Norte")
    frame.loc[cell, "score"] = biased[cell]
    result = gate_audit(frame, groups=["age_band", "school"])
    assert result.intersections_omitted == ()
    cell_result = result.group("age_band*school", "14-15*Norte")
    assert cell_result.metrics["calibration_in_the_large"].value > 1.5  # visibly off, and reported
    assert cell_result.checks == {}
    assert all("*" not in finding.column for finding in (*result.gate.flagged, *result.gate.not_judged))


def test_a_champion_equal_to_the_score_gives_recall_ratios_of_one_and_no_flag() -> None:
    frame = age_band_table(20_000, seed=9)
    frame["champion"] = frame["score"]
    result = gate_audit(frame, champion="champion", champion_name="v3")
    assert result.gate.passed, flagged(result)
    assert result.gate.champion == "v3"
    for group in result.groups:
        check = group.checks["recall_vs_champion"]
        assert (check.check, check.status) == ("recall", "ok")
        assert check.estimate.value == pytest.approx(1.0)
        assert check.estimate.ci == pytest.approx((1.0, 1.0))
        assert group.metrics["baseline_recall"].value == pytest.approx(group.metrics["tpr"].value)


def test_a_champion_much_better_for_one_group_flags_that_groups_recall() -> None:
    frame = age_band_table(20_000, seed=10)
    frame["champion"] = frame["probability"]
    # The challenger ranks 14-15 at random within the band (same scores, shuffled).
    band = frame["age_band"] == "14-15"
    rng = np.random.default_rng(0)
    frame.loc[band, "score"] = rng.permutation(frame.loc[band, "score"].to_numpy())
    result = gate_audit(frame, champion="champion")
    assert ("age_band", "14-15", "recall") in flagged(result)
    assert {value for column, value, check in flagged(result) if check == "recall"} == {"14-15"}
    check = result.group("age_band", "14-15").checks["recall_vs_champion"]
    assert check.estimate.value < 0.6 and check.estimate.ci[1] < 0.8


def test_without_a_champion_recall_is_reported_but_not_gated() -> None:
    result = gate_audit(age_band_table(4_000, seed=11))
    for group in result.groups:
        assert "recall_vs_champion" not in group.checks
        assert np.isnan(group.metrics["baseline_recall"].value)
    assert result.to_dict()["gate"]["champion"] is None


def test_every_gate_flag_in_json_names_its_group_check_ratio_and_adjusted_p() -> None:
    frame = age_band_table(20_000, seed=12, halve_odds_in="11-13")
    frame["champion"] = frame["probability"]
    gate = gate_audit(frame, champion="champion").to_dict()["gate"]
    assert gate["passed"] is False and gate["flags"]
    for flag in gate["flags"]:
        assert {"column", "value", "check", "ratio", "ratio_ci", "p_adjusted"} <= set(flag)
        assert flag["check"] in GATE_CHECKS
        assert flag["p_adjusted"] < gate["false_discovery_rate"]
        low, high = flag["ratio_ci"]
        assert low <= flag["ratio"] <= high
