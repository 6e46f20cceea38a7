"""Places of the latest allocation cycle: offered, accepted and completed against capacity.

Counts only, by programme and municipality. "Offered" and "waiting" are the
cycle's standing offers and waiting lists (``previ allocate``, and the places a
decline passed on, see :func:`service.allocation_store.release_place`);
"declined" counts the offers turned down (feedback ``referral_declined``);
"accepted" the standing offers a caseworker recorded as taken up
(``referral_made``); "completed" counts offered young people whose programme
shows as completed in the latest snapshot (a later ``previ score`` run brings it in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from service.allocation_store import allocations_table, cycle_places, latest_cycle
from service.audit_log import feedback_table
from service.snapshots import programs_table
from service.state import ServiceState

if TYPE_CHECKING:
    pass

__all__ = ["ALL_MUNICIPALITIES", "CyclePlaces", "PlaceRow", "cycle_uptake"]

ALL_MUNICIPALITIES = "*"


@dataclass(frozen=True)
class PlaceRow:
    program: str
    municipality: str
    capacity: int | None  # the programme's total row only
    open: int | None
    offered: int
    accepted: int
    declined: int
    completed: int
    waiting: int


@dataclass(frozen=True)
class CyclePlaces:
    cycle: str
    rows: list[PlaceRow]


def cycle_uptake(state: ServiceState) -> CyclePlaces | None:
    """The latest cycle's counts, one total row per programme then one row per municipality."""
    import pandas as pd

    cycle = latest_cycle(state.snapshots)
    if cycle is None:
        return None
    with state.snapshots.engine.connect() as connection:
        people = pd.read_sql(
            select(
                allocations_table.c.youth_id,
                allocations_table.c.program,
                allocations_table.c.status,
                allocations_table.c.municipality,
            ).where(allocations_table.c.cycle == cycle.cycle),
            connection,
        )
        latest = state.snapshots.latest()
        completed = pd.read_sql(
            select(programs_table.c.youth_id, programs_table.c.program).where(
                (programs_table.c.snapshot_id == (latest.id if latest else -1))
                & (programs_table.c.status == "completed")
            ),
            connection,
        )
    places = cycle_places(state.snapshots, cycle.cycle).set_index("program")
    offered = people[people["status"] == "offered"].copy()
    pseudonyms = {str(state.pseudonymize(youth_id)): str(youth_id) for youth_id in offered["youth_id"]}
    decisions = _decisions(state, pseudonyms)
    keys = list(zip(offered["youth_id"], offered["program"], strict=True))
    offered["accepted"] = [key in decisions["referral_made"] for key in keys]
    # a decline the allocation has not released yet (recorded before this cycle was written) counts too
    offered["declined"] = [key in decisions["referral_declined"] for key in keys]
    turned_down = people[people["status"] == "declined"]
    done = set(zip(completed["youth_id"].astype(str), completed["program"].astype(str), strict=True))
    offered["completed"] = [key in done for key in keys]
    waiting = people[people["status"] == "waiting"]
    rows: list[PlaceRow] = []
    for program in sorted(set(places.index) | set(people["program"])):
        mine = offered[offered["program"] == program]
        queue = waiting[waiting["program"] == program]
        gone = turned_down[turned_down["program"] == program]
        known = program in places.index
        rows.append(
            PlaceRow(
                program,
                ALL_MUNICIPALITIES,
                int(places.loc[program, "capacity"]) if known else None,
                int(places.loc[program, "open"]) if known else None,
                len(mine),
                int(mine["accepted"].sum()),
                len(gone) + int(mine["declined"].sum()),
                int(mine["completed"].sum()),
                len(queue),
            )
        )
        for municipality in sorted(
            set(mine["municipality"]) | set(queue["municipality"]) | set(gone["municipality"])
        ):
            here = mine[mine["municipality"] == municipality]
            rows.append(
                PlaceRow(
                    program,
                    str(municipality),
                    None,
                    None,
                    len(here),
                    int(here["accepted"].sum()),
                    int((gone["municipality"] == municipality).sum()) + int(here["declined"].sum()),
                    int(here["completed"].sum()),
                    int((queue["municipality"] == municipality).sum()),
                )
            )
    return CyclePlaces(cycle.cycle, rows)


def _decisions(state: ServiceState, pseudonyms: dict[str, str]) -> dict[str, set[tuple[str, str]]]:
    """(youth_id, program) of the referral decisions recorded about offered young people."""
    found: dict[str, set[tuple[str, str]]] = {"referral_made": set(), "referral_declined": set()}
    if not pseudonyms:
        return found
    query = select(feedback_table.c.youth_pseudonym, feedback_table.c.kind, feedback_table.c.program).where(
        feedback_table.c.kind.in_(list(found)) & feedback_table.c.youth_pseudonym.in_(list(pseudonyms))
    )
    try:
        with state.audit.engine.connect() as connection:
            for pseudonym, kind, program in connection.execute(query):
                found[str(kind)].add((pseudonyms[str(pseudonym)], str(program)))
    except SQLAlchemyError:  # no feedback table yet: nothing recorded
        pass
    return found
