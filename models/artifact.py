"""The scoring artifact: everything needed to score and explain, in one folder.

``scoring.json`` holds the feature spec (names, and for bundle features their
registry declaration: units, directions, reason texts, referral tags), the
calibrator, the tier cut-offs, a reference distribution of probabilities for
percentiles, golden predictions (inputs and the probabilities they must
reproduce), the glass box's lookup tables and a summary of the training
population (missing values per feature, rows per table position) from which
unknown values are marginalised (:mod:`models.marginal`). A LightGBM challenger adds
``model.txt``; a logistic one adds ``model.joblib``. The file's SHA-256 is
recorded in MLflow so the service can check that it loads what was registered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd

from features.registry import FEATURES_BY_NAME, Feature
from models.explain import Explanation, explain
from models.glassbox import LookupModel
from models.marginal import Population
from previ.errors import PreviError
from previ.jsonio import json_default
from training.calibrate import Calibrator

SCORING_FILE = "scoring.json"
ARTIFACT_FOLDER = "scoring_model"  # its name in a run folder and inside the logged MLflow model
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Tiers:
    """Calibrated-probability cut-offs: indicated >= indicated_min > selective >= selective_min."""

    indicated_min: float
    selective_min: float

    def tier(self, probability: np.ndarray) -> np.ndarray:
        tiers = np.full(len(probability), "universal", dtype=object)
        tiers[probability >= self.selective_min] = "selective"
        tiers[probability >= self.indicated_min] = "indicated"
        return tiers


@dataclass
class ScoringModel:
    """A loaded artifact that scores and explains young people."""

    kind: str
    feature_names: list[str]
    categorical_levels: dict[str, list[str]]
    calibrator: Calibrator
    tiers: Tiers
    reference: np.ndarray
    golden: dict[str, Any]
    metadata: dict[str, Any]
    model: Any
    population: Population | None = None  # None in artifacts built before it was stored

    @property
    def registry(self) -> dict[str, Feature]:
        return {name: FEATURES_BY_NAME[name] for name in self.feature_names if name in FEATURES_BY_NAME}

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Columns in training order and dtypes (categories with the training levels)."""
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise PreviError(f"features: missing {', '.join(missing)}")
        frame = features[self.feature_names].copy()
        for name in self.feature_names:
            if name in self.categorical_levels:
                frame[name] = pd.Categorical(
                    frame[name].astype("string"), categories=self.categorical_levels[name]
                )
            else:
                frame[name] = frame[name].astype("float64")
        return frame

    def raw_score(self, features: pd.DataFrame) -> np.ndarray:
        frame = self.prepare(features)
        if self.kind == "glassbox":
            return np.asarray(self.model.raw_score(frame), dtype=float)
        if self.kind == "lightgbm":
            return np.asarray(self.model.predict(frame, raw_score=True), dtype=float)
        return np.asarray(self.model.decision_function(frame), dtype=float)

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibrator.probability(self.raw_score(features))

    def explain(self, features: pd.DataFrame) -> Explanation:
        return explain(self.model, self.prepare(features))

    def percentile(self, probability: np.ndarray) -> np.ndarray:
        """Share (0-100) of the reference population scored at or below each probability."""
        return (
            100.0 * np.searchsorted(self.reference, probability, side="right") / max(1, len(self.reference))
        )

    def check_golden(self, tolerance: float = 1e-9) -> None:
        """Raise PreviError unless the model reproduces the probabilities recorded at training."""
        inputs = pd.DataFrame(self.golden["inputs"])
        for name, levels in self.categorical_levels.items():
            inputs[name] = pd.Categorical(inputs[name], categories=levels)
        expected = np.asarray(self.golden["probability"], dtype=float)
        got = self.probability(inputs)
        worst = float(np.max(np.abs(got - expected))) if len(expected) else 0.0
        if worst > tolerance:
            raise PreviError(f"model: golden predictions differ by {worst:.3g} (tolerance {tolerance:g})")


def save_artifact(
    out_dir: Path,
    *,
    kind: str,
    model: Any,
    feature_names: list[str],
    categorical_levels: dict[str, list[str]],
    calibrator: Calibrator,
    tiers: Tiers,
    reference_probability: np.ndarray,
    golden_inputs: pd.DataFrame,
    metadata: dict[str, Any],
    population: Population | None = None,
) -> str:
    """Write the artifact folder and return the SHA-256 of scoring.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind == "glassbox":
        model_payload: dict[str, Any] | None = model.to_dict()
    else:
        model_payload = None
        if kind == "lightgbm":
            model.save_model(str(out_dir / "model.txt"))
        else:
            joblib.dump(model, out_dir / "model.joblib")
    partial = ScoringModel(
        kind,
        feature_names,
        categorical_levels,
        calibrator,
        tiers,
        np.array([]),
        {},
        metadata,
        LookupModel.from_dict(model_payload) if model_payload else model,
    )
    golden_probability = partial.probability(golden_inputs)
    golden_records = golden_inputs.astype(object).where(golden_inputs.notna(), None)
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "feature_names": feature_names,
        "categorical_levels": categorical_levels,
        "calibrator": calibrator.to_dict(),
        "tiers": {"indicated_min": tiers.indicated_min, "selective_min": tiers.selective_min},
        "reference": np.quantile(reference_probability, np.linspace(0, 1, 1001)).round(12).tolist(),
        "golden": {
            "inputs": {column: golden_records[column].tolist() for column in golden_records.columns},
            "probability": golden_probability.tolist(),
        },
        "metadata": metadata,
        "model": model_payload,
        "population": population.to_dict() if population is not None else None,
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, allow_nan=False, default=json_default)
    (out_dir / SCORING_FILE).write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_artifact(folder: Path, *, expected_sha256: str | None = None) -> ScoringModel:
    """Load an artifact folder, checking its hash and golden predictions."""
    path = Path(folder) / SCORING_FILE
    if not path.exists():
        raise PreviError(f"model: {path} does not exist")
    text = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise PreviError(
            f"model: {path} has SHA-256 {digest[:12]}..., the registry recorded {expected_sha256[:12]}..."
        )
    payload = json.loads(text)
    kind = payload["kind"]
    if kind == "glassbox":
        model: Any = LookupModel.from_dict(payload["model"])
    elif kind == "lightgbm":
        model = lgb.Booster(model_file=str(Path(folder) / "model.txt"))
    else:
        model = joblib.load(Path(folder) / "model.joblib")
    scoring = ScoringModel(
        kind=kind,
        feature_names=list(payload["feature_names"]),
        categorical_levels={name: list(levels) for name, levels in payload["categorical_levels"].items()},
        calibrator=Calibrator.from_dict(payload["calibrator"]),
        tiers=Tiers(**payload["tiers"]),
        reference=np.asarray(payload["reference"], dtype=float),
        golden=payload["golden"],
        metadata=payload["metadata"],
        model=model,
        population=Population.from_dict(payload["population"]) if payload.get("population") else None,
    )
    scoring.check_golden()
    return scoring
