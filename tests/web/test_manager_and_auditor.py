"""The programme manager's and the auditor's pages in a real browser."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.web.conftest import WebService, login

pytestmark = pytest.mark.browser


def test_the_manager_sees_the_fairness_report_in_a_sandboxed_frame(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    assert page.url.endswith("/manager/fairness")
    model = web.service.state.holder.current
    assert model is not None and model.audit_html
    gate = model.card["fairness_audit"]["gate"]
    assert page.locator(".gate-badge").inner_text() == {"passed": "aprobada", "failed": "no aprobada"}[gate]
    frame = page.frame_locator("iframe.report")
    assert frame.locator("h1").first.inner_text()  # the audit's own report, rendered
    assert page.locator("iframe.report").get_attribute("sandbox") == ""
    report = page.request.get("/manager/fairness/report")
    assert "sandbox" in report.headers["content-security-policy"]
    assert report.text() == model.audit_html


def test_the_model_card_shows_use_limits_metrics_and_features(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    page.goto("/model")
    model = web.service.state.holder.current
    assert model is not None
    assert page.locator("h1").inner_text() == "Ficha del modelo"
    assert (
        "Sanciones de cualquier tipo" in page.locator("section[aria-labelledby=scope-heading]").inner_text()
    )
    roc = model.card["metrics"]["glassbox"]["roc_auc"]
    metrics = page.locator("section[aria-labelledby=metrics-heading]").inner_text()
    assert f"{roc:.3f}".replace(".", ",") in metrics and "Caja de cristal" in metrics
    features = page.locator("section[aria-labelledby=features-heading] tbody tr")
    assert features.count() == len(model.scoring.feature_names)


def test_versions_show_metrics_and_the_audit_gate_side_by_side(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    page.goto("/manager/versions")
    first = page.locator("tbody tr").first.inner_text()
    assert first.startswith("v1") and "en servicio" in first and "champion" in first
    model = web.service.state.holder.current
    assert model is not None
    assert (
        f"{model.card['metrics']['glassbox']['roc_auc']:.3f}".replace(".", ",") in first
    )  # Spanish decimals
    gate = model.card["fairness_audit"]["gate"]
    assert {"passed": "aprobada", "failed": "no aprobada"}[gate] in first


def test_uptake_counts_suggested_made_and_declined_by_programme_and_group(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "program_manager")
    page.goto("/manager/uptake")
    uptake = page.locator("table:has(#uptake-caption) tbody tr")
    rows = [row.split("\t") for row in uptake.all_inner_texts()]
    mentoring = [row for row in rows if row[0] in ("Mentoría", "")]
    by_group = {row[1]: row for row in rows}
    assert "Todos" in by_group and mentoring
    totals = {row[0]: [int(cell) for cell in row[2:5]] for row in rows if row[1] == "Todos"}
    suggested, made, declined = totals["Mentoría"]
    assert suggested > 0 and made >= 1 and declined >= 1  # the seeded decisions
    overrides = page.locator("section[aria-labelledby=overrides-heading] tbody tr").all_inner_texts()
    assert any("Selectiva" in row for row in overrides)
    page.select_option("#group", "municipality")
    page.click("text=Aplicar")
    page.wait_for_load_state()
    groups = {row.split("\t")[1] for row in uptake.all_inner_texts()}
    assert groups - {"Todos", "Fuera del último lote"}  # municipalities now
    assert not groups & {"Indicada", "Selectiva", "Universal"}


def test_uptake_shows_the_cycle_places_against_capacity_by_programme_and_municipality(
    context: Any, web: WebService
) -> None:
    page = login(context, web, "program_manager")
    page.goto("/manager/uptake")
    assert "Lugares del ciclo" in page.content() and "2026-2" in page.content()
    rows = page.locator("section[aria-labelledby=places-heading] tbody tr").all_inner_texts()
    totals = {row.split("\t")[0]: row.split("\t") for row in rows if row.split("\t")[1] == "Todos"}
    catalog = web.service.state.catalog
    offered = web.offers[web.offers["status"] == "offered"].groupby("program").size()
    for programme in catalog.programs:
        cells = totals[programme.name("es")]
        capacity, open_places, given = int(cells[2]), int(cells[3]), int(cells[4])
        assert capacity == programme.capacity and given <= open_places <= capacity
        assert given == int(offered.get(programme.id, 0))
    municipalities = {row.split("\t")[1] for row in rows} - {"Todos"}
    assert municipalities and municipalities <= set(web.offers["municipality"])


def test_the_auditor_filters_the_log_and_exports_it_as_csv(context: Any, web: WebService) -> None:
    with web.service.client("caseworker") as client:  # a refusal of this test's own, whatever ran before
        refused = client.get(f"/v1/youth/{web.other_caseload[0]}/score", params={"purpose": "case_review"})
    assert refused.status_code == 403
    page = login(context, web, "auditor")
    page.select_option("#outcome", "refused")
    page.select_option("#role", "caseworker")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("table.log tbody tr").all_inner_texts()
    assert all("rechazado" in row and "acompañamiento de casos" in row for row in rows)
    with page.expect_download() as download:
        page.click("text=Exportar CSV")
    content = download.value.path().read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(content)))
    assert table and {entry["outcome"] for entry in table} == {"refused"}
    assert {entry["role"] for entry in table} == {"caseworker"}
    assert list(table[0]) == [
        "id",
        "at",
        "token_id",
        "role",
        "purpose",
        "youth_pseudonym",
        "model_version",
        "endpoint",
        "method",
        "outcome",
        "status",
        "detail",
        "justification",
        "count",
    ]
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    page.goto(f"/auditor/log?since={today}&until={today}&purpose=audit")
    assert page.locator("table.log tbody tr").count() >= 1
    page.goto("/auditor/log?since=2000-01-01&until=2000-01-02")
    assert page.locator(".notice").inner_text() == "Ninguna entrada coincide con los filtros."


def test_a_purpose_written_as_a_formula_is_exported_as_text(context: Any, web: WebService) -> None:
    with web.service.client("caseworker") as client:
        client.get(f"/v1/youth/{web.youth['universal']}/score", params={"purpose": "=cmd|calc"})
    page = login(context, web, "auditor")
    response = page.request.get("/auditor/log.csv?purpose=%3Dcmd%7Ccalc")
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert rows and all(row["purpose"] == "'=cmd|calc" for row in rows)


def test_does_it_work_shows_the_latest_evaluation_against_the_goal(context: Any, web: WebService) -> None:
    page = login(context, web, "program_manager")
    page.goto("/manager/effects")
    assert page.locator("h1").inner_text() == "¿Funciona? Efecto de los programas"
    assert "15%" in page.locator("main p").first.inner_text()
    headline = page.locator("section[aria-labelledby=headline-heading] tbody tr").inner_text()
    assert "Todas las personas atendidas" in headline and "21%" in headline and "entre 17% y 25%" in headline
    assert "Meta alcanzada" in headline  # the whole interval is above 15%
    programmes = {
        row.split("\t")[0]: row
        for row in page.locator("section[aria-labelledby=programmes-heading] tbody tr").all_inner_texts()
    }
    assert "Alcanza 15%, pero sin certeza suficiente" in programmes["Mentoría"]
    assert "Sin evidencia de reducción" in programmes["Tutoría académica"]
    assert "entre sin límite y 18%" in programmes["Tutoría académica"]  # an interval open below
    places = page.locator("section[aria-labelledby=municipalities-heading]").inner_text()
    assert "Cuautempan" in places and "Combinado de los municipios" in places
    assert "No hay evidencia de que los efectos difieran entre municipios" in places and "0,21" in places
    page.goto("/manager/effects?lang=en")
    assert page.locator("h1").inner_text() == "Does it work? Effect of the programmes"
    assert "Goal met" in page.locator("section[aria-labelledby=headline-heading]").inner_text()
    tutoring = page.locator("section[aria-labelledby=programmes-heading] tbody tr").nth(2).inner_text()
    assert "between unbounded and 18%" in tutoring and "No evidence of a reduction" in tutoring
    assert any(entry["endpoint"] == "/manager/effects" for entry in web.audit(role="program_manager"))
