"""The ``--engine`` options shared by the commands that run on Dask, and ``previ partition``.

``--engine pandas`` (the default) runs in this process on an ordinary bundle.
``--engine dask`` runs one task per bucket of a partitioned bundle (written by
``previ partition``), on the cluster at ``--scheduler``, else on a LocalCluster
of ``--workers`` processes with ``--memory-limit`` each. The Dask dashboard
address is printed, and the progress bar counts buckets.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from rich.table import Table

from cli.commands import console, error_console, handles_errors, progress_bar


class Engine(enum.StrEnum):
    """Where the work runs."""

    pandas = "pandas"
    dask = "dask"


EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine", help="pandas (one process) or dask (a partitioned bundle, see previ partition)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="With --engine dask: a Dask scheduler address (default: a local cluster)."
    ),
]
WorkersOption = Annotated[
    int, typer.Option("--workers", help="With --engine dask and no --scheduler: local worker processes.")
]
MemoryOption = Annotated[
    str,
    typer.Option(
        "--memory-limit", help="With --engine dask and no --scheduler: memory per local worker, e.g. 6GiB."
    ),
]


class DaskSession(NamedTuple):
    """A Dask client and the progress bar's two callbacks."""

    client: Any
    progress: Callable[[int, int], None]
    """Counts buckets: called with (done, in all)."""
    report: Callable[[str], None]
    """Names the current step."""


@contextmanager
def dask_session(
    data: Path | None, scheduler: str | None, workers: int, memory_limit: str, step: str
) -> Iterator[DaskSession]:
    """A Dask client (dashboard address printed) and progress callbacks (buckets, steps).

    ``data`` (None when the command writes the partitioned bundle) is checked
    to be a partitioned bundle before any cluster starts.
    """
    from scale.cluster import ClusterOptions, dask_client
    from scale.partition import partition_dirs

    if data is not None:
        partition_dirs(data)
    options = ClusterOptions(scheduler=scheduler, workers=workers, memory_limit=memory_limit)
    with dask_client(options) as client:
        served = "dashboard" in client.scheduler_info().get("services", {})
        dashboard = client.dashboard_link if served else "none (the scheduler serves no dashboard)"
        error_console.print(f"dask dashboard: {dashboard}", markup=False, highlight=False)
        with progress_bar() as bar:
            task = bar.add_task(f"{step}: starting", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, description=f"{step}: {done:,}/{total:,} buckets")

            def report(text: str) -> None:
                bar.update(task, description=f"{step}: {text}")

            yield DaskSession(client, advance, report)


def register(app: typer.Typer) -> None:
    """Add ``previ partition`` to the app."""
    app.command("partition")(partition_command)


@handles_errors
def partition_command(
    data: Annotated[Path, typer.Option("--data", help="Folder of an ordinary data bundle.")],
    out: Annotated[Path, typer.Option("--out", help="Folder of the partitioned bundle to write.")],
    partitions: Annotated[
        int, typer.Option("--partitions", help="Number of buckets (aim at 20,000-100,000 young people each).")
    ],
) -> None:
    """Split a bundle by a hash of the youth id into buckets, for --engine dask.

    Every table of a young person lands in one bucket, so point-in-time windows
    never cross buckets. Example:

        previ partition --data data/synthetic --out data/synthetic-parts --partitions 16
    """
    from scale.partition import partition_bundle

    summary = partition_bundle(data, out, partitions)
    table = Table("table", "rows", title=f"previ partition: {summary.out_dir} ({summary.partitions} buckets)")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    youth = summary.youth_per_partition
    table.caption = f"young people per bucket: {min(youth):,} to {max(youth):,}"
    console.print(table)
