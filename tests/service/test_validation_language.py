"""FastAPI's 422 messages come in the request's language (Spanish by default)."""

from __future__ import annotations

from service.texts import VALIDATION, validation_message
from tests.service.factories import RunningService


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


def test_every_validation_message_exists_in_both_languages() -> None:
    for kind, texts in VALIDATION.items():
        assert set(texts) == {"es", "en"} and all(texts.values()), kind
    assert validation_message("no_such_type", None, "pydantic's words", "es") == "pydantic's words"
    assert (
        validation_message("too_long", {"max_length": 3}, "x", "es") == "Debe tener como máximo 3 elementos."
    )
