"""The compiled glass box: one lookup table per feature, no LightGBM needed to score.

A glass box is a sum of one-feature trees, so its logit is ``base + sum_j f_j(x_j)``
and each ``f_j`` is a step function. :class:`LookupModel` stores those step
functions as arrays and evaluates them with one ``np.searchsorted`` per feature.
It is built by :func:`models.glassbox.compile_glassbox`; the service loads it
with :meth:`LookupModel.from_dict` from the stored JSON and scores one person
with :meth:`LookupModel.row_contributions`, a binary search per feature over
plain lists. pandas is imported only to read DataFrames or level names, so a
serving process that scores arrays and single rows never loads it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from previ.errors import PreviError
from previ.frames import is_frame

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["numeric", "categorical"]
FloatArray = np.ndarray

FORMAT_VERSION = 1
MISSING_COLUMNS = "The data to score lacks the model's feature columns: {columns}."
WRONG_WIDTH = "The array to score has {received} columns; the model expects {expected} ({names})."
WRONG_FORMAT = "This lookup model was stored in format {received}; previ reads format {expected}. Retrain it."
CATEGORICAL_ROW = (
    "row_contributions scores numeric features only; score categorical rows with contributions()."
)


@dataclass(frozen=True)
class ShapeFunction:
    """One feature's contribution to the logit, ready to plot.

    Numeric: ``contributions[i]`` applies to ``edges[i-1] < x <= edges[i]`` (the first
    bin is open below, the last, ``x > edges[-1]``, open above), so there is one more
    contribution than edges. Categorical: ``edges`` is empty and ``contributions[k]``
    applies to level ``levels[k]``; ``other`` applies to levels the model never saw.
    ``missing`` applies to a missing value.
    """

    feature: str
    kind: Kind
    edges: FloatArray
    contributions: FloatArray
    missing: float
    other: float
    levels: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class LookupModel:
    """An additive model as per-feature lookup tables (contributions in logit units).

    Per feature ``j``: ``edges[j]`` are the sorted split thresholds (empty for a
    categorical feature); ``tables[j]`` holds the contribution of each bin (numeric:
    ``len(edges) + 1`` bins, LightGBM's ``x <= threshold`` goes left) or of each level
    code 0..K-1 (categorical); ``missing[j]`` the contribution of a missing value and
    ``other[j]`` that of a categorical code outside 0..K-1 (an unseen level). Every
    contribution is centred at its trees' cover-weighted mean, so contributions are
    the model's TreeSHAP values and ``base`` is the mean logit over the training data.
    """

    feature_names: tuple[str, ...]
    kinds: tuple[Kind, ...]
    base: float
    edges: tuple[FloatArray, ...]
    tables: tuple[FloatArray, ...]
    missing: FloatArray
    other: FloatArray
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _search: tuple[FloatArray, ...] = field(init=False, repr=False)
    _lookup: tuple[FloatArray, ...] = field(init=False, repr=False)
    _row_search: tuple[list[float], ...] = field(init=False, repr=False)
    _row_lookup: tuple[list[float], ...] = field(init=False, repr=False)
    all_numeric: bool = field(init=False, repr=False)
    """True when no feature is categorical: :meth:`row_contributions` can score every row."""

    def __post_init__(self) -> None:
        # A +inf sentinel puts finite values and +inf in bins 0..m and NaN (which
        # numpy sorts last) at m + 1, so one searchsorted also finds missing values.
        search = tuple(np.append(edges, np.inf) for edges in self.edges)
        parts = zip(self.tables, self.kinds, self.missing, self.other, strict=True)
        lookup = tuple(
            np.concatenate([table, [other, missing]] if kind == "categorical" else [table, [missing]])
            for table, kind, missing, other in parts
        )
        object.__setattr__(self, "_search", search)
        object.__setattr__(self, "_lookup", lookup)
        # The same tables as Python lists, for one row at a time: bisect on a list of floats costs a
        # fraction of a numpy call, and compares exactly as np.searchsorted does.
        object.__setattr__(self, "_row_search", tuple(edges.tolist() for edges in search))
        object.__setattr__(self, "_row_lookup", tuple(table.tolist() for table in lookup))
        object.__setattr__(self, "all_numeric", all(kind == "numeric" for kind in self.kinds))

    def row_contributions(self, row: Sequence[float]) -> list[float]:
        """One row's contributions (logit units), features in model order; NaN is a missing value.

        The one-person path of the service: exactly :meth:`contributions` for a
        row of floats (``bisect_left`` over the edges and the +inf sentinel is
        ``np.searchsorted(side="left")``; NaN, which numpy sorts last, takes the
        missing value's position). Numeric features only (see :attr:`all_numeric`).
        """
        if not self.all_numeric:
            raise PreviError(CATEGORICAL_ROW)
        if len(row) != len(self.kinds):
            raise PreviError(
                WRONG_WIDTH.format(
                    received=len(row), expected=len(self.kinds), names=", ".join(self.feature_names)
                )
            )
        return [
            table[len(search) if value != value else bisect_left(search, value)]
            for value, search, table in zip(row, self._row_search, self._row_lookup, strict=True)
        ]

    def raw_score(self, X: pd.DataFrame | np.ndarray) -> FloatArray:
        """The logit per row: ``base`` plus the row's contributions."""
        base, contributions = self.contributions(X)
        return base + contributions.sum(axis=1)

    def contributions(self, X: pd.DataFrame | np.ndarray) -> tuple[float, FloatArray]:
        """``(base, contributions)`` with contributions of shape (rows, features), logit units.

        ``X`` is a DataFrame holding the feature columns (any order, extra columns
        ignored) or an array with exactly the features in model order; categorical
        columns hold level names (mapped through ``levels``, unknown ones count as
        missing, as LightGBM does for a DataFrame) or integer level codes.
        """
        positions = self.positions(X)
        contributions = np.empty(positions.shape, dtype=np.float64)
        for j in range(len(self.kinds)):
            np.take(self._lookup[j], positions[:, j], out=contributions[:, j])
        return self.base, contributions

    def positions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Where each value falls in its feature's :meth:`position_table`, shape (rows, features).

        Numeric: bins 0..m, then missing; categorical: codes 0..K-1, then other, then missing.
        """
        matrix = self.as_matrix(X)
        positions = np.empty(matrix.shape, dtype=np.intp)
        for j, kind in enumerate(self.kinds):
            column = matrix[:, j]
            if kind == "numeric":
                positions[:, j] = np.searchsorted(self._search[j], column, side="left")
            else:
                positions[:, j] = _code_index(column, self.tables[j].size)
        return positions

    def position_table(self, feature: int) -> FloatArray:
        """Feature ``feature``'s contribution at each position (the bins or levels, then missing)."""
        return self._lookup[feature].copy()

    def as_matrix(self, X: pd.DataFrame | np.ndarray) -> FloatArray:
        """The float matrix the tables read: features in model order, levels as codes."""
        if is_frame(X):
            absent = [name for name in self.feature_names if name not in X.columns]
            if absent:
                raise PreviError(MISSING_COLUMNS.format(columns=", ".join(absent)))
            columns = [self._column(name, X[name]) for name in self.feature_names]
            return np.column_stack(columns) if columns else np.empty((len(X), 0))
        array = np.asarray(X)
        if array.ndim != 2 or array.shape[1] != len(self.feature_names):
            raise PreviError(
                WRONG_WIDTH.format(
                    received=array.shape[-1] if array.ndim else 0,
                    expected=len(self.feature_names),
                    names=", ".join(self.feature_names),
                )
            )
        if array.dtype != object:
            return np.ascontiguousarray(array, dtype=np.float64)
        import pandas as pd

        columns = [self._column(name, pd.Series(array[:, j])) for j, name in enumerate(self.feature_names)]
        return np.column_stack(columns)

    def shape_functions(self) -> dict[str, ShapeFunction]:
        """Each feature's step function (edges, contributions) for the model card."""
        return {
            name: ShapeFunction(
                feature=name,
                kind=kind,
                edges=edges.copy(),
                contributions=table.copy(),
                missing=float(missing),
                other=float(other),
                levels=self.levels.get(name, ()),
            )
            for name, kind, edges, table, missing, other in zip(
                self.feature_names, self.kinds, self.edges, self.tables, self.missing, self.other, strict=True
            )
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (plain lists and floats) that :meth:`from_dict` reads back exactly."""
        return {
            "format": FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "kinds": list(self.kinds),
            "base": float(self.base),
            "edges": [edges.tolist() for edges in self.edges],
            "tables": [table.tolist() for table in self.tables],
            "missing": self.missing.tolist(),
            "other": self.other.tolist(),
            "levels": {name: list(levels) for name, levels in self.levels.items()},
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> LookupModel:
        if stored.get("format") != FORMAT_VERSION:
            raise PreviError(WRONG_FORMAT.format(received=stored.get("format"), expected=FORMAT_VERSION))
        return cls(
            feature_names=tuple(stored["feature_names"]),
            kinds=tuple(stored["kinds"]),
            base=float(stored["base"]),
            edges=tuple(np.asarray(edges, dtype=np.float64) for edges in stored["edges"]),
            tables=tuple(np.asarray(table, dtype=np.float64) for table in stored["tables"]),
            missing=np.asarray(stored["missing"], dtype=np.float64),
            other=np.asarray(stored["other"], dtype=np.float64),
            levels={name: tuple(levels) for name, levels in stored["levels"].items()},
        )

    def _column(self, name: str, column: pd.Series) -> FloatArray:
        import pandas as pd

        if name in self.levels and not pd.api.types.is_numeric_dtype(column.dtype):
            return level_codes(column, self.levels[name])
        return column.to_numpy(dtype=np.float64, na_value=np.nan)


def level_codes(column: pd.Series, levels: tuple[str, ...]) -> FloatArray:
    """Level names to codes (their position in ``levels``); unknown or missing: NaN.

    Numbers in an object column are taken as codes already.
    """
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        positions = pd.Index(levels).get_indexer(column.cat.categories.astype(str))
        codes = column.cat.codes.to_numpy()
        mapped = np.where(codes >= 0, positions[codes], -1).astype(np.float64)
    else:
        values = column.to_numpy(dtype=object)
        present = ~pd.isna(values)
        is_text = np.zeros(values.shape, dtype=bool)
        is_text[present] = values[present] == values[present].astype(str)  # a number never equals its text
        mapped = np.full(values.shape, np.nan)
        mapped[is_text] = pd.Index(levels).get_indexer(pd.Index(values[is_text]))
        mapped[~is_text] = pd.to_numeric(pd.Series(values[~is_text]), errors="coerce").to_numpy(dtype=float)
        mapped[is_text & (mapped < 0)] = np.nan
        return mapped
    mapped[mapped < 0] = np.nan
    return mapped


def _code_index(column: FloatArray, n_codes: int) -> np.ndarray:
    """Table positions for categorical codes, as LightGBM casts them (truncation toward zero).

    Codes 0..n_codes-1 index the table; other codes (negative, unseen, too large)
    go to ``n_codes`` (``other``), NaN to ``n_codes + 1`` (``missing``).
    """
    with np.errstate(invalid="ignore"):
        codes = np.trunc(column)
        known = (codes >= 0) & (codes < n_codes)
    index = np.where(known, codes, n_codes).astype(np.intp)
    index[np.isnan(column)] = n_codes + 1
    return index
