"""How scarce places are shared between groups: the allocation policy a programme manager signs.

Two policies, both filling exactly the programme's capacity through the one
selection engine (:mod:`fairness_audits.selection`):

* ``need``: the highest calibrated probabilities, whoever they are;
* ``equal_recall``: group-specific cut-offs chosen so that every group (the
  cells of the chosen group columns) expects the same share of its young
  people in need to be reached, as in Rodolfa, Lamba and Ghani (Nature Machine
  Intelligence, 2021), who found the cost in precision negligible in
  public-policy settings.

At allocation time outcomes are unknown, so a group's recall is *expected*
recall: the selected share of the group's summed calibrated probabilities.
That estimate is only as good as calibration within groups, which is exactly
what the promotion gate checks. On a test fold, where outcomes are known,
:func:`compare_policies` reports the recall each policy really reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fairness_audits.groups import SEPARATOR, group_labels_of
from fairness_audits.result import AllocationComparison, PolicyOutcome
from fairness_audits.selection import ranking, top_k
from previ.errors import PreviError

Policy = Literal["need", "equal_recall"]
POLICIES: tuple[Policy, ...] = ("need", "equal_recall")

POLICY_UNKNOWN = "allocation.policy must be one of {policies}; got {policy!r}"
GROUPS_NEEDED = "allocation.policy equal_recall needs allocation.groups (the columns to equalise across)"
GROUP_COLUMN_MISSING = "allocation.groups: column '{column}' is not available (columns: {available})"


def allocate(
    probability: npt.ArrayLike,
    *,
    count: int,
    policy: Policy = "need",
    groups: pd.DataFrame | None = None,
    seed: int = 0,
) -> npt.NDArray[np.bool_]:
    """Select ``count`` young people under ``policy``; returns a boolean mask in row order.

    Parameters
    ----------
    probability : array of float
        Calibrated probabilities (expected recall needs probabilities).
    count : int
        The places to fill (:func:`fairness_audits.selection.capacity_count`).
    policy : {"need", "equal_recall"}
    groups : DataFrame, optional
        The group columns to equalise across (``equal_recall`` only); their
        cells (every combination of values) are the groups.
    seed : int
        Tie-break seed, as everywhere else.
    """
    values = np.asarray(probability, dtype=np.float64)
    if policy not in POLICIES:
        raise PreviError(POLICY_UNKNOWN.format(policies=", ".join(POLICIES), policy=policy))
    if policy == "need":
        return top_k(values, count, seed=seed)
    if groups is None or groups.shape[1] == 0:
        raise PreviError(GROUPS_NEEDED)
    return _equal_recall(values, groups.reset_index(drop=True), count, seed)


def equal_recall_priority(
    probability: npt.ArrayLike, groups: pd.DataFrame, *, seed: int = 0
) -> npt.NDArray[np.float64]:
    """An ordering that equalises expected recall: 1 minus the share of one's group already reached.

    Taking people in decreasing order of this priority keeps every group's
    expected recall (the selected share of its summed probabilities) level at
    each step, so any capacity cut of it is close to :func:`allocate` with
    ``equal_recall``. For allocators that need a priority per person rather
    than a fixed count (``previ allocate``, where eligibility decides who can
    take which place).
    """
    values = np.asarray(probability, dtype=np.float64)
    cell = pd.factorize(_cell_labels(groups), sort=True)[0].astype(np.intp)
    order = ranking(values, seed=seed)
    reached = np.zeros(len(values))
    for c in range(int(cell.max()) + 1 if len(cell) else 0):
        rows = order[cell[order] == c]
        total = values[rows].sum()
        before = np.cumsum(values[rows]) - values[rows]
        reached[rows] = before / total if total > 0 else np.arange(len(rows)) / max(1, len(rows))
    return 1.0 - reached


def compare_policies(
    probability: npt.ArrayLike,
    label: npt.ArrayLike,
    groups: pd.DataFrame,
    *,
    count: int,
    seed: int = 0,
) -> AllocationComparison:
    """Both policies on rows whose outcomes are known: precision at k and recall per group."""
    values = np.asarray(probability, dtype=np.float64)
    outcome = np.asarray(label, dtype=bool)
    cell_labels = _cell_labels(groups)
    outcomes = []
    for policy in POLICIES:
        selected = allocate(values, count=count, policy=policy, groups=groups, seed=seed)
        frame = pd.DataFrame({"cell": cell_labels, "selected": selected, "positive": outcome})
        frame["reached"] = frame["selected"] & frame["positive"]
        by_cell = frame.groupby("cell", sort=True)[["selected", "positive", "reached"]].sum()
        recall = (by_cell["reached"] / by_cell["positive"].where(by_cell["positive"] > 0)).astype(float)
        outcomes.append(
            PolicyOutcome(
                policy=policy,
                selected=int(selected.sum()),
                precision=float(outcome[selected].mean()) if selected.any() else float("nan"),
                recall=float(outcome[selected].sum() / max(1, outcome.sum())),
                recall_by_group={str(cell): float(value) for cell, value in recall.items()},
                selected_by_group={str(cell): int(value) for cell, value in by_cell["selected"].items()},
            )
        )
    return AllocationComparison(
        groups=tuple(str(column) for column in groups.columns), outcomes=tuple(outcomes)
    )


def check_groups(columns: Sequence[str], available: Sequence[str]) -> None:
    """Raise PreviError naming any allocation group column that the data does not have."""
    problems = [
        GROUP_COLUMN_MISSING.format(column=column, available=", ".join(available))
        for column in columns
        if column not in available
    ]
    if problems:
        raise PreviError(*problems)


def _cell_labels(groups: pd.DataFrame) -> npt.NDArray[np.object_]:
    """The cell of each row as text: every combination of the group columns' values."""
    labels = [group_labels_of(groups[column]).to_numpy(dtype=object) for column in groups.columns]
    return np.array([SEPARATOR.join(map(str, row)) for row in zip(*labels, strict=True)], dtype=object)


def _equal_recall(
    probability: npt.NDArray[np.float64], groups: pd.DataFrame, count: int, seed: int
) -> npt.NDArray[np.bool_]:
    """The ``count`` highest :func:`equal_recall_priority`: every group's expected recall stays level.

    Within a group people come in order of need (the shared ranking, so ties
    break as everywhere else); across groups the next place goes to the group
    whose expected recall is lowest so far, so at the cut every group has
    reached the same share of its expected need, to within one person.
    """
    return top_k(equal_recall_priority(probability, groups, seed=seed), count, seed=seed)
