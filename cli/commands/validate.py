"""``previ validate``: check a data bundle folder and list every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.commands import console, handles_errors
from cli.commands.engine import (
    Engine,
    EngineOption,
    MemoryOption,
    SchedulerOption,
    WorkersOption,
    dask_session,
)
from features.schemas import TABLES
from previ.config import load_config
from previ.errors import PreviError

if TYPE_CHECKING:
    from features.load import ValidationReport


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the previ app."""

    @app.command("validate")
    @handles_errors
    def validate(
        directory: Annotated[
            Path | None,
            typer.Argument(help="Bundle folder (default: data.dir of the config).", show_default=False),
        ] = None,
        config: Annotated[
            Path | None, typer.Option("--config", help="previ.yaml (default: ./previ.yaml if present).")
        ] = None,
        engine: EngineOption = Engine.pandas,
        scheduler: SchedulerOption = None,
        workers: WorkersOption = 2,
        memory_limit: MemoryOption = "auto",
    ) -> None:
        """Check every table of a data bundle and list every problem at once (exit 2 if any).

        With --engine dask the folder is a partitioned bundle (previ partition),
        checked bucket by bucket; problem lines name the bucket.
        """
        previ_settings = load_config(config)
        settings = previ_settings.data
        if engine is Engine.dask:
            from scale.validate import validate_partitioned

            data_dir = directory or settings.dir
            with dask_session(data_dir, scheduler, workers, memory_limit, "validate") as session:
                report = validate_partitioned(
                    session.client, previ_settings, data_dir=data_dir, progress=session.progress
                )
        else:
            from features.load import validate_bundle

            report = validate_bundle(
                directory or settings.dir,
                audit_columns=settings.audit_columns,
                extraction_date=settings.extraction_date,
            )
        console.print(summary_table(report))
        for line in report.warnings:
            console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
        for line in report.absent:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        if report.problems:
            raise PreviError(*report.problems)
        console.print(f"{report.directory}: bundle OK", markup=False, highlight=False)


def summary_table(report: ValidationReport) -> Table:
    """One row per table of the bundle: its file, format, rows and columns, or that it is absent."""
    title = f"{report.directory} (extraction date {report.extraction_date.isoformat()})"
    table = Table("table", "file", "format", "rows", "columns", title=title)
    files = {file.table: file for file in report.files}
    for name in TABLES:
        file = files.get(name)
        if file is None:
            table.add_row(name, "not read" if name in report.unread_tables else "absent", "", "", "")
        else:
            table.add_row(name, file.path.name, file.file_format, f"{file.rows:,}", str(file.columns))
    return table
