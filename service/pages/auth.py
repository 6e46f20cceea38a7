"""Signing in and out: a bearer token is exchanged once for a session cookie (see :mod:`.session`)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from previ.errors import PreviError
from service.deps import client_address, endpoint_of, log_refusal
from service.pages.frame import (
    Page,
    PageError,
    PageRoute,
    check_form,
    home_of,
    page_for,
    pages_state,
    public_page,
    safe_next,
)
from service.rate_limits import RateLimited, token_id_of
from service.state import ServiceState
from service.texts import TOKENS_UNAVAILABLE, text
from service.tokens import ROLES

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PublicPage = Annotated[Page, Depends(public_page)]
AnyRolePage = Annotated[Page, Depends(page_for(*ROLES))]


@router.get("/")
def start(request: Request) -> Response:
    """The reader's home page when signed in, else the login."""
    state: ServiceState = request.app.state.previ
    session = pages_state(request).codec.read(request)
    if session is not None and session.token_id is not None and not session.expired(time.time()):
        record = state.tokens.get(session.token_id)
        if record is not None:
            return RedirectResponse(home_of(record.role), status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/login")
def login_form(page: PublicPage) -> Response:
    query = page.request.query_params
    if query.get("expired"):
        notice = page.gettext("Your session ended (inactivity or time limit). Please sign in again.")
    elif query.get("out"):
        notice = page.gettext("Signed out.")
    elif query.get("next"):
        notice = page.gettext("Sign in to continue.")
    else:
        notice = None
    return _login_page(page, notice=notice, next_path=safe_next(query.get("next")))


@router.post("/login")
async def login(page: PublicPage) -> Response:
    codec = page.pages.codec
    if codec.read(page.request) is None:  # no cookie: the form outlived its session
        return _login_page(page, error=page.gettext("The form expired; please try again."), status=400)
    form = await check_form(page)
    next_path = safe_next(form.get("next"))
    token = form.get("token", "").strip()
    token_id = token_id_of(token)
    rate = page.state.rate
    endpoint = endpoint_of(page.request)
    try:
        rate.address(client_address(page.request), login=True)
        rate.check_unlocked(token_id)
        caller = page.state.tokens.authenticate(token)
    except RateLimited as limited:
        await log_refusal(page.state, page.request, endpoint, 429, limited.detail)
        raise
    except PreviError:
        await log_refusal(page.state, page.request, endpoint, 503, "token_file_unreadable")
        raise PageError(503, text(TOKENS_UNAVAILABLE, page.language), logged=True) from None
    if caller is None:
        rate.failed(token_id if token_id and page.state.tokens.get(token_id) else None)
        await log_refusal(page.state, page.request, endpoint, 401, "login_failed")
        return _login_page(
            page,
            error=page.gettext("The token is not valid or was revoked."),
            status=401,
            next_path=next_path,
        )
    signed_in = Page(page.request, page.state, page.pages, page.language, page.session, caller)
    await run_in_threadpool(signed_in.guard.log, "allowed", 200, detail="login")
    response = RedirectResponse(next_path or home_of(caller.role), status_code=303)
    codec.write(response, page.request, codec.logged_in(caller.token_id))
    return response


@router.post("/logout")
async def logout(page: AnyRolePage) -> Response:
    await check_form(page)
    await run_in_threadpool(page.guard.log, "allowed", 200, detail="logout")
    response = RedirectResponse("/login?out=1", status_code=303)
    page.pages.codec.clear(response, page.request, page.session)
    return response


def _login_page(
    page: Page,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    next_path: str | None = None,
) -> Response:
    """The form, with a fresh anonymous session (and CSRF token) when the reader has none."""
    session = page.session if page.session.token_id is None else page.pages.codec.anonymous()
    anonymous = Page(page.request, page.state, page.pages, page.language, session)
    response = anonymous.render(
        "login.html", status=status, notice=notice, error=error, next_path=next_path or ""
    )
    page.pages.codec.write(response, page.request, session)
    return response
