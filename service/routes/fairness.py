"""The served model's fairness audit (programme manager), as JSON or as the HTML report."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service.deps import ProgramManagerGuard
from service.routes.scores import REFUSALS
from service.schemas import ErrorOut
from service.texts import NO_AUDIT, text

router = APIRouter(tags=["model"])


@router.get(
    "/v1/fairness",
    summary="The champion's fairness audit (programme manager): JSON, or HTML with Accept: text/html",
    responses={
        **REFUSALS,
        200: {
            "content": {"application/json": {}, "text/html": {}},
            "description": "audit.json or report.html",
        },
        404: {"model": ErrorOut, "description": "The model has no recorded audit."},
    },
)
def fairness(request: Request, guard: ProgramManagerGuard) -> Response:
    model = guard.model()
    wants_html = "text/html" in request.headers.get("accept", "")
    content = model.audit_report(guard.language) if wants_html else model.audit_json
    if content is None:
        guard.refuse(404, text(NO_AUDIT, guard.language), model=model, detail="no_audit")
    guard.log("allowed", 200, model=model)
    if isinstance(content, str):
        return HTMLResponse(content)
    return JSONResponse(content)
