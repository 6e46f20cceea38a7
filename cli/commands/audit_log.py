"""`previ audit-log verify`: walk the audit log's hash chain and name the first row that breaks it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands import console, handles_errors
from previ.config import load_config
from previ.errors import PreviError

audit_log_app = typer.Typer(
    name="audit-log",
    help="The service's audit log: verify that no row was edited or removed.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_log_app, name="audit-log")


@audit_log_app.command("grant")
@handles_errors
def grant_command(
    role: Annotated[str, typer.Option("--role", help="The PostgreSQL role the service connects as.")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
) -> None:
    """On PostgreSQL: create the service's tables and let ROLE only insert into the audit log.

    Run it as the database owner (service.audit_url or PREVI_AUDIT_URL naming the owner),
    then run the service as ROLE.
    """
    from service.audit_log import grant_service_role
    from service.database import make_engine
    from service.settings import service_settings

    settings = service_settings(load_config(config))
    engine = make_engine(settings.audit_url)
    snapshots = None
    if settings.snapshot_url == settings.audit_url:
        snapshots = engine
    elif settings.snapshot_url is not None:
        snapshots = make_engine(settings.snapshot_url)
    grant_service_role(engine, role, snapshots=snapshots)
    console.print(f"{role} may read and insert audit rows, never update or delete them", markup=False)
    if snapshots is None:
        console.print(
            "service.snapshot_url is not set: the snapshots live in SQLite, which has no grants", markup=False
        )
    else:
        console.print(f"{role} may read the snapshots and places and mark offers declined", markup=False)


@audit_log_app.command("verify")
@handles_errors
def verify_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor", help="A head hash printed earlier (e.g. kept in a dated letter): must still be there."
        ),
    ] = None,
) -> None:
    """Recompute every row's keyed hash; exit 2 naming the first broken or missing row.

    Prints the head (the last row's id and hash): write it down outside the
    machine, so that removing the newest rows can be shown later with --anchor.
    """
    from service.audit_chain import verify_chain
    from service.audit_log import AuditLog, AuditUnavailable
    from service.settings import service_settings

    settings = service_settings(load_config(config))
    key = settings.key("audit")
    try:
        report = verify_chain(AuditLog(settings.audit_url, key=key), key, anchor=anchor)
    except AuditUnavailable as error:
        raise PreviError(f"audit-log: {settings.audit_url} cannot be read ({error})") from None
    if not report.intact:
        raise PreviError(f"audit-log: chain broken: {report.problem}")
    legacy = f" ({report.unchained} older rows predate the chain)" if report.unchained else ""
    console.print(f"audit log intact: {report.rows} rows{legacy}", markup=False)
    console.print(f"head: row {report.head_id} {report.head_hash}", markup=False)
