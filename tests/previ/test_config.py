"""previ.yaml: defaults, validation errors that name the key, and the --config option."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from previ.config import PreviConfig, load_config
from previ.errors import PreviError


def test_missing_default_file_gives_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config() == PreviConfig()


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "previ.yaml"
    path.write_text("")
    assert load_config(path) == PreviConfig()


def test_values_are_read_and_typed(tmp_path: Path) -> None:
    path = tmp_path / "previ.yaml"
    path.write_text(
        "features:\n  horizon_days: 180\n  as_of: [2024-02-01, 2023-08-01]\ntraining:\n  k: 250\n"
    )
    config = load_config(path)
    assert config.features.horizon_days == 180
    assert [str(date) for date in config.features.as_of] == ["2023-08-01", "2024-02-01"]
    assert config.training.k == 250


def test_unknown_key_is_one_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "previ.yaml"
    path.write_text("features:\n  horizon_day: 180\n")
    with pytest.raises(PreviError) as error:
        load_config(path)
    assert error.value.lines == (f"{path}: unknown key 'features.horizon_day'",)


def test_wrong_value_names_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "previ.yaml"
    path.write_text("training:\n  k: -3\n")
    with pytest.raises(PreviError, match=r"'training\.k' input should be greater than 0 \(got -3\)"):
        load_config(path)


def test_malformed_yaml_and_missing_file_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("features: [unclosed\n")
    with pytest.raises(PreviError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(PreviError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_cli_reports_a_bad_config_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "previ.yaml"
    path.write_text("synth:\n  youths: 10\n")
    result = CliRunner().invoke(
        app, ["features", "--config", str(path), "--out", str(tmp_path / "f.parquet")]
    )
    assert result.exit_code == 2
    assert "unknown key 'synth.youths'" in result.output
    assert "Traceback" not in result.output


def test_every_command_has_help_and_takes_config() -> None:
    runner = CliRunner()
    main = runner.invoke(app, ["--help"])
    assert main.exit_code == 0
    for command in ("quickstart", "synth", "validate", "features", "train", "promote", "audit"):
        assert command in main.output
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "--config" in result.output


def test_example_file_is_generated_from_the_models_and_parses_to_the_defaults() -> None:
    from previ.config import example_yaml

    example = Path(__file__).resolve().parents[2] / "previ.example.yaml"
    assert example.read_text(encoding="utf-8") == example_yaml(), (
        "previ.example.yaml is stale: regenerate it with "
        "python -c 'from previ.config import example_yaml as e; print(e(), end=\"\")' > previ.example.yaml"
    )
    assert load_config(example) == PreviConfig()
