"""SQLAlchemy engines for the service's stores (SQLite by default, any URL SQLAlchemy knows).

SQLite runs with a rollback journal (``journal_mode=TRUNCATE``), not WAL. WAL
keeps its index in a ``-shm`` file that every connection maps into memory;
when that file cannot be written or is cut short under a running process, the
next access to the mapping kills the whole process with SIGBUS: no response,
no log line. A rollback journal uses no shared memory, so every failure of the
store is an ordinary error (``OperationalError``) that the service turns into a
503. Writers wait for each other through ``busy_timeout``; commits are
``synchronous=FULL`` by default, so a committed audit entry survives a power cut.

Files are private: the folder is created 0700 and the database file 0600
before SQLite opens it (SQLite gives its journal the database file's mode).
Transactions of SQLite engines start with ``BEGIN IMMEDIATE`` when a
connection asks for it (``execution_options(immediate=True)``), which takes the
write lock at once: the audit log's hash chain reads the last row and writes
the next under one lock, in every process.

PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``; a bare
``postgresql://`` URL is read as that too). Tables are never created here:
:func:`create_schema` runs the store's Alembic migrations (:mod:`service.migrations`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from previ.errors import PreviError

if TYPE_CHECKING:
    from service.migrations import Store

__all__ = [
    "SCHEMA_LOCK",
    "LoopConnections",
    "check_private",
    "create_schema",
    "database_url",
    "driver_connection",
    "lock_in_schema",
    "make_engine",
    "private_file",
    "reader",
    "sqlite_path",
]

# PostgreSQL's transaction-level advisory lock :name, keyed by the connection's schema too (lock_in_schema)
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || :name, 0))"
EXPOSED = "{path} is readable or writable by other users (mode {mode}); run: chmod {fix} {path}"


def make_engine(url: str, *, fsync: bool = True) -> Engine:
    """An engine for ``url``; nothing is opened until first use.

    ``fsync=False`` (SQLite only, ``synchronous=OFF``) lets commits rest in the
    operating system's cache: safe when the service crashes, not when the
    machine does. With a rollback journal a synced commit costs about three
    fsyncs (about 28 ms on the reference machine, against 6 ms with WAL): the
    price of a store whose failures are errors, not a dead process.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Small pools: every worker opens one per database, and a server's connections are few. No
        # pre-ping (a round trip per checkout): a connection the server dropped fails one request
        # (503) and the pool replaces it.
        return create_engine(parsed, pool_size=4, max_overflow=8, pool_recycle=1800)
    path = sqlite_path(url)
    engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
    if path is not None:
        event.listen(engine, "do_connect", lambda *_: private_file(path))
    event.listen(engine, "connect", partial(_sqlite_pragmas, synchronous="FULL" if fsync else "OFF"))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def lock_in_schema(connection: Connection, name: str) -> None:
    """Take PostgreSQL's transaction-level advisory lock ``name`` of the connection's schema.

    Advisory locks belong to the whole database; keying them by the current schema
    as well lets several deployments (or test runs) share a database without
    waiting for each other's locks.
    """
    connection.execute(text(SCHEMA_LOCK), {"name": name})


@contextmanager
def driver_connection(engine: Engine) -> Iterator[Any]:
    """``engine``'s pooled DBAPI connection, for the hot paths that leave SQLAlchemy's execution out.

    A driver error leaves as SQLAlchemy's (``OperationalError``...), so callers keep
    one except clause, and a connection it broke is dropped from the pool rather
    than handed to the next request.
    """
    pooled = engine.raw_connection()
    try:
        yield pooled.driver_connection
    except engine.dialect.loaded_dbapi.Error as error:
        broken = getattr(pooled.driver_connection, "broken", False) or getattr(
            pooled.driver_connection, "closed", False
        )
        if broken:
            pooled.invalidate()
        raise DBAPIError.instance(None, None, error, engine.dialect.loaded_dbapi.Error) from error
    finally:
        pooled.close()


class LoopConnections:
    """One asyncio psycopg connection per event loop to a PostgreSQL engine's database, opened on first use.

    For a writer that runs on the event loop (:class:`service.group_commit.LoopGroupCommit`
    commits one batch at a time, so one connection per loop is all it needs). The
    connection is made from the engine's own connection arguments, so it reaches
    the same database, schema and options. Errors leave as SQLAlchemy's, as with
    :func:`driver_connection`, and a connection an error broke is closed and
    replaced at the next use.
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"LoopConnections needs PostgreSQL, not {engine.dialect.name}")
        self._engine = engine
        self._open: dict[asyncio.AbstractEventLoop, Any] = {}

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """This loop's ``psycopg.AsyncConnection``, in autocommit: the caller sends its own BEGIN and COMMIT.

        (So that BEGIN can travel in one message with the transaction's first
        statements; psycopg's own transactions send it as a round trip of its own.)
        """
        import psycopg

        loop = asyncio.get_running_loop()
        connection = self._open.get(loop)
        try:
            if connection is None or connection.closed:
                arguments, keywords = self._engine.dialect.create_connect_args(self._engine.url)
                connection = await psycopg.AsyncConnection.connect(*arguments, **keywords, autocommit=True)
                self._open = {known: kept for known, kept in self._open.items() if not known.is_closed()}
                self._open[loop] = connection
            yield connection
        except psycopg.Error as error:
            if connection is not None and (connection.broken or connection.closed):
                self._open.pop(loop, None)
                await connection.close()
            raise DBAPIError.instance(None, None, error, psycopg.Error) from error

    async def close(self) -> None:
        """Close this loop's connection (at shutdown)."""
        connection = self._open.pop(asyncio.get_running_loop(), None)
        if connection is not None:
            await connection.close()


def reader(engine: Engine) -> Engine:
    """``engine`` for single-statement reads: in autocommit on PostgreSQL, itself on SQLite.

    A read in a transaction costs PostgreSQL three round trips (BEGIN, the query,
    ROLLBACK); in autocommit, one. SQLite reads make no round trips.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def create_schema(engine: Engine, store: Store) -> None:
    """Bring ``store``'s tables up to date through its migrations (once per process; SQLite files private)."""
    from service.migrations import ensure_schema

    ensure_schema(engine, store)


def database_url(url: str) -> URL:
    """``url`` parsed, with PostgreSQL's driver made explicit (psycopg 3, the one previ installs)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class SQLiteChanges:
    """Whether a SQLite file changed, told by SQLite itself: a private connection's ``PRAGMA data_version``.

    The value moves whenever any other connection, of this process or another,
    commits to the file. Reading the file's change counter with ``open``/``close``
    instead (as this service once did) is one of the ways SQLite lists to corrupt
    a database: closing any descriptor of a file drops every POSIX lock the
    process holds on it, so a worker's write lock vanished mid-write and another
    worker wrote too ("database disk image is malformed", seen with two workers
    sharing one file under load). A connection SQLite opened keeps its
    descriptors until SQLite can close them safely.

    :meth:`stamp` is ``(inode, mtime, data version)``; ``(0, 0, 0)`` while the
    file does not exist, None when it cannot be read (then nothing is cached).
    A file deleted and made again has another inode: the connection follows it.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._inode = -1
        self._lock = threading.Lock()

    def stamp(self) -> tuple[int, int, int] | None:
        try:
            status = self._path.stat()
        except FileNotFoundError:
            return (0, 0, 0)
        except OSError:
            return None
        if status.st_size == 0:
            return None  # made (private_file) but not yet a database
        with self._lock:
            try:
                if self._connection is None or self._inode != status.st_ino:
                    if self._connection is not None:
                        self._connection.close()
                    address = f"file:{urllib.parse.quote(str(self._path.absolute()))}?mode=ro"
                    self._connection = sqlite3.connect(address, uri=True, check_same_thread=False)
                    self._inode = status.st_ino
                version = int(self._connection.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                return None
        return (status.st_ino, status.st_mtime_ns, version)


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (its missing folders 0700) unless it exists."""
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def check_private(path: Path, *, what: str) -> None:
    """PreviError naming ``path`` when other users may read or write it (missing or unreachable: fine)."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        fix = "700" if stat.S_ISDIR(mode) else "600"
        raise PreviError(f"{what}: " + EXPOSED.format(path=path, mode=oct(mode & 0o777), fix=fix))


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_pragmas(connection: Any, _record: Any, *, synchronous: str) -> None:
    connection.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN itself
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=TRUNCATE")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA mmap_size=0")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
