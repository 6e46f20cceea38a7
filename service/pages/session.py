"""Web sessions: a bearer token exchanged once for a signed, HttpOnly cookie, and CSRF tokens.

The cookie holds the token's id (never the token), a CSRF token and two times,
signed with a key drawn at start-up (so a restart logs everyone out, and a
cookie cannot be forged or edited). On every request the token id is looked up
again in the token file: a revoked token ends its sessions at the next click,
and the role is always the file's. A session ends after ``IDLE_SECONDS`` without
a request or ``MAX_SECONDS`` after login, whichever comes first.

Before login the same cookie carries only a CSRF token, so the login form is
protected too. Every form posts its CSRF token in a hidden field; a POST whose
field does not match the cookie's, or that comes from another origin, is
refused. ``SameSite=Strict`` keeps the cookie off cross-site requests, and
``Secure`` (with the ``__Host-`` name prefix) is set whenever the page was served
over https.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from features.registry import Language
from service.texts import parse_accept_language

__all__ = [
    "IDLE_SECONDS",
    "LANGUAGE_COOKIE",
    "MAX_SECONDS",
    "Session",
    "SessionCodec",
    "cookie_name",
    "page_language",
    "same_origin",
]

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 8 * 60 * 60
SESSION_COOKIE = "previ_session"
LANGUAGE_COOKIE = "previ_lang"
LANGUAGES: tuple[Language, ...] = ("es", "en")


@dataclass(frozen=True)
class Session:
    """What the cookie says: an anonymous session has no ``token_id``."""

    csrf: str
    token_id: str | None = None
    issued: float = 0.0
    seen: float = 0.0

    def expired(self, now: float) -> bool:
        return now - self.seen > IDLE_SECONDS or now - self.issued > MAX_SECONDS

    def csrf_matches(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf.encode(), str(submitted).encode("utf-8"))


class SessionCodec:
    """Signs and reads session cookies (JSON, then an HMAC-SHA256 tag) with one key per process."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def anonymous(self) -> Session:
        return Session(csrf=secrets.token_urlsafe(24))

    def logged_in(self, token_id: str, *, now: float | None = None) -> Session:
        """A fresh session (new CSRF token: nothing from before the login carries over)."""
        moment = time.time() if now is None else now
        return Session(csrf=secrets.token_urlsafe(24), token_id=token_id, issued=moment, seen=moment)

    def dumps(self, session: Session) -> str:
        payload: dict[str, Any] = {"c": session.csrf}
        if session.token_id is not None:
            payload.update(t=session.token_id, i=session.issued, s=session.seen)
        body = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._tag(body)}"

    def loads(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None for a missing, forged or malformed one."""
        body, _, tag = (cookie or "").partition(".")
        if not body or not hmac.compare_digest(tag.encode("utf-8"), self._tag(body).encode()):
            return None
        try:
            payload = json.loads(_b64decode(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            return None
        token_id = payload.get("t")
        if token_id is None:
            return Session(csrf=payload["c"])
        try:
            return Session(
                csrf=payload["c"],
                token_id=str(token_id),
                issued=float(payload["i"]),
                seen=float(payload["s"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def _tag(self, body: str) -> str:
        return _b64encode(
            hmac.new(self._key, b"previ-web-session." + body.encode("utf-8"), hashlib.sha256).digest()
        )

    def read(self, request: Request) -> Session | None:
        return self.loads(request.cookies.get(cookie_name(request)))

    def write(self, response: Response, request: Request, session: Session) -> None:
        """Set (or refresh) the cookie; ``seen`` is moved to now for a logged-in session."""
        if session.token_id is not None:
            session = replace(session, seen=time.time())
        secure = request.url.scheme == "https"
        response.set_cookie(
            cookie_name(request),
            self.dumps(session),
            max_age=MAX_SECONDS,
            path="/",
            secure=secure,
            httponly=True,
            samesite="strict",
        )

    def clear(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            cookie_name(request), path="/", secure=request.url.scheme == "https", httponly=True
        )


def cookie_name(request: Request) -> str:
    """``__Host-`` names (Secure, whole site, no Domain) where the browser accepts them: over https."""
    return f"__Host-{SESSION_COOKIE}" if request.url.scheme == "https" else SESSION_COOKIE


def same_origin(request: Request) -> bool:
    """False when the browser says the form came from another origin (Origin, else Referer).

    With neither header (some privacy tools strip both) the CSRF token alone decides.
    """
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin == expected or origin.startswith(expected + "/")


def page_language(request: Request, default: Language, *, accept_language: bool = False) -> Language:
    """``?lang=`` first, then the language cookie, then the configured default.

    The browser's Accept-Language comes before the default only when the
    service is configured so (``service.pages_accept_language``): previ's pages
    are Spanish unless the reader picks English with the language link.
    """
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in LANGUAGES:
            return "es" if candidate == "es" else "en"
    if not accept_language:
        return default
    return parse_accept_language(request.headers.get("accept-language"), default)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
