"""Referral uptake: referrals suggested, made and declined, by programme and group. Counts only.

"Suggested" counts the young people of the latest snapshot who have the
programme among their suggestions, ranked by the same function the API uses
(:func:`service.referrals.suggest_referrals`) on the snapshot's reasons and
enrolments. "Made" and "declined" count the feedback records. A group is the
young person's tier or municipality in the latest snapshot; feedback about
someone not in it falls in the group "". The suggestions of a snapshot are
computed once and kept (they change only with a new snapshot or catalog).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from models.reasons import Reason
from service.audit_log import feedback_table
from service.referrals import EnrolmentStatus, suggest_referrals
from service.snapshots import SnapshotMeta, programs_table, reasons_table, scores_table
from service.state import ServiceState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALL_GROUPS", "GroupBy", "Uptake", "UptakeRow", "referral_uptake"]

GroupBy = Literal["tier", "municipality"]
ALL_GROUPS = "*"
TIER_ORDER = {"indicated": 0, "selective": 1, "universal": 2}


@dataclass(frozen=True)
class UptakeRow:
    program: str
    group: str
    suggested: int
    made: int
    declined: int

    @property
    def uptake(self) -> float | None:
        """Share of the decided referrals that were made (None before any decision)."""
        decided = self.made + self.declined
        return self.made / decided if decided else None


@dataclass(frozen=True)
class Uptake:
    as_of: dt.date | None
    rows: list[UptakeRow]
    overrides: list[tuple[str, str, int]]


@dataclass(frozen=True)
class _SnapshotPeople:
    groups: pd.DataFrame  # youth_id, tier, municipality
    suggested: pd.DataFrame  # youth_id, program
    youth_by_pseudonym: dict[str, str]


def referral_uptake(state: ServiceState, *, group_by: GroupBy, cache: MutableMapping[Any, Any]) -> Uptake:
    """Counts per programme and group, with a total row (group ``ALL_GROUPS``) per programme."""
    snapshot = state.snapshots.latest()
    people = _snapshot_people(state, snapshot, cache) if snapshot is not None else None
    feedback = _feedback(state)
    group_of: dict[str, str] = {}
    if people is not None:
        group_of = dict(zip(people.groups["youth_id"], people.groups[group_by].astype(str), strict=True))
        feedback["group"] = [
            group_of.get(people.youth_by_pseudonym.get(pseudonym, ""), "")
            for pseudonym in feedback["pseudonym"]
        ]
    else:
        feedback["group"] = ""
    suggested: Counter[tuple[str, str]] = Counter()
    if people is not None:
        suggested.update(
            zip(people.suggested["program"], people.suggested["youth_id"].map(group_of), strict=True)
        )
    decisions = feedback[feedback["kind"].isin(["referral_made", "referral_declined"])]
    made = Counter(zip(*_columns(decisions[decisions["kind"] == "referral_made"]), strict=True))
    declined = Counter(zip(*_columns(decisions[decisions["kind"] == "referral_declined"]), strict=True))
    rows = [
        UptakeRow(program, group, suggested[program, group], made[program, group], declined[program, group])
        for program, group in set(suggested) | set(made) | set(declined)
    ]
    for program in sorted({row.program for row in rows}):
        mine = [row for row in rows if row.program == program]
        rows.append(
            UptakeRow(
                program,
                ALL_GROUPS,
                sum(row.suggested for row in mine),
                sum(row.made for row in mine),
                sum(row.declined for row in mine),
            )
        )
    rows.sort(key=lambda row: (row.program, row.group != ALL_GROUPS, _group_order(row.group, group_by)))
    overridden = feedback[feedback["kind"] == "tier_overridden"]
    overrides = Counter(zip(overridden["group"], overridden["tier"].fillna(""), strict=True))
    return Uptake(
        as_of=snapshot.as_of if snapshot is not None else None,
        rows=rows,
        overrides=sorted(
            ((group, tier, count) for (group, tier), count in overrides.items()),
            key=lambda item: (_group_order(item[0], group_by), TIER_ORDER.get(item[1], 9)),
        ),
    )


def _snapshot_people(
    state: ServiceState, snapshot: SnapshotMeta, cache: MutableMapping[Any, Any]
) -> _SnapshotPeople:
    key = ("uptake", snapshot.id, state.catalog.version, state.settings.max_referrals)
    if key not in cache:
        cache.clear()
        cache[key] = _compute_people(state, snapshot)
    people: _SnapshotPeople = cache[key]
    return people


def _compute_people(state: ServiceState, snapshot: SnapshotMeta) -> _SnapshotPeople:
    import pandas as pd

    engine = state.snapshots.engine
    with engine.connect() as connection:
        groups = pd.read_sql(
            select(scores_table.c.youth_id, scores_table.c.tier, scores_table.c.municipality).where(
                scores_table.c.snapshot_id == snapshot.id
            ),
            connection,
        ).astype(str)
        people = {
            str(row.youth_id): (int(row.age), str(row.municipality))
            for row in connection.execute(
                select(scores_table.c.youth_id, scores_table.c.age, scores_table.c.municipality).where(
                    scores_table.c.snapshot_id == snapshot.id
                )
            )
        }
        reasons = connection.execute(
            select(reasons_table)
            .where((reasons_table.c.snapshot_id == snapshot.id) & (reasons_table.c.direction == "raises"))
            .order_by(reasons_table.c.youth_id, reasons_table.c.rank)
        ).all()
        programs = connection.execute(
            select(programs_table.c.youth_id, programs_table.c.program, programs_table.c.status).where(
                programs_table.c.snapshot_id == snapshot.id
            )
        ).all()
    enrolments: dict[str, dict[str, EnrolmentStatus]] = {}
    for enrolment in programs:
        enrolments.setdefault(str(enrolment.youth_id), {})[str(enrolment.program)] = enrolment.status
    suggestions: list[tuple[str, str]] = []
    # One ranking per young person with a raising reason: the API's own function, once per snapshot.
    for youth_id, rows in groupby(reasons, key=lambda row: str(row.youth_id)):
        age, municipality = people[youth_id]
        ranked = suggest_referrals(
            [_reason(row) for row in rows],
            state.catalog,
            age=age,
            municipality=municipality,
            enrolments=enrolments.get(youth_id, {}),
            top=state.settings.max_referrals,
        )
        suggestions.extend((youth_id, suggestion.programme.id) for suggestion in ranked)
    return _SnapshotPeople(
        groups=groups,
        suggested=pd.DataFrame(suggestions, columns=["youth_id", "program"]),
        youth_by_pseudonym={state.pseudonymize(youth_id): youth_id for youth_id in people},
    )


def _reason(row: Any) -> Reason:
    """A raising reason as the snapshot stored it (its sentence is not needed to rank programmes)."""
    return Reason(
        feature=str(row.feature),
        value=None if row.value is None else float(row.value),
        contribution=float(row.contribution),
        direction="raises",
        sentence="",
        factor=row.factor,
        referral_tags=tuple(tag for tag in str(row.referral_tags).split(",") if tag),
    )


def _feedback(state: ServiceState) -> pd.DataFrame:
    import pandas as pd

    query = select(
        feedback_table.c.youth_pseudonym.label("pseudonym"),
        feedback_table.c.kind,
        feedback_table.c.program,
        feedback_table.c.tier,
    )
    try:
        with state.audit.engine.connect() as connection:
            return pd.read_sql(query, connection)
    except SQLAlchemyError:  # no feedback table yet: nothing recorded
        return pd.DataFrame(columns=["pseudonym", "kind", "program", "tier"])


def _columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    return frame["program"].astype(str).tolist(), frame["group"].astype(str).tolist()


def _group_order(group: str, group_by: GroupBy) -> tuple[int, str]:
    if group == "":
        return (99, "")
    return (TIER_ORDER.get(group, 50) if group_by == "tier" else 0, group)
