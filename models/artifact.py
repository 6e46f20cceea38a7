"""The scoring artifact: everything needed to score and explain, in one folder, checked before use.

The folder holds

* ``scoring.json``: the feature spec (names, categorical levels and, for
  registry features, their declarations as they stood at training: units,
  directions, descriptions, reason texts, referral tags, factors), the
  calibrator, the tier cut-offs, a reference distribution of probabilities for
  percentiles, golden predictions (inputs and the probabilities they must
  reproduce), a summary of the training population (missing values per
  feature, rows per table position) from which unknown values are marginalised
  (:mod:`models.marginal`) and, when the model is plain numbers, the model: the
  glass box's lookup tables or a logistic pipeline's arithmetic
  (:class:`~models._linear.LinearModel`);
* ``model.txt``, for a LightGBM challenger: the booster in LightGBM's text format;
* ``manifest.json``, written last: the SHA-256 of every other file.

Nothing in it is unpickled, and a glass box or logistic artifact loads with
numpy and the standard library's JSON alone (LightGBM only for a LightGBM
challenger, pandas only to score DataFrames), so the serving process stays
lean. :func:`load_artifact` checks every file against the
manifest before it parses any, and refuses a folder with a file missing,
changed or added. The SHA-256 of ``manifest.json``, which pins every file, is
the artifact's digest: :func:`save_artifact` returns it, MLflow records it
(the version tag ``scoring_sha256``) and the service refuses an artifact whose
digest is not the one recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from features.registry import FEATURES_BY_NAME, Feature, Plural
from models._linear import LinearModel
from models._lookup import LookupModel
from models.calibration import Calibrator
from models.explain import Explanation, explain
from models.marginal import Population
from previ.errors import PreviError
from previ.jsonio import json_default

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ARTIFACT_FOLDER",
    "MANIFEST_FILE",
    "SCORING_FILE",
    "ScoringModel",
    "Tiers",
    "load_artifact",
    "save_artifact",
    "write_manifest",
]

SCORING_FILE = "scoring.json"
MANIFEST_FILE = "manifest.json"
BOOSTER_FILE = "model.txt"
ARTIFACT_FOLDER = "scoring_model"  # its name in a run folder and inside the logged MLflow model
FORMAT_VERSION = 2  # 2: manifest.json, declarations and the logistic model in scoring.json, no pickle
MODEL_FILES = {"glassbox": (), "logistic": (), "lightgbm": (BOOSTER_FILE,)}  # beside scoring.json

NO_FOLDER = "model: {folder} is not a folder"
NO_MANIFEST = (
    "model: {folder} has no {manifest}, so its files cannot be checked; it was written by an older "
    "previ or is incomplete. Retrain the model (previ train)."
)
BAD_MANIFEST = "model: {path} is not a previ manifest ({problem})"
WRONG_DIGEST = "model: {path} has SHA-256 {digest}..., the registry recorded {expected}..."
MISSING_FILES = "model: {folder} lacks {names}, listed in its {manifest}"
EXTRA_FILES = "model: {folder} holds {names}, not listed in its {manifest}; previ loads only listed files"
NOT_A_FILE = "model: {path}, listed in its {manifest}, is not a file"
CHANGED_FILE = "model: {path} has SHA-256 {digest}..., its {manifest} recorded {expected}..."
WRONG_FILES = "model: a {kind} artifact holds {expected}; {manifest} lists {listed}"
UNKNOWN_KIND = "model: {path} has kind {kind!r}; previ scores {kinds}"
WRONG_FORMAT = "model: {path} is in format {received}; previ reads format {expected}. Retrain the model."
BAD_DECLARATION = "model: {path} declares feature {name} in a form this previ does not read ({problem})"
EXPORT_DIFFERS = (
    "model: the stored logistic model scores the golden rows {worst:.3g} away from the fitted "
    "pipeline; it cannot be saved"
)
STRAY_FILES = "model: {folder} already holds {names}; write the artifact into an empty folder"


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

    def tier_of(self, probability: float) -> str:
        """:meth:`tier` of one probability, without building arrays (the one-person path)."""
        if probability >= self.indicated_min:
            return "indicated"
        return "selective" if probability >= self.selective_min else "universal"


@dataclass
class ScoringModel:
    """A loaded artifact that scores and explains young people.

    ``registry`` holds the declarations of the model's registry features as
    they were saved with it (a flat table's columns have none), not as today's
    code declares them. ``sha256`` is the artifact's digest (the SHA-256 of its
    manifest), empty for a model that has not been saved.
    """

    kind: str
    feature_names: list[str]
    categorical_levels: dict[str, list[str]]
    calibrator: Calibrator
    tiers: Tiers
    reference: np.ndarray
    golden: dict[str, Any]
    metadata: dict[str, Any]
    model: Any
    registry: dict[str, Feature]
    sha256: str = ""
    population: Population | None = None  # None in artifacts built before it was stored

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Columns in training order and dtypes (categories with the training levels)."""
        import pandas as pd

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

    @property
    def scores_rows(self) -> bool:
        """True for a glass box of numeric features: it scores one row of floats from its tables alone.

        Such a model needs neither pandas nor LightGBM to load, check and serve
        (see :meth:`LookupModel.row_contributions`).
        """
        return self.kind == "glassbox" and not self.categorical_levels and self.model.all_numeric

    def check_golden(self, tolerance: float = 1e-9) -> None:
        """Raise PreviError unless the model reproduces the probabilities recorded at training."""
        expected = np.asarray(self.golden["probability"], dtype=float)
        if self.scores_rows:  # the golden rows as a float matrix: no DataFrame, no pandas
            columns = [self.golden["inputs"][name] for name in self.feature_names]
            matrix = np.array(
                [[np.nan if value is None else value for value in column] for column in columns], dtype=float
            ).T.reshape(len(expected), len(self.feature_names))
            got = self.calibrator.probability(self.model.raw_score(matrix))
        else:
            import pandas as pd

            inputs = pd.DataFrame(self.golden["inputs"])
            for name, levels in self.categorical_levels.items():
                inputs[name] = pd.Categorical(inputs[name], categories=levels)
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
    declarations: Mapping[str, Feature] | None = None,
    population: Population | None = None,
) -> str:
    """Write the artifact folder and return its digest, the SHA-256 of ``manifest.json``.

    ``model`` is a :class:`LookupModel` (``kind="glassbox"``), a LightGBM
    ``Booster`` (``"lightgbm"``), or a fitted scikit-learn logistic pipeline or
    :class:`LinearModel` (``"logistic"``; a pipeline is written down as a
    ``LinearModel``, and must score the golden rows as it does). ``declarations``
    maps feature names to their registry declarations (default: previ's
    feature registry as it stands, for the features it declares); those of
    ``feature_names`` are frozen into the artifact. ``out_dir`` must be empty
    or hold only the files this call writes.

    Raises :class:`PreviError` for an unknown ``kind``, a logistic pipeline
    that cannot be written as plain numbers, or stray files in ``out_dir``.
    """
    if kind not in MODEL_FILES:
        raise PreviError(UNKNOWN_KIND.format(path=out_dir, kind=kind, kinds=", ".join(MODEL_FILES)))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {SCORING_FILE, MANIFEST_FILE, *MODEL_FILES[kind]}
    stray = sorted(path.name for path in out_dir.iterdir() if path.name not in written)
    if stray:
        raise PreviError(STRAY_FILES.format(folder=out_dir, names=", ".join(stray)))
    declared = FEATURES_BY_NAME if declarations is None else declarations
    registry = {name: declared[name] for name in feature_names if name in declared}
    pipeline = model if kind == "logistic" and not isinstance(model, LinearModel) else None
    model_payload: dict[str, Any] | None = None
    if kind == "glassbox":
        model_payload = model.to_dict()
        model = LookupModel.from_dict(model_payload)
    elif kind == "logistic":
        model = LinearModel.from_pipeline(pipeline) if pipeline is not None else model
        model_payload = model.to_dict()
    partial = ScoringModel(
        kind,
        feature_names,
        categorical_levels,
        calibrator,
        tiers,
        np.array([]),
        {},
        metadata,
        model,
        registry,
    )
    if pipeline is not None:  # the stored numbers must score as the evaluated pipeline did
        worst = np.max(
            np.abs(partial.raw_score(golden_inputs) - pipeline.decision_function(golden_inputs)), initial=0.0
        )
        if worst > 1e-9:
            raise PreviError(EXPORT_DIFFERS.format(worst=worst))
    golden_probability = partial.probability(golden_inputs)
    golden_records = golden_inputs.astype(object).where(golden_inputs.notna(), None)
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "feature_names": feature_names,
        "categorical_levels": categorical_levels,
        "declarations": {name: _declaration_dict(feature) for name, feature in registry.items()},
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
    (out_dir / SCORING_FILE).write_bytes(text.encode("utf-8"))
    if kind == "lightgbm":
        booster = getattr(model, "booster_", model)
        (out_dir / BOOSTER_FILE).write_bytes(booster.model_to_string().encode("utf-8"))
    return write_manifest(out_dir)


def write_manifest(folder: Path) -> str:
    """Record the SHA-256 of every file in ``folder`` in its manifest; return the manifest's SHA-256.

    :func:`save_artifact` calls it last. Call it yourself only to re-seal a
    folder you have deliberately edited (a test's tampered copy, say).
    """
    folder = Path(folder)
    files = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.name != MANIFEST_FILE
    }
    text = json.dumps({"format_version": FORMAT_VERSION, "sha256": files}, indent=2, sort_keys=True) + "\n"
    data = text.encode("utf-8")
    (folder / MANIFEST_FILE).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load_artifact(folder: Path, *, expected_sha256: str | None = None) -> ScoringModel:
    """Load an artifact folder after checking every file, then check its golden predictions.

    ``expected_sha256`` is the digest the registry recorded (see
    :func:`save_artifact`); without it the files are still checked against the
    manifest. Raises :class:`PreviError`, naming the file, when the manifest is
    missing or not the one recorded, when a listed file is missing or changed,
    when the folder holds a file the manifest does not list, or when the
    golden predictions are not reproduced. No file is parsed before it is checked.
    """
    folder = Path(folder)
    sha256, contents = _verified_files(folder, expected_sha256)
    path = folder / SCORING_FILE
    payload = json.loads(contents[SCORING_FILE].decode("utf-8"))
    if payload.get("format_version") != FORMAT_VERSION:
        raise PreviError(
            WRONG_FORMAT.format(path=path, received=payload.get("format_version"), expected=FORMAT_VERSION)
        )
    kind = payload["kind"]
    if kind not in MODEL_FILES:
        raise PreviError(UNKNOWN_KIND.format(path=path, kind=kind, kinds=", ".join(MODEL_FILES)))
    expected_files = sorted({SCORING_FILE, *MODEL_FILES[kind]})
    if sorted(contents) != expected_files:
        raise PreviError(
            WRONG_FILES.format(
                kind=kind,
                expected=", ".join(expected_files),
                manifest=MANIFEST_FILE,
                listed=", ".join(sorted(contents)),
            )
        )
    if kind == "glassbox":
        model: Any = LookupModel.from_dict(payload["model"])
    elif kind == "lightgbm":
        import lightgbm as lgb

        model = lgb.Booster(model_str=contents[BOOSTER_FILE].decode("utf-8"))
    else:
        model = LinearModel.from_dict(payload["model"])
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
        registry={name: _declaration(name, saved, path) for name, saved in payload["declarations"].items()},
        sha256=sha256,
        population=Population.from_dict(payload["population"]) if payload.get("population") else None,
    )
    scoring.check_golden()
    return scoring


def _verified_files(folder: Path, expected_sha256: str | None) -> tuple[str, dict[str, bytes]]:
    """The manifest's SHA-256 and every other file of ``folder``, each read once and checked."""
    if not folder.is_dir():
        raise PreviError(NO_FOLDER.format(folder=folder))
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise PreviError(NO_MANIFEST.format(folder=folder, manifest=MANIFEST_FILE))
    manifest_bytes = manifest_path.read_bytes()
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise PreviError(
            WRONG_DIGEST.format(path=manifest_path, digest=digest[:12], expected=expected_sha256[:12])
        )
    listed = _listed_files(manifest_path, manifest_bytes)
    present = {path.name for path in folder.iterdir()} - {MANIFEST_FILE}
    missing = sorted(set(listed) - present)
    if missing:
        raise PreviError(
            MISSING_FILES.format(folder=folder, names=", ".join(missing), manifest=MANIFEST_FILE)
        )
    extra = sorted(present - set(listed))
    if extra:
        raise PreviError(EXTRA_FILES.format(folder=folder, names=", ".join(extra), manifest=MANIFEST_FILE))
    contents = {}
    for name in sorted(listed):
        path = folder / name
        if not path.is_file():
            raise PreviError(NOT_A_FILE.format(path=path, manifest=MANIFEST_FILE))
        data = path.read_bytes()
        found = hashlib.sha256(data).hexdigest()
        if found != listed[name]:
            raise PreviError(
                CHANGED_FILE.format(
                    path=path, digest=found[:12], manifest=MANIFEST_FILE, expected=listed[name][:12]
                )
            )
        contents[name] = data
    return digest, contents


def _listed_files(path: Path, manifest: bytes) -> dict[str, str]:
    try:
        parsed = json.loads(manifest.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PreviError(BAD_MANIFEST.format(path=path, problem=f"not JSON: {error}")) from error
    if not isinstance(parsed, dict) or parsed.get("format_version") != FORMAT_VERSION:
        raise PreviError(BAD_MANIFEST.format(path=path, problem=f"format {FORMAT_VERSION} expected"))
    files = parsed.get("sha256")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) and len(digest) == 64
        for name, digest in files.items()
    ):
        raise PreviError(
            BAD_MANIFEST.format(path=path, problem="'sha256' must map file names to SHA-256 digests")
        )
    return files


def _declaration_dict(feature: Feature) -> dict[str, Any]:
    """A declaration as JSON: tuples as lists, plural sentences as {"one": ..., "other": ...}."""
    values = {field.name: getattr(feature, field.name) for field in fields(feature)}
    return {name: _plain(value) for name, value in values.items()}


PLURAL_KEY = "plural"


def _restored(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict) and set(value) == {PLURAL_KEY}:
        return Plural(**value[PLURAL_KEY])
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Plural):
        return {PLURAL_KEY: {"one": value.one, "other": value.other}}
    return value


# An artifact saved before the catalogs held both languages' texts per feature; its English texts are the
# message ids the catalogs translate today.
_BILINGUAL_FIELDS = {
    "description_en": "description_text",
    "reason_en": "reason_text",
    "missing_en": "missing_text",
}


def _declaration(name: str, saved: dict[str, Any], path: Path) -> Feature:
    """A :class:`Feature` rebuilt from the artifact's copy of its declaration (lists back to tuples)."""
    if "description_en" in saved:
        saved = {
            _BILINGUAL_FIELDS.get(key, key): value
            for key, value in saved.items()
            if key not in ("description_es", "reason_es", "missing_es")
        }
    values: dict[str, Any] = {key: _restored(value) for key, value in saved.items()}
    try:
        feature = Feature(**values)
    except TypeError as error:
        raise PreviError(BAD_DECLARATION.format(path=path, name=name, problem=error)) from error
    if feature.name != name:
        raise PreviError(
            BAD_DECLARATION.format(path=path, name=name, problem=f"it is named {feature.name!r}")
        )
    return feature
