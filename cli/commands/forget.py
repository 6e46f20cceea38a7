"""`previ forget`: delete one young person's data, or everything past the retention period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands import console, handles_errors
from previ.config import load_config
from previ.errors import PreviError

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
]


def register(app: typer.Typer) -> None:
    app.command("forget")(forget_command)
    app.command("purge")(purge_command)


@handles_errors
def forget_command(
    youth_id: Annotated[str, typer.Argument(help="The young person's pseudonymous id.")],
    config: ConfigOption = None,
) -> None:
    """Delete a young person's rows from snapshots, caseloads and feedback (a right of cancellation).

    Audit rows stay (they hold a keyed pseudonym, not the id); the deletion
    itself is written to the audit log.
    """
    from service.retention import forget
    from service.settings import service_settings

    report = forget(service_settings(load_config(config)), youth_id)
    console.print(
        f"forgot one young person: {report.snapshot_rows} snapshot rows, {report.caseload_rows} caseload "
        f"assignments, {report.feedback_rows} feedback rows deleted; the deletion is in the audit log",
        markup=False,
    )


@handles_errors
def purge_command(config: ConfigOption = None) -> None:
    """Delete snapshots and feedback older than service.retention_days (recorded in the audit log)."""
    from service.retention import purge_expired
    from service.settings import service_settings

    settings = service_settings(load_config(config))
    if settings.retention_days is None:
        raise PreviError("purge: service.retention_days is not set; nothing is ever purged")
    report = purge_expired(settings)
    console.print(
        f"purged {report.snapshots} snapshots and {report.feedback_rows} feedback rows older than "
        f"{settings.retention_days} days",
        markup=False,
    )
