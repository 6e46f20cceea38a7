"""`previ features` writes the matrix all or nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.app import app
from features.registry import FEATURES


def test_features_command_writes_one_row_per_youth_and_as_of(synthetic_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(
        app,
        ["features", "--data", str(synthetic_bundle), "--as-of", "2023-08-01,2024-08-01", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert set(frame["as_of"].dt.strftime("%Y-%m-%d")) == {"2023-08-01", "2024-08-01"}
    assert not frame.duplicated(["youth_id", "as_of"]).any()
    assert {feature.name for feature in FEATURES} <= set(frame.columns)
    assert frame["label"].notna().all()
    assert list(tmp_path.iterdir()) == [out]


def test_failed_features_command_leaves_no_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "attendance.csv").write_text("youth_id\nY1\n")
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(
        app, ["features", "--data", str(bundle), "--as-of", "2024-02-01", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "youth" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["bundle"]


def test_bad_as_of_and_bad_suffix_are_named(tmp_path: Path) -> None:
    runner = CliRunner()
    date = runner.invoke(app, ["features", "--as-of", "2024-13-01", "--out", str(tmp_path / "f.parquet")])
    assert date.exit_code == 2 and "--as-of: '2024-13-01' is not an ISO date" in date.output
    suffix = runner.invoke(app, ["features", "--as-of", "2024-02-01", "--out", str(tmp_path / "f.xlsx")])
    assert suffix.exit_code == 2 and "--out: f.xlsx must end in .parquet or .csv" in suffix.output
