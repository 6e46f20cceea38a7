"""The true effect of the programmes on the young people they served: ``truth_effects.json``.

For every enrolment in month m (from a year after the start, the person still
followed on the first day of m + 1 and the window [first day of m + 1, + horizon)
inside the data) the two potential probabilities of an adverse outcome within
that window are computed from the state at the start of m + 1:

* served: the state as it is (programme running, its hazard reduction);
* not served: the same state with the programme removed (no programme, no
  reduction beyond what an earlier programme still carried), free to be
  referred later like anyone else.

Both are Rao-Blackwellised Monte Carlo estimates (:func:`_truth.true_probabilities`)
with common random numbers, so the difference is the programme's alone. The
effect among those served is ``1 - sum(p_served) / sum(p_not_served)``: what
``previ evaluate`` estimates (the average treatment effect on the treated, as a
relative risk reduction).

The potential probabilities are computed after the simulation (:meth:`ServedTruth.finish`),
from copies of the enrolled rows' states kept month by month: in a world where places go
by rank, the truth's paths need the cut-offs of the months that follow
(:class:`synthetic._allocation.RecordedCutoffs`). :class:`MarginTruth` does the same for
the young people ranked around a month's cut-off, served or not: the effect at the margin
that a regression discontinuity and a lottery estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthetic import _model as model
from synthetic import _truth as truth_model
from synthetic._allocation import Allocator, Ranking
from synthetic._effects import PROGRAM_NAMES, ProgramEffects
from synthetic._world import MUNICIPALITIES, FloatArray, IntArray, Month, Population

FIRST_MONTH = 12  # the evaluation needs a year of history before an enrolment


@dataclass(frozen=True)
class _Pending:
    """The rows of one month whose potential probabilities are still to compute."""

    population: Population
    served: model.State
    not_served: model.State
    as_of_month: int
    seed: int


@dataclass
class ServedTruth:
    """Potential probabilities of every counted enrolment, gathered month by month."""

    program: list[IntArray] = field(default_factory=list)
    municipality: list[IntArray] = field(default_factory=list)
    served: list[FloatArray] = field(default_factory=list)
    not_served: list[FloatArray] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)

    def add_month(
        self,
        population: Population,
        state: model.State,
        before: tuple[FloatArray, IntArray],
        events: model.MonthEvents,
        calendar: tuple[Month, ...],
        month: Month,
        *,
        horizon_days: int,
        rng: np.random.Generator,
    ) -> None:
        """Keep the enrolments of ``month``; ``state`` is the state after it, ``before`` the
        (effect, effect_left) before it."""
        rows = _counted(population, state, calendar, month, horizon_days, events.enrolment >= 0)
        if rows.size == 0:
            return
        served = state.take(rows)
        self._keep(
            population, rows, events.enrolment[rows], served, _without(served, before, rows), month, rng
        )

    def _keep(
        self,
        population: Population,
        rows: IntArray,
        program: IntArray,
        served: model.State,
        not_served: model.State,
        month: Month,
        rng: np.random.Generator,
    ) -> None:
        seed = int(rng.integers(2**63))
        self.program.append(program)
        self.municipality.append(population.municipality[rows])
        self.pending.append(_Pending(population.take(rows), served, not_served, month.index + 1, seed))

    def finish(
        self,
        calendar: tuple[Month, ...],
        *,
        horizon_days: int,
        paths: int,
        effects: ProgramEffects,
        allocation: Allocator | None,
    ) -> None:
        """Compute the potential probabilities kept so far, with common random numbers."""
        for item in self.pending:
            rows = np.arange(item.population.size)
            potential = [
                truth_model.true_probabilities(
                    item.population,
                    chosen,
                    calendar,
                    item.as_of_month,
                    rows,
                    horizon_days=horizon_days,
                    paths=paths,
                    rng=np.random.Generator(np.random.PCG64(item.seed)),
                    effects=effects,
                    allocation=allocation,
                )
                for chosen in (item.served, item.not_served)
            ]
            self.served.append(potential[0])
            self.not_served.append(potential[1])
        self.pending = []

    def arrays(self) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """programme, municipality, p served, p not served of every kept row."""
        if self.pending:
            raise RuntimeError("ServedTruth.finish must run before the summary")
        return (
            np.concatenate([np.zeros(0, np.int64), *self.program]),
            np.concatenate([np.zeros(0, np.int64), *self.municipality]),
            np.concatenate([np.zeros(0), *self.served]),
            np.concatenate([np.zeros(0), *self.not_served]),
        )

    def summary(self, effects: ProgramEffects) -> dict[str, Any]:
        """The content of ``truth_effects.json``."""
        program, municipality, served, not_served = self.arrays()
        programs = {
            name: effect_of(served[program == index], not_served[program == index])
            for index, name in enumerate(PROGRAM_NAMES)
        }
        municipalities = {
            place.name: effect_of(served[municipality == index], not_served[municipality == index])
            for index, place in enumerate(MUNICIPALITIES)
        }
        return {
            "estimand": (
                "average effect on the served of enrolling in month m: adverse outcome within the "
                "horizon from the first day of month m + 1, served versus not served at that time"
            ),
            "effects": effects.describe(),
            "served": effect_of(served, not_served),
            "programs": programs,
            "municipalities": municipalities,
        }


@dataclass
class MarginTruth(ServedTruth):
    """Potential probabilities of the young people ranked within the band around each cut-off."""

    def add_ranking(
        self,
        population: Population,
        state: model.State,
        before: tuple[FloatArray, IntArray],
        events: model.MonthEvents,
        need: FloatArray,
        ranking: Ranking,
        calendar: tuple[Month, ...],
        month: Month,
        *,
        horizon_days: int,
        rng: np.random.Generator,
        effects: ProgramEffects,
    ) -> None:
        """Keep the band of ``ranking`` (ranks K - m + 1 .. K + m), winners and losers alike."""
        band = np.zeros(population.size, dtype=bool)
        band[ranking.rows[margin_ranks(ranking)]] = True
        rows = _counted(population, state, calendar, month, horizon_days, band)
        if rows.size == 0:
            return
        offered = events.enrolment[rows] >= 0
        # the programme a loser would have had: drawn as the world draws it for the referred
        program = np.where(
            offered,
            events.enrolment[rows],
            model.choose_program(events.driver_on_record[rows], state.dropped[rows], rng),
        )
        as_is = state.take(rows)
        served, not_served = as_is.copy(), _without(as_is, before, rows)
        losers = np.flatnonzero(~offered)
        age = population.age(month.start)[rows[losers]]
        served.program[losers] = program[losers]
        served.program_month[losers] = 1
        served.effect_left[losers] = effects.months
        served.effect[losers] = effects.reduction(program[losers], need[rows[losers]], age)
        for name in ("program", "program_month", "effect_left", "effect"):
            getattr(not_served, name)[losers] = getattr(as_is, name)[losers]
        self._keep(population, rows, program, served, not_served, month, rng)

    def margin_summary(self) -> dict[str, Any]:
        program, _, served, not_served = self.arrays()
        effect = effect_of(served, not_served)
        return {
            "n_in_margin": effect.pop("n_served"),
            **effect,
            "programs": {name: int((program == index).sum()) for index, name in enumerate(PROGRAM_NAMES)},
        }


def margin_ranks(ranking: Ranking) -> IntArray:
    """Positions in ``ranking`` of the margin: the lottery band, or the same width without one."""
    if ranking.in_band.any():
        return np.flatnonzero(ranking.in_band)
    half = max(1, round(MARGIN_WITHOUT_BAND * ranking.places))
    return np.arange(max(0, ranking.places - half), min(ranking.rows.size, ranking.places + half))


MARGIN_WITHOUT_BAND = 0.25  # half-width of the margin, as a share of the places, when there is no band


def _counted(
    population: Population,
    state: model.State,
    calendar: tuple[Month, ...],
    month: Month,
    horizon_days: int,
    wanted: np.ndarray,
) -> IntArray:
    """Rows of ``wanted`` the truth counts: from a year in, of programme age, followed, window closed."""
    if month.index < FIRST_MONTH or month.index + 1 >= len(calendar):
        return np.zeros(0, np.int64)
    following = calendar[month.index + 1]
    if following.start + horizon_days > calendar[-1].end + 1:
        return np.zeros(0, np.int64)
    age = truth_model.completed_years(population.birth_day, month.start)
    return np.flatnonzero(
        wanted & ~state.exited & (age >= truth_model.MIN_AGE) & (age <= truth_model.MAX_AGE)
    )


def _without(served: model.State, before: tuple[FloatArray, IntArray], rows: IntArray) -> model.State:
    """The same rows with the programme started this month removed (an earlier one's effect kept)."""
    untreated = served.copy()
    left = np.maximum(before[1][rows] - 1, 0)
    untreated.program[:] = -1
    untreated.program_month[:] = 0
    untreated.effect_left[:] = left
    untreated.effect[:] = np.where(left > 0, before[0][rows], 0.0)
    return untreated


def effect_of(served: FloatArray, not_served: FloatArray) -> dict[str, Any]:
    """n, both risks, the relative risk reduction and the risk difference of potential probabilities."""
    if served.size == 0:
        return {"n_served": 0, "relative_risk_reduction": None, "risk_difference": None}
    risk_served, risk_not_served = float(served.mean()), float(not_served.mean())
    return {
        "n_served": int(served.size),
        "risk_served": risk_served,
        "risk_not_served": risk_not_served,
        "relative_risk_reduction": 1.0 - risk_served / risk_not_served if risk_not_served > 0 else None,
        "risk_difference": risk_served - risk_not_served,
    }
