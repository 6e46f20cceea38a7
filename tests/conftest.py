"""Shared fixtures: one small synthetic bundle per test session, and the real public data."""

from __future__ import annotations

from pathlib import Path

import pytest

from previ.config import SynthConfig
from synthetic.synth import synthesize
from tests.factories import shared_data_dir


@pytest.fixture(scope="session")
def synthetic_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 young people over 5 years (7 as_of dates with closed label windows)."""
    folder = tmp_path_factory.mktemp("bundle") / "synthetic"
    synthesize(SynthConfig(youth=3000, years=5, seed=11), folder)
    return folder


@pytest.fixture(scope="session")
def catalonia_csv() -> Path:
    path = shared_data_dir() / "catalonia-juvenile" / "reincidenciaJusticiaMenors.csv"
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set PREVI_SHARED_DATA)")
    return path
