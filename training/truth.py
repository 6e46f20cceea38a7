"""Compare a trained model with the synthetic truth (the synthesiser's side file).

Only synthetic bundles have a truth: the probability of the outcome given each
young person's state at as_of, and the factor that drove their need. This is
how tests and benchmarks check that the glass box gets close to the best
possible ranking, is calibrated, and names the real reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.reasons import reason_codes
from training.train import TrainingResult

TRUTH_FILE = "truth.parquet"


@dataclass(frozen=True)
class TruthComparison:
    model_auc: float
    truth_auc: float
    driver_in_top_three: float  # share of the top decile whose true main driver is among its top 3 reasons
    top_decile: int

    @property
    def auc_gap(self) -> float:
        return self.truth_auc - self.model_auc


def compare_with_truth(
    result: TrainingResult, bundle_dir: Path, *, model: str = "glassbox"
) -> TruthComparison:
    """Test-fold AUC of ``model`` against the truth's, and how often it explains the true driver."""
    fitted = result.models[model]
    rows = result.test_rows
    assert result.data.time is not None, "the truth is per (youth_id, as_of): temporal data only"
    keys = pd.DataFrame({"youth_id": result.data.ids[rows], "as_of": pd.to_datetime(result.data.time[rows])})
    truth = pd.read_parquet(bundle_dir / TRUTH_FILE)
    truth["as_of"] = pd.to_datetime(truth["as_of"])
    joined = keys.merge(truth, on=["youth_id", "as_of"], how="left", validate="one_to_one")
    label = result.data.label[rows]
    top = np.argsort(-fitted.test_raw, kind="stable")[: max(1, len(rows) // 10)]
    lookup = fitted.fitted.lookup
    if lookup is None:
        raise ValueError(f"{model} has no lookup tables to explain with")
    from models.explain import explain

    features = result.data.features.iloc[rows[top]].reset_index(drop=True)
    reasons = reason_codes(explain(lookup, features), top=3).table
    factors = reasons[reasons["direction"] == "raises"].groupby("row")["factor"].apply(set)
    drivers = joined["true_main_driver"].to_numpy()[top]
    hits = [driver in factors.get(row, set()) for row, driver in enumerate(drivers) if driver != "none"]
    return TruthComparison(
        model_auc=float(roc_auc_score(label, fitted.test_raw)),
        truth_auc=float(roc_auc_score(label, joined["true_probability"])),
        driver_in_top_three=float(np.mean(hits)) if hits else float("nan"),
        top_decile=len(top),
    )
