"""The audit log (auditor): who asked for what, when, why, and what came of it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from service.audit_log import Outcome
from service.deps import AuditorGuard
from service.routes.scores import REFUSALS
from service.schemas import AuditEntryOut, AuditLogOut
from service.tokens import Role

router = APIRouter(tags=["audit"])


@router.get(
    "/v1/audit-log",
    response_model=AuditLogOut,
    summary="Read the audit log, newest first (auditor)",
    responses=REFUSALS,
)
def audit_log(
    guard: AuditorGuard,
    since: Annotated[
        dt.datetime | None, Query(description="From this time (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="Before this time.")] = None,
    role: Role | None = None,
    purpose: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Outcome | None = None,
    youth_id: Annotated[
        str | None, Query(max_length=64, description="A youth id; the log is searched by its pseudonym.")
    ] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
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
