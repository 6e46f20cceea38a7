"""The auditor's page: the audit log, filtered by date, role, purpose and outcome, and its CSV export.

Above the log, two lists over the last seven days: the look-ups outside a
caseload with their stated justifications, and the tokens that read more than
``service.alert_youth_per_hour`` distinct young people within one hour (what
walking through ids to rebuild a ranked list looks like).

Both read :meth:`service.audit_log.AuditLog.entries` (as ``GET /v1/audit-log``)
and are themselves logged. The CSV neutralises cells a spreadsheet would run
as formulas: a refused purpose is stored as the client sent it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from previ.i18n import N_, Language, translation
from service.audit_log import ENTRY_COLUMNS, Outcome
from service.pages.frame import Page, PageRoute, page_for
from service.pages.labels import label_of
from service.tokens import ROLES, Role

router = APIRouter(route_class=PageRoute, include_in_schema=False)

AuditorPage = Annotated[Page, Depends(page_for("auditor"))]
PAGE_SIZE = 100
# Detail codes that carry a tail, and the words for them ({tail}: what follows the code, itself in words).
ROLE_NOT_ALLOWED = N_("Role without access (allowed: {tail})")
UPTAKE_BY = N_("Uptake by {tail}")
RELOAD_FROM = N_("Model reload (was version {tail})")
DETAIL_PREFIXES = (
    ("role_not_allowed", ROLE_NOT_ALLOWED),
    ("uptake by", UPTAKE_BY),
    ("reload from", RELOAD_FROM),
)

ALERT_DAYS = 7
CSV_LIMIT = 10_000
CSV_COLUMNS = ENTRY_COLUMNS
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LogFilters:
    """The filters as typed (for the form) and as the log reads them; ``error`` names a bad date."""

    values: dict[str, str]
    since: dt.datetime | None
    until: dt.datetime | None
    role: Role | None
    purpose: str | None
    outcome: Outcome | None
    error: str | None

    def query(self, **extra: Any) -> str:
        return urlencode({**{key: value for key, value in self.values.items() if value}, **extra})


@router.get("/auditor/log")
def audit_log(page: AuditorPage) -> Response:
    filters = _filters(page)
    guard = page.guard
    if filters.error:
        guard.log("refused", 422, purpose="audit", detail="invalid_request")
        return _render(page, filters, [], status=400)
    guard.log("allowed", 200, purpose="audit")
    before = page.request.query_params.get("before_id", "")
    entries = _entries(page, filters, before_id=int(before) if before.isdigit() else None, limit=PAGE_SIZE)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=ALERT_DAYS)
    audit = page.state.audit
    threshold = page.state.settings.alert_youth_per_hour
    return _render(
        page,
        filters,
        entries,
        outside=audit.outside_caseload(since, limit=PAGE_SIZE),
        heavy=audit.heavy_readers(since, threshold=threshold),
        threshold=threshold,
    )


@router.get("/auditor/log.csv")
def audit_log_csv(page: AuditorPage) -> Response:
    filters = _filters(page)
    guard = page.guard
    if filters.error:
        guard.log("refused", 422, purpose="audit", detail="invalid_request")
        return _render(page, filters, [], status=400)
    guard.log("allowed", 200, purpose="audit", detail="csv export")
    entries: list[dict[str, Any]] = []
    before_id: int | None = None
    while len(entries) < CSV_LIMIT:
        batch = _entries(page, filters, before_id=before_id, limit=1000)
        entries.extend(batch)
        if len(batch) < 1000:
            break
        before_id = batch[-1]["id"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in entries[:CSV_LIMIT]:
        writer.writerow([_cell(entry.get(column)) for column in CSV_COLUMNS])
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="previ-audit-log-{stamp}.csv"'},
    )


def _render(
    page: Page, filters: LogFilters, entries: list[dict[str, Any]], *, status: int = 200, **alerts: Any
) -> Response:
    older = filters.query(before_id=entries[-1]["id"]) if len(entries) == PAGE_SIZE else None
    alerts = {"outside": [], "heavy": [], "threshold": 0, "alert_days": ALERT_DAYS, **alerts}
    return page.render(
        "audit_log.html",
        status=status,
        filters=filters,
        roles=ROLES,
        entries=entries,
        older=f"/auditor/log?{older}" if older else None,
        csv_url=f"/auditor/log.csv?{filters.query()}",
        detail_words=lambda detail: detail_words(str(detail), page.language),
        **alerts,
    )


def detail_words(detail: str, language: Language) -> str:
    """An audit entry's detail code in words ("no_valid_token" -> "Sin token válido").

    Codes are stored as written by the service (stable, searchable); only the
    page words them. Some carry a tail ("role_not_allowed (auditor)", "uptake by
    tier", "reload from 3"), kept after the words; an unknown code reads with spaces.
    """
    for prefix, words in DETAIL_PREFIXES:
        if detail.startswith(prefix):
            tail = detail[len(prefix) :].strip(" ()'")
            return translation(language).gettext(words, tail=_tail(words, tail, language))
    if detail.startswith("unknown role"):  # a token file's role this previ does not know: its name stays
        return label_of("detail", "unknown_role", language)
    worded = label_of("detail", detail, language)
    return worded if worded != detail else detail.replace("_", " ")


def _tail(words: str, tail: str, language: Language) -> str:
    if words == ROLE_NOT_ALLOWED:
        return ", ".join(label_of("role", role.strip(), language) for role in tail.split(","))
    if words == UPTAKE_BY:
        return label_of("group", tail, language).lower()
    return tail


def _entries(page: Page, filters: LogFilters, *, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    return page.state.audit.entries(
        since=filters.since,
        until=filters.until,
        role=filters.role,
        purpose=filters.purpose,
        outcome=filters.outcome,
        before_id=before_id,
        limit=limit,
    )


def _filters(page: Page) -> LogFilters:
    query = page.request.query_params
    values = {key: query.get(key, "").strip() for key in ("since", "until", "role", "purpose", "outcome")}
    since = until = None
    error = None
    try:
        if values["since"]:
            since = dt.datetime.combine(dt.date.fromisoformat(values["since"]), dt.time(), tzinfo=dt.UTC)
        if values["until"]:
            day = dt.date.fromisoformat(values["until"]) + dt.timedelta(days=1)
            until = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    except ValueError:
        error = page.gettext("Invalid date: use YYYY-MM-DD.")
    role = next((known for known in ROLES if known == values["role"]), None)
    outcome: Outcome | None = (
        "allowed" if values["outcome"] == "allowed" else "refused" if values["outcome"] == "refused" else None
    )
    return LogFilters(
        values=values,
        since=since,
        until=until,
        role=role,
        purpose=values["purpose"][:64] or None,
        outcome=outcome,
        error=error,
    )


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ is escaped with an apostrophe."""
    if value is None:
        return ""
    written = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return f"'{written}" if written.startswith(FORMULA_STARTS) else written
