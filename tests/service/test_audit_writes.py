"""Audit writes under concurrency: group commit, failures that fail the whole batch, several processes.

Whatever the batching, the promise holds: a write that returned is durable, one
that raised left no row, and the hash chain stays one chain.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog, AuditUnavailable, audit_table
from service.group_commit import GroupCommit
from service.pseudonym import Pseudonym

KEY = b"k" * 32


def _access(detail: str) -> Access:
    return Access(endpoint="/v1/scores", method="POST", outcome="allowed", status=200, detail=detail)


def test_requests_that_arrive_during_a_commit_share_the_next_one() -> None:
    batches: list[list[int]] = []
    first_started = threading.Event()
    commit: GroupCommit[int]

    def slow_commit(items: list[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first_started.set()
            deadline = time.monotonic() + 10
            while len(commit._queue) < 5 and time.monotonic() < deadline:  # the others queue meanwhile
                time.sleep(0.001)
        return [item * 10 for item in items]

    commit = GroupCommit(slow_commit)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(commit.submit, 0)
        first_started.wait(10)
        others = [pool.submit(commit.submit, item) for item in range(1, 6)]
        results = [first.result(), *(future.result() for future in others)]
    assert results == [0, 10, 20, 30, 40, 50]
    assert batches[0] == [0] and sorted(batches[1]) == [1, 2, 3, 4, 5] and commit.batches == 2


def test_a_failed_commit_fails_every_request_of_its_batch_and_no_other() -> None:
    def commit(items: list[str]) -> list[str]:
        if "bad" in items:
            raise RuntimeError("disk full")
        return items

    group: GroupCommit[str] = GroupCommit(commit, max_items=1)
    assert group.submit("good") == "good"
    with pytest.raises(RuntimeError, match="disk full"):
        group.submit("bad")
    assert group.submit("again") == "again"


def test_coroutines_share_a_commit_with_each_other_and_with_threads() -> None:
    """submit_async: the writer thread batches what coroutines (and a waiting thread) queued meanwhile."""
    batches: list[list[int]] = []
    first_started = threading.Event()
    commit: GroupCommit[int]

    def slow_commit(items: list[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first_started.set()
            deadline = time.monotonic() + 10
            while len(commit._queue) < 5 and time.monotonic() < deadline:
                time.sleep(0.001)
        if 13 in items:
            raise RuntimeError("disk full")
        return [item * 10 for item in items]

    commit = GroupCommit(slow_commit)

    async def scenario() -> tuple[list[int], BaseException | None]:
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(commit.submit_async(0))
        await loop.run_in_executor(None, first_started.wait, 10)
        thread = loop.run_in_executor(None, commit.submit, 4)
        others = [asyncio.ensure_future(commit.submit_async(item)) for item in (1, 2, 3, 5)]
        results = await asyncio.gather(first, *others, thread)
        failed = None
        try:
            await commit.submit_async(13)
        except RuntimeError as error:
            failed = error
        return list(results), failed

    results, failed = asyncio.run(scenario())
    assert results == [0, 10, 20, 30, 50, 40]
    assert batches[0] == [0] and sorted(batches[1]) == [1, 2, 3, 4, 5]
    assert isinstance(failed, RuntimeError) and batches[-1] == [13] and commit.batches == 2


def test_an_awaited_audit_write_is_durable_when_it_returns(store_url: str) -> None:
    log = AuditLog(store_url, key=KEY)

    async def write_all() -> None:
        await asyncio.gather(*(log.record_async(_access(f"a{index}"), [None]) for index in range(40)))

    asyncio.run(write_all())
    with log.engine.connect() as connection:
        details = connection.execute(select(audit_table.c.detail)).scalars().all()
    assert sorted(details) == sorted(f"a{index}" for index in range(40))
    assert log.batches < 40  # they shared commits
    assert verify_chain(log, KEY).intact


def test_concurrent_writes_are_durable_exactly_when_they_return(store_url: str) -> None:
    """A trigger refuses rows marked 'boom': their batch fails whole; every row that returned is there."""
    log = AuditLog(store_url, key=KEY, fsync=False)
    log.record(_access("first"))  # creates the tables
    with log.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.detail LIKE 'boom%' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END "
                    "$$ LANGUAGE plpgsql"
                )
            )
            trigger = "CREATE TRIGGER boom BEFORE INSERT ON audit_log FOR EACH ROW"
            connection.execute(text(f"{trigger} EXECUTE FUNCTION refuse_boom()"))
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON audit_log WHEN NEW.detail LIKE 'boom%' "
                    "BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
    details = [f"boom-{index}" if index % 7 == 3 else f"ok-{index}" for index in range(120)]

    def write(detail: str) -> bool:
        try:
            log.record(_access(detail), [Pseudonym(detail)])
        except AuditUnavailable:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        returned = dict(zip(details, pool.map(write, details), strict=True))
    with log.engine.connect() as connection:
        stored = set(connection.execute(select(audit_table.c.detail)).scalars())
    assert all(not returned[detail] for detail in details if detail.startswith("boom"))
    assert {detail for detail, ok in returned.items() if ok} == stored - {"first"}
    assert any(returned.values())
    assert verify_chain(log, KEY).intact
    log.engine.dispose()


def _write_rows(url: str, worker: int, rows: int) -> None:
    log = AuditLog(url, key=KEY, fsync=False)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda index: log.record(_access(f"w{worker}-{index}")), range(rows)))
    log.engine.dispose()


def test_writers_in_several_processes_keep_one_chain(store_url: str) -> None:
    AuditLog(store_url, key=KEY).writable()  # the tables exist before the processes race
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_write_rows, args=(store_url, worker, 40)) for worker in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    log = AuditLog(store_url, key=KEY)
    with log.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_table)).scalar_one() == 120
    report = verify_chain(log, KEY)
    assert report.intact and report.rows == 120, report.problem
    log.engine.dispose()
