"""FastAPI's 422 messages come in the request's language (Spanish by default)."""

from __future__ import annotations

from service.texts import VALIDATION, validation_message
from tests.service.factories import Registry, RunningService, person


def test_a_422_speaks_the_requests_language(service: RunningService) -> None:
    body = {"youth_id": "Y1", "purpose": "case_review", "age": 40, "nickname": "x"}
    answers = {}
    for language in ("es", "en", None):
        headers = {"Accept-Language": language} if language else {}
        with service.client("caseworker", **headers) as client:
            response = client.post("/v1/scores", json=body)
        assert response.status_code == 422
        answers[language] = {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}
    assert answers["es"][("body", "features")] == "Falta este campo."
    assert answers["es"][("body", "age")] == "Debe ser menor o igual que 30."
    assert answers["es"][("body", "nickname")] == "Campo no permitido."
    assert answers["en"][("body", "age")] == "Should be at most 30."
    assert answers[None] == answers["es"]  # Spanish is the default


def test_every_validation_message_reads_in_both_languages_agreeing_with_its_number() -> None:
    assert set(VALIDATION) >= {"missing", "extra_forbidden", "too_long", "less_than_equal"}
    assert validation_message("no_such_type", None, "pydantic's words", "es") == "pydantic's words"
    assert (
        validation_message("too_long", {"max_length": 3}, "x", "es") == "Debe tener como máximo 3 elementos."
    )
    assert (
        validation_message("too_long", {"max_length": 1}, "x", "es") == "Debe tener como máximo 1 elemento."
    )
    assert validation_message("string_too_short", {"min_length": 1}, "x", "en") == (
        "Should have at least 1 character."
    )
    assert validation_message("less_than_equal", None, "pydantic's words", "es") == "pydantic's words"


def test_a_feedback_of_an_unknown_kind_and_a_date_without_a_zone_are_refused_in_spanish(
    service: RunningService,
) -> None:
    with service.client("caseworker") as client:
        unknown = client.post("/v1/feedback", json={"youth_id": "Y1", "kind": "sanction"})
        untagged = client.post("/v1/feedback", json={"youth_id": "Y1"})
    assert unknown.status_code == untagged.status_code == 422
    assert unknown.json()["detail"][0]["msg"].startswith("Su tipo debe ser uno de: 'referral_made'")
    assert untagged.json()["detail"][0]["msg"] == "Falta el campo 'kind': indica de qué tipo es."
    with service.client("auditor") as client:
        naive = client.get("/v1/audit-log", params={"since": "2025-08-01T09:00:00"})
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["msg"].startswith("Debe ser una fecha y hora con su zona horaria")


def test_the_feature_checks_of_a_score_speak_the_requests_language(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    body = person(model, 0)
    features = {**body["features"], "attendance_rate_90d": 7.25, "shoe_size": 41, "fights_90d": "many"}
    answers = {}
    for language in ("es", "en", None):
        headers = {"Accept-Language": language} if language else {}
        with service.client("caseworker", **headers) as client:
            response = client.post("/v1/scores", json={**body, "features": features})
        assert response.status_code == 422
        answers[language] = {item["loc"][-1]: item["msg"] for item in response.json()["detail"]}
    assert answers["es"] == {
        "attendance_rate_90d": "fuera de rango: debe estar entre 0 y 1 (una proporción de 0 a 1)",
        "shoe_size": "no es un dato del modelo en servicio",
        "fights_90d": "debe ser un número o null",
    }
    assert answers["en"] == {
        "attendance_rate_90d": "out of range: must lie between 0 and 1 (a share from 0 to 1)",
        "shoe_size": "not a feature of the served model",
        "fights_90d": "must be a number or null",
    }
    assert answers[None] == answers["es"]  # Spanish is the default
