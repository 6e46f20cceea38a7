"""'I don't know' through the API: unknown features marginalised, null kept as 'no record'."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from service.scoring import score_rows
from tests.service.factories import Registry, RunningService, person
from training.pipeline import TEST_FOLD_FILE

# Run once, on SQLite: unknown values test the scoring arithmetic, not the stores
# (tests/service/test_api.py runs on PostgreSQL too).
pytestmark = pytest.mark.parametrize("service", ["sqlite"], indirect=True)

README = Path(__file__).resolve().parents[2] / "README.md"
ROUNDING = 2e-6  # the API rounds probabilities to 6 decimals
CHUNK = 400  # items per batch request, under the 1 MiB body limit


def _items(model: Any, rows: pd.DataFrame, unknown: str | None = None) -> list[dict[str, Any]]:
    items = []
    for index, record in enumerate(rows.to_dict("records")):
        features = {name: None if pd.isna(value) else float(value) for name, value in record.items()}
        age = int(features["age"]) if features.get("age") is not None else 15
        if unknown is not None:
            features.pop(unknown)
        items.append(
            {
                "youth_id": f"Y{index:06d}",
                "features": features,
                "unknown": [unknown] if unknown is not None else [],
                "municipality": "Villa Zaragoza",
                "age": age,
            }
        )
    return items


def _batch(service: RunningService, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scores = []
    with service.client("data_scientist") as client:
        for start in range(0, len(items), CHUNK):
            response = client.post(
                "/v1/scores:batch",
                json={"purpose": "program_evaluation", "items": items[start : start + CHUNK]},
            )
            assert response.status_code == 200, response.text[:500]
            scores += response.json()["scores"]
    return scores


@pytest.mark.slow
def test_each_feature_declared_unknown_in_turn_the_range_holds_the_true_values_probability(
    service: RunningService, registry: Registry
) -> None:
    """200 test-fold rows, each feature of the model in turn unknown: 7,400 scores through HTTP.

    The request's own age is the age feature and is required (referrals check it), so the
    API cannot be told that age is unknown; the scoring path is checked for it directly.
    """
    model = registry.model("trained")
    rows = pd.read_parquet(registry.run_dir / TEST_FOLD_FILE)[model.feature_names].head(200)
    truth = np.array([score["probability"] for score in _batch(service, _items(model, rows))])
    names = [name for name in model.feature_names if name != "age"]
    scores = _batch(service, [item for name in names for item in _items(model, rows, unknown=name)])
    low = np.array([score["probability_range"][0] for score in scores]).reshape(len(names), -1)
    high = np.array([score["probability_range"][1] for score in scores]).reshape(low.shape)
    inside = (low <= truth + ROUNDING) & (truth <= high + ROUNDING)
    assert inside.all(), [names[j] for j in np.flatnonzero(~inside.all(axis=1))]
    assert (high - low > 0.01).any(axis=1).sum() >= 5  # several features really move the estimate
    for score, name in zip(scores[::200], names, strict=True):
        assert score["unknown_features"] == [name] and score["most_informative_unknown"] == name
    values = rows.astype("float64").reset_index(drop=True)
    unknown_age = np.zeros(values.shape, dtype=bool)
    unknown_age[:, model.feature_names.index("age")] = True
    scored = score_rows(model, values, unknown=unknown_age)
    exact = model.probability(values)
    assert ((scored.low <= exact + 1e-12) & (exact <= scored.high + 1e-12)).all()


def test_the_returned_probability_is_the_marginal_expectation_over_the_training_rows(
    service: RunningService, registry: Registry
) -> None:
    """Independently: unknown terms averaged over the served model's training rows, rebuilt from the
    bundle (every labelled row but the calibration half of the newest as_of; see refit_for_serving)."""
    from training.pipeline import training_set_from_bundle
    from training.splits import _halves

    model = registry.model("trained")
    data = training_set_from_bundle(registry.config())
    assert data.time is not None
    calibration = (data.time == data.time.max()) & ~_halves(data.ids)
    train = data.features.iloc[np.flatnonzero(~calibration)]
    _, train_terms = model.model.contributions(train[model.feature_names])
    expected = train_terms.mean(axis=0)
    rows = pd.DataFrame(model.golden["inputs"]).astype("float64")
    unknown = np.zeros(rows.shape, dtype=bool)
    names = ["grade_mean_365d", "days_since_last_justice_contact", "attendance_rate_90d", "fights_365d"]
    for row in range(len(names)):
        unknown[row, [model.feature_names.index(other) for other in names[: row + 1]]] = True
    _, own = model.model.contributions(rows)
    independent = model.model.base + np.where(unknown, expected, own).sum(axis=1)
    scored = score_rows(model, rows, unknown=unknown)
    assert np.max(np.abs(scored.explanation.logit - independent)) < 1e-9
    bodies = []
    for row in range(len(names)):
        listed = names[: row + 1]
        body = person(model, row, unknown=listed)
        bodies.append({**body, "features": {k: v for k, v in body["features"].items() if k not in listed}})
    with service.client("caseworker") as client:
        answers = [client.post("/v1/scores", json=body) for body in bodies]
    assert all(answer.status_code == 200 for answer in answers), answers[0].text
    probability = np.array([answer.json()["probability"] for answer in answers])
    np.testing.assert_allclose(
        probability, model.calibrator.probability(independent[: len(names)]), atol=1e-6
    )


def test_a_null_for_a_feature_never_missing_in_training_is_422(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    assert model.population is not None and model.population.never_missing("fights_365d")
    body = person(model, 0)
    body["features"]["fights_365d"] = None
    with service.client("caseworker", **{"Accept-Language": "en"}) as client:
        refused = client.post("/v1/scores", json=body)
        body["features"].pop("fights_365d")
        unknown = client.post("/v1/scores", json={**body, "unknown": ["fights_365d"]})
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "features", "fights_365d"]
    assert "cannot be null" in problem["msg"] and "unknown" in problem["msg"]
    assert unknown.status_code == 200 and unknown.json()["unknown_features"] == ["fights_365d"]


def test_a_complete_request_has_a_point_range_and_no_note(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    with service.client("caseworker") as client:
        answer = client.post("/v1/scores", json=person(model, 3)).json()
    assert answer["probability_range"] == [answer["probability"], answer["probability"]]
    assert answer["unknown_features"] == [] and answer["range_note"] is None
    assert answer["possible_tiers"] == [answer["tier"]] and answer["tier_uncertain"] is False


def test_the_readme_example_works_as_printed(service: RunningService) -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"curl -s http://127\.0\.0\.1:8000/v1/scores \\.*?-d '(\{.*?\})'", text, re.DOTALL)
    assert match is not None, "the README lost its POST /v1/scores example"
    body = json.loads(match.group(1))
    assert body["unknown"] and body["features"]
    with service.client("caseworker", **{"Accept-Language": "es"}) as client:
        response = client.post("/v1/scores", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    low, high = answer["probability_range"]
    assert low <= answer["probability"] <= high and low < high
    assert set(body["unknown"]) <= set(answer["unknown_features"])
    assert answer["most_informative_unknown"] in answer["unknown_features"]
    assert "la estimación estaría entre" in answer["range_note"]
    assert answer["tier_uncertain"] == (len(answer["possible_tiers"]) > 1)
