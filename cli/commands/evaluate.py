"""``previ evaluate``: did the programmes reduce the adverse outcome among the young people served?"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.commands import console, handles_errors, split_list
from previ.config import load_config
from previ.errors import PreviError

if TYPE_CHECKING:
    from evaluation.evaluate import Evaluation


def register(app: typer.Typer) -> None:
    """Add ``previ evaluate`` to the previ app."""

    @app.command("evaluate")
    @handles_errors
    def evaluate(
        out: Annotated[Path, typer.Option("--out", help="Folder for evaluation.json and the reports.")],
        data: Annotated[Path | None, typer.Option("--data", help="A data bundle (programmes table).")] = None,
        programs: Annotated[
            str | None,
            typer.Option("--programs", help="Programmes to evaluate, comma-separated (default all)."),
        ] = None,
        by: Annotated[
            str | None, typer.Option("--by", help="'municipality': per-municipality effects, pooled, Q test.")
        ] = None,
        table: Annotated[
            Path | None, typer.Option("--table", help="A flat table, one row per person.")
        ] = None,
        treatment: Annotated[
            str | None, typer.Option("--treatment", help="COLUMN=VALUE of the treated.")
        ] = None,
        control: Annotated[
            str | None, typer.Option("--control", help="COLUMN=VALUE of the comparison.")
        ] = None,
        label: Annotated[str | None, typer.Option("--label", help="Outcome column of the table.")] = None,
        positive: Annotated[
            str | None, typer.Option("--positive", help="Value of --label that is the outcome.")
        ] = None,
        id_column: Annotated[str | None, typer.Option("--id", help="Id column of the table.")] = None,
        exclude: Annotated[
            str | None, typer.Option("--exclude", help="Columns not to adjust for: globs, comma-separated.")
        ] = None,
        design: Annotated[
            str | None,
            typer.Option(
                "--design",
                help="rd or lottery: the effect at the capacity cut-off of a bundle allocated by rank.",
            ),
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the cross-fitting folds.")] = 0,
        config: Annotated[
            Path | None, typer.Option("--config", help="previ.yaml; default ./previ.yaml if present.")
        ] = None,
    ) -> None:
        """Estimate each programme's effect on the served (doubly robust), against the 15% goal.

        Writes evaluation.json, balance.csv and evaluation_es.html / evaluation_en.html
        to --out, and logs them as an MLflow run.
        """
        settings = load_config(config)
        from evaluation.evaluate import evaluate_bundle, evaluate_margin, evaluate_table, save
        from evaluation.margin import DESIGNS

        if (data is None) == (table is None):
            raise PreviError("evaluate: give either --data (a bundle) or --table (a flat table)")
        if by not in (None, "municipality"):
            raise PreviError(f"--by: expected municipality (got '{by}')")
        if design is not None and design not in DESIGNS:
            raise PreviError(f"--design: expected rd or lottery (got '{design}')")
        if design is not None and (data is None or programs is not None or by is not None):
            raise PreviError("--design: needs --data and takes neither --programs nor --by")
        if design is not None and data is not None:
            result = evaluate_margin(settings, data_dir=data, design=design)
        elif table is not None:
            options = {"--treatment": treatment, "--label": label, "--positive": positive, "--id": id_column}
            given = {option: value for option, value in options.items() if value is not None}
            if len(given) < len(options):
                missing = [option for option in options if option not in given]
                raise PreviError(f"evaluate --table: {', '.join(missing)} required")
            result = evaluate_table(
                table,
                treatment=given["--treatment"],
                control=control,
                label=given["--label"],
                positive=given["--positive"],
                id_column=given["--id"],
                exclude=split_list(exclude),
                seed=seed,
                threads=settings.training.threads,
            )
        elif data is not None:
            result = evaluate_bundle(
                settings,
                data_dir=data,
                programs=split_list(programs) or None,
                by_municipality=by == "municipality",
                seed=seed,
            )
        save(result, out, settings=settings)
        _print(result, out)


def _print(result: Evaluation, out: Path) -> None:
    table = Table(title=f"previ evaluate: {result.source}", title_justify="left")
    for column in ("", "served", "comparison", "relative reduction (95% CI)", "naive", "E-value", "trimmed"):
        table.add_column(column)
    headline = "served" if result.design == "observational" else f"at the margin ({result.design})"
    for name, effect in [(headline, result.served), *result.programs.items()]:
        rrr = effect.relative_risk_reduction
        table.add_row(
            name,
            f"{effect.n_served:,}",
            f"{effect.n_comparison:,}",
            f"{rrr.value:.1%} ({_bound(rrr.ci[0])} to {_bound(rrr.ci[1])})",
            f"{effect.naive_relative_risk_reduction:.1%}",
            f"{effect.e_value:.2f}",
            f"{effect.overlap['trimmed_share']:.1%}",
        )
    console.print(table)
    console.print(f"goal: 15% fewer adverse outcomes among those served; written to {out}")


def _bound(value: float) -> str:
    """An interval bound; an infinite one is unbounded (see evaluation.estimate.effect_interval)."""
    return "unbounded" if math.isinf(value) else f"{value:.1%}"
