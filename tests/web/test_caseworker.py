"""The caseworker's pages in a real browser: one young person's explained score, decisions, my caseload."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import OTHER_CASEWORKER, WebService, login

pytestmark = pytest.mark.browser


def _api_score(web: WebService, youth_id: str, *, language: str = "es") -> dict[str, Any]:
    with web.service.client("caseworker", **{"Accept-Language": language}) as client:
        response = client.get(f"/v1/youth/{youth_id}/score", params={"purpose": "case_review"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _look_up(page: Any, youth_id: str, purpose: str = "referral_planning") -> None:
    page.goto("/caseworker/youth")
    page.fill("#youth_id", youth_id)
    page.select_option("#purpose", purpose)
    page.click("form.lookup button[type=submit]")
    page.wait_for_load_state()


def test_caseworker_sees_tier_frequency_reasons_trend_and_referrals_of_the_api_score(
    context: Any, web: WebService
) -> None:
    youth_id = web.youth["indicated"]
    expected = _api_score(web, youth_id)
    page = login(context, web, "caseworker")
    assert page.url.endswith("/caseworker/caseload")
    _look_up(page, youth_id)

    assert page.locator("h1").inner_text() == f"Estimación para {youth_id}"
    assert "nunca una base para sanciones" in page.locator(".banner").inner_text()
    assert page.locator(".tier-card .tier-badge").inner_text() == "Indicada"
    assert "acompañamiento individual" in page.locator(".tier-card").inner_text()
    probability = page.locator("section[aria-labelledby=probability-heading]").inner_text()
    assert re.search(r"alrededor de \d+ de cada \d+", probability)
    assert f"({round(100 * expected['probability'])}\u00a0%)" in probability  # Spanish: "26 %"
    assert "orden de magnitud" in probability
    percentile = page.locator("section[aria-labelledby=percentile-heading]").inner_text()
    assert f"{min(99, max(1, round(expected['percentile'])))} de cada 100" in percentile

    sentences = page.locator(".bar-list .bar-text").all_inner_texts()
    assert sentences == [r["sentence"] for r in expected["reasons"] + expected["protective_factors"]]
    assert page.locator("svg.bar rect.raise").count() == len(expected["reasons"])
    assert page.locator("svg.bar rect.lower").count() == len(expected["protective_factors"])

    trend = page.locator("section[aria-labelledby=trend-heading] tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in trend] == [
        "1 ago 2025",
        "1 feb 2026",
        "1 jul 2026",
    ]  # Spanish dates
    assert page.locator("svg.trend circle.dot").count() == 3

    names = page.locator(".referral h3").all_inner_texts()
    assert names == [referral["name"] for referral in expected["referrals"]]
    for referral, card in zip(expected["referrals"], page.locator(".referral").all(), strict=True):
        text = card.inner_text()
        assert f"Cupo: {referral['capacity']} lugares" in text
        assert all(reason["sentence"] in text for reason in referral["reasons"])
        assert referral["place"] in ("offered", "waiting", "open", "full")
        place = {
            "offered": "Tiene un lugar ofrecido",
            "waiting": f"posición {referral['waiting_position']}",
            "open": "Hay lugares disponibles",
            "full": "Sin lugares disponibles",
        }[referral["place"]]
        assert place in text
    context_items = page.locator("section[aria-labelledby=context-heading] li").all_inner_texts()
    assert context_items == [item["sentence"] for item in expected["context"]]
    assert any("años de edad" in item for item in context_items)
    assert not any("años de edad" in sentence for sentence in sentences)  # age is context, never a reason
    gaps = page.locator("section[aria-labelledby=gaps-heading] li").all_inner_texts()
    assert gaps == [item["sentence"] for item in expected["data_gaps"]]


def test_the_page_and_the_api_say_where_the_allocation_placed_someone(context: Any, web: WebService) -> None:
    offers = web.offers
    given = offers[offers["status"] == "offered"].iloc[0]
    for row in offers.groupby("status").head(1).itertuples():  # an offer, and a waiting entry if any
        status = row.status
        answer = _api_score(web, str(row.youth_id))
        mine = [referral for referral in answer["referrals"] if referral["program"] == row.program]
        if status == "offered":  # an offered place comes first among the suggestions
            assert answer["referrals"][0]["program"] == row.program
        if mine:
            assert mine[0]["place"] == status and mine[0]["cycle"] == "2026-2"
            if status == "waiting":
                assert mine[0]["waiting_position"] == int(row.position)
    page = login(context, web, "caseworker")
    _look_up(page, str(given.youth_id))
    assert "Tiene un lugar ofrecido en este programa (ciclo 2026-2)" in page.content()


def test_every_view_of_a_score_is_logged_with_who_role_and_purpose(context: Any, web: WebService) -> None:
    youth_id = web.youth["selective"]
    page = login(context, web, "caseworker")
    _look_up(page, youth_id, purpose="case_review")
    entries = web.audit(youth_id=youth_id, role="caseworker")
    view = next(entry for entry in entries if entry["endpoint"] == "/caseworker/youth")
    assert (view["outcome"], view["status"], view["purpose"]) == ("allowed", 200, "case_review")
    assert view["token_id"] == web.service.tokens["caseworker"].split("_")[1]
    assert view["youth_pseudonym"] and youth_id not in str(entries)


def test_a_referral_made_on_the_page_is_recorded_and_shows_in_the_auditors_log(
    context: Any, browser: Any, web: WebService
) -> None:
    youth_id = web.youth["indicated"]
    page = login(context, web, "caseworker")
    _look_up(page, youth_id)
    first = page.locator(".referral").first
    programme = first.locator("h3").inner_text()
    first.get_by_role("button", name="Canalización hecha").click()
    page.wait_for_load_state()
    assert page.locator("#decision .success").inner_text() == "Registrado: canalización hecha."

    auditor = browser.new_context(base_url=web.url, locale="es-MX")
    try:
        log = login(auditor, web, "auditor")
        assert log.url.endswith("/auditor/log")
        log.select_option("#role", "caseworker")
        log.fill("#purpose-filter", "referral_made")
        log.click("form.filters button[type=submit]")
        log.wait_for_load_state()
        rows = log.locator("table.log tbody tr").all_inner_texts()
        assert rows and "POST /caseworker/feedback" in rows[0] and "Canalización hecha" in rows[0]
        assert "permitido" in rows[0] and "201" in rows[0]
    finally:
        auditor.close()
    assert programme


def test_a_tier_override_needs_a_reason_and_is_recorded_with_it(context: Any, web: WebService) -> None:
    youth_id = web.youth["selective"]
    page = login(context, web, "caseworker")
    _look_up(page, youth_id)
    page.select_option("#tier", "indicated")
    page.eval_on_selector("#reason", "element => element.removeAttribute('required')")
    page.click("text=Registrar corrección")
    page.wait_for_load_state()
    assert page.locator("#decision .error").inner_text() == "Para corregir el nivel, escriba el motivo."

    page.select_option("#tier", "indicated")
    page.fill("#reason", "Nueva información de la escuela.")
    page.click("text=Registrar corrección")
    page.wait_for_load_state()
    assert page.locator("#decision .success").inner_text() == "Registrado: nivel corregido."
    entries = web.audit(youth_id=youth_id, purpose="tier_overridden")
    assert [entry["status"] for entry in entries][:1] == [201]


def test_the_purpose_is_required_and_punitive_purposes_are_refused_and_logged(
    context: Any, web: WebService
) -> None:
    youth_id = web.youth["universal"]
    page = login(context, web, "caseworker")
    response = page.goto(f"/caseworker/youth?youth_id={youth_id}")
    assert response.status == 400
    assert page.locator("#purpose-error").inner_text() == "Elija el propósito de la consulta."
    assert page.locator("#purpose").get_attribute("aria-invalid") == "true"

    response = page.goto(f"/caseworker/youth?youth_id={youth_id}&purpose=sanciones_escolares")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Acceso denegado"
    assert "no puede usarse con fines punitivos" in page.locator(".error").inner_text()
    refused = web.audit(youth_id=youth_id, outcome="refused")
    details = [(entry["endpoint"], entry["status"], entry["detail"]) for entry in refused]
    assert ("/caseworker/youth", 403, "punitive_purpose") in details
    assert ("/caseworker/youth", 422, "invalid_request") in details


def test_someone_not_in_the_snapshot_is_a_clear_message_on_the_form(context: Any, web: WebService) -> None:
    page = login(context, web, "caseworker")
    gone = web.youth["gone"]  # on the caseload, aged out of the latest snapshot
    response = page.goto(f"/caseworker/youth?youth_id={gone}&purpose=case_review")
    assert response.status == 404
    assert "no aparece en el último lote" in page.locator("#youth-error").inner_text()


def test_my_caseload_lists_only_my_young_people_with_tier_and_change(
    context: Any, browser: Any, web: WebService
) -> None:
    page = login(context, web, "caseworker")
    ids = page.locator("tbody th[scope=row]").all_inner_texts()
    assert ids == web.caseload
    assert page.locator("tbody td").count() == 0  # no tiers before a purpose is given
    page.select_option("#purpose", "case_review")
    page.click("text=Ver niveles")
    page.wait_for_load_state()
    rows = {row.split("\t")[0]: row for row in page.locator("tbody tr").all_inner_texts()}
    assert set(rows) == set(web.caseload)
    assert "Indicada" in rows[web.youth["indicated"]]
    assert "No aparece en el último lote" in rows[web.youth["gone"]]
    compared = "Se compara el lote del 1 de julio de 2026 con el del 1 de febrero de 2026."
    assert compared in page.locator(".meta").inner_text()
    page.get_by_role("link", name=web.youth["indicated"]).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Estimación para {web.youth['indicated']}"

    other = browser.new_context(base_url=web.url, locale="es-MX")
    try:
        theirs = login(other, web, OTHER_CASEWORKER)
        assert theirs.locator("tbody th[scope=row]").all_inner_texts() == web.other_caseload
        assert not set(web.caseload) & set(web.other_caseload)
    finally:
        other.close()


def test_in_english_the_page_shows_the_api_english_reasons(context: Any, web: WebService) -> None:
    """Pages and API share one path: the same reasons, worded in the reader's language."""
    youth_id = web.youth["universal"]
    english = _api_score(web, youth_id, language="en")
    page = login(context, web, "caseworker")
    page.goto(f"/caseworker/youth?youth_id={youth_id}&purpose=case_review&lang=en")
    sentences = page.locator(".bar-list .bar-text").all_inner_texts()
    assert sentences == [r["sentence"] for r in english["reasons"] + english["protective_factors"]]
    assert page.locator(".tier-card .tier-badge").inner_text() == "Universal"
    assert "not a determination" in page.locator(".note").inner_text()
