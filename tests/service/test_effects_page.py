"""The "¿Funciona?" page's reading of evaluation.json: verdicts against the goal, and no evaluation yet."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from previ.config import TrainingConfig
from service.pages.effects import latest_evaluation, summarise, verdict
from tests.web.conftest import evaluation_result


@pytest.mark.parametrize(
    ("value", "low", "high", "expected"),
    [
        (0.25, 0.18, 0.31, "met"),  # the whole interval above the goal
        (0.19, 0.02, 0.33, "above_open"),  # reaches the goal, the interval also holds less
        (0.10, 0.02, 0.18, "below"),  # a reduction, short of the goal
        (0.05, -0.20, 0.25, "none"),  # the interval holds no reduction at all
        (-0.10, -0.30, -0.02, "none"),  # harm is no reduction either
        (None, None, None, "unknown"),
    ],
)
def test_verdicts_against_the_goal(
    value: float | None, low: float | None, high: float | None, expected: str
) -> None:
    assert verdict(value, low, high, 0.15) == expected


def test_summary_reads_programmes_municipalities_pooled_and_the_test() -> None:
    found = summarise(evaluation_result(), "run", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert found.served.verdict == "met" and found.served.n_served == 5580
    assert [row.name for row in found.programs] == ["mentoria", "mediacion_restaurativa", "tutoria_academica"]
    assert [row.name for row in found.municipalities] == sorted(
        ["Ciudad Benito Juárez", "San Andrés Xoxotla", "Cuautempan"]
    )
    assert found.difference_p == pytest.approx(0.21)
    pooled = found.pooled
    assert pooled is not None and pooled.low is not None and pooled.high is not None
    assert pooled.low < pooled.value < pooled.high  # type: ignore[operator]
    # the pooled risk difference -0.024 at the served risk 0.11: 0.024 / 0.134
    assert pooled.value == pytest.approx(0.024 / 0.134)


def test_a_bound_written_as_null_beside_an_estimate_is_open_on_that_side() -> None:
    """evaluation.json writes an infinite bound as null: the interval still has a verdict."""
    result = evaluation_result()
    result["programs"]["mentoria"]["relative_risk_reduction"]["ci"] = [None, 0.33]
    found = summarise(result, "run", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    mentoring = next(row for row in found.programs if row.name == "mentoria")
    assert mentoring.low == -math.inf and mentoring.high == 0.33 and mentoring.verdict == "none"
    result["programs"]["mentoria"]["relative_risk_reduction"] = {"value": None, "ci": [None, None]}
    found = summarise(result, "run", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert next(row for row in found.programs if row.name == "mentoria").verdict == "unknown"


def test_no_evaluation_yet_is_none(tmp_path: Path) -> None:
    training = TrainingConfig(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert latest_evaluation(training, {}) is None
