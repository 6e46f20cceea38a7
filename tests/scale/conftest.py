"""Fixtures of the Dask engine tests: a partitioned bundle, a real loopback cluster, a trained model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scale.partition import partition_bundle
from tests.scale.cluster import loopback_cluster
from tests.service.conftest import registry  # the service tests' trained registry, built once per session

__all__ = ["partitioned_bundle", "registry", "scheduler"]

PARTITIONS = 3


@pytest.fixture(scope="session")
def partitioned_bundle(synthetic_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's synthetic bundle (3,000 young people) cut into three buckets."""
    out = tmp_path_factory.mktemp("partitioned") / "bundle"
    partition_bundle(synthetic_bundle, out, PARTITIONS)
    return out


@pytest.fixture(scope="session")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a real `dask scheduler` with two `dask worker` processes on loopback."""
    with loopback_cluster(tmp_path_factory.mktemp("dask"), workers=2) as address:
        yield address
