"""`previ allocate`'s solver: capacity and eligibility hold, and the optimum beats a greedy pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from previ.errors import PreviError
from service.allocation import FIT_WEIGHT, allocate, priority
from service.allocation_store import allocations_table
from service.catalog import Catalog


def catalog(*programmes: dict[str, Any]) -> Catalog:
    defaults = {"name": {"es": "P", "en": "P"}, "ages": [11, 19], "municipalities": "all", "capacity": 1}
    return Catalog.model_validate(
        {"version": "t", "programs": [{**defaults, **programme} for programme in programmes]}
    )


def people(*rows: tuple[str, float], **columns: list[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["youth_id", "probability"])
    frame["age"] = columns.get("age", [15] * len(rows))
    frame["municipality"] = columns.get("municipality", ["Villa Zaragoza"] * len(rows))
    frame["tier"] = columns.get("tier", ["indicated"] * len(rows))
    return frame


def reasons(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """(youth_id, referral tags, contribution) of raising reasons."""
    frame = pd.DataFrame(rows, columns=["youth_id", "referral_tags", "contribution"])
    return frame.assign(direction="raises")


NO_ENROLMENTS = pd.DataFrame(columns=["youth_id", "program", "status"])


def offered(result: Any) -> set[tuple[str, str]]:
    offers = result.offers[result.offers["status"] == "offered"]
    return set(zip(offers["youth_id"], offers["program"], strict=True))


def greedy(scores: pd.DataFrame, fit: dict[tuple[str, str], float], places: dict[str, int]) -> set[Any]:
    """Highest need first, each to the best-fitting programme with a place left."""
    left = dict(places)
    chosen = set()
    for youth_id in scores.sort_values("probability", ascending=False)["youth_id"]:
        options = [(f, p) for (y, p), f in fit.items() if y == youth_id and left[p] > 0]
        if options:
            _, programme = max(options)
            left[programme] -= 1
            chosen.add((youth_id, programme))
    return chosen


def test_the_solver_finds_the_optimum_a_greedy_pass_misses() -> None:
    # A has the most need and fits tutoring best, but can also use mentoring; B only fits tutoring.
    # Greedy gives A tutoring and strands B; the optimum gives A mentoring and B tutoring.
    the_catalog = catalog(
        {"id": "tutoring", "referral_tags": ["tutoring"]}, {"id": "mentoring", "referral_tags": ["mentoring"]}
    )
    scores = people(("A", 0.9), ("B", 0.8))
    why = reasons(("A", "tutoring", 0.6), ("A", "mentoring", 0.4), ("B", "tutoring", 0.5))
    result = allocate(scores, why, NO_ENROLMENTS, the_catalog)
    fit = {("A", "tutoring"): 0.6, ("A", "mentoring"): 0.4, ("B", "tutoring"): 1.0}
    assert greedy(scores, fit, {"tutoring": 1, "mentoring": 1}) == {("A", "tutoring")}
    assert offered(result) == {("A", "mentoring"), ("B", "tutoring")}
    assert result.places.set_index("program")["offered"].to_dict() == {"tutoring": 1, "mentoring": 1}


def test_places_go_by_need_and_the_rest_wait_in_order() -> None:
    the_catalog = catalog({"id": "tutoring", "referral_tags": ["tutoring"], "capacity": 2})
    scores = people(("A", 0.2), ("B", 0.9), ("C", 0.5), ("D", 0.7))
    why = reasons(*[(youth, "tutoring", 0.3) for youth in "ABCD"])
    result = allocate(scores, why, NO_ENROLMENTS, the_catalog)
    assert offered(result) == {("B", "tutoring"), ("D", "tutoring")}
    waiting = result.offers[result.offers["status"] == "waiting"]
    assert waiting[["youth_id", "position"]].values.tolist() == [["C", 1], ["A", 2]]


def test_capacity_eligibility_and_enrolments_are_respected() -> None:
    the_catalog = catalog(
        {"id": "young", "referral_tags": ["tutoring"], "ages": [11, 14], "capacity": 5},
        {"id": "local", "referral_tags": ["tutoring"], "municipalities": ["Cuautempan"], "capacity": 5},
        {"id": "everyone", "referral_tags": ["tutoring"], "capacity": 3, "tiers": ["universal", "indicated"]},
    )
    scores = people(
        ("A", 0.9),
        ("B", 0.8),
        ("C", 0.7),
        ("D", 0.6),
        ("E", 0.5),
        age=[12, 16, 16, 13, 18],
        municipality=["Cuautempan", "Cuautempan", "Villa Zaragoza", "Villa Zaragoza", "Villa Zaragoza"],
        tier=["indicated", "selective", "selective", "universal", "indicated"],
    )
    why = reasons(*[(youth, "tutoring", 0.3) for youth in "ABCDE"])
    enrolments = pd.DataFrame(
        {"youth_id": ["Z", "E"], "program": ["everyone", "everyone"], "status": ["active", "completed"]}
    )
    result = allocate(scores, why, enrolments, the_catalog)
    # young: ages 11-14 and selective/indicated -> A only (D is universal); local: Cuautempan -> A or B;
    # everyone: ages 11-16, universal/indicated, one place taken by Z, E completed it -> A or D.
    chosen = offered(result)
    assert {("B", "local"), ("D", "everyone")} <= chosen and len(chosen) == 3
    assert chosen - {("B", "local"), ("D", "everyone")} <= {("A", "young"), ("A", "everyone")}
    places = result.places.set_index("program")
    assert places.loc["everyone", ["enrolled", "open"]].tolist() == [1, 2]
    assert "C" not in set(result.offers["youth_id"])  # eligible nowhere


def test_no_reason_for_a_programme_means_no_place_in_it() -> None:
    the_catalog = catalog({"id": "tutoring", "referral_tags": ["tutoring"], "capacity": 10})
    scores = people(("A", 0.9), ("B", 0.8))
    why = reasons(("A", "mentoring", 0.9), ("B", "tutoring", 0.1))
    why.loc[len(why)] = ["A", "tutoring", -0.5, "lowers"]  # a protective factor is no reason
    assert offered(allocate(scores, why, NO_ENROLMENTS, the_catalog)) == {("B", "tutoring")}


def test_more_than_one_programme_per_person_when_configured() -> None:
    the_catalog = catalog(
        {"id": "tutoring", "referral_tags": ["tutoring"]}, {"id": "mentoring", "referral_tags": ["mentoring"]}
    )
    scores = people(("A", 0.9), ("B", 0.1))
    why = reasons(("A", "tutoring", 0.5), ("A", "mentoring", 0.5), ("B", "mentoring", 0.5))
    assert offered(allocate(scores, why, NO_ENROLMENTS, the_catalog, per_person=2)) == {
        ("A", "tutoring"),
        ("A", "mentoring"),
    }
    assert offered(allocate(scores, why, NO_ENROLMENTS, the_catalog)) == {
        ("A", "tutoring"),
        ("B", "mentoring"),
    }
    with pytest.raises(PreviError, match="per_person must be at least 1"):
        allocate(scores, why, NO_ENROLMENTS, the_catalog, per_person=0)


def test_a_policy_changes_the_order_through_the_priority_alone() -> None:
    the_catalog = catalog({"id": "tutoring", "referral_tags": ["tutoring"]})
    scores = people(("A", 0.9), ("B", 0.8))
    why = reasons(("A", "tutoring", 0.5), ("B", "tutoring", 0.5))
    assert priority(scores).to_dict() == {"A": 0.9, "B": 0.8}
    need = pd.Series({"A": 0.1, "B": 0.2})
    assert offered(allocate(scores, why, NO_ENROLMENTS, the_catalog, need=need)) == {("B", "tutoring")}


def test_a_declined_place_goes_to_the_next_in_line_and_the_cycles_offers_stand() -> None:
    the_catalog = catalog({"id": "tutoring", "referral_tags": ["tutoring"], "capacity": 2})
    scores = people(("A", 0.9), ("B", 0.8), ("C", 0.7), ("D", 0.6))
    why = reasons(*[(youth, "tutoring", 0.3) for youth in "ABCD"])
    first = allocate(scores, why, NO_ENROLMENTS, the_catalog)
    assert offered(first) == {("A", "tutoring"), ("B", "tutoring")}
    # A declines; allocated again with the cycle's decisions, B's offer stands and C (next in line) gets A's
    again = allocate(
        scores, why, NO_ENROLMENTS, the_catalog, held=offered(first), declined={("A", "tutoring")}
    )
    assert offered(again) == {("B", "tutoring"), ("C", "tutoring")}
    rows = again.offers.set_index("youth_id")
    assert rows.loc["A", "status"] == "declined" and rows.loc["D", ["status", "position"]].tolist() == [
        "waiting",
        1,
    ]
    assert again.places.set_index("program").loc["tutoring", ["offered", "waiting"]].tolist() == [2, 1]
    # a standing offer is kept even against a newcomer of higher need; a withdrawn entry leaves the list
    newcomer = pd.concat([scores, people(("E", 0.99))], ignore_index=True)
    why = pd.concat([why, reasons(("E", "tutoring", 0.3))], ignore_index=True)
    later = allocate(
        newcomer,
        why,
        NO_ENROLMENTS,
        the_catalog,
        held=offered(again),
        declined={("A", "tutoring")},
        withdrawn={("D", "tutoring")},
    )
    assert offered(later) == {("B", "tutoring"), ("C", "tutoring")}
    statuses = later.offers.set_index("youth_id")["status"].to_dict()
    assert statuses == {"A": "declined", "B": "offered", "C": "offered", "D": "withdrawn", "E": "waiting"}


def test_a_held_offer_gives_way_when_its_place_is_gone_or_the_young_person_enrolled() -> None:
    the_catalog = catalog({"id": "tutoring", "referral_tags": ["tutoring"], "capacity": 2})
    scores = people(("A", 0.9), ("B", 0.8), ("C", 0.7))
    why = reasons(*[(youth, "tutoring", 0.3) for youth in "ABC"])
    held = {("A", "tutoring"), ("B", "tutoring")}
    enrolled = pd.DataFrame({"youth_id": ["A"], "program": ["tutoring"], "status": ["active"]})
    result = allocate(scores, why, enrolled, the_catalog, held=held)
    # A took the place up (active now): one place left, B keeps it, C waits
    assert offered(result) == {("B", "tutoring")}
    assert result.places.set_index("program").loc["tutoring", ["enrolled", "open"]].tolist() == [1, 1]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 25),
    capacities=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    seed=st.integers(0, 10_000),
    per_person=st.integers(1, 2),
)
def test_random_cases_respect_every_limit_and_beat_or_match_greedy(
    n: int, capacities: list[int], seed: int, per_person: int
) -> None:
    rng = np.random.default_rng(seed)
    tags = ["tutoring", "mentoring", "family_support", "school_reengagement"]
    the_catalog = catalog(
        *[
            {"id": f"p{index}", "referral_tags": [tags[index]], "capacity": capacity, "ages": [11, 16]}
            for index, capacity in enumerate(capacities)
        ]
    )
    ids = [f"Y{index:03d}" for index in range(n)]
    scores = people(*zip(ids, rng.random(n).round(3), strict=True), age=rng.integers(11, 19, n).tolist())
    rows = [(youth, tag, 0.1 + rng.random()) for youth in ids for tag in tags if rng.random() < 0.5]
    why = reasons(*rows) if rows else reasons(("Y000", "sport_and_culture", 0.1))
    result = allocate(scores, why, NO_ENROLMENTS, the_catalog, per_person=per_person)
    offers = result.offers[result.offers["status"] == "offered"]
    assert (
        offers.groupby("program").size().reindex([f"p{i}" for i in range(len(capacities))]).fillna(0)
        <= capacities
    ).all()
    assert (offers.groupby("youth_id").size() <= per_person).all()
    age = scores.set_index("youth_id")["age"]
    assert age.reindex(offers["youth_id"]).between(11, 16).all()
    answered = {(youth, f"p{tags.index(tag)}") for youth, tag, _ in rows if tag in tags[: len(capacities)]}
    assert set(zip(offers["youth_id"], offers["program"], strict=True)) <= answered
    assert not offers.duplicated(["youth_id", "program"]).any()
    again = allocate(scores, why, NO_ENROLMENTS, the_catalog, per_person=per_person)
    pd.testing.assert_frame_equal(result.offers, again.offers)
    if per_person == 1:  # the optimum's total need is never below a greedy pass's
        need = scores.set_index("youth_id")["probability"]
        eligible_fit = {
            (y, p): 1.0 for (y, p) in answered if 11 <= age[y] <= 16 and capacities[int(p[1:])] > 0
        }
        chosen = greedy(scores, eligible_fit, {f"p{i}": c for i, c in enumerate(capacities)})
        assert (
            need.reindex(offers["youth_id"]).sum()
            >= sum(need[y] for y, _ in chosen) - len(chosen) * FIT_WEIGHT
        )
    # declines free places: allocated again, the cycle's other offers stand, no declined pair comes back,
    # every limit still holds and no place a decline freed stays empty while someone eligible waits for it
    given = set(zip(offers["youth_id"], offers["program"], strict=True))
    turned_down = {pair for pair in sorted(given) if rng.random() < 0.4}
    after = allocate(
        scores, why, NO_ENROLMENTS, the_catalog, per_person=per_person, held=given, declined=turned_down
    )
    now = after.offers[after.offers["status"] == "offered"]
    pairs = set(zip(now["youth_id"], now["program"], strict=True))
    assert given - turned_down <= pairs and not pairs & turned_down
    counts = now.groupby("program").size().reindex([f"p{i}" for i in range(len(capacities))]).fillna(0)
    assert (counts <= capacities).all() and (now.groupby("youth_id").size() <= per_person).all()
    waiting = after.offers[after.offers["status"] == "waiting"]
    for program, queue in waiting.groupby("program"):
        assert counts[program] == capacities[int(str(program)[1:])], "a freed place stayed empty"
        assert queue["position"].tolist() == list(range(1, len(queue) + 1))


def test_an_allocation_is_stored_replaced_whole_and_read_back(store_url: str) -> None:
    """The allocation tables (SQLite, PostgreSQL): a re-run of a cycle replaces it; reads see the latest."""
    from service.allocation_store import latest_cycle, place_of, places_for, write_allocation
    from service.snapshots import SnapshotStore

    scores = people(("Y1", 0.9), ("Y2", 0.8), ("Y3", 0.7))
    raising = reasons(("Y1", "mentoring", 1.0), ("Y2", "mentoring", 1.0), ("Y3", "mentoring", 1.0))
    result = allocate(
        scores, raising, NO_ENROLMENTS, catalog({"id": "mentoria", "referral_tags": ["mentoring"]})
    )
    store = SnapshotStore(store_url)
    assert latest_cycle(store) is None and place_of(store, "Y1") == [] and places_for(store, ["Y1"]) == {}
    for _ in range(2):  # the second run of the cycle replaces the first
        write_allocation(store, cycle="2026-1", snapshot_id=1, offers=result.offers, places=result.places)
    cycle = latest_cycle(store)
    assert cycle is not None and cycle.cycle == "2026-1"
    assert [(place.program, place.status, place.position) for place in place_of(store, "Y1")] == [
        ("mentoria", "offered", 0)
    ]
    assert [place.status for place in place_of(store, "Y3")] == ["waiting"]
    standing = places_for(store, ["Y1", "Y2", "Y3"])
    assert standing["Y2"].unoffered == {"mentoria": 0} and set(standing["Y2"].mine) == {"mentoria"}
    with store.engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(allocations_table)).scalar_one()
    assert rows == len(result.offers) == 3
    store.engine.dispose()


def test_a_lottery_band_draws_lots_around_the_cut_off_and_logs_the_draws() -> None:
    from previ.config import LotteryBandConfig

    the_catalog = catalog({"id": "tutoring", "referral_tags": ["tutoring"], "capacity": 8})
    ids = [f"Y{i:02d}" for i in range(20)]
    scores = people(*[(youth, 0.9 - 0.01 * i) for i, youth in enumerate(ids)])
    why = reasons(*[(youth, "tutoring", 1.0) for youth in ids])
    band = LotteryBandConfig(width=0.25, seed=3)  # 8 places: 6 sure, ranks 7-10 draw lots for 2
    result = allocate(scores, why, NO_ENROLMENTS, the_catalog, lottery=band)
    offers = result.offers.set_index("youth_id")
    won = {youth for youth, _ in offered(result)}
    assert set(ids[:6]) <= won and not won & set(ids[10:]) and len(won & set(ids[6:10])) == 2
    draws = offers["lottery_draw"]
    assert draws[ids[6:10]].notna().all() and draws.drop(ids[6:10]).isna().all()
    assert (offers["lottery_seed"] == 3).all()
    in_band = draws[ids[6:10]]
    assert set(in_band.nlargest(2).index) == won & set(ids[6:10])  # the highest draws win
    again = allocate(scores, why, NO_ENROLMENTS, the_catalog, lottery=band)
    assert offered(again) == offered(result)  # the seed (and the cycle's name) replay the draws
    cycles = [
        allocate(scores, why, NO_ENROLMENTS, the_catalog, lottery=band, cycle=f"2026-{m:02d}")
        for m in range(1, 9)
    ]
    assert len({tuple(sorted(offered(each))) for each in cycles}) > 1  # each cycle draws afresh
    assert offered(allocate(scores, why, NO_ENROLMENTS, the_catalog)) == {(y, "tutoring") for y in ids[:8]}


def test_a_release_passes_the_place_to_the_first_waiting_and_never_offers_one_place_twice(
    store_url: str,
) -> None:
    """SQLite and PostgreSQL: declines at once from two threads, one young person waiting, two places."""
    from concurrent.futures import ThreadPoolExecutor

    from service.allocation_store import cycle_places, place_of, release_place, write_allocation
    from service.snapshots import SnapshotStore

    scores = people(("Y1", 0.9), ("Y2", 0.8), ("Y3", 0.7), ("Y4", 0.6))
    raising = reasons(*[(youth, "mentoring", 1.0) for youth in ("Y1", "Y2", "Y3", "Y4")])
    the_catalog = catalog({"id": "mentoria", "referral_tags": ["mentoring"], "capacity": 2})
    result = allocate(scores, raising, NO_ENROLMENTS, the_catalog)
    assert offered(result) == {("Y1", "mentoria"), ("Y2", "mentoria")}
    store = SnapshotStore(store_url)
    try:
        write_allocation(store, cycle="2026-1", snapshot_id=1, offers=result.offers, places=result.places)
        assert release_place(store, "Y4", "mentoria") is not None  # Y4 leaves the waiting list: Y3 is next
        assert [(p.status, p.position) for p in place_of(store, "Y3")] == [("waiting", 1)]
        with ThreadPoolExecutor(2) as pool:
            releases = list(pool.map(lambda youth: release_place(store, youth, "mentoria"), ["Y1", "Y2"]))
        assert sorted(release.status for release in releases if release) == ["declined", "declined"]
        assert [release.offered_to for release in releases if release and release.offered_to] == ["Y3"]
        statuses = {youth: [p.status for p in place_of(store, youth)] for youth in ("Y1", "Y2", "Y3", "Y4")}
        assert statuses == {"Y1": ["declined"], "Y2": ["declined"], "Y3": ["offered"], "Y4": ["withdrawn"]}
        places = cycle_places(store, "2026-1").set_index("program").loc["mentoria"]
        assert (places["offered"], places["waiting"]) == (1, 0)  # one place passed on, one open again
        assert release_place(store, "Y1", "mentoria") is None  # a repeated decline changes nothing
        assert release_place(store, "Y9", "mentoria") is None
    finally:
        store.engine.dispose()
