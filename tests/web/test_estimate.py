"""The caseworker's estimate form in a real browser: "no tiene registro" and "no lo sé" are two answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.factories import person
from tests.web.conftest import WebService, login

pytestmark = pytest.mark.browser

UNKNOWN = ("grade_mean_365d", "grade_mean_last_term")


def test_the_form_scores_values_no_record_and_i_dont_know_as_the_api_does(
    context: Any, web: WebService
) -> None:
    model = web.service.state.holder.current
    assert model is not None and model.scoring.population is not None
    body = person(model.scoring, 2, youth_id="Y777001")
    body["features"]["days_since_last_justice_contact"] = None  # no record: never in contact
    for name in UNKNOWN:
        body["features"].pop(name)
    with web.service.client("caseworker", **{"Accept-Language": "es"}) as client:
        response = client.post("/v1/scores", json={**body, "unknown": list(UNKNOWN)})
    assert response.status_code == 200, response.text
    expected = response.json()

    page = login(context, web, "caseworker")
    page.goto("/caseworker/estimate")
    assert page.locator("h1").inner_text() == "Estimar con lo que sé"
    # "no record" is offered only where training had missing values
    assert page.locator('input[name="choice:fights_365d"][value=no_record]').count() == 0
    assert page.locator('input[name="choice:grade_mean_365d"][value=no_record]').count() == 1
    assert page.locator('input[name="choice:grade_mean_365d"][value=unknown]').is_checked()
    page.fill("#youth_id", body["youth_id"])
    page.select_option("#purpose", "referral_planning")
    page.fill("#municipality", body["municipality"])
    page.fill("#age", str(body["age"]))
    for name, value in body["features"].items():
        if value is None:
            page.check(f'input[name="choice:{name}"][value=no_record]')
        else:
            page.check(f'input[name="choice:{name}"][value=value]')
            page.fill(f"#value-{name}", repr(value))
    page.click("form.estimate button[type=submit]")
    page.wait_for_load_state()

    result = page.locator(".estimate-result").inner_text()
    assert f"Probabilidad estimada: {round(100 * expected['probability'])}\u00a0%" in result
    assert expected["range_note"] in result and "la estimación estaría entre" in result
    low, high = expected["probability_range"]
    assert f"podría estar entre {round(100 * low)}\u00a0% y {round(100 * high)}\u00a0%" in result
    assert ("El nivel de prevención es incierto" in result) == expected["tier_uncertain"]
    entries = [
        entry for entry in web.audit(youth_id=body["youth_id"]) if entry["endpoint"] == "/caseworker/estimate"
    ]
    assert [(entry["outcome"], entry["purpose"]) for entry in entries] == [("allowed", "referral_planning")]


def test_a_value_left_empty_and_an_impossible_no_record_are_named_beside_their_fields(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "caseworker")
    page.goto("/caseworker/estimate")
    page.fill("#youth_id", "Y777002")
    page.select_option("#purpose", "case_review")
    page.fill("#municipality", "Villa Zaragoza")
    page.fill("#age", "15")
    page.check('input[name="choice:attendance_rate_90d"][value=value]')  # and no value
    page.click("form.estimate button[type=submit]")
    page.wait_for_load_state()
    assert "Escriba el valor" in page.locator("#error-attendance_rate_90d").inner_text()
    assert page.locator('input[name="choice:attendance_rate_90d"][value=value]').is_checked()
    assert page.locator(".estimate-result").count() == 0
