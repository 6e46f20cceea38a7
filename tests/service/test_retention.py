"""`previ forget` and `previ purge`: a young person's rows go, except from the audit log, which records it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from service.audit_chain import verify_chain
from service.audit_log import Access, AuditLog, FeedbackEntry, feedback_table
from service.batch import snapshot_store, write_snapshot
from service.caseload import caseload_store
from service.pseudonym import Pseudonymizer
from service.retention import purge_expired
from service.snapshots import reasons_table, scores_table, snapshots_table
from tests.service.factories import Registry, service_settings

pytestmark = pytest.mark.slow


def test_forget_deletes_a_young_person_everywhere_but_the_audit_log(
    registry: Registry, tmp_path: Path, store_url: str
) -> None:
    settings = service_settings(tmp_path, store_url)
    with registry.tracking():
        summary = write_snapshot(
            registry.config(), data_dir=registry.bundle, as_of=dt.date(2025, 8, 1), settings=settings
        )
    store = snapshot_store(settings)
    with store.engine.connect() as connection:
        youth_id, other = connection.execute(select(scores_table.c.youth_id).limit(2)).scalars().all()
    caseload_store(settings).add(caseworker="ana", youth_id=youth_id)
    audit = AuditLog(settings.audit_url, key=settings.key("audit"), fsync=False)
    pseudonym = Pseudonymizer(settings.key("pseudonym"))(youth_id)
    access = Access(endpoint="/v1/feedback", method="POST", outcome="allowed", status=201, token_id="t1")
    audit.record_feedback(access, pseudonym, FeedbackEntry("referral_made", "mentoria", None, None, "1"))
    config = tmp_path / "previ.yaml"
    names = ("tokens_file", "pseudonym_key_file", "audit_key_file", "session_key_file", "snapshot_dir")
    section = {name: str(getattr(settings, name)) for name in names} | {
        "audit_url": settings.audit_url,
        "snapshot_url": settings.snapshot_url,
    }
    config.write_text(yaml.safe_dump({"service": section}))

    result = CliRunner().invoke(app, ["forget", youth_id, "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert youth_id not in result.output and "1 caseload" in result.output and "1 feedback" in result.output
    with store.engine.connect() as connection:
        for table in (scores_table, reasons_table):
            remaining = connection.execute(select(table.c.youth_id).where(table.c.youth_id == youth_id)).all()
            assert remaining == []
        assert connection.execute(select(scores_table).where(scores_table.c.youth_id == other)).first()
    for parquet in summary.folder.glob("*.parquet"):
        frame = pd.read_parquet(parquet)
        if "youth_id" in frame.columns:
            assert youth_id not in set(frame["youth_id"]) and len(frame) > 0
    assert caseload_store(settings).youth_of("ana") == []
    with audit.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(feedback_table)).scalar_one() == 0
    entries = audit.entries(youth=pseudonym)
    assert entries[0]["endpoint"] == "cli" and entries[0]["detail"].startswith("forget:")
    assert len(entries) == 2  # the feedback's access entry stays: it holds the pseudonym, not the id
    assert verify_chain(audit, settings.key("audit")).intact


def test_retention_purges_older_snapshots_and_feedback(
    registry: Registry, tmp_path: Path, store_url: str
) -> None:
    settings = service_settings(tmp_path, store_url, retention_days=30)
    with registry.tracking():
        summary = write_snapshot(
            registry.config(), data_dir=registry.bundle, as_of=dt.date(2025, 8, 1), settings=settings
        )
    audit = AuditLog(settings.audit_url, key=settings.key("audit"), fsync=False)
    access = Access(endpoint="/v1/feedback", method="POST", outcome="allowed", status=201, token_id="t1")
    audit.record_feedback(
        access,
        Pseudonymizer(settings.key("pseudonym"))("Y1"),
        FeedbackEntry("referral_made", None, None, None, "1"),
    )

    kept = purge_expired(settings)
    purged = purge_expired(settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31))

    assert (kept.snapshots, kept.feedback_rows) == (0, 0)
    assert (purged.snapshots, purged.feedback_rows) == (1, 1)
    assert not summary.folder.exists()
    with snapshot_store(settings).engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(snapshots_table)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(scores_table)).scalar_one() == 0
    assert audit.entries(limit=1)[0]["detail"].startswith("retention 30 days: 1 snapshots, 1 feedback")
