"""`previ features`: build the point-in-time matrix, or list the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.commands import console, handles_errors, split_list
from cli.commands.engine import (
    Engine,
    EngineOption,
    MemoryOption,
    SchedulerOption,
    WorkersOption,
    dask_session,
)
from features.registry import Language
from previ.config import load_config
from previ.errors import PreviError

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults).")
]


def register(app: typer.Typer) -> None:
    """Add `previ features` to the app."""
    app.command("features")(features_command)


@handles_errors
def features_command(
    data: Annotated[Path | None, typer.Option("--data", help="Folder of the data bundle.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Comma-separated ISO dates, e.g. 2023-08-01,2024-02-01 (default: config)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output file, .parquet or .csv.")] = None,
    list_features: Annotated[
        bool, typer.Option("--list", help="Print the feature registry and exit.")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="With --list: print the Markdown data dictionary.")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of --list: es or en.")] = "es",
    config: ConfigOption = None,
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    memory_limit: MemoryOption = "auto",
) -> None:
    """Build point-in-time features and labels, one row per (youth_id, as_of).

    A feature at as_of uses only events dated strictly before as_of; the label
    looks at [as_of, as_of + horizon). Example:

        previ features --data data/synthetic --as-of 2023-08-01,2024-02-01 --out features.parquet

    With --engine dask, --data is a partitioned bundle (previ partition) and
    --out a Parquet dataset (a folder of one file per bucket).
    """
    if list_features:
        _print_registry(_language(lang), markdown)
        return
    settings = load_config(config)
    if out is None:
        raise PreviError("features: --out FILE is required (a .parquet or .csv path), or use --list")
    dates = _parse_dates(as_of) if as_of else list(settings.features.as_of)
    if engine is Engine.dask:
        from features.pipeline import summarise_counts
        from scale.features import check_dataset_out, write_feature_dataset

        check_dataset_out(out)
        data_dir = data or settings.data.dir
        with dask_session(data_dir, scheduler, workers, memory_limit, "features") as session:
            dataset = write_feature_dataset(
                session.client, settings, data_dir=data_dir, as_of=dates, out=out, progress=session.progress
            )
        console.print(summarise_counts(dataset.counts, len(dataset.features), dataset.removed, out))
        return
    from features.pipeline import summarise_matrix, write_feature_matrix

    matrix = write_feature_matrix(settings, data_dir=data, as_of=dates, out=out)
    console.print(summarise_matrix(matrix, out))


def _language(value: str) -> Language:
    if value not in ("es", "en"):
        raise PreviError(f"--lang: expected es or en, got {value!r}")
    return "es" if value == "es" else "en"


def _parse_dates(text: str) -> list[dt.date]:
    dates = []
    for item in split_list(text):
        try:
            dates.append(dt.date.fromisoformat(item))
        except ValueError:
            raise PreviError(f"--as-of: {item!r} is not an ISO date (YYYY-MM-DD)") from None
    return dates


def _print_registry(language: Language, markdown: bool) -> None:
    from features.dictionary import data_dictionary_markdown, registry_headers, registry_rows

    if markdown:
        console.print(data_dictionary_markdown(), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(*registry_headers(language), show_lines=False)
    for row in registry_rows(language):
        table.add_row(*row)
    console.print(table)
