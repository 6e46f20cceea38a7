"""The web pages: server-rendered, in Spanish or English, on the API's roles, purposes and audit log.

:func:`mount_pages` adds them to the app built by :func:`service.main.create_app`:

| page | role |
| --- | --- |
| ``/login``, ``/logout`` | anyone (a bearer token in, a session cookie out) |
| ``/caseworker/youth`` (+ ``POST /caseworker/feedback``), ``/caseworker/caseload`` | caseworker |
| ``/caseworker/estimate`` (GET form, POST values / no record / I don't know) | caseworker |
| ``/manager/fairness``, ``/manager/uptake``, ``/manager/effects`` (¿Funciona?) | program_manager |
| ``/manager/versions`` | program_manager, data_scientist |
| ``/auditor/log`` (+ ``.csv``) | auditor |
| ``/model`` | any role |

A page of another role is a 403 page (logged); an unknown page a 404 page;
``/v1`` keeps its JSON errors.
"""

from __future__ import annotations

import jinja2
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.pages import auditor, auth, caseworker, estimate, manager
from service.pages.frame import PAGE_HEADERS, STATIC_DIR, TEMPLATES_DIR, PagesState, error_page
from service.pages.session import MAX_SECONDS, SessionCodec
from service.sessions import SessionStore
from service.state import ServiceState

__all__ = ["mount_pages"]

NOT_PAGES = ("/v1/", "/static/", "/docs", "/openapi.json", "/healthz", "/readyz")


def mount_pages(app: FastAPI) -> None:
    """Add the pages, their static files and HTML 404/405 pages to ``app`` (after create_app's routes)."""
    state: ServiceState = app.state.previ
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    sessions = SessionStore(state.audit.engine, state.settings.audit_url, max_seconds=MAX_SECONDS)
    app.state.previ_pages = PagesState(
        codec=SessionCodec(state.settings.key("session"), sessions),
        templates=templates,
        caseload=state.caseload,
    )
    for module in (auth, caseworker, estimate, manager, auditor):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(404, _page_or_json)
    app.add_exception_handler(405, _page_or_json)


async def _page_or_json(request: Request, error: Exception) -> Response:
    """An HTML error page for a browser outside the API; FastAPI's own JSON answer otherwise."""
    assert isinstance(error, StarletteHTTPException)
    wants_page = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
        NOT_PAGES
    )
    if not wants_page:
        return await http_exception_handler(request, error)
    response = error_page(request, error.status_code, None)
    response.headers.update(PAGE_HEADERS)
    return response
