"""The README's main job on the embedded default: synthesise -> validate -> features -> train -> register.

Everything runs locally: the bundle goes to ``data.dir``, the run folder to
``training.out``, MLflow to a SQLite file beside them. When no champion exists
yet, the new version goes through the promotion gates, with no review: a
calibrated model passes the fairness gate on the synthetic world. Should it be
refused, the quickstart prints the refusal and stops before serving; a person
then reads the audit and decides (``previ promote V --review ... --reviewer ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlflow.exceptions import MlflowException

from features.load import load_bundle
from features.pipeline import matrix_from_loaded
from previ.config import PreviConfig
from previ.errors import PreviError
from service.batch import SnapshotSummary, write_snapshot
from service.caseload import caseload_store
from service.settings import service_settings
from service.tokens import token_store
from service.upgrade import upgrade_databases
from synthetic.synth import SynthSummary, synthesize
from training.dataset import training_set_from_matrix
from training.pipeline import TrainOutcome, train_and_register
from training.promote import Promotion, promote
from training.registry import CHAMPION, client_for
from training.train import Progress

DEMO_CASEWORKER = "quickstart demo"


@dataclass(frozen=True)
class QuickstartResult:
    synth: SynthSummary
    bundle_warnings: tuple[str, ...]
    training: TrainOutcome
    promotion: Promotion | None
    promotion_refusal: str | None
    snapshot: SnapshotSummary | None = None
    demo_token: str | None = None
    example_youth_id: str | None = None


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
    dataset = training_set_from_matrix(matrix_from_loaded(bundle, settings, as_of=settings.features.as_of))
    outcome = train_and_register(dataset, settings, progress=report)
    promotion = None
    refusal = None
    if outcome.registration is not None and not _has_champion(settings):
        report("promoting the first model through the gates")
        version = outcome.registration.version
        try:
            promotion = promote(settings.training, version)
        except PreviError as error:
            refusal = "\n".join(error.lines)
    if not _has_champion(settings):
        return QuickstartResult(summary, tuple(bundle.warnings), outcome, promotion, refusal)
    as_of = summary.as_of[-1]
    service = service_settings(settings)
    report("creating or upgrading the service's databases")
    upgrade_databases(service)
    report(f"scoring everyone at {as_of} into a snapshot for the service")
    snapshot = write_snapshot(settings, data_dir=data_dir, as_of=as_of)
    assert dataset.time is not None
    example = str(dataset.ids[dataset.time == np.datetime64(as_of, "ns")][0])  # someone in the snapshot
    _, token = token_store(service).add(role="caseworker", name=DEMO_CASEWORKER)
    caseload_store(service).add(caseworker=DEMO_CASEWORKER, youth_id=example)  # scores are caseload-only
    return QuickstartResult(
        summary, tuple(bundle.warnings), outcome, promotion, refusal, snapshot, token, example
    )


def _has_champion(settings: PreviConfig) -> bool:
    client = client_for(settings.training)
    try:
        client.get_model_version_by_alias(settings.training.registered_model, CHAMPION)
    except MlflowException:
        return False
    return True
