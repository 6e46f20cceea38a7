"""`previ partition`: buckets by young person, each an ordinary bundle, whose matrices add up to the whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.app import app
from features.load import load_bundle
from features.pipeline import as_of_counts, matrix_from_loaded
from features.schemas import TABLES
from previ.config import PreviConfig
from scale.partition import bucket_of, is_partitioned, partition_bundle, partition_dirs

runner = CliRunner()
AS_OF = [pd.Timestamp("2024-02-01").date(), pd.Timestamp("2024-08-01").date()]


@settings(max_examples=30, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40), partitions=st.integers(1, 64))
def test_a_youth_id_always_falls_in_the_same_bucket_whatever_its_padding(
    ids: list[str], partitions: int
) -> None:
    buckets = bucket_of(pd.Series(ids), partitions)
    assert ((buckets >= 0) & (buckets < partitions)).all()
    padded = bucket_of(pd.Series([f"  {value} " for value in ids]), partitions)
    assert (buckets == bucket_of(np.array(list(reversed(ids)), dtype=object), partitions)[::-1]).all()
    assert (padded == bucket_of(pd.Series([value.strip() for value in ids]), partitions)).all()


def test_every_bucket_holds_every_table_and_each_person_with_all_their_rows(
    synthetic_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "parts"
    summary = partition_bundle(synthetic_bundle, out, 4)
    parts = partition_dirs(out)
    assert [part.name for part in parts] == [f"part-0000{index}" for index in range(4)]
    assert sum(summary.youth_per_partition) == 3000 and min(summary.youth_per_partition) > 500
    for name in TABLES:
        whole = pd.read_parquet(synthetic_bundle / f"{name}.parquet")
        pieces = [pd.read_parquet(part / f"{name}.parquet") for part in parts]
        assert sum(len(piece) for piece in pieces) == len(whole) == summary.rows[name]
        for index, piece in enumerate(pieces):
            assert (bucket_of(piece["youth_id"], 4) == index).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["partitions"] == 4 and manifest["partitioned_by"] == "youth_id"
    assert not (parts[0] / "truth.parquet").exists()  # the buckets are bundles: no stray files


def test_the_matrices_of_the_buckets_are_the_matrix_of_the_whole(
    synthetic_bundle: Path, tmp_path: Path
) -> None:
    """The invariant the Dask engine stands on, checked in one process on a CSV bundle."""
    csv_bundle = tmp_path / "csv"
    csv_bundle.mkdir()
    extraction = json.loads((synthetic_bundle / "manifest.json").read_text())["extraction_date"]
    (csv_bundle / "manifest.json").write_text(json.dumps({"extraction_date": extraction}))
    for name in TABLES:
        frame = pd.read_parquet(synthetic_bundle / f"{name}.parquet")
        frame.head(3000 if name == "youth" else 40_000).to_csv(csv_bundle / f"{name}.csv", index=False)
    youth = set(pd.read_csv(csv_bundle / "youth.csv")["youth_id"])
    for name in TABLES:  # keep events of the young people kept
        frame = pd.read_csv(csv_bundle / f"{name}.csv", dtype=str)
        frame[frame["youth_id"].isin(youth)].to_csv(csv_bundle / f"{name}.csv", index=False)
    partition_bundle(csv_bundle, tmp_path / "parts", 3)
    config = PreviConfig()

    whole = matrix_from_loaded(load_bundle(csv_bundle), config, as_of=AS_OF)
    parts = [
        matrix_from_loaded(load_bundle(part), config, as_of=AS_OF)
        for part in partition_dirs(tmp_path / "parts")
    ]
    joined = pd.concat([part.frame for part in parts]).sort_values(["youth_id", "as_of"], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole.frame, check_exact=True)
    assert all(part.features == whole.features for part in parts)
    summed = pd.concat([as_of_counts(part.frame) for part in parts]).groupby("as_of", as_index=False).sum()
    pd.testing.assert_frame_equal(summed, as_of_counts(whole.frame))


def test_previ_partition_refuses_bad_input_in_one_line_and_writes_nothing(
    synthetic_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "parts"
    result = runner.invoke(
        app, ["partition", "--data", str(synthetic_bundle), "--out", str(out), "--partitions", "0"]
    )
    assert result.exit_code == 2
    assert result.output.strip() == "error: --partitions: expected 1 to 100,000, got 0"

    broken = tmp_path / "broken"
    broken.mkdir()
    pd.read_parquet(synthetic_bundle / "youth.parquet").head(5).to_parquet(broken / "youth.parquet")
    result = runner.invoke(app, ["partition", "--data", str(broken), "--out", str(out), "--partitions", "40"])
    assert result.exit_code == 2
    assert "40 buckets for 5 young people leave" in result.output and "use fewer buckets" in result.output

    pd.read_parquet(synthetic_bundle / "grades.parquet").drop(columns="youth_id").to_parquet(
        broken / "grades.parquet"
    )
    result = runner.invoke(app, ["partition", "--data", str(broken), "--out", str(out), "--partitions", "2"])
    assert result.exit_code == 2
    assert "grades: no youth_id column in grades.parquet" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [broken]


def test_the_dask_engine_asks_for_a_partitioned_bundle(synthetic_bundle: Path, tmp_path: Path) -> None:
    assert not is_partitioned(synthetic_bundle)
    result = runner.invoke(
        app,
        [
            "features",
            "--engine",
            "dask",
            "--data",
            str(synthetic_bundle),
            "--out",
            str(tmp_path / "f.parquet"),
        ],
    )
    assert result.exit_code == 2
    assert "is not a partitioned bundle" in result.output and "previ partition" in result.output
    assert not (tmp_path / "f.parquet").exists()


def test_the_dask_engine_writes_parquet_only(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["features", "--engine", "dask", "--data", str(tmp_path), "--out", str(tmp_path / "f.csv")]
    )
    assert result.exit_code == 2
    assert "f.csv must end in .parquet" in result.output


@pytest.mark.parametrize("partitions", [1, 7])
def test_any_number_of_buckets_keeps_every_young_person_once(
    synthetic_bundle: Path, tmp_path: Path, partitions: int
) -> None:
    partition_bundle(synthetic_bundle, tmp_path / "parts", partitions)
    ids = pd.concat(
        [pd.read_parquet(part / "youth.parquet")["youth_id"] for part in partition_dirs(tmp_path / "parts")]
    )
    assert ids.is_unique and len(ids) == 3000
