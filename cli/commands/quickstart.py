"""`previ quickstart`: the README's main job on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands import console, handles_errors, progress_bar
from cli.commands.train import metrics_table
from previ.config import load_config


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart_command)


@handles_errors
def quickstart_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
) -> None:
    """Synthesise a bundle, validate it, build features, train, evaluate and register a model."""
    from cli.quickstart import run_quickstart

    settings = load_config(config)
    with progress_bar() as progress:
        task = progress.add_task("starting", total=None)
        result = run_quickstart(settings, progress=lambda text: progress.update(task, description=text))
    synth = result.synth
    console.print(
        f"Bundle: {Path(synth.out_dir).absolute()} ({synth.rows['youth']:,} young people, "
        f"{synth.start} to {synth.extraction_date}, recorded outcome rate {synth.outcome_rate:.1%}); "
        f"validated with {len(result.bundle_warnings)} warning(s).",
        soft_wrap=True,
    )
    console.print(metrics_table(result.training.metrics))
    run_folder = Path(result.training.out_dir).absolute()
    console.print(f"Run folder: {run_folder} (metrics.json, plots, model_card.md)", soft_wrap=True)
    registration = result.training.registration
    if registration is not None:
        console.print(
            f"MLflow: {settings.training.registered_model} v{registration.version} registered (challenger)."
        )
    audit = run_folder / "audit" / "report.html"
    console.print(f"Fairness audit of the champion candidate: {audit} (open it in a browser)", soft_wrap=True)
    if result.promotion_refusal:
        console.print(f"Promotion gate: {result.promotion_refusal}", markup=False, soft_wrap=True)
    if result.promotion is not None:
        console.print(f"Promoted v{result.promotion.version} to champion through the gates, with no review.")
    if result.snapshot is not None and result.demo_token is not None:
        console.print(
            f"Snapshot {result.snapshot.snapshot_id}: {result.snapshot.rows:,} young people scored as of "
            f"{result.snapshot.as_of}. A caseworker token for the demo (shown once): {result.demo_token}",
            soft_wrap=True,
        )
        console.print(
            "Serve it with `previ serve` (./scripts/quickstart does), then:\n"
            f"  curl -s 'http://127.0.0.1:8000/v1/youth/{result.example_youth_id}/score?purpose=case_review' "
            f"-H 'Authorization: Bearer {result.demo_token}' -H 'Accept-Language: es'",
            markup=False,
            soft_wrap=True,
        )
