"""The README's main job on the embedded default: synthesise -> validate -> features -> train -> register.

Everything runs locally: the bundle goes to ``data.dir``, the run folder to
``training.out``, MLflow to a SQLite file beside them. The first version
registered becomes champion when it passes the gates (later versions are left
as challenger for a person to promote).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow.exceptions import MlflowException

from features.load import load_bundle
from features.synth import SynthSummary, synthesize
from previ.config import PreviConfig
from previ.errors import PreviError
from training.pipeline import TrainOutcome, train_and_register, training_set_from_bundle
from training.promote import Promotion, promote
from training.registry import CHAMPION, client_for
from training.train import Progress


@dataclass(frozen=True)
class QuickstartResult:
    synth: SynthSummary
    bundle_warnings: tuple[str, ...]
    training: TrainOutcome
    promotion: Promotion | None
    promotion_refusal: str | None


def run_quickstart(settings: PreviConfig, *, progress: Progress | None = None) -> QuickstartResult:
    report = progress or (lambda _: None)
    data_dir = Path(settings.data.dir)
    report(f"synthesising {settings.synth.youth:,} young people over {settings.synth.years} years")
    summary = synthesize(settings.synth, data_dir, horizon_days=settings.features.horizon_days)
    report("validating the bundle")
    bundle = load_bundle(
        data_dir, audit_columns=settings.data.audit_columns, extraction_date=settings.data.extraction_date
    )
    report("building point-in-time features")
    dataset = training_set_from_bundle(settings, data_dir)
    outcome = train_and_register(dataset, settings, progress=report)
    promotion = None
    refusal = None
    if outcome.registration is not None and not _has_champion(settings):
        report("promoting the first model through the gates")
        try:
            promotion = promote(settings.training, outcome.registration.version)
        except PreviError as error:
            refusal = str(error)
    return QuickstartResult(summary, tuple(bundle.warnings), outcome, promotion, refusal)


def _has_champion(settings: PreviConfig) -> bool:
    client = client_for(settings.training)
    try:
        client.get_model_version_by_alias(settings.training.registered_model, CHAMPION)
    except MlflowException:
        return False
    return True
