"""The ``previ`` command line: a thin shell over the library.

Run ``previ --help`` for the list of commands and ``previ COMMAND --help`` for
each one. Every command reads ``--config`` (default ./previ.yaml, else the
embedded defaults).
"""

from __future__ import annotations

import typer

from previ.commands import (
    allocate,
    audit,
    caseload,
    engine,
    features,
    quickstart,
    score,
    serve,
    synth,
    tokens,
    train,
    validate,
)

app = typer.Typer(
    name="previ",
    help=(
        "previ: early warning and referral for youth violence-prevention programmes.\n\n"
        "It finds young people who would benefit from a prevention programme, explains why, "
        "and suggests referrals. It is a support tool, never a basis for sanctions."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)

for module in (
    quickstart,
    synth,
    validate,
    features,
    train,
    audit,
    score,
    allocate,
    serve,
    tokens,
    caseload,
    engine,
):
    module.register(app)
