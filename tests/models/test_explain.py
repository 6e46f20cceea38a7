"""Explanations: base plus contributions is the logit, and they are the SHAP values shap computes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

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
from tests.models.test_glassbox import rows_for


def scoring_rows(rows: int = 600) -> pd.DataFrame:
    frame, _ = youth_table(rows=rows, seed=11)
    return frame


def tree_shap(booster: object, X: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # shap's note about its LightGBM output format
        values = np.asarray(explainer.shap_values(X))
    return float(np.ravel(explainer.expected_value)[0]), values


def test_glassbox_explanation_is_treeshap_and_adds_up_to_the_logit() -> None:
    booster, model = glassbox()
    rows = scoring_rows()
    explanation = explain(model, rows)
    expected_value, shap_values = tree_shap(booster, rows)
    np.testing.assert_allclose(explanation.contributions, shap_values, rtol=0, atol=1e-6)
    assert explanation.base_value == pytest.approx(expected_value, abs=1e-6)
    np.testing.assert_allclose(explanation.logit, booster.predict(rows, raw_score=True), rtol=0, atol=1e-6)
    assert explanation.feature_names == FEATURES
    pd.testing.assert_frame_equal(explanation.values, rows[list(FEATURES)])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_glassbox_agrees_with_shap_on_drawn_rows(data: st.DataObject) -> None:
    booster, model = glassbox()
    rows = data.draw(rows_for(model))
    expected_value, shap_values = tree_shap(booster, rows)
    explanation = explain(model, rows)
    np.testing.assert_allclose(explanation.contributions, shap_values, rtol=0, atol=1e-6)
    assert explanation.base_value == pytest.approx(expected_value, abs=1e-6)


def test_unconstrained_booster_explanation_is_treeshap_and_adds_up() -> None:
    booster = unconstrained_booster()
    rows = scoring_rows()
    explanation = explain(booster, rows)
    expected_value, shap_values = tree_shap(booster, rows)
    np.testing.assert_allclose(explanation.contributions, shap_values, rtol=0, atol=1e-6)
    assert explanation.base_value == pytest.approx(expected_value, abs=1e-6)
    np.testing.assert_allclose(explanation.logit, booster.predict(rows, raw_score=True), rtol=0, atol=1e-6)
    assert explanation.feature_names == FEATURES


def test_booster_explanation_of_no_rows_still_has_the_base() -> None:
    booster = unconstrained_booster()
    empty = explain(booster, scoring_rows().iloc[:0])
    assert empty.contributions.shape == (0, len(FEATURES))
    assert empty.base_value == pytest.approx(explain(booster, scoring_rows(5)).base_value, abs=1e-9)


def _source_feature(column: str) -> str:
    """Which feature a column of the grid's logistic pipeline comes from, read from its name."""
    name = column.removeprefix("missingindicator_")
    return "district" if name.startswith("district_") else name


def test_logistic_explanation_with_training_background_is_shap_linear() -> None:
    pipeline = logistic_pipeline()
    train, _, _, _ = split(*youth_table())
    rows = scoring_rows()
    explanation = explain(pipeline, rows, background=train)

    prepare, logistic = pipeline[:-1], pipeline[-1]
    background = prepare.transform(train)
    explainer = shap.LinearExplainer(
        logistic, shap.maskers.Independent(background, max_samples=len(background))
    )
    per_column = np.asarray(explainer.shap_values(prepare.transform(rows)))
    sources = [_source_feature(column) for column in prepare.get_feature_names_out()]
    per_feature = np.column_stack(
        [per_column[:, [source == name for source in sources]].sum(axis=1) for name in FEATURES]
    )
    np.testing.assert_allclose(explanation.contributions, per_feature, rtol=0, atol=1e-6)
    assert explanation.base_value == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-6)
    np.testing.assert_allclose(explanation.logit, pipeline.decision_function(rows), rtol=0, atol=1e-6)


def test_logistic_explanation_without_background_centres_scaled_features_at_their_training_mean() -> None:
    pipeline = logistic_pipeline()
    train, _, _, _ = split(*youth_table())
    rows = scoring_rows()
    plain = explain(pipeline, rows)
    centred = explain(pipeline, rows, background=train)
    numeric = [FEATURES.index(name) for name in NUMERIC]
    np.testing.assert_allclose(plain.contributions[:, numeric], centred.contributions[:, numeric], atol=1e-6)
    np.testing.assert_allclose(plain.logit, pipeline.decision_function(rows), rtol=0, atol=1e-6)
    # one-hot levels are measured from "level absent": only the person's own level contributes
    district = plain.contributions[:, FEATURES.index("district")]
    coefficients = dict(zip(pipeline[:-1].get_feature_names_out(), pipeline[-1].coef_[0], strict=True))
    expected = rows["district"].astype(object).map(lambda level: coefficients[f"district_{level}"])
    np.testing.assert_allclose(district, expected.to_numpy(dtype=float), atol=1e-12)


def test_missing_indicator_terms_add_into_the_feature_they_flag() -> None:
    frame, label = youth_table(rows=1500)
    X = frame[list(NUMERIC)].to_numpy()
    pipeline = make_pipeline(SimpleImputer(add_indicator=True), StandardScaler(), LogisticRegression()).fit(
        X, label
    )
    explanation = explain(pipeline, X[:200])
    z = pipeline[:-1].transform(X[:200])
    terms = pipeline[-1].coef_[0] * z
    indicator_of = pipeline[0].indicator_.features_
    expected = terms[:, : len(NUMERIC)].copy()
    for offset, feature in enumerate(indicator_of):
        expected[:, feature] += terms[:, len(NUMERIC) + offset]
    np.testing.assert_allclose(explanation.contributions, expected, rtol=0, atol=1e-9)
    assert explanation.feature_names == ("x0", "x1", "x2", "x3", "x4")
    assert explanation.base_value == pytest.approx(pipeline[-1].intercept_[0])


def test_lookup_explanation_of_codes_shows_level_names() -> None:
    _, model = glassbox()
    rows = np.zeros((4, len(FEATURES)))
    rows[:, FEATURES.index("district")] = [0, 3, np.nan, 9]
    values = explain(model, rows).values["district"]
    assert values.tolist()[:2] == [DISTRICTS[0], DISTRICTS[3]]
    assert values.isna().tolist() == [False, False, True, True]


def test_explain_names_what_it_cannot_explain() -> None:
    with pytest.raises(PreviError, match="got str"):
        explain("a model", np.zeros((1, 2)))
    frame, label = youth_table(rows=300)
    X = frame[list(NUMERIC)].fillna(0).to_numpy()
    interactions = make_pipeline(StandardScaler(), PolynomialFeatures(2), LogisticRegression()).fit(X, label)
    with pytest.raises(
        PreviError, match="Cannot tell which feature each output column of PolynomialFeatures"
    ):
        explain(interactions, X)
