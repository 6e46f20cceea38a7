"""What caseworkers did with a score: referrals made or declined, tiers overridden with a reason.

A declined referral closes the loop with the allocation: the young person's offered
place (or waiting-list entry) in that programme is released to the next in line
(:func:`service.allocation_store.release_place`), after the decision is durably logged.
"""

from __future__ import annotations

from fastapi import APIRouter

from service.allocation_store import release_place
from service.audit_log import Access, FeedbackEntry
from service.deps import CaseworkerGuard
from service.responses import refusals
from service.schemas import FeedbackIn, FeedbackOut
from service.scoring import FeatureProblem
from service.texts import UNKNOWN_PROGRAM

router = APIRouter(tags=["feedback"])


@router.post(
    "/v1/feedback",
    response_model=FeedbackOut,
    status_code=201,
    summary="Record a referral made or declined, or a tier overridden with a reason (caseworker)",
    operation_id="record_feedback",
    responses=refusals(
        links={
            "SnapshotScore": {
                "operationId": "snapshot_score",
                "description": "The score of the young person the feedback is about.",
                "parameters": {"path.youth_id": "$request.body#/youth_id"},
            }
        },
        success=201,
    ),
)
def feedback(body: FeedbackIn, guard: CaseworkerGuard) -> FeedbackOut:
    """Feedback is how the programme learns whether suggestions are taken up and where the tiers are off.

    Only for a young person on the caller's caseload (403, logged, otherwise). A
    ``referral_declined`` frees the young person's place in that programme in the
    latest allocation cycle, for the first on its waiting list.
    """
    ids = [body.youth_id]
    guard.require_caseload(body.youth_id, purpose=body.kind)
    current = guard.state.holder.current
    version = body.model_version or (current.version if current is not None else None)
    if body.program is not None and guard.state.catalog.get(body.program) is None:
        problem = FeatureProblem("program", UNKNOWN_PROGRAM, "value_error")
        guard.invalid([(("body",), problem)], purpose=None, youth_ids=ids, model=current)
    access = Access(
        endpoint=guard.endpoint,
        method=guard.method,
        outcome="allowed",
        status=201,
        token_id=guard.caller.token_id,
        role=guard.caller.role,
        purpose=body.kind,
        model_version=version,
        detail="feedback",
    )
    entry = FeedbackEntry(
        kind=body.kind, program=body.program, tier=body.tier, reason=body.reason, model_version=version
    )
    feedback_id, recorded_at = guard.state.audit.record_feedback(
        access, guard.state.pseudonymize(body.youth_id), entry
    )
    if body.kind == "referral_declined" and body.program is not None:
        release_place(guard.state.snapshots, body.youth_id, body.program)
    return FeedbackOut(id=feedback_id, recorded_at=recorded_at)
