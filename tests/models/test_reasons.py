"""Reason codes: the strongest contributions each way, worded from the registry in Spanish or English."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from features.registry import FEATURES_BY_NAME
from models.explain import Explanation, explain
from models.reasons import TABLE_COLUMNS, Reason, reason_codes
from tests.models.factories import glassbox, youth_table

NAMES = (
    "unexcused_absences_90d",
    "attendance_rate_90d",
    "fights_365d",
    "grade_mean_last_term",
    "age",
    "programs_completed_total",
)


def explanation(
    contributions: list[list[float]], values: list[list[object]], names: tuple[str, ...] = NAMES
) -> Explanation:
    return Explanation(
        base_value=-1.5,
        contributions=np.array(contributions, dtype=float),
        feature_names=names,
        values=pd.DataFrame(values, columns=list(names)),
    )


def two_people() -> Explanation:
    return explanation(
        [[0.9, -0.4, 0.3, 0.005, 0.5, -0.2], [0.004, -0.009, 0.0, 0.002, -0.001, 0.01]],
        [[7, 0.62, 2, 6.5, 15, 1], [0, 0.98, 0, np.nan, 13, 0]],
    )


def test_reasons_are_the_largest_contributions_each_way_strongest_first() -> None:
    first = reason_codes(two_people()).for_row(0)
    assert [reason.feature for reason in first.risk] == ["unexcused_absences_90d", "fights_365d"]
    assert [reason.feature for reason in first.protective] == [
        "attendance_rate_90d",
        "programs_completed_total",
    ]
    assert [reason.contribution for reason in first.risk] == [0.9, 0.3]
    assert {reason.direction for reason in first.risk} == {"raises"}
    assert {reason.direction for reason in first.protective} == {"lowers"}


def test_contributions_under_the_minimum_are_not_reasons() -> None:
    second = reason_codes(two_people()).for_row(1)
    assert [reason.feature for reason in second.risk] == ["programs_completed_total"]  # 0.01 is kept
    assert second.protective == ()
    assert reason_codes(two_people(), min_contribution=0.5).for_row(0).protective == ()


def test_reasons_carry_the_registry_sentence_with_the_value_in_spanish_by_default() -> None:
    risk = reason_codes(two_people()).for_row(0).risk[0]
    assert risk == Reason(
        feature="unexcused_absences_90d",
        value=7,
        contribution=0.9,
        direction="raises",
        sentence="7 faltas injustificadas en los últimos 90 días",
        factor="unexcused_absences",
        referral_tags=("school_reengagement", "family_support"),
    )
    protective = reason_codes(two_people()).for_row(0).protective[0]
    assert protective.sentence == "Asistencia del 62\u00a0% en los últimos 90 días"  # the locale's percent


def test_reasons_in_english_use_the_english_sentences() -> None:
    codes = reason_codes(two_people(), language="en")
    first = codes.for_row(0)
    assert first.risk[0].sentence == "7 unexcused absences in the last 90 days"
    assert first.protective[0].sentence == "Attended 62% of school days in the last 90 days"
    for row in range(2):
        for reason in (*codes.for_row(row).risk, *codes.for_row(row).protective):
            assert reason.sentence == FEATURES_BY_NAME[reason.feature].reason(reason.value, "en")


def test_age_is_context_never_a_reason_even_when_it_contributes_most() -> None:
    first = reason_codes(two_people()).for_row(0)
    assert "age" not in [reason.feature for reason in (*first.risk, *first.protective)]
    assert [(reason.feature, reason.direction, reason.sentence) for reason in first.context] == [
        ("age", "context", "15 años de edad")
    ]
    assert reason_codes(two_people(), language="en").for_row(1).context[0].sentence == "13 years old"


def test_a_missing_value_is_a_data_gap_never_a_reason() -> None:
    people = explanation([[0.0, 0.0, 0.0, 0.7, 0.0, 0.0]], [[0, 0.9, 0, np.nan, 14, 0]])
    spanish = reason_codes(people).for_row(0)
    assert (spanish.risk, spanish.protective) == ((), ())
    assert [reason.sentence for reason in spanish.gaps] == [
        "Sin registro: promedio del último periodo (0-10)"
    ]
    english = reason_codes(people, language="en").for_row(0).gaps[0]
    assert (english.value, english.direction) == (None, "gap")
    assert english.sentence == "No record: mean grade in the latest term (0-10)"


def test_a_missing_value_that_lowers_the_score_is_a_gap_too_not_a_protective_factor() -> None:
    people = explanation([[0.0, 0.0, 0.0, -0.7, 0.0, 0.0]], [[0, 0.9, 0, np.nan, 14, 0]])
    row = reason_codes(people).for_row(0)
    assert row.protective == () and [reason.feature for reason in row.gaps] == ["grade_mean_last_term"]


def test_a_small_gap_is_left_out() -> None:
    assert reason_codes(two_people()).for_row(1).gaps == ()  # grade missing, contribution 0.002


def test_columns_outside_the_registry_get_a_plain_sentence_in_either_language() -> None:
    names = ("V60_SAVRY_total_score", "escola", "puntuacio", "V12_edat")
    people = explanation([[0.8, 0.3, -0.2, -0.6]], [[24, "B", 0.75, np.nan]], names)
    spanish = reason_codes(people, registry={}).for_row(0)
    english = reason_codes(people, language="en", registry={}).for_row(0)
    assert [reason.sentence for reason in spanish.risk] == ["V60 SAVRY total score: 24", "escola: B"]
    assert [reason.sentence for reason in spanish.protective] == ["puntuacio: 0,75"]
    assert [reason.sentence for reason in english.protective] == ["puntuacio: 0.75"]
    assert [reason.sentence for reason in spanish.gaps] == ["V12 edat: sin dato"]
    assert [reason.sentence for reason in english.gaps] == ["V12 edat: no data"]
    assert (spanish.risk[0].factor, spanish.risk[0].referral_tags) == (None, ())


def test_the_table_lists_every_row_in_order() -> None:
    codes = reason_codes(two_people(), top=2)
    assert tuple(codes.table.columns) == TABLE_COLUMNS
    assert codes.table["row"].tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert codes.table["direction"].tolist() == [
        *("raises", "raises", "lowers", "lowers", "context"),
        *("raises", "context"),
    ]
    assert codes.table["rank"].tolist() == [1, 2, 1, 2, 1, 1, 1]
    with pytest.raises(IndexError):
        codes.for_row(2)


@settings(max_examples=200, deadline=None)
@given(
    contributions=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 9)),
        elements=st.floats(-3, 3).filter(lambda value: abs(value) > 1e-9),
        unique=True,
    ),
    top=st.integers(1, 4),
)
def test_selection_matches_sorting_each_row_by_hand(contributions: np.ndarray, top: int) -> None:
    names = tuple(f"column_{index}" for index in range(contributions.shape[1]))
    values = np.zeros(contributions.shape).tolist()
    codes = reason_codes(explanation(contributions.tolist(), values, names), registry={}, top=top)
    for row, scores in enumerate(contributions):
        order = np.argsort(-scores)
        risk = [names[j] for j in order if scores[j] >= 0.01][:top]
        protective = [names[j] for j in order[::-1] if scores[j] <= -0.01][:top]
        chosen = codes.for_row(row)
        assert [reason.feature for reason in chosen.risk] == risk
        assert [reason.feature for reason in chosen.protective] == protective


def test_reasons_of_a_glass_box_batch_are_its_strongest_contributions() -> None:
    _, model = glassbox()
    frame, _ = youth_table(rows=3000, seed=21)
    explained = explain(model, frame)
    codes = reason_codes(explained, language="en")
    risk = codes.table[codes.table["direction"] == "raises"]
    first = risk[risk["rank"] == 1]
    # a missing value is a data gap and age is context: neither is ever a reason
    context = np.asarray([name == "age" for name in explained.feature_names])
    unreasonable = explained.values.isna().to_numpy() | context[None, :]
    strongest = np.where(unreasonable, -np.inf, explained.contributions).max(axis=1)
    has_reason = strongest >= 0.01
    np.testing.assert_array_equal(first["row"].to_numpy(), np.flatnonzero(has_reason))
    np.testing.assert_allclose(first["contribution"].to_numpy(), strongest[has_reason])
    district = codes.table[codes.table["feature"] == "district"]
    assert set(district["sentence"]) <= {f"district: {level}" for level in model.levels["district"]} | {
        "district: no data"
    }
    gaps = codes.table[codes.table["direction"] == "gap"]
    assert (
        gaps["value"].isna().all()
        and not codes.table.loc[codes.table["direction"] != "gap", "value"].isna().any()
    )


@settings(max_examples=100, deadline=None)
@given(
    contributions=hnp.arrays(np.float64, (6, len(NAMES)), elements=st.floats(-3, 3)),
    missing=hnp.arrays(np.bool_, (6, len(NAMES))),
    top=st.integers(1, 5),
)
def test_reasons_are_only_recorded_needs_and_history(
    contributions: np.ndarray, missing: np.ndarray, top: int
) -> None:
    values = np.where(missing, np.nan, 1.0).tolist()
    codes = reason_codes(explanation(contributions.tolist(), values), top=top)
    for row in range(6):
        chosen = codes.for_row(row)
        for reason in (*chosen.risk, *chosen.protective):
            assert reason.value is not None
            assert FEATURES_BY_NAME[reason.feature].kind in ("need", "history")
        assert [reason.feature for reason in chosen.context] == ["age"]
        assert all(reason.value is None and reason.feature != "age" for reason in chosen.gaps)
        assert len(chosen.gaps) <= top
