"""`previ openapi`: print or publish the API's OpenAPI contract (the one without a model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.commands import console, handles_errors


def register(app: typer.Typer) -> None:
    app.command("openapi")(openapi_command)


@handles_errors
def openapi_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Publish to this file (docs/openapi.json); default: print it."),
    ] = None,
) -> None:
    """The published API contract: its operations, bodies and every status they answer, at its version.

    A running service serves the same document at /openapi.json, with the served
    model's features. Publishing over a stored copy refuses a change that removes,
    renames or retypes a field of it unless the major version went up
    (service/openapi.py: API_VERSION).
    """
    from service.contract import publish
    from service.main import published_document

    document = published_document()
    if out is None:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    added = publish(document, out)
    version = document["info"]["version"]
    console.print(f"API {version} published to {out} ({len(added)} field(s) added).", soft_wrap=True)
