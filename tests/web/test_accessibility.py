"""Every page at desktop and phone widths: no serious or critical axe-core violations; screenshots on request.

Set PREVI_SCREENSHOTS=docs/screenshots to (re)write the screenshots of the docs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import WebService, login

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390}
SCREENSHOTS = os.environ.get("PREVI_SCREENSHOTS")
POST_FORMS_CARRY_CSRF = """() => [...document.querySelectorAll('form')]
    .filter(form => form.method === 'post')
    .every(form => form.elements.csrf && form.elements.csrf.value.length > 20)"""


def _pages(web: WebService) -> list[tuple[str, str | None, str]]:
    """(screenshot name, role or None for signed out, path)."""
    youth = web.youth["indicated"]
    return [
        ("login", None, "/login"),
        ("caseworker-caseload", "caseworker", "/caseworker/caseload?purpose=case_review"),
        ("caseworker-youth", "caseworker", f"/caseworker/youth?youth_id={youth}&purpose=referral_planning"),
        (
            "caseworker-youth-en",
            "caseworker",
            f"/caseworker/youth?youth_id={youth}&purpose=referral_planning&lang=en",
        ),
        ("caseworker-lookup", "caseworker", "/caseworker/youth?lang=es"),
        ("caseworker-estimate", "caseworker", "/caseworker/estimate"),
        ("manager-fairness", "program_manager", "/manager/fairness"),
        ("manager-uptake", "program_manager", "/manager/uptake"),
        ("manager-versions", "program_manager", "/manager/versions"),
        ("manager-effects", "program_manager", "/manager/effects"),
        ("model-card", "program_manager", "/model"),
        ("auditor-log", "auditor", "/auditor/log"),
        ("error-403", "caseworker", "/auditor/log"),
        ("error-404", "auditor", "/no-such-page"),
    ]


def test_every_page_at_both_widths_is_accessible_and_its_forms_carry_a_csrf_token(
    browser: Any, web: WebService, axe_js: Path
) -> None:
    problems: list[str] = []
    pages: dict[str | None, Any] = {}
    try:
        for name, role, path in _pages(web):
            if role not in pages:
                context = browser.new_context(
                    base_url=web.url,
                    locale="es-MX",
                    viewport={"width": WIDTHS["desktop"], "height": 900},
                    bypass_csp=True,  # axe is injected as an inline script, which the pages' CSP forbids
                )
                pages[role] = login(context, web, role) if role is not None else context.new_page()
            page = pages[role]
            page.goto(path)
            if not page.evaluate(POST_FORMS_CARRY_CSRF):
                problems.append(f"{name}: a form that posts has no CSRF token")
            page.add_script_tag(path=str(axe_js))
            for width, pixels in WIDTHS.items():
                page.set_viewport_size({"width": pixels, "height": 900})
                problems += _violations(page, f"{name} ({width})")
                if page.evaluate("document.documentElement.scrollWidth") > pixels:
                    problems.append(f"{name} ({width}): the page scrolls sideways")
                if SCREENSHOTS:
                    Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-{width}.png"), full_page=True)
            page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    finally:
        for page in pages.values():
            page.context.close()
    assert not problems, "\n".join(problems)


def _violations(page: Any, where: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    result = page.evaluate("() => axe.run(document, {iframes: false, resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    return [f"{where}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes'][:3]]}" for v in serious]
