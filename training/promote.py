"""`previ promote VERSION`: move the ``champion`` alias only through the gates, or with a signed review.

Quality gate: the challenger's test ROC AUC may trail the current champion's,
scored on the challenger's own test fold (the same rows), by at most
``training.quality_tolerance``. Fairness gate: the challenger's audit (the
version tag ``fairness_gate``, written at training) must pass: calibration and
discrimination within every group, and recall at capacity no worse than the
champion it was compared with. When the champion has changed since that
comparison, the recall comparison is stale and the gate asks for a review.

A version that fails a gate is promoted only with ``--review TEXT --reviewer
NAME``: the review, the reviewer, the date and the failures it answered stay on
the version, and the versions page shows them. There is no silent override.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.metrics import roc_auc_score

from previ.config import TrainingConfig
from previ.errors import PreviError
from training.registry import CHAMPION, client_for, registered_artifact

TEST_FOLD_ARTIFACT = "report/test_fold.parquet"
REVIEW_INCOMPLETE = "promote: a review needs both --review TEXT (why) and --reviewer NAME (who signs it)"


@dataclass(frozen=True)
class Promotion:
    version: str
    previous_champion: str | None
    failures: tuple[str, ...] = field(default=())
    reviewed: bool = False
    challenger_auc: float | None = None
    champion_auc: float | None = None


def promote(
    settings: TrainingConfig,
    version: str,
    *,
    review: str | None = None,
    reviewer: str | None = None,
) -> Promotion:
    """Check the gates and move ``champion`` to ``version``; raise PreviError when refused.

    ``review`` and ``reviewer`` (both or neither) let a version that fails a gate
    through; they are recorded on the version whether or not a gate failed.
    """
    review = (review or "").strip() or None
    reviewer = (reviewer or "").strip() or None
    if (review is None) != (reviewer is None):
        raise PreviError(REVIEW_INCOMPLETE)
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
        compared = candidate.tags.get("fairness_compared_with", "")
        if compared != f"v{current.version}":
            failures.append(
                f"fairness: recall was compared with {compared or 'no champion'} at training, but the "
                f"champion is now v{current.version}; retrain, or review the audit"
            )
    if candidate.tags.get("fairness_gate") == "failed":
        failures.append("fairness: " + candidate.tags.get("fairness_flags", "a gate check is flagged"))
    if failures and review is None:
        report = f"runs:/{candidate.run_id}/report/audit/report.html"
        raise PreviError(
            *(f"promote: refused v{version}: {failure}" for failure in failures),
            f"promote: read the audit ({report}), then fix the model or promote with "
            "--review TEXT --reviewer NAME (recorded on the version)",
        )
    if review is not None and reviewer is not None:
        client.set_model_version_tag(name, version, "review", review[:4000])
        client.set_model_version_tag(name, version, "reviewer", reviewer[:200])
        client.set_model_version_tag(name, version, "reviewed_at", dt.datetime.now(dt.UTC).isoformat())
        client.set_model_version_tag(name, version, "review_failures", " | ".join(failures) or "none")
    client.set_model_version_tag(name, version, "promoted_from", current.version if current else "none")
    client.set_registered_model_alias(name, CHAMPION, version)
    return Promotion(
        version=version,
        previous_champion=current.version if current else None,
        failures=tuple(failures),
        reviewed=review is not None,
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
        fold = pd.read_parquet(fold_path)
        champion = registered_artifact(champion_uri, Path(folder))
        return float(roc_auc_score(fold["label"], champion.raw_score(fold)))
