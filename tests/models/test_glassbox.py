"""The glass box: one feature per tree, monotone, and lookup tables that are exactly LightGBM."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models._trees import ZERO_THRESHOLD, internal_nodes
from models.glassbox import LookupModel, compile_glassbox, fit_glassbox, glassbox_params
from previ.errors import PreviError
from tests.models.factories import (
    DISTRICTS,
    FEATURES,
    MONOTONE,
    glassbox,
    split,
    unconstrained_booster,
    youth_table,
)

SPECIAL = (np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 5e-324, -5e-324)
ZERO_BAND = (
    ZERO_THRESHOLD,
    -ZERO_THRESHOLD,
    float(np.nextafter(ZERO_THRESHOLD, np.inf)),
    float(np.nextafter(-ZERO_THRESHOLD, -np.inf)),
    1e-35,
    -1e-35,
)
CODES = (
    np.nan,
    -1.0,
    -0.5,
    0.0,
    0.99,
    3.0,
    3.5,
    4.0,
    7.0,
    2.0**31,
    2.0**31 - 1,
    1e10,
    -1e10,
    np.inf,
    -np.inf,
)


def feature_values(edges: np.ndarray) -> st.SearchStrategy[float]:
    """Values a split can tell apart: thresholds, their neighbours, midpoints, extremes, NaN."""
    near = [*edges, *np.nextafter(edges, np.inf), *np.nextafter(edges, -np.inf)]
    between = list((edges[1:] + edges[:-1]) / 2) if edges.size > 1 else [0.5]
    return st.one_of(
        st.sampled_from([float(value) for value in near] or [1.0]),
        st.sampled_from([float(value) for value in between]),
        st.sampled_from(SPECIAL + ZERO_BAND),
        st.floats(allow_nan=True, allow_infinity=True),
    )


def rows_for(model: LookupModel) -> st.SearchStrategy[np.ndarray]:
    """Matrices in model column order, categorical columns as (sometimes odd) level codes."""
    columns = [
        feature_values(edges)
        if kind == "numeric"
        else st.one_of(st.sampled_from(CODES), st.floats(-3, 10), st.integers(-2, 6).map(float))
        for kind, edges in zip(model.kinds, model.edges, strict=True)
    ]
    return st.lists(st.tuples(*columns), min_size=1, max_size=25).map(
        lambda rows: np.array(rows, dtype=float)
    )


def test_every_tree_splits_on_one_feature() -> None:
    booster, _ = glassbox()
    trees = booster.dump_model()["tree_info"]
    used = [{node["split_feature"] for node in internal_nodes(tree["tree_structure"])} for tree in trees]
    assert len(trees) > 20
    assert all(len(features) == 1 for features in used)
    assert set().union(*used) == set(range(len(FEATURES)))


@pytest.mark.parametrize("zero_as_missing", [False, True])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_lookup_tables_reproduce_lightgbm_raw_score_and_treeshap(
    zero_as_missing: bool, data: st.DataObject
) -> None:
    booster, model = glassbox(zero_as_missing)
    rows = data.draw(rows_for(model))
    base, contributions = model.contributions(rows)
    expected = booster.predict(rows, pred_contrib=True)
    np.testing.assert_allclose(
        model.raw_score(rows), booster.predict(rows, raw_score=True), rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(contributions, expected[:, :-1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(base, expected[:, -1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(base + contributions.sum(axis=1), model.raw_score(rows), rtol=0, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(st.sampled_from([*DISTRICTS, "nunca visto", None]), min_size=1, max_size=20),
    data=st.data(),
)
def test_level_names_in_a_dataframe_score_as_lightgbm_scores_them(
    levels: list[str | None], data: st.DataObject
) -> None:
    booster, model = glassbox()
    frame = pd.DataFrame(data.draw(rows_for(model)), columns=list(FEATURES)).iloc[:1]
    frame = frame.loc[frame.index.repeat(len(levels))].reset_index(drop=True)
    categories = [*DISTRICTS, "nunca visto"]
    frame["district"] = pd.Categorical(levels, categories=categories[::-1])  # another order on purpose
    as_text = frame.assign(district=frame["district"].astype(object))
    expected = booster.predict(frame, raw_score=True)
    np.testing.assert_allclose(model.raw_score(frame), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.raw_score(as_text), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.raw_score(as_text.to_numpy()), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("feature", [name for name, direction in MONOTONE.items() if direction])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_monotone_feature_never_moves_the_score_against_its_direction(
    feature: str, data: st.DataObject
) -> None:
    booster, model = glassbox()
    column = FEATURES.index(feature)
    row = data.draw(rows_for(model))[:1]
    values = data.draw(
        st.lists(
            st.one_of(feature_values(model.edges[column]), st.floats(allow_nan=False)).filter(
                lambda value: not np.isnan(value)
            ),
            min_size=2,
            max_size=30,
        )
    )
    rows = np.repeat(row, len(values), axis=0)
    rows[:, column] = np.sort(values)
    steps = np.diff(booster.predict(rows, raw_score=True)) * MONOTONE[feature]
    assert (steps >= 0).all()
    assert (np.diff(model.raw_score(rows)) * MONOTONE[feature] >= -1e-12).all()


def test_shape_functions_follow_the_registry_directions() -> None:
    _, model = glassbox()
    shapes = model.shape_functions()
    for feature, direction in MONOTONE.items():
        steps = np.diff(shapes[feature].contributions) * direction
        assert (steps >= -1e-12).all(), feature
    assert shapes["district"].kind == "categorical"
    assert shapes["district"].levels == DISTRICTS
    assert shapes["district"].contributions.shape == (len(DISTRICTS),)
    assert shapes["age"].edges.size + 1 == shapes["age"].contributions.size


def test_a_missing_value_in_a_feature_never_missing_in_training_scores_as_zero() -> None:
    booster, model = glassbox()
    column = FEATURES.index("fights_365d")
    rows = np.zeros((2, len(FEATURES)))
    rows[0, column] = np.nan
    np.testing.assert_allclose(model.raw_score(rows)[0], model.raw_score(rows)[1], rtol=0, atol=0)
    np.testing.assert_allclose(
        model.raw_score(rows), booster.predict(rows, raw_score=True), rtol=0, atol=1e-9
    )


def test_lookup_model_survives_json_exactly() -> None:
    for zero_as_missing in (False, True):
        _, model = glassbox(zero_as_missing)
        restored = LookupModel.from_dict(json.loads(json.dumps(model.to_dict(), allow_nan=False)))
        assert restored.feature_names == model.feature_names
        assert restored.kinds == model.kinds
        assert restored.levels == model.levels
        assert restored.base == model.base
        for name in ("edges", "tables"):
            for mine, theirs in zip(getattr(model, name), getattr(restored, name), strict=True):
                np.testing.assert_array_equal(mine, theirs)
        np.testing.assert_array_equal(restored.missing, model.missing)
        np.testing.assert_array_equal(restored.other, model.other)
        frame, _ = youth_table(rows=500, seed=1)
        np.testing.assert_array_equal(restored.raw_score(frame), model.raw_score(frame))


def test_fitting_twice_with_the_same_seed_gives_the_same_model() -> None:
    train, y_train, valid, y_valid = split(*youth_table(rows=1500, seed=2))
    fits = [
        fit_glassbox(train, y_train, valid, y_valid, monotone=MONOTONE, seed=5, num_boost_round=60)
        for _ in range(2)
    ]
    assert fits[0].model_to_string() == fits[1].model_to_string()
    assert fits[0].num_trees() == fits[0].best_iteration


def test_compile_refuses_a_booster_whose_trees_mix_features() -> None:
    with pytest.raises(PreviError, match="not a glass box"):
        compile_glassbox(unconstrained_booster())


def test_compile_takes_the_scoring_names_and_levels_given() -> None:
    booster, model = glassbox()
    names = [name.upper() for name in FEATURES]
    renamed = compile_glassbox(booster, names, {"DISTRICT": list(DISTRICTS)})
    assert renamed.feature_names == tuple(names)
    assert renamed.levels == {"DISTRICT": DISTRICTS}
    frame, _ = youth_table(rows=300, seed=4)
    np.testing.assert_array_equal(renamed.raw_score(frame.set_axis(names, axis=1)), model.raw_score(frame))


def test_params_reject_a_direction_on_a_categorical_column_and_unknown_names() -> None:
    with pytest.raises(PreviError, match="'district' is a categorical column") as raised:
        glassbox_params(["age", "district"], {"age": 2, "district": 1}, seed=0, categorical=["district"])
    assert len(raised.value.lines) == 2
    assert "monotone['age'] is 2; expected -1, 0 or 1." in raised.value.lines
    with pytest.raises(PreviError, match="does not have: height"):
        glassbox_params(["age"], {"height": 1}, seed=0)


def test_params_fix_one_feature_per_tree_and_registry_directions() -> None:
    params = glassbox_params(["a", "b", "c"], {"a": 1, "c": -1}, seed=9, num_threads=2)
    assert params["interaction_constraints"] == [[0], [1], [2]]
    assert params["monotone_constraints"] == [1, 0, -1]
    assert params["deterministic"] is True
    assert (params["seed"], params["num_threads"], params["objective"]) == (9, 2, "binary")


def test_fit_rejects_text_columns_and_labels_that_are_not_binary() -> None:
    train, y_train, valid, y_valid = split(*youth_table(rows=400))
    with pytest.raises(PreviError, match="dtype"):
        fit_glassbox(train.assign(age=train["age"].astype(str)), y_train, valid, y_valid, monotone={})
    with pytest.raises(PreviError, match="y_valid must hold 0/1 labels"):
        fit_glassbox(train, y_train, valid, y_valid * 2, monotone={})
    with pytest.raises(PreviError, match="extra_params cannot set objective"):
        fit_glassbox(train, y_train, valid, y_valid, monotone={}, extra_params={"objective": "regression"})


def test_scoring_without_a_feature_column_names_it() -> None:
    _, model = glassbox()
    frame, _ = youth_table(rows=10)
    with pytest.raises(PreviError, match="lacks the model's feature columns: age"):
        model.raw_score(frame.drop(columns="age"))
    with pytest.raises(PreviError, match="has 5 columns; the model expects 6"):
        model.raw_score(np.zeros((3, 5)))


def test_a_booster_trained_without_categories_compiles_with_codes_only() -> None:
    frame, label = youth_table(rows=1200)
    numeric = frame.drop(columns="district")
    params = glassbox_params(list(numeric.columns), MONOTONE, seed=0)
    booster = lgb.train(params, lgb.Dataset(numeric, label), num_boost_round=30)
    model = compile_glassbox(booster)
    assert model.levels == {}
    np.testing.assert_allclose(
        model.raw_score(numeric), booster.predict(numeric, raw_score=True), rtol=0, atol=1e-9
    )


def test_a_flat_table_with_json_characters_in_its_column_names_trains_and_scores_by_those_names() -> None:
    frame, label = youth_table(rows=1600)
    names = {
        "age": 'edat: "anys"',
        "fights_365d": "baralles [12m]",
        "grade_mean_last_term": "nota mitjana, últim",
    }
    flat = frame.rename(columns=names)
    train, y_train, valid, y_valid = split(flat, label)
    booster = fit_glassbox(train, y_train, valid, y_valid, monotone={}, num_boost_round=40)
    model = compile_glassbox(booster, list(flat.columns))
    assert model.feature_names == tuple(flat.columns)
    np.testing.assert_allclose(
        model.raw_score(flat), booster.predict(flat, raw_score=True), rtol=0, atol=1e-9
    )
