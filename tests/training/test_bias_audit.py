"""Recording bias injected against one municipality is flagged by the training audit."""

from __future__ import annotations

from pathlib import Path

from previ.config import AuditConfig, DataConfig, PreviConfig, SynthConfig, TrainingConfig
from synthetic.synth import synthesize
from training.fairness import audit_training, flagged_groups
from training.pipeline import training_set_from_bundle
from training.train import run_training

BIASED = "Villa Zaragoza"


def _flags(bundle: Path, scratch: Path) -> dict[str, set[str]]:
    settings = PreviConfig(
        data=DataConfig(dir=bundle),
        training=TrainingConfig(models=("glassbox",), resamples=0),
        audit=AuditConfig(groups=("municipality",), resamples=300),
    )
    result = run_training(training_set_from_bundle(settings), settings.training)
    return flagged_groups(audit_training(result, settings, scratch).champion, "municipality")


def test_municipality_with_biased_records_is_flagged_and_not_without_bias(tmp_path: Path) -> None:
    """Same behaviour, same seed: only the recording differs (rate 4, strong enough for 8,000 people)."""
    plain = SynthConfig(youth=8000, years=5, seed=0)
    synthesize(plain, tmp_path / "plain")
    synthesize(plain.model_copy(update={"bias_municipality": BIASED, "bias_rate": 4.0}), tmp_path / "biased")
    biased = _flags(tmp_path / "biased", tmp_path / "a")
    clean = _flags(tmp_path / "plain", tmp_path / "b")
    assert BIASED in biased
    assert biased[BIASED] & {"selection_rate", "fpr"}  # over-recorded, so over-selected
    assert BIASED not in clean
