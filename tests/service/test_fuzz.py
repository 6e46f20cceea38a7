"""Bodies outside JSON itself get a 4xx the client can act on, never a 500.

Schemathesis (tests/service/test_contract.py) sends every request the OpenAPI
document allows or forbids, but only ever as valid JSON. What a broken or
hostile client can send besides is fuzzed here with hypothesis, against the
real server: NaN and Infinity tokens (Python's json writes them, JSON has
none), integers past any float, a repeated key, and bytes that are not UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.tokens import Role
from tests.service.factories import Registry, RunningService

# Run once, on SQLite: the bodies test what the contract cannot say, not the stores
# (tests/service/test_api.py runs on PostgreSQL too).
pytestmark = pytest.mark.parametrize("service", ["sqlite"], indirect=True)

ACCEPTED = {400, 403, 413, 422}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOT_JSON_NUMBERS = st.sampled_from([float("nan"), float("inf"), float("-inf")]) | st.integers(
    min_value=10**309, max_value=10**400
)
ROUTES: tuple[tuple[Role, str], ...] = (
    ("caseworker", "/v1/scores"),
    ("data_scientist", "/v1/scores:batch"),
    ("caseworker", "/v1/feedback"),
)


def _post(client: httpx.Client, path: str, content: bytes) -> httpx.Response:
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


def _acceptable(response: httpx.Response) -> None:
    assert response.status_code in ACCEPTED, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text


def test_numbers_json_cannot_hold_are_refused_by_name(service: RunningService, registry: Registry) -> None:
    names = registry.model("trained").feature_names

    @FUZZ
    @given(
        name=st.sampled_from(names),
        value=NOT_JSON_NUMBERS,
        where=st.sampled_from(["features", "age", "items"]),
    )
    def check(name: str, value: Any, where: str) -> None:
        person: dict[str, Any] = {
            "youth_id": "Y900001",
            "purpose": "referral_planning",
            "features": {name: value} if where == "features" else {},
            "municipality": "Villa Zaragoza",
            "age": value if where == "age" else 15,
        }
        body = {"purpose": "referral_planning", "items": [person]} if where == "items" else person
        path = "/v1/scores:batch" if where == "items" else "/v1/scores"
        client = data_scientist if where == "items" else caseworker
        _acceptable(_post(client, path, json.dumps(body, allow_nan=True).encode()))

    with service.client("caseworker") as caseworker, service.client("data_scientist") as data_scientist:
        check()


def test_bytes_that_are_not_json_are_refused(service: RunningService) -> None:
    @FUZZ
    @given(
        route=st.sampled_from(ROUTES),
        content=st.binary(max_size=200)
        | st.text(max_size=60).map(lambda text: ('{"youth_id": "Y1", "youth_id": ' + text).encode()),
    )
    def check(route: tuple[Role, str], content: bytes) -> None:
        role, path = route
        with service.client(role) as client:
            _acceptable(_post(client, path, content))

    check()
