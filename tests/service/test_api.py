"""The service end to end: a real uvicorn on loopback, a real model from a real MLflow registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from tests.service.factories import Registry, RunningService, expected_probability, person


def _audit(service: RunningService, **filters: Any) -> list[dict[str, Any]]:
    with service.client("auditor") as client:
        response = client.get("/v1/audit-log", params={"limit": 1000, **filters})
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def test_health_and_readiness_report_the_loaded_version(service: RunningService) -> None:
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok", "model_version": None}
    assert httpx.get(f"{service.url}/readyz").json() == {"status": "ready", "model_version": "1"}


def test_score_is_the_artifacts_probability_with_tier_percentile_and_note(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    body = person(model, 3, youth_id="Y-score-1")
    with service.client("caseworker") as client:
        response = client.post("/v1/scores", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    score = response.json()
    assert score["probability"] == pytest.approx(expected_probability(model, body), abs=1e-6)
    assert score["tier"] == model.tiers.tier(__import__("numpy").array([score["probability"]]))[0]
    assert 0 <= score["percentile"] <= 100 and score["percentile_reference"] in ("model", "snapshot")
    assert score["model_version"] == "1" and score["youth_id"] == "Y-score-1"
    assert score["language"] == "es" and "no una determinación" in score["note"]


def test_reasons_explain_in_spanish_by_default_and_in_english_on_request(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    body = person(model, 5)
    with service.client("caseworker") as client:
        spanish = client.post("/v1/scores", json=body).json()
        english = client.post("/v1/scores", json=body, headers={"Accept-Language": "en-US,en;q=0.9"}).json()
    assert spanish["reasons"] or spanish["protective_factors"]
    for reason in spanish["reasons"]:
        assert reason["contribution"] > 0 and reason["sentence"]
    for reason in spanish["protective_factors"]:
        assert reason["contribution"] < 0
    assert [r["feature"] for r in spanish["reasons"]] == [r["feature"] for r in english["reasons"]]
    assert [r["sentence"] for r in spanish["reasons"]] != [r["sentence"] for r in english["reasons"]] or not (
        spanish["reasons"]
    )
    assert english["language"] == "en" and "not a determination" in english["note"]
    strongest = max(spanish["reasons"] + spanish["protective_factors"], key=lambda r: abs(r["contribution"]))
    assert strongest["value"] == body["features"][strongest["feature"]]


def _raising_body(registry: Registry) -> dict[str, Any]:
    """A golden row whose score has a suggestion (a raising reason with a referral tag)."""
    model = registry.model("trained")
    for row in range(len(model.golden["probability"])):
        body = person(model, row, youth_id=f"Y-refer-{row}")
        tagged = [
            name
            for name in body["features"]
            if model.registry.get(name) and model.registry[name].referral_tags
        ]
        if tagged:
            yield body


def test_referrals_carry_their_reasons_and_skip_active_or_completed_programmes(
    service: RunningService, registry: Registry
) -> None:
    with service.client("caseworker") as client:
        for body in _raising_body(registry):
            first = client.post("/v1/scores", json=body).json()
            if first["referrals"]:
                break
        else:
            pytest.fail("no golden row got a referral")
        top = first["referrals"][0]
        assert top["reasons"] and {r["feature"] for r in top["reasons"]} <= {
            r["feature"] for r in first["reasons"]
        }
        assert top["weight"] == pytest.approx(sum(r["contribution"] for r in top["reasons"]), abs=1e-5)
        weights = [suggestion["weight"] for suggestion in first["referrals"]]
        assert weights == sorted(weights, reverse=True)
        enrolled = {**body, "programs": [{"program": top["program"], "status": "active"}]}
        second = client.post("/v1/scores", json=enrolled).json()
        assert top["program"] not in [s["program"] for s in second["referrals"]]
        dropped = {**body, "programs": [{"program": top["program"], "status": "dropped"}]}
        assert client.post("/v1/scores", json=dropped).json()["referrals"][0]["program"] == top["program"]


def test_every_score_access_is_logged_with_a_pseudonym_never_the_id(
    service: RunningService, registry: Registry
) -> None:
    body = person(registry.model("trained"), 1, youth_id="Y-logged-77")
    with service.client("caseworker") as client:
        assert client.post("/v1/scores", json=body).status_code == 200
    entries = _audit(service, youth_id="Y-logged-77")
    scores = [entry for entry in entries if entry["endpoint"] == "/v1/scores"]
    assert len(scores) == 1
    entry = scores[0]
    pseudonym = service.state.pseudonymize("Y-logged-77")
    assert entry["youth_pseudonym"] == pseudonym and "Y-logged-77" not in str(entries)
    assert entry["token_id"] == service.tokens["caseworker"].split("_")[1]
    assert (entry["role"], entry["purpose"], entry["outcome"], entry["status"]) == (
        "caseworker",
        "referral_planning",
        "allowed",
        200,
    )
    assert entry["model_version"] == "1"
    with service.state.audit.engine.connect() as connection:
        raw = str(connection.exec_driver_sql("SELECT * FROM audit_log").fetchall())
    assert "Y-logged-77" not in raw and service.tokens["caseworker"] not in raw


@pytest.mark.parametrize(
    ("failure", "status"),
    [(RuntimeError("the answer broke"), 500), (OperationalError("SELECT", {}, Exception("gone")), 503)],
    ids=["fault", "store"],
)
def test_a_score_whose_answer_fails_after_its_access_was_logged_is_logged_again_as_not_answered(
    service: RunningService,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    status: int,
) -> None:
    """The access entry is written while the answer is built; a failed answer adds an entry after it."""
    import service.routes.scores as scores

    def broken(*_: Any) -> list[Any]:
        raise failure

    monkeypatch.setattr(scores, "_answers", broken)
    youth_id = f"Y-unanswered-{status}"
    body = person(registry.model("trained"), 2, youth_id=youth_id)
    with service.client("caseworker") as client:
        response = client.post("/v1/scores", json=body)
    assert response.status_code == status and "probability" not in response.text
    entries = [e for e in _audit(service, youth_id=youth_id) if e["endpoint"] == "/v1/scores"]
    assert [(e["outcome"], e["status"], e["detail"]) for e in entries] == [
        ("refused", status, "not_answered"),  # newest first
        ("allowed", 200, None),
    ]
    assert {e["purpose"] for e in entries} == {"referral_planning"}
    assert entries[0]["id"] > entries[1]["id"]


def test_feedback_is_recorded_and_logged_and_an_override_needs_a_reason(service: RunningService) -> None:
    service.state.caseload.add(caseworker="test-caseworker", youth_id="Y-fb-1")
    with service.client("caseworker") as client:
        made = client.post(
            "/v1/feedback", json={"youth_id": "Y-fb-1", "kind": "referral_made", "program": "mentoria"}
        )
        override = client.post(
            "/v1/feedback",
            json={
                "youth_id": "Y-fb-1",
                "kind": "tier_overridden",
                "tier": "universal",
                "reason": "Ya tiene apoyo",
            },
        )
        bare = client.post(
            "/v1/feedback", json={"youth_id": "Y-fb-1", "kind": "tier_overridden", "tier": "universal"}
        )
        unknown = client.post(
            "/v1/feedback", json={"youth_id": "Y-fb-1", "kind": "referral_declined", "program": "boxeo"}
        )
    assert made.status_code == 201 and override.status_code == 201
    assert override.json()["id"] > made.json()["id"]
    assert bare.status_code == 422 and "reason" in bare.text
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "program"]
    assert "boxeo" not in unknown.text
    outcomes = [(e["purpose"], e["status"]) for e in _audit(service, youth_id="Y-fb-1")]
    assert ("referral_made", 201) in outcomes and ("tier_overridden", 201) in outcomes
    assert sum(status == 422 for _, status in outcomes) == 2
    with service.state.audit.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT kind, program, tier, reason FROM feedback").fetchall()
    assert ("tier_overridden", None, "universal", "Ya tiene apoyo") in [tuple(row) for row in rows]


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("auditor", "POST", "/v1/scores"),
        ("program_manager", "POST", "/v1/scores"),
        ("caseworker", "POST", "/v1/scores:batch"),
        ("caseworker", "GET", "/v1/audit-log"),
        ("caseworker", "GET", "/v1/fairness"),
        ("caseworker", "POST", "/v1/admin/reload"),
        ("data_scientist", "GET", "/v1/youth/Y1/score?purpose=case_review"),
        ("auditor", "POST", "/v1/feedback"),
    ],
)
def test_each_role_sees_only_its_endpoints(
    service: RunningService, role: str, method: str, path: str
) -> None:
    with service.client(role) as client:  # type: ignore[arg-type]
        response = client.request(method, path, json={})
    assert response.status_code == 403
    refusals = _audit(service, role=role, outcome="refused")
    assert any(
        entry["status"] == 403 and entry["endpoint"] == path.split("?")[0].replace("Y1", "{youth_id}")
        for entry in refusals
    )


def test_no_token_or_a_forged_one_is_401_and_logged(service: RunningService, registry: Registry) -> None:
    body = person(registry.model("trained"), 0)
    forged = service.tokens["caseworker"][:-4] + "AAAA"
    before = len(_audit(service, outcome="refused"))
    with service.client() as client:
        missing = client.post("/v1/scores", json=body)
        wrong = client.post("/v1/scores", json=body, headers={"Authorization": f"Bearer {forged}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    service.state.refusals.flush()  # refusals without a valid token are counted per minute
    refusals = _audit(service, outcome="refused")
    assert len(refusals) >= before + 1
    counted = [entry for entry in refusals if entry["status"] == 401 and entry["count"] >= 2]
    assert counted and counted[0]["youth_pseudonym"] == service.state.pseudonymize(body["youth_id"])


@pytest.mark.parametrize(
    "purpose",
    [
        "sanction",
        "Sanciones escolares",
        "school_discipline",
        "police-support",
        "immigration_check",
        "investigacion_penal",
    ],
)
def test_a_punitive_purpose_is_refused_and_logged(
    service: RunningService, registry: Registry, purpose: str
) -> None:
    body = person(registry.model("trained"), 0, youth_id="Y-punitive", purpose=purpose)
    with service.client("caseworker") as client:
        response = client.post("/v1/scores", json=body)
        snapshot = client.get("/v1/youth/Y-punitive/score", params={"purpose": purpose})
    assert response.status_code == snapshot.status_code == 403
    assert "probability" not in response.text and purpose not in response.text
    logged = [e for e in _audit(service, youth_id="Y-punitive") if e["purpose"] == purpose]
    assert {e["detail"] for e in logged} == {"punitive_purpose"} and len(logged) == 2


def test_an_unknown_purpose_is_refused_naming_the_allowed_ones(
    service: RunningService, registry: Registry
) -> None:
    body = person(registry.model("trained"), 0, purpose="curiosity")
    with service.client("caseworker", **{"Accept-Language": "en"}) as client:
        response = client.post("/v1/scores", json=body)
    assert response.status_code == 403
    assert "referral_planning" in response.json()["detail"] and "curiosity" not in response.text


def test_invalid_values_are_422_naming_the_field_without_echoing_it(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    body = person(model, 0)
    features = dict(body["features"])
    features["attendance_rate_90d"] = 7.25  # a rate above 1
    features["fights_90d"] = "SECRET-VALUE-1"
    features["shoe_size"] = 41
    features["unexcused_absences_90d"] = None  # never missing in training: 'no record' is refused
    with service.client("caseworker") as client:
        semantic = client.post("/v1/scores", json={**body, "features": features})
        typed = client.post(
            "/v1/scores", json={**body, "age": "SECRET-VALUE-2", "nickname": "SECRET-VALUE-3"}
        )
    assert semantic.status_code == typed.status_code == 422
    named = {tuple(item["loc"]): item["type"] for item in semantic.json()["detail"]}
    assert named == {
        ("body", "features", "attendance_rate_90d"): "value_error",
        ("body", "features", "fights_90d"): "float_type",
        ("body", "features", "shoe_size"): "unknown_feature",
        ("body", "features", "unexcused_absences_90d"): "value_error",
    }
    assert {tuple(item["loc"]) for item in typed.json()["detail"]} == {("body", "age"), ("body", "nickname")}
    for response in (semantic, typed):
        assert "SECRET-VALUE" not in response.text and "7.25" not in response.text
        assert all("input" not in item for item in response.json()["detail"])
        assert "Traceback" not in response.text


def test_bodies_over_the_limit_are_413_declared_or_streamed(service: RunningService) -> None:
    limit = service.state.settings.max_body_bytes
    payload = b'{"youth_id": "' + b"x" * (limit + 10) + b'"}'

    def chunks() -> Any:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    with service.client("caseworker", **{"Content-Type": "application/json"}) as client:
        declared = client.post("/v1/scores", content=payload)
        streamed = client.post("/v1/scores", content=chunks())
    assert declared.status_code == streamed.status_code == 413
    assert "x" * 100 not in declared.text


def test_batch_scores_match_single_scores_in_request_order(
    service: RunningService, registry: Registry
) -> None:
    model = registry.model("trained")
    people = [person(model, row) for row in (4, 0, 7)]
    items = [{key: value for key, value in body.items() if key != "purpose"} for body in people]
    with service.client("data_scientist") as client:
        batch = client.post("/v1/scores:batch", json={"purpose": "program_evaluation", "items": items})
    assert batch.status_code == 200, batch.text
    scores = batch.json()["scores"]
    assert [score["youth_id"] for score in scores] == [body["youth_id"] for body in people]
    for score, body in zip(scores, people, strict=True):
        assert score["probability"] == pytest.approx(expected_probability(model, body), abs=1e-6)
    logged = _audit(service, purpose="program_evaluation", role="data_scientist")
    assert {e["youth_pseudonym"] for e in logged} >= {
        service.state.pseudonymize(b["youth_id"]) for b in people
    }


def test_model_card_is_open_to_every_role(service: RunningService) -> None:
    for role in ("caseworker", "program_manager", "data_scientist", "auditor"):
        with service.client(role) as client:  # type: ignore[arg-type]
            response = client.get("/v1/model")
        assert response.status_code == 200
        model = response.json()
        assert model["version"] == "1" and model["kind"] == "glassbox"
        assert "Sanctions" in model["card"]["out_of_scope"]


def test_fairness_audit_as_json_or_html_for_programme_managers(service: RunningService) -> None:
    with service.client("program_manager") as client:
        as_json = client.get("/v1/fairness")
        as_html = client.get("/v1/fairness", headers={"Accept": "text/html"})
    assert as_json.status_code == as_html.status_code == 200
    assert "gate" in as_json.json() and as_html.headers["content-type"].startswith("text/html")
    assert "<html" in as_html.text[:500]


def test_audit_log_filters_by_date_role_purpose_and_outcome(
    service: RunningService, registry: Registry
) -> None:
    body = person(registry.model("trained"), 2, youth_id="Y-filters", purpose="case_review")
    with service.client("caseworker") as client:
        client.post("/v1/scores", json=body)
    now = dt.datetime.now(dt.UTC)
    recent = _audit(service, since=(now - dt.timedelta(minutes=5)).isoformat(), purpose="case_review")
    assert recent and all(entry["purpose"] == "case_review" for entry in recent)
    assert _audit(service, until=(now - dt.timedelta(days=1)).isoformat()) == []
    assert all(entry["outcome"] == "refused" for entry in _audit(service, outcome="refused"))
    assert all(entry["role"] == "auditor" for entry in _audit(service, role="auditor"))
    with service.client("auditor") as client:
        page = client.get("/v1/audit-log", params={"limit": 2}).json()
        following = client.get(
            "/v1/audit-log", params={"limit": 2, "before_id": page["next_before_id"]}
        ).json()
    assert following["entries"][0]["id"] < page["entries"][-1]["id"]


def test_the_openapi_manual_documents_roles_and_examples_without_a_token(service: RunningService) -> None:
    schema = httpx.get(f"{service.url}/openapi.json").json()
    assert "/v1/scores:batch" in schema["paths"] and "/v1/youth/{youth_id}/score" in schema["paths"]
    assert "caseworker" in schema["info"]["description"]
    request = schema["components"]["schemas"]["ScoreRequest"]
    assert request["examples"][0]["purpose"] == "referral_planning"
    assert httpx.get(f"{service.url}/docs").status_code == 200
