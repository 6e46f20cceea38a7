"""What every page shares: who is asking, in which language, how a page renders, how errors become pages.

A page route depends on :func:`page_for` with the roles that may see it (deny by
default, like the API's :func:`service.deps.allow`). The session is checked, its
token id looked up again in the token file, and refusals are written to the
audit log before the refusal page leaves. Pages are served by
:class:`PageRoute`, which turns anything a route raises into a page in the
reader's language (a missing or expired session into a redirect to the login),
never a stack trace, refreshes the session cookie and adds the security headers.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from previ.errors import PreviError
from previ.i18n import N_, Language, Translation, translation
from service.audit_log import AuditUnavailable
from service.caseload import CaseloadStore
from service.deps import Guard, endpoint_of, log_refusal
from service.pages.labels import label_of
from service.pages.session import Session, SessionCodec, page_language, same_origin
from service.rate_limits import RateLimited
from service.state import ServiceState
from service.texts import AUDIT_UNAVAILABLE, INTERNAL, RATE_LIMITED, TOKENS_UNAVAILABLE, WRONG_ROLE, text
from service.tokens import Caller, Role

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "LoginRequired",
    "Page",
    "PageError",
    "PageRoute",
    "PagesState",
    "check_form",
    "error_page",
    "home_of",
    "page_for",
    "public_page",
    "render",
]

log = logging.getLogger("previ.service")

SERVICE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = SERVICE_DIR / "templates"
STATIC_DIR = SERVICE_DIR / "static"
NAVIGATION: dict[Role, tuple[tuple[str, str], ...]] = {
    "caseworker": (
        ("/caseworker/caseload", N_("My caseload")),
        ("/caseworker/youth", N_("Look up a young person")),
        ("/caseworker/estimate", N_("Estimate from what I know")),
        ("/model", N_("Model card")),
    ),
    "program_manager": (
        ("/manager/fairness", N_("Fairness")),
        ("/manager/uptake", N_("Referrals")),
        ("/manager/effects", N_("Does it work?")),
        ("/manager/versions", N_("Versions")),
        ("/model", N_("Model card")),
    ),
    "data_scientist": (("/model", N_("Model card")), ("/manager/versions", N_("Versions"))),
    "auditor": (("/auditor/log", N_("Audit log")), ("/model", N_("Model card"))),
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
# The language link names the other language in that language (an endonym: nothing to translate).
LANGUAGE_NAMES: dict[Language, str] = {"es": "Español", "en": "English"}
INVALID_REQUEST = N_("Invalid request")
INTERNAL_ERROR = N_("Internal error")
ERROR_TITLES = {
    400: INVALID_REQUEST,
    403: N_("Access refused"),
    404: N_("Page not found"),
    405: N_("Action not allowed"),
    422: N_("Invalid data"),
    429: INVALID_REQUEST,
    503: N_("Service unavailable"),
}
ERROR_MESSAGES = {
    404: N_("We could not find that page. Check the address or go back to the start."),
    405: N_("This page does not accept that action."),
}
INVALID_DATA = N_("The data sent is not valid.")


@dataclass(eq=False)
class PagesState:
    """The pages' own state, kept on ``app.state.previ_pages``."""

    codec: SessionCodec
    templates: jinja2.Environment
    caseload: CaseloadStore
    cache: dict[Any, Any] = field(default_factory=dict)


class LoginRequired(Exception):
    """No valid session: the reader goes to the login page (and comes back after it)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("login required")
        self.expired = expired


class PageError(Exception):
    """A refusal or failure to show as an error page; ``logged`` says the audit log has it."""

    def __init__(self, status: int, message: str, *, logged: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.logged = logged


@dataclass(frozen=True, eq=False)
class Page:
    """One page request: the service, the reader's language, session and (once logged in) caller."""

    request: Request
    state: ServiceState
    pages: PagesState
    language: Language
    session: Session
    caller: Caller | None = None

    @property
    def guard(self) -> Guard:
        """The API's guard for this caller: the same audit entries, with the page's route as endpoint."""
        if self.caller is None:
            raise RuntimeError("guard of an anonymous page")
        return Guard(
            state=self.state,
            caller=self.caller,
            endpoint=endpoint_of(self.request),
            method=self.request.method,
            language=self.language,
        )

    @property
    def texts(self) -> Translation:
        """The reader's catalog: messages, plural forms, numbers and dates in their language."""
        return translation(self.language)

    def gettext(self, message: str, /, **values: object) -> str:
        return self.texts.gettext(message, **values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return self.texts.ngettext(singular, plural, n, **values)

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        return self.texts.pgettext(context, message, **values)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, page=self, status=status, **context)


async def public_page(request: Request) -> Page:
    """A page anyone may open (the login): the current session, or a new anonymous one."""
    state: ServiceState = request.app.state.previ
    pages = pages_state(request)
    session = pages.codec.read(request) or pages.codec.anonymous()
    page = Page(
        request,
        state,
        pages,
        page_language(request, state.config.language, accept_language=state.settings.pages_accept_language),
        session,
    )
    request.state.page = page
    return page


def page_for(*roles: Role) -> Callable[..., Awaitable[Page]]:
    """A dependency that lets only ``roles`` in (deny by default) and logs every refusal."""

    async def dependency(request: Request) -> Page:
        state: ServiceState = request.app.state.previ
        pages = pages_state(request)
        language = page_language(
            request, state.config.language, accept_language=state.settings.pages_accept_language
        )
        endpoint = endpoint_of(request)
        session = pages.codec.read(request)
        if session is None or session.token_id is None:
            await log_refusal(state, request, endpoint, 401, "no_valid_session")
            raise LoginRequired(expired=False)
        if session.expired(time.time()):
            await log_refusal(state, request, endpoint, 401, "session_expired")
            raise LoginRequired(expired=True)
        try:
            record = state.tokens.get(session.token_id)
        except PreviError:
            await log_refusal(state, request, endpoint, 503, "token_file_unreadable")
            raise PageError(503, text(TOKENS_UNAVAILABLE, language), logged=True) from None
        if record is None:  # revoked since the login
            await log_refusal(state, request, endpoint, 401, "token_revoked")
            raise LoginRequired(expired=True)
        caller = Caller(token_id=record.token_id, name=record.name, role=record.role)
        request.state.caller = caller
        try:
            state.rate.token(caller.token_id)
        except RateLimited as limited:
            await log_refusal(state, request, endpoint, 429, limited.detail)
            raise
        page = Page(request, state, pages, language, session, caller)
        request.state.page = page
        if caller.role not in roles:
            await run_in_threadpool(
                page.guard.log, "refused", 403, detail=f"role_not_allowed ({', '.join(roles)})"
            )
            raise PageError(
                403, text(WRONG_ROLE, language, role=label_of("role", caller.role, language)), logged=True
            )
        return page

    return dependency


async def check_form(page: Page) -> dict[str, str]:
    """The posted form (urlencoded), after its CSRF token and origin were checked; refusals are logged."""
    body = (await page.request.body()).decode("utf-8", errors="replace")
    form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
    if not page.session.csrf_matches(form.get("csrf")) or not same_origin(page.request):
        if page.caller is not None:
            await run_in_threadpool(page.guard.log, "refused", 403, detail="csrf_failed")
        else:
            await log_refusal(page.state, page.request, endpoint_of(page.request), 403, "csrf_failed")
        raise PageError(
            403,
            page.gettext(
                "The form could not be verified (it may have expired or come from another site). Go back "
                "to the page and try again."
            ),
            logged=True,
        )
    return form


def home_of(role: Role) -> str:
    return NAVIGATION[role][0][0]


class PageRoute(APIRoute):
    """A route whose every outcome is a page: errors in the reader's language, never a stack trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as required:
                response = _to_login(request, expired=required.expired)
            except RateLimited as limited:
                message = text(RATE_LIMITED, _language(request), seconds=limited.retry_after)
                response = error_page(request, 429, message, logged=True)
                response.headers["retry-after"] = str(limited.retry_after)
            except PageError as error:
                response = error_page(request, error.status, error.message, logged=error.logged)
            except (HTTPException, StarletteHTTPException) as error:
                detail = error.detail if isinstance(error.detail, str) else None
                response = error_page(request, error.status_code, detail, logged=error.status_code == 403)
            except RequestValidationError:
                response = error_page(request, 400, None)
            except (AuditUnavailable, SQLAlchemyError) as error:
                # the type only: SQLAlchemy's message repeats the statement's parameters (ids)
                log.error(
                    "audit log unavailable (%s): refusing page %s", type(error).__name__, endpoint_of(request)
                )
                response = error_page(request, 503, text(AUDIT_UNAVAILABLE, _language(request)))
            except Exception:
                log.exception("unexpected error on page %s %s", request.method, endpoint_of(request))
                response = error_page(request, 500, text(INTERNAL, _language(request)))
            else:
                page: Page | None = getattr(request.state, "page", None)
                if page is not None and page.caller is not None and "set-cookie" not in response.headers:
                    page.pages.codec.write(response, request, page.session)
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page_handler


def error_page(request: Request, status: int, message: str | None, *, logged: bool = False) -> HTMLResponse:
    """The error page: a title for the status, the message (or a general one), a way back."""
    language = _language(request)
    texts = translation(language)
    title = ERROR_TITLES.get(status) or (INTERNAL_ERROR if status >= 500 else INVALID_REQUEST)
    if message is None:
        message = texts.gettext(ERROR_MESSAGES.get(status, INVALID_DATA))
    page: Page | None = getattr(request.state, "page", None)
    return render(
        request,
        "error.html",
        page=page,
        status=status,
        title=texts.gettext(title),
        message=message,
        logged=logged,
        language=language,
    )


def render(
    request: Request,
    template: str,
    *,
    page: Page | None,
    status: int = 200,
    language: Language | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the frame's context (texts, language switch, navigation, CSRF token)."""
    state: ServiceState = request.app.state.previ
    language = page.language if page is not None else language or _language(request)
    texts = translation(language)
    caller = page.caller if page is not None else None
    other: Language = "en" if language == "es" else "es"
    current = request.url.path if request.method == "GET" else "/"
    query = {key: value for key, value in request.query_params.items() if key != "lang"}
    switch = f"{current}?{urlencode({**(query if request.method == 'GET' else {}), 'lang': other})}"
    navigation = [
        {"href": href, "label": texts.gettext(label), "current": request.url.path == href}
        for href, label in (NAVIGATION[caller.role] if caller is not None else ())
    ]
    values = {
        # gettext's names, so that Babel's Jinja extractor finds every message of the templates
        "_": texts.gettext,
        "gettext": texts.gettext,
        "ngettext": texts.ngettext,
        "pgettext": texts.pgettext,
        "number": texts.integer,
        "decimal": texts.decimal,
        "percent": texts.percent,
        "date": texts.date,
        "lang": language,
        "other_lang": other,
        "language_names": LANGUAGE_NAMES,
        "switch_url": switch,
        "caller": caller,
        "role_label": label_of("role", caller.role, language) if caller is not None else None,
        "navigation": navigation,
        "csrf": page.session.csrf if page is not None else "",
        "static": static_url,
        "purposes": [
            (purpose, label_of("purpose", purpose, language)) for purpose in state.settings.purposes
        ],
        "label_of": lambda prefix, value: label_of(prefix, str(value), language),
        **context,
    }
    templates = pages_state(request).templates
    response = HTMLResponse(templates.get_template(template).render(values), status_code=status)
    if request.query_params.get("lang") == language:
        response.set_cookie(
            "previ_lang", language, max_age=365 * 24 * 3600, path="/", samesite="lax", httponly=True
        )
    return response


@cache
def static_url(name: str) -> str:
    """``/static/NAME?v=HASH``: the hash changes with the file, so a browser never keeps an old copy."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def pages_state(request: Request) -> PagesState:
    pages: PagesState = request.app.state.previ_pages
    return pages


def safe_next(target: str | None) -> str | None:
    """A local path to come back to after the login, or None (never another site: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _to_login(request: Request, *, expired: bool) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query: dict[str, str] = {}
    if request.method == "GET" and safe_next(back):
        query["next"] = back
    if expired:
        query["expired"] = "1"
    location = "/login" + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(location, status_code=303)


def _language(request: Request) -> Language:
    page: Page | None = getattr(request.state, "page", None)
    if page is not None:
        return page.language
    state: ServiceState | None = getattr(request.app.state, "previ", None)
    if state is None:
        return page_language(request, "es")
    return page_language(request, state.config.language, accept_language=state.settings.pages_accept_language)
