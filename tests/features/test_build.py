"""Feature building: values on hand-made bundles, and the point-in-time rule as a property."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features, default_as_of_dates
from features.registry import FEATURES, Plural
from previ.errors import PreviError
from tests.factories import AS_OF, tiny_bundle, youth_rows

D = dt.timedelta


def _row(matrix_frame: pd.DataFrame, youth_id: str) -> pd.Series:
    return matrix_frame.set_index("youth_id").loc[youth_id]


def test_attendance_features_use_periods_ended_before_as_of() -> None:
    bundle = tiny_bundle(
        attendance=[
            # ended 30 days before as_of: in the 90-day window
            {
                "youth_id": "Y000",
                "period_start": AS_OF - D(60),
                "period_end": AS_OF - D(30),
                "days_enrolled": 20,
                "days_absent_excused": 1,
                "days_absent_unexcused": 4,
                "days_late": 2,
            },
            # ended 200 days before: only in the 365-day window
            {
                "youth_id": "Y000",
                "period_start": AS_OF - D(230),
                "period_end": AS_OF - D(200),
                "days_enrolled": 20,
                "days_absent_excused": 0,
                "days_absent_unexcused": 0,
                "days_late": 0,
            },
            # straddles as_of: not published yet, ignored
            {
                "youth_id": "Y000",
                "period_start": AS_OF - D(10),
                "period_end": AS_OF + D(10),
                "days_enrolled": 20,
                "days_absent_excused": 0,
                "days_absent_unexcused": 9,
                "days_late": 9,
            },
        ]
    )
    frame = build_features(bundle, [AS_OF]).frame
    row = _row(frame, "Y000")
    assert row["unexcused_absences_90d"] == 4
    assert row["unexcused_absences_365d"] == 4
    assert row["days_late_90d"] == 2
    assert row["attendance_rate_90d"] == pytest.approx(1 - 5 / 20)
    assert row["attendance_rate_365d"] == pytest.approx(1 - 5 / 40)
    assert row["attendance_rate_change"] == pytest.approx(-0.25)
    assert np.isnan(_row(frame, "Y001")["attendance_rate_90d"])
    assert _row(frame, "Y001")["unexcused_absences_90d"] == 0


def test_grade_features_read_the_latest_term_and_the_trend() -> None:
    def grade(term_end: dt.date, subject: str, value: float) -> dict[str, object]:
        return {
            "youth_id": "Y000",
            "term_end": term_end,
            "subject": subject,
            "grade": value,
            "passed": value >= 6,
        }

    bundle = tiny_bundle(
        grades=[
            grade(AS_OF - D(120), "Matemáticas", 8.0),
            grade(AS_OF - D(120), "Historia", 9.0),
            grade(AS_OF - D(20), "Matemáticas", 5.0),
            grade(AS_OF - D(20), "Historia", 7.0),
            grade(AS_OF, "Historia", 1.0),  # term ends on as_of: not known yet
        ]
    )
    row = _row(build_features(bundle, [AS_OF]).frame, "Y000")
    assert row["failed_subjects_last_term"] == 1
    assert row["failed_core_subject_last_term"] == 1
    assert row["grade_mean_last_term"] == pytest.approx(6.0)
    assert row["grade_trend"] == pytest.approx(6.0 - 8.5)
    assert row["failed_subjects_365d"] == 1


def test_probation_is_active_between_start_and_end() -> None:
    contacts = [
        {
            "youth_id": "Y000",
            "date": AS_OF - D(100),
            "kind": "probation_start",
            "category": "property",
            "disposition": "probation",
        },
        {
            "youth_id": "Y001",
            "date": AS_OF - D(300),
            "kind": "probation_start",
            "category": "property",
            "disposition": "probation",
        },
        {
            "youth_id": "Y001",
            "date": AS_OF - D(10),
            "kind": "probation_end",
            "category": "property",
            "disposition": None,
        },
        {
            "youth_id": "Y002",
            "date": AS_OF - D(5),
            "kind": "civic_infraction",
            "category": "violence",
            "disposition": "mediation",
        },
    ]
    frame = build_features(tiny_bundle(justice_contacts=contacts), [AS_OF]).frame
    assert list(frame.sort_values("youth_id")["probation_active"]) == [1, 0, 0]
    assert list(frame.sort_values("youth_id")["probation_ever"]) == [1, 1, 0]
    y2 = _row(frame, "Y002")
    assert (
        y2["civic_infractions_365d"],
        y2["violence_contacts_365d"],
        y2["mediation_dispositions_total"],
    ) == (1, 1, 1)
    assert y2["days_since_last_justice_contact"] == 5


def test_programme_running_at_as_of_counts_as_active_whatever_its_later_status() -> None:
    programs = [
        {
            "youth_id": "Y000",
            "program": "mentoria",
            "start_date": AS_OF - D(200),
            "end_date": AS_OF - D(50),
            "status": "completed",
            "sessions_attended": 9,
            "sessions_offered": 10,
        },
        {
            "youth_id": "Y000",
            "program": "deporte",
            "start_date": AS_OF - D(30),
            "end_date": AS_OF + D(60),
            "status": "dropped",
            "sessions_attended": 1,
            "sessions_offered": 10,
        },
    ]
    row = _row(build_features(tiny_bundle(programs=programs), [AS_OF]).frame, "Y000")
    assert row["programs_completed_total"] == 1
    assert row["programs_dropped_total"] == 0
    assert row["program_active"] == 1
    assert row["program_attendance_rate"] == pytest.approx(0.9)


def test_label_looks_only_at_the_horizon_after_as_of() -> None:
    contacts = [
        {
            "youth_id": "Y000",
            "date": AS_OF,
            "kind": "detention",
            "category": "violence",
            "disposition": "other",
        },
        {
            "youth_id": "Y001",
            "date": AS_OF - D(1),
            "kind": "detention",
            "category": "violence",
            "disposition": "other",
        },
        {
            "youth_id": "Y002",
            "date": AS_OF + D(365),
            "kind": "detention",
            "category": "violence",
            "disposition": "other",
        },
    ]
    frame = build_features(tiny_bundle(justice_contacts=contacts), [AS_OF]).frame.sort_values("youth_id")
    assert list(frame["label"]) == [1, 0, 0]


def test_label_is_missing_while_its_window_is_open() -> None:
    late = dt.date(2025, 2, 1)  # + 365 days passes the extraction date 2025-07-31
    frame = build_features(tiny_bundle(school_exits=[]), [late]).frame
    assert frame["label"].isna().all()


def test_population_is_programme_age_and_still_in_school_system() -> None:
    young = youth_rows(3)
    young[1]["birth_date"] = dt.date(2016, 1, 1)  # 8 years old at as_of
    exits = [{"youth_id": "Y002", "date": AS_OF - D(40), "reason": "graduated"}]
    frame = build_features(tiny_bundle(youth=young, school_exits=exits), [AS_OF]).frame
    assert list(frame["youth_id"]) == ["Y000"]


def test_absent_tables_remove_their_features_and_say_so() -> None:
    matrix = build_features(tiny_bundle(school_exits=[]), [AS_OF])
    assert "attendance" in matrix.removed
    assert "unexcused_absences_90d" in matrix.removed["attendance"]
    assert "unexcused_absences_90d" not in matrix.frame.columns
    assert set(matrix.feature_names) == {"age", "dropped_out_before"}


def test_audit_columns_travel_beside_features_but_are_not_features() -> None:
    matrix = build_features(tiny_bundle(school_exits=[]), [AS_OF])
    assert {"sex", "municipality", "age_band", "indigenous"} <= set(matrix.group_columns)
    assert not set(matrix.group_columns) & set(matrix.feature_names)


def test_as_of_after_extraction_is_refused() -> None:
    with pytest.raises(PreviError, match="after the extraction date"):
        build_features(tiny_bundle(school_exits=[]), [dt.date(2026, 1, 1)])


def test_default_as_of_dates_leave_a_year_of_history_and_a_closed_window() -> None:
    bundle = tiny_bundle(
        school_exits=[{"youth_id": "Y000", "date": dt.date(2021, 8, 15), "reason": "transferred"}]
    )
    dates = default_as_of_dates(bundle.tables, dt.date(2024, 7, 31), 365)
    assert dates == [dt.date(2022, 8, 1), dt.date(2023, 2, 1), dt.date(2023, 8, 1)]


def test_registry_has_thirty_meaningful_features_with_texts() -> None:
    assert len(FEATURES) >= 30
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)
    for feature in FEATURES:
        template = feature.reason_text
        forms = (template.one, template.other) if isinstance(template, Plural) else (template,)
        assert all("{value}" in form for form in forms)
        assert feature.description("es") and feature.description("en")
        assert feature.description("es") != feature.description("en")  # the Spanish catalog translates it
        assert feature.kind in ("need", "history", "context")
    kinds = {feature.name: feature.kind for feature in FEATURES}
    assert kinds["age"] == "context" and kinds["unexcused_absences_90d"] == "need"
    assert kinds["detentions_total"] == "history"


# ---------------------------------------------------------------- the point-in-time property

# Half the events fall within 40 days of as_of, where off-by-one mistakes live.
OFFSETS = st.one_of(st.integers(min_value=-40, max_value=40), st.integers(min_value=-500, max_value=500))
YOUTH = st.sampled_from(["Y000", "Y001", "Y002"])


@st.composite
def event_tables(draw: st.DrawFn) -> dict[str, list[dict[str, object]]]:
    """Random events of every table around AS_OF (offsets in days)."""

    def date(offset: int) -> dt.date:
        return AS_OF + D(offset)

    attendance = []
    for start in draw(st.lists(OFFSETS, max_size=6, unique=True)):
        enrolled = draw(st.integers(0, 22))
        excused = draw(st.integers(0, enrolled))
        attendance.append(
            {
                "youth_id": draw(YOUTH),
                "period_start": date(start),
                "period_end": date(start + draw(st.integers(0, 40))),
                "days_enrolled": enrolled,
                "days_absent_excused": excused,
                "days_absent_unexcused": draw(st.integers(0, enrolled - excused)),
                "days_late": draw(st.integers(0, 5)),
            }
        )
    grades = [
        {
            "youth_id": draw(YOUTH),
            "term_end": date(offset),
            "subject": subject,
            "grade": value,
            "passed": value >= 6,
        }
        for offset, subject, value in draw(
            st.lists(
                st.tuples(
                    OFFSETS,
                    st.sampled_from(["Matemáticas", "Historia", "Inglés"]),
                    st.floats(0, 10, allow_nan=False),
                ),
                max_size=8,
                unique_by=lambda item: (item[0], item[1]),
            )
        )
    ]
    incidents = [
        {
            "youth_id": draw(YOUTH),
            "date": date(offset),
            "category": category,
            "severity": severity,
            "suspension_days": draw(st.integers(0, 5)),
        }
        for offset, category, severity in draw(
            st.lists(
                st.tuples(
                    OFFSETS,
                    st.sampled_from(["fight", "bullying", "substance", "weapon", "other"]),
                    st.integers(1, 3),
                ),
                max_size=6,
            )
        )
    ]
    contacts = [
        {
            "youth_id": draw(YOUTH),
            "date": date(offset),
            "kind": kind,
            "category": category,
            "disposition": draw(st.sampled_from(["warning", "mediation", "community_service", None])),
        }
        for offset, kind, category in draw(
            st.lists(
                st.tuples(
                    OFFSETS,
                    st.sampled_from(["civic_infraction", "probation_start", "probation_end", "detention"]),
                    st.sampled_from(["violence", "property", "substance"]),
                ),
                max_size=6,
            )
        )
    ]
    programs = []
    for offset in draw(st.lists(OFFSETS, max_size=4, unique=True)):
        offered = draw(st.integers(0, 12))
        programs.append(
            {
                "youth_id": draw(YOUTH),
                "program": "mentoria",
                "start_date": date(offset),
                "end_date": draw(
                    st.one_of(
                        st.none(),
                        st.one_of(st.integers(0, 40), st.integers(0, 300)).map(
                            lambda days, o=offset: date(o + days)
                        ),
                    )
                ),
                "status": draw(st.sampled_from(["active", "completed", "dropped"])),
                "sessions_attended": draw(st.integers(0, offered)),
                "sessions_offered": offered,
            }
        )
    exits = [
        {
            "youth_id": draw(YOUTH),
            "date": date(offset),
            "reason": draw(st.sampled_from(["dropped_out", "graduated"])),
        }
        for offset in draw(st.lists(OFFSETS, max_size=2, unique=True))
    ]
    return {
        "attendance": attendance,
        "grades": grades,
        "school_incidents": incidents,
        "justice_contacts": contacts,
        "programs": programs,
        "school_exits": exits,
    }


_EVENT_DATE = {
    "attendance": "period_end",
    "grades": "term_end",
    "school_incidents": "date",
    "justice_contacts": "date",
    "programs": "start_date",
    "school_exits": "date",
}


def _past_only(tables: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    """The same tables as they stood at AS_OF: future events gone, running programmes unresolved."""
    past: dict[str, list[dict[str, object]]] = {}
    for name, rows in tables.items():
        kept = [dict(row) for row in rows if row[_EVENT_DATE[name]] < AS_OF]  # type: ignore[operator]
        if name == "programs":
            for row in kept:
                if row["end_date"] is None or row["end_date"] >= AS_OF:  # type: ignore[operator]
                    row.update(end_date=None, status="active", sessions_attended=0, sessions_offered=0)
        past[name] = kept
    return past


def _features(tables: dict[str, list[dict[str, object]]]) -> pd.DataFrame:
    names = [feature.name for feature in FEATURES]
    frame = build_features(tiny_bundle(**tables), [AS_OF]).frame
    return frame[["youth_id", *names]].reset_index(drop=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=event_tables(), future=event_tables())
def test_events_on_or_after_as_of_never_change_features(
    tables: dict[str, list[dict[str, object]]], future: dict[str, list[dict[str, object]]]
) -> None:
    """Deleting, changing or adding events dated on or after as_of leaves every feature unchanged."""
    baseline = _features(_past_only(tables))
    with_original_future = _features(tables)
    with_other_future = _features(
        {
            name: rows + [row for row in future[name] if row[_EVENT_DATE[name]] >= AS_OF]  # type: ignore[operator]
            for name, rows in _past_only(tables).items()
        }
    )
    pd.testing.assert_frame_equal(baseline, with_original_future)
    pd.testing.assert_frame_equal(baseline, with_other_future)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=event_tables(), past=event_tables())
def test_label_never_looks_before_as_of(
    tables: dict[str, list[dict[str, object]]], past: dict[str, list[dict[str, object]]]
) -> None:
    """Replacing every event dated before as_of leaves the labels unchanged."""
    future_only = {
        name: [row for row in rows if row[_EVENT_DATE[name]] >= AS_OF]  # type: ignore[operator]
        for name, rows in tables.items()
    }
    other_past = {
        name: rows + [row for row in past[name] if row[_EVENT_DATE[name]] < AS_OF]  # type: ignore[operator]
        for name, rows in future_only.items()
    }
    # Exits before as_of change who is in the population, not labels: compare on common youth.
    first = build_features(tiny_bundle(**future_only), [AS_OF]).frame.set_index("youth_id")["label"]
    second = build_features(tiny_bundle(**other_past), [AS_OF]).frame.set_index("youth_id")["label"]
    common = first.index.intersection(second.index)
    pd.testing.assert_series_equal(first.loc[common], second.loc[common])
