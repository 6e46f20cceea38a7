"""Coordinated reload: a reload publishes the model in the served_model row, every worker follows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from previ.errors import PreviError
from service.database import make_engine
from service.model_store import LoadedModel, ModelHolder
from service.served_model import ModelFollower, ServedModel


def _model(version: str, sha: str) -> LoadedModel:
    fake: Any = None  # the holder and the row look at version and digest only
    return LoadedModel(
        fake, version, sha * 64, f"models:/m/{version}", {}, None, None, dt.datetime.now(dt.UTC)
    )


class Registry:
    """Stands in for the MLflow registry: a champion alias and versions with their digests."""

    def __init__(self) -> None:
        self.champion = "1"
        self.digests = {"1": "a", "2": "b", "3": "c"}
        self.loads: list[str] = []

    def load_champion(self) -> LoadedModel:
        return self.load_version(self.champion)

    def load_version(self, version: str) -> LoadedModel:
        self.loads.append(version)
        return _model(version, self.digests[version])


def _worker(url: str, registry: Registry) -> ModelFollower:
    holder = ModelHolder(registry.load_champion)
    return ModelFollower(
        holder,
        ServedModel(make_engine(url, fsync=False)),
        load_champion=registry.load_champion,
        load_version=registry.load_version,
    )


def test_every_worker_serves_what_the_last_reload_published(store_url: str) -> None:
    registry = Registry()
    first, second = _worker(store_url, registry), _worker(store_url, registry)
    for worker in (first, second):  # start-up: each loads the champion and publishes it
        worker.reload_champion()
    assert first.follow() is None and second.follow() is None  # both already serve it
    registry.champion = "2"  # previ promote 2, then POST /v1/admin/reload reaches the first worker
    swap = first.reload_champion()
    assert swap.current.version == "2" and second.holder.current is not None
    assert second.holder.current.version == "1"
    followed = second.follow()
    assert followed is not None and followed.current.version == "2" and followed.changed
    target = second.served.read()
    assert target is not None and (target.version, target.sha256) == ("2", "b" * 64)
    assert target.generation == 3
    assert second.follow() is None


def test_a_published_model_that_fails_here_is_refused_once_and_the_old_one_stays(store_url: str) -> None:
    registry = Registry()
    first, second = _worker(store_url, registry), _worker(store_url, registry)
    first.reload_champion()
    second.reload_champion()
    registry.champion = "3"
    first.reload_champion()
    registry.digests["3"] = "d"  # what the second worker downloads is not what the first checked
    loads = len(registry.loads)
    assert second.follow() is None
    assert second.holder.current is not None and second.holder.current.version == "1"
    assert second.holder.last_error is not None and "served_model row names" in second.holder.last_error
    assert second.follow() is None and len(registry.loads) == loads + 1  # not retried until the row moves


def test_a_reload_that_cannot_publish_swaps_nothing(tmp_path: Any) -> None:
    registry = Registry()
    (tmp_path / "blocked").mkdir()
    worker = _worker(f"sqlite:///{tmp_path / 'blocked'}", registry)  # a folder where the database should be
    with pytest.raises(PreviError, match="served_model row"):
        worker.reload_champion()
    assert worker.holder.current is None


def test_a_serving_process_settles_its_heap_after_each_swap_and_not_after_a_refusal() -> None:
    """The hook runs once the new model is in (serving processes freeze their heap there, service.heap)."""
    import gc

    from service.heap import settle_heap

    swaps: list[str | None] = []
    registry = Registry()
    holder = ModelHolder(
        registry.load_champion,
        after_swap=lambda: swaps.append(holder.current.version if holder.current else None),
    )
    holder.reload()
    with pytest.raises(PreviError):
        holder.reload(lambda: (_ for _ in ()).throw(PreviError("model: digest differs")))
    holder.reload(lambda: registry.load_version("2"))
    assert swaps == ["1", "2"]  # after each swap, with the new model already served; none for the refusal
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0  # what survived is out of the collector's later passes
    finally:
        gc.unfreeze()
