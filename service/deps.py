"""Request dependencies: who is asking (token -> role), in which language, and the access log.

Deny by default: every /v1 route depends on :func:`allow` with the roles that
may call it; no token or an unknown one is 401, a known token of another role
403, and both are logged before the refusal leaves. The :class:`Guard` a route
receives is how it logs its own outcome (allowed, or refused for a purpose or an
invalid value) and how it takes the served model: once, at the start, so that
a reload in the middle of the request cannot mix two models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from features.registry import Language
from previ.errors import PreviError
from service.audit_log import Access, Outcome
from service.model_store import LoadedModel
from service.purposes import check_purpose
from service.scoring import FeatureProblem
from service.state import ServiceState
from service.texts import parse_accept_language, text
from service.tokens import Caller, Role

__all__ = ["Guard", "LanguageDep", "StateDep", "allow", "endpoint_of", "log_refusal"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A token from `previ tokens add --role ROLE --name NAME`.",
)


async def get_state(request: Request) -> ServiceState:
    """Async (as are the other cheap dependencies) so that FastAPI does not hop to a thread for it."""
    state: ServiceState = request.app.state.previ
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_language(request: Request, state: StateDep) -> Language:
    return parse_accept_language(request.headers.get("accept-language"), state.config.language)


LanguageDep = Annotated[Language, Depends(get_language)]


def endpoint_of(request: Request) -> str:
    """The route template ("/v1/youth/{youth_id}/score"), so that ids in paths never reach the log."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


@dataclass(frozen=True)
class Guard:
    """One authorised request: its caller, and the way it writes its audit entries."""

    state: ServiceState
    caller: Caller
    endpoint: str
    method: str
    language: Language

    def model(self, *, purpose: str | None = None, youth_ids: Sequence[str] = ()) -> LoadedModel:
        """The served model, read once; 503 (logged) when there is none."""
        model = self.state.holder.current
        if model is None:
            self.refuse(
                503, text("no_model", self.language), purpose=purpose, youth_ids=youth_ids, detail="no_model"
            )
        return model

    def check_purpose(self, purpose: str, *, youth_ids: Sequence[str], model: LoadedModel | None) -> None:
        """403 (logged) for a punitive or unlisted purpose."""
        verdict = check_purpose(purpose, self.state.settings.purposes).verdict
        if verdict == "punitive":
            self.refuse(
                403,
                text("purpose_punitive", self.language),
                purpose=purpose,
                youth_ids=youth_ids,
                model=model,
                detail="punitive_purpose",
            )
        if verdict == "unknown":
            allowed = ", ".join(self.state.settings.purposes)
            message = text("purpose_unknown", self.language, allowed=allowed)
            self.refuse(
                403, message, purpose=purpose, youth_ids=youth_ids, model=model, detail="unknown_purpose"
            )

    def invalid(
        self,
        problems: Sequence[tuple[tuple[str | int, ...], FeatureProblem]],
        *,
        purpose: str | None,
        youth_ids: Sequence[str],
        model: LoadedModel | None,
    ) -> NoReturn:
        """422 (logged) naming each invalid feature, in the shape of FastAPI's validation errors."""
        detail = [
            {"loc": [*location, problem.feature], "msg": problem.message, "type": problem.kind}
            for location, problem in problems
        ]
        self.log("refused", 422, purpose=purpose, youth_ids=youth_ids, model=model, detail="invalid_features")
        raise HTTPException(status_code=422, detail=detail)

    def refuse(
        self,
        status: int,
        message: str,
        *,
        purpose: str | None = None,
        youth_ids: Sequence[str] = (),
        model: LoadedModel | None = None,
        detail: str,
    ) -> NoReturn:
        self.log("refused", status, purpose=purpose, youth_ids=youth_ids, model=model, detail=detail)
        raise HTTPException(status_code=status, detail=message)

    def log(
        self,
        outcome: Outcome,
        status: int,
        *,
        purpose: str | None = None,
        youth_ids: Sequence[str] = (),
        model: LoadedModel | None = None,
        model_version: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Write the entry (one per young person); AuditUnavailable turns the response into a 503.

        The model version is ``model_version``, else that of ``model`` (the one the
        request took), else whatever is served now.
        """
        current = model or self.state.holder.current
        version = model_version or (current.version if current is not None else None)
        access = Access(
            endpoint=self.endpoint,
            method=self.method,
            outcome=outcome,
            status=status,
            token_id=self.caller.token_id,
            role=self.caller.role,
            purpose=purpose,
            model_version=version,
            detail=detail,
        )
        self.state.audit.record(access, [self.state.pseudonymize(youth_id) for youth_id in youth_ids])


def allow(*roles: Role) -> Callable[..., Awaitable[Guard]]:
    """A dependency that lets only ``roles`` through (deny by default) and logs every refusal."""

    async def dependency(
        request: Request,
        state: StateDep,
        language: LanguageDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Guard:
        endpoint = endpoint_of(request)
        try:
            caller = state.tokens.authenticate(credentials.credentials) if credentials else None
        except PreviError:
            await log_refusal(state, request, endpoint, 503, "token_file_unreadable")
            raise HTTPException(503, text("tokens_unavailable", language)) from None
        if caller is None:
            await log_refusal(state, request, endpoint, 401, "no_valid_token")
            raise HTTPException(
                401, text("unauthenticated", language), headers={"WWW-Authenticate": "Bearer"}
            )
        request.state.caller = caller
        guard = Guard(state=state, caller=caller, endpoint=endpoint, method=request.method, language=language)
        if caller.role not in roles:
            await run_in_threadpool(
                guard.log, "refused", 403, detail=f"role_not_allowed ({', '.join(roles)})"
            )
            raise HTTPException(403, text("wrong_role", language, role=caller.role))
        return guard

    return dependency


async def log_refusal(
    state: ServiceState,
    request: Request,
    endpoint: str,
    status: int,
    detail: str,
    *,
    purpose: str | None = None,
    youth_id: str | None = None,
) -> None:
    """Log a refusal decided before a route ran (no token, wrong role, invalid body)."""
    caller: Any = getattr(request.state, "caller", None)
    access = Access(
        endpoint=endpoint,
        method=request.method,
        outcome="refused",
        status=status,
        token_id=getattr(caller, "token_id", None),
        role=getattr(caller, "role", None),
        purpose=purpose,
        model_version=state.holder.current.version if state.holder.current else None,
        detail=detail,
    )
    youth = [state.pseudonymize(youth_id)] if youth_id else [None]
    await run_in_threadpool(state.audit.record, access, youth)


CaseworkerGuard = Annotated[Guard, Depends(allow("caseworker"))]
DataScientistGuard = Annotated[Guard, Depends(allow("data_scientist"))]
ProgramManagerGuard = Annotated[Guard, Depends(allow("program_manager"))]
AuditorGuard = Annotated[Guard, Depends(allow("auditor"))]
AnyRoleGuard = Annotated[Guard, Depends(allow("caseworker", "program_manager", "data_scientist", "auditor"))]
