"""The Dask engine's :class:`~training.grid.FitEngine`: LightGBM's data-parallel learner on the workers.

Each worker is one machine of LightGBM's own distributed learner
(``tree_learner="data"``: every machine builds histograms over its rows and the
machines sum them over LightGBM's network), so the training rows never meet in
one process. Two things differ from the pandas engine, both forced by LightGBM:

* **The glass box grows stumps.** Interaction constraints, which keep the pandas
  engine's trees of 4 or 8 leaves to one feature, make the distributed learner
  fail (``std::bad_array_new_length``; LightGBM issue #5680, open, reproduced
  with LightGBM 4.7.0). A tree of depth 1 uses one feature by its shape, so the
  model stays additive and compiles to the same lookup tables
  (``glassbox_params(stumps=True)``); the grid searches ``min_child_samples``
  only. On the test bundle its test-fold ROC AUC is within 0.005 of the pandas
  fit (tests/scale/test_train_distributed.py).
* **Rows are pinned to ranks, so a fit is repeatable.** The data-parallel
  learner's bins and histogram sums depend on which rank holds which rows.
  ``lightgbm.dask`` orders its machines by a set of task keys
  (``Client.who_has``), so two runs on the same data can give different trees;
  here the training rows of the k-th bucket (young people, by
  :func:`scale.partition.bucket_of`) go to rank ``k mod W`` of the ``W``
  workers in address order. The same partitioning and the same number of
  workers give the same trees, bit for bit.

Early stopping runs on the client: boosting proceeds in chunks of
:data:`CHUNK_ROUNDS` trees (each chunk continues the previous model), the
client scores the stop rows after every tree and applies LightGBM's own rule
(:func:`stopping_point`), so a fit keeps the trees the pandas engine's
``lgb.early_stopping`` would keep on the same losses. The logistic
regression is fitted in the client on a documented sample of young people
(:data:`LOGISTIC_MAX_ROWS`; every row when the training rows are fewer).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed.scheduler import KilledWorker

from models.glassbox import glassbox_params, lightgbm_names
from previ.errors import PreviError
from scale.partition import bucket_of
from training.dataset import TrainingSet
from training.grid import MAX_ROUNDS, PATIENCE, lightgbm_settings
from training.splits import _bucket

__all__ = ["CHUNK_ROUNDS", "DASK_GLASSBOX_GRID", "LOGISTIC_MAX_ROWS", "DaskFit", "stopping_point"]

DASK_GLASSBOX_GRID: Mapping[str, tuple[Any, ...]] = {"num_leaves": (2,), "min_child_samples": (50, 200)}
CHUNK_ROUNDS = 100
"""Trees grown per distributed call while early stopping watches (a chunk past the stop is cut off)."""
LOGISTIC_MAX_ROWS = 1_000_000
"""The logistic regression is fitted on at most about this many rows, all rows of the young people sampled."""
NETWORK_TIMEOUT_MINUTES = 30
LABEL = "__previ_label__"
NETWORK_LINES = re.compile(r"^\[(?:machines|local_listen_port): [^\n]*\]\n", flags=re.MULTILINE)
"""The model text's record of this run's ports, left out so that a model's text is repeatable."""
CATEGORICAL = "The Dask engine trains on registry features (numbers); {names} are categorical."
RANK_FAILED = (
    "dask: LightGBM's distributed training failed on a worker ({error}); a worker that ran out of memory "
    "needs a higher --memory-limit or more workers"
)


class DaskFit:
    """Fits boosted models with LightGBM's data-parallel learner on the workers of ``client``.

    ``partitions`` is the number of buckets of the partitioned bundle the rows
    come from; it fixes which rank each young person's rows go to.
    """

    glassbox_grid: Mapping[str, tuple[Any, ...]] = DASK_GLASSBOX_GRID

    def __init__(self, client: Any, partitions: int) -> None:
        self.client = client
        self.partitions = partitions
        self._shipped: tuple[weakref.ref[TrainingSet], list[list[Any]]] | None = None

    def glassbox(
        self,
        train: TrainingSet,
        stop: TrainingSet,
        *,
        seed: int,
        threads: int,
        params: dict[str, Any],
        rounds: int | None,
    ) -> lgb.Booster:
        settings = glassbox_params(train.feature_names, train.monotone, seed=seed, stumps=True, **params)
        booster, best = self._boost(settings, train, stop, rounds)
        return _cut(booster, best)

    def lightgbm(
        self,
        train: TrainingSet,
        stop: TrainingSet,
        *,
        seed: int,
        threads: int,
        params: dict[str, Any],
        rounds: int | None,
    ) -> lgb.Booster:
        booster, best = self._boost(lightgbm_settings(seed, threads, params), train, stop, rounds)
        return _cut(booster, best)

    def logistic_rows(self, train: TrainingSet) -> TrainingSet:
        """Every row, or all rows of a stable sample of young people of about LOGISTIC_MAX_ROWS rows."""
        if len(train.label) <= LOGISTIC_MAX_ROWS:
            return train
        scale = 1_000_000
        kept = (
            _bucket(train.ids, scale, salt="logistic sample:") < LOGISTIC_MAX_ROWS / len(train.label) * scale
        )
        return train.subset(kept)

    def _boost(
        self, params: dict[str, Any], train: TrainingSet, stop: TrainingSet, rounds: int | None
    ) -> tuple[lgb.Booster, int]:
        """(booster, trees to keep): exactly ``rounds``, or early stopping on ``stop``."""
        if train.categorical:
            raise PreviError(CATEGORICAL.format(names=", ".join(train.categorical)))
        ranks = self._ship(train)
        if rounds is not None:
            return self._grow(params, ranks, rounds, None), rounds
        stop_features = stop.features.set_axis(lightgbm_names(stop.feature_names), axis=1)
        booster = None
        losses: list[float] = []
        raw = np.zeros(len(stop.label))
        while True:
            grow = min(CHUNK_ROUNDS, MAX_ROUNDS - len(losses))
            booster = self._grow(params, ranks, grow, booster)
            chunk, raw = staged_log_loss(booster, stop_features, stop.label, start=len(losses), raw=raw)
            losses.extend(chunk)
            point = stopping_point(losses, PATIENCE, final=len(losses) >= MAX_ROUNDS)
            if point is not None:
                return booster, point[0]

    def _ship(self, train: TrainingSet) -> list[list[Any]]:
        """The training rows on the workers, bucket k's rows on rank k mod W; sent once per training set."""
        if self._shipped is not None and self._shipped[0]() is train:
            return self._shipped[1]
        workers = sorted(self.client.scheduler_info()["workers"])
        frame = train.features.set_axis(lightgbm_names(train.feature_names), axis=1)
        frame[LABEL] = train.label.astype(np.float64)
        buckets = bucket_of(train.ids, self.partitions)
        order = np.argsort(buckets, kind="stable")
        present, starts = np.unique(buckets[order], return_index=True)
        count = min(len(workers), len(present))
        ranks: list[list[Any]] = [[] for _ in range(count)]
        for position, rows in enumerate(np.split(order, starts[1:])):
            rank = position % count
            piece = frame.iloc[rows].reset_index(drop=True)
            ranks[rank].append(self.client.scatter(piece, workers=[workers[rank]], hash=False))
        self._shipped = (weakref.ref(train), ranks)
        return ranks

    def _grow(
        self, params: dict[str, Any], ranks: list[list[Any]], rounds: int, init: lgb.Booster | None
    ) -> lgb.Booster:
        """``rounds`` more trees on top of ``init``, one task per rank on its worker."""
        workers = sorted(self.client.scheduler_info()["workers"])[: len(ranks)]
        threads = self.client.nthreads()
        ports = self.client.run(_free_port, workers=workers)
        machines = ",".join(f"{_host(worker)}:{ports[worker]}" for worker in workers)
        init_text = None if init is None else init.model_to_string()
        futures = [
            self.client.submit(
                _train_rank,
                pieces,
                {
                    **params,
                    "num_threads": threads[worker],
                    "tree_learner": "data",
                    "num_machines": len(workers),
                    "machines": machines,
                    "local_listen_port": ports[worker],
                    "time_out": NETWORK_TIMEOUT_MINUTES,
                },
                rounds,
                init_text,
                rank,
                workers=[worker],
                allow_other_workers=False,
                pure=False,
            )
            for rank, (worker, pieces) in enumerate(zip(workers, ranks, strict=True))
        ]
        try:
            texts = self.client.gather(futures)
        except (lgb.basic.LightGBMError, KilledWorker) as error:
            raise PreviError(RANK_FAILED.format(error=error)) from None
        finally:
            self.client.cancel(futures)
        return lgb.Booster(model_str=texts[0])


def stopping_point(losses: list[float], patience: int, *, final: bool) -> tuple[int, int] | None:
    """LightGBM's early-stopping rule on a list of per-tree losses: (best trees, trees grown) or None.

    As ``lightgbm.early_stopping`` (lower is better, no minimum delta): the best
    iteration is the first with the lowest loss so far; boosting stops at the
    first iteration ``patience`` past it, or at the last (``final``). None: not
    stopped yet, grow more.
    """
    best_index = 0
    for index, loss in enumerate(losses):
        if index == 0 or loss < losses[best_index]:
            best_index = index
        elif index - best_index >= patience:
            return best_index + 1, index + 1
    return (best_index + 1, len(losses)) if final and losses else None


def staged_log_loss(
    booster: lgb.Booster, features: pd.DataFrame, label: np.ndarray, *, start: int, raw: np.ndarray
) -> tuple[list[float], np.ndarray]:
    """The mean log loss after each tree from ``start`` on, and the raw scores after the last one.

    ``raw`` holds the rows' raw scores after ``start`` trees; each tree adds its
    leaf value (the first tree's leaves carry LightGBM's initial score).
    """
    trees = booster.num_trees() - start
    leaves = np.asarray(
        booster.predict(features, start_iteration=start, num_iteration=trees, pred_leaf=True), dtype=np.intp
    ).reshape(len(features), trees)
    dumped = booster.dump_model(start_iteration=start, num_iteration=trees)["tree_info"]
    losses = []
    positive = np.asarray(label) == 1
    running = raw.copy()
    for offset, tree in enumerate(dumped):
        values = np.array(
            [booster.get_leaf_output(start + offset, leaf) for leaf in range(int(tree["num_leaves"]))]
        )
        running += values[leaves[:, offset]]
        # -log(sigmoid(raw)) for positives, -log(1 - sigmoid(raw)) for negatives
        loss = np.where(positive, np.logaddexp(0.0, -running), np.logaddexp(0.0, running))
        losses.append(float(loss.mean()))
    return losses, running


def _cut(booster: lgb.Booster, trees: int) -> lgb.Booster:
    """The first ``trees`` trees, as ``lgb.train`` and ``fit_glassbox`` return after early stopping."""
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=trees))
    kept.best_iteration = trees
    return kept


def _train_rank(
    pieces: list[pd.DataFrame], params: dict[str, Any], rounds: int, init: str | None, rank: int
) -> str | None:
    """Runs on a worker: its rows' part of one distributed training; rank 0 returns the model."""
    frame = pd.concat(pieces, ignore_index=True)
    label = frame.pop(LABEL).to_numpy()
    with _network_log_silenced():
        booster = lgb.train(
            params,
            lgb.Dataset(frame, label),
            num_boost_round=rounds,
            init_model=None if init is None else lgb.Booster(model_str=init),
        )
    try:
        return NETWORK_LINES.sub("", booster.model_to_string()) if rank == 0 else None
    finally:
        booster.free_network()


@contextmanager
def _network_log_silenced() -> Iterator[None]:
    """Standard output of this worker process sent to /dev/null while LightGBM sets up its network.

    LightGBM's socket thread prints "Listening..." whatever ``verbose`` says (its
    log level is per thread), and a local cluster's workers print on the
    terminal of the previ command. Dask logs on standard error, which stays.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _free_port() -> int:
    """Runs on a worker: a port free there now, for LightGBM to listen on."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def _host(worker: str) -> str:
    """The host of a Dask worker address such as tcp://10.0.0.5:40123."""
    from urllib.parse import urlparse

    host = urlparse(worker).hostname
    if not host:
        raise PreviError(f"dask: cannot read the host of worker {worker}")
    return host
