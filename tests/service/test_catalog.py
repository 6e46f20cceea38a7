"""The programme catalog is validated whole at start: one clear line per problem, and no service."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from previ.errors import PreviError
from service.catalog import default_catalog_path, load_catalog


def _write(tmp_path: Path, edit: object) -> Path:
    raw = yaml.safe_load(default_catalog_path().read_text(encoding="utf-8"))
    edit(raw)  # type: ignore[operator]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_catalog_validates() -> None:
    catalog = load_catalog()
    assert {p.id for p in catalog.programs} >= {"tutoria_academica", "reinsercion_escolar", "mentoria"}
    assert catalog.get("mentoria") is not None and catalog.get("boxeo") is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["programs"][0].update(colour="red"), "unknown key 'programs.0.colour'"),
        (lambda c: c["programs"][1].update(referral_tags=["karate"]), "unknown referral tag 'karate'"),
        (lambda c: c["programs"][2].update(ages=[18, 12]), "'programs.2.ages'"),
        (lambda c: c["programs"][3].update(capacity=-5), "'programs.3.capacity'"),
        (lambda c: c["programs"][4].update(id="mentoria"), "appears more than once"),
        (lambda c: c["programs"][0]["name"].pop("en"), "'programs.0.name.en' is missing"),
        (lambda c: c.pop("version"), "'version' is missing"),
    ],
)
def test_an_invalid_catalog_is_one_error_naming_the_problem(
    tmp_path: Path, edit: object, message: str
) -> None:
    with pytest.raises(PreviError) as raised:
        load_catalog(_write(tmp_path, edit))
    assert any(message in line for line in raised.value.lines), raised.value.lines


def test_previ_serve_stops_with_exit_2_on_a_bad_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _write(tmp_path, lambda c: c["programs"][1].update(referral_tags=["karate"]))
    config = tmp_path / "previ.yaml"
    config.write_text(f"service:\n  catalog: {catalog}\n  pseudonym_key_file: {tmp_path / 'key'}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--port", "1"])
    assert result.exit_code == 2
    assert "unknown referral tag 'karate'" in result.output and "Traceback" not in result.output
