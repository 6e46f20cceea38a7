"""The audit log (auditor): who asked for what, when, why, and what came of it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from service.audit_log import Outcome
from service.deps import AuditorGuard
from service.responses import refusals
from service.schemas import AuditEntryOut, AuditLogOut
from service.texts import DATETIME_WITH_ZONE
from service.tokens import Role

router = APIRouter(tags=["audit"])

# RFC 3339 (JSON Schema's date-time): a date, a time and a zone; pydantic alone also takes Unix times.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
LARGEST_ID = 2**63 - 1  # ids are 64-bit integers in SQLite and PostgreSQL


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not RFC3339.fullmatch(value):
        # worded in the request's language by service.texts.VALIDATION (a ValueError would stay English)
        raise PydanticCustomError(
            DATETIME_WITH_ZONE, "must be a date-time with its zone, such as 2025-08-01T00:00:00Z"
        )
    return value


DateTime = Annotated[dt.datetime, BeforeValidator(_rfc3339)]


@router.get(
    "/v1/audit-log",
    response_model=AuditLogOut,
    summary="Read the audit log, newest first (auditor)",
    operation_id="audit_log",
    responses=refusals(),
)
def audit_log(
    guard: AuditorGuard,
    since: Annotated[
        DateTime | None, Query(description="From this time (RFC 3339, with its zone: 2025-08-01T00:00:00Z).")
    ] = None,
    until: Annotated[
        DateTime | None, Query(description="Before this time (RFC 3339, with its zone).")
    ] = None,
    role: Role | None = None,
    purpose: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Outcome | None = None,
    youth_id: Annotated[
        str | None, Query(max_length=64, description="A youth id; the log is searched by its pseudonym.")
    ] = None,
    before_id: Annotated[int | None, Query(ge=1, le=LARGEST_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditLogOut:
    pseudonym = guard.state.pseudonymize(youth_id) if youth_id else None
    guard.log("allowed", 200, purpose="audit", youth_ids=[youth_id] if youth_id else [])
    rows = guard.state.audit.entries(
        since=since,
        until=until,
        role=role,
        purpose=purpose,
        outcome=outcome,
        youth=pseudonym,
        before_id=before_id,
        limit=limit,
    )
    entries = [AuditEntryOut(**row) for row in rows]
    return AuditLogOut(entries=entries, next_before_id=entries[-1].id if len(entries) == limit else None)
