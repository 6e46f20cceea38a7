"""Rate-limit counts in SQL, as a storage of the ``limits`` library: one count for every worker.

``limits`` keeps its counts in memory (one count per worker process) or in
Redis, Memcached, MongoDB or etcd, none of which a previ deployment runs. This
storage keeps them in a ``rate_limits`` table (the ``rates`` migrations), so
several workers share one count and a token locked in one is locked in all. It
serves limits' moving-window strategy, the one the service uses: one row per
counted request, and a hit counts the key's rows inside the window and adds its
own under a lock on the key (a transaction-level advisory lock on PostgreSQL,
taken by the ``previ_rate_acquire`` function in one round trip; ``BEGIN
IMMEDIATE`` on SQLite), so two workers never both take the last place.

On PostgreSQL the table is UNLOGGED, so counting writes no WAL and its commit
waits for no disk. On SQLite, which locks a whole file per write, the counts
live in their own file (:func:`rates_url`) and are not synced: they never wait
behind the audit log's synced commits, and a crash at worst resets them.
Rows past their window are deleted at most once a minute per process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from service.database import (
    LoopConnections,
    create_schema,
    driver_connection,
    lock_in_schema,
    make_engine,
    reader,
    sqlite_path,
)
from service.migrations import schema_is_current

__all__ = ["SQLStorage", "rates_url"]

metadata = MetaData()
rates_table = Table(
    "rate_limits",
    metadata,
    Column("key", String(255), nullable=False),
    Column("at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    Index("ix_rate_limits_key_at", "key", "at"),
)
SWEEP_SECONDS = 60.0
ACQUIRE_ON_DRIVER = "SELECT previ_rate_acquire(%s, %s, %s, %s, %s)"
SWEEP_ON_DRIVER = "DELETE FROM rate_limits WHERE expires_at <= %s"
FIXED_WINDOW = "rates: the SQL storage counts moving windows only (limits' MovingWindowRateLimiter)"


def rates_url(service_url: str) -> str:
    """Where the counts of a service database live: the same PostgreSQL, or a SQLite file beside it."""
    path = sqlite_path(service_url)
    if path is None:
        return service_url
    return f"sqlite:///{path.with_name(path.stem + '-rates' + path.suffix)}"


class SQLStorage(Storage, MovingWindowSupport):
    """limits storage over SQLAlchemy (``SQLStorage(url)``), for the moving-window strategy."""

    STORAGE_SCHEME = None

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.engine: Engine = make_engine(url, fsync=False)
        self._reader = reader(self.engine)
        self._swept = 0.0
        postgresql = self.engine.dialect.name == "postgresql"
        self._loop_connections = LoopConnections(self.engine) if postgresql else None

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count ``amount`` requests for ``key`` if the window's count stays within ``limit``."""
        if amount > limit:
            return False
        now = time.time()
        if self.engine.dialect.name == "postgresql":
            create_schema(self.engine, "rates")
            acquired = self._acquire_on_driver((key, now, float(expiry), limit, amount))
            self._sweep(now)
            return acquired
        with self._locked(key) as connection:
            count = connection.execute(
                select(func.count()).where((rates_table.c.key == key) & (rates_table.c.at > now - expiry))
            ).scalar_one()
            if int(count) + amount > limit:
                return False
            row = {"key": key, "at": now, "expires_at": now + expiry}
            connection.execute(insert(rates_table), [row] * amount)
        self._sweep(now)
        return True

    def _acquire_on_driver(self, arguments: tuple[str, float, float, int, int]) -> bool:
        """One ``previ_rate_acquire`` in autocommit on the pooled psycopg connection: one round trip.

        Every request with a token may come here, so SQLAlchemy's execution machinery
        (about 0.3 ms of CPU a call) is left out.
        """
        with driver_connection(self.engine) as driver:
            driver.autocommit = True
            try:
                return bool(driver.execute(ACQUIRE_ON_DRIVER, arguments).fetchone()[0])
            finally:
                driver.autocommit = False

    @property
    def counts_on_loop(self) -> bool:
        """Whether :meth:`acquire_entry_async` can count now (PostgreSQL, its tables checked here)."""
        return self._loop_connections is not None and schema_is_current(self.engine, "rates")

    async def acquire_entry_async(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """:meth:`acquire_entry` on the running loop's own connection (see :attr:`counts_on_loop`).

        For counts taken in the background of a request (service.rate_limits takes
        leases ahead this way): a thread would take turns with the event loop at the
        interpreter and slow the very requests it works for.
        """
        assert self._loop_connections is not None, "acquire_entry_async needs PostgreSQL"
        if amount > limit:
            return False
        now = time.time()
        async with self._loop_connections.connection() as connection:
            cursor = await connection.execute(ACQUIRE_ON_DRIVER, (key, now, float(expiry), limit, amount))
            acquired = bool((await cursor.fetchone())[0])
            if now - self._swept >= SWEEP_SECONDS:
                self._swept = now
                await connection.execute(SWEEP_ON_DRIVER, (now,))
        return acquired

    async def close_on_loop(self) -> None:
        """Close the running loop's connection of :meth:`acquire_entry_async` (at shutdown)."""
        if self._loop_connections is not None:
            await self._loop_connections.close()

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(start of the window: the oldest counted request in it, or now; requests counted in it)."""
        now = time.time()
        query = select(func.min(rates_table.c.at), func.count()).where(
            (rates_table.c.key == key) & (rates_table.c.at > now - expiry)
        )
        create_schema(self.engine, "rates")
        with self._reader.connect() as connection:
            oldest, count = connection.execute(query).one()
        return (float(oldest) if oldest is not None else now), int(count)

    def clear(self, key: str) -> None:
        with self._locked(key) as connection:
            connection.execute(delete(rates_table).where(rates_table.c.key == key))

    def reset(self) -> int | None:
        create_schema(self.engine, "rates")
        with self.engine.begin() as connection:
            return int(connection.execute(delete(rates_table)).rowcount)

    def check(self) -> bool:
        try:
            self.get_moving_window("", 1, 1)
        except SQLAlchemyError:
            return False
        return True

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError(FIXED_WINDOW)

    def get(self, key: str) -> int:
        raise NotImplementedError(FIXED_WINDOW)

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError(FIXED_WINDOW)

    @contextmanager
    def _locked(self, key: str) -> Iterator[Connection]:
        """A transaction holding the lock on ``key`` (PostgreSQL) or the whole file's (SQLite)."""
        create_schema(self.engine, "rates")
        with self.engine.connect() as connection:
            connection = connection.execution_options(immediate=True)
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    lock_in_schema(connection, f"rate {key}")
                yield connection

    def _sweep(self, now: float) -> None:
        """Delete rows past their window, at most once a minute per process."""
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        with self.engine.begin() as connection:
            connection.execute(delete(rates_table).where(rates_table.c.expires_at <= now))
