"""Session cookies and CSRF without a browser, and the `previ caseload` command.

The tests of stores (sessions, tokens, caseloads) run on SQLite and on PostgreSQL (``store_url``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import typer
from typer.testing import CliRunner

from cli.commands import caseload
from previ.config import PreviConfig
from previ.errors import PreviError
from service.caseload import BAD_YOUTH_ID, caseload_store
from service.database import make_engine
from service.main import create_app
from service.pages.session import IDLE_SECONDS, MAX_SECONDS, SessionCodec
from service.sessions import SessionStore
from service.settings import ServiceSettings
from service.tokens import token_store

T = TypeVar("T")


def _settings(folder: Path, url: str | None = None) -> ServiceSettings:
    return ServiceSettings(
        tokens_file=folder / "tokens.json",
        pseudonym_key_file=folder / "pseudonym.key",
        audit_url=url or f"sqlite:///{folder / 'audit.db'}",
        snapshot_url=url,
        audit_fsync=False,
        snapshot_dir=folder / "snapshots",
        audit_key_file=folder / "audit.key",
        session_key_file=folder / "session.key",
        model_path=folder / "no-model",
    )


def _codec(folder: Path, key: bytes = b"k" * 32, url: str | None = None) -> SessionCodec:
    url = url or f"sqlite:///{folder / 'sessions.db'}"
    return SessionCodec(key, SessionStore(make_engine(url, fsync=False), url, max_seconds=MAX_SECONDS))


def test_a_session_cookie_round_trips_and_rejects_edits_and_other_keys(
    tmp_path: Path, store_url: str
) -> None:
    codec = _codec(tmp_path, url=store_url)
    session = codec.logged_in("a1b2c3d4")
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == session
    assert "a1b2c3d4" not in cookie and session.sid is not None  # the cookie holds a session id only
    assert codec.loads(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert _codec(tmp_path, b"o" * 32, store_url).loads(cookie) is None  # another key, same store
    assert _codec(tmp_path, url=store_url).loads(cookie) == session  # another worker with the shared key
    assert codec.loads("") is None and codec.loads("garbage") is None and codec.loads("ñ.ñ") is None
    anonymous = codec.loads(codec.dumps(codec.anonymous()))
    assert anonymous is not None and anonymous.token_id is None


def test_an_ended_session_is_refused_at_once_in_every_worker(tmp_path: Path, store_url: str) -> None:
    codec, other_worker = _codec(tmp_path, url=store_url), _codec(tmp_path, url=store_url)
    kept, ended = codec.logged_in("a1b2c3d4"), codec.logged_in("a1b2c3d4")
    assert ended.sid is not None
    codec.store.end(ended.sid)
    assert other_worker.loads(codec.dumps(ended)) is None
    assert other_worker.loads(codec.dumps(kept)) == kept
    assert codec.store.end_token("a1b2c3d4") == 1  # what `previ tokens revoke` does
    assert other_worker.loads(codec.dumps(kept)) is None


def test_a_session_expires_when_idle_or_too_old(tmp_path: Path) -> None:
    now = time.time()
    session = _codec(tmp_path).logged_in("a1b2c3d4", now=now)
    assert not session.expired(now + IDLE_SECONDS - 1)
    assert session.expired(now + IDLE_SECONDS + 1)
    assert replace(session, seen=now + MAX_SECONDS).expired(now + MAX_SECONDS + 1)
    assert session.csrf_matches(session.csrf) and not session.csrf_matches(None)
    other_last = "y" if session.csrf.endswith("x") else "x"  # a token ends in "x" once in 64 runs
    assert not session.csrf_matches(session.csrf[:-1] + other_last) and not session.csrf_matches("ñandú")


def _requests(app: Any, base_url: str, calls: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run ``calls`` against ``app`` in process (no lifespan: no model is loaded, the pages need none).

    In a thread of its own: Playwright's sync API keeps an event loop running in the test thread.
    """

    async def run() -> T:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            return await calls(client)

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, run()).result()


def test_over_https_the_session_cookie_is_secure_host_only_httponly_and_strict(
    tmp_path: Path, store_url: str
) -> None:
    settings = _settings(tmp_path, store_url)
    _, token = token_store(settings).add(role="auditor", name="ana")

    async def sign_in(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        page = await client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        signed_in = await client.post(
            "/login",
            data={"csrf": csrf.group(1), "token": token, "next": ""},
            headers={"Origin": "https://testserver"},
        )
        return page, signed_in

    login_page, signed_in = _requests(
        create_app(PreviConfig(), settings=settings), "https://testserver", sign_in
    )
    cookie = login_page.headers["set-cookie"]
    assert cookie.startswith("__Host-previ_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/auditor/log"
    assert signed_in.headers["set-cookie"].startswith("__Host-previ_session=")
    assert "Secure" in signed_in.headers["set-cookie"]
    assert "content-security-policy" in login_page.headers and login_page.headers["x-frame-options"] == "DENY"


def test_the_login_refuses_a_post_without_its_csrf_token(tmp_path: Path, store_url: str) -> None:
    settings = _settings(tmp_path, store_url)
    _, token = token_store(settings).add(role="auditor", name="ana")

    async def without_csrf(client: httpx.AsyncClient) -> httpx.Response:
        await client.get("/login")
        return await client.post("/login", data={"token": token})

    async def without_cookie(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/login", data={"token": token, "csrf": "x"})

    refused = _requests(create_app(PreviConfig(), settings=settings), "http://testserver", without_csrf)
    assert refused.status_code == 403 and "previ_session" not in refused.headers.get("set-cookie", "")
    expired = _requests(create_app(PreviConfig(), settings=settings), "http://testserver", without_cookie)
    assert expired.status_code == 400 and "El formulario caducó" in expired.text


def test_an_unexpected_error_is_a_page_in_the_readers_language_without_a_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.pages.caseworker

    def broken(*args: object) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(service.pages.caseworker, "snapshot_answer", broken)
    settings = _settings(tmp_path)
    _, token = token_store(settings).add(role="caseworker", name="ana")

    async def look_up(client: httpx.AsyncClient) -> httpx.Response:
        page = await client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        await client.post("/login", data={"csrf": csrf.group(1), "token": token})
        return await client.get("/caseworker/youth", params={"youth_id": "Y1", "purpose": "case_review"})

    response = _requests(create_app(PreviConfig(), settings=settings), "http://testserver", look_up)
    assert response.status_code == 500 and "text/html" in response.headers["content-type"]
    assert "Error interno" in response.text
    assert "secret detail" not in response.text and "Traceback" not in response.text


def test_the_caseload_command_adds_lists_and_removes_assignments(tmp_path: Path, store_url: str) -> None:
    config = tmp_path / "previ.yaml"
    config.write_text(f"service:\n  audit_url: {store_url}\n  tokens_file: {tmp_path / 'tokens.json'}\n")
    token_store(_settings(tmp_path, store_url)).add(role="caseworker", name="ana")
    app = typer.Typer()
    caseload.register(app)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == 0, result.output
        return result.output

    assert "Y000123 assigned to ana" in run("caseload", "add", "--caseworker", "ana", "--youth", "Y000123")
    assert "already assigned" in run("caseload", "add", "--caseworker", "ana", "--youth", "Y000123")
    run("caseload", "add", "--caseworker", "ana", "--youth", "Y000007")
    assert "warning: no caseworker token is named 'bea'" in run(
        "caseload", "add", "--caseworker", "bea", "--youth", "Y000001"
    )
    listed = run("caseload", "list", "--caseworker", "ana")
    assert "Y000007" in listed and "Y000123" in listed and "Y000001" not in listed
    assert "removed" in run("caseload", "remove", "--caseworker", "ana", "--youth", "Y000123")
    assert "was not assigned" in run("caseload", "remove", "--caseworker", "ana", "--youth", "Y000123")
    bad = runner.invoke(
        app, ["caseload", "add", "--caseworker", "ana", "--youth", "Ana López", "--config", str(config)]
    )
    assert bad.exit_code == 2 and BAD_YOUTH_ID in bad.output


def test_caseloads_are_kept_per_caseworker_in_the_service_database(tmp_path: Path, store_url: str) -> None:
    store = caseload_store(_settings(tmp_path, store_url))
    store.add(caseworker="ana", youth_id="Y2")
    store.add(caseworker="ana", youth_id="Y1")
    store.add(caseworker="bea", youth_id="Y3")
    assert store.youth_of("ana") == ["Y1", "Y2"] and store.youth_of("bea") == ["Y3"]
    assert store.youth_of("carla") == []
    with pytest.raises(PreviError):
        store.add(caseworker="", youth_id="Y1")
