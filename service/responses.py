"""The statuses each operation documents, each with the body and headers the service really sends.

A client generated from the OpenAPI document must know every answer it can
get, so every status a route can give is declared here once and routes pick
theirs: the refusals every ``/v1`` route shares (:func:`refusals`), and the
few a route adds (404, 409). Where the status comes from:

- 400: :class:`service.middleware.QueryGuardMiddleware` (a token in the query
  string) and FastAPI (a body that is not UTF-8);
- 401, 429: :func:`service.deps.authenticate`; 403: the role, purpose and
  caseload guards of :mod:`service.deps`;
- 413: :class:`service.middleware.BodyLimitMiddleware`, on the body's size,
  before it is parsed;
- 422: :mod:`service.errors` (the body or the query breaks the schema), the
  guards (a value the served model refuses) and the query guard (a repeated
  parameter);
- 503: the audit log or the token file cannot be used, or no model is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.schemas import ErrorOut, ValidationErrorOut

__all__ = ["PUBLIC", "refusals"]

Responses = dict[int | str, dict[str, Any]]

BAD_REQUEST = (
    "Malformed request: a token in the query string (refused before anything logs the URL; send it in the "
    "Authorization header), or a body that is not UTF-8 text."
)
TOO_LARGE = (
    "The body is over the deployment's `service.max_body_bytes` (1 MiB by default). It is refused on its "
    "size, before it is read: a batch within maxItems whose items are long can still be too large."
)
INVALID = (
    "Invalid request: the body or the query breaks the schema, or a feature value is one the served model "
    "cannot take, or a query parameter is given twice. Each problem names its field (loc), says what is "
    "wrong (msg, in the response language) and its kind (type); the value itself is never repeated."
)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The scheme to use: Bearer.",
        "required": True,
        "schema": {"type": "string"},
    }
}

PUBLIC: Responses = {
    400: {"model": ErrorOut, "description": BAD_REQUEST},
    413: {"model": ErrorOut, "description": TOO_LARGE},
    422: {"model": ValidationErrorOut, "description": INVALID},
}
"""What a route without a token can answer besides its own result (/healthz, /readyz)."""

REFUSALS: Responses = {
    **PUBLIC,
    401: {"model": ErrorOut, "description": "No valid token.", "headers": WWW_AUTHENTICATE},
    403: {
        "model": ErrorOut,
        "description": "The token's role may not call this operation, the purpose is punitive or not "
        "allowed here, or the young person is not on the caller's caseload (each refusal logged).",
    },
    429: {
        "model": ErrorOut,
        "description": "Over the rate limit of the client address or of the token, or the token is locked "
        "after repeated wrong secrets.",
        "headers": RETRY_AFTER,
    },
    503: {
        "model": ErrorOut,
        "description": "No model is loaded (yet), or the audit log or the token file cannot be used: "
        "nothing is answered that could not be logged.",
    },
}


def refusals(
    extra: Mapping[int, str] | None = None, *, links: Mapping[str, Any] | None = None, success: int = 200
) -> Responses:
    """Every refusal a /v1 route shares, plus ``extra`` statuses (with their description) of its own.

    ``links`` are the OpenAPI links of the ``success`` response: which operation
    a client (or schemathesis' stateful phase) can call next with what it got.
    """
    documented: Responses = dict(REFUSALS)
    for status, description in (extra or {}).items():
        documented[status] = {"model": ErrorOut, "description": description}
    if links:
        documented[success] = {"links": dict(links)}
    return documented
