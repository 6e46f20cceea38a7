"""`previ caseload`: assign young people to caseworkers (the "my caseload" page shows them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.commands import console, error_console, handles_errors
from previ.config import load_config

if TYPE_CHECKING:
    from service.caseload import CaseloadStore

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
]
CaseworkerOption = Annotated[
    str, typer.Option("--caseworker", help="The caseworker, named as their token (previ tokens add --name).")
]
YouthOption = Annotated[str, typer.Option("--youth", help="The young person's pseudonymous id.")]

caseload_app = typer.Typer(
    name="caseload",
    help="Caseloads: which young people each caseworker follows (shown on their 'my caseload' page).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(caseload_app, name="caseload")


def _store(config: Path | None) -> tuple[CaseloadStore, list[str]]:
    """The caseload table, and the names of the caseworkers' tokens (to warn about a typo)."""
    from service.caseload import caseload_store
    from service.settings import service_settings
    from service.tokens import token_store

    settings = service_settings(load_config(config))
    names = [
        record.name for record in token_store(settings).records().values() if record.role == "caseworker"
    ]
    return caseload_store(settings), names


@caseload_app.command("add")
@handles_errors
def add_command(caseworker: CaseworkerOption, youth: YouthOption, config: ConfigOption = None) -> None:
    """Assign a young person to a caseworker."""
    store, caseworkers = _store(config)
    added = store.add(caseworker=caseworker, youth_id=youth)
    if caseworker not in caseworkers:
        error_console.print(
            f"warning: no caseworker token is named '{caseworker}'; the assignment shows only to a "
            "caseworker whose token has this name",
            markup=False,
        )
    console.print(
        f"{youth} assigned to {caseworker}" if added else f"{youth} was already assigned to {caseworker}",
        markup=False,
    )


@caseload_app.command("remove")
@handles_errors
def remove_command(caseworker: CaseworkerOption, youth: YouthOption, config: ConfigOption = None) -> None:
    """Remove a young person from a caseworker's caseload."""
    store, _ = _store(config)
    removed = store.remove(caseworker=caseworker, youth_id=youth)
    console.print(
        f"{youth} removed from {caseworker}'s caseload"
        if removed
        else f"{youth} was not assigned to {caseworker}",
        markup=False,
    )


@caseload_app.command("list")
@handles_errors
def list_command(caseworker: CaseworkerOption, config: ConfigOption = None) -> None:
    """The young people assigned to a caseworker (ids only: no scores)."""
    store, _ = _store(config)
    youth_ids = store.youth_of(caseworker)
    table = Table("youth id", title=f"caseload of {caseworker}: {len(youth_ids)}")
    for youth_id in youth_ids:
        table.add_row(youth_id)
    console.print(table)
