"""`previ db upgrade`: create or migrate the service's databases (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands import console, handles_errors
from previ.config import load_config

db_app = typer.Typer(
    name="db",
    help="The service's databases: bring them to the newest schema (Alembic migrations).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@handles_errors
def upgrade_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
) -> None:
    """Create missing tables and apply new migrations to every store; move a legacy tokens.json in.

    previ serve and previ quickstart run it too; run it yourself as the database's
    owner when the service connects with a role that may not change the schema.
    """
    from service.settings import service_settings
    from service.upgrade import upgrade_databases

    report = upgrade_databases(service_settings(load_config(config)))
    for store, (url, revisions) in report.applied.items():
        done = f"upgraded to {', '.join(revisions)}" if revisions else "already current"
        console.print(f"{store}: {url}: {done}", markup=False)
    if report.tokens_imported:
        console.print(f"tokens: {report.tokens_imported} moved from the token file into the database")
