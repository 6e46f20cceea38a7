"""Fetch the registry's champion in a child process, so that MLflow never enters a serving process.

MLflow's client imports pandas, pyarrow and scipy: about 120 MB that every
worker would then keep for its whole life, to read one alias and download one
folder at start-up and on reload. :func:`fetch_champion` runs this module as
``python -m service.registry_fetch`` instead: the child resolves the
``champion`` alias, downloads the version's scoring artifact and report files
into a folder the parent gave it, prints one JSON line and exits, taking
MLflow's memory with it. The parent then checks and loads the artifact with
numpy and JSON alone (:func:`models.artifact.load_artifact`), against the
digest the registry recorded, which the child passes on.

The child inherits the environment (``MLFLOW_TRACKING_URI`` and the rest) and
reads the ``training`` section of the config on its standard input. A process
that has MLflow loaded already (training, the tests) gains nothing from a
child, and fetches with the same code in process. A refusal
(no champion, no recorded digest, a failed download) comes back as the child's
error lines and exit code 2, and the parent raises them as :class:`PreviError`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.artifact import ARTIFACT_FOLDER
from previ.config import TrainingConfig
from previ.errors import PreviError

__all__ = [
    "AUDIT_HTML",
    "AUDIT_HTML_IN",
    "AUDIT_JSON",
    "CARD_FILE",
    "REPORT_FILES",
    "Fetched",
    "fetch_champion",
]

CARD_FILE = "model_card.json"
AUDIT_JSON = "audit/audit.json"
AUDIT_HTML = "audit/report.html"
# The report in each language (training writes them beside the default one); older runs have none.
AUDIT_HTML_IN = {"es": "audit/report.es.html", "en": "audit/report.en.html"}
REPORT_FILES = (CARD_FILE, AUDIT_JSON, AUDIT_HTML, *AUDIT_HTML_IN.values())
NO_CHAMPION = (
    "model: {name} has no 'champion' in the registry at {uri}; promote a version (previ promote VERSION) "
    "or set service.model_path to a scoring artifact"
)
NO_SHA = "model: {name} v{version} has no 'scoring_sha256' tag; previ will not serve an unverifiable model"
CHILD_FAILED = "model: fetching the champion from the registry failed ({detail})"
FETCH_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Fetched:
    """A champion downloaded into a folder: where its files are, and what the registry says of it.

    ``reports`` maps each of :data:`REPORT_FILES` to its downloaded path, or
    None when the version's run did not log it.
    """

    version: str
    sha256: str
    source: str
    artifact: Path
    reports: dict[str, Path | None]


def fetch_champion(training: TrainingConfig, into: Path, pinned: str | None = None) -> Fetched:
    """Download the champion of ``training.registered_model`` (or version ``pinned``) into ``into``.

    The download runs in a child process unless MLflow is loaded already.
    Raises :class:`PreviError` with the child's reasons when there is no
    champion (or no such version), no recorded digest, or the download fails.
    """
    if "mlflow" in sys.modules:  # already paid for in this process: a child would only add its start-up
        return _fetched(_fetch(training, into, pinned))
    request = json.dumps({"training": training.model_dump(mode="json"), "into": str(into), "pinned": pinned})
    try:
        child = subprocess.run(
            [sys.executable, "-m", "service.registry_fetch"],
            input=request,
            capture_output=True,
            text=True,
            timeout=FETCH_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PreviError(CHILD_FAILED.format(detail=type(error).__name__)) from error
    if child.returncode == 2:
        raise PreviError(
            *(line.removeprefix("error: ") for line in child.stderr.splitlines() if line.strip())
        )
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        last = (child.stderr.strip().splitlines() or [f"exit code {child.returncode}"])[-1]
        raise PreviError(CHILD_FAILED.format(detail=last[:300]))
    return _fetched(json.loads(lines[-1]))


def _fetched(answer: dict[str, Any]) -> Fetched:
    return Fetched(
        version=str(answer["version"]),
        sha256=str(answer["sha256"]),
        source=str(answer["source"]),
        artifact=Path(answer["artifact"]),
        reports={key: Path(path) if path else None for key, path in answer["reports"].items()},
    )


def _fetch(training: TrainingConfig, into: Path, pinned: str | None = None) -> dict[str, Any]:
    """The child's work: resolve the alias or the pinned version, download, answer (MLflow lives here)."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    from training.registry import CHAMPION, client_for, tracking_uri

    uri = tracking_uri(training)
    name = training.registered_model
    try:
        client = client_for(training)
        if pinned is None:
            version = client.get_model_version_by_alias(name, CHAMPION)
        else:
            version = client.get_model_version(name, pinned)
    except MlflowException as error:
        if pinned is not None:
            raise PreviError(f"model: {name} v{pinned} is not in the registry at {uri}") from error
        raise PreviError(NO_CHAMPION.format(name=name, uri=uri)) from error
    expected = version.tags.get("scoring_sha256")
    if not expected:
        raise PreviError(NO_SHA.format(name=name, version=version.version))
    try:
        model_dir = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version.version}",
            dst_path=str(into),
            tracking_uri=uri,
            registry_uri=uri,
        )
    except MlflowException as error:
        raise PreviError(f"model: cannot download {name} v{version.version}: {error.message}") from error
    reports = {key: _download(version.run_id, f"report/{key}", into / "report", uri) for key in REPORT_FILES}
    return {
        "version": str(version.version),
        "sha256": str(expected),
        "source": f"models:/{name}@{CHAMPION}" if pinned is None else f"models:/{name}/{pinned}",
        "artifact": str(Path(model_dir) / "artifacts" / ARTIFACT_FOLDER),
        "reports": {key: str(path) if path is not None else None for key, path in reports.items()},
    }


def _download(run_id: str | None, artifact_path: str, folder: Path, uri: str) -> Path | None:
    """One report file of the version's run, or None when the run did not log it."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_path, dst_path=str(folder), tracking_uri=uri
            )
        )
    except (MlflowException, OSError):
        return None


def main() -> int:
    """``python -m service.registry_fetch``: the request on stdin, one JSON line on stdout."""
    request = json.loads(sys.stdin.read())
    try:
        answer = _fetch(TrainingConfig(**request["training"]), Path(request["into"]), request.get("pinned"))
    except PreviError as error:
        for line in error.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
