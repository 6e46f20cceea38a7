"""``previ synth``: write a synthetic data bundle with a known truth.

Defaults come from the ``synth`` section of previ.yaml (:class:`previ.config.SynthConfig`);
every option given on the command line overrides its key. The label horizon of
the truth file is the config's ``features.horizon_days``.
"""

from __future__ import annotations

import enum
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.commands import console, handles_errors, split_list
from previ.config import load_config, parse_config
from synthetic.synth import Format, SynthSummary, synthesize


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
    ) -> None:
        """Write a synthetic bundle (Mexican municipalities, ages 11-19) with its truth file.

        The truth file gives each young person's true probability of an adverse
        outcome within the horizon, the main driver of their need and the need
        itself: what a model trained on the bundle should recover.
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
        synth_config = parse_config({"synth": synth_section}, source="synth options").synth
        summary = synthesize(
            synth_config,
            out if out is not None else settings.data.dir,
            fmt=FORMATS[fmt],
            horizon_days=settings.features.horizon_days,
            lottery=settings.allocation.lottery_band,
        )
        _print_summary(summary)


def _print_summary(summary: SynthSummary) -> None:
    table = Table(title=f"previ synth: {summary.out_dir}", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    table.add_row("truth", f"{summary.truth_rows:,}")
    console.print(table)
    as_of = ", ".join(day.isoformat() for day in summary.as_of) or "none (the bundle is too short)"
    console.print(f"from {summary.start} to {summary.extraction_date}; as_of dates: {as_of}")
    if not math.isnan(summary.outcome_rate):
        console.print(
            f"adverse outcome within the horizon: {summary.outcome_rate:.1%} of truth rows "
            f"(mean true probability {summary.mean_true_probability:.1%})"
        )
    console.print(f"written to {summary.out_dir} ({summary.format})")
