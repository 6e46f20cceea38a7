"""Contributions of a logistic-regression pipeline, summed back onto the original features.

The pipeline's transformers turn p features into m model columns (scaled values,
missing-value indicators, one-hot levels). Each model column comes from exactly
one original feature; :func:`column_sources` finds which by walking the fitted
steps, so that an indicator's term adds into the feature it flags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from previ.errors import PreviError

NOT_BINARY = "The logistic model has {classes} classes; previ explains binary models only."
UNSUPPORTED_STEP = (
    "Cannot tell which feature each output column of {step} comes from, so its terms cannot be "
    "attributed. Use per-feature steps (imputers, missing indicators, scalers, one-hot encoders, "
    "ColumnTransformer) before LogisticRegression."
)


def explain_linear(
    model: Any, X: pd.DataFrame | np.ndarray, background: pd.DataFrame | np.ndarray | None
) -> tuple[float, np.ndarray, tuple[str, ...]]:
    """``(base, contributions (rows, features), feature names)`` for a fitted logistic model.

    A term is ``coef_k * (z_k - mean_k)`` with ``z`` the transformed row and ``mean``
    the transformed background's column means: shap's ``LinearExplainer``
    convention, so with the training data as background the terms are its SHAP
    values. Without a background the reference is the all-zero model input: for
    standardised columns that is their training mean (the same terms as with the
    training background), for one-hot levels and unscaled indicators it is "level
    absent" / "not missing", which shap would centre at the level's frequency.
    Either way ``base = intercept + coef . mean`` and base plus terms is the logit.
    """
    steps = list(model.steps) if hasattr(model, "steps") else [("model", model)]
    logistic = steps[-1][1]
    if logistic.coef_.shape[0] != 1:
        raise PreviError(NOT_BINARY.format(classes=len(logistic.classes_)))
    transforms = [step for _, step in steps[:-1] if step is not None and step != "passthrough"]
    n_inputs = int(transforms[0].n_features_in_ if transforms else logistic.n_features_in_)
    names = _input_names(transforms[0] if transforms else logistic, X, n_inputs)
    sources = np.arange(n_inputs)
    for step in transforms:
        sources = sources[column_sources(step, sources.size)]
    coef = logistic.coef_[0]
    transformed = _transform(transforms, X)
    means = np.zeros(coef.size) if background is None else _transform(transforms, background).mean(axis=0)
    terms = coef * (transformed - means)
    contributions = np.zeros((transformed.shape[0], n_inputs))
    for column, source in enumerate(sources):
        contributions[:, source] += terms[:, column]
    return float(logistic.intercept_[0] + coef @ means), contributions, names


def column_sources(step: Any, n_inputs: int) -> np.ndarray:
    """For each output column of a fitted transformer, the index of the input column it comes from."""
    if step is None or step == "passthrough":
        return np.arange(n_inputs)
    if step == "drop":
        return np.empty(0, dtype=np.intp)
    kind = type(step).__name__
    if hasattr(step, "steps"):  # a Pipeline
        sources = np.arange(n_inputs)
        for _, inner in step.steps:
            sources = sources[column_sources(inner, sources.size)]
        return sources
    if kind == "ColumnTransformer":
        return _column_transformer_sources(step)
    if kind == "SimpleImputer":
        kept = np.arange(n_inputs)
        if not getattr(step, "keep_empty_features", False):
            kept = kept[~pd.isna(step.statistics_)]
        indicator = step.indicator_.features_ if step.add_indicator else np.empty(0, dtype=np.intp)
        return np.concatenate([kept, indicator]).astype(np.intp)
    if kind == "MissingIndicator":
        return np.asarray(step.features_, dtype=np.intp)
    if kind == "OneHotEncoder":
        return np.repeat(np.arange(n_inputs), step._n_features_outs)
    try:
        width = len(step.get_feature_names_out())
    except (AttributeError, ValueError, TypeError) as error:
        raise PreviError(UNSUPPORTED_STEP.format(step=kind)) from error
    if width != n_inputs:
        raise PreviError(UNSUPPORTED_STEP.format(step=kind))
    return np.arange(n_inputs)  # a one-to-one transformer (scalers, power transforms...)


def _column_transformer_sources(transformer: Any) -> np.ndarray:
    width = max((piece.stop for piece in transformer.output_indices_.values()), default=0)
    sources = np.full(width, -1, dtype=np.intp)
    for name, step, _ in transformer.transformers_:
        inputs = np.asarray(transformer._transformer_to_input_indices[name], dtype=np.intp)
        piece = transformer.output_indices_[name]
        if piece.stop > piece.start:
            sources[piece] = inputs[column_sources(step, inputs.size)]
    return sources


def _transform(transforms: list[Any], X: pd.DataFrame | np.ndarray) -> np.ndarray:
    data: Any = X
    for step in transforms:
        data = step.transform(data)
    if hasattr(data, "toarray"):
        data = data.toarray()
    return np.asarray(data, dtype=np.float64)


def _input_names(first: Any, X: pd.DataFrame | np.ndarray, n_inputs: int) -> tuple[str, ...]:
    if hasattr(first, "feature_names_in_"):
        return tuple(str(name) for name in first.feature_names_in_)
    if isinstance(X, pd.DataFrame):
        return tuple(str(name) for name in X.columns)
    return tuple(f"x{index}" for index in range(n_inputs))
