"""Every page in both languages reads in words (no raw snake_case key), and wide tables reflow on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fairness_audits import AuditResult, Threshold, audit
from fairness_audits.report import render_html
from fairness_audits.texts import Lang
from tests.fairness_audits.factories import synthetic_table
from tests.web.conftest import WebService, login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Visible text without <code> (feature names, token ids and routes are shown as code on purpose) and
# without the signed-in person's name (the test tokens are named after their roles).
VISIBLE_TEXT = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('code, script, style, [hidden], .who').forEach(node => node.remove());
    return body.innerText;
}"""
RAW_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# Every cell of a table inside the viewport and shown: nothing hidden off to the side or collapsed.
CELLS_OFF_SCREEN = """(selector) => {
    const width = document.documentElement.clientWidth;
    const cells = [...document.querySelectorAll(selector + ' tbody tr:nth-child(-n+5) > *')];
    return {
        cells: cells.length,
        hidden: cells.filter(cell => {
            const box = cell.getBoundingClientRect();
            const style = getComputedStyle(cell);
            return style.display === 'none' || style.visibility === 'hidden'
                || box.width === 0 || box.right > width + 1 || box.left < -1;
        }).length,
    };
}"""


def _pages(web: WebService) -> list[tuple[str | None, str]]:
    youth = web.youth["indicated"]
    return [
        (None, "/login"),
        ("caseworker", "/caseworker/caseload?purpose=case_review"),
        ("caseworker", f"/caseworker/youth?youth_id={youth}&purpose=referral_planning"),
        ("caseworker", "/caseworker/youth"),
        ("program_manager", "/manager/fairness"),
        ("program_manager", "/manager/fairness/report"),  # the report itself, as the frame shows it
        ("program_manager", "/manager/uptake"),
        ("program_manager", "/manager/uptake?group=municipality"),
        ("program_manager", "/manager/versions"),
        ("program_manager", "/manager/effects"),
        ("program_manager", "/model"),
        ("auditor", "/auditor/log"),
        ("caseworker", "/auditor/log"),  # the 403 page
        ("auditor", "/no-such-page"),
    ]


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_page_shows_a_raw_key(browser: Any, web: WebService, language: str) -> None:
    found: list[str] = []
    pages: dict[str | None, Any] = {}
    try:
        for role, path in _pages(web):
            if role not in pages:
                # the report's own CSP (a sandbox) forbids scripts, the reading of its text included
                context = browser.new_context(base_url=web.url, locale="es-MX", bypass_csp=True)
                pages[role] = login(context, web, role) if role is not None else context.new_page()
            page = pages[role]
            page.goto(path + ("&" if "?" in path else "?") + f"lang={language}")
            assert page.locator("html").get_attribute("lang") == language
            keys = sorted(set(RAW_KEY.findall(page.evaluate(VISIBLE_TEXT))))
            found += [f"{path} ({language}): {key}" for key in keys]
    finally:
        for page in pages.values():
            page.context.close()
    assert not found, "\n".join(found)


def test_the_raw_key_check_catches_a_key() -> None:
    assert RAW_KEY.findall("fnr age_band=15-17 and indicated_min, brier_platt") == [
        "age_band",
        "indicated_min",
        "brier_platt",
    ]
    assert RAW_KEY.findall("Tasa de omisión (FNR) en franja de edad 15-17") == []


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize(
    ("role", "path", "table"),
    [
        ("auditor", "/auditor/log", "table.log"),
        ("program_manager", "/manager/uptake", "section[aria-labelledby=places-heading] table"),
        ("program_manager", "/manager/effects", "section[aria-labelledby=programmes-heading] table"),
        ("program_manager", "/manager/effects", "section[aria-labelledby=municipalities-heading] table"),
    ],
)
def test_wide_tables_show_every_column_on_a_phone(
    browser: Any, web: WebService, role: str, path: str, table: str, language: str
) -> None:
    context = browser.new_context(base_url=web.url, locale="es-MX", viewport=PHONE)
    try:
        page = login(context, web, role)
        page.goto(f"{path}?lang={language}")
        seen = page.evaluate(CELLS_OFF_SCREEN, table)
        assert seen["cells"] >= 5 and seen["hidden"] == 0, seen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        labels = page.evaluate(
            "(selector) => [...document.querySelector(selector + ' tbody tr').children]"
            ".map(cell => [cell.dataset.label || '', getComputedStyle(cell, '::before').content])",
            table,
        )
        assert all(label and shown not in ("none", "normal", "") for label, shown in labels), labels
    finally:
        context.close()


def test_the_fairness_flags_read_in_words(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    page.goto("/manager/fairness?lang=en")
    flags = page.locator("ul.flags li").all_inner_texts()
    audit = web.service.state.holder.current.audit_json or {}
    flagged = (audit.get("gate") or {}).get("flags") or []
    assert len(flags) == min(len(flagged), 8)
    for sentence in flags:
        assert " for " in sentence and " (95% CI: " in sentence and "*" not in sentence


def test_the_fairness_report_honours_the_language(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    english = page.request.get("/manager/fairness/report?lang=en").text()
    spanish = page.request.get("/manager/fairness/report?lang=es").text()
    assert "Fairness audit" in english and "Auditoría de equidad" not in english
    assert "Auditoría de equidad" in spanish


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_standalone_report_fits_a_phone(browser: Any, web: WebService, language: str) -> None:
    # the report's CSP sandbox forbids scripts, the measurement's included
    context = browser.new_context(base_url=web.url, locale="es-MX", viewport=PHONE, bypass_csp=True)
    try:
        page = login(context, web, "program_manager")
        page.goto(f"/manager/fairness/report?lang={language}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


@pytest.fixture(scope="module")
def flagged_audit() -> AuditResult:
    """An audit whose gate flags checks (the served test model's passes): one municipality under-rated."""
    result = audit(
        synthetic_table(6_000, seed=1, miss_in="Sur"),
        label="outcome",
        score="probability",
        groups=["municipality", "sex"],
        rule=Threshold(0.3),
        resamples=200,
    )
    assert result.gate.flagged
    return result


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_column_of_the_flagged_checks_shows_on_a_phone(
    browser: Any, flagged_audit: AuditResult, language: Lang
) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.set_content(render_html(flagged_audit, lang=language))
        seen = page.evaluate(CELLS_OFF_SCREEN, "table.findings")
        assert seen["cells"] >= 5 and seen["hidden"] == 0, seen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert RAW_KEY.findall(page.evaluate(VISIBLE_TEXT)) == []
    finally:
        context.close()
