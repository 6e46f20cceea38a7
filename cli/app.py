"""The ``previ`` command line: a thin shell over the library.

Run ``previ --help`` for the list of commands and ``previ COMMAND --help`` for
each one. Every command reads ``--config`` (default ./previ.yaml, else the
embedded defaults).
"""

from __future__ import annotations

import os

import typer

from cli.commands import (
    allocate,
    audit,
    audit_log,
    caseload,
    db,
    engine,
    evaluate,
    features,
    forget,
    openapi,
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


@app.callback()
def private_files() -> None:
    """Everything previ creates (stores, keys, tokens, snapshots, MLflow, runs, logs) is its owner's only."""
    os.umask(0o077)


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
    audit_log,
    db,
    forget,
    evaluate,
    engine,
    openapi,
):
    module.register(app)
