"""True programme effects: declared, validated, and turned into truth_effects.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.app import app
from previ.config import SynthConfig
from previ.errors import PreviError
from synthetic._effects import PROGRAM_NAMES, load_effects
from synthetic.synth import simulate_bundle


def test_none_declares_no_effect_at_all() -> None:
    effects = load_effects("none")
    program = np.arange(len(PROGRAM_NAMES))
    assert not effects.reduction(program, np.full(program.size, 3.0), np.full(program.size, 11.0)).any()
    assert effects.completion_feed == effects.dropout_feed == 0.0


@given(
    st.floats(-2.0, 4.0), st.floats(-2.0, 4.0), st.floats(11.0, 19.0), st.integers(0, len(PROGRAM_NAMES) - 1)
)
def test_default_reduction_is_bounded_and_grows_with_need(
    need: float, more: float, age: float, program: int
) -> None:
    effects = load_effects("default")
    low, high = sorted((need, more))
    at = effects.reduction(np.array([program, program]), np.array([low, high]), np.array([age, age]))
    assert 0.0 <= at[0] <= at[1] <= 0.9


def test_a_yaml_file_declares_effects_and_bad_fields_are_named(tmp_path: Path) -> None:
    good = tmp_path / "effects.yaml"
    good.write_text("programs:\n  mentoria: {low: 0.0, high: 0.5}\nmonths: 6\n")
    effects = load_effects(str(good))
    assert effects.months == 6
    assert effects.high[PROGRAM_NAMES.index("mentoria")] == 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("programs:\n  mentoria: {low: 2}\n  yoga: {low: 0.1}\nmonths: 0\n")
    with pytest.raises(PreviError) as raised:
        load_effects(str(bad))
    lines = raised.value.lines
    assert "program_effects.programs.mentoria.low: 2 is not a number in [0, 0.9]" in lines
    assert any("unknown programme 'yoga'" in line for line in lines)
    assert "program_effects.months: 0 is not a number in [1, 60]" in lines


def test_truth_effects_hold_the_served_effect_near_zero_without_effects() -> None:
    found = {}
    for spec in ("default", "none"):
        bundle = simulate_bundle(SynthConfig(youth=2000, years=3, seed=5, program_effects=spec), paths=8)
        found[spec] = bundle.truth_effects
    served = found["default"]["served"]
    assert served["n_served"] > 100
    assert 0.08 < served["relative_risk_reduction"] < 0.5
    assert abs(found["none"]["served"]["relative_risk_reduction"]) < 0.05
    assert set(found["default"]["programs"]) == set(PROGRAM_NAMES)


def test_synth_refuses_unknown_program_effects_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["synth", "--youth", "50", "--years", "1", "--program-effects", "lots", "--out", str(tmp_path / "b")],
    )
    assert result.exit_code == 2
    assert "program_effects: 'lots' is neither default, none nor a YAML file" in result.output
    assert not (tmp_path / "b").exists()


def test_written_bundle_has_truth_effects(tmp_path: Path) -> None:
    from synthetic.synth import synthesize

    synthesize(SynthConfig(youth=300, years=2, seed=2), tmp_path / "b")
    written = json.loads((tmp_path / "b" / "truth_effects.json").read_text())
    assert set(written) >= {"served", "programs", "effects"}
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["program_effects"] == "default"
