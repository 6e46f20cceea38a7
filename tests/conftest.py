"""Shared fixtures: one small synthetic bundle per test session, the real public data, and databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from previ.config import SynthConfig
from synthetic.synth import synthesize
from tests.databases import BACKENDS, Backend, database_url
from tests.factories import shared_data_dir


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each store test runs on SQLite and on a real PostgreSQL (see tests/databases.py)."""
    chosen: Backend = request.param
    return chosen


@pytest.fixture
def store_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's backend: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    with database_url(backend, tmp_path / "service.db") as url:
        yield url


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
