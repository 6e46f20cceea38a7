"""`previ score` snapshots and GET /v1/youth/{id}/score: the latest snapshot, earlier ones kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from previ.cli import app
from service.batch import enrolments_at
from tests.service.factories import Registry, RunningService, person, running_service

AS_OF = dt.date(2025, 8, 1)


@pytest.fixture(scope="module")
def scored(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service whose snapshot folder got two `previ score` runs (2025-02-01, then 2025-08-01)."""
    folder = tmp_path_factory.mktemp("snapshots")
    config = folder / "previ.yaml"
    config.write_text(
        f"data:\n  dir: {registry.bundle}\n"
        f"training:\n  tracking_uri: {registry.tracking_uri}\n"
        f"service:\n  snapshot_dir: {folder / 'service' / 'snapshots'}\n"
    )
    runner = CliRunner()
    for as_of in ("2025-02-01", str(AS_OF)):
        with registry.tracking():
            result = runner.invoke(app, ["score", "--config", str(config), "--as-of", as_of])
        assert result.exit_code == 0, result.output
    with running_service(registry.config(), folder / "service") as service:
        service.extra["output"] = result.output
        yield service


def _snapshot(service: RunningService, name: str) -> pd.DataFrame:
    folders = sorted((service.folder / "snapshots").glob(f"{AS_OF}_*"))
    return pd.read_parquet(folders[-1] / name)


def test_previ_score_scores_everyone_of_programme_age_and_keeps_earlier_snapshots(
    scored: RunningService,
) -> None:
    assert "snapshot 2" in scored.extra["output"]
    folders = sorted(path.name[:10] for path in (scored.folder / "snapshots").iterdir() if path.is_dir())
    assert folders == ["2025-02-01", str(AS_OF)]
    scores = _snapshot(scored, "scores.parquet")
    assert scores["youth_id"].is_unique and scores["age"].between(11, 19).all()
    assert set(scores["tier"]) <= {"universal", "selective", "indicated"}
    assert (scored.state.snapshots.latest() or pytest.fail("no snapshot")).id == 2


def test_the_youth_endpoint_reads_the_latest_snapshot(scored: RunningService) -> None:
    scores = _snapshot(scored, "scores.parquet")
    reasons = _snapshot(scored, "reasons.parquet")
    youth = scores.sort_values("probability").iloc[-1]
    scored.state.caseload.add(
        caseworker="test-caseworker", youth_id=youth.youth_id
    )  # scores are caseload-only
    with scored.client("caseworker") as client:
        spanish = client.get(f"/v1/youth/{youth.youth_id}/score", params={"purpose": "case_review"})
        english = client.get(
            f"/v1/youth/{youth.youth_id}/score",
            params={"purpose": "case_review"},
            headers={"Accept-Language": "en"},
        )
    assert spanish.status_code == 200, spanish.text
    answer = spanish.json()
    assert answer["as_of"] == str(AS_OF) and answer["snapshot_id"] == 2 and answer["tier"] == youth.tier
    assert answer["probability"] == pytest.approx(youth.probability, abs=1e-6)
    assert (
        answer["percentile"] == pytest.approx(100.0, abs=1e-6)
        and answer["percentile_reference"] == "snapshot"
    )
    mine = reasons[(reasons["youth_id"] == youth.youth_id) & (reasons["direction"] == "raises")]
    assert [r["sentence"] for r in answer["reasons"]] == mine.sort_values("rank")["sentence_es"].tolist()
    assert [r["sentence"] for r in english.json()["reasons"]] == mine.sort_values("rank")[
        "sentence_en"
    ].tolist()
    assert spanish.headers["cache-control"] == "no-store"


def test_someone_not_in_the_latest_snapshot_is_404_and_logged(scored: RunningService) -> None:
    scored.state.caseload.add(caseworker="test-caseworker", youth_id="NOBODY-1")
    with scored.client("caseworker") as client:
        response = client.get("/v1/youth/NOBODY-1/score", params={"purpose": "case_review"})
    assert response.status_code == 404 and "NOBODY" not in response.text
    with scored.client("auditor") as client:
        entries = client.get("/v1/audit-log", params={"youth_id": "NOBODY-1"}).json()["entries"]
    assert [(e["endpoint"], e["status"]) for e in entries] == [
        ("/v1/audit-log", 200),  # the auditor's own search is logged too
        ("/v1/youth/{youth_id}/score", 404),
    ]


def test_live_percentiles_use_the_latest_snapshot_population_of_the_same_model(
    scored: RunningService, registry: Registry
) -> None:
    with scored.client("caseworker") as client:
        answer = client.post("/v1/scores", json=person(registry.model("trained"), 0)).json()
    population = _snapshot(scored, "scores.parquet")["probability"]
    assert answer["percentile_reference"] == "snapshot"
    assert answer["percentile"] == pytest.approx(100 * (population <= answer["probability"]).mean(), abs=0.2)


def test_enrolments_stand_as_they_were_at_the_as_of_date() -> None:
    programs = pd.DataFrame(
        {
            "youth_id": ["A", "A", "B", "C", "D"],
            "program": ["mentoria", "mentoria", "tutoria_academica", "mentoria", "apoyo_familiar"],
            "start_date": pd.to_datetime(
                ["2024-01-10", "2025-03-01", "2024-01-10", "2025-09-01", "2024-02-01"]
            ),
            "end_date": pd.to_datetime(["2024-06-30", None, "2025-12-01", None, "2024-09-01"]),
            "status": ["dropped", "active", "completed", "active", "completed"],
        }
    )
    table = enrolments_at(programs, AS_OF, population={"A", "B", "C", "D"})
    assert sorted(map(tuple, table.to_numpy().tolist())) == [
        ("A", "mentoria", "active"),
        ("B", "tutoria_academica", "active"),  # completed later, running at as_of
        ("D", "apoyo_familiar", "completed"),
    ]


def test_previ_score_refuses_a_date_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["score", "--as-of", "August"])
    assert result.exit_code == 2 and "is not a date" in result.output
