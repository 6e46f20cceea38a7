"""ASGI middleware: security headers, the access log, query-string checks and a request-body limit.

:class:`SecurityHeadersMiddleware` is the outermost layer, so every response
carries ``no-store``, ``nosniff`` and the framing and referrer rules, the 413
and 422 answered by the inner layers included. :class:`AccessLogMiddleware`
replaces uvicorn's access log, which printed paths and query strings (youth
ids, and a token sent in the URL): it logs the route template, the status, the
time taken and the caller's token id, through the ``previ.service`` logger.
:class:`QueryGuardMiddleware` refuses a token in the query string (400, before
anything logs the URL) and a repeated query parameter (422), which would
otherwise be read as its last value.

The body limit answers 413 before the app sees the request: at once when the
declared Content-Length is over the limit, and while streaming when a body with
no (or a false) Content-Length grows past it. The accepted body is buffered and
replayed to the app, which is cheap at the limit's size and keeps the app
unaware of the check.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features.registry import Language
from service.texts import BODY_TOO_LARGE, REPEATED_PARAMETER, TOKEN_IN_QUERY, parse_accept_language, text

__all__ = ["AccessLogMiddleware", "BodyLimitMiddleware", "QueryGuardMiddleware", "SecurityHeadersMiddleware"]

log = logging.getLogger("previ.service")
access_log = logging.getLogger("previ.service.access")
SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
DEFAULT_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
TOKEN_PARAMETERS = {"token", "access_token", "bearer", "authorization", "api_key", "apikey", "key"}
TOKEN_VALUE = re.compile(r"(^|[^A-Za-z0-9])previ_[0-9a-f]{8}_")
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        payload = json.dumps(
            {"detail": text(BODY_TOO_LARGE, _language(scope), limit=self.max_bytes)}
        ).encode()
        await send_json(send, 413, payload, (b"connection", b"close"))


async def send_json(send: Send, status: int, payload: bytes, *extra: tuple[bytes, bytes]) -> None:
    """Answer with a JSON body from inside a middleware."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class SecurityHeadersMiddleware:
    """No caching, no sniffing, no framing on every response: scores and logs are personal data.

    Responses that set their own Content-Security-Policy (pages, /docs) keep it;
    the others (JSON) get one that allows nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                headers += SECURITY_HEADERS
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class QueryGuardMiddleware:
    """400 for a token in the query string, 422 for a query parameter given twice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("query_string", b"").decode("latin-1") if scope["type"] == "http" else ""
        if not raw:
            await self.app(scope, receive, send)
            return
        pairs = parse_qsl(raw, keep_blank_values=True)
        language = _language(scope)
        if any(name.lower() in TOKEN_PARAMETERS or TOKEN_VALUE.search(value) for name, value in pairs):
            log.warning("refused a request with a token in its query string (%s)", scope.get("path", "")[:40])
            payload = json.dumps({"detail": text(TOKEN_IN_QUERY, language)}).encode()
            await send_json(send, 400, payload)
            return
        repeated = [name for name, times in Counter(name for name, _ in pairs).items() if times > 1]
        if repeated:
            name = repeated[0] if PLAIN_NAME.fullmatch(repeated[0]) else "?"
            detail = [
                {
                    "loc": ["query", name],
                    "msg": text(REPEATED_PARAMETER, language, name=name),
                    "type": "repeated",
                }
            ]
            await send_json(send, 422, json.dumps({"detail": detail}).encode())
            return
        await self.app(scope, receive, send)


class AccessLogMiddleware:
    """One line per request: method, route template, status, milliseconds, token id; never ids or queries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            route = scope.get("route")
            path = str(getattr(route, "path", "")) or _static_or_unmatched(scope)
            caller = (
                getattr(scope.get("state", {}).get("caller"), "token_id", None)
                if isinstance(scope.get("state"), dict)
                else None
            )
            access_log.info(
                "%s %s %d %.0fms token=%s",
                scope.get("method", "-"),
                path,
                status,
                (time.perf_counter() - started) * 1000,
                caller or "-",
            )


def _static_or_unmatched(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    return "/static/*" if path.startswith(("/static/", "/docs-static/")) else "(unmatched)"


def _language(scope: Scope) -> Language:
    headers = dict(scope.get("headers", []))
    return parse_accept_language(headers.get(b"accept-language", b"").decode("latin-1"), "es")
