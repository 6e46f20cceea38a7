"""Reading LightGBM's ``dump_model()`` trees and evaluating them exactly as LightGBM does.

The decision rules follow ``Tree::NumericalDecision`` and ``Tree::CategoricalDecision``
in LightGBM 4 (``include/LightGBM/tree.h``):

* numeric: a NaN becomes 0.0 unless the split's ``missing_type`` is ``NaN``; then a
  missing value (NaN for ``NaN``; ``|x| <= kZeroThreshold`` for ``Zero``) follows
  ``default_left``; anything else goes left when ``x <= threshold``.
* categorical: the value is cast to ``int`` (truncation toward zero, so -0.5 is
  level 0); a code listed in ``threshold`` (``"1||4||7"``) goes left, any other
  (negative, unseen) goes right. LightGBM casts a NaN (and a value beyond the int
  range) to ``INT_MIN`` on x86-64, so it goes right too: that is the rule used
  here. (On a platform where NaN casts to 0, LightGBM would send a NaN with a
  split whose missing_type is not NaN to level 0.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

# LightGBM declares `const double kZeroThreshold = 1e-35f;`: a float literal widened to double.
ZERO_THRESHOLD = float(np.float32(1e-35))

Node = dict[str, Any]


@dataclass(frozen=True)
class FeatureTrees:
    """The trees that split on one feature, each with its cover-weighted expected value."""

    feature: int
    roots: tuple[Node, ...]
    expected: tuple[float, ...]

    @property
    def categorical(self) -> bool:
        return any(node["decision_type"] == "==" for root in self.roots for node in internal_nodes(root))


def group_trees(dumped: dict[str, Any]) -> tuple[float, dict[int, FeatureTrees], list[tuple[int, list[int]]]]:
    """Split a dumped model into (constant part, trees by feature, trees using several features).

    The constant part is the sum of the trees without a split plus every split tree's
    expected value, which is what LightGBM's ``pred_contrib`` reports as the bias.
    """
    constant = 0.0
    roots: dict[int, list[Node]] = {}
    mixed: list[tuple[int, list[int]]] = []
    for tree in dumped["tree_info"]:
        root = tree["tree_structure"]
        if "leaf_value" in root:
            constant += float(root["leaf_value"])
            continue
        features = sorted({int(node["split_feature"]) for node in internal_nodes(root)})
        if len(features) > 1:
            mixed.append((int(tree["tree_index"]), features))
            continue
        roots.setdefault(features[0], []).append(root)
    grouped = {}
    for feature, feature_roots in sorted(roots.items()):
        expected = tuple(expected_value(root) for root in feature_roots)
        constant += sum(expected)
        grouped[feature] = FeatureTrees(feature, tuple(feature_roots), expected)
    return constant, grouped, mixed


def internal_nodes(node: Node) -> Iterator[Node]:
    if "leaf_value" in node:
        return
    yield node
    yield from internal_nodes(node["left_child"])
    yield from internal_nodes(node["right_child"])


def expected_value(root: Node) -> float:
    """``Tree::ExpectedValue``: leaf values weighted by their share of the root's data count."""
    if "leaf_value" in root:
        return float(root["leaf_value"])
    total = float(root["internal_count"])
    return sum((leaf["leaf_count"] / total) * leaf["leaf_value"] for leaf in _leaves(root))


def numeric_edges(trees: FeatureTrees) -> np.ndarray:
    """Every threshold of the feature's trees, plus the edges of the zero band if a split uses it.

    Between two consecutive edges every split decides the same way, so one
    representative value per bin gives the bin's contribution exactly.
    """
    nodes = [node for root in trees.roots for node in internal_nodes(root)]
    edges = {float(node["threshold"]) for node in nodes}
    if any(node["missing_type"] == "Zero" for node in nodes):
        # The zero band [-kZero, kZero] as a bin (a, b]: a is the double just below -kZero.
        edges.update((float(np.nextafter(-ZERO_THRESHOLD, -np.inf)), ZERO_THRESHOLD))
    return np.array(sorted(edges), dtype=np.float64)


def category_codes(trees: FeatureTrees) -> int:
    """One more than the largest level code any split lists (the size of the code table)."""
    codes = [int(code) for root in trees.roots for node in internal_nodes(root) for code in _listed(node)]
    return max(codes, default=-1) + 1


def centred_values(trees: FeatureTrees, points: np.ndarray) -> np.ndarray:
    """Sum over the feature's trees of (leaf value reached by each point - tree's expected value)."""
    total = np.zeros(points.shape, dtype=np.float64)
    for root, expected in zip(trees.roots, trees.expected, strict=True):
        total += tree_values(root, points) - expected
    return total


def tree_values(node: Node, points: np.ndarray) -> np.ndarray:
    """The leaf value each point reaches, following LightGBM's decision rules."""
    if "leaf_value" in node:
        return np.full(points.shape, float(node["leaf_value"]))
    left = _goes_left(node, points)
    values = np.empty(points.shape, dtype=np.float64)
    values[left] = tree_values(node["left_child"], points[left])
    values[~left] = tree_values(node["right_child"], points[~left])
    return values


def _goes_left(node: Node, points: np.ndarray) -> np.ndarray:
    if node["decision_type"] == "==":
        with np.errstate(invalid="ignore"):
            codes = np.trunc(points)
        listed = np.array([int(code) for code in _listed(node)], dtype=np.float64)
        return np.isin(codes, listed)
    if node["decision_type"] != "<=":
        raise ValueError(f"unknown LightGBM decision_type {node['decision_type']!r}")
    missing_type = node["missing_type"]
    values = points if missing_type == "NaN" else np.where(np.isnan(points), 0.0, points)
    if missing_type == "NaN":
        missing = np.isnan(values)
    elif missing_type == "Zero":
        missing = (values >= -ZERO_THRESHOLD) & (values <= ZERO_THRESHOLD)
    else:
        missing = np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        below = values <= float(node["threshold"])
    return np.where(missing, bool(node["default_left"]), below)


def _listed(node: Node) -> list[str]:
    if node["decision_type"] != "==":
        return []
    return str(node["threshold"]).split("||")


def _leaves(node: Node) -> Iterator[Node]:
    if "leaf_value" in node:
        yield node
        return
    yield from _leaves(node["left_child"])
    yield from _leaves(node["right_child"])
