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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthetic import _model as model
from synthetic import _truth as truth_model
from synthetic._effects import PROGRAM_NAMES, ProgramEffects
from synthetic._world import MUNICIPALITIES, FloatArray, IntArray, Month, Population

FIRST_MONTH = 12  # the evaluation needs a year of history before an enrolment


@dataclass
class ServedTruth:
    """Potential probabilities of every counted enrolment, gathered month by month."""

    program: list[IntArray] = field(default_factory=list)
    municipality: list[IntArray] = field(default_factory=list)
    served: list[FloatArray] = field(default_factory=list)
    not_served: list[FloatArray] = field(default_factory=list)

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
        paths: int,
        rng: np.random.Generator,
        effects: ProgramEffects,
    ) -> None:
        """Add the enrolments of ``month``; ``state`` is the state after it, ``before`` the
        (effect, effect_left) before it."""
        if month.index < FIRST_MONTH or month.index + 1 >= len(calendar):
            return
        following = calendar[month.index + 1]
        if following.start + horizon_days > calendar[-1].end + 1:
            return
        age = truth_model.completed_years(population.birth_day, month.start)
        rows = np.flatnonzero(
            (events.enrolment >= 0)
            & ~state.exited
            & (age >= truth_model.MIN_AGE)
            & (age <= truth_model.MAX_AGE)
        )
        if rows.size == 0:
            return
        untreated = state.copy()
        left = np.maximum(before[1][rows] - 1, 0)
        untreated.program[rows] = -1
        untreated.program_month[rows] = 0
        untreated.effect_left[rows] = left
        untreated.effect[rows] = np.where(left > 0, before[0][rows], 0.0)
        seed = int(rng.integers(2**63))
        potential = [
            truth_model.true_probabilities(
                population,
                chosen,
                calendar,
                following.index,
                rows,
                horizon_days=horizon_days,
                paths=paths,
                rng=np.random.Generator(np.random.PCG64(seed)),
                effects=effects,
            )
            for chosen in (state, untreated)
        ]
        self.program.append(events.enrolment[rows])
        self.municipality.append(population.municipality[rows])
        self.served.append(potential[0])
        self.not_served.append(potential[1])

    def summary(self, effects: ProgramEffects) -> dict[str, Any]:
        """The content of ``truth_effects.json``."""
        program = np.concatenate([np.zeros(0, np.int64), *self.program])
        municipality = np.concatenate([np.zeros(0, np.int64), *self.municipality])
        served = np.concatenate([np.zeros(0), *self.served])
        not_served = np.concatenate([np.zeros(0), *self.not_served])
        programs = {
            name: _effect(served[program == index], not_served[program == index])
            for index, name in enumerate(PROGRAM_NAMES)
        }
        municipalities = {
            place.name: _effect(served[municipality == index], not_served[municipality == index])
            for index, place in enumerate(MUNICIPALITIES)
        }
        return {
            "estimand": (
                "average effect on the served of enrolling in month m: adverse outcome within the "
                "horizon from the first day of month m + 1, served versus not served at that time"
            ),
            "effects": effects.describe(),
            "served": _effect(served, not_served),
            "programs": programs,
            "municipalities": municipalities,
        }


def _effect(served: FloatArray, not_served: FloatArray) -> dict[str, Any]:
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
