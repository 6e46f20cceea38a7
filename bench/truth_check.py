"""Experiment: the glass box against the synthetic truth on a large bundle.

    python bench/truth_check.py [--youth 50000] [--seed 7]

Prints every model's test metrics, the glass box's ROC AUC beside the truth's,
its expected calibration error, and how often the true main driver is among the
top three reasons of the young people in the top decile.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from previ.config import DataConfig, PreviConfig, SynthConfig
from synthetic.synth import synthesize
from training.pipeline import training_set_from_bundle
from training.train import run_training
from training.truth import compare_with_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--youth", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        bundle = Path(scratch) / "bundle"
        synthesize(SynthConfig(youth=args.youth, years=5, seed=args.seed), bundle)
        settings = PreviConfig(data=DataConfig(dir=bundle))
        started = time.perf_counter()
        result = run_training(training_set_from_bundle(settings), settings.training)
        print(f"trained the grid in {time.perf_counter() - started:.0f} s; {result.folds[-1].description}")
        for name, model in result.models.items():
            values, (low, high) = model.evaluation.values, model.evaluation.intervals["roc_auc"]
            print(
                f"{name:12s} ROC AUC {values['roc_auc']:.3f} ({low:.3f}-{high:.3f})"
                f"  PR AUC {values['pr_auc']:.3f}  Brier {values['brier']:.4f}  ECE {values['ece']:.4f}"
                f"  precision@k {values['precision_at_k']:.3f}  recall@k {values['recall_at_k']:.3f}"
                f"  lift@k {values['lift_at_k']:.2f}"
            )
        truth = compare_with_truth(result, bundle)
        print(
            f"glass box ROC AUC {truth.model_auc:.4f} vs truth {truth.truth_auc:.4f} "
            f"(gap {truth.auc_gap:.4f}); "
            f"true main driver among the top 3 reasons for {truth.driver_in_top_three:.1%} "
            f"of the top decile ({truth.top_decile:,} young people)"
        )


if __name__ == "__main__":
    main()
