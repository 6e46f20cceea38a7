"""The one-person path of the live API gives exactly the batch path's scores, reasons and referrals.

``explained_scores`` scores a glass box row by row from its tables (no pandas);
``score_rows`` and ``ScoredRows.reasons`` score a whole table at once, as
``previ score`` does. Over many generated people (values on and beside every
bin edge, missing values, unknown features) both must give the same
probability, range and percentile (to 1e-12), the same tier and most
informative unknown, the same reasons word for word and the same referrals.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.registry import Language
from models.artifact import ScoringModel
from models.calibration import Calibrator
from models.reasons import Reason, RowReasons
from service.catalog import load_catalog
from service.referrals import suggest_referrals
from service.scoring import UNIT_RANGES, FeatureValue, PercentileReference, explained_scores, score_rows
from tests.service.factories import Registry

TOLERANCE = 1e-12
CATALOG = load_catalog()


@pytest.fixture(scope="module", params=["as trained", "other calibration"])
def model(request: pytest.FixtureRequest, registry: Registry) -> ScoringModel:
    """The registry's glass box, and the same trees under the other calibration method."""
    scoring = registry.model("trained")
    assert scoring.scores_rows and scoring.population is not None
    if request.param == "as trained":
        return scoring
    if scoring.calibrator.method == "platt":
        steps = np.linspace(-4.0, 1.0, 12)
        other = Calibrator("isotonic", thresholds=tuple(steps), values=tuple(np.linspace(0.01, 0.6, 12)))
    else:
        other = Calibrator("platt", slope=0.9, intercept=0.25)
    return dataclasses.replace(scoring, calibrator=other)


def _values(model: ScoringModel, name: str) -> st.SearchStrategy[FeatureValue]:
    """A value the API accepts: on or beside one of the feature's bin edges, anywhere in range, or missing.

    Only values within the unit's feasible range (``UNIT_RANGES``), as the API
    checks them before scoring: LightGBM keeps edges far outside (1e300 and
    the like) that no request can reach.
    """
    declaration = model.registry.get(name)
    low, high = UNIT_RANGES.get(declaration.unit if declaration else "", (-1e6, 1e6))
    j = model.feature_names.index(name)
    edges = [edge for edge in model.model.edges[j].tolist() if low <= edge <= high]
    on_edges = st.sampled_from(edges) if edges else st.just(low)
    beside = on_edges.flatmap(
        lambda edge: st.sampled_from([math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)])
    ).filter(lambda value: low <= value <= high)
    anywhere = st.floats(min_value=low, max_value=min(high, 1000.0), allow_nan=False)
    choices = [on_edges, beside, anywhere]
    if model.population is not None and not model.population.never_missing(name):
        choices.append(st.none())
    return st.one_of(*choices)


@st.composite
def people(draw: st.DrawFn, model: ScoringModel) -> tuple[list[list[FeatureValue]], list[list[bool]]]:
    """One to four people: their values and which of them the caller does not know."""
    count = draw(st.integers(min_value=1, max_value=4))
    rows = [[draw(_values(model, name)) for name in model.feature_names] for _ in range(count)]
    unknown = [
        [draw(st.booleans()) and draw(st.booleans()) for _ in model.feature_names] for _ in range(count)
    ]
    return rows, unknown


def _batch(
    model: ScoringModel,
    rows: Sequence[Sequence[FeatureValue]],
    unknown: Sequence[Sequence[bool]],
    reference: PercentileReference | None,
    language: Language,
) -> list[tuple[float, float, float, float, str, str | None, RowReasons]]:
    """The batch path, as ``previ score`` runs it over a table."""
    values = pd.DataFrame(np.array(rows, dtype=np.float64), columns=model.feature_names)
    scored = score_rows(model, values, reference=reference, unknown=np.array(unknown, dtype=bool))
    reasons = scored.reasons(language, top=3)
    return [
        (
            float(scored.probability[row]),
            float(scored.low[row]),
            float(scored.high[row]),
            float(scored.percentile[row]),
            str(scored.tier[row]),
            scored.most_informative[row],
            reasons.for_row(row),
        )
        for row in range(len(values))
    ]


def _same_reasons(fast: Sequence[Reason], batch: Sequence[Reason]) -> None:
    assert [(r.feature, r.direction, r.value, r.sentence, r.factor, r.referral_tags) for r in fast] == [
        (r.feature, r.direction, r.value, r.sentence, r.factor, r.referral_tags) for r in batch
    ]
    for mine, theirs in zip(fast, batch, strict=True):
        assert mine.contribution == pytest.approx(theirs.contribution, abs=TOLERANCE, rel=0)


def _same_referrals(fast: RowReasons, batch: RowReasons, age: int) -> None:
    mine, theirs = (
        suggest_referrals(
            reasons.risk, CATALOG, age=age, municipality="Villa Zaragoza", enrolments={}, top=10
        )
        for reasons in (fast, batch)
    )
    assert [(s.programme.id, [r.feature for r in s.reasons]) for s in mine] == [
        (s.programme.id, [r.feature for r in s.reasons]) for s in theirs
    ]
    assert [s.weight for s in mine] == pytest.approx([s.weight for s in theirs], abs=TOLERANCE, rel=0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), language=st.sampled_from(["es", "en"]), snapshot_reference=st.booleans())
def test_the_one_person_path_equals_the_batch_path(
    model: ScoringModel, data: st.DataObject, language: Language, snapshot_reference: bool
) -> None:
    rows, unknown = data.draw(people(model))
    reference = (
        PercentileReference(np.sort(np.random.default_rng(3).random(501)), "snapshot")
        if snapshot_reference
        else None
    )
    fast = explained_scores(model, rows, unknown, reference=reference, language=language, top=3)
    batch = _batch(model, rows, unknown, reference, language)
    for mine, (probability, low, high, percentile, tier, most_informative, reasons) in zip(
        fast, batch, strict=True
    ):
        assert mine.probability == pytest.approx(probability, abs=TOLERANCE, rel=0)
        assert mine.low == pytest.approx(low, abs=TOLERANCE, rel=0)
        assert mine.high == pytest.approx(high, abs=TOLERANCE, rel=0)
        assert (mine.percentile, mine.tier, mine.most_informative) == (percentile, tier, most_informative)
        assert mine.reference == ("snapshot" if snapshot_reference else "model")
        for group in ("risk", "protective", "context", "gaps"):
            _same_reasons(getattr(mine.reasons, group), getattr(reasons, group))
        for age in (12, 16):
            _same_referrals(mine.reasons, reasons, age)


def test_the_golden_rows_score_alike_on_both_paths(model: ScoringModel, registry: Registry) -> None:
    """The rows recorded at training: real people's values, nothing unknown."""
    inputs = pd.DataFrame(model.golden["inputs"])[model.feature_names]
    rows = [[None if pd.isna(value) else float(value) for value in row] for row in inputs.to_numpy()]
    unknown = [[False] * len(model.feature_names) for _ in rows]
    fast = explained_scores(model, rows, unknown, language="es", top=3)
    batch = _batch(model, rows, unknown, None, "es")
    assert [mine.probability for mine in fast] == pytest.approx([theirs[0] for theirs in batch], abs=1e-12)
    assert any(mine.reasons.risk for mine in fast)  # some golden rows have risk reasons to compare
    for mine, theirs in zip(fast, batch, strict=True):
        assert mine.tier == theirs[4]
        _same_reasons(mine.reasons.risk, theirs[6].risk)
    if model.calibrator == registry.model("trained").calibrator:  # the probabilities recorded at training
        assert [mine.probability for mine in fast] == pytest.approx(model.golden["probability"], abs=1e-12)


def test_row_contributions_read_the_tables_as_searchsorted_does_at_every_edge(model: ScoringModel) -> None:
    """On an edge, a hair below and above it, at the infinities and missing: bit for bit."""
    lookup = model.model
    width = len(lookup.feature_names)
    probes: list[list[float]] = []
    for j, edges in enumerate(lookup.edges):
        for edge in edges.tolist():
            for value in (edge, math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)):
                row = [0.0] * width
                row[j] = value
                probes.append(row)
    probes += [[value] * width for value in (math.inf, -math.inf, math.nan, 0.0, -0.0)]
    _, batch = lookup.contributions(np.array(probes))
    fast = np.array([lookup.row_contributions(row) for row in probes])
    assert np.array_equal(fast, batch)
