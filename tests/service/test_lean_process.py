"""The serving process stays lean: what it may import, and what it must not.

A serving process may import the standard library, numpy, SQLAlchemy, FastAPI
(Starlette, pydantic), Jinja2, PyYAML, limits and uvicorn, and the CLI's typer
and rich. It must not import pandas, scikit-learn, SciPy, shap, matplotlib,
MLflow, LightGBM or pyarrow: not when the CLI starts (``previ serve`` goes
through it), not when the app is built, not when it loads the champion from
the MLflow registry (a child process reads the registry; the artifact loads
with numpy and JSON), and not while it answers ``POST /v1/scores``,
``GET /v1/youth/{id}/score`` and ``/healthz``. The serving check runs
``previ serve`` itself (database upgrade, app, model load), with uvicorn's
server replaced by an in-process client; each check runs in a fresh
interpreter, since this test process has them all loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from service.snapshots import SnapshotStore
from tests.service.factories import Registry, person

FORBIDDEN = ("pandas", "sklearn", "scipy", "shap", "matplotlib", "mlflow", "lightgbm", "pyarrow")

SERVE = textwrap.dedent(
    """
    import json, sys, time
    import uvicorn
    from fastapi.testclient import TestClient

    request = json.loads(sys.stdin.read())

    def serve(app, **options):  # what `previ serve` hands to uvicorn, driven in process instead
        state = app.state.previ
        _, token = state.tokens.add(role="caseworker", name="lean")
        state.caseload.add(caseworker="lean", youth_id="Y000001")
        statuses = {}
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            deadline = time.monotonic() + 300
            while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            statuses["readyz"] = client.get("/readyz").status_code
            statuses["scores"] = client.post("/v1/scores", json=request["body"]).status_code
            youth = client.get("/v1/youth/Y000001/score", params={"purpose": "case_review"})
            statuses["youth"] = youth.status_code
            statuses["healthz"] = client.get("/healthz").status_code
        imported = sorted(set(request["forbidden"]) & set(sys.modules))
        print(json.dumps({"statuses": statuses, "imported": imported}))

    uvicorn.run = serve
    from cli.app import app
    sys.argv = ["previ", "serve", "--config", request["config"]]
    app()
    """
)


def _run(script: str, stdin: str = "", cwd: Path | None = None) -> dict[str, object]:
    # the registry is the config's: a tracking URI another test left in the environment would outrank it
    environment = {name: value for name, value in os.environ.items() if name != "MLFLOW_TRACKING_URI"}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    answer: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return answer


def test_the_command_line_imports_none_of_the_heavy_libraries() -> None:
    script = f"import json, sys, cli.app; print(json.dumps(sorted(set({FORBIDDEN!r}) & set(sys.modules))))"
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout) == []


def test_serving_from_the_registry_imports_none_of_the_heavy_libraries(
    registry: Registry, tmp_path: Path
) -> None:
    model = registry.model("trained")
    _write_snapshot(tmp_path / "snapshots", model_sha256=registry.sha256["trained"])
    service = {
        "tokens_file": str(tmp_path / "tokens.json"),
        "audit_url": f"sqlite:///{tmp_path / 'audit.db'}",
        "snapshot_dir": str(tmp_path / "snapshots"),
        "pseudonym_key_file": str(tmp_path / "pseudonym.key"),
        "audit_key_file": str(tmp_path / "audit.key"),
        "session_key_file": str(tmp_path / "session.key"),
    }
    config = tmp_path / "previ.yaml"  # JSON is YAML
    config.write_text(json.dumps(registry.config(**service).model_dump(mode="json", exclude_unset=True)))
    request = {"config": str(config), "body": person(model, 0), "forbidden": FORBIDDEN}
    answer = _run(SERVE, json.dumps(request), cwd=tmp_path)
    assert answer["statuses"] == {"readyz": 200, "scores": 200, "youth": 200, "healthz": 200}
    assert answer["imported"] == []


def _write_snapshot(folder: Path, *, model_sha256: str) -> None:
    """A one-person snapshot, written as ``previ score`` writes one (through the store)."""
    folder.mkdir(parents=True)
    store = SnapshotStore(f"sqlite:///{folder / 'snapshots.db'}")
    store.write(
        as_of=dt.date(2025, 8, 1),
        model_version="1",
        model_sha256=model_sha256,
        folder=str(folder),
        quantiles=np.linspace(0.0, 1.0, 11),
        scores=pd.DataFrame(
            {
                "youth_id": ["Y000001"],
                "municipality": ["Villa Zaragoza"],
                "age": [15],
                "probability": [0.3],
                "percentile": [90.0],
                "tier": ["selective"],
            }
        ),
        reasons=pd.DataFrame(
            {
                "youth_id": ["Y000001"],
                "direction": ["raises"],
                "rank": [1],
                "feature": ["fights_365d"],
                "value": [2.0],
                "contribution": [0.4],
                "factor": ["school_incidents"],
                "referral_tags": ["restorative_mediation,mentoring"],
                "sentence_es": ["2 peleas en el último año"],
                "sentence_en": ["2 fights in the last year"],
            }
        ),
        programs=pd.DataFrame({"youth_id": [], "program": [], "status": []}),
    )
