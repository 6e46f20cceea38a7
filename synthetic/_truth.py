"""The truth side file: each young person's true risk at an as_of, given the state then.

``true_probability`` is P(at least one adverse outcome in [as_of, as_of +
horizon)) given everything the model knows at as_of (the need, its components,
the transient noise, the programme and probation in course, the school
status). It is computed by Monte Carlo over future paths that use the very
dynamics of the recorded simulation (:func:`synthetic._model.draw_events`
and :func:`~synthetic._model.advance`), never from the realised future.

Rao-Blackwellised estimator: whether the first outcome has happened by month m
depends only on the path before it, so each path is simulated with outcomes
switched off and contributes prod_m (1 - h_m), its exact probability of
surviving its own hazards; ``true_probability`` is one minus the mean over
paths. This is far less noisy than counting outcomes along sampled paths. A
month only partly inside the window (a 365-day window across 29 February)
contributes (1 - h)^(covered share), as outcome days are uniform in the month
(up to a day for a July drop-out, which happens on a school day).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from synthetic import _model as model
from synthetic import _records as records
from synthetic._allocation import Allocator
from synthetic._effects import ProgramEffects
from synthetic._model import State
from synthetic._world import FloatArray, IntArray, Month, Population

MAX_PATH_ROWS = 131_072  # rows x paths simulated at once: small arrays are reused, large ones page-fault
MIN_AGE, MAX_AGE = 11, 19
NO_DRIVER_NAME = "none"


@dataclass(frozen=True)
class TruthRows:
    """The truth at one as_of: row indices into the population and their values."""

    as_of_day: int
    rows: IntArray
    probability: FloatArray
    driver: IntArray
    need: FloatArray


def truth_at(
    population: Population,
    state: State,
    calendar: tuple[Month, ...],
    month: Month,
    *,
    horizon_days: int,
    paths: int,
    rng: np.random.Generator,
    effects: ProgramEffects,
    allocation: Allocator | None = None,
) -> TruthRows:
    """The truth at the first day of ``month`` for everyone aged 11-19 then and still followed.

    ``state`` must be the state at the start of ``month``; it is not modified.
    Young people of 11 who start secundaria later are included (their future
    holds their entry); those who graduated or transferred are not.
    """
    age = completed_years(population.birth_day, month.start)
    rows = np.flatnonzero((age >= MIN_AGE) & (age <= MAX_AGE) & ~state.exited)
    probability = true_probabilities(
        population,
        state,
        calendar,
        month.index,
        rows,
        horizon_days=horizon_days,
        paths=paths,
        rng=rng,
        effects=effects,
        allocation=allocation,
    )
    need = model.current_need(population, state, month)[rows]
    driver = model.main_driver(state.components[:, rows])
    return TruthRows(month.start, rows, probability, driver, need)


def true_probabilities(
    population: Population,
    state: State,
    calendar: tuple[Month, ...],
    as_of_month: int,
    rows: IntArray,
    *,
    horizon_days: int,
    paths: int,
    rng: np.random.Generator,
    effects: ProgramEffects,
    allocation: Allocator | None = None,
) -> FloatArray:
    """P(adverse outcome within ``horizon_days`` of the start of ``as_of_month``) for ``rows``.

    ``allocation`` is the world's rule for places when they go by rank (None: by referral).
    """
    window_end = calendar[as_of_month].start + horizon_days
    months = [month for month in calendar[as_of_month:] if month.start < window_end]
    probability = np.empty(rows.size)
    chunk = max(1, MAX_PATH_ROWS // paths)
    for first in range(0, rows.size, chunk):
        block = rows[first : first + chunk]
        replicated = np.repeat(block, paths)
        survival = _path_survival(
            population.take(replicated), state.take(replicated), months, window_end, rng, effects, allocation
        )
        probability[first : first + block.size] = 1.0 - survival.reshape(block.size, paths).mean(axis=1)
    return probability


def _path_survival(
    population: Population,
    state: State,
    months: list[Month],
    window_end: int,
    rng: np.random.Generator,
    effects: ProgramEffects,
    allocation: Allocator | None,
) -> FloatArray:
    log_survival = np.zeros(population.size)
    for position, month in enumerate(months):
        covered = min(window_end - month.start, month.length) / month.length
        need = model.current_need(population, state, month)
        hazard = model.hazard(population, state, month, need)
        log_survival += covered * np.log1p(-hazard)
        if position == len(months) - 1:
            break  # the last month's events only matter after the window
        school_until = np.where(model.is_enrolled(population, state, month), month.last_school_day, 0)
        events = model.draw_events(population, state, month, need, school_until, rng, effects, allocation)
        model.advance(state, month, events, rng, effects)
    return np.exp(log_survival)


def completed_years(birth_day: IntArray, day: int) -> IntArray:
    """Age in whole years on ``day`` (a birthday counts on the day itself)."""
    birth = birth_day.astype("datetime64[D]")
    on = np.full(1, day).astype("datetime64[D]")
    years = (on.astype("datetime64[Y]") - birth.astype("datetime64[Y]")).astype(np.int64)
    return np.asarray(years - (_month_and_day(on) < _month_and_day(birth)), dtype=np.int64)


def _month_and_day(days: np.ndarray) -> IntArray:
    """Month of the year * 100 + day of the month, to compare dates within a year."""
    months = days.astype("datetime64[M]")
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64)
    return np.asarray(months.astype(np.int64) % 12 * 100 + day_of_month, dtype=np.int64)


def truth_table(parts: list[TruthRows], ids: pa.Array) -> pa.Table:
    """youth_id, as_of, true_probability, true_main_driver, true_need; sorted by youth_id, as_of."""
    rows = np.concatenate([np.zeros(0, np.int64), *(part.rows for part in parts)])
    as_of = np.concatenate(
        [np.zeros(0, np.int64), *(np.full(part.rows.size, part.as_of_day) for part in parts)]
    )
    probability = np.concatenate([np.zeros(0), *(part.probability for part in parts)])
    driver = np.concatenate([np.zeros(0, np.int64), *(part.driver for part in parts)])
    need = np.concatenate([np.zeros(0), *(part.need for part in parts)])
    order = np.lexsort([as_of, rows])
    names = np.array([*model.DRIVERS, NO_DRIVER_NAME])
    return pa.table(
        {
            "youth_id": ids.take(pa.array(rows[order])),
            "as_of": pa.array(as_of[order].astype("datetime64[D]"), type=pa.date32()),
            "true_probability": pa.array(probability[order]),
            "true_main_driver": pa.array(names[driver[order]], type=pa.string()),
            "true_need": pa.array(need[order]),
        }
    )


def recorded_outcome_rate(
    codes: dict[str, records.Codes], parts: list[TruthRows], horizon_days: int
) -> float:
    """Share of truth rows with a recorded adverse outcome in [as_of, as_of + horizon).

    The outcome is the default of ``previ.config.OutcomeConfig``: a detention, a
    probation start, a civic infraction for violence or dropping out of school.
    """
    justice, exits = codes["justice_contacts"], codes["school_exits"]
    violent = (justice["kind"] == records.CIVIC) & (justice["category"] == records.VIOLENCE)
    serious = np.isin(justice["kind"], [records.DETENTION, records.PROBATION_START])
    dropped_out = exits["reason"] == records.DROPPED_OUT
    youth = np.concatenate([justice["youth_id"][violent | serious], exits["youth_id"][dropped_out]])
    day = np.concatenate([justice["date"][violent | serious], exits["date"][dropped_out]])
    stride = 1 << 20  # more than any day number until the year 4840
    keys = np.sort(youth.astype(np.int64) * stride + day.astype(np.int64))
    hits = total = 0
    for part in parts:
        start = part.rows.astype(np.int64) * stride + part.as_of_day
        counts = np.searchsorted(keys, start + horizon_days) - np.searchsorted(keys, start)
        hits += int((counts > 0).sum())
        total += part.rows.size
    return hits / total if total else float("nan")
