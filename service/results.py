"""Turn a scored row into the API's answer: reasons, protective factors, referrals and the note.

Shared by live scores (``POST /v1/scores``, the batch endpoint) and snapshot
reads (``GET /v1/youth/{id}/score``), so both read alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from features.registry import Feature, Language
from models.artifact import Tiers
from models.reasons import Reason, RowReasons
from previ.i18n import translation
from service.allocation_store import Places
from service.catalog import Catalog, Programme
from service.referrals import EnrolmentStatus, suggest_referrals
from service.schemas import Enrolment, ReasonOut, ReferralOut, ScoreOut
from service.texts import (
    NOTE,
    RANGE_AND,
    RANGE_BASIS,
    RANGE_SETTLED,
    RANGE_UNCERTAIN,
    range_many_unknown,
    text,
)

__all__ = ["Partial", "enrolment_map", "score_out"]

TIER_ORDER = ("universal", "selective", "indicated")
LISTED_UNKNOWNS = 3  # more unknown features than this are counted, not named, in the range sentence


@dataclass(frozen=True)
class Partial:
    """What a live score did not know: the probability range, the unknown features, the tiers in between."""

    low: float
    high: float
    unknown: tuple[str, ...]
    most_informative: str | None
    tiers: Tiers
    registry: Mapping[str, Feature] = field(default_factory=dict)

    def possible_tiers(self) -> list[str]:
        low, high = self.tiers.tier_of(self.low), self.tiers.tier_of(self.high)
        return list(TIER_ORDER[TIER_ORDER.index(low) : TIER_ORDER.index(high) + 1])

    def note(self, language: Language) -> str | None:
        """The range in one sentence ("Sin ..., la estimación estaría entre 8% y 31%: ...")."""
        if not self.unknown:
            return None
        values = {
            "missing": self._missing(language),
            "low": _percent(self.low, language),
            "high": _percent(self.high, language),
            "most": self._name(self.most_informative or self.unknown[0], language),
        }
        sentence = RANGE_UNCERTAIN if len(self.possible_tiers()) > 1 else RANGE_SETTLED
        return f"{text(sentence, language, **values)} {text(RANGE_BASIS, language)}"

    def _missing(self, language: Language) -> str:
        if len(self.unknown) > LISTED_UNKNOWNS:
            return range_many_unknown(len(self.unknown), language)
        names = [self._name(name, language) for name in self.unknown]
        joined = ", ".join(names[:-1])
        return f"{joined} {text(RANGE_AND, language)} {names[-1]}" if joined else names[-1]

    def _name(self, name: str, language: Language) -> str:
        feature = self.registry.get(name)
        if feature is None:
            return name
        description = feature.description(language)
        return description[:1].lower() + description[1:]


def _percent(probability: float, language: Language) -> str:
    """A whole percentage in the locale's form; one decimal below 1% ("0,8 %")."""
    return translation(language).percent(probability, 1 if probability < 0.01 else 0)


def score_out(
    *,
    youth_id: str,
    model_version: str,
    probability: float,
    percentile: float,
    reference: str,
    tier: str,
    reasons: RowReasons,
    catalog: Catalog,
    age: int,
    municipality: str,
    enrolments: Mapping[str, EnrolmentStatus],
    language: Language,
    max_referrals: int,
    as_of: dt.date | None = None,
    snapshot_id: int | None = None,
    places: Places | None = None,
    partial: Partial | None = None,
) -> ScoreOut:
    """The API's answer for one scored young person; ``partial`` when some of its values were unknown.

    ``places``: the latest allocation cycle's view for this young person (see
    :func:`service.allocation_store.places_for`); each referral then says
    whether they hold a place, wait for one, or whether one is still open.
    """
    suggestions = suggest_referrals(
        reasons.risk,
        catalog,
        age=age,
        municipality=municipality,
        enrolments=enrolments,
        top=len(catalog.programs),
    )
    if places is not None:  # a place offered in the latest cycle comes first, whatever its rank
        offered = {program for program, place in places.mine.items() if place.status == "offered"}
        suggestions.sort(key=lambda suggestion: suggestion.programme.id not in offered)
    suggestions = suggestions[:max_referrals]
    return ScoreOut(
        youth_id=youth_id,
        model_version=model_version,
        probability=round(float(probability), 6),
        percentile=round(float(percentile), 2),
        percentile_reference="snapshot" if reference == "snapshot" else "model",
        tier=tier,
        probability_range=(
            round(float(partial.low if partial else probability), 6),
            round(float(partial.high if partial else probability), 6),
        ),
        unknown_features=list(partial.unknown) if partial else [],
        tier_uncertain=bool(partial and len(partial.possible_tiers()) > 1),
        possible_tiers=partial.possible_tiers() if partial else [tier],
        most_informative_unknown=partial.most_informative if partial else None,
        range_note=partial.note(language) if partial else None,
        reasons=[_reason(reason) for reason in reasons.risk],
        protective_factors=[_reason(reason) for reason in reasons.protective],
        context=[_reason(reason) for reason in reasons.context],
        data_gaps=[_reason(reason) for reason in reasons.gaps],
        referrals=[
            ReferralOut(
                program=suggestion.programme.id,
                name=suggestion.programme.name(language),
                description=suggestion.programme.description(language)
                if suggestion.programme.description
                else None,
                capacity=suggestion.programme.capacity,
                **_place(suggestion.programme, places),
                weight=round(suggestion.weight, 6),
                reasons=[_reason(reason) for reason in suggestion.reasons],
            )
            for suggestion in suggestions
        ],
        note=text(NOTE, language),
        language=language,
        as_of=as_of,
        snapshot_id=snapshot_id,
    )


def enrolment_map(programs: Iterable[Enrolment]) -> dict[str, EnrolmentStatus]:
    """Programme id -> status; of repeated entries, active beats completed beats dropped."""
    priority = {"active": 0, "completed": 1, "dropped": 2}
    statuses: dict[str, EnrolmentStatus] = {}
    for enrolment in programs:
        known = statuses.get(enrolment.program)
        if known is None or priority[enrolment.status] < priority[known]:
            statuses[enrolment.program] = enrolment.status
    return statuses


def _place(programme: Programme, places: Places | None) -> dict[str, object]:
    """Whether a place exists for this referral: offered, waiting (with position), open or full."""
    if places is None:  # no allocation yet: the catalog's capacity is all there is to go by
        return {"place": "open" if programme.capacity > 0 else "full"}
    mine = places.mine.get(programme.id)
    if mine is not None:
        waiting = mine.status == "waiting"
        return {
            "place": mine.status,  # offered, waiting, or declined / withdrawn (the programme turned down)
            "waiting_position": mine.position if waiting else None,
            "cycle": places.cycle,
        }
    open_places = places.unoffered.get(programme.id, 0) > 0
    return {"place": "open" if open_places else "full", "cycle": places.cycle}


def _reason(reason: Reason) -> ReasonOut:
    return ReasonOut(
        feature=reason.feature,
        factor=reason.factor,
        value=reason.value,
        contribution=round(float(reason.contribution), 6),
        sentence=reason.sentence,
    )
