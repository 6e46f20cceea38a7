"""Group commit: the audit rows of concurrent requests share one transaction, and so one fsync.

A synced commit costs one or more fsyncs (about 28 ms with SQLite's rollback
journal on the reference machine), so one transaction per request caps a worker
at a few dozen audited requests a second, whatever the CPU. :class:`GroupCommit`
lets the requests that arrive while a commit is under way wait together: when
it ends, one of them (the leader) commits every waiting request's rows in one
transaction, and all of them return once it is durable. Nothing is
acknowledged early: a request returns only after the transaction holding its
own rows committed, and when that commit fails every request of the batch gets
the error (the service answers each with 503). No thread of its own and no
timer: an idle writer adds no delay, and a busy one batches by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")


@dataclass(eq=False)
class _Waiting(Generic[Item]):
    item: Item
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    size: int = field(default=1)


class GroupCommit(Generic[Item]):
    """Run ``commit(items)`` for batches of submitted items; :meth:`submit` returns its item's result.

    ``commit`` receives the batch in arrival order and returns one result per
    item (or raises, failing the whole batch). At most ``max_items`` items share
    a batch; ``max_items=1`` commits each item on its own (what group commit
    saves is measured against that). ``size`` weighs an item (its rows) against
    ``max_rows``.
    """

    def __init__(
        self,
        commit: Callable[[Sequence[Item]], Sequence[Any]],
        *,
        max_items: int = 1_000,
        max_rows: int = 5_000,
        size: Callable[[Item], int] = lambda _: 1,
    ) -> None:
        if max_items < 1 or max_rows < 1:
            raise ValueError("max_items and max_rows must be at least 1")
        self._commit = commit
        self._max_items = max_items
        self._max_rows = max_rows
        self._size = size
        self._queue: list[_Waiting[Item]] = []
        self._busy = False
        self._changed = threading.Condition()
        self.batches = 0

    def submit(self, item: Item) -> Any:
        """Queue ``item``, wait until a committed batch holds it, and return its result (or raise)."""
        waiting = _Waiting(item, size=self._size(item))
        with self._changed:
            self._queue.append(waiting)
            while not waiting.done:
                if self._busy:
                    self._changed.wait()
                    continue
                batch = self._take()
                self._busy = True
                self._changed.release()
                try:
                    self._run(batch)
                finally:
                    self._changed.acquire()
                    self._busy = False
                    self._changed.notify_all()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result

    def _take(self) -> list[_Waiting[Item]]:
        """The oldest waiting items, up to the limits (always at least one)."""
        count, rows = 0, 0
        for waiting in self._queue:
            if count and (count >= self._max_items or rows + waiting.size > self._max_rows):
                break
            count += 1
            rows += waiting.size
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    def _run(self, batch: list[_Waiting[Item]]) -> None:
        """Commit ``batch`` and hand each item its result or the batch's error (never raises)."""
        try:
            results = list(self._commit([waiting.item for waiting in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"commit returned {len(results)} results for {len(batch)} items")
        except BaseException as error:  # every waiting request must learn the outcome, whatever it is
            for waiting in batch:
                waiting.error, waiting.done = error, True
            return
        self.batches += 1
        for waiting, result in zip(batch, results, strict=True):
            waiting.result, waiting.done = result, True
