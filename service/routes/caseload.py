"""The caller's own caseload (caseworker): the ids of the young people they follow, never their scores.

A case-management system reads it to know whose scores it may ask for
(``GET /v1/youth/{youth_id}/score``, linked from the response); it is a list of
ids in id order, so it can rank no one.
"""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import CaseworkerGuard
from service.responses import refusals
from service.schemas import CaseloadOut

router = APIRouter(tags=["scores"])


@router.get(
    "/v1/caseload",
    response_model=CaseloadOut,
    summary="The young people on the caller's caseload, by id (caseworker)",
    operation_id="caseload",
    responses=refusals(
        links={
            "SnapshotScore": {
                "operationId": "snapshot_score",
                "description": "The score of the first young person on the caseload.",
                "parameters": {"path.youth_id": "$response.body#/youth_ids/0"},
            }
        }
    ),
)
def caseload(guard: CaseworkerGuard) -> CaseloadOut:
    youth_ids = guard.state.caseload.youth_of(guard.caller.name)  # sorted by id
    guard.log("allowed", 200, detail="caseload")
    return CaseloadOut(youth_ids=youth_ids)
