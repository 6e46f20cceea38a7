"""Logistic-regression pipelines: their contributions, and their arithmetic as plain numbers.

The pipeline's transformers turn p features into m model columns (scaled values,
missing-value indicators, one-hot levels). Each model column comes from exactly
one original feature; :func:`column_sources` finds which by walking the fitted
steps, so that an indicator's term adds into the feature it flags.

:class:`LinearModel` is what the scoring artifact stores instead of a pickle:
:meth:`LinearModel.from_pipeline` writes the fitted pipeline's arithmetic down
(fill values, indicator columns, one-hot levels, centres and scales,
coefficients, intercept) and :meth:`LinearModel.decision_function` redoes it
with numpy, matching scikit-learn's ``decision_function`` to rounding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from previ.errors import PreviError
from previ.frames import is_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LinearColumn", "LinearModel", "column_sources", "explain_linear"]

ColumnKind = Literal["value", "missing", "level"]

FORMAT_VERSION = 1
NOT_BINARY = "The logistic model has {classes} classes; previ explains binary models only."
UNSUPPORTED_STEP = (
    "Cannot tell which feature each output column of {step} comes from, so its terms cannot be "
    "attributed. Use per-feature steps (imputers, missing indicators, scalers, one-hot encoders, "
    "ColumnTransformer) before LogisticRegression."
)
NOT_EXPORTABLE = (
    "Cannot store {step} as plain numbers: the scoring artifact holds logistic pipelines made of "
    "SimpleImputer (missing values NaN, optionally with indicators), StandardScaler, OneHotEncoder "
    "(no dropped or infrequent levels, unknown levels ignored) and ColumnTransformer, before a binary "
    "LogisticRegression{why}."
)
MALFORMED = "model: the stored logistic model is malformed ({problem}); retrain it."


@dataclass(frozen=True)
class LinearColumn:
    """One model column: the feature it comes from, how it is made, and its coefficient.

    ``kind`` ``"value"``: the feature's value, a missing one replaced by ``fill``
    (None: no imputation); ``"missing"``: 1.0 when the value is missing, else 0.0;
    ``"level"``: 1.0 when the category is ``level`` (None: the missing level),
    else 0.0 (so an unknown level is 0 in every level column). The column then
    enters the logit as ``coef * (column - center) / scale``.
    """

    feature: str
    kind: ColumnKind
    coef: float = 0.0
    fill: float | None = None
    level: str | None = None
    center: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True, eq=False)
class LinearModel:
    """A fitted logistic pipeline as numbers: ``logit = intercept + sum(coef * (column - center) / scale)``.

    ``feature_names`` are the inputs in the pipeline's order; ``columns`` the
    model columns in the order of scikit-learn's transformed matrix, so that
    the arithmetic, and its rounding, are the pipeline's own.
    """

    feature_names: tuple[str, ...]
    columns: tuple[LinearColumn, ...]
    intercept: float

    @classmethod
    def from_pipeline(cls, model: Any) -> LinearModel:
        """Write down a fitted ``LogisticRegression`` (alone or ending a ``Pipeline``).

        Raises :class:`PreviError` naming the step that cannot be written as
        plain numbers (see ``NOT_EXPORTABLE``).
        """
        steps = list(model.steps) if hasattr(model, "steps") else [("model", model)]
        logistic = steps[-1][1]
        if type(logistic).__name__ != "LogisticRegression":
            raise PreviError(NOT_EXPORTABLE.format(step=type(logistic).__name__, why=""))
        if logistic.coef_.shape[0] != 1:
            raise PreviError(NOT_BINARY.format(classes=len(logistic.classes_)))
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            names = [f"x{index}" for index in range(int(model.n_features_in_))]
        columns = [LinearColumn(str(name), "value") for name in names]
        for _, step in steps[:-1]:
            columns = _export_step(step, columns)
        coef = logistic.coef_[0]
        if len(coef) != len(columns):
            raise PreviError(NOT_EXPORTABLE.format(step="this pipeline", why=" (its widths do not add up)"))
        return cls(
            feature_names=tuple(str(name) for name in names),
            columns=tuple(
                replace(column, coef=float(value)) for column, value in zip(columns, coef, strict=True)
            ),
            intercept=float(logistic.intercept_[0]),
        )

    @property
    def coef(self) -> np.ndarray:
        return np.array([column.coef for column in self.columns], dtype=np.float64)

    @property
    def sources(self) -> np.ndarray:
        """For each model column, the index of the feature it comes from."""
        index = {name: position for position, name in enumerate(self.feature_names)}
        return np.array([index[column.feature] for column in self.columns], dtype=np.intp)

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The model columns, centred and scaled: the pipeline's transformed matrix."""
        import pandas as pd

        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X), columns=self.feature_names)
        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing:
            raise PreviError(f"features: missing {', '.join(missing)}")
        raw = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for position, column in enumerate(self.columns):  # over model columns; each is vectorised over rows
            values = frame[column.feature]
            if column.kind == "level":
                labels = values.astype(object).to_numpy()
                raw[:, position] = pd.isna(labels) if column.level is None else labels == column.level
                continue
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            if column.kind == "missing":
                raw[:, position] = np.isnan(numbers)
            elif column.fill is None:
                raw[:, position] = numbers
            else:
                raw[:, position] = np.where(np.isnan(numbers), column.fill, numbers)
        center = np.array([column.center for column in self.columns], dtype=np.float64)
        scale = np.array([column.scale for column in self.columns], dtype=np.float64)
        raw -= center  # in place and in this order, as StandardScaler does
        raw /= scale
        return raw

    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The logit of each row."""
        return self.transform(X) @ self.coef + self.intercept

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_dict` reads back exactly (floats round-trip)."""
        return {
            "format": FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "intercept": self.intercept,
            "columns": [asdict(column) for column in self.columns],
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> LinearModel:
        """Read :meth:`to_dict`'s output; raise :class:`PreviError` when it is not one."""
        if not isinstance(stored, dict) or stored.get("format") != FORMAT_VERSION:
            found = stored.get("format") if isinstance(stored, dict) else type(stored).__name__
            raise PreviError(MALFORMED.format(problem=f"format {found}, previ reads {FORMAT_VERSION}"))
        try:
            names = tuple(str(name) for name in stored["feature_names"])
            columns = tuple(LinearColumn(**column) for column in stored["columns"])
            intercept = float(stored["intercept"])
        except (KeyError, TypeError, ValueError) as error:
            raise PreviError(MALFORMED.format(problem=repr(error))) from error
        for column in columns:
            if column.feature not in names or column.kind not in get_args(ColumnKind):
                raise PreviError(MALFORMED.format(problem=f"column {column}"))
            numbers = (column.coef, column.center, column.scale, 0.0 if column.fill is None else column.fill)
            if not all(isinstance(number, int | float) and math.isfinite(number) for number in numbers):
                raise PreviError(MALFORMED.format(problem=f"column {column}"))
            if column.scale == 0:
                raise PreviError(MALFORMED.format(problem=f"column {column} has scale 0"))
        if not math.isfinite(intercept):
            raise PreviError(MALFORMED.format(problem=f"intercept {intercept}"))
        return cls(feature_names=names, columns=columns, intercept=intercept)


def explain_linear(
    model: Any, X: pd.DataFrame | np.ndarray, background: pd.DataFrame | np.ndarray | None
) -> tuple[float, np.ndarray, tuple[str, ...]]:
    """``(base, contributions (rows, features), feature names)`` for a logistic model.

    ``model`` is a fitted scikit-learn logistic regression (alone or ending a
    pipeline) or a :class:`LinearModel`; both give the same terms. A term is
    ``coef_k * (z_k - mean_k)`` with ``z`` the transformed row and ``mean``
    the transformed background's column means: shap's ``LinearExplainer``
    convention, so with the training data as background the terms are its SHAP
    values. Without a background the reference is the all-zero model input: for
    standardised columns that is their training mean (the same terms as with the
    training background), for one-hot levels and unscaled indicators it is "level
    absent" / "not missing", which shap would centre at the level's frequency.
    Either way ``base = intercept + coef . mean`` and base plus terms is the logit.
    """
    if isinstance(model, LinearModel):
        transformed = model.transform(X)
        reference = None if background is None else model.transform(background)
        return _attribute(
            model.coef, model.intercept, transformed, reference, model.sources, model.feature_names
        )
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
    transformed = _transform(transforms, X)
    reference = None if background is None else _transform(transforms, background)
    return _attribute(
        logistic.coef_[0], float(logistic.intercept_[0]), transformed, reference, sources, names
    )


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
        import pandas as pd

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


def _attribute(
    coef: np.ndarray,
    intercept: float,
    transformed: np.ndarray,
    reference: np.ndarray | None,
    sources: np.ndarray,
    names: tuple[str, ...],
) -> tuple[float, np.ndarray, tuple[str, ...]]:
    means = np.zeros(coef.size) if reference is None else reference.mean(axis=0)
    terms = coef * (transformed - means)
    contributions = np.zeros((transformed.shape[0], len(names)))
    for column, source in enumerate(sources):
        contributions[:, source] += terms[:, column]
    return float(intercept + coef @ means), contributions, names


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
    if is_frame(X):
        return tuple(str(name) for name in X.columns)
    return tuple(f"x{index}" for index in range(n_inputs))


# --- writing a fitted pipeline down: each step maps the columns it receives to those it outputs ---


def _export_step(step: Any, columns: list[LinearColumn]) -> list[LinearColumn]:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return columns
    if isinstance(step, str) and step == "drop":
        return []
    kind = type(step).__name__
    if hasattr(step, "steps"):  # a Pipeline
        for _, inner in step.steps:
            columns = _export_step(inner, columns)
        return columns
    if int(getattr(step, "n_features_in_", len(columns))) != len(columns):
        raise PreviError(NOT_EXPORTABLE.format(step=kind, why=" (its input width does not add up)"))
    if kind == "ColumnTransformer":
        return _export_column_transformer(step, columns)
    if kind == "SimpleImputer":
        return _export_imputer(step, columns)
    if kind == "StandardScaler":
        return _export_scaler(step, columns)
    if kind == "OneHotEncoder":
        return _export_one_hot(step, columns)
    raise PreviError(NOT_EXPORTABLE.format(step=kind, why=""))


def _export_column_transformer(transformer: Any, columns: list[LinearColumn]) -> list[LinearColumn]:
    pieces = []
    for name, step, _ in transformer.transformers_:
        piece = transformer.output_indices_[name]
        if piece.stop == piece.start:  # no input columns (left unfitted) or dropped
            continue
        inputs = transformer._transformer_to_input_indices[name]
        exported = _export_step(step, [columns[index] for index in inputs])
        if len(exported) != piece.stop - piece.start:
            raise PreviError(
                NOT_EXPORTABLE.format(step=type(step).__name__, why=" (its output width differs)")
            )
        pieces.append((piece.start, exported))
    return [column for _, exported in sorted(pieces, key=lambda piece: piece[0]) for column in exported]


def _export_imputer(imputer: Any, columns: list[LinearColumn]) -> list[LinearColumn]:
    missing_values = imputer.missing_values
    if not (isinstance(missing_values, float) and math.isnan(missing_values)):
        raise PreviError(
            NOT_EXPORTABLE.format(
                step="SimpleImputer", why=f" (its missing_values is {missing_values!r}, not NaN)"
            )
        )
    _require_raw(columns, "SimpleImputer")
    statistics = np.asarray(imputer.statistics_, dtype=np.float64)
    keep_empty = bool(getattr(imputer, "keep_empty_features", False))
    imputed = [
        replace(column, fill=float(fill))
        for column, fill in zip(columns, statistics, strict=True)
        if keep_empty or not math.isnan(fill)
    ]
    if any(column.fill is not None and math.isnan(column.fill) for column in imputed):
        raise PreviError(NOT_EXPORTABLE.format(step="SimpleImputer", why=" (a fill value is NaN)"))
    flagged = imputer.indicator_.features_ if imputer.add_indicator else ()
    return imputed + [LinearColumn(columns[index].feature, "missing") for index in flagged]


def _export_scaler(scaler: Any, columns: list[LinearColumn]) -> list[LinearColumn]:
    if any(column.center != 0 or column.scale != 1 for column in columns):
        raise PreviError(NOT_EXPORTABLE.format(step="StandardScaler", why=" (one scaler per column)"))
    center = scaler.mean_ if scaler.with_mean else np.zeros(len(columns))
    scale = scaler.scale_ if scaler.with_std else np.ones(len(columns))
    return [
        replace(column, center=float(mean), scale=float(spread))
        for column, mean, spread in zip(columns, center, scale, strict=True)
    ]


def _export_one_hot(encoder: Any, columns: list[LinearColumn]) -> list[LinearColumn]:
    if (
        encoder.drop_idx_ is not None
        or getattr(encoder, "_infrequent_enabled", False)
        or encoder.handle_unknown not in ("ignore", "infrequent_if_exist")
    ):
        raise PreviError(NOT_EXPORTABLE.format(step="OneHotEncoder", why=""))
    _require_raw(columns, "OneHotEncoder")
    return [
        LinearColumn(column.feature, "level", level=None if _is_missing(level) else str(level))
        for column, levels in zip(columns, encoder.categories_, strict=True)
        for level in levels
    ]


def _require_raw(columns: list[LinearColumn], step: str) -> None:
    if any(
        column.kind != "value" or column.fill is not None or column.center != 0 or column.scale != 1
        for column in columns
    ):
        raise PreviError(NOT_EXPORTABLE.format(step=step, why=f" ({step} must see the features' raw values)"))


def _is_missing(level: Any) -> bool:
    return level is None or (isinstance(level, float) and math.isnan(level))
