"""`previ train` and `previ promote`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.commands import console, error_console, handles_errors, progress_bar, split_list
from previ.config import load_config
from previ.errors import PreviError

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults).")
]


def register(app: typer.Typer) -> None:
    """Add `previ train` and `previ promote` to the app."""
    app.command("train")(train_command)
    app.command("promote")(promote_command)


@handles_errors
def train_command(
    config: ConfigOption = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data bundle folder (default: data.dir).")
    ] = None,
    table: Annotated[
        Path | None, typer.Option("--table", help="A flat CSV/Parquet table instead of a bundle.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="With --table: the label column.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="With --table: the id column.")] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="With --table: a date column for temporal folds.")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="With --table: audit-only columns, comma-separated.")
    ] = None,
    exclude: Annotated[
        str | None, typer.Option("--exclude", help="With --table: glob patterns of columns to drop.")
    ] = None,
    positive: Annotated[
        str | None, typer.Option("--positive", help="With --table: the label value meaning 1.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default: training.out).")] = None,
    no_register: Annotated[
        bool, typer.Option("--no-register", help="Evaluate only; do not log to MLflow.")
    ] = False,
    holdout_municipality: Annotated[
        str | None,
        typer.Option(
            "--holdout-municipality",
            help="Train without this municipality, then report how the model ranks and calibrates in it "
            "(holdout.json; not registered).",
        ),
    ] = None,
    allow_feature: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-feature",
            help="Keep this feature although the proxy screen flags it (repeatable; the model card says so).",
        ),
    ] = None,
) -> None:
    """Train the model grid with temporal validation, calibrate, evaluate and register the champion candidate.

    From the data bundle:  previ train --config previ.yaml

    From a flat table:     previ train --table FILE --label COL --id COL [--group COL,...]
                           [--exclude PATTERN,...] [--positive VALUE]
    """
    from training.pipeline import train_and_register, training_set_from_bundle, training_set_from_table

    settings = load_config(config)
    if table is None and any(
        option is not None for option in (label, id_column, time, group, exclude, positive)
    ):
        raise PreviError(
            "train: --label, --id, --time, --group, --exclude and --positive go with --table FILE"
        )
    with progress_bar() as progress:
        task = progress.add_task("loading data", total=None)

        def report(text: str) -> None:
            progress.update(task, description=text)

        if table is not None:
            if not label or not id_column:
                raise PreviError("train: --table needs --label COL and --id COL")
            dataset = training_set_from_table(
                table,
                label=label,
                id_column=id_column,
                time=time,
                groups=split_list(group),
                exclude=split_list(exclude),
                positive=positive,
                horizon_days=settings.features.horizon_days,
            )
        else:
            dataset = training_set_from_bundle(settings, data)
        for warning in dataset.warnings:
            error_console.print(f"warning: {warning}", markup=False)
        outcome = train_and_register(
            dataset,
            settings,
            out_dir=out,
            register=not no_register,
            allow_features=allow_feature or (),
            progress=report,
            holdout_municipality=holdout_municipality,
        )
    for warning in outcome.result.data.warnings[len(dataset.warnings) :]:
        error_console.print(f"warning: {warning}", markup=False, soft_wrap=True)
    console.print(metrics_table(outcome.metrics))
    gate = outcome.metrics["fairness"]
    console.print(
        f"Fairness gate: {gate['champion_gate']} ({gate['champion_flags']})", markup=False, soft_wrap=True
    )
    if "holdout" in outcome.metrics:
        console.print(holdout_table(outcome.metrics["holdout"]))
    console.print(f"Run folder: {outcome.out_dir} (metrics.json, plots, model_card.md)")
    if holdout_municipality is not None:
        console.print("Not registered: a model trained without a municipality is for this check only.")
    if outcome.registration is not None:
        console.print(
            f"Registered {settings.training.registered_model} version {outcome.registration.version} "
            f"as 'challenger' (run {outcome.registration.run_id})."
        )


@handles_errors
def promote_command(
    version: Annotated[str, typer.Argument(help="The registered version to make champion.")],
    config: ConfigOption = None,
    review: Annotated[
        str | None,
        typer.Option("--review", help="Why this version may serve although a gate failed; recorded on it."),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Who signs the review (recorded with it).")
    ] = None,
) -> None:
    """Move the 'champion' alias to VERSION if the quality and fairness gates pass, or with a review."""
    from training.promote import promote

    settings = load_config(config)
    decision = promote(settings.training, version, review=review, reviewer=reviewer)
    for failure in decision.failures:
        error_console.print(f"reviewed: {failure}", markup=False, soft_wrap=True)
    previous = f" (was v{decision.previous_champion})" if decision.previous_champion else ""
    console.print(f"{settings.training.registered_model} v{decision.version} is now champion{previous}.")


def holdout_table(holdout: dict[str, Any]) -> Table:
    """The champion candidate in the held-out municipality beside the municipalities it learned from."""
    name = holdout["municipality"]
    table = Table(
        title=f"{holdout['model']} trained without {name}, test date {holdout['test_date']}",
        caption="observed/predicted 1 and slope 1: calibrated; slope < 1: predictions too spread out",
    )
    for header in ("rows", "ROC AUC (95% CI)", "observed/predicted (95% CI)", "calibration slope (95% CI)"):
        table.add_column(header)
    table.add_column("", justify="left")
    for label, figures in ((name, holdout["held_out"]), ("other municipalities", holdout["others"])):
        ratio, slope = figures["observed_over_predicted"], figures["calibration_slope"]
        low, high = figures["roc_auc_ci"]
        table.add_row(
            f"{figures['n']:,}",
            f"{figures['roc_auc']:.3f} ({low:.3f}-{high:.3f})",
            f"{ratio['value']:.2f} ({ratio['ci'][0]:.2f}-{ratio['ci'][1]:.2f})",
            f"{slope['value']:.2f} ({slope['ci'][0]:.2f}-{slope['ci'][1]:.2f})",
            label,
        )
    return table


def metrics_table(metrics: dict[str, Any]) -> Table:
    """Test-fold figures of every model, champion candidate first."""
    table = Table(title=f"Test fold ({metrics['validation']}), capacity k = {metrics['k_count']}")
    for header in (
        "model",
        "ROC AUC (95% CI)",
        "PR AUC",
        "Brier",
        "ECE",
        "precision@k",
        "recall@k",
        "lift@k",
    ):
        table.add_column(header)
    names = sorted(metrics["models"], key=lambda name: name != metrics["champion_candidate"])
    for name in names:
        values = metrics["models"][name]
        low, high = values["roc_auc_ci"]
        label = f"{name} *" if name == metrics["champion_candidate"] else name
        table.add_row(
            label,
            f"{values['roc_auc']:.3f} ({low:.3f}-{high:.3f})",
            *(f"{values[key]:.3f}" for key in ("pr_auc", "brier", "ece", "precision_at_k", "recall_at_k")),
            f"{values['lift_at_k']:.2f}",
        )
    table.caption = "* champion candidate"
    return table
