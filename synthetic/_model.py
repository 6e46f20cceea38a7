"""The dynamics of ``previ synth``: the need, its components, and one month of events.

:mod:`synthetic.synth` describes the model in words. The recorded simulation
and the Monte Carlo behind the truth file call the same :func:`draw_events`
and :func:`advance`, so the truth is computed with exactly the dynamics that
produced the records. Every function is vectorised over young people; callers
loop over months only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.registry import PROTECTIVE_FACTORS, RISK_FACTORS
from synthetic._allocation import Allocator
from synthetic._effects import ProgramEffects
from synthetic._observed import Seen
from synthetic._world import (
    ABSENCE_TENDENCY,
    CIVIC_TENDENCY,
    INCIDENT_TENDENCY,
    PROGRAM_MONTHS,
    PROGRAMS,
    REINSERTION,
    SUBJECT_OFFSET,
    SUBJECTS,
    SUBSTANCE_TENDENCY,
    ArrayColumns,
    BoolArray,
    FloatArray,
    IntArray,
    Month,
    Population,
)

# The true drivers are the registry's factors, so that reasons can be checked against the truth.
DRIVERS = RISK_FACTORS
PROTECTIVE = PROTECTIVE_FACTORS
COMPONENTS = DRIVERS + PROTECTIVE
ABSENCES, GRADES, INCIDENTS, SUBSTANCE, CIVIC, PROBATION, PROGRAM_DROPOUT, COMPLETION, STEADY = range(9)
# C_k(m) = PERSISTENCE_k * C_k(m-1) + WEIGHT_k * x_k(m-1), x_k the events of factor k.
PERSISTENCE = np.array([0.70, 0.85, 0.88, 0.90, 0.90, 0.60, 0.90, 0.96, 0.85])
WEIGHT = np.array([0.05, 0.18, 0.45, 0.60, 0.60, 0.35, 0.50, -0.45, -0.04])
FEED_CAP = 3  # incidents, substance and civic events count at most 3 a month in x_k
DETENTION_FEED = 1.5  # a detention counts as 1.5 civic infractions
STEADY_MIN_DAYS = 8
DRIVER_THRESHOLD = 0.05  # a risk component must reach this to be a main driver
NO_DRIVER = -1

AGE_PEAK = 16.5
AGE_CURVE = -0.04  # need per squared year of age (in whole years) away from AGE_PEAK
NOISE_PERSISTENCE = 0.5
NOISE_SD = 0.08  # stationary standard deviation of the unrecorded transient noise

VIOLENCE, DETENTION, PROBATION_START, DROPOUT = range(4)
OUTCOME_SHARES_ENROLLED = np.array([0.36, 0.08, 0.08, 0.48])
OUTCOME_SHARES_OUT_OF_SCHOOL = OUTCOME_SHARES_ENROLLED[:3] / OUTCOME_SHARES_ENROLLED[:3].sum()
PROBATION_MONTHS = (6, 12)

GRADE_NEED_SLOPE = -0.4
GRADE_NOISE_SD = 0.9
EXCUSED_RATE, EXCUSED_RATE_DISABILITY = 0.025, 0.05
TRANSFER_RATE, TRANSFER_RATE_JULY = 0.0015, 0.010


@dataclass(frozen=True)
class Link:
    """rate = ceiling * sigmoid(intercept + slope * need + tendency): bounded, so no runaway."""

    ceiling: float
    intercept: float
    slope: float

    def rate(self, need: FloatArray, tendency: FloatArray | float = 0.0) -> FloatArray:
        return self.ceiling * sigmoid(self.intercept + self.slope * need + tendency)


UNEXCUSED_DAY = Link(0.5, -3.0, 0.7)  # unexcused absences per school day
INCIDENT = Link(0.8, -3.4, 0.6)  # per 20 school days
SCHOOL_SUBSTANCE = Link(0.4, -4.7, 0.6)  # per 20 school days
CIVIC_MINOR = Link(0.3, -4.0, 0.6)  # per month, times the street exposure
CIVIC_SUBSTANCE = Link(0.2, -4.4, 0.6)  # per month, times the street exposure
PROGRAM_DROP = Link(1.0, -3.3, 0.7)  # per programme month
LATE_DAY = Link(1.0, -3.2, 0.5)  # probability that a day present is a late arrival
SESSION_ATTENDED = Link(1.0, 2.2, -0.7)
# On the need as the records show it (synthetic._observed: the sum of the factors' scores); the
# intercept refers about 1.3% of those eligible a month, as many as when referrals read the latent
# components with an intercept of -3.0.
REFERRAL_FLOOR, REFERRAL = 0.002, Link(0.15, -2.85, 1.3)
# Monthly hazard of an adverse outcome; its ceiling (at most one outcome in four months on
# average) bounds the feedback of outcomes on the need.
HAZARD = Link(0.25, -3.45, 1.7)

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
PROGRAM_CUMULATIVE = np.cumsum(PROGRAM_CHOICE, axis=1)


@dataclass
class State(ArrayColumns):
    """What moves month by month; ``components`` is (len(COMPONENTS), n), ``seen`` the records
    a referral reads (:mod:`synthetic._observed`)."""

    components: FloatArray
    noise: FloatArray
    dropped: BoolArray
    exited: BoolArray
    program: IntArray
    program_month: IntArray
    probation_left: IntArray
    effect: FloatArray  # relative reduction of this month's outcome hazard by a programme
    effect_left: IntArray  # months the reduction still runs
    seen: Seen

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
            effect=np.zeros(size),
            effect_left=np.zeros(size, dtype=np.int64),
            seen=Seen.empty(size),
        )


def sigmoid(value: FloatArray | float) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-value)))


def is_active(population: Population, state: State, month: Month) -> BoolArray:
    """Followed this month: entered secundaria and not graduated or transferred."""
    return np.asarray((population.entry_month <= month.index) & ~state.exited)


def is_enrolled(population: Population, state: State, month: Month) -> BoolArray:
    return np.asarray(is_active(population, state, month) & ~state.dropped)


def current_need(population: Population, state: State, month: Month) -> FloatArray:
    """need = baseline + age curve (by whole years) + sum of the components + transient noise."""
    age_shift = AGE_CURVE * (np.floor(population.age(month.start)) - AGE_PEAK) ** 2
    return np.asarray(population.baseline + age_shift + state.components.sum(axis=0) + state.noise)


def outcome_hazard(need: FloatArray) -> FloatArray:
    """Monthly probability of an adverse outcome without any programme effect."""
    return HAZARD.rate(need)


def hazard(population: Population, state: State, month: Month, need: FloatArray) -> FloatArray:
    """Monthly probability of an adverse outcome: 0 when not followed, lowered by a programme."""
    return np.asarray(outcome_hazard(need) * (1.0 - state.effect) * is_active(population, state, month))


def main_driver(components: FloatArray) -> IntArray:
    """Index into DRIVERS of the largest risk component; NO_DRIVER when none reaches the threshold.

    ``components`` holds the latent components (the true driver) or the factors' scores on
    record (the driver a referral sees); only its first ``len(DRIVERS)`` rows are read.
    """
    risk = components[: len(DRIVERS)]
    driver = np.argmax(risk, axis=0)
    strongest = np.take_along_axis(risk, driver[None, :], axis=0)[0]
    return np.where(strongest >= DRIVER_THRESHOLD, driver, NO_DRIVER).astype(np.int64)


def school_days_until(month: Month, school_until: IntArray) -> IntArray:
    """School days in ``month`` for someone at school up to day ``school_until`` (0: not at all)."""
    span = month.last_school_day - month.first_school_day + 1
    covered = np.clip(school_until - month.first_school_day + 1, 0, span)
    return np.asarray((month.school_days * covered + span // 2) // span, dtype=np.int64)


def excused_rate(population: Population) -> FloatArray:
    """Probability that a school day without an unexcused absence is an excused one."""
    return np.where(population.disability, EXCUSED_RATE_DISABILITY, EXCUSED_RATE)


@dataclass(frozen=True)
class MonthEvents:
    """Counts drawn for one month, one entry per young person.

    ``grades`` holds one row of raw subject scores per index in ``graded``
    (:func:`reported_grades` turns them into the grades on record).
    ``school_substance`` and ``civic_substance`` are the substance incidents at
    school and the substance infractions; the expected counts (``*_rate``) let
    recording bias add records at a multiple of the true rate. ``driver_on_record``
    is the main driver the records showed at the start of the month (what a
    referral chose the programme by).
    """

    school_days: IntArray
    unexcused: IntArray
    graded: IntArray
    grades: FloatArray
    failed_subjects: IntArray
    incidents: IntArray
    school_substance: IntArray
    civic_substance: IntArray
    civic_substance_rate: FloatArray
    civic: IntArray
    civic_rate: FloatArray
    driver_on_record: IntArray
    enrolment: IntArray  # programme index, -1 when not referred this month
    enrolment_effect: FloatArray  # the hazard reduction the new programme brings (0 without one)
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
    effects: ProgramEffects,
    allocation: Allocator | None = None,
) -> MonthEvents:
    """Draw every event of ``month`` except the adverse outcome, from the current need.

    ``school_until`` is the last day of the month each person is at school
    (``month.last_school_day`` when enrolled all month, 0 when not at school).
    ``allocation`` replaces the referral draw by places offered by rank
    (:mod:`synthetic._allocation`). Both read the need as the records show it
    (:mod:`synthetic._observed`), never the latent need: the referral
    probability and the rank priority rise with the sum of the factors' scores
    on record, and the programme follows the main driver on record.
    """
    size = population.size
    active = is_active(population, state, month)
    tendency = population.tendency
    school_days = school_days_until(month, school_until)
    # Poisson capped at the school days: as good as a binomial here, and three times cheaper
    unexcused_rate = school_days * UNEXCUSED_DAY.rate(need, tendency[ABSENCE_TENDENCY])
    unexcused = np.minimum(rng.poisson(unexcused_rate), school_days)
    graded, grades, failed_subjects = _draw_grades(population, month, need, school_until, rng)

    school_share = school_days / 20.0
    incidents = rng.poisson(INCIDENT.rate(need, tendency[INCIDENT_TENDENCY]) * school_share)
    street = active * np.clip((population.age(month.start) - 11.0) / 5.0, 0.2, 1.0)
    school_substance_rate = SCHOOL_SUBSTANCE.rate(need, tendency[SUBSTANCE_TENDENCY]) * school_share
    civic_substance_rate = CIVIC_SUBSTANCE.rate(need, tendency[SUBSTANCE_TENDENCY]) * street
    school_substance = rng.poisson(school_substance_rate)
    civic_substance = rng.poisson(civic_substance_rate)
    civic_rate = CIVIC_MINOR.rate(need, tendency[CIVIC_TENDENCY]) * street
    civic = rng.poisson(civic_rate)

    uniform = rng.random((3, size))
    in_program = active & (state.program >= 0)
    program_dropout = in_program & (uniform[0] < PROGRAM_DROP.rate(need))
    length = PROGRAM_MONTHS[np.maximum(state.program, 0)]
    program_completed = in_program & ~program_dropout & (state.program_month + 1 >= length)
    on_record = state.seen.factor_scores(state.probation_left > 0)
    need_on_record = on_record.sum(axis=0)
    driver_on_record = main_driver(on_record)
    eligible = active & (state.program < 0)
    if allocation is None:
        referred = eligible & (uniform[1] < REFERRAL_FLOOR + REFERRAL.rate(need_on_record))
    else:
        referred = allocation.referred(month, need_on_record, eligible, uniform[1])
    enrolment = np.full(size, -1, dtype=np.int64)
    enrolment[referred] = choose_program(driver_on_record[referred], state.dropped[referred], rng)
    enrolment_effect = np.zeros(size)
    enrolment_effect[referred] = effects.reduction(
        enrolment[referred], need[referred], population.age(month.start)[referred]
    )

    at_school_all_month = (school_until >= month.last_school_day) & (month.school_days > 0)
    graduation = at_school_all_month & (population.graduation_month == month.index)
    transfer_rate = TRANSFER_RATE_JULY if month.calendar_month == 7 else TRANSFER_RATE
    transfer = at_school_all_month & ~graduation & (uniform[2] < transfer_rate)
    return MonthEvents(
        school_days=school_days,
        unexcused=unexcused,
        graded=graded,
        grades=grades,
        failed_subjects=failed_subjects,
        incidents=incidents,
        school_substance=school_substance,
        civic_substance=civic_substance,
        civic_substance_rate=civic_substance_rate,
        civic=civic,
        civic_rate=civic_rate,
        driver_on_record=driver_on_record,
        enrolment=enrolment,
        enrolment_effect=enrolment_effect,
        program_dropout=program_dropout,
        program_completed=program_completed,
        on_probation=active & (state.probation_left > 0),
        transfer=transfer,
        graduation=graduation,
    )


def _draw_grades(
    population: Population, month: Month, need: FloatArray, school_until: IntArray, rng: np.random.Generator
) -> tuple[IntArray, FloatArray, IntArray]:
    """Raw scores of everyone at school on the last day of a term (none in other months)."""
    failed_subjects = np.zeros(population.size, dtype=np.int64)
    if not month.term_end:
        return np.zeros(0, np.int64), np.zeros((0, len(SUBJECTS))), failed_subjects
    graded = np.flatnonzero(school_until >= month.last_school_day)
    raw = (
        population.ability[graded, None]
        + SUBJECT_OFFSET[None, :]
        + GRADE_NEED_SLOPE * need[graded, None]
        + GRADE_NOISE_SD * rng.standard_normal((graded.size, len(SUBJECTS)))
    )
    # the raw score under which the reported grade (see reported_grades) is below 6
    fails_below = np.where(in_secundaria(population, month)[graded], 5.5, 5.95)
    failed_subjects[graded] = (raw < fails_below[:, None]).sum(axis=1)
    return graded, raw, failed_subjects


def in_secundaria(population: Population, month: Month) -> BoolArray:
    """Grades 6-9 (the last year of primaria, and secundaria) rather than 10-12 (bachillerato).

    Both report whole grades from 5 to 10 and pass at 6, unlike bachillerato.
    """
    return np.asarray(7 + month.school_year - population.entry_year <= 9)


def reported_grades(raw: FloatArray, secundaria: BoolArray) -> FloatArray:
    """Secundaria reports whole grades from 5 to 10, bachillerato one decimal from 0 to 10."""
    return np.where(secundaria[:, None], np.clip(np.rint(raw), 5, 10), np.clip(np.round(raw, 1), 0, 10))


def choose_program(driver: IntArray, dropped: BoolArray, rng: np.random.Generator) -> IntArray:
    """A programme for each referred person, by the main driver of their records (:func:`main_driver`
    of the scores on record); half of those out of school go to school re-engagement."""
    row = np.where(driver == NO_DRIVER, len(DRIVERS), driver)
    uniform = rng.random((2, row.size))
    chosen = np.minimum((uniform[0][:, None] > PROGRAM_CUMULATIVE[row]).sum(axis=1), len(PROGRAMS) - 1)
    return np.where(dropped & (uniform[1] < 0.5), REINSERTION, chosen).astype(np.int64)


@dataclass(frozen=True)
class Outcomes:
    """Adverse outcomes of one month: ``kind`` is VIOLENCE..DROPOUT, or -1 for none."""

    kind: IntArray
    probation_months: IntArray


def draw_outcomes(
    population: Population, state: State, month: Month, hazard: FloatArray, rng: np.random.Generator
) -> Outcomes:
    """Whether each person has an adverse outcome this month, and which one."""
    size = population.size
    uniform = rng.random((2, size))
    enrolled = is_enrolled(population, state, month)
    kind = np.where(
        enrolled,
        np.searchsorted(np.cumsum(OUTCOME_SHARES_ENROLLED), uniform[1], side="right"),
        np.searchsorted(np.cumsum(OUTCOME_SHARES_OUT_OF_SCHOOL), uniform[1], side="right"),
    )
    kind = np.minimum(kind, DROPOUT)
    kind = np.where((kind == PROBATION_START) & (state.probation_left > 0), DETENTION, kind)
    kind = np.where(uniform[0] < hazard, kind, -1).astype(np.int64)
    months = rng.integers(PROBATION_MONTHS[0], PROBATION_MONTHS[1] + 1, size)
    return Outcomes(kind=kind, probation_months=months)


def advance(
    state: State,
    month: Month,
    events: MonthEvents,
    rng: np.random.Generator,
    effects: ProgramEffects,
    outcomes: Outcomes | None = None,
) -> None:
    """Feed the month's events into the components and move every state variable on a month.

    A programme started this month lowers the hazard from next month on, for
    ``effects.months`` months; a drop-out keeps ``effects.dropout_retention`` of it.
    The month's records join what a referral reads (``state.seen``).
    """
    components = state.components
    components *= PERSISTENCE[:, None]
    civic = np.minimum(events.civic, FEED_CAP).astype(np.float64)
    violent = np.zeros(civic.size, dtype=np.int64)
    if outcomes is not None:
        violent = (outcomes.kind == VIOLENCE).astype(np.int64)
        civic += violent + DETENTION_FEED * (outcomes.kind == DETENTION)
    substance = events.school_substance + events.civic_substance
    steady = (events.school_days >= STEADY_MIN_DAYS) & (events.unexcused == 0)
    feeds = (
        (ABSENCES, events.unexcused),
        (GRADES, events.failed_subjects),
        (INCIDENTS, np.minimum(events.incidents, FEED_CAP)),
        (SUBSTANCE, np.minimum(substance, FEED_CAP)),
        (CIVIC, civic),
        (PROBATION, events.on_probation),
        (PROGRAM_DROPOUT, effects.dropout_feed * events.program_dropout),
        (COMPLETION, effects.completion_feed * events.program_completed),
        (STEADY, steady),
    )
    for row, feed in feeds:
        components[row] += WEIGHT[row] * feed
    state.seen.add_month(
        month.index,
        unexcused=events.unexcused,
        incidents=events.incidents + events.school_substance,
        school_substance=events.school_substance,
        civic=events.civic + events.civic_substance + violent,
        graded=events.graded,
        failed_subjects=events.failed_subjects,
        program_dropout=events.program_dropout,
    )
    shock_sd = NOISE_SD * np.sqrt(1.0 - NOISE_PERSISTENCE**2)
    state.noise *= NOISE_PERSISTENCE
    state.noise += shock_sd * rng.standard_normal(state.noise.size)

    in_program = state.program >= 0
    ended = events.program_dropout | events.program_completed
    starts = events.enrolment >= 0
    state.program_month = np.where(starts, 1, np.where(ended, 0, state.program_month + in_program))
    state.program = np.where(starts, events.enrolment, np.where(ended, -1, state.program))
    state.effect_left = np.maximum(state.effect_left - 1, 0)
    state.effect = np.where(state.effect_left > 0, state.effect, 0.0)
    state.effect = np.where(events.program_dropout, effects.dropout_retention * state.effect, state.effect)
    state.effect_left = np.where(starts, effects.months, state.effect_left)
    state.effect = np.where(starts, events.enrolment_effect, state.effect)

    state.probation_left -= events.on_probation
    if outcomes is not None:
        starts_probation = outcomes.kind == PROBATION_START
        state.probation_left = np.where(starts_probation, outcomes.probation_months, state.probation_left)
        state.dropped |= outcomes.kind == DROPOUT
    leaves = events.transfer | events.graduation
    state.exited |= leaves
    state.program = np.where(leaves, -1, state.program)
