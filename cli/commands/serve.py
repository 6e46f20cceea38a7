"""`previ serve`: run the scoring service with uvicorn, in one process or several."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from cli.commands import console, error_console, handles_errors
from previ.config import load_config

WORKER_START_SECONDS = 60


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
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=64, help="Worker processes (default: service.workers, 1)."),
    ] = None,
) -> None:
    """Serve explained scores, referrals, the model card, the fairness audit and the audit log over HTTP.

    The databases are upgraded first (previ db upgrade). The champion is loaded in
    the background (GET /readyz turns 200 when it is in); SIGHUP or POST
    /v1/admin/reload load the champion again, and with --workers N every worker
    follows it. The access log names route templates and token ids, never youth
    ids or query strings. Issue tokens first: previ tokens add --role caseworker --name NAME
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from service.asgi import CONFIG_VARIABLE, NoDelayConfig, log_like_uvicorn, serving_interpreter
    from service.heap import settle_heap
    from service.main import create_app
    from service.settings import service_settings
    from service.upgrade import upgrade_databases

    log_like_uvicorn()
    serving_interpreter()
    settings = load_config(config)
    service = service_settings(settings)
    report = upgrade_databases(service)
    if report.tokens_imported:
        console.print(f"tokens: {report.tokens_imported} moved from {service.tokens_file} into the database")
    # Checks everything, and creates the keys every worker reads; with one worker, it is the one serving.
    app = create_app(settings, settings=service, after_model_swap=settle_heap)
    if not app.state.previ.tokens.records():
        error_console.print(
            "warning: no token is issued yet: every request will get 401 until you run 'previ tokens add'",
            markup=False,
        )
    count = workers or service.workers
    options = {"host": host or service.host, "port": port or service.port, "log_level": "info"}
    if count == 1:
        uvicorn.run(app, access_log=False, **options)  # type: ignore[arg-type]
        return
    app.state.previ.close()
    if config is not None:
        os.environ[CONFIG_VARIABLE] = str(config.absolute())
    else:
        os.environ.pop(CONFIG_VARIABLE, None)
    shared = NoDelayConfig(
        "service.asgi:app_from_environment",
        factory=True,
        workers=count,
        # A worker answers uvicorn's health check only once it has imported itself; on a busy machine
        # that takes longer than uvicorn's 5 s, and a worker killed for it is started again, forever.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        access_log=False,
        **options,  # type: ignore[arg-type]
    )
    with contextlib.suppress(KeyboardInterrupt):  # what uvicorn.run does for N workers, on a TCP socket
        Multiprocess(shared, sockets=[shared.bind_socket()]).run()
