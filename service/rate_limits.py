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
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
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


class RateGuard:
    """The service's counters; each check raises :class:`RateLimited` when over."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.storage = rate_storage(settings)
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._api = parse(settings.rate_limit_api)
        self._login = parse(settings.rate_limit_login)
        self._failures = parse(f"{settings.lockout_failures} per {settings.lockout_minutes} minutes")

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
        if token_id is None or self._limiter.test(self._failures, "failure", token_id):
            return
        raise RateLimited(self._retry_after(self._failures, "failure", token_id), detail="token_locked")

    @_store_errors
    def failed(self, token_id: str | None) -> None:
        """Count a failed attempt with ``token_id`` (the lock starts once the count is reached)."""
        if token_id is not None:
            self._limiter.hit(self._failures, "failure", token_id)

    def _hit(self, item: RateLimitItem, *keys: str, detail: str) -> None:
        if not self._limiter.hit(item, *keys):
            raise RateLimited(self._retry_after(item, *keys), detail=detail)

    def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        stats = self._limiter.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))


def token_id_of(token: str | None) -> str | None:
    """The id part of a ``previ_<id>_<secret>`` token (unverified), or None."""
    parts = (token or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1].isalnum() or len(parts[1]) > 16:
        return None
    return parts[1]
