"""Real data: the Catalonia juvenile-justice table through previ's grid, and the SAVRY beside it.

    python bench/catalonia.py [--data ../shared/data] [--resamples 1000]

Prints the pooled out-of-fold ROC AUC (95% bootstrap interval) of every model
of the grid trained with `previ train --table` settings (sex and nationality as
audit-only groups, the outcome's own columns V100-V139 excluded), the ROC AUC
of the SAVRY total score on the young people it assessed, and the fairness
audit of the SAVRY total score by nationality and sex (threshold: the median
total score of the assessed, 15, since SAVRY publishes no total-score cut-off).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from fairness_audits import Threshold, audit, write_report
from previ.config import TrainingConfig
from training.evaluate import evaluate
from training.pipeline import training_set_from_table
from training.train import run_training

LABEL = "V115_reincidencia_2015"
SAVRY = "V60_SAVRY_total_score"
GROUPS = ["V1_sexe", "V4_nacionalitat_agrupat"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--report", type=Path, default=None, help="write the SAVRY audit report here")
    args = parser.parse_args()
    path = args.data / "catalonia-juvenile" / "reincidenciaJusticiaMenors.csv"
    data = training_set_from_table(
        path,
        label=LABEL,
        id_column="id",
        time=None,
        groups=GROUPS,
        exclude=["V1[0-3][0-9]_*"],
        positive="Sí",
        horizon_days=365,
    )
    result = run_training(data, TrainingConfig(resamples=args.resamples))
    print(
        f"Catalonia, {len(data.label):,} young people, {len(data.feature_names)} features, stratified 5-fold:"
    )
    for name, model in result.models.items():
        low, high = model.evaluation.intervals["roc_auc"]
        print(f"  {name:12s} ROC AUC {model.evaluation.values['roc_auc']:.3f} ({low:.3f}-{high:.3f})")

    table = pd.read_csv(path, low_memory=False)
    assessed = table[table[SAVRY].notna()].copy()
    assessed["label"] = (assessed[LABEL].str.strip() == "Sí").astype(int)
    scores = assessed[SAVRY].to_numpy(dtype=float)
    savry = evaluate(assessed["label"].to_numpy(), scores / scores.max(), k=0.1, resamples=args.resamples)
    low, high = savry.intervals["roc_auc"]
    print(
        f"  SAVRY total  ROC AUC {savry.values['roc_auc']:.3f} ({low:.3f}-{high:.3f}) "
        f"on {len(assessed)} assessed"
    )

    assessed[GROUPS] = assessed[GROUPS].fillna("missing")
    result_audit = audit(
        assessed[[*GROUPS, "label", SAVRY]],
        label="label",
        score=SAVRY,
        groups=GROUPS,
        rule=Threshold(15.0),
        resamples=args.resamples,
        seed=0,
    )
    print("SAVRY total >= 15 by group (FNR and FPR with 95% intervals):")
    for group in result_audit.to_dict()["groups"]:
        if "*" in group["column"]:
            continue
        metrics = group["metrics"]
        cells = []
        for metric in ("fnr", "fpr"):
            value, ci = metrics[metric]["value"], metrics[metric]["ci"]
            cells.append(
                f"{metric.upper()} " + ("-" if value is None else f"{value:.1%} ({ci[0]:.1%}-{ci[1]:.1%})")
            )
        print(f"  {group['column']}={group['value']} (n={group['n']}, {group['status']}): {'; '.join(cells)}")
    print(f"  gate: {result_audit.gate.to_dict()['status']}")
    with tempfile.TemporaryDirectory() as scratch:
        target = args.report or Path(scratch) / "savry_audit"
        write_report(result_audit, target, lang="en")
        print(f"  report: {target / 'report.html'}" if args.report else "")


if __name__ == "__main__":
    main()
