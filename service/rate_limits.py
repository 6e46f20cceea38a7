"""Rate limits and lockout, counted by the ``limits`` library (moving windows).

Three counters: requests with a token per client address (before the token is
checked, so a flood of bad tokens is slowed too; a request with no token guesses
nothing and is simply 401), requests per token (after it is checked),
and failed attempts per token id. A token id that collects
``service.lockout_failures`` failures within ``service.lockout_minutes`` is
locked: even the right secret gets 429 until the window clears, so guessing a
token's secret is capped whatever the number of addresses used. Over a limit,
the answer is 429 with ``Retry-After`` (seconds). Counters live in
``service.rate_limit_storage``: ``sql`` (the default) in the service database,
shared by every worker (:mod:`service.rate_store`); ``memory://`` counts within
one worker only; any other ``limits`` storage URI (``redis://...``) works too.
When the counters cannot be read, the check raises PreviError (the service
answers 503): an unreachable count never lets a request through unchecked.

**Leases keep shared counts off the hot path.** Counting every request in SQL
cost three round trips per request, 25% of a scored request's CPU under load.
A key that is busy in a worker (an address or a token sending many requests a
second) now takes a *lease* instead: one shared hit of ``cost`` k, after which
the worker counts the next k - 1 requests in memory, for at most
``LEASE_SECONDS``. k is what the key sent in that worker over the last
``LEASE_SECONDS`` (at most 1/``LEASE_SHARE`` of the limit), so a key making a
request a second (every caseworker) is still counted exactly, one hit at a time.
A lease the limit cannot grant whole falls back to an exact single hit, so a
key at its limit is refused exactly; an unused remainder lapses and counts
against its key (at most 1/``LEASE_SHARE`` of the limit per worker): leases
can only make a limit stricter, never looser. With ``memory://`` there is
nothing to save and no lease is taken.

**The next lease is taken ahead, off the request path.** Once a lease is down
to a quarter (of its requests or of its time), the request that notices asks
for the next one in the background (a task of the event loop on PostgreSQL; a
thread on SQLite) and goes on; when the current lease runs out, the next is
already there. Without that, the request that found its lease
spent waited for the shared hit: on one worker serving one client at about 600
scores a second, 37 of the 60 slowest of 3,000 requests (the top 2%) were those,
0.65 ms slower each. The lease taken ahead is sized so that it and what is
left of the current one stay within 1/``LEASE_SHARE`` of the limit, the bound
above (a request that finds its lease spent while the next is still on its way
takes a lease only as large as keeps the two within it); if the background hit
fails or is not granted whole, the request that finds no lease takes its hit
itself, exactly as before.

The lock check (before the secret is verified) is cached per token id for
``LOCK_CHECK_SECONDS`` after an unlocked answer, and the cache entry is dropped
as soon as this worker counts a failure for that id: failures themselves are
always counted in SQL, so the lock falls at the exact count, and a worker that
has seen no failure of a token id may let that token's right secret through for
at most ``LOCK_CHECK_SECONDS`` after another worker locked it.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from previ.errors import PreviError
from service.rate_store import SQLStorage, rates_url
from service.settings import ServiceSettings

__all__ = ["RateGuard", "RateLimited", "rate_storage", "token_id_of"]

TOKEN_PREFIX = "previ"
SHARED = "sql"
UNAVAILABLE = "rate limits: the counters cannot be read ({error})"
LEASE_SECONDS = 0.1
LEASE_SHARE = 20
LOCK_CHECK_SECONDS = 1.0
KEPT_KEYS = 10_000
P = ParamSpec("P")
R = TypeVar("R")


def rate_storage(settings: ServiceSettings) -> Storage:
    """The counters' storage: ``sql`` in the service database, else a ``limits`` storage URI."""
    if settings.rate_limit_storage == SHARED:
        return SQLStorage(rates_url(settings.audit_url))
    storage = storage_from_string(settings.rate_limit_storage)
    if not isinstance(storage, Storage):
        raise PreviError(f"service: 'rate_limit_storage' {settings.rate_limit_storage} is an async storage")
    return storage


def _store_errors(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (SQLAlchemyError, OSError) as error:
            raise PreviError(UNAVAILABLE.format(error=type(error).__name__)) from error

    return wrapper


class RateLimited(Exception):
    """Over a limit, or a locked token: answer 429 with ``Retry-After: retry_after``."""

    def __init__(self, retry_after: int, *, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail


@dataclass
class _Lease:
    """One key's requests in this worker: what is left of its lease, and its recent pace."""

    remaining: int = 0
    size: int = 0  # of the current lease
    until: float = 0.0
    pace_since: float = 0.0
    pace: int = 0  # requests since pace_since
    last_pace: int = 0  # requests in the LEASE_SECONDS before that
    in_flight: int = 0  # the size of the lease being taken ahead in the background (0: none)
    next_size: int = 0  # a lease taken ahead, waiting for this one to run out (0: none)
    next_until: float = 0.0

    def running_low(self, now: float) -> bool:
        """Down to a quarter of its requests or of its time: time to take the next one."""
        return 4 * self.remaining <= self.size or 4 * (self.until - now) <= LEASE_SECONDS


Background = Callable[[Callable[[], None]], object]


class RateGuard:
    """The service's counters; each check raises :class:`RateLimited` when over."""

    def __init__(self, settings: ServiceSettings, *, background: Background | None = None) -> None:
        """``background`` runs the hits that take leases ahead; by default a task of the event loop when
        the counts are in PostgreSQL and the request runs on a loop, else one thread of this guard's."""
        self.storage = rate_storage(settings)
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._api = parse(settings.rate_limit_api)
        self._login = parse(settings.rate_limit_login)
        self._failures = parse(f"{settings.lockout_failures} per {settings.lockout_minutes} minutes")
        self._leasing = not isinstance(self.storage, MemoryStorage)
        self._leases: dict[tuple[str, ...], _Lease] = {}
        self._unlocked: dict[str, float] = {}  # token id -> when the shared count last said unlocked
        self._lock = threading.Lock()
        self._background = background
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        """Stop the thread that takes leases ahead (a hit in flight finishes)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def engines(self) -> list[Engine]:
        """The database engines the counters use (none for memory:// and other limits storages)."""
        return [self.storage.engine] if isinstance(self.storage, SQLStorage) else []

    @_store_errors
    def address(self, address: str, *, login: bool = False) -> None:
        """Count a request from ``address`` (a login attempt when ``login``)."""
        item = self._login if login else self._api
        self._hit(item, "login" if login else "api", address, detail="rate_limited_address")

    @_store_errors
    def token(self, token_id: str) -> None:
        """Count a request made with an authenticated token."""
        self._hit(self._api, "token", token_id, detail="rate_limited_token")

    @_store_errors
    def check_unlocked(self, token_id: str | None) -> None:
        """RateLimited when ``token_id`` is locked after repeated failures."""
        if token_id is None:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._unlocked.get(token_id, -math.inf) < LOCK_CHECK_SECONDS:
                return
        if self._limiter.test(self._failures, "failure", token_id):
            with self._lock:
                self._forget_stale(self._unlocked, now - LOCK_CHECK_SECONDS)
                self._unlocked[token_id] = now
            return
        raise RateLimited(self._retry_after(self._failures, "failure", token_id), detail="token_locked")

    @_store_errors
    def failed(self, token_id: str | None) -> None:
        """Count a failed attempt with ``token_id`` (the lock starts once the count is reached)."""
        if token_id is not None:
            with self._lock:
                self._unlocked.pop(token_id, None)
            self._limiter.hit(self._failures, "failure", token_id)

    def _hit(self, item: RateLimitItem, *keys: str, detail: str) -> None:
        size, ahead = self._lease_or_size(item, keys)
        if ahead:
            self._take_ahead(item, keys, ahead)
        if size == 0:
            return
        if size > 1 and self._limiter.hit(item, *keys, cost=size):
            with self._lock:
                lease = self._leases.setdefault(keys, _Lease(pace_since=time.monotonic()))
                lease.remaining, lease.size, lease.until = size - 1, size, time.monotonic() + LEASE_SECONDS
            return
        if not self._limiter.hit(item, *keys):
            raise RateLimited(self._retry_after(item, *keys), detail=detail)

    def _lease_or_size(self, item: RateLimitItem, keys: tuple[str, ...]) -> tuple[int, int]:
        """(0 when this request is counted by a lease, else the size of the hit to take now;
        the size of a lease to take ahead in the background, or 0)."""
        if not self._leasing:
            return 1, 0
        now = time.monotonic()
        cap = item.amount // LEASE_SHARE
        with self._lock:
            lease = self._leases.get(keys)
            if lease is None:
                if len(self._leases) >= KEPT_KEYS:
                    self._forget_idle(now)
                lease = self._leases[keys] = _Lease(pace_since=now)
            if now - lease.pace_since >= LEASE_SECONDS:
                recent = now - lease.pace_since < 2 * LEASE_SECONDS
                lease.last_pace, lease.pace, lease.pace_since = (lease.pace if recent else 0), 0, now
            lease.pace += 1
            if (lease.remaining <= 0 or now >= lease.until) and lease.next_size and now < lease.next_until:
                lease.remaining, lease.size, lease.until = lease.next_size, lease.next_size, lease.next_until
                lease.next_size = 0
            if lease.remaining > 0 and now < lease.until:
                lease.remaining -= 1
                if lease.in_flight or lease.next_size or not lease.running_low(now):
                    return 0, 0
                ahead = min(max(lease.pace, lease.last_pace), cap - lease.remaining)
                lease.in_flight = ahead if ahead > 1 else 0
                return 0, lease.in_flight
            lease.remaining = 0
            # With a lease still on its way, this one and that one stay within the cap together.
            return max(1, min(max(lease.pace, lease.last_pace), cap - lease.in_flight)), 0

    def _take_ahead(self, item: RateLimitItem, keys: tuple[str, ...], size: int) -> None:
        """Take a lease of ``size`` for ``keys`` in the background, for when the current one runs out."""

        def take() -> None:
            granted = False
            try:
                granted = self._limiter.hit(item, *keys, cost=size)
            except Exception:  # the request that finds no lease takes its own hit, and reports the error
                granted = False
            finally:
                self._taken_ahead(keys, size, granted)

        if self._background is not None:
            self._background(take)
            return
        if isinstance(self.storage, SQLStorage) and self.storage.counts_on_loop and _on_a_loop():
            task = asyncio.get_running_loop().create_task(self._take_on_loop(item, keys, size))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="previ-rate-lease")
        self._executor.submit(take)

    async def _take_on_loop(self, item: RateLimitItem, keys: tuple[str, ...], size: int) -> None:
        """:meth:`_take_ahead`'s hit as a task of the event loop (PostgreSQL's shared counts)."""
        assert isinstance(self.storage, SQLStorage)
        granted = False
        try:
            granted = await self.storage.acquire_entry_async(
                item.key_for(*keys), item.amount, item.get_expiry(), amount=size
            )
        except Exception:  # as in a thread: the request that finds no lease takes its own hit
            granted = False
        finally:
            self._taken_ahead(keys, size, granted)

    def _taken_ahead(self, keys: tuple[str, ...], size: int, granted: bool) -> None:
        with self._lock:
            lease = self._leases.get(keys)
            if lease is not None:
                lease.in_flight = 0
                if granted:
                    lease.next_size, lease.next_until = size, time.monotonic() + LEASE_SECONDS

    async def close_on_loop(self) -> None:
        """Let the running loop's hits ahead finish, and close its connection (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if isinstance(self.storage, SQLStorage):
            await self.storage.close_on_loop()

    def _forget_idle(self, now: float) -> None:
        """Drop the leases of keys idle for two lease periods (their pace is 0 again)."""
        idle = [keys for keys, lease in self._leases.items() if now - lease.pace_since > 2 * LEASE_SECONDS]
        for keys in idle:
            del self._leases[keys]

    @staticmethod
    def _forget_stale(checked: dict[str, float], before: float) -> None:
        if len(checked) >= KEPT_KEYS:
            for token_id in [token_id for token_id, at in checked.items() if at < before]:
                del checked[token_id]

    def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        stats = self._limiter.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def token_id_of(token: str | None) -> str | None:
    """The id part of a ``previ_<id>_<secret>`` token (unverified), or None."""
    parts = (token or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1].isalnum() or len(parts[1]) > 16:
        return None
    return parts[1]
