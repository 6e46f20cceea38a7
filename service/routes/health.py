"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from service.deps import StateDep
from service.responses import PUBLIC
from service.schemas import ErrorOut, Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz", response_model=Health, summary="The process is up", operation_id="healthz", responses=PUBLIC
)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="A verified model is loaded and the audit log takes writes: scores can be served",
    operation_id="readyz",
    responses={
        **PUBLIC,
        503: {"model": ErrorOut, "description": "No model loaded (yet, or it was refused), or no audit log."},
    },
)
async def readyz(state: StateDep) -> Health:
    """Ready only when a score could be served: a model, and an audit log that can be written now."""
    model = state.holder.current
    if model is None:
        raise HTTPException(503, "no model loaded")
    if not await run_in_threadpool(state.audit.writable):
        raise HTTPException(503, "the audit log cannot be written")
    return Health(status="ready", model_version=model.version)
