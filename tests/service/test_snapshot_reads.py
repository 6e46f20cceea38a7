"""What a request reads alike is kept in memory, but never past a change of the snapshot database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from service import snapshots
from service.snapshots import SnapshotStore
from tests.databases import postgres_schema


def _write(store: SnapshotStore, *, sha: str, youth_id: str, top: float) -> int:
    scores = pd.DataFrame(
        {
            "youth_id": [youth_id],
            "municipality": ["Villa Zaragoza"],
            "age": [15],
            "probability": [0.3],
            "percentile": [90.0],
            "tier": ["selective"],
        }
    )
    reasons = pd.DataFrame(
        columns=[
            "youth_id",
            "direction",
            "rank",
            "feature",
            "value",
            "contribution",
            "factor",
            "referral_tags",
            "sentence_es",
            "sentence_en",
        ]
    )
    programs = pd.DataFrame({"youth_id": [youth_id], "program": ["tutoria_academica"], "status": ["active"]})
    return store.write(
        as_of=dt.date(2025, 8, 1),
        model_version="1",
        model_sha256=sha,
        folder="unused",
        quantiles=np.linspace(0.0, top, 11),
        scores=scores,
        reasons=reasons,
        programs=programs,
    )


def test_a_snapshot_written_by_another_process_is_read_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'snapshots.db'}"
    serving, batch = SnapshotStore(url), SnapshotStore(url)  # two processes' stores, one file
    assert serving.latest() is None and serving.person("Y1") == (None, None)
    first = _write(batch, sha="a" * 64, youth_id="Y1", top=0.5)
    assert (serving.latest() or _missing()).id == first
    assert (serving.reference_for("a" * 64) or _missing()).quantiles[-1] == 0.5
    assert serving.reference_for("b" * 64) is None
    second = _write(batch, sha="a" * 64, youth_id="Y2", top=0.8)
    assert (serving.latest() or _missing()).id == second
    assert (serving.reference_for("a" * 64) or _missing()).quantiles[-1] == 0.8
    snapshot, person = serving.person("Y2")
    assert snapshot is not None and snapshot.id == second
    assert person is not None and person.enrolments == {"tutoria_academica": "active"}
    assert serving.person("Y1")[1] is None  # the latest snapshot only


def test_a_database_made_again_in_place_is_not_mistaken_for_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "snapshots.db"
    serving = SnapshotStore(f"sqlite:///{path}")
    _write(SnapshotStore(f"sqlite:///{path}"), sha="a" * 64, youth_id="Y1", top=0.5)
    assert (serving.reference_for("a" * 64) or _missing()).quantiles[-1] == 0.5
    serving.engine.dispose()
    other = tmp_path / "other.db"  # a new database, moved in place of the old one (a restore, say)
    _write(SnapshotStore(f"sqlite:///{other}"), sha="a" * 64, youth_id="Y1", top=0.9)
    other.replace(path)
    assert (serving.reference_for("a" * 64) or _missing()).quantiles[-1] == 0.9


def _missing() -> NoReturn:
    raise AssertionError("expected a value")


def test_on_postgresql_this_process_reads_its_own_writes_at_once_and_another_s_within_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_000.25]
    monkeypatch.setattr(snapshots.time, "monotonic", lambda: clock[0])
    with postgres_schema() as url:
        serving, batch = SnapshotStore(url), SnapshotStore(url)  # one process, two stores
        elsewhere = SnapshotStore(str(make_url(url).update_query_dict({"application_name": "previ-score"})))
        try:
            first = _write(batch, sha="a" * 64, youth_id="Y1", top=0.5)
            assert (serving.latest() or _missing()).id == first
            second = _write(batch, sha="a" * 64, youth_id="Y2", top=0.8)
            assert (serving.latest() or _missing()).id == second  # a commit of this process: at once
            assert (serving.reference_for("a" * 64) or _missing()).quantiles[-1] == 0.8
            third = _write(elsewhere, sha="a" * 64, youth_id="Y3", top=0.9)  # as `previ score` would
            assert (serving.latest() or _missing()).id == second  # within the same second: the kept answer
            clock[0] += snapshots.SERVER_STAMP_SECONDS
            assert (serving.latest() or _missing()).id == third
            assert (serving.reference_for("a" * 64) or _missing()).quantiles[-1] == 0.9
        finally:
            for store in (serving, batch, elsewhere):
                store.engine.dispose()


def test_telling_a_change_keeps_every_lock_this_process_holds_on_the_file(tmp_path: Path) -> None:
    """While one connection of this process holds the write lock, checking for changes must not drop it.

    Closing any descriptor of a file drops all of a process's POSIX locks on it
    (SQLite's "how to corrupt a database", 2.2): a stamp read with open/close let
    another worker write during this one's write, and two workers sharing a file
    under load corrupted it. Another process must still find the file locked.
    """
    import sqlite3
    import subprocess
    import sys

    store = SnapshotStore(f"sqlite:///{tmp_path / 'shared.db'}")
    _write(store, sha="a" * 64, youth_id="Y1", top=0.5)
    before = store.stamp()
    writer = sqlite3.connect(tmp_path / "shared.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # this process's write lock (RESERVED)
    writer.execute("CREATE TABLE pending (x)")
    assert store.stamp() == before  # not committed: no change yet, and the lock must survive the check
    other = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
        "try:\n    c.execute('BEGIN IMMEDIATE')\nexcept sqlite3.OperationalError as e:\n    print(e)\n"
        "else:\n    print('got the lock')"
    )
    result = subprocess.run(
        [sys.executable, "-c", other, str(tmp_path / "shared.db")], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "database is locked"
    writer.execute("COMMIT")
    assert store.stamp() != before  # the commit is seen
    writer.close()
    store.engine.dispose()
