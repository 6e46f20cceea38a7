"""Model reloads under traffic: a verified new model is swapped in whole, a bad one is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.factories import (
    Registry,
    RunningService,
    allow_audit_rows,
    expected_probability,
    person,
    read_as_it_comes,
    refuse_audit_rows,
    running_service,
    wait_until,
)

ROWS = (0, 3, 6, 9)


@pytest.fixture
def reloadable(registry: Registry, tmp_path: Path) -> Iterator[tuple[RunningService, str, list[str]]]:
    """A service on its own registered model: v1 trained, v2 recalibrated, v3 tampered, v4 wrong SHA-256."""
    name = f"previ-reload-{uuid.uuid4().hex[:8]}"
    versions = registry.make_model(
        name, [("trained", None), ("recalibrated", None), ("tampered", None), ("trained", "0" * 64)]
    )
    registry.set_champion(name, versions[0])
    with running_service(registry.config(name), tmp_path) as service:
        yield service, name, versions


def test_reload_under_traffic_fails_no_request_and_never_mixes_versions(
    reloadable: tuple[RunningService, str, list[str]], registry: Registry
) -> None:
    service, name, versions = reloadable
    bodies = [person(registry.model("trained"), row) for row in ROWS]
    expected = {
        versions[0]: [expected_probability(registry.model("trained"), body) for body in bodies],
        versions[1]: [expected_probability(registry.model("recalibrated"), body) for body in bodies],
    }
    assert all(abs(a - b) > 1e-4 for a, b in zip(*expected.values(), strict=True)), "versions must differ"
    results: list[tuple[float, int, int, dict[str, Any]]] = []
    stop = threading.Event()

    def hammer(worker: int) -> None:
        with service.client("caseworker") as client:
            count = 0
            while not stop.is_set():
                index = (worker + count) % len(bodies)
                started = time.monotonic()
                response = client.post("/v1/scores", json=bodies[index])
                body = response.json() if response.headers.get("content-type") == "application/json" else {}
                results.append((started, index, response.status_code, body))
                count += 1

    threads = [threading.Thread(target=hammer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.4)
    registry.set_champion(name, versions[1])
    with registry.tracking(), service.client("data_scientist") as client:
        reloaded = client.post("/v1/admin/reload")
    swapped_at = time.monotonic()
    time.sleep(0.4)
    stop.set()
    for thread in threads:
        thread.join()

    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json() == {"version": versions[1], "previous_version": versions[0], "changed": True}
    assert len(results) > 50
    failures = [(status, body) for _, _, status, body in results if status != 200]
    assert failures == []
    for _, index, _, body in results:
        assert body["probability"] == pytest.approx(expected[body["model_version"]][index], abs=1e-6)
    seen = {body["model_version"] for _, _, _, body in results}
    assert seen == {versions[0], versions[1]}
    after = [body["model_version"] for started, _, _, body in results if started > swapped_at]
    assert after and set(after) == {versions[1]}


@pytest.mark.parametrize(("version_index", "reason"), [(2, "golden predictions differ"), (3, "SHA-256")])
def test_a_model_that_fails_its_checks_is_refused_and_the_old_one_stays(
    reloadable: tuple[RunningService, str, list[str]], registry: Registry, version_index: int, reason: str
) -> None:
    service, name, versions = reloadable
    registry.set_champion(name, versions[version_index])
    with registry.tracking(), service.client("data_scientist", **{"Accept-Language": "en"}) as client:
        refused = client.post("/v1/admin/reload")
    assert refused.status_code == 409
    assert (
        reason in refused.json()["detail"]
        and f"still serving version {versions[0]}" in refused.json()["detail"]
    )
    assert httpx.get(f"{service.url}/readyz").json()["model_version"] == versions[0]
    with service.client("caseworker") as client:
        assert (
            client.post("/v1/scores", json=person(registry.model("trained"), 0)).json()["model_version"]
            == (versions[0])
        )


def test_without_a_model_readiness_and_scores_are_503_until_one_is_loaded(
    registry: Registry, tmp_path: Path
) -> None:
    name = f"previ-empty-{uuid.uuid4().hex[:8]}"
    with running_service(registry.config(name), tmp_path, wait_ready=False) as service:
        assert httpx.get(f"{service.url}/readyz").status_code == 503
        with service.client("caseworker") as client:
            response = client.post("/v1/scores", json=person(registry.model("trained"), 0))
        assert response.status_code == 503 and "No hay un modelo" in response.json()["detail"]
        (version,) = registry.make_model(name, [("trained", None)])
        registry.set_champion(name, version)
        with registry.tracking(), service.client("data_scientist") as client:
            assert client.post("/v1/admin/reload").json()["previous_version"] is None
        assert httpx.get(f"{service.url}/readyz").json() == {"status": "ready", "model_version": version}
        with service.client("auditor") as client:
            entries = client.get("/v1/audit-log", params={"outcome": "refused"}).json()["entries"]
        assert [(e["endpoint"], e["status"], e["detail"]) for e in entries] == [
            ("/v1/scores", 503, "no_model")
        ]


def test_when_the_audit_log_cannot_be_written_no_score_leaves(
    registry: Registry, tmp_path: Path, store_url: str
) -> None:
    with running_service(registry.config(), tmp_path / "service", database=store_url) as service:
        refuse_audit_rows(service.state.audit.engine)  # the log alone fails; tokens still read
        body = person(registry.model("trained"), 0)
        with service.client("caseworker") as client:
            score = client.post("/v1/scores", json=body)
            model = client.get("/v1/model")
        with service.client() as anonymous:
            unauthenticated = anonymous.post("/v1/scores", json=body)
            ready = anonymous.get("/readyz")
        for response in (score, model):
            assert response.status_code == 503
            assert "auditoría" in response.json()["detail"] and "probability" not in response.text
        assert ready.status_code == 503 and "audit" in ready.json()["detail"]
        # refused anyway, and counted in memory until the log is back (see service.refusals)
        assert unauthenticated.status_code == 401 and service.state.refusals.pending() >= 1
        allow_audit_rows(service.state.audit.engine)  # the log takes rows again: scores flow, and are logged
        with service.client("caseworker") as client:
            assert client.post("/v1/scores", json=body).status_code == 200
        assert httpx.get(f"{service.url}/readyz").status_code == 200
        assert service.state.audit.entries(limit=5)[0]["status"] == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_previ_serve_reloads_the_champion_on_sighup(registry: Registry, tmp_path: Path) -> None:
    name = f"previ-sighup-{uuid.uuid4().hex[:8]}"
    first, second = registry.make_model(name, [("trained", None), ("recalibrated", None)])
    registry.set_champion(name, first)
    port = _free_port()
    config = tmp_path / "previ.yaml"
    config.write_text(
        f"training:\n  tracking_uri: {registry.tracking_uri}\n  registered_model: {name}\n"
        f"service:\n  port: {port}\n  audit_fsync: false\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PREVI_"))}
    previ = Path(sys.executable).with_name("previ")
    process = subprocess.Popen(
        [str(previ), "serve", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output_so_far = read_as_it_comes(process)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(  # a slow start on a loaded machine is not what this test is about
            lambda: httpx.get(f"{url}/readyz").json().get("model_version") == first,
            what="previ serve",
            timeout=240,
        )
        registry.set_champion(name, second)
        process.send_signal(signal.SIGHUP)
        wait_until(
            lambda: httpx.get(f"{url}/readyz").json().get("model_version") == second, what="the reload"
        )
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    output = output_so_far()
    assert f"serving model {second} (was {first})" in output, output
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
