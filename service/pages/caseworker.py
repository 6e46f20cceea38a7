"""The caseworker's pages: one young person (score, reasons, trend, referrals, decisions) and my caseload.

A score shown here is the API's: the page calls the same route functions as
``GET /v1/youth/{id}/score`` and ``POST /v1/feedback`` with the caller's guard,
so the purpose check, the snapshot read, the referral ranking and the audit
entries are one code path, logged with this page's route as the endpoint.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from previ.i18n import N_
from service.pages.frame import Page, PageRoute, check_form, page_for
from service.pages.history import score_history
from service.pages.views import (
    change_since,
    contribution_bars,
    frequency,
    horizon,
    percent,
    percentile_shown,
    probability_sentence,
    trend_chart,
)
from service.routes.feedback import feedback
from service.routes.youth import snapshot_answer
from service.schemas import FEEDBACK
from service.texts import NO_SNAPSHOT, text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CaseworkerPage = Annotated[Page, Depends(page_for("caseworker"))]
YOUTH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
FEEDBACK_KINDS = ("referral_made", "referral_declined", "tier_overridden")
FEEDBACK_ERRORS = ("reason_required", "feedback_invalid")
# What the estimate is of, as the probability sentence words it (features.labels decides what it counts).
OUTCOME = N_(
    "a recorded adverse event (detention, start of probation, a violence-related civic infraction or "
    "dropping out of school)"
)
TREND_SNAPSHOTS = 6


@router.get("/caseworker/youth")
def youth(page: CaseworkerPage) -> Response:
    """The look-up form; with an id and a purpose, the explained score from the latest snapshot."""
    query = page.request.query_params
    youth_id = query.get("youth_id", "").strip()
    purpose = query.get("purpose", "").strip()
    if not youth_id and not purpose:
        return _lookup(page)
    if not YOUTH_ID.fullmatch(youth_id):
        page.guard.log("refused", 422, purpose=_plain(purpose), detail="invalid_request")
        return _lookup(
            page,
            status=400,
            purpose=purpose,
            youth_error=page.gettext(
                "The id is not valid: letters, digits and . _ : - (up to 64 characters)."
            ),
        )
    if not purpose:
        page.guard.log("refused", 422, youth_ids=[youth_id], detail="invalid_request")
        return _lookup(
            page,
            status=400,
            youth_id=youth_id,
            purpose_error=page.gettext("Choose the purpose of this look-up."),
        )
    try:
        score = snapshot_answer(page.guard, youth_id, purpose[:64], query.get("justification"))
    except HTTPException as error:
        if error.status_code != 404:
            raise
        return _lookup(page, status=404, youth_id=youth_id, purpose=purpose, youth_error=str(error.detail))
    _, history = score_history(page.state.snapshots, [youth_id], last=TREND_SNAPSHOTS)
    points = history[youth_id]
    model = page.state.holder.current
    reasons, protective = contribution_bars(score)
    recorded = query.get("recorded")
    problem = query.get("error")
    return page.render(
        "youth.html",
        score=score,
        youth_id=youth_id,
        purpose=purpose,
        probability=percent(score.probability, page.language),
        frequency=frequency(score.probability, page.language),
        probability_sentence=probability_sentence(
            score.probability,
            page.gettext(OUTCOME),
            horizon(page.state.config.features.horizon_days, page.language),
            page.language,
        ),
        percentile=percentile_shown(score.percentile),
        reason_bars=reasons,
        protective_bars=protective,
        points=[(point, percent(point.probability, page.language)) for point in points],
        chart=trend_chart(points, model.scoring.tiers if model else None, page.language) if points else None,
        models_differ=len({point.snapshot.model_version for point in points}) > 1,
        catalog=[(programme.id, programme.name(page.language)) for programme in page.state.catalog.programs],
        recorded=recorded if recorded in FEEDBACK_KINDS else None,
        feedback_error=problem if problem in FEEDBACK_ERRORS else None,
        lookup={"youth_id": youth_id, "purpose": purpose},
        youth_error=None,
        purpose_error=None,
    )


@router.post("/caseworker/feedback")
async def record_feedback(page: CaseworkerPage) -> Response:
    """A decision on the score shown: referral made or declined, or the tier overridden with a reason."""
    form = await check_form(page)
    youth_id = form.get("youth_id", "")
    back = {"youth_id": youth_id, "purpose": form.get("purpose", "")}
    fields = {
        key: form.get(key) for key in ("youth_id", "kind", "program", "tier", "reason", "model_version")
    }
    try:
        body = FEEDBACK.validate_python({key: value for key, value in fields.items() if value})
    except ValidationError:
        ids = [youth_id] if YOUTH_ID.fullmatch(youth_id) else []
        await run_in_threadpool(page.guard.log, "refused", 422, youth_ids=ids, detail="invalid_request")
        missing_reason = fields["kind"] == "tier_overridden" and not (fields["reason"] or "").strip()
        return _back_to(back, error="reason_required" if missing_reason else "feedback_invalid")
    try:
        await run_in_threadpool(feedback, body, page.guard)
    except HTTPException as error:
        if error.status_code != 422:
            raise
        return _back_to(back, error="feedback_invalid")
    return _back_to(back, recorded=body.kind)


@router.get("/caseworker/caseload")
def caseload(page: CaseworkerPage) -> Response:
    """The young people assigned to the signed-in caseworker; their tiers once a purpose is given."""
    assert page.caller is not None
    youth_ids = page.pages.caseload.youth_of(page.caller.name)
    purpose = page.request.query_params.get("purpose", "").strip()
    rows = []
    latest = previous = None
    if purpose and youth_ids:
        page.guard.check_purpose(purpose[:64], youth_ids=youth_ids, model=None)
        snapshots, history = score_history(page.state.snapshots, youth_ids, last=2)
        latest = snapshots[-1] if snapshots else None
        previous = snapshots[-2] if len(snapshots) > 1 else None
        page.guard.log(
            "allowed",
            200,
            purpose=purpose,
            youth_ids=youth_ids,
            model_version=latest.model_version if latest else None,
            detail="caseload",
        )
        for youth_id in youth_ids:
            points = history[youth_id]
            now = points[-1] if points and latest and points[-1].snapshot.id == latest.id else None
            rows.append(
                {
                    "youth_id": youth_id,
                    "tier": now.tier if now else None,
                    "probability": percent(now.probability, page.language) if now else None,
                    "change": change_since(points, latest, previous, page.language),
                    "href": "/caseworker/youth?" + urlencode({"youth_id": youth_id, "purpose": purpose}),
                }
            )
    return page.render(
        "caseload.html",
        youth_ids=youth_ids,
        purpose=purpose,
        rows=rows,
        latest=latest,
        previous=previous,
        no_snapshot=text(NO_SNAPSHOT, page.language) if purpose and youth_ids and latest is None else None,
    )


def _lookup(
    page: Page,
    *,
    status: int = 200,
    youth_id: str = "",
    purpose: str = "",
    youth_error: str | None = None,
    purpose_error: str | None = None,
) -> Response:
    return page.render(
        "youth.html",
        status=status,
        score=None,
        lookup={"youth_id": youth_id, "purpose": purpose},
        youth_error=youth_error,
        purpose_error=purpose_error,
    )


def _back_to(back: dict[str, str], **outcome: str) -> Response:
    return RedirectResponse(f"/caseworker/youth?{urlencode({**back, **outcome})}#decision", status_code=303)


def _plain(purpose: str) -> str | None:
    """A purpose worth logging with a refusal: short and plain (anything else is left out, not stored)."""
    return purpose if YOUTH_ID.fullmatch(purpose) else None
