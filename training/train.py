"""One training pipeline for both entry points: folds -> grid -> calibration -> evaluation.

Every model of the grid is fitted on every fold, calibrated on the fold's
calibration rows and evaluated on its test rows. With temporal folds the
figures that count are the last fold's (the test); earlier folds show
stability over time. With stratified k-fold (a flat table without time) the
figures pool the out-of-fold predictions of all folds. The model that is
registered is then refitted with the tuned settings on every labelled row
(:func:`refit_for_serving`), so that it learns from the newest closed windows;
the test figures describe the same settings fitted on the last fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from models.calibration import Calibrator
from previ.config import TrainingConfig
from previ.errors import PreviError
from training.calibrate import fit_calibrator
from training.dataset import TrainingSet
from training.evaluate import Evaluation, evaluate
from training.grid import LOCAL, FitEngine, FittedModel, fit_grid, refit
from training.splits import Fold, _bucket, _halves, check_classes, stratified_folds, temporal_folds

Progress = Callable[[str], None]


@dataclass
class ModelResult:
    """One model of the grid: the last fold's fit, its calibration and its test figures."""

    name: str
    fitted: FittedModel
    calibrator: Calibrator
    evaluation: Evaluation
    test_probability: np.ndarray
    test_raw: np.ndarray
    fold_metrics: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class ServedModel:
    """The champion candidate refitted for serving on every row whose label window has closed."""

    fitted: FittedModel
    calibrator: Calibrator
    description: str
    rows: np.ndarray
    """Boolean mask of the rows it was fitted on (its training population)."""
    calibrated_on: str = ""
    """Which rows calibrate it, in words: "2025-08-01" (half its young people) or "sample"."""

    def card(self) -> dict[str, object]:
        """What the model card says of the refit (numbers for the pages to word in each language)."""
        return {
            "text": self.description,
            "rows": int(self.rows.sum()),
            "calibration_rows": int((~self.rows).sum()),
            "calibrated_on": self.calibrated_on,
        }


@dataclass
class TrainingResult:
    data: TrainingSet
    folds: list[Fold]
    models: dict[str, ModelResult]
    champion_candidate: str
    k: float
    test_rows: np.ndarray  # integer positions of the test rows (pooled for k-fold)
    served: ServedModel | None = None

    @property
    def validation(self) -> str:
        return self.folds[-1].kind

    @property
    def champion(self) -> ModelResult:
        return self.models[self.champion_candidate]


def run_training(
    data: TrainingSet,
    settings: TrainingConfig,
    *,
    progress: Progress | None = None,
    engine: FitEngine = LOCAL,
) -> TrainingResult:
    """Fit, calibrate and evaluate the whole grid (see the module docstring).

    ``engine`` fits the learned models: in this process (the default) or on a
    Dask cluster (:class:`training.dask_fit.DaskFit`).
    """
    report = progress or (lambda _: None)
    if data.time is not None and data.horizon_days is not None:
        folds = temporal_folds(data.time, data.ids, data.horizon_days)
    else:
        folds = stratified_folds(data.label, data.ids, seed=settings.seed)
    check_classes(data.label, folds)
    if settings.champion_candidate not in settings.models:
        raise PreviError(
            f"training.champion_candidate: {settings.champion_candidate} is not among training.models"
        )

    pooled = folds[-1].kind == "stratified_kfold"
    test_positions: list[np.ndarray] = []
    probabilities: dict[str, list[np.ndarray]] = {}
    raws: dict[str, list[np.ndarray]] = {}
    fold_metrics: dict[str, list[dict[str, object]]] = {}
    last: dict[str, tuple[FittedModel, Calibrator]] = {}
    for index, fold in enumerate(folds, start=1):
        report(f"fold {index}/{len(folds)}: {fold.description}")
        fitted = fit_grid(
            data, fold, models=settings.models, seed=settings.seed, threads=settings.threads, engine=engine
        )
        calibrate_rows = data.subset(fold.calibrate)
        test = data.subset(fold.test)
        test_positions.append(np.flatnonzero(fold.test))
        for name, model in fitted.items():
            calibrator = fit_calibrator(
                model.raw_score(calibrate_rows.features), calibrate_rows.label, seed=settings.seed
            )
            raw = model.raw_score(test.features)
            probability = calibrator.probability(raw)
            point = evaluate(
                test.label, probability, k=settings.k, resamples=0, seed=settings.seed, ranking=raw
            )
            fold_metrics.setdefault(name, []).append({"fold": fold.name, **point.as_dict()})
            probabilities.setdefault(name, []).append(probability)
            raws.setdefault(name, []).append(raw)
            last[name] = (model, calibrator)

    rows = np.concatenate(test_positions) if pooled else test_positions[-1]
    label = data.label[rows]
    models = {}
    for name, (model, calibrator) in last.items():
        report(f"bootstrap intervals: {name}")
        probability = np.concatenate(probabilities[name]) if pooled else probabilities[name][-1]
        raw = np.concatenate(raws[name]) if pooled else raws[name][-1]
        evaluation = evaluate(
            label,
            probability,
            k=settings.k,
            resamples=settings.resamples,
            seed=settings.seed,
            ranking=None if pooled else raw,  # raw scores of different folds do not share a scale
        )
        models[name] = ModelResult(name, model, calibrator, evaluation, probability, raw, fold_metrics[name])
    report("refitting the served model on every closed label window")
    served = refit_for_serving(data, models[settings.champion_candidate].fitted, settings, engine=engine)
    return TrainingResult(
        data=data,
        folds=folds,
        models=models,
        champion_candidate=settings.champion_candidate,
        k=settings.k,
        test_rows=rows,
        served=served,
    )


def refit_for_serving(
    data: TrainingSet, fitted: FittedModel, settings: TrainingConfig, *, engine: FitEngine = LOCAL
) -> ServedModel:
    """Refit the tuned champion candidate on all labelled rows but a calibration slice.

    The test figures describe the model fitted on the last fold, whose newest
    training labels are one validation window and one horizon older than the
    date it is served at. The served model is fitted again, with the tuned
    settings, on every row whose label window has closed, except a slice held
    out to calibrate it: with dates, the calibration half (by young person) of
    the newest as_of; without, one sixteenth of the young people.
    """
    halves = _halves(data.ids)
    if data.time is not None:
        newest = data.time == data.time.max()
        calibrate = newest & ~halves
        newest = str(data.time.max())[:10]
        held = f"half of the young people of the newest date ({newest})"
    else:
        calibrate = (_bucket(data.ids, 8, salt="validation:") == 0) & ~halves
        newest = "sample"
        held = "one sixteenth of the young people"
    if len(np.unique(data.label[calibrate])) < 2 or len(np.unique(data.label[~calibrate])) < 2:
        raise PreviError("training: the refit's calibration slice holds a single class; add data")
    train, held_out = data.subset(~calibrate), data.subset(calibrate)
    model = refit(fitted, train, held_out, seed=settings.seed, threads=settings.threads, engine=engine)
    calibrator = fit_calibrator(model.raw_score(held_out.features), held_out.label, seed=settings.seed)
    description = (
        f"Served model: {fitted.name} refitted with the tuned settings on {len(train.label):,} labelled rows "
        f"(every closed label window), calibrated on {held} ({len(held_out.label):,} rows). "
        "The test figures are those of the same settings fitted on the last fold."
    )
    return ServedModel(model, calibrator, description, ~calibrate, newest)
