"""Turn a scored row into the API's answer: reasons, protective factors, referrals and the note.

Shared by live scores (``POST /v1/scores``, the batch endpoint) and snapshot
reads (``GET /v1/youth/{id}/score``), so both read alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from features.registry import Language
from models.reasons import Reason, RowReasons
from service.catalog import Catalog
from service.referrals import EnrolmentStatus, suggest_referrals
from service.schemas import Enrolment, ReasonOut, ReferralOut, ScoreOut
from service.texts import text

__all__ = ["enrolment_map", "score_out"]


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
) -> ScoreOut:
    suggestions = suggest_referrals(
        reasons.risk,
        catalog,
        age=age,
        municipality=municipality,
        enrolments=enrolments,
        top=max_referrals,
    )
    return ScoreOut(
        youth_id=youth_id,
        model_version=model_version,
        probability=round(float(probability), 6),
        percentile=round(float(percentile), 2),
        percentile_reference="snapshot" if reference == "snapshot" else "model",
        tier=tier,
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
                weight=round(suggestion.weight, 6),
                reasons=[_reason(reason) for reason in suggestion.reasons],
            )
            for suggestion in suggestions
        ],
        note=text("note", language),
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


def _reason(reason: Reason) -> ReasonOut:
    return ReasonOut(
        feature=reason.feature,
        factor=reason.factor,
        value=reason.value,
        contribution=round(float(reason.contribution), 6),
        sentence=reason.sentence,
    )
