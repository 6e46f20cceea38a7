"""`previ score` snapshots and GET /v1/youth/{id}/score: the latest snapshot, earlier ones kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from features.registry import FEATURES_BY_NAME
from service.batch import enrolments_at
from service.catalog import load_catalog
from service.pages.frame import SERVICE_DIR
from service.results import score_out
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


def test_reasons_and_referrals_rest_only_on_recorded_needs_and_history(scored: RunningService) -> None:
    """On a whole snapshot: no reason is context (age) or a missing value, and every referral has a basis."""
    reasons = _snapshot(scored, "reasons.parquet")
    shown = reasons[reasons["direction"].isin(["raises", "lowers"])]
    kinds = shown["feature"].map(lambda name: FEATURES_BY_NAME[name].kind)
    assert set(kinds) <= {"need", "history"} and shown["value"].notna().all()
    assert set(reasons.loc[reasons["direction"] == "context", "feature"]) == {"age", "program_active"}
    assert reasons.loc[reasons["direction"] == "gap", "value"].isna().all()
    scores = _snapshot(scored, "scores.parquet")
    referrals = 0
    for youth_id in scores["youth_id"]:
        snapshot, person = scored.state.snapshots.person(youth_id)
        assert snapshot is not None and person is not None
        answer = score_out(
            youth_id=youth_id,
            model_version=snapshot.model_version,
            probability=person.probability,
            percentile=person.percentile,
            reference="snapshot",
            tier=person.tier,
            reasons=person.reasons["es"],
            catalog=scored.state.catalog,
            age=person.age,
            municipality=person.municipality,
            enrolments=person.enrolments,
            language="es",
            max_referrals=3,
        )
        assert "age" in [reason.feature for reason in answer.context]
        for reason in (*answer.reasons, *answer.protective_factors):
            assert reason.value is not None and FEATURES_BY_NAME[reason.feature].kind != "context"
        for referral in answer.referrals:
            referrals += 1
            assert any(
                reason.value is not None and FEATURES_BY_NAME[reason.feature].kind in ("need", "history")
                for reason in referral.reasons
            )
    assert referrals > len(scores) / 2  # the check above ran over many referrals


def test_previ_allocate_offers_places_within_capacity_and_eligibility(
    scored: RunningService, tmp_path: Path
) -> None:
    config = scored.folder.parent / "previ.yaml"
    out = tmp_path / "cycle.parquet"
    runner = CliRunner()
    result = runner.invoke(app, ["allocate", "--config", str(config), "--out", str(out), "--cycle", "2025-2"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output.replace("\n", "")
    offers = pd.read_parquet(out)
    catalog = scored.state.catalog
    scores = _snapshot(scored, "scores.parquet").set_index("youth_id")
    enrolled = _snapshot(scored, "programs.parquet")
    given = offers[offers["status"] == "offered"]
    assert len(given) > 0 and given["youth_id"].is_unique  # one new programme per person by default
    for programme in catalog.programs:
        mine = given[given["program"] == programme.id]
        active = enrolled[(enrolled["program"] == programme.id) & (enrolled["status"] == "active")]
        assert len(mine) <= max(programme.capacity - len(active), 0)
        people = scores.loc[mine["youth_id"]]
        assert people["age"].between(*programme.ages).all()
        assert people["tier"].isin(programme.tiers).all()
        done = enrolled[
            (enrolled["program"] == programme.id) & enrolled["status"].isin(["active", "completed"])
        ]
        assert not set(mine["youth_id"]) & set(done["youth_id"])
    waiting = offers[offers["status"] == "waiting"].sort_values(["program", "position"])
    for _, queue in waiting.groupby("program"):
        assert queue["position"].tolist() == list(range(1, len(queue) + 1))
        assert queue["priority"].is_monotonic_decreasing
    store = scored.state.snapshots
    with store.engine.connect() as connection:
        stored = pd.read_sql("SELECT * FROM allocations WHERE cycle = '2025-2'", connection)
    assert len(stored) == len(offers)
    again = tmp_path / "again.parquet"
    assert (
        runner.invoke(
            app, ["allocate", "--config", str(config), "--out", str(again), "--cycle", "2025-2"]
        ).exit_code
        == 0
    )
    pd.testing.assert_frame_equal(pd.read_parquet(again), offers)  # deterministic
    with store.engine.connect() as connection:  # the re-run replaced the cycle, it did not add to it
        count = "SELECT COUNT(*) AS n FROM allocations WHERE cycle = '2025-2'"
        assert pd.read_sql(count, connection)["n"][0] == len(offers)


def test_a_declined_offer_goes_to_the_next_on_the_waiting_list_and_allocating_again_keeps_it_so(
    scored: RunningService, tmp_path: Path
) -> None:
    # the default catalog's places outnumber the test population: two open places per programme make queues
    enrolled = _snapshot(scored, "programs.parquet")
    active = enrolled[enrolled["status"] == "active"].groupby("program")["youth_id"].nunique()
    catalog = yaml.safe_load((SERVICE_DIR / "catalog" / "default.yaml").read_text(encoding="utf-8"))
    for programme in catalog["programs"]:
        programme["capacity"] = int(active.get(programme["id"], 0)) + 2
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    shared = (scored.folder.parent / "previ.yaml").read_text(encoding="utf-8")
    config = tmp_path / "previ.yaml"
    config.write_text(f"{shared.rstrip()}\n  catalog: {tmp_path / 'catalog.yaml'}\n", encoding="utf-8")
    runner = CliRunner()

    def allocate(out: Path) -> pd.DataFrame:
        arguments = ["allocate", "--config", str(config), "--out", str(out), "--cycle", "2025-declines"]
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
        return pd.read_parquet(out)

    def standing(offers: pd.DataFrame, status: str = "offered") -> set[tuple[str, str]]:
        rows = offers[offers["status"] == status]
        return set(zip(rows["youth_id"], rows["program"], strict=True))

    def place(client: Any, youth_id: str, program: str) -> str | None:
        answer = client.get(f"/v1/youth/{youth_id}/score", params={"purpose": "referral_planning"})
        assert answer.status_code == 200, answer.text
        return next((r["place"] for r in answer.json()["referrals"] if r["program"] == program), None)

    first = allocate(tmp_path / "first.parquet")
    queues = first[first["status"] == "waiting"].sort_values(["program", "position"])
    offered_in = {program for _, program in standing(first)}
    program = next(
        p for p in queues["program"].unique() if p in offered_in and (queues["program"] == p).sum() > 1
    )
    declining = sorted(youth for youth, offered in standing(first) if offered == program)[0]
    queue = queues.loc[queues["program"] == program, "youth_id"].tolist()
    for youth_id in (declining, queue[0]):
        scored.state.caseload.add(caseworker="test-caseworker", youth_id=youth_id)
    body = {"youth_id": declining, "kind": "referral_declined", "program": program}
    with scored.client("caseworker") as client:
        assert place(client, declining, program) == "offered"  # an offered place comes first
        response = client.post("/v1/feedback", json=body)
        assert response.status_code == 201, response.text
        assert queue[0] not in response.text  # who got the place stays inside the service
        again = client.post("/v1/feedback", json=body)  # a repeated decline changes nothing more
        assert again.status_code == 201
        # the caseworker's view: the decline and the place passed on, before any new allocation
        assert place(client, declining, program) in ("declined", None)  # no longer first, maybe not shown
        assert place(client, queue[0], program) == "offered"
    with scored.state.snapshots.engine.connect() as connection:
        stored = pd.read_sql("SELECT * FROM allocations WHERE cycle = '2025-declines'", connection)
        counts = pd.read_sql("SELECT * FROM allocation_places WHERE cycle = '2025-declines'", connection)
    assert (declining, program) in standing(stored, "declined") and (queue[0], program) in standing(stored)
    assert standing(stored) == standing(first) - {(declining, program)} | {(queue[0], program)}
    waiting = stored[(stored["program"] == program) & (stored["status"] == "waiting")].sort_values("position")
    assert waiting["youth_id"].tolist() == queue[1:] and waiting["position"].tolist() == list(
        range(1, len(queue))
    )
    offers_before = sum(1 for _, offered in standing(first) if offered == program)
    row = counts.set_index("program").loc[program]
    assert (row["offered"], row["waiting"]) == (offers_before, len(queue) - 1)  # one out, one in
    # allocating the cycle again keeps it so: the decline holds, every other offer stands
    second = allocate(tmp_path / "second.parquet")
    assert standing(second) == standing(stored) and standing(second, "declined") == {(declining, program)}
    assert second.loc[second["youth_id"] == declining, "program"].tolist().count(program) == 1
    for programme in load_catalog(tmp_path / "catalog.yaml").programs:  # capacity never exceeded
        active = enrolled[(enrolled["program"] == programme.id) & (enrolled["status"] == "active")]
        given = sum(1 for _, offered in standing(second) if offered == programme.id)
        assert given <= max(programme.capacity - active["youth_id"].nunique(), 0)


def test_previ_allocate_refuses_bad_options_in_one_line(scored: RunningService, tmp_path: Path) -> None:
    config = scored.folder.parent / "previ.yaml"
    runner = CliRunner()
    for arguments, message in (
        (["--as-of", "soon"], "--as-of: 'soon' is not a date"),
        (["--as-of", "2020-01-01"], "no snapshot of 2020-01-01"),
        (["--per-person", "0"], "--per-person: must be at least 1"),
    ):
        out = tmp_path / "never.parquet"
        result = runner.invoke(app, ["allocate", "--config", str(config), "--out", str(out), *arguments])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
        assert not out.exists()


def test_previ_score_reuses_an_identical_snapshot_instead_of_adding_a_copy(
    scored: RunningService, registry: Registry
) -> None:
    config = scored.folder.parent / "previ.yaml"
    before = sorted(path.name for path in (scored.folder / "snapshots").iterdir() if path.is_dir())
    with registry.tracking():
        result = CliRunner().invoke(app, ["score", "--config", str(config), "--as-of", str(AS_OF)])
    assert result.exit_code == 0, result.output
    assert "Reused the identical snapshot" in result.output
    assert str((scored.folder / "snapshots").absolute()) in result.output.replace("\n", "")
    after = sorted(path.name for path in (scored.folder / "snapshots").iterdir() if path.is_dir())
    assert after == before and (scored.state.snapshots.latest() or pytest.fail("none")).id == 2


def test_previ_allocate_with_a_lottery_band_keeps_the_seed_and_the_draws(
    scored: RunningService, tmp_path: Path
) -> None:
    import yaml

    from service.catalog import default_catalog_path

    catalog = yaml.safe_load(default_catalog_path().read_text(encoding="utf-8"))
    for programme in catalog["programs"]:
        programme["capacity"] = 4  # fewer places than people eligible: a cut-off, and a band around it
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    settings = yaml.safe_load((scored.folder.parent / "previ.yaml").read_text())
    settings["service"]["catalog"] = str(tmp_path / "catalog.yaml")
    settings["allocation"] = {"lottery_band": {"width": 0.25, "seed": 11}}
    config = tmp_path / "previ.yaml"
    config.write_text(yaml.safe_dump(settings))
    out = tmp_path / "lottery.parquet"
    runner = CliRunner()
    command = ["allocate", "--config", str(config), "--out", str(out), "--cycle", "2025-2-lottery"]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    offers = pd.read_parquet(out)
    band = offers[offers["lottery_draw"].notna()]
    places = 4 * len(catalog["programs"])
    assert 0 < len(band) <= 2 * round(0.25 * places) and len(band) % 2 == 0
    assert (offers["lottery_seed"] == 11).all()
    assert band["lottery_draw"].between(0, 1).all()
    assert (offers["status"] == "offered").sum() <= places
    again = tmp_path / "again.parquet"
    assert runner.invoke(app, [*command[:4], str(again), *command[5:]]).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again), offers)  # the seed and the cycle replay the draws


def test_the_same_artifact_promoted_as_another_version_gets_its_own_snapshot(tmp_path: Path) -> None:
    """Reusing v1's snapshot for v2 (same SHA-256) would show caseworkers 'model v1' under champion v2."""
    from types import SimpleNamespace

    from service.batch import _identical

    (tmp_path / "snapshot.json").write_text('{"data_sha256": "data"}')
    latest = SimpleNamespace(
        id=7, as_of=AS_OF, model_version="1", model_sha256="abc", rows=3, folder=tmp_path
    )
    store: Any = SimpleNamespace(for_date=lambda as_of: latest, tier_counts=lambda snapshot_id: {})
    reused = _identical(store, AS_OF, ("1", "abc"), "data")
    assert reused is not None and reused.reused and reused.model_version == "1"
    assert _identical(store, AS_OF, ("2", "abc"), "data") is None  # promoted again: a snapshot of its own
    assert (
        _identical(store, AS_OF, ("1", "abd"), "data") is None
        and _identical(store, AS_OF, ("1", "abc"), "x") is None
    )
