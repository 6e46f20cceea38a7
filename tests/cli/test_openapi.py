"""`previ openapi`: publish the API contract, and refuse to break a published one under its version."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.app import app


def test_openapi_publishes_the_contract_and_refuses_a_field_dropped_under_the_same_major(
    tmp_path: Path,
) -> None:
    stored = tmp_path / "openapi.json"
    published = CliRunner().invoke(app, ["openapi", "--out", str(stored)])
    assert published.exit_code == 0, published.output
    document = json.loads(stored.read_text())
    assert document["info"]["version"] == "1.0.0" and "/v1/scores" in document["paths"]
    document["components"]["schemas"]["ModelOut"]["properties"]["retired"] = {"type": "string"}
    stored.write_text(json.dumps(document))
    refused = CliRunner().invoke(app, ["openapi", "--out", str(stored)])
    assert refused.exit_code == 2
    assert "error: the API contract changed 1 field(s)" in refused.output
    assert "GET /v1/model 200.retired (string)" in refused.output
    assert "retired" in stored.read_text()  # nothing written
