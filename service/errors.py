"""Exception handlers: clear error bodies that never echo the input nor show a stack trace.

FastAPI's own 422 body repeats each invalid input; here only the location, the
message and the error type go back. A validation failure on a /v1 route is a
refused access and is logged like the others; FastAPI parses the body before
the route's guard runs, so the token is checked here first: without a valid
one the answer is 401, never a description of the body. Over a rate limit the
answer is 429 with ``Retry-After``. A failure of the service's database outside
the audit log's own calls (caseloads, sessions) is a 503 like the log's. A PreviError is the client's to
fix (422); an unexpected exception is logged on the server and answered with a
plain 500 that says nothing about the code.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from features.registry import Language
from previ.errors import PreviError
from service.audit_log import AuditUnavailable
from service.deps import authenticate, endpoint_of, log_refusal
from service.rate_limits import RateLimited
from service.state import ServiceState
from service.texts import (
    AUDIT_UNAVAILABLE,
    INTERNAL,
    RATE_LIMITED,
    parse_accept_language,
    text,
    validation_message,
)

__all__ = ["install_error_handlers"]

log = logging.getLogger("previ.service")
MAX_LOCATION_PART = 64
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(AuditUnavailable, _audit_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(SQLAlchemyError, _store_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(RateLimited, rate_limited)  # type: ignore[arg-type]
    app.add_exception_handler(PreviError, _previ_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    language = _language(request)
    detail = [
        {
            "loc": [
                part if isinstance(part, int) else str(part)[:MAX_LOCATION_PART]
                for part in item.get("loc", ())
            ],
            "msg": validation_message(
                str(item.get("type", "")), item.get("ctx"), str(item.get("msg", "invalid")), language
            ),
            "type": str(item.get("type", "value_error")),
        }
        for item in error.errors()
    ]
    if request.url.path.startswith("/v1/"):
        state: ServiceState = request.app.state.previ
        if getattr(request.state, "caller", None) is None:
            refusal = await _authenticate_first(request, state)
            if refusal is not None:
                return refusal
        purpose, youth_id = _who_and_why(request, error.body)
        try:
            await log_refusal(
                state,
                request,
                endpoint_of(request),
                422,
                "invalid_request",
                purpose=purpose,
                youth_id=youth_id,
            )
        except AuditUnavailable as unavailable:
            return await _audit_unavailable(request, unavailable)
    return JSONResponse(status_code=422, content={"detail": detail})


async def _authenticate_first(request: Request, state: ServiceState) -> JSONResponse | None:
    """The refusal of a request whose token does not hold (None when it holds)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    try:
        await authenticate(request, state, _language(request), bearer)
    except HTTPException as refusal:
        return JSONResponse(
            status_code=refusal.status_code, content={"detail": refusal.detail}, headers=refusal.headers
        )
    except RateLimited as limited:
        return await rate_limited(request, limited)
    except AuditUnavailable as unavailable:
        return await _audit_unavailable(request, unavailable)
    return None


async def rate_limited(request: Request, error: RateLimited) -> JSONResponse:
    message = text(RATE_LIMITED, _language(request), seconds=error.retry_after)
    return JSONResponse(
        status_code=429, content={"detail": message}, headers={"Retry-After": str(error.retry_after)}
    )


def _who_and_why(request: Request, body: Any) -> tuple[str | None, str | None]:
    """The purpose and youth id of an invalid request, when they themselves are well formed.

    They make the refusal findable by young person in the log; anything
    malformed is left out rather than stored.
    """
    fields = body if isinstance(body, dict) else {}
    purpose = fields.get("purpose", request.query_params.get("purpose"))
    youth_id = fields.get("youth_id", request.path_params.get("youth_id"))
    return (
        purpose if isinstance(purpose, str) and _PLAIN.fullmatch(purpose) else None,
        youth_id if isinstance(youth_id, str) and _PLAIN.fullmatch(youth_id) else None,
    )


async def _audit_unavailable(request: Request, error: AuditUnavailable) -> JSONResponse:
    log.error("audit log unavailable (%s): refusing %s %s", error, request.method, endpoint_of(request))
    return JSONResponse(status_code=503, content={"detail": text(AUDIT_UNAVAILABLE, _language(request))})


async def _store_unavailable(request: Request, error: SQLAlchemyError) -> JSONResponse:
    """A store of the service (caseloads, sessions: the audit log's database) failed: 503, no result."""
    return await _audit_unavailable(request, AuditUnavailable(type(error).__name__))


async def _previ_error(request: Request, error: PreviError) -> JSONResponse:
    """A PreviError is the request's to fix: a 422 in the shape of the others (no field to name)."""
    detail = [{"loc": [], "msg": line, "type": "value_error"} for line in error.lines]
    return JSONResponse(status_code=422, content={"detail": detail})


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, endpoint_of(request), exc_info=error)
    return JSONResponse(status_code=500, content={"detail": text(INTERNAL, _language(request))})


def _language(request: Request) -> Language:
    state: ServiceState | None = getattr(request.app.state, "previ", None)
    default: Language = state.config.language if state is not None else "es"
    return parse_accept_language(request.headers.get("accept-language"), default)
