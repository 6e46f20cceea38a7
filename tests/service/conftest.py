"""Session fixtures of the service tests: one trained registry, one running service per database backend."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import BACKENDS, postgres_schema
from tests.service.factories import Registry, RunningService, build_registry, running_service


@pytest.fixture(scope="session")
def registry(synthetic_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A real trained glass box in a real MLflow registry, shared by pytest-xdist workers."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    return build_registry(shared / "service-registry", synthetic_bundle)


@pytest.fixture(scope="session", params=BACKENDS)
def service(
    request: pytest.FixtureRequest, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """The champion (previ-risk v1) served on loopback, over SQLite files or one PostgreSQL schema.

    Tests must not move its alias. Tests whose subject is not the stores pin it to
    SQLite: ``pytest.mark.parametrize("service", ["sqlite"], indirect=True)``.
    """
    folder = tmp_path_factory.mktemp("service")
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(postgres_schema()) if request.param == "postgresql" else None
        yield stack.enter_context(running_service(registry.config(), folder, database=database))
