"""The MLflow pyfunc wrapper around a scoring artifact.

``mlflow.pyfunc.load_model(...).predict(frame)`` returns the calibrated
probability, the tier and the percentile for each row; the artifact folder is
logged with the model, so the registered version is self-contained. Loading
checks every file of the artifact against its manifest and unpickles nothing;
the service also checks the manifest against the digest MLflow recorded.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from models.artifact import ScoringModel, load_artifact


class PreviPyfunc(PythonModel):
    """Scores rows of registry features; no personal data is stored in the model."""

    scoring: ScoringModel

    def load_context(self, context: Any) -> None:
        self.scoring = load_artifact(context.artifacts["scoring"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        probability = self.scoring.probability(model_input)
        return pd.DataFrame(
            {
                "probability": probability,
                "tier": self.scoring.tiers.tier(probability),
                "percentile": self.scoring.percentile(probability),
            }
        )
