"""The OpenAPI document: the published contract, and what the served model and catalog add to it.

Two documents, one source (the routes and :mod:`service.schemas`):

- the **published** contract does not depend on a model. It carries the API's
  version (:data:`API_VERSION`, semantic versioning: a field removed or renamed
  needs a new major version) and is what ``docs/openapi.json`` stores and
  ``previ openapi`` writes; the tests compare the two.
- the **served** document (``GET /openapi.json``) is the published one with the
  rules that hang on what is loaded: the served model's feature names as the
  properties of ``features`` (each value's range, and whether null, "no
  record", is a state the model knows), the names ``unknown`` may list (none
  when the model cannot score unknown values: every feature is then required),
  the catalog's programme ids and the deployment's purposes. ``info.x-model`` names the model (version
  and SHA-256); the document is rebuilt when a reload swaps it.

The rules are those :func:`service.scoring.feature_problems` enforces: a
request valid for the served document passes it, and one it refuses breaks the
document (the contract tests send schemathesis' requests to check both ways).
Two rules compare two fields, which JSON Schema cannot do in a form a client
generator or schemathesis can use, so the document states them in words and in
:data:`NOT_BOTH`: the request's ``age`` is the ``age`` feature (a copy under
``features`` must equal it, so the document leaves ``age`` out of
``features``), and a feature is sent or listed in ``unknown``, never both. (A
``not`` clause per feature states the second exactly, but its canonical form
doubles with each feature, and schemathesis 4 gives up on it from five
features on; tests/service/schemathesis_hooks.py applies the rule to the
requests schemathesis generates.)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI

from models.artifact import ScoringModel
from service.catalog import Catalog
from service.model_store import LoadedModel
from service.schemas import (
    EXAMPLE_FEATURES,
    EXAMPLE_UNKNOWN,
    MAX_FEATURES,
    MAX_LEVEL_LENGTH,
    BatchScoreRequest,
    Person,
    ReferralFeedback,
    ScoreRequest,
    TierOverride,
)
from service.scoring import UNIT_RANGES, can_marginalise

__all__ = ["API_VERSION", "NOT_BOTH", "install_openapi", "served_document"]

API_VERSION = "1.0.0"
NOT_BOTH = "x-previ-disjoint"
"""Names two properties, an object and a list, that may not share a name: the feature keys and unknown."""
AGE = "age"  # the request's own field is this feature (service.scoring.values_row)
FEATURES_DESCRIPTION = (
    "The served model's features by name, in the registry's units (rates as 0-1). null means that no "
    "record exists (never suspended, no grades on file), and only features that training saw missing may "
    "be null. A feature left out is unknown (see unknown). The request's age is the age feature: it is not "
    "sent here."
)
UNKNOWN_DESCRIPTION = (
    "Features whose value the caller does not know ('I don't know', not 'no record'); never one sent in "
    "features. Features left out of features count as unknown too. Their contributions are replaced by their "
    "expectation over the training population, and probability_range gives every estimate their values "
    "could lead to."
)
ALL_REQUIRED = (
    "The served model ({kind}) cannot score unknown values: every feature is required, and unknown must "
    "be empty."
)


def install_openapi(
    app: FastAPI,
    *,
    model: Callable[[], LoadedModel | None],
    catalog: Catalog,
    purposes: Sequence[str],
) -> None:
    """Serve the document of the model loaded now at /openapi.json (built once per model)."""
    published = app.openapi  # FastAPI's own builder, which keeps what it built
    built: dict[str | None, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        served = model()
        key = served.sha256 if served is not None else None
        if key not in built:
            built.clear()
            built[key] = served_document(published(), served, catalog, purposes=purposes)
        return built[key]

    app.openapi = openapi  # type: ignore[method-assign]


def served_document(
    published: dict[str, Any],
    model: LoadedModel | None,
    catalog: Catalog,
    *,
    purposes: Sequence[str],
) -> dict[str, Any]:
    """The published document with the rules of ``model`` (None: none loaded yet), catalog and purposes."""
    document = copy.deepcopy(published)
    schemas: dict[str, Any] = document["components"]["schemas"]
    _programmes(schemas, [programme.id for programme in catalog.programs])
    _purposes(document, list(purposes))
    document["info"]["x-model"] = (
        None
        if model is None
        else {"version": model.version, "sha256": model.sha256, "kind": model.scoring.kind}
    )
    if model is None:
        return document
    scoring = model.scoring
    features, unknown = example_values(scoring)
    for holder in (Person, ScoreRequest):
        schema = schemas[holder.__name__]
        schema["properties"]["features"] = features_schema(scoring, example=features)
        schema["properties"]["unknown"] = unknown_schema(scoring, example=unknown)
        schema[NOT_BOTH] = ["features", "unknown"]
        for example in schema.get("examples", []):
            example["features"], example["unknown"] = dict(features), list(unknown)
    for example in schemas[BatchScoreRequest.__name__].get("examples", []):
        for item in example["items"]:
            item["features"], item["unknown"] = dict(features), list(unknown)
    return document


def features_schema(scoring: ScoringModel, *, example: dict[str, Any]) -> dict[str, Any]:
    """``features`` for ``scoring``: one property per feature, nothing else."""
    names = _sendable(scoring)
    schema: dict[str, Any] = {
        "type": "object",
        "title": "Features",
        "description": FEATURES_DESCRIPTION,
        "properties": {name: _value_schema(scoring, name) for name in names},
        "additionalProperties": False,
        "examples": [example],
    }
    if not can_marginalise(scoring):
        schema["required"] = names
        schema["description"] += " " + ALL_REQUIRED.format(kind=scoring.kind)
    return schema


def unknown_schema(scoring: ScoringModel, *, example: list[str]) -> dict[str, Any]:
    """``unknown`` for ``scoring``: its feature names (but age), or nothing when it cannot marginalise."""
    if not can_marginalise(scoring):
        return {"type": "array", "title": "Unknown", "items": {"type": "string"}, "maxItems": 0}
    return {
        "type": "array",
        "title": "Unknown",
        "description": UNKNOWN_DESCRIPTION,
        "items": {"enum": _sendable(scoring)},
        "maxItems": MAX_FEATURES,  # a name may be listed twice
        "examples": [example],
    }


def example_values(scoring: ScoringModel) -> tuple[dict[str, Any], list[str]]:
    """Feature values and unknown names for the examples, valid for ``scoring``.

    The hand-written example (the README's) where the model can take it;
    otherwise, for a model that needs every value, its first golden row.
    """
    names = set(_sendable(scoring))
    if can_marginalise(scoring):
        features = {
            name: value
            for name, value in EXAMPLE_FEATURES.items()
            if name in names and (value is not None or _nullable(scoring, name))
        }
        unknown = [name for name in EXAMPLE_UNKNOWN if name in names and name not in features]
        return features, unknown
    inputs = scoring.golden["inputs"]  # column -> values, as the artifact stores them (no pandas here)
    return {name: _plain(inputs[name][0]) for name in _sendable(scoring)}, []


def _sendable(scoring: ScoringModel) -> list[str]:
    return [name for name in scoring.feature_names if name != AGE]


def _value_schema(scoring: ScoringModel, name: str) -> dict[str, Any]:
    """The values :func:`service.scoring.feature_problems` takes for one feature."""
    declaration = scoring.registry.get(name)
    unit = declaration.unit if declaration is not None else None
    value: dict[str, Any]
    if name in scoring.categorical_levels:
        value = {
            "type": "string",
            "maxLength": MAX_LEVEL_LENGTH,
            "examples": scoring.categorical_levels[name],
        }
    elif unit == "flag":
        value = {"enum": [0, 1]}
    elif unit in UNIT_RANGES:
        low, high = UNIT_RANGES[unit]
        value = {"type": "number", "minimum": low, "maximum": high}
    else:
        value = {"type": "number"}
    schema: dict[str, Any] = {"anyOf": [value, {"type": "null"}]} if _nullable(scoring, name) else value
    if declaration is not None:
        schema["description"] = f"{declaration.description('en')} ({unit})"
    return schema


def _nullable(scoring: ScoringModel, name: str) -> bool:
    """Whether null ("no record") is a state the model knows for this feature."""
    return scoring.population is None or not scoring.population.never_missing(name)


def _programmes(schemas: dict[str, Any], programmes: list[str]) -> None:
    """Feedback names a programme of the catalog (the service refuses any other with 422)."""
    for holder in (ReferralFeedback, TierOverride):
        schema = schemas[holder.__name__]
        program = schema["properties"]["program"]
        enum = {"type": "string", "enum": programmes}
        if "anyOf" in program:
            program["anyOf"] = [enum, {"type": "null"}]
        else:
            program.update(enum)
            program.pop("minLength", None)
            program.pop("maxLength", None)
        for example in schema.get("examples", []):
            if example.get("program") is not None and example["program"] not in programmes:
                example["program"] = programmes[0]


def _purposes(document: dict[str, Any], purposes: list[str]) -> None:
    """A score states one of the deployment's purposes (any other is refused: 403, logged)."""
    for holder in (ScoreRequest, BatchScoreRequest):
        schema = document["components"]["schemas"][holder.__name__]
        schema["properties"]["purpose"].update(enum=purposes, examples=purposes[:1])
        for example in schema.get("examples", []):
            if example["purpose"] not in purposes:
                example["purpose"] = purposes[0]
    for parameter in document["paths"]["/v1/youth/{youth_id}/score"]["get"]["parameters"]:
        if parameter["name"] == "purpose":
            parameter["schema"]["enum"] = purposes
            parameter["schema"]["examples"] = purposes[:1]


def _plain(value: Any) -> Any:
    """A golden value as JSON: NaN (no record) as null, numbers as floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else float(value)
