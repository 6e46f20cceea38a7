"""The Dask engine on a real scheduler with two worker processes gives the pandas engine's results."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from service.batch import write_snapshot
from service.model_store import load_model
from service.settings import service_settings
from tests.service.factories import Registry

pytestmark = pytest.mark.slow

AS_OF = dt.date(2025, 8, 1)
runner = CliRunner()


def _matrix(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values(["youth_id", "as_of"], ignore_index=True)


def test_features_on_two_workers_are_bit_identical_to_pandas(
    synthetic_bundle: Path, partitioned_bundle: Path, scheduler: str, tmp_path: Path
) -> None:
    pandas_out, dask_out = tmp_path / "pandas.parquet", tmp_path / "dask.parquet"
    result = runner.invoke(app, ["features", "--data", str(synthetic_bundle), "--out", str(pandas_out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "features",
            "--engine",
            "dask",
            "--scheduler",
            scheduler,
            "--data",
            str(partitioned_bundle),
            "--out",
            str(dask_out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in dask_out.iterdir()) == [f"part-0000{i}.parquet" for i in range(3)]
    expected, actual = _matrix(pandas_out), _matrix(dask_out)
    assert expected["as_of"].nunique() == 7  # the default dates come from the whole bundle
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    assert f"{len(expected):,} rows x {len(expected.columns) - 8} features" in result.output


def test_a_problem_in_a_bucket_is_named_with_its_bucket_and_nothing_is_written(
    partitioned_bundle: Path, scheduler: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(partitioned_bundle, broken)
    attendance = pd.read_parquet(broken / "part-00001" / "attendance.parquet")
    attendance.loc[0, "days_enrolled"] = -5
    attendance.to_parquet(broken / "part-00001" / "attendance.parquet", index=False)
    result = runner.invoke(app, ["validate", str(broken), "--engine", "dask", "--scheduler", scheduler])
    assert result.exit_code == 2
    problems = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert problems and all(line.startswith("error: part-00001: attendance.") for line in problems)

    out = tmp_path / "features.parquet"
    result = runner.invoke(
        app,
        ["features", "--engine", "dask", "--scheduler", scheduler, "--data", str(broken), "--out", str(out)],
    )
    assert result.exit_code == 2, result.output
    assert "error: part-00001: attendance.days_enrolled" in result.output
    assert "Traceback" not in result.output and not out.exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no temporary left


def test_snapshot_on_two_workers_has_the_scores_and_reasons_of_pandas(
    registry: Registry, partitioned_bundle: Path, scheduler: str, tmp_path: Path
) -> None:
    pandas_config = registry.config(snapshot_dir=str(tmp_path / "pandas"))
    with registry.tracking():
        model = load_model(pandas_config, service_settings(pandas_config))
        expected = write_snapshot(pandas_config, data_dir=registry.bundle, as_of=AS_OF, model=model)
    config = tmp_path / "previ.yaml"
    config.write_text(
        f"data:\n  dir: {partitioned_bundle}\n"
        f"training:\n  tracking_uri: {registry.tracking_uri}\n"
        f"service:\n  snapshot_dir: {tmp_path / 'dask'}\n"
    )
    with registry.tracking():
        result = runner.invoke(
            app,
            [
                "score",
                "--config",
                str(config),
                "--as-of",
                str(AS_OF),
                "--engine",
                "dask",
                "--scheduler",
                scheduler,
            ],
        )
    assert result.exit_code == 0, result.output
    assert f"{expected.rows:,} scored" in result.output
    (folder,) = (tmp_path / "dask").glob(f"{AS_OF}_*")
    for table in ("scores", "reasons", "programs"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(folder / f"{table}.parquet"),
            pd.read_parquet(expected.folder / f"{table}.parquet"),
            check_exact=True,
        )


def test_a_local_cluster_serves_when_no_scheduler_is_given(partitioned_bundle: Path) -> None:
    result = runner.invoke(
        app,
        ["validate", str(partitioned_bundle), "--engine", "dask", "--workers", "1", "--memory-limit", "1GiB"],
    )
    assert result.exit_code == 0, result.output
    assert "dask dashboard: http://127.0.0.1:" in result.output
    assert "bundle OK" in result.output and "3,000" in result.output  # youth rows summed over buckets
