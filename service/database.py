"""SQLAlchemy engines for the service's stores (SQLite by default, any URL SQLAlchemy knows).

SQLite gets write-ahead logging, so readers never block the writer, a busy
timeout instead of instant "database is locked" errors under concurrent
requests, and by default ``synchronous=FULL``: a committed audit entry survives
a power cut, which is the point of writing it before the response leaves.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["make_engine", "sqlite_path"]


def make_engine(url: str, *, fsync: bool = True) -> Engine:
    """An engine for ``url``; nothing is opened until first use.

    ``fsync=False`` (SQLite only) lets commits rest in the operating system's
    cache: safe when the service crashes, not when the machine does.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
    event.listen(engine, "connect", partial(_sqlite_pragmas, synchronous="FULL" if fsync else "NORMAL"))
    return engine


def create_schema(engine: Engine, url: str, metadata: MetaData) -> None:
    """Create ``metadata``'s tables if missing, and the folder of a SQLite file first."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    metadata.create_all(engine)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_pragmas(connection: Any, _record: Any, *, synchronous: str) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
