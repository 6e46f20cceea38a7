"""The plots of a training run, drawn with matplotlib's Agg backend (no screen needed).

Calibration curves, precision-recall curves, precision and recall against the
programme's capacity k, and the glass box's shape functions (one small panel
per feature: what each value adds to the logit).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve

from training.train import TrainingResult

_STYLE = {"abc_rule": ":", "one_feature": ":", "logistic": "--", "glassbox": "-", "lightgbm": "-."}


def write_plots(result: TrainingResult, out_dir: Path) -> list[Path]:
    """Write every plot as PNG into ``out_dir`` and return their paths."""
    label = result.data.label[result.test_rows]
    paths = [
        _calibration(result, label, out_dir / "calibration.png"),
        _precision_recall(result, label, out_dir / "precision_recall.png"),
        _capacity(result, label, out_dir / "precision_recall_at_k.png"),
    ]
    glassbox = result.models.get("glassbox")
    if glassbox is not None and glassbox.fitted.lookup is not None:
        paths.append(_shape_functions(result, out_dir / "shape_functions.png"))
    return paths


def _calibration(result: TrainingResult, label: np.ndarray, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfect")
    for name, model in result.models.items():
        if model.fitted.kind not in ("logistic", "glassbox", "lightgbm"):
            continue
        edges = np.quantile(model.test_probability, np.linspace(0, 1, 11))
        bins = np.clip(np.searchsorted(edges, model.test_probability, side="right") - 1, 0, 9)
        predicted = [model.test_probability[bins == b].mean() for b in range(10) if (bins == b).any()]
        observed = [label[bins == b].mean() for b in range(10) if (bins == b).any()]
        axis.plot(predicted, observed, _STYLE.get(name, "-"), marker="o", markersize=3, label=name)
    axis.set(
        xlabel="predicted probability (deciles)", ylabel="observed rate", title="Calibration on the test fold"
    )
    axis.legend(fontsize=8)
    return _save(figure, path)


def _precision_recall(result: TrainingResult, label: np.ndarray, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    for name, model in result.models.items():
        precision, recall, _ = precision_recall_curve(label, model.test_raw)
        axis.plot(
            recall,
            precision,
            _STYLE.get(name, "-"),
            label=f"{name} (AP {model.evaluation.values['pr_auc']:.2f})",
        )
    axis.axhline(label.mean(), color="grey", linewidth=0.8, label="prevalence")
    axis.set(xlabel="recall", ylabel="precision", title="Precision-recall on the test fold")
    axis.legend(fontsize=8)
    return _save(figure, path)


def _capacity(result: TrainingResult, label: np.ndarray, path: Path) -> Path:
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    shares = np.linspace(0.01, 0.5, 50)
    for name, model in result.models.items():
        order = np.argsort(-model.test_raw, kind="stable")
        hits = np.cumsum(label[order])
        counts = np.maximum(1, np.round(shares * len(label)).astype(int))
        left.plot(shares, hits[counts - 1] / counts, _STYLE.get(name, "-"), label=name)
        right.plot(shares, hits[counts - 1] / max(1, label.sum()), _STYLE.get(name, "-"), label=name)
    k_share = result.k if result.k < 1 else result.k / len(label)
    for axis, title in ((left, "precision at k"), (right, "recall at k")):
        axis.axvline(k_share, color="grey", linewidth=0.8)
        axis.set(xlabel="capacity k (share of young people)", title=title)
        axis.legend(fontsize=8)
    return _save(figure, path)


def _shape_functions(result: TrainingResult, path: Path) -> Path:
    lookup = result.models["glassbox"].fitted.lookup
    assert lookup is not None
    shapes = lookup.shape_functions()
    columns = 4
    rows = math.ceil(len(shapes) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for axis, (name, shape) in zip(axes.ravel(), shapes.items(), strict=False):
        if shape.kind == "categorical":
            axis.bar([str(level) for level in shape.levels], shape.contributions)
            axis.tick_params(axis="x", labelrotation=60)
        elif len(shape.edges):
            edges = np.asarray(shape.edges, dtype=float)
            span = max(1.0, float(edges[-1] - edges[0]))
            xs = np.r_[edges[0] - 0.05 * span, edges, edges[-1] + 0.05 * span]
            axis.step(xs, np.r_[shape.contributions[0], shape.contributions], where="pre")
        else:
            axis.axhline(float(shape.contributions[0]) if len(shape.contributions) else 0.0)
        axis.axhline(0, color="grey", linewidth=0.6)
        axis.set_title(name, fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in axes.ravel()[len(shapes) :]:
        axis.set_visible(False)
    figure.suptitle("Glass box: each feature's contribution to the logit")
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
