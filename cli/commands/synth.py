"""``previ synth``: write a synthetic data bundle with a known truth.

Defaults come from the ``synth`` section of previ.yaml (:class:`previ.config.SynthConfig`);
every option given on the command line overrides its key. The label horizon of
the truth file is the config's ``features.horizon_days``.
"""

from __future__ import annotations

import enum
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from previ.config import load_config, parse_config
from previ.errors import PreviError

if TYPE_CHECKING:
    from scale.synth import PartitionedSynthSummary
    from synthetic.synth import Format, SynthSummary


class BundleFormat(enum.StrEnum):
    """File format of the bundle's tables."""

    parquet = "parquet"
    csv = "csv"


FORMATS: dict[BundleFormat, Format] = {BundleFormat.parquet: "parquet", BundleFormat.csv: "csv"}


def register(app: typer.Typer) -> None:
    """Add ``previ synth`` to the previ app."""

    @app.command("synth")
    @handles_errors
    def synth(
        out: Annotated[
            Path | None, typer.Option("--out", help="Folder to write; default: data.dir of the config.")
        ] = None,
        youth: Annotated[int | None, typer.Option("--youth", help="Number of young people.")] = None,
        years: Annotated[int | None, typer.Option("--years", help="Years simulated, from 1 August.")] = None,
        seed: Annotated[
            int | None, typer.Option("--seed", help="Random seed: same seed, same bytes.")
        ] = None,
        start_year: Annotated[
            int | None, typer.Option("--start-year", help="The simulation starts on 1 August of this year.")
        ] = None,
        bias_municipality: Annotated[
            str | None,
            typer.Option("--bias-municipality", help="Record minor justice contacts more often here."),
        ] = None,
        bias_group: Annotated[
            str | None,
            typer.Option("--bias-group", help="Audit column (e.g. indigenous): its youth are over-recorded."),
        ] = None,
        bias_rate: Annotated[
            float | None, typer.Option("--bias-rate", help="How many times more often (default 2).")
        ] = None,
        drop_tables: Annotated[
            str | None,
            typer.Option("--drop-tables", help="Optional tables to leave out, comma-separated."),
        ] = None,
        program_effects: Annotated[
            str | None,
            typer.Option(
                "--program-effects",
                help="True programme effects: default, none, or a YAML file (truth_effects.json).",
            ),
        ] = None,
        allocation: Annotated[
            str | None,
            typer.Option(
                "--allocation",
                help="referral (default) or rank: places each month by rank within capacity, with "
                "allocation.lottery_band of the config around the cut-off (previ evaluate --design).",
            ),
        ] = None,
        fmt: Annotated[BundleFormat, typer.Option("--format", help="File format of the tables.")] = (
            BundleFormat.parquet
        ),
        config: Annotated[
            Path | None, typer.Option("--config", help="previ.yaml; default ./previ.yaml if present.")
        ] = None,
        engine: EngineOption = Engine.pandas,
        partitions: Annotated[
            int | None,
            typer.Option("--partitions", help="With --engine dask: buckets to write (a partitioned bundle)."),
        ] = None,
        scheduler: SchedulerOption = None,
        workers: WorkersOption = 2,
        memory_limit: MemoryOption = "auto",
    ) -> None:
        """Write a synthetic bundle (Mexican municipalities, ages 11-19) with its truth file.

        The truth file gives each young person's true probability of an adverse
        outcome within the horizon, the main driver of their need and the need
        itself: what a model trained on the bundle should recover.

        With --engine dask --partitions N the bundle is simulated bucket by
        bucket on the workers and written as a partitioned bundle (each bucket
        with its own truth file), ready for the other commands' --engine dask.
        """
        settings = load_config(config)
        overrides: dict[str, Any] = {
            "youth": youth,
            "years": years,
            "seed": seed,
            "start_year": start_year,
            "bias_municipality": bias_municipality,
            "bias_group": bias_group,
            "bias_rate": bias_rate,
            "program_effects": program_effects,
            "allocation": allocation,
            "drop_tables": None if drop_tables is None else tuple(split_list(drop_tables)),
        }
        synth_section = {
            **settings.synth.model_dump(),
            **{key: value for key, value in overrides.items() if value is not None},
        }
        from synthetic.synth import synthesize

        synth_config = parse_config({"synth": synth_section}, source="synth options").synth
        target = out if out is not None else settings.data.dir
        if engine is Engine.dask:
            if partitions is None:
                raise PreviError("synth: --engine dask needs --partitions N (the number of buckets to write)")
            from scale.synth import bucket_sizes, synthesize_partitioned

            bucket_sizes(synth_config.youth, partitions)  # a bad count fails before any cluster starts
            with dask_session(None, scheduler, workers, memory_limit, "synth") as session:
                written = synthesize_partitioned(
                    session.client,
                    synth_config,
                    target,
                    partitions,
                    fmt=FORMATS[fmt],
                    horizon_days=settings.features.horizon_days,
                    progress=session.progress,
                )
            _print_partitioned(written)
            return
        if partitions is not None:
            raise PreviError("synth: --partitions goes with --engine dask")
        summary = synthesize(
            synth_config,
            target,
            fmt=FORMATS[fmt],
            horizon_days=settings.features.horizon_days,
            lottery=settings.allocation.lottery_band,
        )
        _print_summary(summary)


def _print_partitioned(summary: PartitionedSynthSummary) -> None:
    first = summary.buckets[0]
    _print_rows(f"previ synth: {summary.partitions:,} buckets", summary.rows, summary.truth_rows)
    youth = summary.youth_per_partition
    console.print(f"young people per bucket: {min(youth):,} to {max(youth):,}")
    _print_dates(first)
    console.print(f"written to {summary.out_dir} (a partitioned bundle for --engine dask)")


def _print_rows(title: str, rows: dict[str, int], truth_rows: int) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in rows.items():
        table.add_row(name, f"{count:,}")
    table.add_row("truth", f"{truth_rows:,}")
    console.print(table)


def _print_dates(summary: SynthSummary) -> None:
    as_of = ", ".join(day.isoformat() for day in summary.as_of) or "none (the bundle is too short)"
    console.print(f"from {summary.start} to {summary.extraction_date}; as_of dates: {as_of}")


def _print_summary(summary: SynthSummary) -> None:
    _print_rows(f"previ synth: {summary.out_dir}", summary.rows, summary.truth_rows)
    _print_dates(summary)
    if not math.isnan(summary.outcome_rate):
        console.print(
            f"adverse outcome within the horizon: {summary.outcome_rate:.1%} of truth rows "
            f"(mean true probability {summary.mean_true_probability:.1%})"
        )
    console.print(f"written to {summary.out_dir} ({summary.format})")
