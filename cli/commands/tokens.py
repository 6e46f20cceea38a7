"""`previ tokens`: issue, list and revoke the service's bearer tokens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.commands import console, error_console, handles_errors
from previ.config import load_config

if TYPE_CHECKING:
    from service.tokens import TokenStore

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
]

tokens_app = typer.Typer(
    name="tokens",
    help="Bearer tokens of the scoring service: one per person, each with one role.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")


def _store(config: Path | None) -> TokenStore:
    from service.settings import service_settings
    from service.tokens import token_store

    return token_store(service_settings(load_config(config)))


def _where(store: TokenStore) -> str:
    return store.engine.url.render_as_string(hide_password=True)


@tokens_app.command("add")
@handles_errors
def add_command(
    role: Annotated[
        str, typer.Option("--role", help="caseworker, program_manager, data_scientist or auditor.")
    ],
    name: Annotated[
        str, typer.Option("--name", help="Who holds the token (shown in lists, not in the log).")
    ],
    config: ConfigOption = None,
) -> None:
    """Issue a token and print it once: it is stored only as a salted hash."""
    store = _store(config)
    record, token = store.add(role=role, name=name)
    error_console.print(
        f"token {record.token_id} for {record.name} ({record.role}) added to {_where(store)}; "
        "copy it now, it is not shown again:",
        markup=False,
    )
    print(token)


@tokens_app.command("list")
@handles_errors
def list_command(config: ConfigOption = None) -> None:
    """Ids, names and roles of the tokens (never the tokens)."""
    store = _store(config)
    table = Table("id", "name", "role", "created", title=f"tokens in {_where(store)}")
    for record in store.records().values():
        table.add_row(record.token_id, record.name, record.role, record.created)
    console.print(table)


@tokens_app.command("revoke")
@handles_errors
def revoke_command(
    token_id: Annotated[str, typer.Argument(help="The token's id (see previ tokens list).")],
    config: ConfigOption = None,
) -> None:
    """Remove a token and end its web sessions; a running service refuses it from its next request."""
    from service.pages.session import MAX_SECONDS
    from service.sessions import SessionStore

    store = _store(config)
    record = store.revoke(token_id)
    ended = SessionStore(store.engine, str(store.engine.url), max_seconds=MAX_SECONDS).end_token(
        record.token_id
    )
    console.print(f"revoked token {record.token_id} ({record.name}, {record.role}); {ended} sessions ended")
