"""The served model's fairness audit (programme manager), as JSON or as the HTML report."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service.deps import ProgramManagerGuard
from service.responses import refusals
from service.texts import NO_AUDIT, text

router = APIRouter(tags=["model"])


@router.get(
    "/v1/fairness",
    summary="The champion's fairness audit (programme manager): JSON, or HTML with Accept: text/html",
    operation_id="fairness",
    responses={
        **refusals({404: "The served model has no recorded audit."}),
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}},
            },
            "description": "audit.json, or report.html with Accept: text/html",
        },
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
