"""The generative model of ``previ synth``: population, calendar and monthly dynamics.

:mod:`features.synth` describes the model in words; this module holds its
parameters and the functions that move it forward one month. The recorded
simulation and the Monte Carlo behind the truth file call the same
:func:`draw_events` and :func:`advance`, so the truth is computed with exactly
the dynamics that produced the records.

Every function is vectorised over young people; only months are looped over,
by the callers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EPOCH = dt.date(1970, 1, 1)

# --- the components of the need -------------------------------------------------------------
DRIVERS = (
    "unexcused_absences",
    "falling_grades",
    "school_incidents",
    "substance",
    "civic_infractions",
    "probation",
    "program_dropout",
)
PROTECTIVE = ("program_completion", "steady_attendance")
COMPONENTS = DRIVERS + PROTECTIVE
ABSENCES, GRADES, INCIDENTS, SUBSTANCE, CIVIC, PROBATION, PROGRAM_DROPOUT, COMPLETION, STEADY = range(9)
# C_k(m) = PERSISTENCE_k * C_k(m-1) + WEIGHT_k * events_k(m-1); units of WEIGHT: need per event.
PERSISTENCE = np.array([0.70, 0.85, 0.88, 0.90, 0.92, 0.60, 0.90, 0.96, 0.85])
WEIGHT = np.array([0.07, 0.18, 0.30, 0.40, 0.40, 0.30, 0.45, -0.45, -0.05])
# A risk component must reach this (on the logit scale of the hazard) to be a main driver.
DRIVER_THRESHOLD = 0.05
NO_DRIVER = -1

# --- stable part and noise -------------------------------------------------------------------
MALE_SHIFT = 0.30
BASELINE_SD = 0.40
AGE_PEAK = 16.5
AGE_CURVE = -0.04  # need shift per squared year away from AGE_PEAK
NOISE_PERSISTENCE = 0.5
NOISE_SD = 0.20  # stationary standard deviation of the unobserved transient noise
TENDENCY_SD = 0.5  # per-youth log-multipliers of absences, incidents, substance, civic events

# --- outcome hazard and kinds ----------------------------------------------------------------
HAZARD_INTERCEPT = -5.3
HAZARD_SLOPE = 1.0
VIOLENCE, DETENTION, PROBATION_START, DROPOUT = range(4)
OUTCOME_SHARES_ENROLLED = np.array([0.42, 0.12, 0.12, 0.34])
OUTCOME_SHARES_OUT_OF_SCHOOL = OUTCOME_SHARES_ENROLLED[:3] / OUTCOME_SHARES_ENROLLED[:3].sum()
PROBATION_MONTHS = (6, 12)
DETENTION_FEED = 1.5  # a detention weighs 1.5 civic infractions in the civic component

SUBJECTS = ("matemáticas", "español", "ciencias", "historia", "inglés", "formación cívica y ética")
SUBJECT_OFFSET = np.array([-0.5, 0.0, -0.2, 0.1, -0.3, 0.4])
GRADE_NEED_SLOPE = -0.5
GRADE_NOISE_SD = 0.9


@dataclass(frozen=True)
class Municipality:
    """A municipality: its share of the youth, indigenous prevalence and need offset."""

    name: str
    code: str
    share: float
    indigenous_rate: float
    need_offset: float


MUNICIPALITIES = (
    Municipality("Ciudad Benito Juárez", "CBJ", 0.34, 0.07, 0.10),
    Municipality("San Andrés Xoxotla", "SAX", 0.24, 0.10, 0.00),
    Municipality("Villa Zaragoza", "VZA", 0.16, 0.12, 0.05),
    Municipality("Santa Cruz Ameyalco", "SCA", 0.12, 0.25, -0.05),
    Municipality("Tepetlán de Hidalgo", "TEH", 0.08, 0.30, 0.05),
    Municipality("Cuautempan", "CUA", 0.06, 0.40, -0.10),
)
DISABILITY_RATE = 0.05
YOUTH_PER_SECONDARY_SCHOOL = 600


@dataclass(frozen=True)
class Program:
    """A prevention programme: length in months and sessions offered per month."""

    name: str
    months: int
    sessions_per_month: int


PROGRAMS = (
    Program("tutoria_academica", 4, 8),
    Program("mentoria", 6, 4),
    Program("deporte_y_cultura", 5, 8),
    Program("apoyo_familiar", 4, 4),
    Program("mediacion_restaurativa", 2, 3),
    Program("prevencion_adicciones", 4, 4),
    Program("reinsercion_escolar", 6, 8),
)
REINSERTION = 6
PROGRAM_MONTHS = np.array([program.months for program in PROGRAMS])
# Rows: the main driver at referral (DRIVERS order, then "none"); columns: PROGRAMS order.
PROGRAM_CHOICE = np.array(
    [
        [0.25, 0.20, 0.00, 0.20, 0.00, 0.00, 0.35],  # unexcused_absences
        [0.60, 0.20, 0.00, 0.20, 0.00, 0.00, 0.00],  # falling_grades
        [0.00, 0.20, 0.25, 0.15, 0.40, 0.00, 0.00],  # school_incidents
        [0.00, 0.15, 0.00, 0.15, 0.00, 0.70, 0.00],  # substance
        [0.00, 0.25, 0.15, 0.15, 0.45, 0.00, 0.00],  # civic_infractions
        [0.00, 0.40, 0.15, 0.30, 0.00, 0.15, 0.00],  # probation
        [0.00, 0.40, 0.20, 0.40, 0.00, 0.00, 0.00],  # program_dropout
        [0.20, 0.25, 0.45, 0.10, 0.00, 0.00, 0.00],  # none
    ]
)

# --- the August-July school calendar ---------------------------------------------------------
# Calendar month -> (first school day, last school day, school days): an approximation of the
# SEP calendar (classes from late August to mid July, winter break, Semana Santa in April).
SCHOOL_MONTHS = {
    8: (26, 31, 4),
    9: (1, 30, 20),
    10: (1, 31, 22),
    11: (1, 30, 18),
    12: (1, 19, 13),
    1: (8, 31, 17),
    2: (1, 28, 18),
    3: (1, 31, 19),
    4: (1, 30, 12),
    5: (1, 31, 20),
    6: (1, 30, 21),
    7: (1, 15, 11),
}
TERM_END_MONTHS = (11, 3, 7)  # three terms a year; grades on the last school day


@dataclass(frozen=True)
class Month:
    """One simulated month; days are counted from 1970-01-01."""

    index: int
    start: int
    length: int
    calendar_month: int
    school_year: int
    first_school_day: int
    last_school_day: int
    school_days: int
    term_end: bool

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    @property
    def date(self) -> dt.date:
        return day_to_date(self.start)


def date_to_day(date: dt.date) -> int:
    return (date - EPOCH).days


def day_to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def make_calendar(start_year: int, months: int) -> tuple[Month, ...]:
    """The months from August of ``start_year``, each with its school days."""
    calendar = []
    for index in range(months):
        year, month0 = divmod(7 + index, 12)
        first = dt.date(start_year + year, month0 + 1, 1)
        following = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        length = (following - first).days
        first_school, last_school, school_days = SCHOOL_MONTHS[first.month]
        calendar.append(
            Month(
                index=index,
                start=date_to_day(first),
                length=length,
                calendar_month=first.month,
                school_year=first.year if first.month >= 8 else first.year - 1,
                first_school_day=first_school,
                last_school_day=min(last_school, length),
                school_days=school_days,
                term_end=first.month in TERM_END_MONTHS,
            )
        )
    return tuple(calendar)


_Columns = TypeVar("_Columns", bound="_ArrayColumns")


class _ArrayColumns:
    """Dataclasses of per-youth arrays (the youth on the last axis) that can be subset."""

    def take(self: _Columns, rows: IntArray) -> _Columns:
        values: dict[str, Any] = {
            field.name: getattr(self, field.name)[..., rows]
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }
        return type(self)(**values)


@dataclass(frozen=True)
class Population(_ArrayColumns):
    """What does not change about each young person.

    ``entry_year`` is the calendar year of the August in which they start
    secundaria (grade 7); ``entry_month`` and ``graduation_month`` are month
    indices of the simulation (the August of entry, the July that ends grade 12).
    """

    birth_day: IntArray
    male: BoolArray
    municipality: IntArray
    indigenous: BoolArray
    disability: BoolArray
    entry_year: IntArray
    entry_month: IntArray
    graduation_month: IntArray
    baseline: FloatArray
    ability: FloatArray
    tendency: FloatArray  # (4, n): absences, incidents, substance, civic
    secondary_school: IntArray
    upper_school: IntArray

    @property
    def size(self) -> int:
        return int(self.birth_day.size)


@dataclass
class State(_ArrayColumns):
    """What moves month by month; ``components`` is (len(COMPONENTS), n)."""

    components: FloatArray
    noise: FloatArray
    dropped: BoolArray
    exited: BoolArray
    program: IntArray
    program_month: IntArray
    probation_left: IntArray

    @classmethod
    def initial(cls, population: Population, rng: np.random.Generator) -> State:
        size = population.size
        return cls(
            components=np.zeros((len(COMPONENTS), size)),
            noise=rng.normal(0.0, NOISE_SD, size),
            dropped=np.zeros(size, dtype=bool),
            exited=np.zeros(size, dtype=bool),
            program=np.full(size, -1, dtype=np.int64),
            program_month=np.zeros(size, dtype=np.int64),
            probation_left=np.zeros(size, dtype=np.int64),
        )

    def copy(self) -> State:
        return State(**{field.name: getattr(self, field.name).copy() for field in dataclasses.fields(self)})


def make_population(size: int, start_year: int, years: int, rng: np.random.Generator) -> Population:
    """Draw ``size`` young people in cohorts that start secundaria between five years
    before the simulation and its last year, so about six grades are in school at any time.
    """
    entry_year = rng.integers(start_year - 5, start_year + years, size)
    delay = (rng.random(size) < 0.15).astype(np.int64)  # repeated a grade in primaria
    birth_year = entry_year - 12 - delay
    year_start = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    year_length = np.where(_is_leap(birth_year), 366, 365)
    birth_day = year_start + (rng.random(size) * year_length).astype(np.int64)
    shares = np.array([municipality.share for municipality in MUNICIPALITIES])
    municipality = rng.choice(len(MUNICIPALITIES), size=size, p=shares / shares.sum())
    indigenous_rate = np.array([municipality.indigenous_rate for municipality in MUNICIPALITIES])
    offsets = np.array([municipality.need_offset for municipality in MUNICIPALITIES])
    male = rng.random(size) < 0.5
    indigenous = rng.random(size) < indigenous_rate[municipality]
    disability = rng.random(size) < DISABILITY_RATE
    baseline = offsets[municipality] + MALE_SHIFT * male + rng.normal(0.0, BASELINE_SD, size)
    ability = rng.normal(8.0, 0.75, size)
    tendency = rng.normal(0.0, TENDENCY_SD, (4, size))
    secondary_count = np.maximum(2, np.rint(shares * size / YOUTH_PER_SECONDARY_SCHOOL)).astype(np.int64)
    secondary_school = (rng.random(size) * secondary_count[municipality]).astype(np.int64) + 1
    upper_count = np.maximum(1, secondary_count // 2)
    upper_school = secondary_count[municipality] + 1 + (rng.random(size) * upper_count[municipality]).astype(
        np.int64
    )
    return Population(
        birth_day=birth_day,
        male=male,
        municipality=municipality.astype(np.int64),
        indigenous=indigenous,
        disability=disability,
        entry_year=entry_year,
        entry_month=np.maximum(0, (entry_year - start_year) * 12),
        graduation_month=(entry_year + 6 - start_year) * 12 - 1,
        baseline=baseline,
        ability=ability,
        tendency=tendency,
        secondary_school=secondary_school,
        upper_school=upper_school,
    )


def _is_leap(year: IntArray) -> BoolArray:
    return np.asarray(((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0))


def sigmoid(value: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-value)))


def age_years(population: Population, day: int) -> FloatArray:
    return np.asarray((day - population.birth_day) / 365.25)


def is_active(population: Population, state: State, month: Month) -> BoolArray:
    """Observed this month: entered secundaria and not graduated or transferred."""
    return np.asarray((population.entry_month <= month.index) & ~state.exited)


def is_enrolled(population: Population, state: State, month: Month) -> BoolArray:
    return np.asarray(is_active(population, state, month) & ~state.dropped)


def current_need(population: Population, state: State, month: Month) -> FloatArray:
    """need = baseline + age curve + sum of components + transient noise (logit scale)."""
    age = age_years(population, month.start)
    return np.asarray(
        population.baseline
        + AGE_CURVE * (age - AGE_PEAK) ** 2
        + state.components.sum(axis=0)
        + state.noise
    )


def outcome_hazard(need: FloatArray) -> FloatArray:
    """Monthly probability of an adverse outcome for an active young person."""
    return sigmoid(HAZARD_INTERCEPT + HAZARD_SLOPE * need)


def main_driver(components: FloatArray) -> IntArray:
    """Index into DRIVERS of the largest risk component, NO_DRIVER when none reaches the threshold."""
    risk = components[: len(DRIVERS)]
    driver = np.argmax(risk, axis=0)
    strongest = np.take_along_axis(risk, driver[None, :], axis=0)[0]
    return np.where(strongest >= DRIVER_THRESHOLD, driver, NO_DRIVER).astype(np.int64)


def school_days_until(month: Month, school_until: IntArray) -> IntArray:
    """School days attended in ``month`` by someone at school up to day ``school_until`` (0: none)."""
    span = month.last_school_day - month.first_school_day + 1
    covered = np.clip(school_until - month.first_school_day + 1, 0, span)
    return np.rint(month.school_days * covered / span).astype(np.int64)


@dataclass(frozen=True)
class MonthEvents:
    """Counts drawn for one month, one entry per young person.

    ``grades`` holds (graded youth, subject) grades for the rows in ``graded``.
    ``civic_rate`` and ``civic_substance_rate`` are the expected counts, kept so
    that recording bias can add records at a multiple of the true rate.
    """

    school_days: IntArray
    excused: IntArray
    unexcused: IntArray
    graded: IntArray
    grades: FloatArray
    failed_subjects: IntArray
    incidents: IntArray
    school_substance: IntArray
    civic: IntArray
    civic_substance: IntArray
    civic_rate: FloatArray
    civic_substance_rate: FloatArray
    enrolment: IntArray  # programme index, -1 when not enrolling this month
    program_dropout: BoolArray
    program_completed: BoolArray
    on_probation: BoolArray
    transfer: BoolArray
    graduation: BoolArray


def draw_events(
    population: Population,
    state: State,
    month: Month,
    need: FloatArray,
    school_until: IntArray,
    rng: np.random.Generator,
) -> MonthEvents:
    """Draw every non-outcome event of ``month`` from the current need.

    ``school_until`` is the last day of the month each person attends school
    (``month.last_school_day`` when enrolled all month, 0 when not at school).
    """
    size = population.size
    active = is_active(population, state, month)
    school_days = school_days_until(month, school_until)
    excused = rng.binomial(school_days, np.where(population.disability, 0.05, 0.025))
    unexcused = rng.binomial(school_days - excused, sigmoid(-3.5 + 0.9 * need + population.tendency[0]))

    failed_subjects = np.zeros(size, dtype=np.int64)
    graded = np.flatnonzero(school_until >= month.last_school_day) if month.term_end else np.zeros(0, np.int64)
    raw = (
        population.ability[graded, None]
        + SUBJECT_OFFSET[None, :]
        + GRADE_NEED_SLOPE * need[graded, None]
        + rng.normal(0.0, GRADE_NOISE_SD, (graded.size, len(SUBJECTS)))
    )
    secondary = (7 + month.school_year - population.entry_year[graded]) <= 9
    # secundaria reports whole grades from 5 to 10, bachillerato one decimal from 0 to 10
    grades = np.where(secondary[:, None], np.clip(np.rint(raw), 5, 10), np.clip(np.round(raw, 1), 0, 10))
    failed_subjects[graded] = (grades < 6).sum(axis=1)

    school_share = school_days / 20.0
    incidents = rng.poisson(np.exp(-3.6 + 0.8 * need + population.tendency[1]) * school_share)
    school_substance = rng.poisson(np.exp(-5.0 + 0.8 * need + population.tendency[2]) * school_share)
    street = active * np.clip((age_years(population, month.start) - 11.0) / 5.0, 0.2, 1.0)
    civic_rate = np.exp(-4.5 + 0.8 * need + population.tendency[3]) * street
    civic_substance_rate = np.exp(-5.5 + 0.8 * need + population.tendency[2]) * street
    civic = rng.poisson(civic_rate)
    civic_substance = rng.poisson(civic_substance_rate)

    in_program = active & (state.program >= 0)
    program_dropout = in_program & (rng.random(size) < sigmoid(-3.3 + 0.7 * need))
    length = PROGRAM_MONTHS[np.maximum(state.program, 0)]
    program_completed = in_program & ~program_dropout & (state.program_month + 1 >= length)
    risk = np.clip(state.components[: len(DRIVERS)], 0.0, None).sum(axis=0)
    enrols = active & (state.program < 0) & (rng.random(size) < 0.002 + sigmoid(-5.0 + 1.3 * risk))
    enrolment = np.full(size, -1, dtype=np.int64)
    enrolment[enrols] = _choose_program(state.components[:, enrols], state.dropped[enrols], rng)

    at_school_all_month = (school_until >= month.last_school_day) & (month.school_days > 0)
    graduation = at_school_all_month & (population.graduation_month == month.index)
    transfer_rate = 0.010 if month.calendar_month == 7 else 0.0015
    transfer = at_school_all_month & ~graduation & (rng.random(size) < transfer_rate)
    return MonthEvents(
        school_days=school_days,
        excused=excused,
        unexcused=unexcused,
        graded=graded,
        grades=grades,
        failed_subjects=failed_subjects,
        incidents=incidents,
        school_substance=school_substance,
        civic=civic,
        civic_substance=civic_substance,
        civic_rate=civic_rate,
        civic_substance_rate=civic_substance_rate,
        enrolment=enrolment,
        program_dropout=program_dropout,
        program_completed=program_completed,
        on_probation=active & (state.probation_left > 0),
        transfer=transfer,
        graduation=graduation,
    )


def _choose_program(components: FloatArray, dropped: BoolArray, rng: np.random.Generator) -> IntArray:
    """A programme for each referred person, by the main driver of their records."""
    driver = main_driver(components)
    row = np.where(driver == NO_DRIVER, len(DRIVERS), driver)
    cumulative = np.cumsum(PROGRAM_CHOICE, axis=1)[row]
    chosen = (rng.random(row.size)[:, None] > cumulative).sum(axis=1)
    chosen = np.minimum(chosen, len(PROGRAMS) - 1)
    reinsertion = dropped & (rng.random(row.size) < 0.5)
    return np.where(reinsertion, REINSERTION, chosen).astype(np.int64)


@dataclass(frozen=True)
class Outcomes:
    """Adverse outcomes of one month: ``kind`` is VIOLENCE..DROPOUT or -1."""

    kind: IntArray
    probation_months: IntArray


def draw_outcomes(
    population: Population, state: State, month: Month, hazard: FloatArray, rng: np.random.Generator
) -> Outcomes:
    """Whether each active person has an adverse outcome this month, and which one."""
    size = population.size
    happens = rng.random(size) < hazard
    pick = rng.random(size)
    enrolled = is_enrolled(population, state, month)
    kind = np.where(
        enrolled,
        np.searchsorted(np.cumsum(OUTCOME_SHARES_ENROLLED), pick, side="right"),
        np.searchsorted(np.cumsum(OUTCOME_SHARES_OUT_OF_SCHOOL), pick, side="right"),
    )
    kind = np.minimum(kind, DROPOUT)
    kind = np.where((kind == PROBATION_START) & (state.probation_left > 0), DETENTION, kind)
    kind = np.where(happens, kind, -1).astype(np.int64)
    months = rng.integers(PROBATION_MONTHS[0], PROBATION_MONTHS[1] + 1, size)
    return Outcomes(kind=kind, probation_months=months)


def advance(
    state: State, events: MonthEvents, rng: np.random.Generator, outcomes: Outcomes | None = None
) -> None:
    """Feed the month's events into the components and move every state variable on a month."""
    feed = np.zeros_like(state.components)
    feed[ABSENCES] = events.unexcused
    feed[GRADES] = events.failed_subjects
    feed[INCIDENTS] = events.incidents
    feed[SUBSTANCE] = events.school_substance + events.civic_substance
    feed[CIVIC] = events.civic
    feed[PROBATION] = events.on_probation
    feed[PROGRAM_DROPOUT] = events.program_dropout
    feed[COMPLETION] = events.program_completed
    feed[STEADY] = (events.school_days >= 8) & (events.unexcused == 0)
    if outcomes is not None:
        feed[CIVIC] += (outcomes.kind == VIOLENCE) + DETENTION_FEED * (outcomes.kind == DETENTION)
    state.components *= PERSISTENCE[:, None]
    state.components += WEIGHT[:, None] * feed
    shock_sd = NOISE_SD * np.sqrt(1.0 - NOISE_PERSISTENCE**2)
    state.noise = NOISE_PERSISTENCE * state.noise + rng.normal(0.0, shock_sd, state.noise.size)

    ended = events.program_dropout | events.program_completed
    state.program_month += state.program >= 0
    state.program = np.where(ended, -1, state.program)
    state.program_month = np.where(ended, 0, state.program_month)
    starts = events.enrolment >= 0
    state.program = np.where(starts, events.enrolment, state.program)
    state.program_month = np.where(starts, 1, state.program_month)

    state.probation_left -= events.on_probation
    if outcomes is not None:
        starts_probation = outcomes.kind == PROBATION_START
        state.probation_left = np.where(starts_probation, outcomes.probation_months, state.probation_left)
        state.dropped |= outcomes.kind == DROPOUT
    leaves = events.transfer | events.graduation
    state.exited |= leaves
    state.program = np.where(leaves, -1, state.program)
