"""`previ promote VERSION`: move the ``champion`` alias only through the gates.

Quality gate: the challenger's test ROC AUC may trail the current champion's,
scored on the challenger's own test fold (the same rows), by at most
``training.quality_tolerance``. Fairness gate: the challenger's audit must not
hold a primary disparity whose interval lies wholly outside the tolerance
(recorded at training as the version tag ``fairness_gate``). ``--force`` with a
``--reason`` overrides a failed gate and records who-knows-why in the registry:
the override reason and the failures it overrode stay on the version.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.metrics import roc_auc_score

from models.artifact import ARTIFACT_FOLDER, load_artifact
from previ.config import TrainingConfig
from previ.errors import PreviError
from training.registry import CHAMPION, client_for

TEST_FOLD_ARTIFACT = "report/test_fold.parquet"


@dataclass(frozen=True)
class Promotion:
    version: str
    previous_champion: str | None
    failures: tuple[str, ...] = field(default=())
    forced: bool = False
    challenger_auc: float | None = None
    champion_auc: float | None = None


def promote(
    settings: TrainingConfig, version: str, *, force: bool = False, reason: str | None = None
) -> Promotion:
    """Check the gates and move ``champion`` to ``version``; raise PreviError when refused."""
    if force and not (reason and reason.strip()):
        raise PreviError("promote: --force needs --reason TEXT, which is recorded in the registry")
    client = client_for(settings)
    name = settings.registered_model
    try:
        candidate = client.get_model_version(name, version)
    except MlflowException:
        raise PreviError(f"promote: {name} has no version {version}") from None
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        current = None
    failures: list[str] = []
    challenger_auc = float(candidate.tags.get("test_roc_auc", "nan"))
    champion_auc = None
    if current is not None and current.version != candidate.version:
        champion_auc = _champion_auc_on(str(candidate.run_id), f"models:/{name}/{current.version}")
        if challenger_auc < champion_auc - settings.quality_tolerance:
            failures.append(
                f"quality: test ROC AUC {challenger_auc:.4f} trails champion v{current.version} "
                f"({champion_auc:.4f} on the same rows) by more than {settings.quality_tolerance}"
            )
    gate = candidate.tags.get("fairness_gate")
    if gate == "failed":
        failures.append("fairness: " + candidate.tags.get("fairness_flags", "a primary disparity is flagged"))
    if failures and not force:
        raise PreviError(
            *(f"promote: refused v{version}: {failure}" for failure in failures),
            "promote: fix the model, or override with --force --reason TEXT (recorded in the registry)",
        )
    if failures:
        client.set_model_version_tag(name, version, "promotion_override", "true")
        client.set_model_version_tag(name, version, "promotion_override_reason", str(reason))
        client.set_model_version_tag(name, version, "promotion_override_failures", " | ".join(failures))
    client.set_model_version_tag(name, version, "promoted_from", current.version if current else "none")
    client.set_registered_model_alias(name, CHAMPION, version)
    return Promotion(
        version=version,
        previous_champion=current.version if current else None,
        failures=tuple(failures),
        forced=bool(failures),
        challenger_auc=challenger_auc,
        champion_auc=champion_auc,
    )


def _champion_auc_on(run_id: str, champion_uri: str) -> float:
    """Score the challenger's test fold with the current champion's artifact."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory() as folder:
        fold_path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=TEST_FOLD_ARTIFACT, dst_path=folder
        )
        model_path = mlflow.artifacts.download_artifacts(artifact_uri=champion_uri, dst_path=folder)
        fold = pd.read_parquet(fold_path)
        champion = load_artifact(Path(model_path) / "artifacts" / ARTIFACT_FOLDER)
        return float(roc_auc_score(fold["label"], champion.raw_score(fold)))
