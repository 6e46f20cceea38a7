"""`previ synth --engine dask`: a partitioned bundle simulated bucket by bucket on a real cluster."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from scale.partition import partition_dirs

pytestmark = pytest.mark.slow

runner = CliRunner()


def _synth(out: Path, scheduler: str, *options: str) -> str:
    result = runner.invoke(
        app,
        ["synth", "--engine", "dask", "--scheduler", scheduler, "--out", str(out), "--years", "3", *options],
    )
    assert result.exit_code == 0, result.output
    return result.output


def _digest(folder: Path) -> str:
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    return hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()


def test_each_young_person_is_simulated_in_one_bucket_with_ids_that_never_repeat(
    scheduler: str, tmp_path: Path
) -> None:
    out = tmp_path / "parts"
    output = _synth(out, scheduler, "--partitions", "3", "--youth", "900", "--seed", "3")
    assert "young people per bucket: 300 to 300" in output
    parts = partition_dirs(out)
    youth = [pd.read_parquet(part / "youth.parquet")["youth_id"] for part in parts]
    assert pd.concat(youth).tolist() == [f"Y{index:06d}" for index in range(900)]
    for part, ids in zip(parts, youth, strict=True):
        for table in ("attendance", "grades", "truth"):
            assert pd.read_parquet(part / f"{table}.parquet")["youth_id"].isin(ids).all()

    again = tmp_path / "again"
    _synth(again, scheduler, "--partitions", "3", "--youth", "900", "--seed", "3")
    assert _digest(again) == _digest(out)  # same seed and buckets, same bytes
    result = runner.invoke(app, ["validate", str(out), "--engine", "dask", "--scheduler", scheduler])
    assert result.exit_code == 0 and "bundle OK" in result.output, result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--partitions", "0"], "error: --partitions: expected 1 to 50 for 50 young people, got 0"),
        ([], "error: synth: --engine dask needs --partitions N (the number of buckets to write)"),
    ],
)
def test_previ_synth_on_dask_refuses_a_bad_number_of_buckets_before_any_cluster_starts(
    tmp_path: Path, options: list[str], message: str
) -> None:
    out = tmp_path / "parts"
    result = runner.invoke(app, ["synth", "--engine", "dask", "--youth", "50", "--out", str(out), *options])
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert not out.exists()
