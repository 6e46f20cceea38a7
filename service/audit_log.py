"""The audit log: every access to a score, allowed or refused, and every feedback, in SQL.

An entry records when, which token (its id, never the token), which role,
which purpose, which young person (a keyed-hash pseudonym, never the id),
which model version, which endpoint (the route template, so ids in paths stay
out) and what came of it. The service writes the entry before the response
leaves; when the write fails, :class:`AuditUnavailable` turns the response into
a 503 and the score is not returned. The tables come from the ``service``
migrations (:mod:`service.migrations`), applied on first use when missing and
retried after a failure, so a database that comes back is used again. Writes of
concurrent requests share one transaction and one fsync (group commit), and
each request still returns only once its own rows are durable.

The log is tamper-evident: each row carries ``row_hash``, an HMAC-SHA256 (under
the audit key, kept apart from the pseudonym key) of its own content and of
the previous row's hash. Editing, deleting or reordering a row breaks the
chain at that row, which :func:`service.audit_chain.verify_chain` names. Rows
are chained under the store's write lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory transaction lock on PostgreSQL), so several workers keep one chain.

Refusals of requests without a valid token are not written one by one (an
anonymous flood would otherwise buy one synced row per request): they are
counted per minute, endpoint, reason and young person, and written as one row
with ``count`` when the minute is over (see :class:`RefusalCounter`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from previ.errors import PreviError
from service.audit_sql import (
    CHAIN_LOCK,
    ENTRY_COLUMNS,
    Tail,
    append_rows,
    append_rows_async,
    insert_feedback,
    statements_for,
)
from service.database import LoopConnections, create_schema, driver_connection, lock_in_schema, make_engine
from service.group_commit import GroupCommit, LoopGroupCommit
from service.migrations import schema_is_current
from service.pseudonym import Pseudonym

__all__ = [
    "ENTRY_COLUMNS",
    "GENESIS",
    "Access",
    "AuditLog",
    "AuditUnavailable",
    "FeedbackEntry",
    "row_digest",
]

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
    Column("justification", String(500)),
    Column("count", Integer, nullable=False, server_default="1"),
    Column("prev_hash", String(64)),
    Column("row_hash", String(64)),
)
GENESIS = "0" * 64
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
    justification: str | None = None


@dataclass(frozen=True)
class FeedbackEntry:
    kind: str
    program: str | None
    tier: str | None
    reason: str | None
    model_version: str | None


@dataclass(frozen=True)
class _Write:
    """One caller's rows (and what else its transaction must hold), as the group commit batches it."""

    rows: list[dict[str, Any]]
    also: Callable[[Any], int] | None = None  # given the DBAPI connection (service.audit_sql)


class AuditLog:
    """The log in SQL; writes of concurrent requests are group-committed (see :mod:`service.group_commit`).

    ``group_commit=False`` commits every request on its own (one fsync each):
    the baseline ``bench/bench_audit_writes.py`` measures against.
    """

    def __init__(
        self,
        url: str,
        *,
        key: bytes,
        fsync: bool = True,
        group_commit: bool = True,
        max_batch_rows: int = 2_000,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, fsync=fsync)
        self._key = key
        self._statements = statements_for(self.engine.dialect.name, audit_table)
        max_items = max_batch_rows if group_commit else 1
        self._writes: GroupCommit[_Write] = GroupCommit(
            self._commit, max_items=max_items, max_rows=max_batch_rows, size=_rows_in
        )
        # On PostgreSQL, coroutines write through an asyncio connection on their own loop: no writer thread
        # (see LoopGroupCommit). SQLite has no asynchronous driver; there the writer thread serves them.
        self._loop_writes: LoopGroupCommit[_Write] | None = None
        self._tail: Tail | None = None  # where this process last saw the chain end (append_rows_async)
        if self.engine.dialect.name == "postgresql":
            self._loop_connections = LoopConnections(self.engine)
            self._loop_writes = LoopGroupCommit(
                self._commit_on_loop, max_items=max_items, max_rows=max_batch_rows, size=_rows_in
            )

    @property
    def batches(self) -> int:
        """How many transactions wrote rows so far (fewer than the writes when group commit batches)."""
        return self._writes.batches + (self._loop_writes.batches if self._loop_writes else 0)

    def record(self, access: Access, youth: Sequence[Pseudonym | None] = (None,)) -> None:
        """Write one entry per young person, durably, or raise AuditUnavailable.

        It returns once the transaction holding these rows committed; concurrent
        calls share a transaction (group commit).
        """
        rows = [_row(access, pseudonym) for pseudonym in (youth or (None,))]
        self._append(_Write(rows))

    async def record_async(self, access: Access, youth: Sequence[Pseudonym | None] = (None,)) -> None:
        """:meth:`record` for a coroutine on the event loop: the same rows and durability, no thread hop."""
        await durable(self.record_soon(access, youth))

    def record_soon(self, access: Access, youth: Sequence[Pseudonym | None] = (None,)) -> asyncio.Future[Any]:
        """Start :meth:`record_async`'s write now; the future settles once its rows are committed.

        On the event loop. The rows go to the writer at once (the loop's drain
        task, or the writer thread on SQLite), so a coroutine can build its
        answer while they travel and are flushed; it must await the future
        through :func:`durable` before the answer leaves. A future cancelled
        (the request went away) leaves its rows to be committed all the same.
        """
        write = _Write([_row(access, pseudonym) for pseudonym in (youth or (None,))])
        if self._loop_writes is not None:
            return self._loop_writes.enqueue(write)
        return self._writes.enqueue(write)

    async def close_on_loop(self) -> None:
        """Close the running loop's connection of :meth:`record_async` (at shutdown; PostgreSQL only)."""
        if self._loop_writes is not None:
            await self._loop_connections.close()

    def record_counts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write counted refusals (rows of :func:`_row` with ``count``), or raise AuditUnavailable."""
        if rows:
            self._append(_Write([dict(row) for row in rows]))

    def record_feedback(
        self, access: Access, youth: Pseudonym, feedback: FeedbackEntry
    ) -> tuple[int, dt.datetime]:
        """Store the feedback and its access entry together, or neither."""
        now = _now()

        values = {
            "at": now,
            "token_id": access.token_id,
            "youth_pseudonym": youth,
            "kind": feedback.kind,
            "program": feedback.program,
            "tier": feedback.tier,
            "reason": feedback.reason,
            "model_version": feedback.model_version,
        }

        def store(connection: Any) -> int:
            return insert_feedback(connection, self._statements, values)

        feedback_id = self._append(_Write([_row(access, youth, now)], also=store))
        return feedback_id, now.replace(tzinfo=dt.UTC)

    def writable(self) -> bool:
        """Whether the store takes a write now (an insert that is rolled back: what readiness needs)."""
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                connection = connection.execution_options(immediate=True)
                with connection.begin() as transaction:
                    self._lock_chain(connection)
                    probe = {"id": -1, "at": _now(), "endpoint": "readyz", "method": "GET", "status": 0}
                    connection.execute(insert(audit_table).values(outcome="allowed", **probe))
                    transaction.rollback()
        except (SQLAlchemyError, OSError):
            return False
        return True

    def _append(self, write: _Write) -> int:
        with _unavailable_on_error():
            result: int = self._writes.submit(write)
        return result

    def _commit(self, writes: Sequence[_Write]) -> list[int]:
        """Chain every row of ``writes`` to the last one and insert them in one transaction."""
        self._ensure_schema()
        chain = self._chain([row for write in writes for row in write.rows])
        with driver_connection(self.engine) as connection:
            return append_rows(connection, self._statements, chain, [write.also for write in writes])

    async def _commit_on_loop(self, writes: Sequence[_Write]) -> list[int]:
        """:meth:`_commit` on the running loop's asyncio connection (writes without ``also``)."""
        if not schema_is_current(self.engine, "service"):  # the first write, or after a failed migration
            await asyncio.to_thread(self._ensure_schema)
        chain = self._chain([row for write in writes for row in write.rows])
        tail, self._tail = self._tail, None  # a failed write forgets it
        async with self._loop_connections.connection() as connection:
            self._tail = await append_rows_async(connection, self._statements, chain, tail)
        return [0] * len(writes)

    def _chain(self, rows: list[dict[str, Any]]) -> Callable[[int, str | None], list[dict[str, Any]]]:
        """What links ``rows`` to the chain's last row (its id and hash), once the chain is locked."""

        def chain(last_id: int, last_hash: str | None) -> list[dict[str, Any]]:
            previous = last_hash or GENESIS
            for offset, row in enumerate(rows, start=1):
                row.update(id=last_id + offset, prev_hash=previous)
                row["row_hash"] = previous = row_digest(self._key, row)
            return rows

        return chain

    def _lock_chain(self, connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            lock_in_schema(connection, CHAIN_LOCK)

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

    def outside_caseload(self, since: dt.datetime, *, limit: int = 500) -> list[dict[str, Any]]:
        """Look-ups outside a caseload since ``since`` with their justifications, newest first."""
        query = (
            select(audit_table)
            .where((audit_table.c.detail == "out_of_caseload") & (audit_table.c.at >= _naive_utc(since)))
            .order_by(audit_table.c.id.desc())
            .limit(limit)
        )
        return [{**row, "at": row["at"].replace(tzinfo=dt.UTC)} for row in self._read(query)]

    def heavy_readers(self, since: dt.datetime, *, threshold: int) -> list[dict[str, Any]]:
        """Tokens that read more than ``threshold`` distinct young people within one clock hour.

        One row per token and hour: token_id, role, hour (text, UTC) and youth (the
        count), most young people first. Reads are allowed entries naming a young person.
        """
        if self.engine.dialect.name == "postgresql":
            hour: Any = func.to_char(func.date_trunc("hour", audit_table.c.at), "YYYY-MM-DD HH24:00")
        else:
            hour = func.strftime("%Y-%m-%d %H:00", audit_table.c.at)
        youth = func.count(audit_table.c.youth_pseudonym.distinct())
        query = (
            select(audit_table.c.token_id, audit_table.c.role, hour.label("hour"), youth.label("youth"))
            .where(
                (audit_table.c.outcome == "allowed")
                & audit_table.c.youth_pseudonym.is_not(None)
                & audit_table.c.token_id.is_not(None)
                & (audit_table.c.at >= _naive_utc(since))
            )
            .group_by(audit_table.c.token_id, audit_table.c.role, hour)
            .having(youth > threshold)
            .order_by(youth.desc(), hour.desc())
        )
        return [dict(row) for row in self._read(query)]

    def _read(self, query: Any) -> list[Any]:
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                return list(connection.execute(query).mappings().all())
        except (SQLAlchemyError, OSError) as error:
            raise AuditUnavailable(type(error).__name__) from error

    def count_since(self, since: dt.datetime, *, token_id: str, detail: str) -> int:
        """How many entries of this token with this ``detail`` were written since ``since``."""
        query = select(func.count()).where(
            (audit_table.c.token_id == token_id)
            & (audit_table.c.detail == detail)
            & (audit_table.c.at >= _naive_utc(since))
        )
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                return int(connection.execute(query).scalar_one())
        except (SQLAlchemyError, OSError) as error:
            raise AuditUnavailable(type(error).__name__) from error

    def _ensure_schema(self) -> None:
        create_schema(self.engine, "service")


def grant_service_role(engine: Any, role: str, *, snapshots: Any | None = None) -> None:
    """On PostgreSQL, migrate the service's tables and let ``role`` only add to the audit log.

    Run by the database owner (``previ audit-log grant``). The service's role may
    read and insert audit rows and feedback, read caseloads and tokens, keep its
    web sessions, rate counters and the served-model row; it may not update or
    delete a single audit row, nor issue a token. Feedback it may also delete:
    ``service.retention_days`` purges old feedback at start-up.

    ``snapshots`` (the engine of ``service.snapshot_url`` on PostgreSQL, which may
    be ``engine`` itself) gets the snapshot tables' grants: read the scores and
    places, mark an offer declined or held, purge expired snapshots; never write
    a score or an allocation (``previ score`` and ``previ allocate`` run as the owner).
    """
    from service.migrations import upgrade

    if engine.dialect.name != "postgresql":
        raise PreviError("audit-log grant: grants need PostgreSQL (service.audit_url)")
    if not ROLE_NAME.fullmatch(role):
        raise PreviError(f"audit-log grant: --role must match {ROLE_NAME.pattern}")
    with engine.connect() as connection:
        known = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role})
        if known.first() is None:
            raise PreviError(
                f"audit-log grant: --role {role} does not exist in the database; create it first "
                f"(as its owner: CREATE ROLE {role} LOGIN PASSWORD '...')"
            )
    upgrade(engine, "service")
    upgrade(engine, "rates")
    with engine.begin() as connection:
        for statement in SERVICE_GRANTS:
            connection.execute(text(statement.format(role=role)))
    if snapshots is None:
        return
    if snapshots.dialect.name != "postgresql":
        raise PreviError("audit-log grant: grants need PostgreSQL (service.snapshot_url)")
    upgrade(snapshots, "snapshots")
    with snapshots.begin() as connection:
        for statement in SNAPSHOT_GRANTS:
            connection.execute(text(statement.format(role=role)))


ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SERVICE_GRANTS = (
    "REVOKE ALL ON audit_log, feedback, caseload, web_sessions, tokens, served_model, rate_limits "
    "FROM {role}",
    "GRANT SELECT ON alembic_version TO {role}",
    "GRANT SELECT, INSERT ON audit_log TO {role}",
    "GRANT SELECT, INSERT, DELETE ON feedback TO {role}",  # DELETE: the retention purge
    "GRANT USAGE ON SEQUENCE feedback_id_seq TO {role}",
    "GRANT SELECT ON caseload TO {role}",
    "GRANT SELECT ON tokens TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON served_model TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON web_sessions TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limits TO {role}",
)
SNAPSHOT_GRANTS = (
    "REVOKE ALL ON snapshots, snapshot_scores, snapshot_reasons, snapshot_programs, allocations, "
    "allocation_places FROM {role}",
    "GRANT SELECT ON alembic_version TO {role}",
    # read by GET /v1/youth/{{id}}/score and the pages; deleted by the retention purge at start-up
    "GRANT SELECT, DELETE ON snapshots, snapshot_scores, snapshot_reasons, snapshot_programs TO {role}",
    # read for the places; an offer declined or held is an update of its row and of the cycle's counts
    "GRANT SELECT, UPDATE ON allocations, allocation_places TO {role}",
)


def row_digest(key: bytes, row: dict[str, Any]) -> str:
    """HMAC-SHA256 of a row's content and ``prev_hash``: what :func:`verify_chain` recomputes."""
    content = {name: row.get(name) for name in HASHED}
    at = content["at"]
    content["at"] = at.isoformat(timespec="microseconds") if isinstance(at, dt.datetime) else at
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


HASHED = (*ENTRY_COLUMNS, "prev_hash")


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
        "justification": access.justification[:500] if access.justification else None,
        "count": 1,
    }


def _rows_in(write: _Write) -> int:
    return len(write.rows)


async def durable(written: asyncio.Future[Any]) -> None:
    """Wait for a write of :meth:`AuditLog.record_soon`; a failed one raises AuditUnavailable."""
    with _unavailable_on_error():
        await written


@contextmanager
def _unavailable_on_error() -> Iterator[None]:
    """A failed write as AuditUnavailable (raised afresh in this request, the batch's error as cause)."""
    try:
        yield
    except AuditUnavailable as error:
        raise AuditUnavailable(str(error)) from error
    except (SQLAlchemyError, OSError) as error:
        raise AuditUnavailable(type(error).__name__) from error


def _now() -> dt.datetime:
    """UTC without tzinfo: what every SQL backend stores the same way."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
