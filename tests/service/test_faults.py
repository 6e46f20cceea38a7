"""Faults of the audit store against a real `previ serve` process: 503, never a crash; files and logs private.

SQLite's WAL mode kept its index in ``audit.db-shm``, mapped into memory: cut
that file short under the running service and the next request killed the
process with SIGBUS. The store now uses a rollback journal and no shared
memory. The checks run as root as well (permission bits do not stop root), so
the faults are made by putting a folder where SQLite needs to write a file.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from previ.config import load_config, parse_config
from previ.errors import PreviError
from service.batch import snapshot_store, write_snapshot
from service.caseload import caseload_store
from service.main import create_app
from service.settings import service_settings
from service.snapshots import scores_table
from tests.service.factories import Registry, person, read_as_it_comes, wait_until
from tests.service.factories import service_settings as settings_in

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _previ(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    previ = Path(sys.executable).with_name("previ")
    return subprocess.run(
        [str(previ), *arguments], cwd=folder, env=_env(), capture_output=True, text=True, timeout=300
    )


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PREVI_"))}


def test_an_unwritable_audit_store_is_503_and_the_process_lives_and_nothing_leaks(
    registry: Registry, tmp_path: Path
) -> None:
    port = _free_port()
    config_path = tmp_path / "previ.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "data": {"dir": str(registry.bundle)},
                "training": {"tracking_uri": registry.tracking_uri, "registered_model": "previ-risk"},
                "service": {"port": port, "audit_fsync": False},
            }
        )
    )
    token = _previ(tmp_path, "tokens", "add", "--role", "caseworker", "--name", "ana").stdout.strip()
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        config = load_config(config_path)
        with registry.tracking():
            write_snapshot(config, data_dir=registry.bundle, as_of=dt.date(2025, 8, 1))
        snapshots = snapshot_store(service_settings(config))
        with snapshots.engine.connect() as connection:
            query = select(scores_table.c.youth_id).order_by(scores_table.c.youth_id).limit(3)
            ids = [str(value) for value in connection.execute(query).scalars()]
    finally:
        os.chdir(previous)
    assert _previ(tmp_path, "caseload", "add", "--caseworker", "ana", "--youth", ids[0]).returncode == 0

    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("previ")), "serve", "--config", str(config_path)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output_so_far = read_as_it_comes(process)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    body = person(registry.model("trained"), 0, youth_id=ids[1])
    try:
        # a slow start on a loaded machine is not the fault under test
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, what="previ serve", timeout=240)
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            assert client.post("/v1/scores", json=body).status_code == 200
            own = client.get(f"/v1/youth/{ids[0]}/score", params={"purpose": "case_review"})
            other = client.get(f"/v1/youth/{ids[2]}/score", params={"purpose": "case_review"})
            assert own.status_code == 200 and other.status_code == 403
            client.get("/caseworker/youth", params={"youth_id": ids[2], "purpose": "case_review"})
            assert client.get(f"/v1/model?token={token}").status_code == 400
        assert not (tmp_path / "audit.db-shm").exists() and not (tmp_path / "audit.db-wal").exists()

        # what killed the process with WAL: a cut -shm file (ignored now: there is no shared memory)
        (tmp_path / "audit.db-shm").write_bytes(b"")
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            assert client.post("/v1/scores", json=body).status_code == 200
        assert process.poll() is None
        (tmp_path / "audit.db-shm").unlink()  # planted by the test, not a file of the service

        # the journal cannot be written: scores and readiness are 503, the process lives
        journal = tmp_path / "audit.db-journal"
        journal.unlink(missing_ok=True)
        journal.mkdir()
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            refused = client.post("/v1/scores", json=body)
            stored = client.get(f"/v1/youth/{ids[0]}/score", params={"purpose": "case_review"})
            ready = client.get("/readyz")
            alive = client.get("/healthz")
        assert refused.status_code == stored.status_code == 503 and "probability" not in refused.text
        assert ready.status_code == 503 and alive.status_code == 200
        assert process.poll() is None
        journal.rmdir()
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            assert client.get("/readyz").status_code == 200
            assert client.post("/v1/scores", json=body).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    output = output_so_far()
    assert process.returncode in (0, -signal.SIGTERM), output

    # no raw youth id, nor the token, in anything the server printed
    for youth_id in ids:
        assert youth_id not in output, output
    assert token not in output and "GET /v1/youth/{youth_id}/score 200" in output

    # every state file and folder is the owner's only
    shutil.rmtree(tmp_path / "__pycache__", ignore_errors=True)
    exposed = [
        str(path.relative_to(tmp_path))
        for path in [tmp_path, *tmp_path.rglob("*")]
        if path != tmp_path and path.name != "previ.yaml" and stat.S_IMODE(path.stat().st_mode) & 0o077
    ]
    assert not exposed, exposed
    assert {"audit.db", "audit-rates.db", "audit.key", "pseudonym.key", "session.key"} <= {
        path.name for path in tmp_path.iterdir()
    }


def test_the_service_refuses_to_start_with_a_world_readable_key_or_store(
    registry: Registry, tmp_path: Path
) -> None:
    settings = settings_in(tmp_path)
    create_app(parse_config({}), settings=settings)  # creates the keys, 0600
    key = tmp_path / "pseudonym.key"
    key.chmod(0o644)
    with pytest.raises(PreviError, match=r"pseudonym_key_file.*pseudonym\.key.*chmod 600"):
        create_app(parse_config({}), settings=settings)
    key.chmod(0o600)
    store = tmp_path / "audit.db"
    caseload_store(settings).add(caseworker="ana", youth_id="Y1")
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    store.chmod(0o604)
    with pytest.raises(PreviError, match=r"audit_url.*audit\.db"):
        create_app(parse_config({}), settings=settings)
