"""`previ train` and `previ promote`."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cli.commands import console, error_console, handles_errors, progress_bar, split_list
from cli.commands.engine import (
    Engine,
    EngineOption,
    MemoryOption,
    SchedulerOption,
    WorkersOption,
    dask_session,
)
from previ.config import PreviConfig, load_config
from previ.errors import PreviError

if TYPE_CHECKING:
    from training.dataset import TrainingSet
    from training.grid import FitEngine

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
    engine: EngineOption = Engine.pandas,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    memory_limit: MemoryOption = "auto",
) -> None:
    """Train the model grid with temporal validation, calibrate, evaluate and register the champion candidate.

    From the data bundle:  previ train --config previ.yaml

    From a flat table:     previ train --table FILE --label COL --id COL [--group COL,...]
                           [--exclude PATTERN,...] [--positive VALUE]

    On Dask:               previ train --engine dask --data PARTITIONED_BUNDLE [--scheduler ADDRESS]
    (features are built bucket by bucket on the workers, LightGBM trains there
    with its data-parallel learner; see docs/scale.md)
    """
    settings = load_config(config)
    if table is None and any(
        option is not None for option in (label, id_column, time, group, exclude, positive)
    ):
        raise PreviError(
            "train: --label, --id, --time, --group, --exclude and --positive go with --table FILE"
        )
    from training.grid import LOCAL
    from training.pipeline import train_and_register

    if engine is Engine.dask and table is not None:
        raise PreviError("train: --engine dask trains on a partitioned bundle (--data), not on --table")
    with ExitStack() as stack:
        if engine is Engine.dask:
            from scale.partition import partition_dirs
            from training.dask_fit import DaskFit
            from training.partitioned import training_set_from_partitions

            data_dir = data or settings.data.dir
            session = stack.enter_context(dask_session(data_dir, scheduler, workers, memory_limit, "train"))
            report = session.report
            dataset = training_set_from_partitions(session.client, settings, data_dir, session.progress)
            fit: FitEngine = DaskFit(session.client, len(partition_dirs(data_dir)))
        else:
            progress = stack.enter_context(progress_bar())
            task = progress.add_task("loading data", total=None)

            def report(text: str) -> None:
                progress.update(task, description=text)

            dataset = _training_set(settings, data, table, label, id_column, time, group, exclude, positive)
            fit = LOCAL
        for warning in dataset.warnings:
            error_console.print(f"warning: {warning}", markup=False)
        outcome = train_and_register(
            dataset,
            settings,
            out_dir=out,
            register=not no_register,
            allow_features=allow_feature or (),
            progress=report,
            engine=fit,
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


def _training_set(
    settings: PreviConfig,
    data: Path | None,
    table: Path | None,
    label: str | None,
    id_column: str | None,
    time: str | None,
    group: str | None,
    exclude: str | None,
    positive: str | None,
) -> TrainingSet:
    """The training set of a bundle, or of a flat table (pandas engine)."""
    from training.pipeline import training_set_from_bundle, training_set_from_table

    if table is None:
        return training_set_from_bundle(settings, data)
    if not label or not id_column:
        raise PreviError("train: --table needs --label COL and --id COL")
    return training_set_from_table(
        table,
        label=label,
        id_column=id_column,
        time=time,
        groups=split_list(group),
        exclude=split_list(exclude),
        positive=positive,
        horizon_days=settings.features.horizon_days,
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
