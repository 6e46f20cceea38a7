"""`previ score`: a batch snapshot of everyone of programme age at one date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.commands import console, handles_errors, parse_date
from cli.commands.engine import (
    Engine,
    EngineOption,
    MemoryOption,
    SchedulerOption,
    WorkersOption,
    dask_session,
)
from previ.config import load_config


def register(app: typer.Typer) -> None:
    app.command("score")(score_command)


@handles_errors
def score_command(
    as_of: Annotated[str, typer.Option("--as-of", help="The date the scores describe (YYYY-MM-DD).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Data bundle folder (default: data.dir).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    memory_limit: MemoryOption = "auto",
) -> None:
    """Score everyone of programme age at --as-of with the champion, with reasons, into a snapshot.

    The snapshot (Parquet under service.snapshot_dir, and the SQL tables that
    GET /v1/youth/{id}/score reads) is added beside the earlier ones. With
    --engine dask, --data is a partitioned bundle (previ partition), scored
    bucket by bucket with the same results.
    """
    from service.batch import write_snapshot

    date = parse_date("--as-of", as_of)
    settings = load_config(config)
    if engine is Engine.dask:
        from service.batch_dask import partitioned_scorer

        data_dir = data or settings.data.dir
        with dask_session(data_dir, scheduler, workers, memory_limit, "score") as session:
            summary = write_snapshot(
                settings,
                data_dir=data_dir,
                as_of=date,
                scorer=partitioned_scorer(session.client, session.progress),
            )
    else:
        summary = write_snapshot(settings, data_dir=data or settings.data.dir, as_of=date)
    table = Table("tier", "young people", title=f"snapshot {summary.snapshot_id}: {summary.rows:,} scored")
    for tier, count in summary.tiers.items():
        table.add_row(tier, f"{count:,}")
    timings = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in summary.seconds.items())
    table.caption = f"as of {summary.as_of}, model v{summary.model_version}" + (
        f"; {timings}" if timings else ""
    )
    console.print(table)
    how = "Reused the identical snapshot" if summary.reused else "Snapshot"
    console.print(f"{how}: {Path(summary.folder).absolute()}", soft_wrap=True, markup=False)
