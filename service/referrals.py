"""Referral suggestions: the catalog's programmes ranked by the reasons behind a score.

A programme answers a reason when they share a referral tag (from the feature
registry). Its weight is the summed contribution (logit units) of the raising
reasons it answers, so the programme that addresses most of what drives the
estimate comes first. Only programmes the young person can join are suggested:
their age and municipality are served, capacity is open, and they are not
already active in it or have not completed it (a dropped programme may be
offered again). Every suggestion carries the reasons that led to it; a
programme no reason points to is not suggested. The matching of reasons to
programmes is precomputed per catalog (:meth:`Catalog.answering`), so a score
looks up its reasons' tags instead of comparing every programme with every reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from models.reasons import Reason
from service.catalog import Catalog, Programme

__all__ = ["EnrolmentStatus", "Suggestion", "suggest_referrals"]

EnrolmentStatus = Literal["active", "completed", "dropped"]
BLOCKING: frozenset[str] = frozenset({"active", "completed"})


@dataclass(frozen=True)
class Suggestion:
    programme: Programme
    weight: float
    reasons: tuple[Reason, ...]


def suggest_referrals(
    reasons: Sequence[Reason],
    catalog: Catalog,
    *,
    age: int,
    municipality: str,
    enrolments: Mapping[str, EnrolmentStatus],
    top: int = 3,
) -> list[Suggestion]:
    """At most ``top`` suggestions, strongest first (ties by programme id, so the order is stable).

    ``reasons`` are a score's reasons; only those that raise the estimate
    (``direction == "raises"``, positive contribution) count. ``enrolments`` maps a
    programme id to the young person's status in it.
    """
    raising = [reason for reason in reasons if reason.direction == "raises" and reason.contribution > 0]
    matched: dict[int, list[Reason]] = {}
    for reason in raising:
        for position in catalog.answering(reason.referral_tags):
            matched.setdefault(position, []).append(reason)
    suggestions = []
    for position in sorted(matched):
        programme = catalog.programs[position]
        if enrolments.get(programme.id) in BLOCKING or not programme.serves(
            age=age, municipality=municipality
        ):
            continue
        answered = tuple(matched[position])
        weight = sum(reason.contribution for reason in answered)
        suggestions.append(Suggestion(programme=programme, weight=weight, reasons=answered))
    suggestions.sort(key=lambda suggestion: (-suggestion.weight, suggestion.programme.id))
    return suggestions[:top]
