"""Audit writes under concurrency: group commit, failures that fail the whole batch, several processes.

Whatever the batching, the promise holds: a write that returned is durable, one
that raised left no row, and the hash chain stays one chain.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog, AuditUnavailable, audit_table
from service.group_commit import GroupCommit, LoopGroupCommit
from service.pseudonym import Pseudonym
from tests.databases import postgres_schema

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


def test_on_the_event_loop_writes_that_arrive_during_a_commit_share_the_next_one() -> None:
    """LoopGroupCommit: no thread; a failed commit fails its batch only; a stopped writer fails the rest."""
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def commit(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            await release.wait()  # the others queue meanwhile
        if 13 in items:
            raise RuntimeError("disk full")
        return [item * 10 for item in items]

    group: LoopGroupCommit[int] = LoopGroupCommit(commit)

    async def scenario() -> tuple[list[int], BaseException | None, list[int]]:
        first = asyncio.ensure_future(group.submit(0))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the drain task took item 0 and waits in its commit
        others = [asyncio.ensure_future(group.submit(item)) for item in (1, 2, 3)]
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(first, *others)
        failed = None
        try:
            await group.submit(13)
        except RuntimeError as error:
            failed = error
        return list(results), failed, [await group.submit(4)]

    results, failed, after = asyncio.run(scenario())
    assert results == [0, 10, 20, 30] and after == [40]
    assert batches[:2] == [[0], [1, 2, 3]] and batches[2:] == [[13], [4]]
    assert isinstance(failed, RuntimeError) and group.batches == 3


def test_on_the_event_loop_a_writer_stopped_mid_commit_fails_its_waiting_requests() -> None:
    started = asyncio.Event()

    async def never(items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.sleep(3600)
        return list(items)

    group: LoopGroupCommit[int] = LoopGroupCommit(never)

    async def scenario() -> list[BaseException | int]:
        waiting = [asyncio.ensure_future(group.submit(item)) for item in (1, 2)]
        await started.wait()
        late = asyncio.ensure_future(group.submit(3))
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task.get_coro().__qualname__ == "LoopGroupCommit._drain":  # type: ignore[union-attr]
                task.cancel()
        return await asyncio.gather(*waiting, late, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes


def test_awaited_writes_are_durable_exactly_when_they_return(store_url: str) -> None:
    """record_async under a trigger that refuses 'boom' rows: failed batches leave nothing, the rest stays."""
    log = AuditLog(store_url, key=KEY, fsync=False, max_batch_rows=3)  # small batches: some hold no boom
    log.record(_access("first"))  # creates the tables
    _refuse_boom(log)
    details = [f"boom-{index}" if index % 7 == 3 else f"ok-{index}" for index in range(120)]

    async def write(detail: str) -> bool:
        await asyncio.sleep(0.001 * (hash(detail) % 5))
        try:
            await log.record_async(_access(detail), [Pseudonym(detail)])
        except AuditUnavailable:
            return False
        return True

    async def write_all() -> list[bool]:
        returned = await asyncio.gather(*(write(detail) for detail in details))
        await log.close_on_loop()
        return returned

    returned = dict(zip(details, asyncio.run(write_all()), strict=True))
    _assert_durable_exactly_when_returned(log, returned)


def test_awaited_writes_keep_any_text_exactly(store_url: str) -> None:
    """Quotes, backslashes, SQL and non-Latin text reach the table as sent, and the chain holds."""
    log = AuditLog(store_url, key=KEY)
    texts = ["it's", 'say "no"', "back\\slash \\x27", "'); DROP TABLE audit_log; --", "niña ñandú 🙂", "a\tb"]

    async def write_all() -> None:
        await asyncio.gather(*(log.record_async(_access(text_)) for text_ in texts))
        await log.close_on_loop()

    asyncio.run(write_all())
    with log.engine.connect() as connection:
        stored = connection.execute(select(audit_table.c.detail)).scalars().all()
    assert sorted(stored) == sorted(texts)
    assert verify_chain(log, KEY).intact
    log.engine.dispose()


def test_an_awaited_write_after_the_server_dropped_the_connection_reconnects() -> None:
    """The loop's connection ended by the server: that batch fails (a 503 upstream), the next reconnects."""
    with postgres_schema() as url:
        log = AuditLog(url, key=KEY)

        async def scenario() -> bool:
            await log.record_async(_access("before"))
            connection = next(iter(log._loop_connections._open.values()))  # the loop's own connection
            with log.engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.info.backend_pid})
            try:
                await log.record_async(_access("dropped"))
                written = True
            except AuditUnavailable:
                written = False
            await log.record_async(_access("after"))
            await log.close_on_loop()
            return written

        written = asyncio.run(scenario())
        with log.engine.connect() as connection:
            details = set(connection.execute(select(audit_table.c.detail)).scalars())
        assert not written and details == {"before", "after"}
        assert verify_chain(log, KEY).intact
        log.engine.dispose()


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
    _refuse_boom(log)
    details = [f"boom-{index}" if index % 7 == 3 else f"ok-{index}" for index in range(120)]

    def write(detail: str) -> bool:
        try:
            log.record(_access(detail), [Pseudonym(detail)])
        except AuditUnavailable:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        returned = dict(zip(details, pool.map(write, details), strict=True))
    _assert_durable_exactly_when_returned(log, returned)


def _assert_durable_exactly_when_returned(log: AuditLog, returned: dict[str, bool]) -> None:
    """Every 'boom' write failed, every write that returned is stored (beside 'first'), the chain holds."""
    with log.engine.connect() as connection:
        stored = set(connection.execute(select(audit_table.c.detail)).scalars())
    assert all(not ok for detail, ok in returned.items() if detail.startswith("boom"))
    assert {detail for detail, ok in returned.items() if ok} == stored - {"first"}
    assert any(returned.values())
    assert verify_chain(log, KEY).intact
    log.engine.dispose()


def _refuse_boom(log: AuditLog) -> None:
    """A trigger that refuses rows whose detail starts with 'boom' (so their whole batch fails)."""
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


def _write_rows(url: str, worker: int, rows: int) -> None:
    log = AuditLog(url, key=KEY, fsync=False)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda index: log.record(_access(f"w{worker}-{index}")), range(rows)))
    log.engine.dispose()


def _write_rows_awaited(url: str, worker: int, rows: int) -> None:
    """One worker's writes from its event loop, a few at a time, as the score route makes them."""
    log = AuditLog(url, key=KEY, fsync=False)

    async def write_all() -> None:
        for start in range(0, rows, 3):
            details = [f"w{worker}-{index}" for index in range(start, min(start + 3, rows))]
            await asyncio.gather(*(log.record_async(_access(detail)) for detail in details))
        await log.close_on_loop()

    asyncio.run(write_all())
    log.engine.dispose()


@pytest.mark.parametrize("writer", [_write_rows, _write_rows_awaited], ids=["threads", "event loops"])
def test_writers_in_several_processes_keep_one_chain(
    store_url: str, writer: Callable[[str, int, int], None]
) -> None:
    """Three processes race for the chain, from threads or, as workers do, from their event loops.

    On the loop each guesses where the chain ends (service.audit_sql.append_rows_async): a wrong guess
    must never fork it.
    """
    AuditLog(store_url, key=KEY).writable()  # the tables exist before the processes race
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=writer, args=(store_url, worker, 60)) for worker in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    log = AuditLog(store_url, key=KEY)
    with log.engine.connect() as connection:
        details = set(connection.execute(select(audit_table.c.detail)).scalars())
    assert details == {f"w{worker}-{index}" for worker in range(3) for index in range(60)}
    report = verify_chain(log, KEY)
    assert report.intact and report.rows == 180, report.problem
    log.engine.dispose()


def test_an_awaited_write_is_one_statement_while_the_chain_ends_where_it_left_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its own last row known: one round trip. Another writer appended meanwhile: it learns and chains on."""
    import psycopg

    sent: list[str] = []
    execute = psycopg.AsyncCursor.execute

    async def counted(self: psycopg.AsyncCursor[object], query: str, *args: object) -> object:
        sent.append("append" if "audit_append" in query else query.split(";")[0].split(" ")[0])
        return await execute(self, query, *args)  # type: ignore[call-overload]

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted)
    with postgres_schema() as url:
        worker, other = AuditLog(url, key=KEY), AuditLog(url, key=KEY)
        worker.record(_access("created"))  # the tables, and a chain end this worker's loop has not seen

        async def write(log: AuditLog, detail: str) -> list[str]:
            sent.clear()
            await log.record_async(_access(detail))
            await log.close_on_loop()
            return list(sent)

        first = asyncio.run(write(worker, "first"))
        second = asyncio.run(write(worker, "second"))
        asyncio.run(write(other, "by another worker"))
        third = asyncio.run(write(worker, "third"))
        assert first == ["append", "append"]  # nothing known: a miss that told the real end, then the rows
        assert second == ["append"]  # the one statement
        assert third == ["append", "append"]  # the other worker's row: a miss, then the rows chained to it
        monkeypatch.setattr("service.audit_sql.GUESSES", 0)  # no guess: the end read under the lock
        assert asyncio.run(write(worker, "fourth")) == ["BEGIN", "INSERT"]
        with worker.engine.connect() as connection:
            details = connection.execute(select(audit_table.c.detail).order_by(audit_table.c.id)).scalars()
            assert list(details) == ["created", "first", "second", "by another worker", "third", "fourth"]
        report = verify_chain(worker, KEY)
        assert report.intact and report.rows == 6, report.problem
        for log in (worker, other):
            log.engine.dispose()
