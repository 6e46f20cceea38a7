"""What the published contract promises, and which changes break it.

A client generated from ``docs/openapi.json`` relies on its fields: the
operations, their parameters, and every property of the bodies it sends and
reads, each with its type (and the values of an enumeration). A field removed,
renamed or retyped breaks such a client, so it needs a new major API version
(:data:`service.openapi.API_VERSION`); a field added breaks nothing. Texts
(summaries, descriptions, examples) are not fields.

``previ openapi --out docs/openapi.json`` publishes the contract through
:func:`publish`, which refuses a breaking change under the same major version;
the contract tests compare the stored copy with the code the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from previ.atomic import atomic_file
from previ.errors import PreviError

__all__ = ["breaking_changes", "contract_fields", "major_version", "publish"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
BREAKING = (
    "the API contract changed {count} field(s) that {stored} published under version {version}, which "
    "breaks its clients: {fields}. Bump the major version (service/openapi.py: API_VERSION) and publish "
    "again: previ openapi --out {stored}"
)


def contract_fields(document: dict[str, Any]) -> dict[str, str]:
    """Every field of ``document`` a client relies on, with its type ("GET /v1/model 200 .version": "string").

    Names read ``METHOD path``, then ``query``/``path``/``header`` and the
    parameter, or ``request``/the status and the JSON path of a body property
    (``[]`` for list items, ``{}`` for the values of a map); ``= value`` names
    one value of an enumeration.
    """
    fields: dict[str, set[str]] = {}
    components = document.get("components", {}).get("schemas", {})
    for path, operations in document.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            name = f"{method.upper()} {path}"
            fields.setdefault(name, set()).add("operation")
            for parameter in operation.get("parameters", []):
                where = f"{name} {parameter['in']} {parameter['name']}"
                _walk(parameter.get("schema", {}), where, components, fields, ())
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                _walk(body.get("schema", {}), f"{name} request", components, fields, ())
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if content is not None:
                    _walk(content.get("schema", {}), f"{name} {status}", components, fields, ())
    return {name: "|".join(sorted(kinds)) for name, kinds in sorted(fields.items())}


def breaking_changes(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The fields of ``published`` that ``current`` removed, renamed or gave another type."""
    before, now = contract_fields(published), contract_fields(current)
    return [
        f"{name} ({kind})" if name not in now else f"{name} ({kind} -> {now[name]})"
        for name, kind in before.items()
        if now.get(name) != kind
    ]


def major_version(document: dict[str, Any]) -> int:
    """The major part of ``info.version`` ("1.2.0" -> 1)."""
    version = str(document.get("info", {}).get("version", ""))
    head = version.split(".", 1)[0]
    if not head.isdigit():
        raise PreviError(f"the API version '{version}' is not MAJOR.MINOR.PATCH")
    return int(head)


def publish(document: dict[str, Any], path: Path) -> list[str]:
    """Write ``document`` to ``path`` unless it breaks the copy there under the same major version.

    Returns the fields it adds to the stored copy. PreviError (nothing written)
    for a breaking change without a new major version, or an older version.
    """
    added: list[str] = []
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if major_version(document) < major_version(stored):
            raise PreviError(
                f"{path} holds version {stored['info']['version']}, newer than {document['info']['version']}"
            )
        broken = breaking_changes(stored, document)
        if broken and major_version(document) == major_version(stored):
            raise PreviError(
                BREAKING.format(
                    count=len(broken),
                    stored=path,
                    version=stored["info"]["version"],
                    fields="; ".join(broken[:10]) + ("; ..." if len(broken) > 10 else ""),
                )
            )
        before = contract_fields(stored)
        added = [name for name in contract_fields(document) if name not in before]
    with atomic_file(path) as temporary:
        temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return added


def _walk(
    schema: Any,
    where: str,
    components: dict[str, Any],
    fields: dict[str, set[str]],
    followed: tuple[str, ...],
) -> None:
    """Record ``schema``'s type at ``where`` and walk into its properties, items and branches."""
    if not isinstance(schema, dict):
        return
    reference = schema.get("$ref")
    if isinstance(reference, str):
        name = reference.rsplit("/", 1)[-1]
        if name in followed:  # a recursive schema: its fields are already named above
            return
        _walk(components.get(name, {}), where, components, fields, (*followed, name))
        return
    kinds = fields.setdefault(where, set())
    kind = schema.get("type")
    kinds.update(kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else [])
    for value in [*schema.get("enum", []), *([schema["const"]] if "const" in schema else [])]:
        fields.setdefault(f"{where} = {json.dumps(value, ensure_ascii=False)}", set()).add("value")
    for branch_key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(branch_key, []):
            _walk(branch, where, components, fields, followed)
    for name, sub in schema.get("properties", {}).items():
        _walk(sub, f"{where}.{name}", components, fields, followed)
    if isinstance(schema.get("items"), dict):
        _walk(schema["items"], f"{where}[]", components, fields, followed)
    for index, sub in enumerate(schema.get("prefixItems", [])):
        _walk(sub, f"{where}[{index}]", components, fields, followed)
    if isinstance(schema.get("additionalProperties"), dict):
        _walk(schema["additionalProperties"], f"{where}{{}}", components, fields, followed)
