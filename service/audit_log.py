"""The audit log: every access to a score, allowed or refused, and every feedback, in SQL.

An entry records when, which token (its id, never the token), which role,
which purpose, which young person (a keyed-hash pseudonym, never the id),
which model version, which endpoint (the route template, so ids in paths stay
out) and what came of it. The service writes the entry before the response
leaves; when the write fails, :class:`AuditUnavailable` turns the response into
a 503 and the score is not returned. The schema is created on first use and
retried after a failure, so a database that comes back is used again.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from service.database import create_schema, make_engine
from service.pseudonym import Pseudonym

__all__ = ["Access", "AuditLog", "AuditUnavailable", "FeedbackEntry"]

Outcome = Literal["allowed", "refused"]

metadata = MetaData()
audit_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("token_id", String(16)),
    Column("role", String(32), index=True),
    Column("purpose", String(64), index=True),
    Column("youth_pseudonym", String(64), index=True),
    Column("model_version", String(64)),
    Column("endpoint", String(128), nullable=False),
    Column("method", String(8), nullable=False),
    Column("outcome", String(8), nullable=False, index=True),
    Column("status", Integer, nullable=False),
    Column("detail", String(200)),
)
feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("token_id", String(16), nullable=False),
    Column("youth_pseudonym", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("program", String(64)),
    Column("tier", String(16)),
    Column("reason", Text),
    Column("model_version", String(64)),
)


class AuditUnavailable(Exception):
    """The log could not be written: nothing that needed it may be returned."""


@dataclass(frozen=True)
class Access:
    """One request as the log sees it; ``youth`` gets one entry per young person (none: one entry)."""

    endpoint: str
    method: str
    outcome: Outcome
    status: int
    token_id: str | None = None
    role: str | None = None
    purpose: str | None = None
    model_version: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class FeedbackEntry:
    kind: str
    program: str | None
    tier: str | None
    reason: str | None
    model_version: str | None


class AuditLog:
    def __init__(self, url: str, *, fsync: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, fsync=fsync)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def record(self, access: Access, youth: Sequence[Pseudonym | None] = (None,)) -> None:
        """Write one entry per young person in one transaction, or raise AuditUnavailable."""
        rows = [_row(access, pseudonym) for pseudonym in (youth or (None,))]
        try:
            self._ensure_schema()
            with self.engine.begin() as connection:
                connection.execute(insert(audit_table), rows)
        except (SQLAlchemyError, OSError) as error:
            raise AuditUnavailable(type(error).__name__) from error

    def record_feedback(
        self, access: Access, youth: Pseudonym, feedback: FeedbackEntry
    ) -> tuple[int, dt.datetime]:
        """Store the feedback and its access entry together, or neither."""
        now = _now()
        try:
            self._ensure_schema()
            with self.engine.begin() as connection:
                connection.execute(insert(audit_table), [_row(access, youth, now)])
                result = connection.execute(
                    insert(feedback_table).values(
                        at=now,
                        token_id=access.token_id,
                        youth_pseudonym=youth,
                        kind=feedback.kind,
                        program=feedback.program,
                        tier=feedback.tier,
                        reason=feedback.reason,
                        model_version=feedback.model_version,
                    )
                )
                key = result.inserted_primary_key
        except (SQLAlchemyError, OSError) as error:
            raise AuditUnavailable(type(error).__name__) from error
        return int(key[0]) if key else 0, now.replace(tzinfo=dt.UTC)

    def entries(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        role: str | None = None,
        purpose: str | None = None,
        outcome: Outcome | None = None,
        youth: Pseudonym | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries matching every given filter, newest first (times in UTC)."""
        query = select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        filters = {
            audit_table.c.role: role,
            audit_table.c.purpose: purpose,
            audit_table.c.outcome: outcome,
            audit_table.c.youth_pseudonym: youth,
        }
        for column, value in filters.items():
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(audit_table.c.at >= _naive_utc(since))
        if until is not None:
            query = query.where(audit_table.c.at < _naive_utc(until))
        if before_id is not None:
            query = query.where(audit_table.c.id < before_id)
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                rows = connection.execute(query).mappings().all()
        except (SQLAlchemyError, OSError) as error:
            raise AuditUnavailable(type(error).__name__) from error
        return [{**row, "at": row["at"].replace(tzinfo=dt.UTC)} for row in rows]

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            create_schema(self.engine, self.url, metadata)
            self._schema_ready = True


def _row(access: Access, pseudonym: Pseudonym | None, at: dt.datetime | None = None) -> dict[str, Any]:
    return {
        "at": at or _now(),
        "token_id": access.token_id,
        "role": access.role,
        "purpose": access.purpose[:64] if access.purpose else access.purpose,
        "youth_pseudonym": pseudonym,
        "model_version": access.model_version,
        "endpoint": access.endpoint[:128],
        "method": access.method[:8],
        "outcome": access.outcome,
        "status": access.status,
        "detail": access.detail[:200] if access.detail else access.detail,
    }


def _now() -> dt.datetime:
    """UTC without tzinfo: what every SQL backend stores the same way."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
