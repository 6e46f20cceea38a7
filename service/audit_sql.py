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

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.database import SCHEMA_LOCK

__all__ = [
    "CHAIN_LOCK",
    "ENTRY_COLUMNS",
    "AuditStatements",
    "append_rows",
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
ROW_COLUMNS = (*ENTRY_COLUMNS, "prev_hash", "row_hash")
FEEDBACK_COLUMNS = ("at", "token_id", "youth_pseudonym", "kind", "program", "tier", "reason", "model_version")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
NAMED = re.compile(r":([a-z_]+)")


@dataclass(frozen=True)
class AuditStatements:
    """The write's SQL for one dialect (``:name`` parameters on SQLite, ``%(name)s`` on PostgreSQL)."""

    postgresql: bool
    lock: str
    last: str
    insert: str
    insert_head: str
    row_values: str
    feedback: str

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
        """One INSERT of every row (PostgreSQL): a round trip, where executemany costs one per row."""
        values = ", ".join([self.row_values] * len(rows))
        return f"{self.insert_head} VALUES {values}", [row[column] for row in rows for column in ROW_COLUMNS]

    def stored(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` as the driver takes it: times as SQLAlchemy's DateTime writes them."""
        at = row["at"]
        if not self.postgresql and isinstance(at, dt.datetime):
            return {**row, "at": at.strftime(SQLITE_TIME)}
        return row


def statements_for(dialect: str) -> AuditStatements:
    """The statements for SQLAlchemy dialect ``dialect`` ("postgresql" or "sqlite")."""
    postgresql = dialect == "postgresql"

    def driver(sql: str) -> str:
        return NAMED.sub(r"%(\1)s", sql) if postgresql else sql

    quoted = ", ".join(f'"{column}"' for column in ROW_COLUMNS)
    feedback = ", ".join(FEEDBACK_COLUMNS)
    head = f"INSERT INTO audit_log ({quoted})"
    return AuditStatements(
        postgresql=postgresql,
        lock=driver(SCHEMA_LOCK),
        last="SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1",
        insert=driver(f"{head} VALUES ({', '.join(':' + column for column in ROW_COLUMNS)})"),
        insert_head=head,
        row_values=f"({', '.join(['%s'] * len(ROW_COLUMNS))})",
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
            connection.execute(*statements.insert_many(chained))
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


def insert_feedback(connection: Any, statements: AuditStatements, values: dict[str, Any]) -> int:
    """Insert one feedback row (inside :func:`append_rows`' transaction, as its ``also``); its id."""
    return int(connection.execute(statements.feedback, statements.stored(values)).fetchone()[0])


CHAIN_LOCK = "audit_log chain"
