"""The served model and its card (any role): what it is for, what not, and how well it works."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import AnyRoleGuard
from service.responses import refusals
from service.schemas import ModelOut

router = APIRouter(tags=["model"])


@router.get(
    "/v1/model",
    response_model=ModelOut,
    summary="The served model's version and card (any role)",
    operation_id="model",
    responses=refusals(),
)
def model_card(guard: AnyRoleGuard) -> ModelOut:
    model = guard.model()
    guard.log("allowed", 200, model=model)
    return ModelOut(
        version=model.version,
        sha256=model.sha256,
        source=model.source,
        kind=model.scoring.kind,
        feature_names=list(model.scoring.feature_names),
        loaded_at=model.loaded_at,
        card=model.card,
    )
