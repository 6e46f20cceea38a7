"""The API keeps its published contract: schemathesis against the real server, for every role, every check.

The served OpenAPI document (the trained model's features in it) is the
contract a case-management system generates its client from. ``st run
--checks all`` sends what the document allows and what it forbids through a
real uvicorn on loopback, once per role's token, and runs every check on each
answer: undocumented statuses, bodies and headers off their schema,
schema-valid requests refused (ST202), invalid ones accepted (ST201), and the
stateful phase's linked calls. The seed is fixed and no example database is
kept, so a run is the same run every time. (The command line rather than
schemathesis' pytest plugin: its fixture-based schemas fail under pytest 9.2,
which dropped ``Node._nodeid``.) Then the refusals schemathesis cannot provoke
(429, 503), the document's examples, and its version against
``docs/openapi.json``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from previ.errors import PreviError
from service.contract import breaking_changes, contract_fields, major_version, publish
from service.main import published_document
from service.openapi import API_VERSION, served_document
from service.tokens import ROLES, Role
from tests.service.factories import Registry, RunningService, running_service

REPOSITORY = Path(__file__).resolve().parents[2]
DOCS_OPENAPI = REPOSITORY / "docs" / "openapi.json"
PUBLISH = "previ openapi --out docs/openapi.json"
ST = Path(sys.executable).with_name("st")
ON_CASELOAD = "Y000123"  # the young person the document's examples name
SEED = 16
EXAMPLES_PER_OPERATION = 6
PUBLIC = ("healthz", "readyz")
OWN_OPERATIONS: dict[Role, tuple[str, ...]] = {
    "caseworker": ("score", "caseload", "snapshot_score", "record_feedback", "model"),
    "program_manager": ("fairness", "model"),
    "data_scientist": ("score_batch", "reload", "model"),
    "auditor": ("audit_log", "model"),
}
METHODS = ("get", "post")
BATCH = "score_batch"  # its items are POST /v1/scores' people, whose boundaries the caseworker's run covers


@pytest.fixture(scope="module")
def contract_service(
    registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """Its own service: schemathesis writes feedback, reloads the model and fills the audit log."""
    with running_service(registry.config(), tmp_path_factory.mktemp("contract")) as running:
        running.state.caseload.add(caseworker="test-caseworker", youth_id=ON_CASELOAD)
        yield running


@pytest.fixture(scope="module")
def served(contract_service: RunningService) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{contract_service.url}/openapi.json").json()
    return document


@pytest.mark.parametrize("role", ROLES)
def test_st_run_with_every_check_finds_no_failure_for_any_role(
    role: Role, contract_service: RunningService, served: dict[str, Any], tmp_path: Path
) -> None:
    """Every phase (examples, coverage, fuzzing, stateful); coverage only where the role may call.

    Coverage enumerates every boundary of every field, some 600 cases for a
    scoring body; for another role's operations the same bodies get the same
    validation, so one role's coverage of them is enough. The batch's people
    are those of POST /v1/scores (covered in the caseworker's run); its own
    limits are sent in :func:`test_a_batch_over_its_limits_is_refused_as_documented`.
    """
    operations = {
        operation["operationId"] for path in served["paths"].values() for operation in path.values()
    }
    assert operations == {*PUBLIC, *(name for names in OWN_OPERATIONS.values() for name in names)}
    others = sorted(operations - {*PUBLIC, *OWN_OPERATIONS[role]} | {BATCH})
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'hooks = "tests.service.schemathesis_hooks"\n\n[cache]\nenabled = false\n\n[[operations]]\n'
        f"include-operation-id = {json.dumps(others)}\nphases.coverage.enabled = false\n"
    )
    command = [
        str(ST), "--config-file", str(config), "run", f"{contract_service.url}/openapi.json",
        "--checks", "all", "--seed", str(SEED), "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--generation-database", "none", "--workers", "1", "--no-color",
        "-H", f"Authorization: Bearer {contract_service.tokens[role]}",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "Stateful" in run.stdout and "generated" in run.stdout, run.stdout[-3000:]
    if role == "caseworker":  # the links walk real sequences: a score, then its feedback; a caseload, a score
        covered = int(run.stdout.split("API Links:")[1].split("covered")[0])
        assert covered >= 3, run.stdout[-3000:]


def test_the_document_states_the_api_and_the_model_it_serves(
    served: dict[str, Any], contract_service: RunningService
) -> None:
    model = contract_service.state.holder.current
    assert model is not None
    assert served["info"]["version"] == API_VERSION
    assert served["info"]["x-model"] == {"version": model.version, "sha256": model.sha256, "kind": "glassbox"}
    purposes = list(contract_service.state.settings.purposes)
    assert served["components"]["schemas"]["ScoreRequest"]["properties"]["purpose"]["enum"] == purposes


def test_features_are_the_served_models_with_their_ranges_and_the_age_is_the_requests_own(
    served: dict[str, Any], contract_service: RunningService
) -> None:
    model = contract_service.state.holder.current
    assert model is not None
    scoring = model.scoring
    for holder in ("ScoreRequest", "Person"):
        request = served["components"]["schemas"][holder]
        features = request["properties"]["features"]
        assert list(features["properties"]) == [name for name in scoring.feature_names if name != "age"]
        assert features["additionalProperties"] is False
        assert request["properties"]["age"] == {
            **request["properties"]["age"],
            "type": "integer",
            "maximum": 30,
        }
        assert request["properties"]["unknown"]["items"]["enum"] == list(features["properties"])
        assert request["x-previ-disjoint"] == ["features", "unknown"]
        assert scoring.population is not None
        for name, schema in features["properties"].items():
            assert ("anyOf" in schema) == (not scoring.population.never_missing(name)), name
    rate = served["components"]["schemas"]["Person"]["properties"]["features"]["properties"][
        "attendance_rate_90d"
    ]
    assert {"type": "number", "minimum": 0.0, "maximum": 1.0} in rate["anyOf"]


def test_a_model_that_cannot_score_unknowns_requires_every_feature(contract_service: RunningService) -> None:
    model = contract_service.state.holder.current
    assert model is not None
    complete = dataclasses.replace(model, scoring=dataclasses.replace(model.scoring, population=None))
    state = contract_service.state
    document = served_document(
        published_document(), complete, state.catalog, purposes=state.settings.purposes
    )
    request = document["components"]["schemas"]["ScoreRequest"]
    features = request["properties"]["features"]
    assert features["required"] == [name for name in model.scoring.feature_names if name != "age"]
    assert request["properties"]["unknown"]["maxItems"] == 0
    assert _valid(document, request, request["examples"][0])


def test_feedback_names_a_programme_of_the_catalog(
    served: dict[str, Any], contract_service: RunningService
) -> None:
    programmes = [programme.id for programme in contract_service.state.catalog.programs]
    referral = served["components"]["schemas"]["ReferralFeedback"]
    assert referral["properties"]["program"]["enum"] == programmes
    assert set(referral["required"]) == {"youth_id", "kind", "program"}
    assert set(served["components"]["schemas"]["TierOverride"]["required"]) == {
        "youth_id",
        "kind",
        "tier",
        "reason",
    }


def test_every_example_in_the_document_is_accepted(
    served: dict[str, Any], contract_service: RunningService
) -> None:
    """Each request example, sent with every role's token: never refused as invalid, and one role gets it."""
    sent = []
    for method, path, params, body in _example_requests(served):
        statuses = {}
        for role in ROLES:
            with contract_service.client(role) as client:
                response = client.request(
                    method.upper(),
                    path.format(**params.get("path", {})),
                    params=params.get("query"),
                    json=body,
                )
            statuses[role] = response.status_code
        assert not set(statuses.values()) & {400, 422}, (method, path, body, statuses)
        assert set(statuses.values()) & {200, 201, 404}, (method, path, body, statuses)
        sent.append(f"{method.upper()} {path}")
    assert sorted(sent) == [  # both kinds of feedback; the snapshot score from its parameters' examples
        "GET /v1/youth/{youth_id}/score",
        "POST /v1/feedback",
        "POST /v1/feedback",
        "POST /v1/scores",
        "POST /v1/scores:batch",
    ]


def test_every_example_is_valid_against_its_own_schema(served: dict[str, Any]) -> None:
    for where, schema in _schemas_with_examples(served):
        for example in schema["examples"]:
            assert _valid(served, schema, example), (where, example)


def test_refusals_schemathesis_cannot_provoke_are_documented_with_their_bodies(
    served: dict[str, Any], contract_service: RunningService, registry: Registry, tmp_path: Path
) -> None:
    url = contract_service.url
    record, secret = contract_service.state.tokens.add(role="auditor", name="test-locked")
    wrong = f"previ_{record.token_id}_{'x' * 43}"
    for _ in range(contract_service.state.settings.lockout_failures):
        httpx.get(f"{url}/v1/model", headers={"Authorization": f"Bearer {wrong}"})
    locked = httpx.get(f"{url}/v1/model", headers={"Authorization": f"Bearer {secret}"})
    assert locked.status_code == 429
    _assert_documented(served, "get", "/v1/model", locked)
    in_query = httpx.get(f"{url}/v1/model", params={"token": secret})
    _assert_documented(served, "get", "/v1/model", in_query, status=400)
    too_large = httpx.post(
        f"{url}/v1/scores:batch",
        content=b"[" + b" " * contract_service.state.settings.max_body_bytes + b"]",
        headers={"Authorization": f"Bearer {contract_service.tokens['data_scientist']}"},
    )
    _assert_documented(served, "post", "/v1/scores:batch", too_large, status=413)
    with running_service(
        registry.config(registered_model="previ-nothing-registered"), tmp_path, wait_ready=False
    ) as empty:
        for path in ("/v1/model", "/readyz"):
            with empty.client("auditor") as client:
                _assert_documented(served, "get", path, client.get(path), status=503)


def test_a_batch_over_its_limits_is_refused_as_documented(
    served: dict[str, Any], contract_service: RunningService
) -> None:
    """maxItems is a 422, like every schema rule, while the body is under the byte limit (413 past it)."""
    example = served["components"]["schemas"]["BatchScoreRequest"]["examples"][0]
    batch = served["components"]["schemas"]["BatchScoreRequest"]["properties"]["items"]
    with contract_service.client("data_scientist") as client:
        for count in (batch["maxItems"] + 1, 0):
            body = {**example, "items": example["items"][:1] * count}
            response = client.post("/v1/scores:batch", json=body)
            _assert_documented(served, "post", "/v1/scores:batch", response, status=422)
            assert response.json()["detail"][0]["loc"] == ["body", "items"]
        full = client.post(
            "/v1/scores:batch", json={**example, "items": example["items"][:1] * batch["maxItems"]}
        )
    assert full.status_code == 200 and len(full.json()["scores"]) == batch["maxItems"]


def test_the_published_contract_keeps_every_field_of_docs_openapi_json() -> None:
    stored = json.loads(DOCS_OPENAPI.read_text(encoding="utf-8"))
    current = published_document()
    broken = breaking_changes(stored, current)
    assert not broken or major_version(current) > major_version(stored), (
        f"fields removed, renamed or retyped without a new major version: {broken}; bump API_VERSION's "
        f"major (service/openapi.py), then {PUBLISH}"
    )


def test_docs_openapi_json_holds_every_field_of_the_current_version() -> None:
    """A field added (or a version bumped) is published, so that removing it later is caught."""
    stored = json.loads(DOCS_OPENAPI.read_text(encoding="utf-8"))
    current = published_document()
    added = sorted(set(contract_fields(current)) - set(contract_fields(stored)))
    assert not added, f"{len(added)} field(s) not in docs/openapi.json, e.g. {added[:5]}: {PUBLISH}"
    assert stored["info"]["version"] == current["info"]["version"], f"version bumped: {PUBLISH}"


def test_a_field_renamed_without_a_major_version_is_refused(tmp_path: Path) -> None:
    stored = tmp_path / "openapi.json"
    publish(published_document(), stored)
    renamed = published_document()
    score = renamed["components"]["schemas"]["ScoreOut"]["properties"]
    score["estimate"] = score.pop("probability")
    assert "POST /v1/scores 200.probability (number)" in breaking_changes(
        json.loads(stored.read_text()), renamed
    )
    with pytest.raises(PreviError, match="Bump the major version"):
        publish(renamed, stored)
    assert "POST /v1/scores 200.estimate" not in contract_fields(json.loads(stored.read_text()))
    renamed["info"]["version"] = "2.0.0"
    assert set(publish(renamed, stored)) == {
        "POST /v1/scores 200.estimate",
        "POST /v1/scores:batch 200.scores[].estimate",
        "GET /v1/youth/{youth_id}/score 200.estimate",
    }


def _assert_documented(
    document: dict[str, Any], method: str, path: str, response: httpx.Response, *, status: int | None = None
) -> None:
    """The response's status is listed for the operation, and its body and headers are as documented."""
    if status is not None:
        assert response.status_code == status, response.text
    documented = document["paths"][path][method]["responses"].get(str(response.status_code))
    assert documented is not None, f"{method.upper()} {path} does not document {response.status_code}"
    schema = documented["content"]["application/json"]["schema"]
    assert _valid(document, schema, response.json()), response.text
    for header in documented.get("headers", {}):
        assert header in response.headers, header


def _valid(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> bool:
    """``instance`` against ``schema``, references resolved in ``document``'s components."""
    root = {**schema, "components": document["components"]}
    return bool(jsonschema_rs.Draft202012Validator(root, validate_formats=True).is_valid(instance))


def _schemas_with_examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list) and ("type" in node or "properties" in node):
                yield where, node
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{where}/{index}")

    yield from walk(document["components"]["schemas"], "#/components/schemas")
    for path, operations in document["paths"].items():
        for method in METHODS:
            for parameter in operations.get(method, {}).get("parameters", []):
                yield from walk(parameter["schema"], f"{method} {path} {parameter['name']}")


def _example_requests(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, dict[str, Any]], Any]]:
    """(method, path, parameters by location, body) for every body example and the parameters' examples."""
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            params: dict[str, dict[str, Any]] = {}
            for parameter in operation.get("parameters", []):
                examples = parameter.get("examples") or parameter["schema"].get("examples")
                if examples and (parameter.get("required") or parameter["in"] == "path"):
                    params.setdefault(parameter["in"], {})[parameter["name"]] = examples[0]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                if params:
                    yield method, path, params, None
                continue
            schema = body["schema"]
            branches = schema.get("oneOf", [schema])
            for branch in branches:
                component = schemas[branch["$ref"].rsplit("/", 1)[-1]]
                for example in component.get("examples", []):
                    yield method, path, params, example
