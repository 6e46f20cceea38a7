"""The README's main job, end to end on a small embedded default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.app import app

CONFIG = """
data:
  dir: {folder}/data/synthetic
synth:
  youth: 2500
training:
  resamples: 100
  out: {folder}/runs/latest
  tracking_uri: sqlite:///{folder}/mlflow.db
audit:
  resamples: 100
"""


def test_quickstart_synthesises_trains_audits_registers_and_promotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = tmp_path / "previ.yaml"
    config.write_text(CONFIG.format(folder=tmp_path))
    result = CliRunner().invoke(app, ["quickstart", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "2,500 young people" in result.output
    assert "glassbox *" in result.output
    assert (tmp_path / "runs/latest/metrics.json").exists()
    assert (tmp_path / "runs/latest/audit/report.html").exists()
    assert "Promoted v1 to champion through the gates, with no review" in result.output
    assert "(shown once)" in result.output
    token = re.search(r"Bearer (previ_\S+)'", result.output)
    assert token is not None and "/score?purpose=case_review" in result.output
    secret = token.group(1).split("_", 2)[2].encode()
    assert secret not in (tmp_path / "audit.db").read_bytes()  # the token table keeps a salted hash only
    version = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db").get_model_version_by_alias(
        "previ-risk", "champion"
    )
    assert "review" not in version.tags  # the gate passed on its own
