"""The commands of the ``previ`` command line, one module per area.

Each command parses its options, calls one library function and prints; the
shared :func:`handles_errors` turns a :class:`~previ.errors.PreviError` into one
readable line per problem on stderr and exit code 2, never a traceback.

A command module imports its library (pandas, MLflow, the fairness audit...)
inside the command function, never at the top: ``previ`` imports every command
module to list them, and ``previ serve`` must stay a lean process
(``tests/service/test_lean_process.py`` holds it to that).
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from previ.errors import PreviError

P = ParamSpec("P")
R = TypeVar("R")

# Tables stay readable when output goes to a file or a pipe (rich would assume 80 columns).
console = Console(width=None if sys.stdout.isatty() else 140)
error_console = Console(stderr=True, soft_wrap=True, highlight=False)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Report a PreviError as readable lines and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except PreviError as error:
            for line in error.lines:
                error_console.print(f"error: {line}", markup=False)
            raise typer.Exit(code=2) from None

    return wrapper


def parse_date(option: str, value: str) -> dt.date:
    """An ISO date given on the command line; PreviError naming the option otherwise."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PreviError(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


def split_list(value: str | None) -> list[str]:
    """Split a comma-separated option value, dropping blanks."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def progress_bar() -> Progress:
    """A spinner with the current step and the elapsed time, on stderr, cleared when done."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=error_console,
        transient=True,
    )
