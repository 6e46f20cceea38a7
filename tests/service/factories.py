"""Registries, running services and request bodies for the service tests.

One real glass box is trained per test session (on the shared 3,000-youth
synthetic bundle) and registered in a real SQLite MLflow store; the other
versions the reload tests swap between are built from it cheaply: the same
trees recalibrated (different probabilities, so a mixed response would show),
a copy whose golden predictions were tampered with, and a copy registered
under a wrong SHA-256. Services run under a real uvicorn on loopback, in a
thread of the test process (or as a `previ serve` subprocess).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import uvicorn

from models.artifact import (
    ARTIFACT_FOLDER,
    SCORING_FILE,
    ScoringModel,
    load_artifact,
    save_artifact,
    write_manifest,
)
from models.calibration import Calibrator
from previ.config import PreviConfig, parse_config
from service.main import create_app
from service.settings import ServiceSettings
from service.state import ServiceState
from service.tokens import ROLES, Role, token_store

MAIN_MODEL = "previ-risk"


@dataclass(frozen=True)
class Registry:
    """A trained registry: ``previ-risk`` v1 is the champion and is never moved.

    ``sources`` name the artifacts other registered models are made of:
    ``trained`` (previ-risk v1), ``recalibrated`` and ``tampered`` (golden
    predictions edited, then the manifest re-sealed and its SHA-256 taken anew,
    so only the golden check can catch it).
    """

    folder: Path
    tracking_uri: str
    bundle: Path
    run_dir: Path
    sources: dict[str, str]
    sha256: dict[str, str]
    artifacts: dict[str, Path]

    def config(self, registered_model: str = MAIN_MODEL, **service: Any) -> PreviConfig:
        return parse_config(
            {
                "data": {"dir": str(self.bundle)},
                "training": {"tracking_uri": self.tracking_uri, "registered_model": registered_model},
                "service": {
                    key: str(value) if isinstance(value, Path) else value for key, value in service.items()
                },
            }
        )

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def tracking(self) -> contextlib.AbstractContextManager[None]:
        """Point MLflow's process-wide tracking URI at this registry (see :func:`mlflow_tracking`)."""
        return mlflow_tracking(self.tracking_uri)

    def make_model(self, name: str, versions: list[tuple[str, str | None]]) -> list[str]:
        """Register ``versions`` (source key, sha256 tag or None for the true one) under ``name``."""
        from mlflow.exceptions import MlflowException

        with self.tracking():
            client = self.client()
            with contextlib.suppress(MlflowException):
                client.create_registered_model(name)
            created = []
            for source, sha in versions:
                version = client.create_model_version(
                    name, self.sources[source], tags={"scoring_sha256": sha or self.sha256[source]}
                )
                created.append(str(version.version))
        return created

    def set_champion(self, name: str, version: str) -> None:
        with self.tracking():
            self.client().set_registered_model_alias(name, "champion", version)

    def model(self, source: str) -> ScoringModel:
        return load_artifact(self.artifacts[source])


@contextlib.contextmanager
def mlflow_tracking(uri: str | None) -> Iterator[None]:
    """Use ``uri`` as MLflow's tracking URI for a while, then restore the environment.

    MLflow keeps one tracking URI per process, and ``mlflow.set_tracking_uri``
    also writes it to MLFLOW_TRACKING_URI, which ``training.registry.tracking_uri``
    prefers to the config. In a test process that has seen other stores, the
    registry a service loads from must therefore be set here, around the load.
    """
    import mlflow

    previous = os.environ.get("MLFLOW_TRACKING_URI")
    if uri is not None:
        mlflow.set_tracking_uri(uri)
        os.environ["MLFLOW_TRACKING_URI"] = uri  # set_tracking_uri skips this when its global already matches
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def build_registry(folder: Path, bundle: Path) -> Registry:
    """Train once and register; reuse what another pytest-xdist worker already built."""
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "registry.json"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            payload = _train_and_register(folder, bundle)
            done.write_text(json.dumps(payload))
        payload = json.loads(done.read_text())
    return Registry(
        folder=folder,
        tracking_uri=payload["tracking_uri"],
        bundle=bundle,
        run_dir=Path(payload["run_dir"]),
        sources=payload["sources"],
        sha256=payload["sha256"],
        artifacts={key: Path(value) for key, value in payload["artifacts"].items()},
    )


def _train_and_register(folder: Path, bundle: Path) -> dict[str, Any]:
    from training.pipeline import train_and_register, training_set_from_bundle
    from training.registry import log_and_register

    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    config = parse_config(
        {
            "data": {"dir": str(bundle)},
            "training": {
                "models": ["glassbox"],
                "resamples": 50,
                "tracking_uri": tracking_uri,
                "registered_model": MAIN_MODEL,
            },
            "audit": {"resamples": 100},
        }
    )
    previous = Path.cwd()
    saved_uri = os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.chdir(folder)
    try:
        outcome = train_and_register(training_set_from_bundle(config), config, out_dir=folder / "run")
        assert outcome.registration is not None
        client = Registry(folder, tracking_uri, bundle, folder / "run", {}, {}, {}).client()
        client.set_registered_model_alias(MAIN_MODEL, "champion", outcome.registration.version)
        trained = client.get_model_version(MAIN_MODEL, outcome.registration.version)
        sources = {"trained": str(trained.source)}
        sha256 = {"trained": str(trained.tags["scoring_sha256"])}
        artifacts = {"trained": str(folder / "run" / ARTIFACT_FOLDER)}
        staging = config.training.model_copy(update={"registered_model": "previ-staging"})
        for key in ("recalibrated", "tampered"):
            run_dir = folder / key
            sha = _variant(folder / "run", run_dir, tampered=key == "tampered")
            golden = pd.DataFrame(load_artifact(folder / "run" / ARTIFACT_FOLDER).golden["inputs"])
            registration = log_and_register(
                settings=staging,
                run_dir=run_dir,
                artifact_dir=run_dir / ARTIFACT_FOLDER,
                params={"variant": key},
                metrics={},
                fold_metrics={},
                tags={"scoring_sha256": sha},
                input_example=golden.head(2),
                output_example=pd.DataFrame(
                    {"probability": [0.1], "tier": ["universal"], "percentile": [50.0]}
                ),
            )
            version = client.get_model_version("previ-staging", registration.version)
            sources[key] = str(version.source)
            sha256[key] = sha
            artifacts[key] = str(run_dir / ARTIFACT_FOLDER)
    finally:
        os.chdir(previous)
        if saved_uri is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved_uri
    return {
        "tracking_uri": tracking_uri,
        "run_dir": str(folder / "run"),
        "sources": sources,
        "sha256": sha256,
        "artifacts": artifacts,
    }


def _variant(run: Path, out: Path, *, tampered: bool) -> str:
    """The trained trees under plain Platt scaling; ``tampered`` also edits one golden probability."""
    shutil.copytree(run, out, ignore=shutil.ignore_patterns("*.png", "test_fold.parquet"))
    model = load_artifact(run / ARTIFACT_FOLDER)
    sha = save_artifact(
        out / ARTIFACT_FOLDER,
        kind=model.kind,
        model=model.model,
        feature_names=model.feature_names,
        categorical_levels=model.categorical_levels,
        calibrator=Calibrator("platt", slope=0.9, intercept=0.25),
        tiers=model.tiers,
        reference_probability=model.reference,
        golden_inputs=pd.DataFrame(model.golden["inputs"]),
        metadata=model.metadata,
        declarations=model.registry,
    )
    if not tampered:
        return sha
    path = out / ARTIFACT_FOLDER / SCORING_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["golden"]["probability"][0] += 0.01
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, allow_nan=False)
    path.write_text(text, encoding="utf-8")
    return write_manifest(out / ARTIFACT_FOLDER)  # re-sealed, so that only the golden check can catch it


@dataclass
class RunningService:
    """A service on loopback, with one token per role."""

    url: str
    tokens: dict[Role, str]
    state: ServiceState
    folder: Path
    server: uvicorn.Server
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, role: Role | None = None, **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers={**auth, **headers}, timeout=30)


def service_settings(folder: Path, database: str | None = None, **overrides: Any) -> ServiceSettings:
    """Settings whose every file lives in ``folder``; ``database``: one URL for every store (else SQLite)."""
    values: dict[str, Any] = {
        "tokens_file": folder / "tokens.json",
        "pseudonym_key_file": folder / "pseudonym.key",
        "audit_url": database or f"sqlite:///{folder / 'audit.db'}",
        "snapshot_url": database,
        "audit_fsync": False,
        "snapshot_dir": folder / "snapshots",
        "audit_key_file": folder / "audit.key",
        "session_key_file": folder / "session.key",
        # Tests send thousands of requests from one address; the limits (and their SQL counts, on
        # both backends) have their own tests in test_security.py.
        "rate_limit_api": "100000/minute",
        "rate_limit_login": "100000/minute",
        "rate_limit_storage": "memory://",
    }
    return ServiceSettings(**{**values, **overrides})


@contextlib.contextmanager
def running_service(
    config: PreviConfig,
    folder: Path,
    *,
    database: str | None = None,
    wait_ready: bool = True,
    **overrides: Any,
) -> Iterator[RunningService]:
    """uvicorn on a free loopback port in a thread; stopped (and joined) on exit.

    ``database``: the URL of every store (a PostgreSQL schema); default SQLite files in ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    settings = service_settings(folder, database, **overrides)
    store = token_store(settings)
    tokens = {role: store.add(role=role, name=f"test-{role}")[1] for role in ROLES}
    store.engine.dispose()
    app = create_app(config, settings=settings)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so (else 40 ms ACK stalls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    running = RunningService(
        url=f"http://127.0.0.1:{port}",
        tokens=tokens,
        state=app.state.previ,
        folder=folder,
        server=server,
        thread=thread,
    )
    holder = running.state.holder
    try:
        with mlflow_tracking(config.training.tracking_uri):  # the start-up load reads the registry
            thread.start()
            wait_until(lambda: server.started, what="uvicorn to start")
            wait_until(lambda: holder.current is not None or holder.last_error is not None, what="the model")
        if wait_ready:
            assert httpx.get(f"{running.url}/readyz", timeout=60).status_code == 200, holder.last_error
        yield running
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(timeout=10)
        sock.close()


def read_as_it_comes(process: subprocess.Popen[bytes]) -> Callable[[], str]:
    """Drain a `previ serve` child's output in a thread; the function returned gives what it printed.

    Reading only at the end is not enough: under load the access log fills a pipe's 64 KiB within
    seconds, and a worker writing to a full pipe stops dead (every request of it then hangs). Call
    the function once the process has ended, for all of its output.
    """
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()

    def output() -> str:
        if process.poll() is not None:
            reader.join(timeout=30)
        return b"".join(lines).decode()

    return output


def wait_until(condition: Any, *, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if condition():
                return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def person(
    model: ScoringModel, row: int = 0, *, youth_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A valid POST /v1/scores body from one of the model's golden rows (real feature values)."""
    inputs = pd.DataFrame(model.golden["inputs"])
    values = {
        name: (None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value))
        for name, value in inputs.iloc[row].items()
    }
    body: dict[str, Any] = {
        "youth_id": youth_id or f"Y{900000 + row}",
        "purpose": "referral_planning",
        "features": values,
        "municipality": "Villa Zaragoza",
        "age": int(values.get("age") or 15),
        "programs": [],
    }
    body.update(fields)
    return body


def expected_probability(model: ScoringModel, body: dict[str, Any]) -> float:
    """What the artifact's own (pandas) path gives for a request body."""
    frame = pd.DataFrame([{name: body["features"].get(name) for name in model.feature_names}], dtype=float)
    return float(model.probability(frame)[0])


def refuse_audit_rows(engine: Any) -> None:
    """A trigger that makes every insert into the audit log fail.

    It breaks audit writes alone, on SQLite and PostgreSQL alike, while every other
    table (tokens, caseloads) still reads and writes: what a full or failing log
    looks like to the service. :func:`allow_audit_rows` removes it.
    """
    from sqlalchemy import text

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_audit_row() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql"
                )
            )
            trigger = "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW"
            connection.execute(text(f"{trigger} EXECUTE FUNCTION refuse_audit_row()"))
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )


def allow_audit_rows(engine: Any) -> None:
    """Remove the trigger of :func:`refuse_audit_rows`."""
    from sqlalchemy import text

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER refuse_audit ON audit_log"))
            connection.execute(text("DROP FUNCTION refuse_audit_row()"))
        else:
            connection.execute(text("DROP TRIGGER refuse_audit"))
