"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.deps import StateDep
from service.schemas import ErrorOut, Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="A verified model is loaded and scores can be served",
    responses={503: {"model": ErrorOut, "description": "No model loaded (yet, or it was refused)."}},
)
async def readyz(state: StateDep) -> Health:
    model = state.holder.current
    if model is None:
        raise HTTPException(503, "no model loaded")
    return Health(status="ready", model_version=model.version)
