"""One explanation shape for every model in the grid: base value plus per-feature contributions.

Whatever the model, ``explanation.base_value + explanation.contributions.sum(axis=1)``
is its logit (raw score) for each row, so the reasons, the fairness audits and the
model card read one object:

* the glass box's :class:`~models.glassbox.LookupModel`: its tables, which are
  exactly TreeSHAP values because the model is additive;
* an unconstrained LightGBM booster: LightGBM's TreeSHAP (``pred_contrib``, the
  same path-dependent algorithm as ``shap.TreeExplainer``);
* a logistic-regression pipeline, fitted (scikit-learn) or as the artifact
  stores it (:class:`~models._linear.LinearModel`): coefficient times centred
  model input, summed over the columns that come from each feature (see
  :mod:`models._linear`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models import _linear, _trees
from models._lookup import LookupModel
from previ.errors import PreviError
from previ.frames import is_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Explanation", "explain"]

UNSUPPORTED_MODEL = (
    "explain() takes a LookupModel, a LightGBM Booster (or LGBMClassifier), a scikit-learn "
    "LogisticRegression (alone or ending a Pipeline) or a LinearModel; got {kind}."
)
MULTICLASS_BOOSTER = "explain() takes binary boosters; this one has {classes} classes."


@dataclass(frozen=True, eq=False)
class Explanation:
    """Contributions (logit units) of each feature to each row's score.

    ``contributions`` has shape (rows, features), columns in ``feature_names`` order;
    ``values`` holds the explained feature values as people read them (categorical
    features as level names), row-aligned, with a 0..n-1 index. Positive
    contributions raise the estimated need for support, negative ones lower it.
    """

    base_value: float
    contributions: np.ndarray
    feature_names: tuple[str, ...]
    values: pd.DataFrame

    @property
    def logit(self) -> np.ndarray:
        """The score each row's contributions add up to."""
        return self.base_value + self.contributions.sum(axis=1)

    def __len__(self) -> int:
        return int(self.contributions.shape[0])


def explain(
    model: Any,
    X: pd.DataFrame | np.ndarray,
    *,
    background: pd.DataFrame | np.ndarray | None = None,
) -> Explanation:
    """Explain ``model``'s score for each row of ``X``.

    ``background`` is used by logistic models only: the data whose transformed
    means centre the terms (pass the training features for SHAP values; without
    it, standardised columns are still centred at their training mean and one-hot
    levels at "absent", see :func:`models._linear.explain_linear`). Raises
    :class:`PreviError` for a model kind previ does not explain.
    """
    if isinstance(model, LookupModel):
        base, contributions = model.contributions(X)
        return Explanation(base, contributions, model.feature_names, _lookup_values(model, X))
    module = type(model).__module__
    if module.startswith("lightgbm"):
        return _explain_booster(getattr(model, "booster_", model), X)
    if module.startswith("sklearn") or isinstance(model, _linear.LinearModel):
        base, contributions, names = _linear.explain_linear(model, X, background)
        return Explanation(base, contributions, names, _frame(X, names))
    raise PreviError(UNSUPPORTED_MODEL.format(kind=type(model).__name__))


def _explain_booster(booster: Any, X: pd.DataFrame | np.ndarray) -> Explanation:
    dumped = booster.dump_model()
    if dumped["num_tree_per_iteration"] != 1:
        raise PreviError(MULTICLASS_BOOSTER.format(classes=dumped["num_class"]))
    names = tuple(dumped["feature_names"])
    if is_frame(X):
        names = tuple(str(name) for name in X.columns) if len(X.columns) == len(names) else names
    if len(X) == 0:
        base = sum(_trees.expected_value(tree["tree_structure"]) for tree in dumped["tree_info"])
        return Explanation(float(base), np.zeros((0, len(names))), names, _frame(X, names))
    output = np.asarray(booster.predict(X, pred_contrib=True))
    return Explanation(float(output[0, -1]), output[:, :-1], names, _frame(X, names))


def _lookup_values(model: LookupModel, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return _frame(X[list(model.feature_names)], model.feature_names)
    frame = _frame(X, model.feature_names)
    for name, levels in model.levels.items():
        if pd.api.types.is_numeric_dtype(frame[name].dtype):
            codes = frame[name].to_numpy(dtype=np.float64)
            known = np.isfinite(codes) & (codes >= 0) & (codes < len(levels)) & (codes == np.trunc(codes))
            known_codes = np.where(known, codes, -1).astype(int)
            frame[name] = pd.Categorical.from_codes(known_codes, categories=pd.Index(list(levels)))
    return frame


def _frame(X: pd.DataFrame | np.ndarray, names: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    return pd.DataFrame(np.asarray(X), columns=list(names))
