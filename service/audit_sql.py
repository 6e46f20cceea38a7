"""The audit log's write transaction, on the database driver's own connection.

Every scored request ends in this transaction, so its cost is the service's:
through SQLAlchemy Core it took about 1.4 ms of CPU per batch on PostgreSQL,
more than the scoring itself, against about 0.3 ms for the same statements on
the driver (measured on the 2-core machine; psycopg's pipeline mode cost more
CPU than it saved on loopback, so the statements go one by one). Here they are
plain SQL in the driver's parameter style, run on the pooled DBAPI connection
(``Engine.raw_connection``): the chain lock, the last row, one INSERT of every
row of the batch, COMMIT. The lock is its own statement before the read, so
that the read's snapshot (READ COMMITTED takes one per statement) sees every
row committed before the lock was granted: a single ``SELECT lock, last row``
would read a snapshot taken before waiting for the lock, and fork the chain.
SQLite takes its write lock with ``BEGIN IMMEDIATE``.

Times are stored as SQLAlchemy's ``DateTime`` stores them (SQLite: the text
``YYYY-MM-DD HH:MM:SS.ffffff``; PostgreSQL: ``timestamp without time zone``), so
that every reader of the table, through SQLAlchemy, reads back the value the row's
hash was computed from.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from service.database import SCHEMA_LOCK

__all__ = [
    "CHAIN_LOCK",
    "ENTRY_COLUMNS",
    "AuditStatements",
    "Tail",
    "append_rows",
    "append_rows_async",
    "insert_feedback",
    "statements_for",
]

# an entry's columns, as the auditors' pages and exports show them; a stored row adds its chain hashes
ENTRY_COLUMNS = (
    "id",
    "at",
    "token_id",
    "role",
    "purpose",
    "youth_pseudonym",
    "model_version",
    "endpoint",
    "method",
    "outcome",
    "status",
    "detail",
    "justification",
    "count",
)
FEEDBACK_COLUMNS = ("at", "token_id", "youth_pseudonym", "kind", "program", "tier", "reason", "model_version")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
NAMED = re.compile(r":([a-z_]+)")


@dataclass(frozen=True)
class AuditStatements:
    """The write's SQL for one dialect (``:name`` parameters on SQLite, ``%(name)s`` on PostgreSQL)."""

    postgresql: bool
    columns: tuple[str, ...]  # a stored row's, in the table's order
    lock: str
    last: str
    insert: str  # one row (SQLite's executemany)
    insert_json: str  # every row of the batch, as one JSON parameter (PostgreSQL)
    begin_lock_last: str  # BEGIN, the lock and the last row in one round trip (PostgreSQL, autocommit)
    append_after: str  # the whole write as one statement, if the chain still ends where the writer thinks
    feedback: str

    def rows_json(self, rows: Sequence[dict[str, Any]]) -> str:
        """The batch as :attr:`insert_json` takes it: a JSON array of objects, times in ISO 8601.

        One parameter for the whole batch: the driver converts each parameter in
        Python (16 columns by 6 rows cost about 0.3 ms of CPU a batch), and one
        statement text whatever the batch's size. PostgreSQL still checks every
        value against its column (a value too long for its varchar is an error).
        """
        return json.dumps([{column: _plain(row[column]) for column in self.columns} for row in rows])

    def stored(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` as the driver takes it: times as SQLAlchemy's DateTime writes them."""
        at = row["at"]
        if not self.postgresql and isinstance(at, dt.datetime):
            return {**row, "at": at.strftime(SQLITE_TIME)}
        return row


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def statements_for(dialect: str, table: Table) -> AuditStatements:
    """The statements for the log's ``table`` in SQLAlchemy dialect ``dialect`` ("postgresql", "sqlite")."""
    postgresql = dialect == "postgresql"

    def driver(sql: str) -> str:
        return NAMED.sub(r"%(\1)s", sql) if postgresql else sql

    columns = tuple(column.name for column in table.columns)
    listed = ", ".join(f'"{column}"' for column in columns)
    feedback = ", ".join(FEEDBACK_COLUMNS)
    last = f"SELECT id, row_hash FROM {table.name} ORDER BY id DESC LIMIT 1"
    # a constant, written into the text so that the three statements need no parameter and go as one message
    lock_name = "'" + CHAIN_LOCK.replace("'", "''") + "'"
    return AuditStatements(
        postgresql=postgresql,
        columns=columns,
        lock=driver(SCHEMA_LOCK),
        last=last,
        insert=driver(f"INSERT INTO {table.name} ({listed}) VALUES ({', '.join(':' + c for c in columns)})"),
        insert_json=(
            f"INSERT INTO {table.name} ({listed}) "
            f"SELECT {listed} FROM json_populate_recordset(NULL::{table.name}, %s)"
        ),
        begin_lock_last=f"BEGIN; {SCHEMA_LOCK.replace(':name', lock_name)}; {last}",
        append_after=(
            "SELECT tail_id, tail_hash, appended FROM audit_append(%s::json, %s::integer, %s::varchar)"
        ),
        feedback=driver(
            f"INSERT INTO feedback ({feedback}) "
            f"VALUES ({', '.join(':' + column for column in FEEDBACK_COLUMNS)}) RETURNING id"
        ),
    )


def append_rows(
    connection: Any,
    statements: AuditStatements,
    chain: Callable[[int, str | None], list[dict[str, Any]]],
    also: Sequence[Callable[[Any], int] | None],
) -> list[int]:
    """Lock the chain, read its last row, insert ``chain(last id, last hash)`` and commit, or roll back.

    ``connection`` is a DBAPI connection of ``statements``' dialect (sqlite3 in
    autocommit mode, as :func:`service.database.make_engine` sets it; psycopg not in
    autocommit). ``also`` runs in the same transaction, one per write (None: nothing),
    each given the connection; their results are returned in order.
    """
    try:
        if statements.postgresql:
            connection.execute(statements.lock, {"name": CHAIN_LOCK})
        else:
            connection.execute("BEGIN IMMEDIATE")
        last = connection.execute(statements.last).fetchone()
        chained = chain(int(last[0]) if last else 0, last[1] if last else None)
        if statements.postgresql:
            connection.execute(statements.insert_json, [statements.rows_json(chained)])
        else:
            connection.executemany(statements.insert, [statements.stored(row) for row in chained])
        results = [run(connection) if run is not None else 0 for run in also]
        if statements.postgresql:
            connection.commit()
        else:
            connection.execute("COMMIT")
    except BaseException:
        connection.rollback()
        raise
    return results


@dataclass(frozen=True)
class Tail:
    """The chain's last row as a writer last saw it: its id and hash (None, None: the log is empty)."""

    id: int | None
    row_hash: str | None

    @classmethod
    def of(cls, row: Any) -> Tail:
        return cls(int(row[0]), row[1]) if row else cls(None, None)


GUESSES = 2  # one-message attempts before the write reads the tail under the lock (two messages)


async def append_rows_async(
    connection: Any,
    statements: AuditStatements,
    chain: Callable[[int, str | None], list[dict[str, Any]]],
    tail: Tail | None = None,
) -> Tail:
    """:func:`append_rows` on a ``psycopg.AsyncConnection`` in autocommit mode (PostgreSQL; no ``also``).

    One round trip when ``tail`` (where this process last saw the chain end) is
    still the chain's last row: the rows, chained to ``tail``, go to the
    database's ``audit_append`` (migration service_0003), one statement that
    takes the chain lock, checks the last row and inserts, committed as it
    ends. If another worker wrote meanwhile, nothing is inserted and the answer
    is the real last row, read under the lock: the write chains again from it.
    After :data:`GUESSES` misses in a row it reads the last row under the lock
    and inserts, two messages that cannot miss.

    Why it matters: each round trip costs more than its statements. The process
    sleeps and wakes again, and on the 2-core machine one explained score from
    one client took 1.2 ms of CPU with a two-message write against 0.43 ms with
    none (two ``SELECT 1`` round trips in its place: 0.97 ms). The statement's
    plan is prepared once per connection (psycopg prepares a query it has seen
    five times); the rows go as one JSON parameter. Returns the chain's new end.
    """
    import psycopg

    tail = tail or Tail(None, None)
    try:
        async with connection.cursor() as cursor:
            for _ in range(GUESSES):
                rows = chain(tail.id or 0, tail.row_hash)
                await cursor.execute(
                    statements.append_after, (statements.rows_json(rows), tail.id, tail.row_hash)
                )
                found = await cursor.fetchone()
                tail = Tail(found[0], found[1])
                if found[2]:
                    return tail
        locked = psycopg.AsyncClientCursor(connection)
        await locked.execute(statements.begin_lock_last)
        locked.nextset()  # past BEGIN's result
        locked.nextset()  # past the lock's
        last = Tail.of(await locked.fetchone())
        rows = chain(last.id or 0, last.row_hash)
        await locked.execute(f"{statements.insert_json}; COMMIT", [statements.rows_json(rows)])
        return Tail(rows[-1]["id"], rows[-1]["row_hash"])
    except BaseException:
        with contextlib.suppress(Exception):  # a broken connection cannot roll back; its owner replaces it
            await connection.execute("ROLLBACK")  # autocommit: only a BEGIN of the locked path left one open
        raise


def insert_feedback(connection: Any, statements: AuditStatements, values: dict[str, Any]) -> int:
    """Insert one feedback row (inside :func:`append_rows`' transaction, as its ``also``); its id."""
    return int(connection.execute(statements.feedback, statements.stored(values)).fetchone()[0])


CHAIN_LOCK = "audit_log chain"
