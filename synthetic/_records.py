"""Turn the simulated events of each month into the rows of the bundle's tables.

Only the recorded simulation uses this module: the record details (dates within
the month, categories, severities, dispositions, late days, programme
sessions) come from their own random stream and never feed back into the
need, so the Monte Carlo of the truth does not need them. Extra records from
recording bias come from a third stream, so a biased bundle is the unbiased
one plus extra ``justice_contacts`` rows.

Rows are kept as integer codes (youth index, day number, category index);
:mod:`synthetic._tables` turns them into typed Arrow tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from features.schemas import (
    TABLES,
)
from synthetic import _model as model
from synthetic import _world as world
from synthetic._model import MonthEvents, Outcomes, State
from synthetic._world import BoolArray, FloatArray, IntArray, Month, Population

Codes = dict[str, IntArray | FloatArray | BoolArray]

FIGHT, BULLYING, VANDALISM, SUBSTANCE_INCIDENT, WEAPON, OTHER_INCIDENT = range(6)
INCIDENT_MIX = ((FIGHT, 0.45), (BULLYING, 0.22), (VANDALISM, 0.12), (WEAPON, 0.04), (OTHER_INCIDENT, 0.17))
SEVERITY_BY_CATEGORY = np.array(
    [[0.5, 0.4, 0.1], [0.6, 0.4, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.8, 0.2, 0.0]]
)
CIVIC, PROBATION_START, PROBATION_END, DETENTION = range(4)
PROPERTY, VIOLENCE, SUBSTANCE, PUBLIC_ORDER, OTHER_CATEGORY = range(5)
WARNING, MEDIATION, COMMUNITY_SERVICE, FINE, PROBATION = range(5)
MINOR_MIX = ((PROPERTY, 0.35), (PUBLIC_ORDER, 0.55), (OTHER_CATEGORY, 0.10))
BIASED_MIX = ((PROPERTY, 0.30), (PUBLIC_ORDER, 0.50), (SUBSTANCE, 0.12), (OTHER_CATEGORY, 0.08))
MINOR_DISPOSITIONS = ((WARNING, 0.40), (MEDIATION, 0.25), (COMMUNITY_SERVICE, 0.20), (FINE, 0.15))
SUBSTANCE_DISPOSITIONS = ((WARNING, 0.45), (MEDIATION, 0.15), (COMMUNITY_SERVICE, 0.25), (FINE, 0.15))
VIOLENCE_DISPOSITIONS = ((WARNING, 0.10), (MEDIATION, 0.35), (COMMUNITY_SERVICE, 0.35), (FINE, 0.20))
DETENTION_CATEGORIES = ((VIOLENCE, 0.6), (PROPERTY, 0.3), (SUBSTANCE, 0.1))
PROBATION_CATEGORIES = ((VIOLENCE, 0.5), (PROPERTY, 0.3), (SUBSTANCE, 0.2))
ACTIVE, COMPLETED, DROPPED = range(3)
GRADUATED, TRANSFERRED, DROPPED_OUT = range(3)
NO_CODE = -1  # a blank cell
SESSIONS = np.array([program.sessions_per_month for program in world.PROGRAMS])


@dataclass(frozen=True)
class Bias:
    """Who has minor justice contacts recorded ``rate`` times more often."""

    biased: BoolArray
    rate: float


class Recorder:
    """Collects the rows of every event table, month by month, as integer codes."""

    def __init__(
        self,
        population: Population,
        detail_rng: np.random.Generator,
        bias_rng: np.random.Generator,
        bias: Bias | None,
    ) -> None:
        size = population.size
        self._rng = detail_rng
        self._bias_rng = bias_rng
        self._bias = bias
        self._rows: dict[str, defaultdict[str, list[np.ndarray]]] = {
            name: defaultdict(list) for name in TABLES if name != "youth"
        }
        self._program_start = np.zeros(size, dtype=np.int64)
        self._program_offered = np.zeros(size, dtype=np.int64)
        self._program_attended = np.zeros(size, dtype=np.int64)
        self._probation_end_month = np.full(size, -1, dtype=np.int64)
        self._probation_day = np.ones(size, dtype=np.int64)
        self._probation_category = np.zeros(size, dtype=np.int64)

    # --- helpers the simulation calls before drawing the month's events ------------------------
    def outcome_days(self, month: Month, outcomes: Outcomes) -> IntArray:
        """Day of the month of each outcome: a school day for dropping out, any day otherwise."""
        uniform = self._rng.random(outcomes.kind.size)
        any_day = 1 + (uniform * month.length).astype(np.int64)
        span = month.last_school_day - month.first_school_day + 1
        school_day = month.first_school_day + (uniform * span).astype(np.int64)
        return np.where(outcomes.kind == model.DROPOUT, school_day, any_day)

    # --- one month ------------------------------------------------------------------------------
    def record(
        self,
        month: Month,
        population: Population,
        state: State,
        events: MonthEvents,
        outcomes: Outcomes,
        outcome_day: IntArray,
        school_until: IntArray,
        need: FloatArray,
        hazard: FloatArray,
    ) -> None:
        """Add the month's rows; ``state`` is the state at the start of the month."""
        self._attendance(month, population, events, outcomes, outcome_day, need)
        self._grades(month, population, events)
        self._incidents(month, events, school_until)
        self._justice(month, population, state, events, outcomes, outcome_day, hazard)
        self._programs(month, state, events, need)
        self._exits(month, events, outcomes, outcome_day)

    def _add(self, table: str, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self._rows[table][name].append(values)

    def _attendance(
        self,
        month: Month,
        population: Population,
        events: MonthEvents,
        outcomes: Outcomes,
        outcome_day: IntArray,
        need: FloatArray,
    ) -> None:
        rows = np.flatnonzero(events.school_days > 0)
        period_end = np.full(rows.size, month.end)
        period_end = np.where(
            outcomes.kind[rows] == model.DROPOUT, month.start + outcome_day[rows] - 2, period_end
        )
        period_end = np.where(events.graduation[rows], month.start + month.last_school_day - 1, period_end)
        not_unexcused = events.school_days[rows] - events.unexcused[rows]
        excused = self._rng.binomial(not_unexcused, model.excused_rate(population)[rows])
        late = self._rng.binomial(not_unexcused - excused, model.LATE_DAY.rate(need[rows]))
        self._add(
            "attendance",
            youth_id=rows,
            period_start=np.full(rows.size, month.start),
            period_end=period_end,
            days_enrolled=events.school_days[rows],
            days_absent_excused=excused,
            days_absent_unexcused=events.unexcused[rows],
            days_late=late,
        )

    def _grades(self, month: Month, population: Population, events: MonthEvents) -> None:
        if events.graded.size == 0:
            return
        subjects = len(world.SUBJECTS)
        secundaria = model.in_secundaria(population, month)[events.graded]
        grades = model.reported_grades(events.grades, secundaria).ravel()
        self._add(
            "grades",
            youth_id=np.repeat(events.graded, subjects),
            term_end=np.full(grades.size, month.start + month.last_school_day - 1),
            subject=np.tile(np.arange(subjects), events.graded.size),
            grade=grades,
            passed=grades >= 6,
        )

    def _incidents(self, month: Month, events: MonthEvents, school_until: IntArray) -> None:
        school_substance = events.school_substance
        rows = np.concatenate([_repeat(events.incidents), _repeat(school_substance)])
        category = np.concatenate(
            [
                _draw(INCIDENT_MIX, int(events.incidents.sum()), self._rng),
                np.full(int(school_substance.sum()), SUBSTANCE_INCIDENT),
            ]
        )
        last = school_until[rows]
        day = month.first_school_day + (self._rng.random(rows.size) * (last - month.first_school_day + 1))
        cumulative = np.cumsum(SEVERITY_BY_CATEGORY, axis=1)[category]
        severity = 1 + np.minimum((self._rng.random(rows.size)[:, None] > cumulative).sum(axis=1), 2)
        suspension = np.select(
            [severity == 2, severity == 3],
            [self._rng.integers(0, 3, rows.size), self._rng.integers(2, 6, rows.size)],
            0,
        )
        self._add(
            "school_incidents",
            youth_id=rows,
            date=month.start + day.astype(np.int64) - 1,
            category=category,
            severity=severity,
            suspension_days=suspension,
        )

    def _justice(
        self,
        month: Month,
        population: Population,
        state: State,
        events: MonthEvents,
        outcomes: Outcomes,
        outcome_day: IntArray,
        hazard: FloatArray,
    ) -> None:
        rng = self._rng
        minor = _repeat(events.civic)
        self._contacts(month, minor, CIVIC, _draw(MINOR_MIX, minor.size, rng), MINOR_DISPOSITIONS, rng)
        substance = _repeat(events.civic_substance)
        categories = np.full(substance.size, SUBSTANCE)
        self._contacts(month, substance, CIVIC, categories, SUBSTANCE_DISPOSITIONS, rng)

        for kind, code, mix, dispositions in (
            (model.VIOLENCE, CIVIC, ((VIOLENCE, 1.0),), VIOLENCE_DISPOSITIONS),
            (model.DETENTION, DETENTION, DETENTION_CATEGORIES, ()),
            (model.PROBATION_START, PROBATION_START, PROBATION_CATEGORIES, ((PROBATION, 1.0),)),
        ):
            rows = np.flatnonzero(outcomes.kind == kind)
            category = _draw(mix, rows.size, rng)
            days = month.start + outcome_day[rows] - 1
            self._contacts(month, rows, code, category, dispositions, rng, days=days)
            if kind == model.PROBATION_START:
                self._probation_end_month[rows] = month.index + outcomes.probation_months[rows]
                self._probation_day[rows] = outcome_day[rows]
                self._probation_category[rows] = category

        ending = np.flatnonzero((self._probation_end_month == month.index) & ~state.exited)
        days = month.start + np.minimum(self._probation_day[ending], month.length) - 1
        category = self._probation_category[ending]
        self._contacts(month, ending, PROBATION_END, category, ((PROBATION, 1.0),), rng, days=days)

        if self._bias is not None:
            self._biased_records(month, population, state, events, hazard)

    def _biased_records(
        self, month: Month, population: Population, state: State, events: MonthEvents, hazard: FloatArray
    ) -> None:
        """Records of contacts that were not more frequent, only more often written down."""
        assert self._bias is not None
        rng = self._bias_rng
        extra = (self._bias.rate - 1.0) * self._bias.biased
        minor = _repeat(rng.poisson(extra * (events.civic_rate + events.civic_substance_rate)))
        self._contacts(month, minor, CIVIC, _draw(BIASED_MIX, minor.size, rng), MINOR_DISPOSITIONS, rng)
        enrolled = model.is_enrolled(population, state, month)
        violence_share = np.where(
            enrolled, model.OUTCOME_SHARES_ENROLLED[0], model.OUTCOME_SHARES_OUT_OF_SCHOOL[0]
        )
        violent = _repeat(rng.poisson(extra * hazard * violence_share))
        categories = np.full(violent.size, VIOLENCE)
        self._contacts(month, violent, CIVIC, categories, VIOLENCE_DISPOSITIONS, rng)

    def _contacts(
        self,
        month: Month,
        rows: IntArray,
        kind: int,
        category: IntArray,
        dispositions: tuple[tuple[int, float], ...],
        rng: np.random.Generator,
        *,
        days: IntArray | None = None,
    ) -> None:
        if days is None:
            days = month.start + (rng.random(rows.size) * month.length).astype(np.int64)
        disposition = (
            _draw(dispositions, rows.size, rng) if dispositions else np.full(rows.size, NO_CODE, np.int64)
        )
        self._add(
            "justice_contacts",
            youth_id=rows,
            date=days,
            kind=np.full(rows.size, kind),
            category=category,
            disposition=disposition,
        )

    def _programs(self, month: Month, state: State, events: MonthEvents, need: FloatArray) -> None:
        rng = self._rng
        size = need.size
        attending = model.SESSION_ATTENDED.rate(need)
        ongoing = (state.program >= 0) & ~state.exited
        per_month = SESSIONS[np.maximum(state.program, 0)]
        offered = np.where(ongoing, per_month, 0)
        dropout_day = 1 + (rng.random(size) * month.length).astype(np.int64)
        offered = np.where(events.program_dropout, np.rint(per_month * dropout_day / month.length), offered)

        starts = events.enrolment >= 0
        start_day = 1 + rng.integers(0, 10, size)
        new_per_month = SESSIONS[np.maximum(events.enrolment, 0)]
        new_offered = np.rint(new_per_month * (month.length - start_day + 1) / month.length)
        offered = np.where(starts, new_offered, offered).astype(np.int64)
        self._program_start = np.where(starts, month.start + start_day - 1, self._program_start)
        self._program_offered = np.where(starts, 0, self._program_offered) + offered
        self._program_attended = np.where(starts, 0, self._program_attended) + rng.binomial(
            offered, attending
        )
        program = np.where(starts, events.enrolment, state.program)

        completion_day = month.end - rng.integers(0, 8, size)
        exit_day = np.where(events.graduation, month.start + month.last_school_day - 1, month.end)
        leaving = (events.transfer | events.graduation) & (program >= 0)
        leaving &= ~(events.program_dropout | events.program_completed)
        for ended, status, end in (
            (events.program_dropout, DROPPED, month.start + dropout_day - 1),
            (events.program_completed, COMPLETED, completion_day),
            (leaving, DROPPED, exit_day),
        ):
            rows = np.flatnonzero(ended)
            self._program_row(rows, program[rows], np.full(rows.size, status), end[rows])

    def _program_row(self, rows: IntArray, program: IntArray, status: IntArray, end: IntArray) -> None:
        self._add(
            "programs",
            youth_id=rows,
            program=program,
            start_date=self._program_start[rows],
            end_date=end,
            status=status,
            sessions_attended=self._program_attended[rows],
            sessions_offered=self._program_offered[rows],
        )

    def _exits(self, month: Month, events: MonthEvents, outcomes: Outcomes, outcome_day: IntArray) -> None:
        dropouts = np.flatnonzero(outcomes.kind == model.DROPOUT)
        transfers = np.flatnonzero(events.transfer)
        graduates = np.flatnonzero(events.graduation)
        self._add(
            "school_exits",
            youth_id=np.concatenate([dropouts, transfers, graduates]),
            date=np.concatenate(
                [
                    month.start + outcome_day[dropouts] - 1,
                    np.full(transfers.size, month.end),
                    np.full(graduates.size, month.start + month.last_school_day - 1),
                ]
            ),
            reason=np.concatenate(
                [
                    np.full(dropouts.size, DROPPED_OUT),
                    np.full(transfers.size, TRANSFERRED),
                    np.full(graduates.size, GRADUATED),
                ]
            ),
        )

    # --- the end ---------------------------------------------------------------------------------
    def finish(self, population: Population, state: State, last_month: Month) -> dict[str, Codes]:
        """All tables as code columns; programmes still running are written as active."""
        running = np.flatnonzero(state.program >= 0)
        self._program_row(
            running,
            state.program[running],
            np.full(running.size, ACTIVE),
            np.full(running.size, NO_CODE),
        )
        tables: dict[str, Codes] = {"youth": _youth_codes(population, state, last_month)}
        for name, columns in self._rows.items():
            tables[name] = {column: np.concatenate(parts) for column, parts in columns.items()}
        return tables


PRIMARIA_ID_OFFSET = 500
"""Grade-6 pupils attend the primaria that feeds their secundaria: id offset + the secundaria's id."""


def _youth_codes(population: Population, state: State, last_month: Month) -> Codes:
    """The youth table; ``school_id`` is the school at extraction, blank when not at school."""
    at_school = (population.entry_month <= last_month.index) & ~state.exited & ~state.dropped
    secundaria = model.in_secundaria(population, last_month)
    school = np.where(secundaria, population.secondary_school, population.upper_school)
    in_primaria = 7 + last_month.school_year - population.entry_year < 7
    school = np.where(in_primaria, PRIMARIA_ID_OFFSET + population.secondary_school, school)
    return {
        "youth_id": np.arange(population.size),
        "birth_date": population.birth_day,
        "sex": population.male.astype(np.int64),
        "municipality": population.municipality,
        "school_id": np.where(at_school, school, NO_CODE),
        "indigenous": population.indigenous,
        "disability": population.disability,
    }


def _repeat(counts: IntArray) -> IntArray:
    """Row index repeated once per event."""
    return np.repeat(np.arange(counts.size), counts)


def _draw(mix: tuple[tuple[int, float], ...], size: int, rng: np.random.Generator) -> IntArray:
    codes = np.array([code for code, _ in mix], dtype=np.int64)
    cumulative = np.cumsum([share for _, share in mix])
    picked = np.searchsorted(cumulative / cumulative[-1], rng.random(size), side="right")
    return codes[np.minimum(picked, codes.size - 1)]
