"""The scoring artifact is whole: every file checked against its manifest, no pickle, declarations frozen."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

import models.artifact
from features.registry import FEATURES_BY_NAME
from models._linear import LinearModel, explain_linear
from models.artifact import (
    BOOSTER_FILE,
    MANIFEST_FILE,
    SCORING_FILE,
    ScoringModel,
    Tiers,
    load_artifact,
    save_artifact,
    write_manifest,
)
from models.calibration import Calibrator
from models.explain import explain
from previ.errors import PreviError
from tests.models.factories import (
    DISTRICTS,
    FEATURES,
    NUMERIC,
    glassbox,
    logistic_pipeline,
    split,
    unconstrained_booster,
    youth_table,
)

KINDS = ("glassbox", "lightgbm", "logistic")
CALIBRATOR = Calibrator("platt", slope=0.9, intercept=0.1)


def fitted_model(kind: str) -> Any:
    if kind == "glassbox":
        return glassbox()[1]
    if kind == "lightgbm":
        return unconstrained_booster()
    return logistic_pipeline()


def scoring_rows(rows: int = 300) -> pd.DataFrame:
    frame, _ = youth_table(rows=rows, seed=23)
    return frame


def save(folder: Path, kind: str, **overrides: Any) -> str:
    """An artifact of ``kind`` trained on the small youth table; returns its digest."""
    golden = scoring_rows(20)
    arguments: dict[str, Any] = {
        "kind": kind,
        "model": fitted_model(kind),
        "feature_names": list(FEATURES),
        "categorical_levels": {"district": list(DISTRICTS)},
        "calibrator": CALIBRATOR,
        "tiers": Tiers(indicated_min=0.6, selective_min=0.3),
        "reference_probability": np.linspace(0.01, 0.9, 200),
        "golden_inputs": golden,
        "metadata": {"champion_candidate": kind},
    }
    return save_artifact(folder, **(arguments | overrides))


def raw_score(kind: str, frame: pd.DataFrame) -> np.ndarray:
    """The in-memory model's logit, before any artifact is written."""
    model = fitted_model(kind)
    if kind == "glassbox":
        return np.asarray(model.raw_score(frame))
    if kind == "lightgbm":
        return np.asarray(model.predict(frame, raw_score=True))
    return np.asarray(model.decision_function(frame))


@pytest.fixture(params=KINDS)
def artifact(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, str]:
    folder = tmp_path / "scoring_model"
    return request.param, folder, save(folder, request.param)


def test_each_kind_loads_against_its_digest_and_scores_as_the_fitted_model(
    artifact: tuple[str, Path, str],
) -> None:
    kind, folder, digest = artifact
    loaded = load_artifact(folder, expected_sha256=digest)
    rows = scoring_rows()
    assert loaded.kind == kind and loaded.sha256 == digest
    np.testing.assert_allclose(loaded.raw_score(rows), raw_score(kind, rows), rtol=0, atol=1e-12)
    explanation = loaded.explain(rows)
    np.testing.assert_allclose(explanation.logit, loaded.raw_score(rows), rtol=0, atol=1e-6)
    assert explanation.feature_names == FEATURES


def test_the_digest_is_the_manifests_sha256_and_the_manifest_pins_every_file(
    artifact: tuple[str, Path, str],
) -> None:
    kind, folder, digest = artifact
    manifest = (folder / MANIFEST_FILE).read_bytes()
    assert digest == hashlib.sha256(manifest).hexdigest()
    listed = json.loads(manifest)["sha256"]
    expected = {SCORING_FILE, BOOSTER_FILE} if kind == "lightgbm" else {SCORING_FILE}
    assert set(listed) == expected == {path.name for path in folder.iterdir()} - {MANIFEST_FILE}
    for name, sha in listed.items():
        assert sha == hashlib.sha256((folder / name).read_bytes()).hexdigest()


@pytest.mark.parametrize("name", [SCORING_FILE, BOOSTER_FILE])
def test_a_changed_file_is_refused_before_it_is_parsed(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "scoring_model"
    digest = save(folder, "lightgbm")
    (folder / name).write_text("{not what was saved", encoding="utf-8")  # would not even parse
    for expected in (digest, None):
        with pytest.raises(PreviError, match=rf"{name} has SHA-256 \w+\.\.\., its manifest.json recorded"):
            load_artifact(folder, expected_sha256=expected)


def test_an_edit_that_keeps_the_file_valid_is_refused_too(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    save(folder, "glassbox")
    path = folder / SCORING_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["tiers"]["indicated_min"] = 0.99
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(PreviError, match=f"{SCORING_FILE} has SHA-256"):
        load_artifact(folder)


def test_a_manifest_other_than_the_recorded_one_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    save(folder, "lightgbm")
    (folder / BOOSTER_FILE).write_text("tree\n", encoding="utf-8")
    resealed = write_manifest(folder)  # consistent with the files, but not what the registry recorded
    with pytest.raises(
        PreviError, match=f"{MANIFEST_FILE} has SHA-256 {resealed[:12]}..., the registry recorded"
    ):
        load_artifact(folder, expected_sha256="0" * 64)


@pytest.mark.parametrize("extra", ["model.joblib", ".hidden", "notes"])
def test_a_file_the_manifest_does_not_list_is_refused(artifact: tuple[str, Path, str], extra: str) -> None:
    _, folder, digest = artifact
    if extra == "notes":
        (folder / extra).mkdir()
    else:
        (folder / extra).write_bytes(pickle.dumps({"anything": 1}))
    with pytest.raises(PreviError, match=f"holds {extra}, not listed in its manifest.json"):
        load_artifact(folder, expected_sha256=digest)


def test_a_listed_file_that_is_missing_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    digest = save(folder, "lightgbm")
    (folder / BOOSTER_FILE).unlink()
    with pytest.raises(PreviError, match=f"lacks {BOOSTER_FILE}, listed in its manifest.json"):
        load_artifact(folder, expected_sha256=digest)


def test_an_artifact_without_a_manifest_is_refused(artifact: tuple[str, Path, str]) -> None:
    _, folder, _ = artifact
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(PreviError, match=re.escape("has no manifest.json, so its files cannot be checked")):
        load_artifact(folder)


def test_a_manifest_that_leaves_out_the_model_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    save(folder, "lightgbm")
    (folder / BOOSTER_FILE).unlink()
    write_manifest(folder)
    with pytest.raises(PreviError, match=re.escape("a lightgbm artifact holds model.txt, scoring.json")):
        load_artifact(folder)


def test_golden_predictions_are_still_checked_when_the_manifest_is_resealed(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    save(folder, "glassbox")
    path = folder / SCORING_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["golden"]["probability"][0] += 0.01
    path.write_text(json.dumps(payload), encoding="utf-8")
    digest = write_manifest(folder)
    with pytest.raises(PreviError, match=re.escape("golden predictions differ by 0.01")):
        load_artifact(folder, expected_sha256=digest)


def test_the_logistic_artifact_loads_without_unpickling_and_reproduces_its_golden_predictions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scoring_model"
    digest = save(folder, "logistic")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the artifact was unpickled")

    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)
    loaded = load_artifact(folder, expected_sha256=digest)  # load_artifact checks the golden rows itself
    assert isinstance(loaded.model, LinearModel)
    assert sorted(path.name for path in folder.iterdir()) == [MANIFEST_FILE, SCORING_FILE]
    golden = pd.DataFrame(loaded.golden["inputs"])
    expected = CALIBRATOR.probability(logistic_pipeline().decision_function(scoring_rows(20)))
    np.testing.assert_allclose(loaded.golden["probability"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.probability(golden), expected, rtol=0, atol=1e-12)


def test_linear_model_reproduces_the_sklearn_pipeline_to_rounding() -> None:
    pipeline = logistic_pipeline()
    stored = LinearModel.from_pipeline(pipeline).to_dict()
    model = LinearModel.from_dict(json.loads(json.dumps(stored, allow_nan=False)))
    rows = scoring_rows(2000)
    rows.loc[:40, list(NUMERIC)] = np.nan  # every numeric feature missing, indicators or not
    rows["district"] = rows["district"].cat.add_categories(["isla"])
    rows.loc[41:60, "district"] = "isla"  # a level the model never saw
    rows.loc[61:80, "district"] = np.nan
    np.testing.assert_allclose(model.transform(rows), pipeline[:-1].transform(rows), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        model.decision_function(rows), pipeline.decision_function(rows), rtol=0, atol=1e-12
    )


def test_linear_model_is_explained_as_the_pipeline_is() -> None:
    pipeline = logistic_pipeline()
    model = LinearModel.from_pipeline(pipeline)
    train, _, _, _ = split(*youth_table())
    rows = scoring_rows()
    for background in (None, train):
        expected = explain(pipeline, rows, background=background)
        base, contributions, names = explain_linear(model, rows, background)
        assert names == expected.feature_names
        assert base == pytest.approx(expected.base_value, abs=1e-12)
        np.testing.assert_allclose(contributions, expected.contributions, rtol=0, atol=1e-12)


def test_a_pipeline_that_cannot_be_written_down_is_refused_naming_the_step(tmp_path: Path) -> None:
    frame, label = youth_table(rows=300)
    X = frame[list(NUMERIC)].fillna(0)
    interactions = make_pipeline(StandardScaler(), PolynomialFeatures(2), LogisticRegression()).fit(X, label)
    with pytest.raises(PreviError, match="Cannot store PolynomialFeatures as plain numbers"):
        LinearModel.from_pipeline(interactions)
    with pytest.raises(PreviError, match="Cannot store PolynomialFeatures"):
        save(tmp_path / "scoring_model", "logistic", model=interactions, feature_names=list(NUMERIC))
    assert not (tmp_path / "scoring_model" / MANIFEST_FILE).exists()


def test_a_malformed_stored_linear_model_is_refused() -> None:
    stored = LinearModel.from_pipeline(logistic_pipeline()).to_dict()
    stored["columns"][0]["scale"] = 0.0
    with pytest.raises(PreviError, match="stored logistic model is malformed"):
        LinearModel.from_dict(stored)
    with pytest.raises(PreviError, match="format 0, previ reads 1"):
        LinearModel.from_dict(stored | {"format": 0})


def test_declarations_come_from_the_artifact_not_from_todays_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scoring_model"
    saved = {
        name: replace(
            FEATURES_BY_NAME[name], reason_text=f"As saved: {name} {{value}}", referral_tags=("tutoring",)
        )
        for name in NUMERIC
    }
    save(folder, "glassbox", declarations=saved)
    changed = {
        name: replace(feature, reason_text="Changed since") for name, feature in FEATURES_BY_NAME.items()
    }
    monkeypatch.setattr(models.artifact, "FEATURES_BY_NAME", changed)
    monkeypatch.setattr("features.registry.FEATURES_BY_NAME", changed)
    loaded = load_artifact(folder)
    assert loaded.registry == saved
    assert loaded.registry["age"].reason(15.0, "en") == "As saved: age 15"
    assert "district" not in loaded.registry  # not a registry feature


def test_by_default_the_registrys_declarations_at_saving_are_frozen(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    save(folder, "lightgbm")
    stored = json.loads((folder / SCORING_FILE).read_text(encoding="utf-8"))["declarations"]
    assert sorted(stored) == sorted(NUMERIC)
    assert stored["age"]["description_text"] == FEATURES_BY_NAME["age"].description_text
    assert load_artifact(folder).registry == {name: FEATURES_BY_NAME[name] for name in NUMERIC}


def test_a_declaration_this_code_cannot_read_is_refused_naming_the_feature(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    save(folder, "glassbox")
    path = folder / SCORING_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["declarations"]["age"]["colour"] = "blue"
    path.write_text(json.dumps(payload), encoding="utf-8")
    write_manifest(folder)
    with pytest.raises(PreviError, match="declares feature age in a form this previ does not read"):
        load_artifact(folder)


def test_declarations_saved_with_both_languages_load_with_their_english_as_the_message(
    tmp_path: Path,
) -> None:
    # an artifact written before the catalogs: reason_es/reason_en, description_es/description_en
    folder = tmp_path / "scoring_model"
    save(folder, "glassbox")
    path = folder / SCORING_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    age = payload["declarations"]["age"]
    age.pop("description_text"), age.pop("reason_text"), age.pop("missing_text")
    age |= {
        "description_es": "Edad en años cumplidos",
        "description_en": "Age in whole years",
        "reason_es": {"plural": {"one": "{value} año de edad", "other": "{value} años de edad"}},
        "reason_en": {"plural": {"one": "{value} year old", "other": "{value} years old"}},
        "missing_es": None,
        "missing_en": None,
    }
    path.write_text(json.dumps(payload), encoding="utf-8")
    write_manifest(folder)
    loaded = load_artifact(folder).registry["age"]
    assert loaded == FEATURES_BY_NAME["age"]
    assert loaded.reason(1.0, "es") == "1 año de edad" and loaded.reason(15.0, "en") == "15 years old"


def test_saving_into_a_folder_with_other_files_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(b"old")
    with pytest.raises(
        PreviError, match=re.escape("already holds model.joblib; write the artifact into an empty folder")
    ):
        save(folder, "glassbox")


def test_saving_again_over_an_artifact_of_the_same_kind_reseals_it(tmp_path: Path) -> None:
    folder = tmp_path / "scoring_model"
    first = save(folder, "lightgbm")
    second = save(folder, "lightgbm", calibrator=Calibrator("platt", slope=1.1, intercept=0.0))
    assert first != second
    assert isinstance(load_artifact(folder, expected_sha256=second), ScoringModel)


@given(
    probability=st.floats(0.0, 1.0),
    cut_offs=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted),
)
def test_the_tier_of_one_probability_is_the_tier_the_batch_gives(
    probability: float, cut_offs: list[float]
) -> None:
    """The one-person path's scalar tier agrees with the batch's, at the cut-offs themselves too."""
    selective, indicated = cut_offs
    tiers = Tiers(indicated_min=indicated, selective_min=selective)
    for value in (probability, selective, indicated):
        assert tiers.tier_of(value) == tiers.tier(np.array([value]))[0]
