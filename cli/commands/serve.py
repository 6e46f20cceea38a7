"""`previ serve`: run the scoring service with uvicorn."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from cli.commands import error_console, handles_errors
from previ.config import load_config


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


@handles_errors
def serve_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="previ.yaml (default: ./previ.yaml, else built-in defaults)."),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address (default: service.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: service.port, 8000).")] = None,
) -> None:
    """Serve explained scores, referrals, the model card, the fairness audit and the audit log over HTTP.

    The champion is loaded from the MLflow registry in the background (GET /readyz
    turns 200 when it is in); SIGHUP or POST /v1/admin/reload swap in a new one.
    The access log names route templates and token ids, never youth ids or query strings.
    Issue tokens first: previ tokens add --role caseworker --name NAME
    """
    import uvicorn

    from service.main import create_app
    from service.settings import service_settings

    _log_like_uvicorn()
    settings = load_config(config)
    service = service_settings(settings)
    app = create_app(settings, settings=service)
    if not service.tokens_file.exists():
        error_console.print(
            f"warning: {service.tokens_file} does not exist yet: every request will get 401 "
            "until you run 'previ tokens add'",
            markup=False,
        )
    uvicorn.run(app, host=host or service.host, port=port or service.port, log_level="info", access_log=False)


class _StderrNow(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (a test runner may swap and close it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _log_like_uvicorn() -> None:
    """The service's own messages (model loaded, refused, reloaded, the access log) in uvicorn's format.

    uvicorn's own access log is off: it printed paths and query strings.
    """
    logger = logging.getLogger("previ.service")
    if not logger.handlers:
        handler = _StderrNow()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
