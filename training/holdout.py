"""Does a model trained elsewhere work in municipality M? ``previ train --holdout-municipality M``.

The programmes want models "replicated across municipalities": before a model
trained on some municipalities is used in another, the other's own records
should show that it ranks and calibrates there. The held-out municipality's
rows are removed before anything is fitted (every fold, the early stopping,
the calibration, the refit), so the model never sees M; training and its
temporal validation run as usual on the others. M's rows at the test date (the
last fold's test as_of, the same date the usual test figures describe) are then
scored by the champion candidate as fitted and calibrated on the last fold:

* ranking: ROC AUC (and the other test metrics) with bootstrap 95% intervals;
* calibration: observed over predicted (the outcomes seen in M over the sum of
  the predicted probabilities; 1 is right, above 1 the model under-predicts M)
  with a Poisson 95% interval, and the calibration slope (the logistic
  regression of M's outcomes on the logit of the predictions: 1 is right,
  below 1 the predictions are too spread out, above 1 too timid).

The same figures of the other municipalities' test rows stand beside them, so
a reader sees what is lost by moving the model.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats

from previ.config import TrainingConfig
from previ.errors import PreviError
from training.dataset import TrainingSet
from training.evaluate import evaluate
from training.train import TrainingResult

COLUMN = "municipality"
MIN_ROWS = 50
HOLDOUT_FILE = "holdout.json"


@dataclass(frozen=True)
class Split:
    """The training set without M, and M's rows."""

    name: str
    training: TrainingSet
    held_out: TrainingSet


def split_municipality(data: TrainingSet, municipality: str) -> Split:
    """Take M's rows out (M matched by name, ignoring case and accents); PreviError naming the option."""
    if COLUMN not in data.groups.columns:
        raise PreviError("--holdout-municipality: the data has no municipality column")
    values = data.groups[COLUMN].astype("string").fillna("")
    known = sorted(set(values) - {""})
    matches = [name for name in known if _plain(name) == _plain(municipality)]
    if not matches:
        raise PreviError(
            f"--holdout-municipality: unknown municipality '{municipality}'; the data has: {', '.join(known)}"
        )
    held = (values == matches[0]).to_numpy()
    return Split(matches[0], data.subset(~held), data.subset(held))


def holdout_report(result: TrainingResult, split: Split, settings: TrainingConfig) -> dict[str, Any]:
    """Ranking and calibration of the champion candidate in M and, for reference, in the others."""
    if result.validation != "temporal" or split.held_out.time is None or result.data.time is None:
        raise PreviError("--holdout-municipality: needs temporal folds (a bundle, or a table with --time)")
    test_date = result.data.time[result.test_rows].max()
    rows = np.flatnonzero(split.held_out.time == test_date)
    label = split.held_out.label[rows]
    if rows.size < MIN_ROWS or len(np.unique(label)) < 2:
        raise PreviError(
            f"--holdout-municipality: {split.name} has {rows.size} rows at the test date "
            f"{str(test_date)[:10]} ({int(label.sum())} with the outcome); at least {MIN_ROWS} and both "
            "outcomes are needed"
        )
    champion = result.champion
    # the columns the model kept (the proxy screen ran on the training rows only)
    features = split.held_out.features.iloc[rows][result.data.feature_names].reset_index(drop=True)
    raw = champion.fitted.raw_score(features)
    probability = champion.calibrator.probability(raw)
    reference_label = result.data.label[result.test_rows]
    return {
        "municipality": split.name,
        "model": champion.name,
        "test_date": str(test_date)[:10],
        "trained_without": split.name,
        "held_out": _figures(label, probability, raw, settings),
        "others": _figures(reference_label, champion.test_probability, champion.test_raw, settings),
    }


def _figures(
    label: np.ndarray, probability: np.ndarray, raw: np.ndarray, settings: TrainingConfig
) -> dict[str, Any]:
    found = evaluate(
        label, probability, k=settings.k, resamples=settings.resamples, seed=settings.seed, ranking=raw
    )
    observed, predicted = float(label.sum()), float(probability.sum())
    low, high = (
        float(bound) for bound in stats.chi2.ppf([0.025, 0.975], [2 * observed, 2 * observed + 2]) / 2
    )
    return {
        **found.as_dict(),
        "observed": int(observed),
        "predicted": predicted,
        "observed_over_predicted": {"value": observed / predicted, "ci": [low / predicted, high / predicted]},
        "calibration_slope": _slope(label, probability),
    }


def _slope(label: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """Logistic recalibration slope of the outcome on logit(probability), with its 95% interval."""
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    try:
        fit = sm.Logit(label.astype(float), sm.add_constant(logit)).fit(disp=0)
    except (np.linalg.LinAlgError, ValueError, sm.tools.sm_exceptions.PerfectSeparationError):
        return {"value": math.nan, "ci": [math.nan, math.nan]}
    low, high = fit.conf_int(alpha=0.05)[1]
    return {"value": float(fit.params[1]), "ci": [float(low), float(high)]}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
