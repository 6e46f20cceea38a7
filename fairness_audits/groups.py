"""Groups of the audit: each group column, their intersections and the whole table.

Every way of splitting the table (a *partition*) is a union of *cells*: the
full intersection of all group columns. Resampling within cells therefore
keeps the size of every group, in every partition, fixed across resamples, and
one set of resamples serves all partitions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from previ.errors import PreviError

IntArray = npt.NDArray[np.intp]

OVERALL = "overall"
MISSING_VALUE = "missing"
"""Group value given to blank entries of a group column: kept as a group of its own, never dropped."""
SEPARATOR = "*"
"""Joins column names, and values, of an intersection: ``race*sex`` = ``Caucasian*Female``."""

REFERENCE_UNKNOWN_COLUMN = (
    "reference: '{column}' is not a group column or intersection (choose from {available})"
)
REFERENCE_UNKNOWN_VALUE = "reference: {value!r} is not a value of '{column}' (values: {available})"


@dataclass(frozen=True)
class Partition:
    """One way of splitting the table into groups.

    Attributes
    ----------
    column : str
        The group column, an intersection such as ``race*sex``, or ``overall``.
    values : tuple of str
        The group values, in the order of the group indices.
    cell_group : ndarray of shape (n_cells,)
        Index into ``values`` of the group each cell belongs to.
    sizes : ndarray of shape (n_groups,)
        Rows per group.
    """

    column: str
    values: tuple[str, ...]
    cell_group: IntArray
    sizes: IntArray


def build_partitions(
    group_labels: Mapping[str, pd.Series],
) -> tuple[IntArray, list[Partition]]:
    """Cells of the table and every partition to audit.

    Parameters
    ----------
    group_labels : mapping of column name to Series of str
        The group value of each row, as text, one entry per group column.

    Returns
    -------
    row_cell : ndarray of shape (n_rows,)
        The cell of each row.
    partitions : list of Partition
        ``overall`` first, then each column, each pair of columns, and the full
        intersection when there are three columns or more.
    """
    columns = list(group_labels)
    vocabularies = [tuple(sorted(set(group_labels[column]))) for column in columns]
    codes = [
        pd.Categorical(group_labels[column], categories=list(vocabulary)).codes.astype(np.intp)
        for column, vocabulary in zip(columns, vocabularies, strict=True)
    ]
    dims = tuple(len(vocabulary) for vocabulary in vocabularies)
    cell_keys, row_cell = np.unique(np.ravel_multi_index(codes, dims), return_inverse=True)
    cell_codes = np.unravel_index(cell_keys, dims)
    n_cells = len(cell_keys)
    partitions = [Partition(OVERALL, (OVERALL,), np.zeros(n_cells, dtype=np.intp), np.array([len(row_cell)]))]
    combinations: list[tuple[int, ...]] = [(index,) for index in range(len(columns))]
    combinations += list(itertools.combinations(range(len(columns)), 2)) if len(columns) > 1 else []
    if len(columns) > 2:
        combinations.append(tuple(range(len(columns))))
    cell_sizes = np.bincount(row_cell, minlength=n_cells)
    for combination in combinations:
        keys = np.ravel_multi_index([cell_codes[i] for i in combination], [dims[i] for i in combination])
        present, cell_group = np.unique(keys, return_inverse=True)
        present_codes = np.unravel_index(present, [dims[i] for i in combination])
        values = tuple(
            SEPARATOR.join(
                vocabularies[i][int(code[g])] for i, code in zip(combination, present_codes, strict=True)
            )
            for g in range(len(present))
        )
        partitions.append(
            Partition(
                column=SEPARATOR.join(columns[i] for i in combination),
                values=values,
                cell_group=cell_group.astype(np.intp),
                sizes=np.bincount(cell_group, weights=cell_sizes, minlength=len(present)).astype(np.intp),
            )
        )
    return row_cell.astype(np.intp), partitions


def group_labels_of(series: pd.Series) -> pd.Series:
    """The group value of each row as text; blanks become :data:`MISSING_VALUE`.

    Whole-number floats (a column of integers that pandas read as float
    because of blanks) are written without the ``.0``.
    """
    if pd.api.types.is_float_dtype(series.dtype):
        present = series.dropna()
        if len(present) and bool(np.all(np.mod(present.to_numpy(), 1) == 0)):
            series = series.astype("Int64")
    labels = series.astype("string").str.strip()
    return labels.fillna(MISSING_VALUE).replace("", MISSING_VALUE).astype(object)


def resolve_references(partitions: Sequence[Partition], requested: Mapping[str, str]) -> dict[str, str]:
    """The requested reference groups, checked; columns not named compare with the whole population.

    The largest group is not a neutral reference: with it, a report flags the
    group that is served *better*. Raises :class:`PreviError` for an unknown
    column or value, one line each.
    """
    by_column = {partition.column: partition for partition in partitions if partition.column != OVERALL}
    problems = []
    for column, value in requested.items():
        if column not in by_column:
            problems.append(REFERENCE_UNKNOWN_COLUMN.format(column=column, available=", ".join(by_column)))
        elif value not in by_column[column].values:
            available = ", ".join(repr(v) for v in by_column[column].values[:10])
            problems.append(REFERENCE_UNKNOWN_VALUE.format(value=value, column=column, available=available))
    if problems:
        raise PreviError(*problems)
    return dict(requested)
