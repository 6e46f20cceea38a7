"""Signing in and out, sessions, roles, CSRF, languages and error pages, in a real browser."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.web.conftest import WebService, login

pytestmark = pytest.mark.browser


def _codec(web: WebService) -> Any:
    return web.service.server.config.app.state.previ_pages.codec


def test_login_exchanges_the_token_for_an_httponly_strict_session_cookie(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "caseworker")
    assert page.url.endswith("/caseworker/caseload")
    [cookie] = [cookie for cookie in context.cookies() if cookie["name"] == "previ_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http on loopback; https gets Secure and the __Host- prefix
    token = web.token("caseworker")
    assert token not in cookie["value"] and token.split("_", 2)[2] not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # invisible to scripts
    entries = web.audit(role="caseworker")
    assert any(entry["endpoint"] == "/login" and entry["detail"] == "login" for entry in entries)


def test_a_wrong_token_is_refused_on_the_login_page_and_logged(context: Any, web: WebService) -> None:
    page = context.new_page()
    page.goto("/login")
    page.fill("#token", "previ_deadbeef_not-a-real-secret")
    response = page.expect_navigation()
    with response as navigation:
        page.click("button[type=submit]")
    assert navigation.value.status == 401
    assert page.locator(".error").inner_text() == "El token no es válido o fue revocado."
    refused = web.audit(outcome="refused")
    assert any(entry["endpoint"] == "/login" and entry["detail"] == "login_failed" for entry in refused)


def test_a_page_of_another_role_is_a_logged_403_page(context: Any, web: WebService) -> None:
    page = login(context, web, "caseworker")
    for path in ("/auditor/log", "/manager/fairness", "/manager/uptake", "/auditor/log.csv"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.locator("h1").inner_text() == "Acceso denegado"
        assert "acompañamiento de casos" in page.locator(".error").inner_text()
        assert "quedó registrado" in page.locator(".help").inner_text()
    refused = web.audit(role="caseworker", outcome="refused")
    assert {entry["endpoint"] for entry in refused} >= {
        "/auditor/log",
        "/manager/fairness",
        "/manager/uptake",
    }


def test_without_a_session_a_page_goes_to_the_login_and_back_after_it(context: Any, web: WebService) -> None:
    page = context.new_page()
    page.goto("/manager/uptake?group=municipality")
    assert "/login?next=" in page.url
    assert page.locator(".notice").inner_text() == "Inicie sesión para continuar."
    page.fill("#token", web.token("program_manager"))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/manager/uptake?group=municipality")


def test_an_expired_session_goes_back_to_the_login(context: Any, web: WebService) -> None:
    page = login(context, web, "auditor")
    codec = _codec(web)
    [cookie] = [cookie for cookie in context.cookies() if cookie["name"] == "previ_session"]
    session = codec.loads(cookie["value"])
    assert session is not None and session.sid is not None
    codec.store.touch(session.sid, now=time.time() - 3 * 3600)  # the session lives server-side
    page.goto("/auditor/log")
    assert "/login" in page.url and "expired=1" in page.url
    assert "Su sesión terminó" in page.locator(".notice").inner_text()
    refused = web.audit(outcome="refused")
    assert any(entry["detail"] == "session_expired" for entry in refused)


def test_a_forged_cookie_is_no_session(context: Any, web: WebService) -> None:
    context.add_cookies(
        [{"name": "previ_session", "value": "eyJjIjoieCIsInQiOiJhYmMifQ.forged", "url": web.url}]
    )
    page = context.new_page()
    page.goto("/auditor/log")
    assert "/login" in page.url


def test_forms_without_the_csrf_token_or_from_another_origin_are_refused(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "caseworker")
    form = {"youth_id": web.youth["universal"], "kind": "referral_made", "program": "mentoria"}
    missing = page.request.post("/caseworker/feedback", form=form, max_redirects=0)
    assert missing.status == 403 and "El formulario no se pudo verificar" in missing.text()
    page.goto("/caseworker/youth")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    foreign = page.request.post(
        "/caseworker/feedback",
        form={**form, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
        max_redirects=0,
    )
    assert foreign.status == 403
    good = page.request.post(
        "/caseworker/feedback", form={**form, "csrf": csrf, "purpose": "case_review"}, max_redirects=0
    )
    assert good.status == 303
    details = [entry["detail"] for entry in web.audit(role="caseworker", outcome="refused")]
    assert details.count("csrf_failed") >= 2


def test_the_language_switches_to_english_and_stays_until_switched_back(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "caseworker")
    assert page.locator("html").get_attribute("lang") == "es"
    page.click("text=English")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "My caseload"
    assert "never a basis for sanctions" in page.locator(".banner").inner_text()
    page.goto(f"/caseworker/youth?youth_id={web.youth['indicated']}&purpose=case_review")
    assert page.locator(".tier-card .tier-badge").inner_text() == "Indicated"
    assert "about 1 in" in page.locator("section[aria-labelledby=probability-heading]").inner_text()
    english = page.locator(".bar-list .bar-text").all_inner_texts()
    page.click("text=Español")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator(".tier-card .tier-badge").inner_text() == "Indicada"
    assert page.locator(".bar-list .bar-text").all_inner_texts() != english


def test_errors_are_pages_in_the_readers_language_and_the_api_keeps_json(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "auditor")
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Página no encontrada"
    assert "Traceback" not in page.content()
    bad = page.goto("/auditor/log?since=yesterday")
    assert (
        bad.status == 400 and page.locator("#date-error").inner_text() == "Fecha no válida: use AAAA-MM-DD."
    )
    api = httpx.get(f"{web.url}/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_signing_out_ends_the_session(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    page.click("text=Cerrar sesión")
    page.wait_for_load_state()
    assert page.url.endswith("/login?out=1") and page.locator(".notice").inner_text() == "Sesión cerrada."
    page.goto("/manager/fairness")
    assert "/login" in page.url


def test_pages_are_spanish_for_an_english_browser_until_the_reader_switches(
    browser: Any, web: WebService
) -> None:
    english = browser.new_context(
        base_url=web.url, locale="en-US", extra_http_headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    try:
        page = english.new_page()
        page.goto("/login")
        assert page.locator("html").get_attribute("lang") == "es"  # Spanish by default, not the browser's
        page.click("text=English")
        page.wait_for_load_state()
        page.goto("/login")
        assert page.locator("html").get_attribute("lang") == "en"  # the cookie remembers the choice
    finally:
        english.close()
