"""Session fixtures of the service tests: one trained registry, one running service."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.factories import Registry, RunningService, build_registry, running_service


@pytest.fixture(scope="session")
def registry(synthetic_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A real trained glass box in a real MLflow registry, shared by pytest-xdist workers."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    return build_registry(shared / "service-registry", synthetic_bundle)


@pytest.fixture(scope="session")
def service(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The champion (previ-risk v1) served on loopback; tests must not move its alias."""
    folder = tmp_path_factory.mktemp("service")
    with running_service(registry.config(), folder) as running:
        yield running
