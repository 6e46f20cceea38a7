"""Schemathesis hooks for the one rule of the contract JSON Schema cannot give a generator.

A feature is sent in ``features`` or listed in ``unknown``, never both (the
service answers 422). The OpenAPI document says so in words and with the
``x-previ-disjoint`` extension of the request schemas (see service/openapi.py
for why not as JSON Schema). Here every generated request drops from
``unknown`` the names it also sends, so that the requests schemathesis makes
follow the whole contract. Schemathesis revalidates a changed case against the
schema, so a case meant to break the schema stays a negative one.

Loaded by ``st run`` through schemathesis.toml at the repository root, and by
tests/service/test_contract.py.
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """The case with no feature both sent and listed unknown (in the request, and in each batch item)."""
    if isinstance(case.body, dict) and ("features" in case.body or "items" in case.body):
        case.body = without_overlap(copy.deepcopy(case.body))
    return case


def without_overlap(body: dict[str, Any]) -> dict[str, Any]:
    items = body.get("items")
    for person in [body, *(items if isinstance(items, list) else [])]:
        if not isinstance(person, dict):
            continue
        features, unknown = person.get("features"), person.get("unknown")
        if isinstance(features, dict) and isinstance(unknown, list):
            person["unknown"] = [name for name in unknown if not (isinstance(name, str) and name in features)]
    return body
