"""Leases keep shared rate counts off the hot path without loosening any limit (service.rate_limits)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from previ.errors import PreviError
from service import rate_limits
from service.rate_limits import LEASE_SECONDS, RateGuard, RateLimited
from tests.service.factories import service_settings


class Clock:
    """time.monotonic for the guards, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(rate_limits.time, "monotonic", fake)
    return fake


def guards(tmp_path: Path, store_url: str, limit: str, count: int = 2, **extra: object) -> list[RateGuard]:
    settings = service_settings(tmp_path, store_url, rate_limit_api=limit, rate_limit_storage="sql", **extra)
    return [RateGuard(settings) for _ in range(count)]


def shared_hits(guard: RateGuard, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cost of every hit the guard takes from the shared counts."""
    costs: list[int] = []
    acquire = guard.storage.acquire_entry

    def counted(key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        costs.append(amount)
        return acquire(key, limit, expiry, amount)

    monkeypatch.setattr(guard.storage, "acquire_entry", counted)
    return costs


def test_a_busy_key_takes_few_shared_hits_and_the_shared_count_never_undercounts(
    store_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = guards(tmp_path, store_url, "100000/hour")
    costs = [shared_hits(first, monkeypatch), shared_hits(second, monkeypatch)]
    served = 0
    for step in range(2_000):  # 2,000 requests over 1 s, alternating workers: 1,000 requests/s each
        clock.now += 0.0005
        (first, second)[step % 2].address("10.0.0.9")
        served += 1
    taken = sum(len(each) for each in costs)
    assert taken < served / 10  # one shared hit per lease, not per request
    assert max(max(each) for each in costs) > 1
    key = first._api.key_for("api", "10.0.0.9")
    _, counted = first.storage.get_moving_window(key, 100_000, 3_600)
    assert served <= counted <= served + 2 * 100_000 // rate_limits.LEASE_SHARE


def test_a_key_at_its_limit_is_refused_exactly_across_workers(
    store_url: str, tmp_path: Path, clock: Clock
) -> None:
    first, second = guards(tmp_path, store_url, "200/hour")
    admitted = 0
    with pytest.raises(RateLimited):
        for step in range(1_000):
            clock.now += 0.001
            (first, second)[step % 2].address("10.0.0.10")
            admitted += 1
    assert 200 - 2 * 200 // rate_limits.LEASE_SHARE <= admitted <= 200


def test_a_key_sending_a_request_now_and_then_is_counted_one_by_one(
    store_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    (guard,) = guards(tmp_path, store_url, "100000/hour", count=1)
    costs = shared_hits(guard, monkeypatch)
    for _ in range(20):
        clock.now += 3 * LEASE_SECONDS
        guard.token("abc123")
    assert costs == [1] * 20


def test_a_failure_counted_here_drops_the_cached_unlocked_answer(
    store_url: str, tmp_path: Path, clock: Clock
) -> None:
    first, second = guards(tmp_path, store_url, "100/minute", lockout_failures=2)
    first.check_unlocked("feed01")  # cached as unlocked in the first worker
    second.failed("feed01")
    second.failed("feed01")  # locked in the shared counts
    with pytest.raises(RateLimited, match="token_locked"):
        second.check_unlocked("feed01")
    first.check_unlocked("feed01")  # the documented lag: at most LOCK_CHECK_SECONDS ...
    clock.now += rate_limits.LOCK_CHECK_SECONDS
    with pytest.raises(RateLimited, match="token_locked"):
        first.check_unlocked("feed01")  # ... after which the lock holds here too
    third = guards(tmp_path, store_url, "100/minute", count=1, lockout_failures=2)[0]
    third.check_unlocked("feed02")
    third.failed("feed02")
    third.failed("feed02")
    with pytest.raises(RateLimited, match="token_locked"):
        third.check_unlocked("feed02")  # its own failure dropped the cached answer at once


def test_memory_counts_take_no_lease(tmp_path: Path, clock: Clock) -> None:
    settings = service_settings(tmp_path, rate_limit_api="50/hour", rate_limit_storage="memory://")
    guard = RateGuard(settings)
    for _ in range(50):
        guard.address("10.0.0.11")
    with pytest.raises(RateLimited):
        guard.address("10.0.0.11")


def test_a_busy_key_finds_its_next_lease_taken_ahead(
    store_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its first lease, a steady key's shared hits all happen in the background, never in a request."""
    pending: list[Callable[[], None]] = []
    settings = service_settings(tmp_path, store_url, rate_limit_api="100000/hour", rate_limit_storage="sql")
    guard = RateGuard(settings, background=pending.append)
    in_request: list[int] = []
    ahead: list[int] = []
    acquire = guard.storage.acquire_entry

    def counted(key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        (ahead if background_running else in_request).append(amount)
        return acquire(key, limit, expiry, amount)

    monkeypatch.setattr(guard.storage, "acquire_entry", counted)
    background_running = False
    for _ in range(3_000):  # 3,000 requests over 3 s
        clock.now += 0.001
        guard.address("10.0.0.12")
        background_running = True
        while pending:  # the thread takes the lease a little later, before the current one runs out
            pending.pop()()
        background_running = False
    assert len(in_request) <= 3  # the first hits, before the key's pace was known
    assert len(ahead) >= 25 and max(ahead) > 1
    key = guard._api.key_for("api", "10.0.0.12")
    _, shared = guard.storage.get_moving_window(key, 100_000, 3_600)
    assert 3_000 <= shared <= 3_000 + 100_000 // rate_limits.LEASE_SHARE


def test_a_lease_the_limit_cannot_grant_ahead_leaves_exact_hits(
    store_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Near the limit the lease taken ahead is refused; requests then count one by one and stop at it."""
    settings = service_settings(tmp_path, store_url, rate_limit_api="200/hour", rate_limit_storage="sql")
    guard = RateGuard(settings, background=lambda take: take())  # the background hit done at once
    admitted = 0
    with pytest.raises(RateLimited):
        for _ in range(1_000):
            clock.now += 0.001
            guard.address("10.0.0.13")
            admitted += 1
    assert 200 - 200 // rate_limits.LEASE_SHARE <= admitted <= 200


def test_a_failed_hit_ahead_is_the_requests_own_to_report(
    store_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counts unreachable: the hit ahead fails quietly; the request that needs a lease gets the error."""
    settings = service_settings(tmp_path, store_url, rate_limit_api="100000/hour", rate_limit_storage="sql")
    guard = RateGuard(settings, background=lambda take: take())
    for _ in range(50):
        clock.now += 0.001
        guard.address("10.0.0.14")

    def unreachable(*_args: object, **_kwargs: object) -> bool:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(guard.storage, "acquire_entry", unreachable)
    with pytest.raises(PreviError, match="rate limits: the counters cannot be read"):
        for _ in range(1_000):
            clock.now += 0.001
            guard.address("10.0.0.14")
