"""The scoring path: checks that name each bad feature, and lookup-table scores equal the artifact's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models.reasons import reason_codes
from previ.errors import PreviError
from service.scoring import PercentileReference, feature_problems, score_rows, unknown_features, values_row
from tests.service.factories import Registry, person


def test_lookup_scores_and_reasons_equal_the_artifacts_own_path(registry: Registry) -> None:
    model = registry.model("trained")
    inputs = pd.DataFrame(model.golden["inputs"]).astype("float64")
    scored = score_rows(model, inputs)
    np.testing.assert_allclose(scored.probability, model.probability(inputs), atol=1e-12)
    np.testing.assert_allclose(scored.probability, model.golden["probability"], atol=1e-12)
    explained = model.explain(inputs)
    np.testing.assert_allclose(scored.explanation.contributions, explained.contributions, atol=1e-12)
    ours = scored.reasons("es", top=3).table
    theirs = reason_codes(explained, language="es", top=3).table
    pd.testing.assert_frame_equal(ours, theirs)
    assert list(scored.tier) == list(model.tiers.tier(scored.probability))


def test_a_snapshot_reference_changes_the_percentile_not_the_probability(registry: Registry) -> None:
    model = registry.model("trained")
    inputs = pd.DataFrame(model.golden["inputs"]).astype("float64")
    everyone_higher = PercentileReference(np.linspace(0.99, 1.0, 101), "snapshot")
    scored = score_rows(model, inputs, reference=everyone_higher)
    assert scored.reference == "snapshot" and (scored.percentile == 0).all()
    np.testing.assert_allclose(scored.probability, model.golden["probability"], atol=1e-12)


def test_feature_problems_name_each_feature_once(registry: Registry) -> None:
    model = registry.model("trained")
    features = dict(person(model, 0)["features"])
    features.update(attendance_rate_90d=1.5, probation_active=0.5, fights_90d="many", mystery=1.0)
    features.update(unexcused_absences_90d=None)  # never missing in training: null (no record) is refused
    del features["grade_mean_last_term"]  # left out: unknown, not a problem
    del features["grade_trend"]  # left out and listed in unknown: fine too
    unknown = ["grade_trend", "riddle", "fights_365d"]  # fights_365d is also sent
    problems = {(p.feature, p.kind) for p in feature_problems(model, features, age=15, unknown=unknown)}
    assert problems == {
        ("attendance_rate_90d", "value_error"),
        ("probation_active", "value_error"),
        ("fights_90d", "float_type"),
        ("mystery", "unknown_feature"),
        ("riddle", "unknown_feature"),
        ("fights_365d", "value_error"),
        ("unexcused_absences_90d", "value_error"),
    } | ({("age", "value_error")} if features.get("age") not in (None, 15) else set())
    assert unknown_features(model, features, unknown, age=15) == [
        name for name in model.feature_names if name in ("grade_mean_last_term", "grade_trend", "fights_365d")
    ]


def test_a_model_that_cannot_marginalise_refuses_unknown_features(registry: Registry) -> None:
    """A model without a stored training population (or not a glass box) asks for every value."""
    model = dataclasses.replace(registry.model("trained"), population=None)
    body = person(model, 0)
    features = dict(body["features"])
    del features["grade_mean_last_term"]
    problems = feature_problems(model, features, age=body["age"])
    assert [(p.feature, p.kind) for p in problems] == [("grade_mean_last_term", "missing")]
    english, spanish = problems[0].text("en"), problems[0].text("es")
    assert "cannot score unknown values" in english and "glassbox" in english
    assert "no puede estimar con valores desconocidos" in spanish and "glassbox" in spanish
    inputs = pd.DataFrame(model.golden["inputs"]).astype("float64")
    unknown = np.zeros(inputs.shape, dtype=bool)
    unknown[0, 0] = True
    with pytest.raises(PreviError, match="cannot score unknown values"):
        score_rows(model, inputs, unknown=unknown)


def test_the_request_age_fills_a_missing_age_feature_and_must_agree_with_a_given_one(
    registry: Registry,
) -> None:
    model = registry.model("trained")
    features = dict(person(model, 0)["features"])
    features.pop("age")
    assert feature_problems(model, features, age=14) == []
    assert values_row(model, features, age=14)[model.feature_names.index("age")] == 14
    disagreeing = feature_problems(model, {**features, "age": 17.0}, age=14)
    assert [(p.feature, p.message) for p in disagreeing] == [("age", "differs from the request's age")]
    # the request's age is known, so the age feature cannot also be declared unknown
    listed = feature_problems(model, features, age=14, unknown=["age"])
    assert [(p.feature, p.kind) for p in listed] == [("age", "value_error")]


@pytest.mark.parametrize("value", [None, 0.0, 1.0])
def test_null_means_no_record_and_is_scored(registry: Registry, value: float | None) -> None:
    model = registry.model("trained")
    features = {**person(model, 0)["features"], "days_since_last_incident": value}
    assert feature_problems(model, features) == []
