"""The vectorised bootstrap: exact per resample, stratified, deterministic, and honest intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from fairness_audits import Threshold, TopK, audit
from fairness_audits.bootstrap import ResampledTopK, SufficientStatistics, _resampled_counts, compress
from fairness_audits.groups import build_partitions, group_labels_of
from fairness_audits.metrics import AUC_U, BASELINE_TP, FN, FP, N_STATISTICS, TN, TP, compute_metrics
from tests.fairness_audits.factories import synthetic_table


def _statistics_for(frame_rows: int, seed: int, *, discrete: bool):  # type: ignore[no-untyped-def]
    frame = synthetic_table(frame_rows, seed=seed)
    score = frame["probability"].to_numpy()
    if discrete:
        score = np.round(score, 1)  # many ties
    label = frame["outcome"].to_numpy().astype(bool)
    selected = score >= 0.3
    row_cell, partitions = build_partitions({c: group_labels_of(frame[c]) for c in ("municipality", "sex")})
    atoms = compress(row_cell, score, label, selected)
    return frame, score, label, selected, row_cell, partitions, atoms


@pytest.mark.parametrize("discrete", [False, True])
def test_statistics_of_any_weighting_match_sklearn_with_sample_weights(discrete: bool) -> None:
    _, score, label, selected, row_cell, partitions, atoms = _statistics_for(600, 1, discrete=discrete)
    kernel = SufficientStatistics(atoms, partitions, calibration=True)
    weights = np.random.default_rng(5).poisson(1.0, size=(len(atoms.count), 3)).astype(float)
    per_partition = kernel(weights, weights * atoms.selected[:, np.newaxis])
    # Row weights: an atom's weight spread over its rows keeps every sum the same.
    row_atom = np.empty(len(row_cell), dtype=np.intp)
    order = np.lexsort((selected, label, score, row_cell))
    row_atom[order] = atoms.position_atom
    for resample in range(weights.shape[1]):
        row_weight = weights[row_atom, resample] / atoms.count[row_atom]
        for partition, statistics in zip(partitions, per_partition, strict=True):
            row_group = partition.cell_group[row_cell]
            for g in range(len(partition.values)):
                mask = row_group == g
                w = row_weight[mask]
                tn, fp, fn, tp = confusion_matrix(
                    label[mask], selected[mask], sample_weight=w, labels=[0, 1]
                ).ravel()
                assert statistics[resample, g, [TP, FP, FN, TN]] == pytest.approx([tp, fp, fn, tn])
                auc = statistics[resample, g, AUC_U] / ((tp + fn) * (fp + tn))
                assert auc == pytest.approx(
                    roc_auc_score(label[mask], score[mask], sample_weight=w), abs=1e-10
                )


def test_resamples_keep_every_group_size_fixed() -> None:
    *_, partitions, atoms = _statistics_for(500, 2, discrete=False)
    kernel = SufficientStatistics(atoms, partitions, calibration=True)
    for partition, statistics in zip(partitions, kernel.bootstrap(150, seed=0), strict=True):
        sizes = statistics[..., [TP, FP, FN, TN]].sum(axis=-1)
        assert np.all(sizes == partition.sizes[np.newaxis, :])


def test_resampled_counts_draw_each_row_of_a_cell_equally_often() -> None:
    *_, atoms = _statistics_for(400, 3, discrete=False)
    total = sum(chunk.sum(axis=1) for chunk in _resampled_counts(atoms, 2000, seed=1))
    expected_per_row = 2000.0
    per_row = total / atoms.count
    assert per_row.mean() == pytest.approx(expected_per_row)
    assert np.abs(per_row - expected_per_row).max() < 6 * np.sqrt(expected_per_row)


def test_intervals_contain_the_point_estimate() -> None:
    result = audit(
        synthetic_table(4_000, seed=4),
        label="outcome",
        score="probability",
        groups=["municipality", "sex"],
        rule=Threshold(0.3),
        resamples=400,
    )
    for group in (result.overall, *result.groups):
        for name, estimate in group.metrics.items():
            if name == "ece":
                continue  # ECE is biased upwards by noise: its interval may sit above the point
            if name == "baseline_recall":
                assert np.isnan(estimate.value)  # no champion to compare with
                continue
            low, high = estimate.ci
            assert low <= estimate.value <= high, (group.column, group.value, name)
        for name, disparity in group.disparity.items():
            low, high = disparity.ratio.ci
            assert low <= disparity.ratio.value <= high, (group.column, group.value, name)
        for name, check in group.checks.items():
            low, high = check.estimate.ci
            assert low <= check.estimate.value <= high, (group.column, group.value, name)


def test_ece_interval_is_reported_and_positive() -> None:
    result = audit(
        synthetic_table(4_000, seed=4),
        label="outcome",
        score="probability",
        groups=["sex"],
        rule=Threshold(0.3),
        resamples=300,
    )
    for group in result.groups:
        low, high = group.metrics["ece"].ci
        assert 0 <= low <= high < 0.2


def test_intervals_narrow_as_groups_grow() -> None:
    def width(rows: int) -> float:
        result = audit(
            synthetic_table(rows, seed=6),
            label="outcome",
            score="probability",
            groups=["sex"],
            rule=Threshold(0.3),
            resamples=300,
        )
        low, high = result.group("sex", "F").metrics["tpr"].ci
        return high - low

    small, large = width(1_000), width(10_000)
    assert large < 0.5 * small  # sqrt(10) ~ 3.2 times narrower in theory


def test_same_seed_gives_identical_results_and_other_seeds_differ() -> None:
    frame = synthetic_table(1_500, seed=7)

    def run(seed: int) -> dict[str, object]:
        return audit(
            frame,
            label="outcome",
            score="probability",
            groups=["municipality", "sex"],
            rule=TopK(0.2),
            resamples=200,
            seed=seed,
        ).to_dict()

    assert run(11) == run(11)
    assert run(11)["groups"] != run(12)["groups"]


def test_overall_interval_matches_a_naive_resampling_loop_in_distribution() -> None:
    frame = synthetic_table(800, seed=8)
    result = audit(
        frame, label="outcome", score="probability", groups=["sex"], rule=Threshold(0.3), resamples=2000
    )
    rng = np.random.default_rng(0)
    label = frame["outcome"].to_numpy()
    selected = (frame["probability"] >= 0.3).to_numpy()
    sexes = frame["sex"].to_numpy()
    tprs = []
    for _ in range(2000):
        rows = np.concatenate(
            [rng.choice(np.flatnonzero(sexes == s), (sexes == s).sum()) for s in ("F", "M")]
        )
        tprs.append(selected[rows][label[rows] == 1].mean())
    naive = np.percentile(tprs, [2.5, 97.5])
    assert result.overall.metrics["tpr"].ci == pytest.approx(tuple(naive), abs=0.01)


def test_metric_replicates_are_nan_only_where_undefined() -> None:
    statistics = np.zeros((1, 1, N_STATISTICS))
    statistics[..., TN] = 5.0  # five negatives, no positives
    metrics = compute_metrics(statistics, calibration=False)
    assert np.isnan(metrics["tpr"]).all()
    assert np.isnan(metrics["baseline_recall"]).all()
    assert metrics["fpr"][0, 0] == 0.0
    assert np.isnan(metrics["ece"]).all()


def test_resampled_top_k_selects_exactly_k_in_every_resample_sharing_ties() -> None:
    score = np.array([0.9, 0.7, 0.5, 0.5, 0.1])
    selector = ResampledTopK(score, 3)
    counts = np.array([[1.0, 2.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 2.0], [1.0, 1.0, 2.0], [1.0, 1.0, 0.0]])
    selected = selector(counts)
    assert selected.sum(axis=0) == pytest.approx([3.0, 3.0, 3.0])
    # Resample 0: one row per level; the tie at 0.5 shares the one place left.
    assert selected[:, 0] == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.0])
    # Resample 1: 0.9 drawn twice takes two places, the tied 0.5s share the last one.
    assert selected[:, 1] == pytest.approx([2.0, 0.0, 0.5, 0.5, 0.0])
    # Resample 2: 0.7 once, then four tied rows at 0.5 share two places.
    assert selected[:, 2] == pytest.approx([0.0, 1.0, 1.0, 1.0, 0.0])
    assert np.all(selected <= counts + 1e-12)


def test_resampled_top_k_on_the_observed_counts_is_the_observed_selection_without_ties() -> None:
    frame = synthetic_table(2_000, seed=9)
    score = frame["probability"].to_numpy()
    label = frame["outcome"].to_numpy().astype(bool)
    selected = TopK(0.1).select(score, seed=0)
    row_cell, _ = build_partitions({"sex": group_labels_of(frame["sex"])})
    atoms = compress(row_cell, score, label, selected)
    chosen = ResampledTopK(atoms.score, 200)(atoms.count[:, np.newaxis])
    assert chosen[:, 0] == pytest.approx(atoms.count * atoms.selected)


def test_top_k_intervals_re_select_inside_each_resample() -> None:
    result = audit(
        synthetic_table(5_000, seed=10),
        label="outcome",
        score="probability",
        groups=["municipality"],
        rule=TopK(0.1),
        resamples=300,
    )
    assert result.overall.metrics["selection_rate"].ci == pytest.approx((0.1, 0.1))  # always 500 places
    norte = result.group("municipality", "Norte").metrics["selection_rate"]
    assert norte.ci[0] < norte.value < norte.ci[1]  # the group's share of the places varies


def test_champion_statistics_are_paired_with_the_model_in_every_resample() -> None:
    frame = synthetic_table(3_000, seed=11)
    frame["champion"] = frame["probability"]
    result = audit(
        frame,
        label="outcome",
        score="probability",
        groups=["sex"],
        rule=TopK(0.2),
        champion="champion",
        resamples=200,
    )
    for group in result.groups:
        assert group.metrics["baseline_recall"].value == pytest.approx(group.metrics["tpr"].value)
        assert group.checks["recall_vs_champion"].estimate.ci == pytest.approx((1.0, 1.0))
    statistics = np.zeros(N_STATISTICS)
    statistics[[TP, FN, BASELINE_TP]] = [3.0, 2.0, 4.0]
    assert compute_metrics(statistics, calibration=False)["baseline_recall"] == pytest.approx(4 / 5)
