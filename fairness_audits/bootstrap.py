"""Stratified bootstrap of group statistics, vectorised over resamples.

Rows are first compressed into *atoms*: distinct combinations of (cell, score,
label, selected). A resample is then a vector of counts, one per atom, and
every sufficient statistic of :mod:`fairness_audits.metrics` is a linear or
rank function of those counts:

* confusion counts and calibration sums per cell come from one sparse product
  (resamples x atoms) @ (atoms x cell statistics), then add up to the groups of
  each partition through a sparse cell-membership matrix;
* the ROC AUC numerator (Mann-Whitney U with ties counted half) comes from a
  cumulative sum of negative counts along the score order within each group,
  read at each positive atom's score level.

Resamples are drawn within cells (the full intersection of the group columns),
so every group of every partition keeps its size, each group's interval is
about that group, and disparities are paired: group and reference replicates
come from the same resample. Work is done in chunks of resamples so that memory
stays near ``_CHUNK_ELEMENTS`` numbers whatever the size of the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from fairness_audits.groups import Partition
from fairness_audits.metrics import (
    AUC_U,
    BASELINE_TP,
    CALIBRATION_ABS_GAP,
    CALIBRATION_GAP,
    ECE_BINS,
    FN,
    FP,
    N_STATISTICS,
    TN,
    TP,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class Atoms:
    """Rows compressed to distinct (cell, score, label, selected[, baseline]) combinations.

    ``baseline`` and ``baseline_selected`` are the score and selection of a
    second model on the same rows (the current champion), or None. Keeping
    both in one atom keeps the two models paired in every resample.
    ``position_*`` describe the rows sorted by cell: the atom at each position,
    and the first position and size of the position's cell (for drawing
    within cells).
    """

    cell: IntArray
    score: FloatArray
    label: npt.NDArray[np.bool_]
    selected: npt.NDArray[np.bool_]
    rank: FloatArray
    baseline: FloatArray | None
    baseline_selected: npt.NDArray[np.bool_] | None
    count: FloatArray
    n_cells: int
    position_atom: IntArray
    position_start: IntArray
    position_size: IntArray


def compress(
    row_cell: IntArray,
    score: FloatArray,
    label: npt.NDArray[np.bool_],
    selected: npt.NDArray[np.bool_],
    *,
    rank: FloatArray | None = None,
    baseline: FloatArray | None = None,
    baseline_selected: npt.NDArray[np.bool_] | None = None,
) -> Atoms:
    """Group identical rows into atoms (a table of deciles has a few hundred atoms).

    ``rank`` orders the rows for a capacity rule when it differs from the score
    (training ranks by the raw score, whose order isotonic calibration can tie).
    """
    keys_in: list[npt.NDArray[Any]] = [row_cell, score, label, selected, score if rank is None else rank]
    if baseline is not None and baseline_selected is not None:
        keys_in += [baseline, baseline_selected]
    order = np.lexsort(tuple(reversed(keys_in)))
    keys = [key[order] for key in keys_in]
    new_atom = np.ones(len(order), dtype=bool)
    for key in keys:
        new_atom[1:] |= key[1:] != key[:-1]
    position_atom = np.cumsum(new_atom) - 1
    first = np.flatnonzero(new_atom)
    n_cells = int(row_cell.max()) + 1
    cell_sizes = np.bincount(row_cell, minlength=n_cells)
    cell_starts = np.cumsum(cell_sizes) - cell_sizes
    sorted_cell = keys[0]
    paired = len(keys) == 7
    return Atoms(
        cell=sorted_cell[first],
        score=keys[1][first],
        label=keys[2][first],
        selected=keys[3][first],
        rank=keys[4][first],
        baseline=keys[5][first] if paired else None,
        baseline_selected=keys[6][first] if paired else None,
        count=np.bincount(position_atom).astype(np.float64),
        n_cells=n_cells,
        position_atom=position_atom.astype(np.intp),
        position_start=cell_starts[sorted_cell].astype(np.intp),
        position_size=cell_sizes[sorted_cell].astype(np.intp),
    )


Selector = Callable[[FloatArray], FloatArray]
"""Atom counts (n_atoms, n_resamples) -> how many of those rows are selected, same shape."""


def fixed_selection(selected: npt.NDArray[np.bool_]) -> Selector:
    """The observed selection, kept as it is in every resample (a threshold rule)."""
    mask = selected.astype(np.float64)[:, np.newaxis]
    return lambda counts: counts * mask


class ResampledTopK:
    """Select the top ``count`` afresh inside every resample.

    A capacity is a number of places, not a score: in a resample the people
    above the observed cut-off change, and so does the cut-off. Levels above
    the resample's cut-off are taken whole; the level at the cut-off shares its
    remaining places equally among its rows (the expectation of the random
    tie-break). Without this, a group whose few positives were all selected
    gets an interval of exactly (1, 1).
    """

    def __init__(self, score: FloatArray, count: int) -> None:
        unique, inverse = np.unique(-score, return_inverse=True)  # level 0 = the highest score
        self.count = count
        self.level = inverse.astype(np.intp)
        self.levels = sparse.csr_matrix(
            (np.ones(len(score)), (self.level, np.arange(len(score)))), shape=(len(unique), len(score))
        )

    def __call__(self, counts: FloatArray) -> FloatArray:
        per_level = np.asarray(self.levels @ counts)
        before = np.cumsum(per_level, axis=0) - per_level
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.clip((self.count - before) / per_level, 0.0, 1.0)
        return counts * np.nan_to_num(share, nan=0.0)[self.level]


class SufficientStatistics:
    """Turn atom counts into the sufficient statistics of every group of every partition.

    Parameters
    ----------
    atoms : Atoms
    partitions : sequence of Partition
    calibration : bool
        Compute calibration sums (only meaningful for scores in [0, 1]).
    resample_selector, baseline_selector : Selector, optional
        How resamples select (default: the observed selection, fixed). The
        point estimate always uses the observed selection, so that it describes
        exactly the people the rule selected.
    """

    def __init__(
        self,
        atoms: Atoms,
        partitions: Sequence[Partition],
        *,
        calibration: bool,
        resample_selector: Selector | None = None,
        baseline_selector: Selector | None = None,
    ) -> None:
        self.atoms = atoms
        self.partitions = tuple(partitions)
        self.calibration = calibration
        self._observed = fixed_selection(atoms.selected)
        self._resampled = resample_selector or self._observed
        self._baseline_observed = (
            fixed_selection(atoms.baseline_selected) if atoms.baseline_selected is not None else None
        )
        self._baseline_resampled = baseline_selector or self._baseline_observed
        self._by_label = _label_matrix(atoms)
        self._gaps = _gap_matrix(atoms) if calibration else None
        self._membership = [_membership(partition, atoms.n_cells) for partition in self.partitions]
        self._ranks = [_RankIndex(atoms, partition) for partition in self.partitions]

    def point(self) -> list[FloatArray]:
        """Statistics of the observed table: one (n_groups, N_STATISTICS) array per partition."""
        counts = self.atoms.count[:, np.newaxis]
        baseline = self._baseline_observed(counts) if self._baseline_observed else None
        return [statistics[0] for statistics in self(counts, self._observed(counts), baseline)]

    def bootstrap(self, resamples: int, seed: int) -> list[FloatArray]:
        """Statistics of ``resamples`` stratified resamples: (resamples, n_groups, N_STATISTICS) each."""
        chunks = []
        for counts in _resampled_counts(self.atoms, resamples, seed):
            baseline = self._baseline_resampled(counts) if self._baseline_resampled else None
            chunks.append(self(counts, self._resampled(counts), baseline))
        return [np.concatenate([chunk[index] for chunk in chunks]) for index in range(len(self.partitions))]

    def __call__(
        self, counts: FloatArray, selected: FloatArray, baseline_selected: FloatArray | None = None
    ) -> list[FloatArray]:
        """Statistics for (n_atoms, n_resamples) matrices of atom counts and selected counts.

        Atoms run down the first axis so that gathers copy contiguous rows and
        cumulative sums add whole rows at a time.
        """
        n_resamples = counts.shape[1]
        n_cells = self.atoms.n_cells
        totals = np.asarray(self._by_label.T @ counts).reshape(n_cells, 2, n_resamples)
        chosen = np.asarray(self._by_label.T @ selected).reshape(n_cells, 2, n_resamples)
        confusion = np.stack(
            [chosen[:, 1], chosen[:, 0], totals[:, 1] - chosen[:, 1], totals[:, 0] - chosen[:, 0]], axis=1
        ).reshape(n_cells, 4 * n_resamples)  # TP, FP, FN, TN per cell
        baseline_tp = (
            np.asarray(self._by_label.T @ baseline_selected).reshape(n_cells, 2, n_resamples)[:, 1]
            if baseline_selected is not None
            else None
        )
        gaps = (
            np.asarray(self._gaps.T @ counts).reshape(n_cells, ECE_BINS * n_resamples)
            if self._gaps is not None
            else None
        )
        results = []
        for membership, ranks in zip(self._membership, self._ranks, strict=True):
            n_groups = membership.shape[0]
            statistics = np.full((n_resamples, n_groups, N_STATISTICS), np.nan)
            by_group = np.asarray(membership @ confusion).reshape(n_groups, 4, n_resamples)
            statistics[..., [TP, FP, FN, TN]] = by_group.transpose(2, 0, 1)
            statistics[..., [CALIBRATION_GAP, CALIBRATION_ABS_GAP]] = 0.0
            if gaps is not None:
                bins = np.asarray(membership @ gaps).reshape(n_groups, ECE_BINS, n_resamples)
                statistics[..., CALIBRATION_GAP] = bins.sum(axis=1).T
                statistics[..., CALIBRATION_ABS_GAP] = np.abs(bins).sum(axis=1).T
            if baseline_tp is not None:
                statistics[..., BASELINE_TP] = np.asarray(membership @ baseline_tp).T
            positives = by_group[:, TP] + by_group[:, FN]
            negatives = by_group[:, FP] + by_group[:, TN]
            statistics[..., AUC_U] = ranks.mann_whitney(counts, positives, negatives)
            results.append(statistics)
        return results


class _RankIndex:
    """Where each positive atom sits among the negatives of its group, in score order.

    The Mann-Whitney U of a group is ``sum_i w_i * (N_below(i) + N_tied(i) / 2)``
    over its positive atoms ``i``, with ``N`` the resampled counts of the
    group's negatives. Those counts only need to be known at a few
    *breakpoints* of the (group, score) order, so one sparse product sums the
    negatives between consecutive breakpoints and a cumulative sum runs over
    breakpoints only. The two classes swap roles when positives are the
    larger one (``U(y, s) = U(1 - y, -s)``), so the per-atom work is on the
    smaller class.
    """

    def __init__(self, atoms: Atoms, partition: Partition) -> None:
        group = partition.cell_group[atoms.cell]
        self.n_groups = len(partition.values)
        self.swapped = int(atoms.label.sum()) > int((~atoms.label).sum())
        label = ~atoms.label if self.swapped else atoms.label
        score = -atoms.score if self.swapped else atoms.score
        _, score_rank = np.unique(score, return_inverse=True)
        key = group.astype(np.int64) * (int(score_rank.max()) + 1) + score_rank
        negatives = np.flatnonzero(~label)
        negatives = negatives[np.argsort(key[negatives], kind="stable")]
        positives = np.flatnonzero(label)
        positives = positives[np.argsort(group[positives], kind="stable")]
        below = np.searchsorted(key[negatives], key[positives], side="left")
        up_to = np.searchsorted(key[negatives], key[positives], side="right")
        group_start = np.searchsorted(group[negatives], np.arange(self.n_groups), side="left")
        breakpoints = np.unique(np.concatenate([below, up_to, group_start]))
        segment = np.searchsorted(breakpoints, np.arange(len(negatives)), side="right")
        inside = segment < len(breakpoints)
        self.segments = sparse.csr_matrix(
            (np.ones(int(inside.sum())), (segment[inside], negatives[inside])),
            shape=(len(breakpoints), len(atoms.count)),
        )
        self.positives = positives
        self.below = np.searchsorted(breakpoints, below)
        self.up_to = np.searchsorted(breakpoints, up_to)
        self.group_start = np.searchsorted(breakpoints, group_start)
        positive_groups = group[positives]
        self.nonempty = np.unique(positive_groups)
        self.first_of_group = np.searchsorted(positive_groups, self.nonempty, side="left")

    def mann_whitney(self, counts: FloatArray, positives: FloatArray, negatives: FloatArray) -> FloatArray:
        """U per group, shape (n_resamples, n_groups), from (n_atoms, n_resamples) counts.

        ``positives`` and ``negatives`` are the (n_groups, n_resamples) class totals.
        """
        n_resamples = counts.shape[1]
        cumulative = np.cumsum(np.ascontiguousarray(np.asarray(self.segments @ counts).T), axis=1)
        u = np.zeros((n_resamples, self.n_groups))
        if len(self.positives):
            weighted = cumulative[:, self.below]
            weighted += cumulative[:, self.up_to]
            weighted *= counts[self.positives].T
            u[:, self.nonempty] = 0.5 * np.add.reduceat(weighted, self.first_of_group, axis=1)
        u -= (negatives if self.swapped else positives).T * cumulative[:, self.group_start]
        return u


def _label_matrix(atoms: Atoms) -> sparse.csr_matrix:
    """(atoms x 2 cells): column ``2 * cell + label`` of each atom, to sum counts by cell and outcome."""
    n_atoms = len(atoms.cell)
    return sparse.csr_matrix(
        (np.ones(n_atoms), (np.arange(n_atoms), atoms.cell * 2 + atoms.label.astype(np.intp))),
        shape=(n_atoms, 2 * atoms.n_cells),
    )


def _gap_matrix(atoms: Atoms) -> sparse.csr_matrix:
    """(atoms x ECE bins of cells): y - score of each atom in its cell's calibration bin."""
    n_atoms = len(atoms.cell)
    ece_bin = np.minimum((atoms.score * ECE_BINS).astype(np.intp), ECE_BINS - 1)
    return sparse.csr_matrix(
        (atoms.label - atoms.score, (np.arange(n_atoms), atoms.cell * ECE_BINS + ece_bin)),
        shape=(n_atoms, ECE_BINS * atoms.n_cells),
    )


def _membership(partition: Partition, n_cells: int) -> sparse.csr_matrix:
    """(groups x cells) indicator of which cells make up each group."""
    return sparse.csr_matrix(
        (np.ones(n_cells), (partition.cell_group, np.arange(n_cells))),
        shape=(len(partition.values), n_cells),
    )


def _resampled_counts(atoms: Atoms, resamples: int, seed: int) -> Iterator[FloatArray]:
    """Atom counts (n_atoms, n_resamples) per chunk of resamples, drawing rows within their cell."""
    rng = np.random.default_rng(seed)
    n_rows = len(atoms.position_atom)
    n_atoms = len(atoms.count)
    chunk = max(1, _CHUNK_ELEMENTS // max(n_rows, n_atoms))
    size = atoms.position_size.astype(np.float64)
    for start in range(0, resamples, chunk):
        n_resamples = min(chunk, resamples - start)
        drawn = (rng.random((n_resamples, n_rows)) * size).astype(np.intp)
        np.minimum(drawn, atoms.position_size - 1, out=drawn)
        drawn += atoms.position_start
        key = atoms.position_atom[drawn] * n_resamples
        key += np.arange(n_resamples, dtype=np.intp)[:, np.newaxis]
        counts = np.bincount(key.ravel(), minlength=n_atoms * n_resamples)
        yield counts.reshape(n_atoms, n_resamples).astype(np.float64)
