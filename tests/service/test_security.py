"""The security probe of issue 12, repeated: caseload-scoped reads, rate limits, sessions, edges.

Each test runs its own service (real uvicorn on loopback, the real trained
model) when it needs settings of its own, such as the default rate limits or
look-ups outside the caseload, on SQLite files and on a PostgreSQL schema (the
``store_url`` fixture): caseloads, sessions, tokens and rate counts are stores.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from service.batch import write_snapshot
from service.rate_limits import RateGuard, RateLimited
from service.snapshots import scores_table
from tests.databases import BACKENDS, database_url
from tests.service.factories import Registry, RunningService, person, running_service, service_settings

SNAPSHOT_DATE = dt.date(2025, 8, 1)
CASEWORKER = "test-caseworker"


def snapshot_ids(service: RunningService, registry: Registry, count: int) -> list[str]:
    """Write a snapshot into the service's store; the first ``count`` ids in it."""
    state = service.state
    write_snapshot(
        registry.config(),
        data_dir=registry.bundle,
        as_of=SNAPSHOT_DATE,
        settings=state.settings,
        model=state.holder.current,
    )
    with state.snapshots.engine.connect() as connection:
        ids = connection.execute(select(scores_table.c.youth_id).order_by(scores_table.c.youth_id)).scalars()
        return [str(youth_id) for youth_id in ids][:count]


def audit(service: RunningService, **filters: Any) -> list[dict[str, Any]]:
    service.state.refusals.flush()
    with service.client("auditor") as client:
        response = client.get("/v1/audit-log", params={"limit": 1000, **filters})
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def login(service: RunningService, token: str) -> httpx.Client:
    """A browser-like client signed in through the login form."""
    client = httpx.Client(base_url=service.url, timeout=30)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None, form.text
    response = client.post("/login", data={"csrf": csrf.group(1), "token": token})
    assert response.status_code == 303, response.text
    return client


def config_file(service: RunningService) -> Path:
    """A previ.yaml naming the running service's files, for the command line."""
    settings = service.state.settings
    names = ("tokens_file", "pseudonym_key_file", "audit_key_file", "session_key_file", "snapshot_dir")
    service_section: dict[str, Any] = {name: str(getattr(settings, name)) for name in names}
    service_section["audit_url"] = settings.audit_url
    service_section["snapshot_url"] = settings.snapshot_url
    path = service.folder / "previ.yaml"
    path.write_text(yaml.safe_dump({"service": service_section}))
    return path


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module", params=BACKENDS)
def walked(
    request: pytest.FixtureRequest, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A service with a snapshot; three of forty young people are on the caseworker's caseload."""
    folder = tmp_path_factory.mktemp("walk")
    with (
        database_url(request.param, folder / "walk.db") as url,
        running_service(registry.config(), folder, database=url, alert_youth_per_hour=2) as service,
    ):
        ids = snapshot_ids(service, registry, 40)
        mine = ids[5:8]
        for youth_id in mine:
            service.state.caseload.add(caseworker=CASEWORKER, youth_id=youth_id)
        yield {"service": service, "ids": ids, "mine": mine}


def test_a_caseworker_walking_ids_gets_only_their_caseload(walked: dict[str, Any]) -> None:
    service: RunningService = walked["service"]
    statuses = {}
    with service.client("caseworker") as client:
        for youth_id in walked["ids"]:
            response = client.get(f"/v1/youth/{youth_id}/score", params={"purpose": "case_review"})
            statuses[youth_id] = response.status_code
            if response.status_code == 403:
                assert "probability" not in response.text and youth_id not in response.text
    assert {youth_id for youth_id, status in statuses.items() if status == 200} == set(walked["mine"])
    assert set(statuses.values()) == {200, 403}
    outside = [youth_id for youth_id in walked["ids"] if youth_id not in walked["mine"]]
    refused = audit(service, outcome="refused")
    logged = {entry["youth_pseudonym"] for entry in refused if entry["detail"] == "not_on_caseload"}
    assert {service.state.pseudonymize(youth_id) for youth_id in outside} <= logged


def test_the_caseworker_page_refuses_a_young_person_outside_the_caseload(walked: dict[str, Any]) -> None:
    service: RunningService = walked["service"]
    outside, mine = walked["ids"][0], walked["mine"][0]
    with closing(login(service, service.tokens["caseworker"])) as browser:
        own = browser.get("/caseworker/youth", params={"youth_id": mine, "purpose": "case_review"})
        other = browser.get("/caseworker/youth", params={"youth_id": outside, "purpose": "case_review"})
    assert own.status_code == 200 and "%" in own.text
    assert other.status_code == 403 and "Estimación para" not in other.text


def test_feedback_outside_the_caseload_is_refused(walked: dict[str, Any]) -> None:
    service: RunningService = walked["service"]
    body = {"youth_id": walked["ids"][0], "kind": "referral_made", "program": "mentoria"}
    with service.client("caseworker") as client:
        assert client.post("/v1/feedback", json=body).status_code == 403
        assert client.post("/v1/feedback", json={**body, "youth_id": walked["mine"][0]}).status_code == 201


def test_the_auditor_page_flags_a_token_reading_many_young_people_in_an_hour(walked: dict[str, Any]) -> None:
    service: RunningService = walked["service"]
    with service.client("caseworker") as client:
        for youth_id in walked["mine"]:
            client.get(f"/v1/youth/{youth_id}/score", params={"purpose": "case_review"})
    caseworker_id = service.tokens["caseworker"].split("_")[1]
    with closing(login(service, service.tokens["auditor"])) as browser:
        page = browser.get("/auditor/log")
    assert page.status_code == 200
    flagged = page.text.split('id="heavy-readers"')[1].split("</table>")[0]
    assert caseworker_id in flagged  # three young people in an hour, over the threshold of two


def test_look_ups_outside_the_caseload_need_a_justification_and_are_capped(
    registry: Registry, tmp_path: Path, store_url: str
) -> None:
    settings = {"out_of_caseload": True, "out_of_caseload_per_day": 2}
    with running_service(registry.config(), tmp_path, database=store_url, **settings) as service:
        ids = snapshot_ids(service, registry, 4)
        reason = "Hermana de una persona de mi lista; la familia pidió apoyo"
        with service.client("caseworker") as client:

            def look(youth_id: str, **params: str) -> httpx.Response:
                return client.get(f"/v1/youth/{youth_id}/score", params={"purpose": "case_review", **params})

            bare = look(ids[0])
            short = look(ids[0], justification="porque")
            first, second = look(ids[0], justification=reason), look(ids[1], justification=reason)
            third = look(ids[2], justification=reason)
        assert bare.status_code == short.status_code == 403 and "justification" in bare.json()["detail"]
        assert first.status_code == second.status_code == 200
        assert third.status_code == 403 and "2" in third.json()["detail"]
        listed = service.state.audit.outside_caseload(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        assert [entry["justification"] for entry in listed] == [reason, reason]
        with closing(login(service, service.tokens["auditor"])) as browser:
            page = browser.get("/auditor/log")
        assert reason in page.text.split('id="outside-caseload"')[1]


def test_300_bad_logins_meet_429_and_failures_lock_the_token(
    registry: Registry, tmp_path: Path, store_url: str
) -> None:
    limits = {"rate_limit_api": "120/minute", "rate_limit_login": "10/minute", "rate_limit_storage": "sql"}
    with running_service(registry.config(), tmp_path, database=store_url, **limits) as service:
        token = service.tokens["caseworker"]
        wrong_secret = token[:-6] + "AAAAAA"
        with service.client() as client:
            for _ in range(5):
                bad = client.get("/v1/model", headers={"Authorization": f"Bearer {wrong_secret}"})
                assert bad.status_code == 401
            locked = client.get("/v1/model", headers={"Authorization": f"Bearer {token}"})
            other_role = client.get(
                "/v1/model", headers={"Authorization": f"Bearer {service.tokens['auditor']}"}
            )
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert other_role.status_code == 200

        browser = httpx.Client(base_url=service.url, timeout=30)
        csrf = csrf_of(browser.get("/login"))
        statuses = [
            browser.post("/login", data={"csrf": csrf, "token": f"previ_00000000_guess{attempt}"}).status_code
            for attempt in range(300)
        ]
        browser.close()
        assert statuses[:10] == [401] * 10
        assert statuses.count(429) >= 280
        with service.client() as client:
            flood = [client.get("/v1/model", headers={"Authorization": "Bearer x"}) for _ in range(150)]
            no_token = client.get("/v1/model")
        limited = [response for response in flood if response.status_code == 429]
        assert limited and all(int(response.headers["retry-after"]) >= 1 for response in limited)
        assert no_token.status_code == 401  # over the address limit, no token at all is told to send one
        service.state.refusals.flush()  # the auditor's own address is over its limit too: read the store
        entries = service.state.audit.entries(limit=1000)
        rows = [row for row in entries if row["status"] in (401, 429) and row["token_id"] is None]
        assert sum(row["count"] for row in rows) >= 450  # every refusal counted ...
        assert len(rows) < 20  # ... in a few rows per minute, not one synced row each


def test_logout_and_revocation_end_the_session_at_once(
    registry: Registry, tmp_path: Path, store_url: str
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    with running_service(registry.config(), tmp_path, database=store_url) as service:
        browser = login(service, service.tokens["caseworker"])
        assert browser.get("/caseworker/caseload").status_code == 200
        copied = dict(browser.cookies)
        page = browser.get("/caseworker/caseload")
        assert browser.post("/logout", data={"csrf": csrf_of(page)}).status_code == 303
        with httpx.Client(base_url=service.url, cookies=copied) as thief:
            replay = thief.get("/caseworker/caseload")
        assert replay.status_code == 303 and replay.headers["location"].startswith("/login")

        browser = login(service, service.tokens["auditor"])
        assert browser.get("/auditor/log").status_code == 200
        auditor_id = service.tokens["auditor"].split("_")[1]
        config = config_file(service)
        revoked = CliRunner().invoke(app, ["tokens", "revoke", auditor_id, "--config", str(config)])
        assert revoked.exit_code == 0 and "1 sessions ended" in revoked.output
        after = browser.get("/auditor/log")
        assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_workers_share_one_count_and_one_lock(store_url: str, tmp_path: Path) -> None:
    """Two workers' guards over the SQL counts: the limit holds across them, and so does a lock."""
    settings = service_settings(
        tmp_path, store_url, rate_limit_api="6/minute", rate_limit_storage="sql", lockout_failures=3
    )
    first, second = RateGuard(settings), RateGuard(settings)
    for guard in (first, second, first, second, first, second):
        guard.address("10.0.0.7")
    with pytest.raises(RateLimited) as limited:
        second.address("10.0.0.7")
    assert limited.value.detail == "rate_limited_address" and limited.value.retry_after >= 1
    first.address("10.0.0.8")  # another address has its own count
    for guard in (first, second, first):
        guard.failed("abc123")
    for guard in (first, second):
        with pytest.raises(RateLimited, match="token_locked"):
            guard.check_unlocked("abc123")
    second.check_unlocked("def456")
    for engine in (*first.engines(), *second.engines()):
        engine.dispose()


def test_the_body_is_never_read_before_the_token(service: RunningService) -> None:
    headers = {"Content-Type": "application/json"}
    with service.client() as anonymous:
        malformed = anonymous.post("/v1/scores", content=b'{"youth_id": ', headers=headers)
        invalid = anonymous.post("/v1/scores", json={"features": 3})
    assert malformed.status_code == invalid.status_code == 401


def test_unknown_fields_are_named_only_when_they_look_like_registry_names(
    service: RunningService, registry: Registry
) -> None:
    body = person(registry.model("trained"), 0)
    body["features"] = {**body["features"], "MARIA_PEREZ_CURP": 1.0, "made_up_feature": 2.0}
    with service.client("caseworker") as client:
        response = client.post("/v1/scores", json=body)
    assert response.status_code == 422
    assert "MARIA" not in response.text and "made_up_feature" in response.text


def test_every_response_carries_the_security_headers_413_included(service: RunningService) -> None:
    with service.client("caseworker") as client:
        too_large = client.post("/v1/scores", content=b"x" * (2 * 1024 * 1024))
        health = client.get("/healthz")
        missing = client.get("/nowhere")
    for response in (too_large, health, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert too_large.status_code == 413


def test_the_api_manual_is_self_hosted_under_a_content_security_policy(service: RunningService) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as browser:  # the assets are large; CI may be busy
        docs = browser.get("/docs")
        assert docs.status_code == 200
        assert "script-src 'self'" in docs.headers["content-security-policy"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert sources and all(source.startswith("/") for source in sources)
        for source in sources:
            assert browser.get(source).status_code == 200
        assert browser.get("/redoc").status_code == 404


def test_a_repeated_query_parameter_is_422_and_a_token_in_the_url_is_refused(service: RunningService) -> None:
    with service.client("caseworker") as client:
        repeated = client.get("/v1/youth/Y000001/score?purpose=police&purpose=case_review")
        in_url = client.get(f"/v1/model?token={service.tokens['caseworker']}")
        in_value = client.get(f"/v1/model?x={service.tokens['caseworker']}")
    assert repeated.status_code == 422 and repeated.json()["detail"][0]["loc"] == ["query", "purpose"]
    assert in_url.status_code == in_value.status_code == 400
    assert service.tokens["caseworker"] not in in_url.text
