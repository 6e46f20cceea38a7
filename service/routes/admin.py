"""Reload the served model (data scientist): the new champion loaded, verified, published, swapped in."""

from __future__ import annotations

from fastapi import APIRouter

from previ.errors import PreviError
from service.deps import DataScientistGuard
from service.responses import refusals
from service.schemas import ReloadOut
from service.texts import MODEL_REFUSED, text

router = APIRouter(tags=["admin"])


@router.post(
    "/v1/admin/reload",
    response_model=ReloadOut,
    summary="Load the registry's champion again and swap it in (data scientist)",
    operation_id="reload",
    responses=refusals({409: "The new model was refused; the old one stays."}),
)
def reload_model(guard: DataScientistGuard) -> ReloadOut:
    """Like SIGHUP: every worker follows within ``service.reload_poll_seconds``.

    Requests in flight finish on the model they started with.
    """
    try:
        swap = guard.state.follower.reload_champion()
    except PreviError as error:
        current = guard.state.holder.current
        version = current.version if current is not None else "-"
        guard.refuse(
            409,
            text(MODEL_REFUSED, guard.language, version=version, reason=error.lines[0]),
            detail="model_refused",
        )
    guard.log(
        "allowed",
        200,
        model=swap.current,
        detail=f"reload from {swap.previous.version if swap.previous else '-'}",
    )
    return ReloadOut(
        version=swap.current.version,
        previous_version=swap.previous.version if swap.previous else None,
        changed=swap.changed,
    )
