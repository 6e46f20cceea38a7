"""The glass box: boosted one-feature trees with monotone constraints, compiled to lookup tables.

:func:`fit_glassbox` trains LightGBM so that every tree splits on a single feature
(``interaction_constraints=[[0], [1], ...]``: once the root splits on a feature,
every node below may only use features that share a constraint set with it, i.e.
the same feature) and so that each feature moves the score only in the direction the
registry expects. The model is therefore additive, and :func:`compile_glassbox`
turns it into a :class:`LookupModel`: one step function per feature, whose values are
exactly LightGBM's TreeSHAP contributions. The service scores and explains with
the tables alone; LightGBM is imported only to train.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from models import _trees
from models._lookup import Kind, LookupModel, ShapeFunction
from previ.errors import PreviError

if TYPE_CHECKING:
    import lightgbm

__all__ = [
    "LookupModel",
    "ShapeFunction",
    "compile_glassbox",
    "fit_glassbox",
    "glassbox_params",
    "lightgbm_names",
]

MonotoneMethod = Literal["basic", "intermediate", "advanced"]

UNKNOWN_MONOTONE = "monotone names features the data does not have: {names}."
BAD_DIRECTION = "monotone[{name!r}] is {value!r}; expected -1, 0 or 1."
CATEGORICAL_MONOTONE = (
    "monotone[{name!r}] is {value}, but {name!r} is a categorical column: its levels have no order. "
    "Set its direction to 0, or give the column as numbers."
)
COLUMNS_DIFFER = (
    "train and valid must have the same columns in the same order; train has {train}, valid has {valid}."
)
BAD_DTYPE = "Column {name!r} has dtype {dtype}; the glass box takes numeric or pandas 'category' columns."
BAD_LABELS = "{which} must hold 0/1 labels for each row of the features; got {detail}."
RESERVED_PARAMS = (
    "extra_params cannot set {names}: the glass box fixes them (one feature per tree, monotone, binary)."
)
WRONG_NAMES = "feature_names has {received} names; the booster has {expected} features."
NOT_BINARY = "compile_glassbox needs a binary-objective booster; this one has {classes} classes."
NOT_ADDITIVE = (
    "This booster is not a glass box: tree {tree} splits on several features ({features}). "
    "Train it with fit_glassbox, or explain it with models.explain.explain (TreeSHAP) instead."
)
STUMP_LEAVES = "A glass box of stumps has trees of 2 leaves; got num_leaves={leaves}."
_RESERVED = frozenset({"objective", "interaction_constraints", "monotone_constraints", "linear_tree"})


def glassbox_params(
    feature_names: Sequence[str],
    monotone: Mapping[str, int],
    *,
    seed: int,
    categorical: Sequence[str] = (),
    num_leaves: int = 8,
    learning_rate: float = 0.05,
    min_child_samples: int = 50,
    lambda_l2: float = 1.0,
    max_bin: int = 255,
    num_threads: int = 1,
    monotone_method: MonotoneMethod = "intermediate",
    stumps: bool = False,
) -> dict[str, Any]:
    """LightGBM parameters for a glass box over ``feature_names`` (in column order).

    ``monotone`` maps a feature to +1 (a higher value may only raise the score), -1
    (only lower it) or 0; absent features get 0, and a categorical feature must be 0.
    ``monotone_method="intermediate"`` is the default because with one feature per
    tree it grew exactly the same trees as ``"advanced"`` on our synthetic data in
    half the time, while ``"basic"`` (mid-point bounds) constrains more than needed.
    ``deterministic`` with ``force_row_wise`` and a fixed ``seed`` make a run
    repeatable; ``num_threads=1`` by default so that it is also repeatable across
    machines and so that grid runs can be spread over processes.

    ``stumps=True`` keeps every tree to one feature by its shape rather than by
    ``interaction_constraints``: trees of depth 1 (one split, two leaves;
    ``num_leaves`` must be 2). LightGBM's distributed (data-parallel) learner
    fails with interaction constraints (``std::bad_array_new_length``, LightGBM
    issue #5680, open), so the Dask engine trains stumps; the model is additive
    all the same and compiles to the same lookup tables.
    """
    names = list(feature_names)
    unknown = sorted(set(monotone) - set(names))
    if unknown:
        raise PreviError(UNKNOWN_MONOTONE.format(names=", ".join(unknown)))
    problems = [
        BAD_DIRECTION.format(name=name, value=value)
        for name, value in monotone.items()
        if value not in (-1, 0, 1)
    ]
    problems += [
        CATEGORICAL_MONOTONE.format(name=name, value=monotone[name])
        for name in categorical
        if monotone.get(name, 0) != 0
    ]
    if stumps and num_leaves != 2:
        problems.append(STUMP_LEAVES.format(leaves=num_leaves))
    if problems:
        raise PreviError(*problems)
    one_feature_per_tree: dict[str, Any] = (
        {"max_depth": 1} if stumps else {"interaction_constraints": [[index] for index in range(len(names))]}
    )
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        **one_feature_per_tree,
        "monotone_constraints": [int(monotone.get(name, 0)) for name in names],
        "monotone_constraints_method": monotone_method,
        "num_leaves": num_leaves,
        "learning_rate": learning_rate,
        "min_data_in_leaf": min_child_samples,
        "lambda_l2": lambda_l2,
        "max_bin": max_bin,
        "num_threads": num_threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


def fit_glassbox(
    train: pd.DataFrame,
    y_train: np.ndarray | pd.Series,
    valid: pd.DataFrame,
    y_valid: np.ndarray | pd.Series,
    *,
    monotone: Mapping[str, int],
    seed: int = 0,
    num_leaves: int = 8,
    learning_rate: float = 0.05,
    min_child_samples: int = 50,
    lambda_l2: float = 1.0,
    max_bin: int = 255,
    num_threads: int = 1,
    monotone_method: MonotoneMethod = "intermediate",
    extra_params: Mapping[str, Any] | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int | None = 50,
) -> lightgbm.Booster:
    """Train a glass box, stopping when the validation log-loss has not improved for a while.

    ``early_stopping_rounds=None`` trains exactly ``num_boost_round`` trees (a
    refit with a tuned number of trees); ``valid`` is then only monitored.

    ``train`` and ``valid`` hold numeric and pandas ``category`` columns (categories
    become LightGBM categoricals, whose direction must be 0). The returned booster
    keeps only the trees up to the best iteration, so ``predict``, ``dump_model``
    and :func:`compile_glassbox` all read the same model; ``best_iteration`` and
    ``best_score`` are kept on it. LightGBM refuses JSON characters in feature
    names, so the booster knows columns by :func:`lightgbm_names`; pass the
    original names to :func:`compile_glassbox`. Raises :class:`PreviError` for
    unusable inputs.
    """
    import lightgbm as lgb

    _check_frames(train, valid)
    _check_labels("y_train", y_train, len(train))
    _check_labels("y_valid", y_valid, len(valid))
    reserved = sorted(_RESERVED & set(extra_params or {}))
    if reserved:
        raise PreviError(RESERVED_PARAMS.format(names=", ".join(reserved)))
    categorical = [str(name) for name, kind in train.dtypes.items() if isinstance(kind, pd.CategoricalDtype)]
    params = glassbox_params(
        list(train.columns),
        monotone,
        seed=seed,
        categorical=categorical,
        num_leaves=num_leaves,
        learning_rate=learning_rate,
        min_child_samples=min_child_samples,
        lambda_l2=lambda_l2,
        max_bin=max_bin,
        num_threads=num_threads,
        monotone_method=monotone_method,
    )
    params.update(extra_params or {})
    names = lightgbm_names(list(train.columns))
    train_set = lgb.Dataset(train, label=np.asarray(y_train, dtype=np.float64), feature_name=names)
    valid_set = lgb.Dataset(valid, label=np.asarray(y_valid, dtype=np.float64), reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=num_boost_round,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False)]
        if early_stopping_rounds is not None
        else [],
    )
    stopped = early_stopping_rounds is not None and booster.best_iteration > 0
    best = booster.best_iteration if stopped else booster.current_iteration()
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    kept.best_iteration = best
    kept.best_score = booster.best_score
    return kept


def compile_glassbox(
    booster: lightgbm.Booster,
    feature_names: Sequence[str] | None = None,
    categorical_levels: Mapping[str, Sequence[str]] | None = None,
) -> LookupModel:
    """The glass box as per-feature lookup tables, read from ``booster.dump_model()``.

    ``feature_names`` are the names to score by (default: the booster's, which
    LightGBM may have altered, e.g. spaces made underscores). ``categorical_levels``
    maps a categorical feature to its levels in code order (default: the pandas
    categories LightGBM stored at training). Each tree is centred at its
    cover-weighted expected value, so the tables are the trees' TreeSHAP values
    (``pred_contrib``) and ``base`` is the sum of the expected values plus any
    tree without a split. Raises :class:`PreviError` if a tree uses two features.
    """
    dumped = booster.dump_model()
    model_names = list(dumped["feature_names"])
    names = tuple(feature_names) if feature_names is not None else tuple(model_names)
    if len(names) != len(model_names):
        raise PreviError(WRONG_NAMES.format(received=len(names), expected=len(model_names)))
    if dumped["num_tree_per_iteration"] != 1:
        raise PreviError(NOT_BINARY.format(classes=dumped["num_class"]))
    base, grouped, mixed = _trees.group_trees(dumped)
    if mixed:
        tree, features = mixed[0]
        used = ", ".join(names[index] for index in features)
        raise PreviError(NOT_ADDITIVE.format(tree=tree, features=used))
    levels = _levels(booster, dumped, names, categorical_levels)
    kinds: list[Kind] = []
    tables: list[tuple[np.ndarray, np.ndarray, float, float]] = []
    for index, name in enumerate(names):
        trees = grouped.get(index, _trees.FeatureTrees(index, (), ()))
        kinds.append("categorical" if name in levels or trees.categorical else "numeric")
        tables.append(_table(trees, kinds[-1], len(levels.get(name, ()))))
    return LookupModel(
        feature_names=names,
        kinds=tuple(kinds),
        base=float(base),
        edges=tuple(table[0] for table in tables),
        tables=tuple(table[1] for table in tables),
        other=np.array([table[2] for table in tables], dtype=np.float64),
        missing=np.array([table[3] for table in tables], dtype=np.float64),
        levels={name: tuple(values) for name, values in levels.items()},
    )


def _table(
    trees: _trees.FeatureTrees, kind: Kind, n_levels: int
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(edges, contributions, other, missing) of one feature, each bin read at one value inside it.

    Numeric bins are ``(edges[i-1], edges[i]]``, read at their upper edge (the last,
    above every edge, at +inf); categorical codes are read at 0..K-1, unseen levels
    at K; a missing value at NaN.
    """
    if kind == "numeric":
        edges = _trees.numeric_edges(trees)
        values = _trees.centred_values(trees, np.concatenate([edges, [np.inf, np.nan]]))
        return edges, values[:-1], 0.0, float(values[-1])
    codes = max(_trees.category_codes(trees), n_levels)
    values = _trees.centred_values(trees, np.concatenate([np.arange(codes + 1, dtype=np.float64), [np.nan]]))
    return np.empty(0), values[:-2], float(values[-2]), float(values[-1])


def lightgbm_names(columns: Sequence[object]) -> list[str]:
    """Column names LightGBM accepts: JSON characters and spaces made ``_``, repeats numbered."""
    names: list[str] = []
    for column in columns:
        name = re.sub(r'[\s"\\,:\[\]{}]', "_", str(column))
        while name in names:
            name = f"{name}_{len(names)}"
        names.append(name)
    return names


def _levels(
    booster: lightgbm.Booster,
    dumped: dict[str, Any],
    names: tuple[str, ...],
    given: Mapping[str, Sequence[str]] | None,
) -> dict[str, list[str]]:
    if given is not None:
        return {name: [str(level) for level in levels] for name, levels in given.items() if name in names}
    infos = dumped.get("feature_infos", {})
    categorical = [
        name
        for name, model_name in zip(names, dumped["feature_names"], strict=True)
        if isinstance(infos.get(model_name), dict) and infos[model_name].get("values")
    ]
    stored = getattr(booster, "pandas_categorical", None) or []
    return {name: [str(level) for level in levels] for name, levels in zip(categorical, stored, strict=False)}


def _check_frames(train: pd.DataFrame, valid: pd.DataFrame) -> None:
    if list(train.columns) != list(valid.columns):
        raise PreviError(COLUMNS_DIFFER.format(train=list(train.columns), valid=list(valid.columns)))
    problems = [
        BAD_DTYPE.format(name=name, dtype=dtype)
        for name, dtype in train.dtypes.items()
        if not (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(dtype))
    ]
    if problems:
        raise PreviError(*problems)


def _check_labels(which: str, labels: np.ndarray | pd.Series, rows: int) -> None:
    values = np.asarray(labels)
    if values.shape != (rows,):
        raise PreviError(BAD_LABELS.format(which=which, detail=f"shape {values.shape} for {rows} rows"))
    if not np.isin(values, (0, 1)).all():
        raise PreviError(BAD_LABELS.format(which=which, detail=f"values {pd.unique(values)[:5].tolist()}"))
