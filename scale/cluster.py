"""Connect to a Dask cluster, or start a local one, and run one task per bucket.

No cluster code of our own: a scheduler address means a cluster someone
started (``dask scheduler`` and ``dask worker``, dask-kubernetes, dask-jobqueue;
see docs/scale.md); without one, a :class:`distributed.LocalCluster` of worker
processes on this machine. Each worker runs one task at a time by default
(``threads=1``), so its memory is bounded by the cost of one bucket, and the
worker memory limit makes Dask pause, spill or restart a worker that
overruns it rather than let the machine swap.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from previ.errors import PreviError

__all__ = ["ClusterOptions", "Progress", "dask_client", "run_per_partition"]

T = TypeVar("T")
Progress = Callable[[int, int], None]
"""Called with (buckets done, buckets in all) as tasks finish."""

CONNECT_TIMEOUT = "30s"
WORKER_DIED = (
    "dask: the workers running {task} died (out of memory?); use more buckets (previ partition "
    "--partitions) or a higher worker memory limit"
)


@dataclass(frozen=True)
class ClusterOptions:
    """Where to run: a scheduler address, or the shape of a local cluster."""

    scheduler: str | None = None
    workers: int = 2
    threads: int = 1
    memory_limit: str = "auto"
    """Per worker, e.g. "6GiB" ("auto": the machine's memory shared among the workers)."""


@contextmanager
def dask_client(options: ClusterOptions) -> Iterator[Any]:
    """A :class:`distributed.Client` on the scheduler, or on a LocalCluster closed on exit.

    Raises PreviError when the scheduler does not answer or the local cluster's
    options are invalid.
    """
    from dask.distributed import Client, LocalCluster

    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            raise PreviError(f"--scheduler: cannot reach {options.scheduler} ({error})") from None
        try:
            yield client
        finally:
            client.close()
        return
    if options.workers < 1 or options.threads < 1:
        raise PreviError(f"--workers: expected at least 1, got {options.workers}")
    try:
        cluster = LocalCluster(
            n_workers=options.workers,
            threads_per_worker=options.threads,
            memory_limit=options.memory_limit,
            processes=True,
            silence_logs=logging.ERROR,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
        )
    except (ValueError, TypeError) as error:
        raise PreviError(f"--memory-limit: {options.memory_limit!r} is not a size ({error})") from None
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def run_per_partition(
    client: Any,
    task: Callable[..., T],
    partitions: Sequence[Any],
    *shared: Any,
    progress: Progress | None = None,
) -> list[T]:
    """``task(partition, *shared)`` for every partition on the cluster; results in partition order.

    ``shared`` values are sent to the workers once, not once per task. A
    PreviError raised by a task reaches the caller as a PreviError (its lines
    intact), and so does a task whose workers kept dying (Dask retries it on
    other workers first); the remaining tasks are cancelled.
    """
    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker

    run = uuid.uuid4().hex[:12]
    scattered = [client.scatter(value, broadcast=True, hash=False) for value in shared]
    futures = [
        client.submit(task, partition, *scattered, key=f"{task.__name__}-{run}-{index:05d}")
        for index, partition in enumerate(partitions)
    ]
    if progress is not None:
        progress(0, len(futures))
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            if future.status == "error":
                error = future.exception()
                if isinstance(error, PreviError):
                    raise PreviError(*str(error).splitlines()) from None
                if isinstance(error, KilledWorker):
                    raise PreviError(WORKER_DIED.format(task=future.key)) from None
                raise error
            if progress is not None:
                progress(done, len(futures))
        return [future.result() for future in futures]
    finally:
        client.cancel(futures)
