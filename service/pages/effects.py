"""The latest ``previ evaluate`` for the manager's "¿Funciona?" page, in words against the 15% goal.

Every ``previ evaluate`` logs its folder as a run of the MLflow experiment
``previ-evaluate`` (:mod:`evaluation.report`), in the registry the service
already reads. The page shows the newest run's ``evaluation.json``: the effect
among the young people served, each programme's, and each municipality's when
the evaluation was run with ``--by municipality`` (with the pooled estimate and
the test of whether municipalities differ). The JSON is read once per run id.

Nothing here names a young person: an evaluation holds only aggregates.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from previ.config import TrainingConfig
from previ.errors import PreviError

EXPERIMENT = "previ-evaluate"  # evaluation.report.EXPERIMENT (the service does not import evaluation/)
ARTIFACT = "evaluation/evaluation.json"
UNREADABLE = "the evaluations in {uri} cannot be read ({error})"
Verdict = Literal["met", "above_open", "below", "none", "unknown"]
SIGNIFICANT = 0.05  # p-value under which municipalities are said to differ


@dataclass(frozen=True)
class EffectRow:
    """One estimate as the page states it (fractions; the page formats them)."""

    name: str
    n_served: int
    value: float | None
    low: float | None
    high: float | None
    verdict: Verdict


@dataclass(frozen=True)
class LatestEvaluation:
    """The newest evaluation: when, which design, the pooled effect, by programme and by municipality."""

    run_id: str
    when: dt.datetime
    goal: float
    design: str
    served: EffectRow
    programs: list[EffectRow]
    municipalities: list[EffectRow]
    pooled: EffectRow | None
    difference_p: float | None  # Cochran's Q test of the municipalities


def latest_evaluation(training: TrainingConfig, cache: dict[Any, Any]) -> LatestEvaluation | None:
    """The newest run of ``previ-evaluate`` (None when there is none); PreviError when unreadable."""
    from mlflow.exceptions import MlflowException

    from training.registry import client_for, tracking_uri

    try:
        client = client_for(training)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return None
        runs = client.search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1
        )
        if not runs:
            return None
        run = runs[0]
        key = ("evaluation", run.info.run_id)
        if key not in cache:
            with tempfile.TemporaryDirectory() as scratch:
                path = client.download_artifacts(run.info.run_id, ARTIFACT, scratch)
                cache[key] = json.loads(Path(path).read_text(encoding="utf-8"))
        found: dict[str, Any] = cache[key]
    except (MlflowException, OSError, ValueError) as error:
        raise PreviError(UNREADABLE.format(uri=tracking_uri(training), error=type(error).__name__)) from error
    return summarise(found, run.info.run_id, dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC))


def summarise(found: dict[str, Any], run_id: str, when: dt.datetime) -> LatestEvaluation:
    """``evaluation.json`` as rows with verdicts against its goal."""
    goal = float(found.get("goal") or 0.15)
    served = found.get("served") or {}
    by_place = (served.get("groups") or {}).get("municipality") or {}
    places = by_place.get("groups") or {}
    pooled = by_place.get("pooled_risk_difference")
    return LatestEvaluation(
        run_id=run_id,
        when=when,
        goal=goal,
        design=str(found.get("design") or "observational"),
        served=_row("served", served, goal),
        programs=[_row(name, effect, goal) for name, effect in (found.get("programs") or {}).items()],
        municipalities=[_row(name, effect, goal) for name, effect in sorted(places.items())],
        pooled=_pooled(pooled, served, goal) if pooled else None,
        difference_p=_number((by_place.get("heterogeneity") or {}).get("p_value")),
    )


def _row(name: str, effect: dict[str, Any], goal: float) -> EffectRow:
    """One line of the page. A null bound beside an estimate is unbounded on that side (evaluation.json
    writes an infinite bound as null: a risk ratio whose interval reaches infinity gives a relative
    reduction with no lower bound), so the verdict still reads the interval."""
    reduction = effect.get("relative_risk_reduction") or {}
    interval = reduction.get("ci") or [None, None]
    value, low, high = (_number(reduction.get("value")), _number(interval[0]), _number(interval[1]))
    if value is not None:
        low = -math.inf if interval[0] is None else low
        high = math.inf if interval[1] is None else high
    return EffectRow(
        name, int(effect.get("n_served") or 0), value, low, high, verdict(value, low, high, goal)
    )


def _pooled(pooled: dict[str, Any], served: dict[str, Any], goal: float) -> EffectRow:
    """The inverse-variance pooled risk difference as a relative reduction, at the served risk."""
    risk = _number(served.get("risk_served"))
    difference = _number(pooled.get("value"))
    interval = pooled.get("ci") or [None, None]
    low, high = _number(interval[0]), _number(interval[1])

    def relative(rd: float | None) -> float | None:
        if risk is None or rd is None:
            return None
        return -rd / (risk - rd) if risk - rd > 0 else -math.inf  # no risk left without: no lower bound

    value, low_rrr, high_rrr = relative(difference), relative(high), relative(low)
    return EffectRow(
        "pooled",
        int(served.get("n_served") or 0),
        value,
        low_rrr,
        high_rrr,
        verdict(value, low_rrr, high_rrr, goal),
    )


def verdict(value: float | None, low: float | None, high: float | None, goal: float) -> Verdict:
    """met: the whole interval above the goal; none: it holds no reduction at all (0 or worse);
    above_open: the estimate reaches the goal but the interval also holds less; below: a reduction
    short of the goal."""
    if value is None or low is None or high is None:
        return "unknown"
    if low > goal:
        return "met"
    if low <= 0.0:
        return "none"
    return "above_open" if value >= goal else "below"


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
