"""The app factory: settings, stores, catalog and routes, wired once.

``create_app`` validates everything it can before serving: a catalog that does
not validate, a bad setting or an unreadable key raise PreviError here, so
``previ serve`` stops with a clear message (exit 2) instead of serving half a
service. The model is loaded after start-up, in the background: /healthz
answers at once, /readyz and the scoring routes answer 503 until a verified
model is in. SIGHUP (where the platform has it) and POST /v1/admin/reload load
the champion again, publish it in the ``served_model`` row and swap it in; every
other worker follows that row (:mod:`service.served_model`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from previ.config import PreviConfig
from previ.errors import PreviError
from service.audit_log import AuditLog, AuditUnavailable
from service.caseload import caseload_store
from service.catalog import load_catalog
from service.database import check_private, sqlite_path
from service.docs import mount_docs
from service.errors import install_error_handlers
from service.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    QueryGuardMiddleware,
    SecurityHeadersMiddleware,
)
from service.model_store import ModelHolder, load_model
from service.openapi import API_VERSION, install_openapi
from service.pages import mount_pages
from service.pseudonym import Pseudonymizer
from service.rate_limits import SHARED, RateGuard
from service.rate_store import rates_url
from service.refusals import RefusalCounter
from service.retention import purge_expired
from service.routes import admin, audit_log, caseload, fairness, feedback, health, model, scores, youth
from service.served_model import ModelFollower, ServedModel
from service.settings import ServiceSettings, service_settings
from service.snapshots import snapshot_store
from service.state import ServiceState
from service.tokens import token_store

__all__ = ["create_app", "published_document"]

log = logging.getLogger("previ.service")
T = TypeVar("T")

DESCRIPTION = """
**previ** estimates which young people would benefit from prevention support, explains why, and
suggests referrals. A score is a prompt for support, **never** a basis for sanctions.

**Tokens and roles.** Send `Authorization: Bearer <token>`; an operator issues tokens with
`previ tokens add --role ROLE --name NAME`. Each role sees only its endpoints:

| role | may call |
| --- | --- |
| caseworker | `POST /v1/scores`, `GET /v1/caseload`, `GET /v1/youth/{youth_id}/score`, `POST /v1/feedback`, \
`GET /v1/model` |
| program_manager | `GET /v1/fairness`, `GET /v1/model` |
| data_scientist | `POST /v1/scores:batch`, `POST /v1/admin/reload`, `GET /v1/model` |
| auditor | `GET /v1/audit-log`, `GET /v1/model` |

**Purposes.** Every score request states a `purpose` from the allowed list (by default
`referral_planning`, `case_review`, `program_evaluation`). Punitive purposes (sanctions, policing,
discipline, immigration, investigation) are refused with 403, whatever the configuration.

**Caseloads.** A caseworker reads stored scores and records feedback only for the young people on
their caseload (403, logged, otherwise). No endpoint lists people ranked by score; batches keep the
order of the request.

**Audit.** Every access, allowed or refused, is logged (token id, role, purpose, a keyed hash of the
youth id, model version, outcome) before the response leaves; if the log cannot be written, no score
is returned (503). The log is hash-chained (`previ audit-log verify`).

**Limits.** Requests are limited per client address and per token (429 with `Retry-After`); repeated
wrong secrets lock a token for a while. Never put a token in the URL: it is refused (400).

**Language.** Reasons and notes are in Spanish unless `Accept-Language: en`.

**This document.** `info.version` is the API's version (semantic versioning: a field is removed or renamed
only in a new major version). Served at `/openapi.json`, it also states the rules of the model served now
(`info.x-model`): its feature names and the range of each value, which may be null, which may be unknown.
Every error status an operation can give is listed under it, with its body.
"""


def create_app(
    config: PreviConfig | None = None,
    *,
    settings: ServiceSettings | None = None,
    after_model_swap: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the service for ``config`` (settings: its ``service`` section plus PREVI_* variables).

    ``after_model_swap`` runs in the loading thread once a model is swapped in
    (a serving worker settles its heap there, see service.heap).
    """
    config = config or PreviConfig()
    settings = settings or service_settings(config)
    check_state_files(settings)
    audit = AuditLog(
        settings.audit_url,
        key=settings.key("audit"),
        fsync=settings.audit_fsync,
        group_commit=settings.audit_group_commit,
    )
    holder = ModelHolder(partial(load_model, config, settings), after_swap=after_model_swap)
    state = ServiceState(
        config=config,
        settings=settings,
        holder=holder,
        audit=audit,
        tokens=token_store(settings, engine=audit.engine),
        pseudonymize=Pseudonymizer(settings.key("pseudonym")),
        catalog=load_catalog(settings.catalog),
        snapshots=snapshot_store(settings),
        caseload=caseload_store(settings, engine=audit.engine),
        rate=RateGuard(settings),
        refusals=RefusalCounter(audit),
        follower=ModelFollower(
            holder,
            ServedModel(audit.engine),
            load_champion=partial(load_model, config, settings),
            load_version=partial(load_model, config, settings),
        ),
    )
    app = _api()
    app.state.previ = state
    install_error_handlers(app)
    install_openapi(
        app, model=lambda: state.holder.current, catalog=state.catalog, purposes=settings.purposes
    )
    mount_docs(app)
    mount_pages(app)
    # The last added runs first: headers on everything, then the log, then the checks.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(QueryGuardMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def published_document() -> dict[str, Any]:
    """The published contract: the OpenAPI document of the routes, without a model (docs/openapi.json)."""
    return _api().openapi()


def _api() -> FastAPI:
    """The API's routes and metadata, without state: the app serves them, the published contract lists them.

    The web pages and /docs are added by :func:`create_app` and are not in the contract.
    """
    app = FastAPI(
        title="previ",
        summary="Explained early warning and referral for youth violence-prevention programmes.",
        description=DESCRIPTION,
        version=API_VERSION,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    for module in (health, scores, caseload, youth, model, fairness, feedback, audit_log, admin):
        app.include_router(module.router)
    return app


def check_state_files(settings: ServiceSettings) -> None:
    """Refuse to start (PreviError naming it) when a key, the tokens or a SQLite store are world-readable."""
    files = {
        "tokens_file": settings.tokens_file,
        "pseudonym_key_file": settings.pseudonym_key_file,
        "audit_key_file": settings.audit_key_file,
        "session_key_file": settings.session_key_file,
    }
    for url_name, url in (("audit_url", settings.audit_url), ("snapshot_url", settings.snapshot_url)):
        path = sqlite_path(url) if url else None
        if path is not None:
            files[url_name] = path
    snapshot_db = settings.snapshot_dir / "snapshots.db"
    files.setdefault("snapshot_url", snapshot_db)
    rates = sqlite_path(rates_url(settings.audit_url)) if settings.rate_limit_storage == SHARED else None
    if rates is not None:
        files["rate_limit_storage"] = rates
    for name, path in files.items():
        check_private(path, what=f"service.{name}")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.previ

    def start_reload(reason: str) -> None:
        threading.Thread(target=_reload, args=(state, reason), name="previ-reload", daemon=True).start()

    start_reload("start-up")
    if state.settings.retention_days is not None:
        await asyncio.to_thread(_purge, state)
    remove_handler = _on_sighup(lambda: start_reload("SIGHUP"))
    loop = asyncio.get_running_loop()
    background = [loop.create_task(_flush_refusals(state)), loop.create_task(_follow_served_model(state))]
    try:
        yield
    finally:
        remove_handler()
        for task in background:
            task.cancel()
        with suppress(AuditUnavailable):
            await asyncio.to_thread(state.refusals.flush)
        for task in background:
            with suppress(asyncio.CancelledError, Exception):
                await task
        with suppress(Exception):
            await state.audit.close_on_loop()
        with suppress(Exception):
            await state.rate.close_on_loop()
        state.close()


async def _follow_served_model(state: ServiceState, retry_seconds: float = 10.0) -> None:
    """Load the model another worker's reload published in the served_model row (see service.served_model).

    A worker whose start-up load failed (the registry was busy, a store was
    down) tries again every ``retry_seconds`` until it serves a model.
    """
    retried = asyncio.get_running_loop().time()
    while True:
        await asyncio.sleep(state.settings.reload_poll_seconds)
        if state.holder.current is None and state.holder.last_error is None:
            continue  # the start-up load is still running
        try:
            swap = await _in_daemon_thread(state.follower.follow)
            now = asyncio.get_running_loop().time()
            if swap is None and state.holder.current is None and now - retried >= retry_seconds:
                retried = now
                await _in_daemon_thread(partial(_reload, state, "retry: no model yet"))
        except Exception as error:  # a failed check must not end the loop
            log.error("following the served model failed (%s)", type(error).__name__)


async def _flush_refusals(state: ServiceState, every: float = 10.0) -> None:
    """Write the counted refusals of minutes that are over, even when no new refusal comes."""
    while True:
        await asyncio.sleep(every)
        minute = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
        try:
            await asyncio.to_thread(state.refusals.flush, before=minute)
        except AuditUnavailable as error:
            log.error("audit log unavailable (%s): counted refusals kept for later", error)


async def _in_daemon_thread(function: Callable[[], T]) -> T:
    """``function()`` in a daemon thread: a model load in progress never holds up the process's exit.

    (``asyncio.to_thread`` runs in the loop's executor, which the end of the loop
    waits for: a worker stopped during a slow download would wait for it.)
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = function(), None
        except Exception as raised:
            result, error = None, raised
        with suppress(RuntimeError):  # the loop closed meanwhile: nobody waits for the result
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="previ-follow", daemon=True).start()
    return await done


def _purge(state: ServiceState) -> None:
    """Apply ``service.retention_days`` at start-up; a failure is logged, the service still starts."""
    try:
        report = purge_expired(state.settings)
    except (AuditUnavailable, SQLAlchemyError, OSError) as error:
        log.error("retention purge failed (%s)", type(error).__name__)
        return
    log.info("retention: %d snapshots and %d feedback rows purged", report.snapshots, report.feedback_rows)


def _reload(state: ServiceState, reason: str) -> None:
    """Reload the champion for a signal or at start-up, and publish it to the other workers.

    A refusal is logged (by the holder), never raised.
    """
    log.info("loading the model (%s)", reason)
    with suppress(PreviError):
        state.follower.reload_champion()


def _on_sighup(callback: Callable[[], None]) -> Callable[[], None]:
    """Install a SIGHUP handler on the running loop; a no-op without one (Windows, non-main thread)."""
    loop = asyncio.get_running_loop()
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None:
        return lambda: None
    try:
        loop.add_signal_handler(sighup, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        return lambda: None

    def remove() -> None:
        loop.remove_signal_handler(sighup)

    return remove
