"""Whatever a client sends, the service answers with a 4xx it can act on, never a 500.

A schemathesis-like fuzz of the JSON bodies and query strings with hypothesis,
against the real server: bodies close to valid (real feature names, hostile
values), arbitrary JSON, NaN and Infinity tokens, huge integers and raw bytes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.factories import Registry, RunningService

# Run once, on SQLite: fuzzed bodies test validation, not the stores
# (tests/service/test_api.py runs on PostgreSQL too).
pytestmark = pytest.mark.parametrize("service", ["sqlite"], indirect=True)

ACCEPTED = {200, 201, 400, 401, 403, 404, 413, 422}
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=10,
)
purposes = st.sampled_from(["referral_planning", "case_review", "sanction", "policing", "x"]) | json_values


def _people(feature_names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**400), 10**400)
    features = st.dictionaries(st.sampled_from([*feature_names, "unknown_feature"]), numbers | json_values)
    fields = {
        "youth_id": st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True) | json_values,
        "features": features | json_values,
        "municipality": st.text(max_size=120) | json_values,
        "age": st.integers(-5, 40) | json_values,
        "programs": st.lists(
            st.fixed_dictionaries({"program": st.text(max_size=70), "status": st.text(max_size=10)}),
            max_size=3,
        )
        | json_values,
    }
    return st.fixed_dictionaries({}, optional={**fields, "purpose": purposes, "extra": json_values})


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True, default=str)
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


def _acceptable(response: httpx.Response) -> None:
    assert response.status_code in ACCEPTED, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text


def test_fuzzed_score_bodies_never_cause_a_server_error(service: RunningService, registry: Registry) -> None:
    names = registry.model("trained").feature_names

    @FUZZ
    @given(body=_people(names) | json_values | st.binary(max_size=200))
    def check(body: Any) -> None:
        _acceptable(_post(caseworker, "/v1/scores", body))

    with service.client("caseworker") as caseworker:
        check()


def test_fuzzed_batches_and_feedback_never_cause_a_server_error(
    service: RunningService, registry: Registry
) -> None:
    names = registry.model("trained").feature_names
    batches = st.fixed_dictionaries(
        {}, optional={"purpose": purposes, "items": st.lists(_people(names), max_size=3)}
    )
    feedback = st.fixed_dictionaries(
        {},
        optional={
            "youth_id": st.text(max_size=70) | json_values,
            "kind": st.sampled_from(["referral_made", "referral_declined", "tier_overridden", "x"])
            | json_values,
            "program": st.sampled_from(["mentoria", "boxeo"]) | json_values,
            "tier": st.sampled_from(["universal", "selective", "indicated", "high"]) | json_values,
            "reason": st.text(max_size=1200) | json_values,
        },
    )

    @FUZZ
    @given(batch=batches | json_values, note=feedback)
    def check(batch: Any, note: dict[str, Any]) -> None:
        _acceptable(_post(data_scientist, "/v1/scores:batch", batch))
        _acceptable(_post(caseworker, "/v1/feedback", note))

    with service.client("data_scientist") as data_scientist, service.client("caseworker") as caseworker:
        check()


def test_fuzzed_paths_and_query_strings_never_cause_a_server_error(service: RunningService) -> None:
    texts = st.text(max_size=80)

    @FUZZ
    @given(
        youth_id=texts.filter(bool),
        purpose=texts,
        query=st.dictionaries(
            st.sampled_from(
                ["since", "until", "role", "purpose", "outcome", "youth_id", "before_id", "limit", "x"]
            ),
            texts | st.integers(-(10**30), 10**30).map(str),
        ),
    )
    def check(youth_id: str, purpose: str, query: dict[str, str]) -> None:
        path = f"/v1/youth/{quote(youth_id, safe='')}/score"
        _acceptable(caseworker.get(path, params={"purpose": purpose}))
        _acceptable(auditor.get("/v1/audit-log", params=query))

    with service.client("caseworker") as caseworker, service.client("auditor") as auditor:
        check()
