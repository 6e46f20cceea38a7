"""One young person's score from the latest batch snapshot (caseworker); never a list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy.exc import SQLAlchemyError

from service.allocation_store import places_for
from service.deps import OUT_OF_CASELOAD, CaseworkerGuard, Guard, after_a_read
from service.responses import refusals
from service.results import score_out
from service.schemas import ScoreOut
from service.snapshots import SnapshotMeta, SnapshotPerson
from service.texts import NO_SNAPSHOT, NOT_IN_SNAPSHOT, text

router = APIRouter(tags=["scores"])

YouthPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", examples=["Y000123"])
]
PurposeQuery = Annotated[str, Query(min_length=1, max_length=64, examples=["case_review"])]
JustificationQuery = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Why a young person outside your caseload is looked up (only where the deployment "
        "allows it; logged and listed for the auditor).",
    ),
]


@router.get(
    "/v1/youth/{youth_id}/score",
    response_model=ScoreOut,
    summary="A young person's score from the latest batch snapshot (caseworker, own caseload)",
    operation_id="snapshot_score",
    responses=refusals(
        {404: "No snapshot yet, or the young person is not in the latest one."},
        links={
            "RecordFeedback": {
                "operationId": "record_feedback",
                "description": "Record what was done about this score.",
                "requestBody": {"youth_id": "$response.body#/youth_id"},
            }
        },
    ),
)
async def snapshot_score(
    youth_id: YouthPath,
    purpose: PurposeQuery,
    guard: CaseworkerGuard,
    justification: JustificationQuery = None,
) -> ScoreOut:
    """The score, reasons and referrals computed by the latest ``previ score`` run.

    Only for a young person on the caller's caseload (403, logged, otherwise;
    see ``service.out_of_caseload`` for look-ups with a justification). The
    percentile is within that snapshot's population; reasons are in the
    language asked for; referrals follow the current catalog and the
    programmes the young person was in at the snapshot's date.
    """
    return await after_a_read(
        guard,
        lambda deferring: _read(deferring, youth_id, purpose, justification),
        lambda deferring, found: _answer(deferring, youth_id, purpose, found),
    )


def snapshot_answer(guard: Guard, youth_id: str, purpose: str, justification: str | None) -> ScoreOut:
    """The same answer, refusals and entries, for a caller in a thread (the caseworker's page)."""
    return _answer(guard, youth_id, purpose, _read(guard, youth_id, purpose, justification))


@dataclass(frozen=True)
class _Found:
    snapshot: SnapshotMeta
    person: SnapshotPerson
    detail: str | None  # OUT_OF_CASELOAD for a justified look-up outside the caseload
    justification: str | None


def _read(guard: Guard, youth_id: str, purpose: str, justification: str | None) -> _Found:
    """The checks and the snapshot read (a thread: they query the database); refusals and 404s raise."""
    ids = [youth_id]
    guard.check_purpose(purpose, youth_ids=ids, model=None)
    outside = guard.require_caseload(youth_id, purpose=purpose, justification=justification)
    detail, stated = (OUT_OF_CASELOAD, (justification or "").strip()) if outside else (None, None)
    try:
        snapshot, person = guard.state.snapshots.person(youth_id)
    except SQLAlchemyError:
        guard.refuse(
            503,
            text(NO_SNAPSHOT, guard.language),
            purpose=purpose,
            youth_ids=ids,
            detail="snapshots_unreadable",
        )
    if snapshot is None or person is None:
        message = (
            text(NO_SNAPSHOT, guard.language)
            if snapshot is None
            else text(NOT_IN_SNAPSHOT, guard.language, as_of=snapshot.as_of)
        )
        version = snapshot.model_version if snapshot else None
        guard.log(
            "allowed",
            404,
            purpose=purpose,
            youth_ids=ids,
            model_version=version,
            detail=detail or "not_found",
            justification=stated,
        )
        raise HTTPException(404, message)
    return _Found(snapshot, person, detail, stated)


def _answer(guard: Guard, youth_id: str, purpose: str, found: _Found) -> ScoreOut:
    """The answer, on the event loop (the places are a cached read)."""
    snapshot, person = found.snapshot, found.person
    answer = score_out(
        youth_id=youth_id,
        model_version=snapshot.model_version,
        probability=person.probability,
        percentile=person.percentile,
        reference="snapshot",
        tier=person.tier,
        reasons=person.reasons[guard.language],
        catalog=guard.state.catalog,
        age=person.age,
        municipality=person.municipality,
        enrolments=person.enrolments,
        language=guard.language,
        max_referrals=guard.state.settings.max_referrals,
        as_of=snapshot.as_of,
        snapshot_id=snapshot.id,
        places=places_for(guard.state.snapshots, [youth_id]).get(youth_id),
    )
    guard.log(
        "allowed",
        200,
        purpose=purpose,
        youth_ids=[youth_id],
        model_version=snapshot.model_version,
        detail=found.detail,
        justification=found.justification,
    )
    return answer
