"""`previ allocate`: offer the catalog's places for one cycle, within capacity and eligibility."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.commands import console, handles_errors, parse_date
from previ.config import load_config
from previ.errors import PreviError


def register(app: typer.Typer) -> None:
    app.command("allocate")(allocate_command)


@handles_errors
def allocate_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Parquet file to write (default: allocation.out/<cycle>.parquet)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Use the newest snapshot of this date (YYYY-MM-DD).")
    ] = None,
    cycle: Annotated[
        str | None, typer.Option("--cycle", help="Name of the cycle (default: the snapshot's date).")
    ] = None,
    per_person: Annotated[
        int | None,
        typer.Option(
            "--per-person", help="New programmes per young person (default: allocation.per_person)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
) -> None:
    """Offer each programme's places to the young people who need them most, within capacity.

    Reads the newest snapshot of `previ score`, the catalog's capacities and
    eligibility (ages, municipalities, tiers) and who is already enrolled; writes
    the offers and waiting lists to --out and to the service's allocations table.
    """
    from service.allocate_batch import run_allocation

    date = parse_date("--as-of", as_of) if as_of is not None else None
    if per_person is not None and per_person < 1:
        raise PreviError(f"--per-person: must be at least 1 (got {per_person})")
    if cycle is not None and not (0 < len(cycle) <= 64 and cycle.isprintable()):
        raise PreviError("--cycle: must be 1-64 printable characters")
    summary = run_allocation(load_config(config), out=out, as_of=date, cycle=cycle, per_person=per_person)
    table = Table("programme", "capacity", "enrolled", "offered", "waiting")
    for row in summary.allocation.places.to_dict("records"):
        table.add_row(
            *(str(row[column]) for column in ("program", "capacity", "enrolled", "offered", "waiting"))
        )
    table.title = f"cycle {summary.cycle}: snapshot {summary.snapshot_id} as of {summary.as_of}"
    console.print(table)
    console.print(f"Offers and waiting lists: {summary.out}", soft_wrap=True, markup=False)
