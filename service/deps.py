"""Request dependencies: who is asking (token -> role), in which language, and the access log.

Deny by default: every /v1 route depends on :func:`allow` with the roles that
may call it; no token or an unknown one is 401, a known token of another role
403, and both are logged before the refusal leaves (401s counted per minute,
see :mod:`service.refusals`). Requests are counted per client address before
the token is checked and per token after it (:mod:`service.rate_limits`). A
caseworker reads stored scores only of young people on their caseload
(:meth:`Guard.require_caseload`). A refusal names the young person the request
named (its pseudonym), so the auditor finds it by young person. The :class:`Guard` a route
receives is how it logs its own outcome (allowed, or refused for a purpose or an
invalid value) and how it takes the served model: once, at the start, so that
a reload in the middle of the request cannot mix two models.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from features.registry import Language
from previ.errors import PreviError
from service.audit_log import Access, AuditUnavailable, Outcome, durable
from service.model_store import LoadedModel
from service.pseudonym import Pseudonym
from service.purposes import check_purpose
from service.rate_limits import RateLimited, token_id_of
from service.scoring import FeatureProblem
from service.state import ServiceState
from service.texts import (
    NO_MODEL,
    NOT_ON_CASELOAD,
    NOT_ON_CASELOAD_JUSTIFY,
    OUT_OF_CASELOAD_LIMIT,
    PURPOSE_PUNITIVE,
    PURPOSE_UNKNOWN,
    TOKENS_UNAVAILABLE,
    UNAUTHENTICATED,
    WRONG_ROLE,
    parse_accept_language,
    text,
)
from service.tokens import Caller, Role

__all__ = [
    "Guard",
    "LanguageDep",
    "StateDep",
    "after_a_read",
    "allow",
    "authenticate",
    "client_address",
    "endpoint_of",
    "log_refusal",
    "named_youth",
    "on_event_loop",
]

T = TypeVar("T")
R = TypeVar("R")
PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
REGISTRY_NAME = re.compile(r"[a-z0-9_]{1,64}")
JUSTIFICATION_LENGTH = (10, 500)
COUNTED = (401, 429)

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
    return request_language(request, state)


def request_language(request: Request, state: ServiceState) -> Language:
    """The language the request asks for (Accept-Language), else the deployment's."""
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
    deferred: list[tuple[Access, list[Pseudonym | None]]] | None = None  # see on_event_loop

    def model(self, *, purpose: str | None = None, youth_ids: Sequence[str] = ()) -> LoadedModel:
        """The served model, read once; 503 (logged) when there is none."""
        model = self.state.holder.current
        if model is None:
            self.refuse(
                503, text(NO_MODEL, self.language), purpose=purpose, youth_ids=youth_ids, detail="no_model"
            )
        return model

    def check_purpose(self, purpose: str, *, youth_ids: Sequence[str], model: LoadedModel | None) -> None:
        """403 (logged) for a punitive or unlisted purpose."""
        verdict = check_purpose(purpose, self.state.settings.purposes).verdict
        if verdict == "punitive":
            self.refuse(
                403,
                text(PURPOSE_PUNITIVE, self.language),
                purpose=purpose,
                youth_ids=youth_ids,
                model=model,
                detail="punitive_purpose",
            )
        if verdict == "unknown":
            allowed = ", ".join(self.state.settings.purposes)
            message = text(PURPOSE_UNKNOWN, self.language, allowed=allowed)
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
            {
                "loc": [*location, _shown_name(problem.feature)],
                "msg": problem.text(self.language),
                "type": problem.kind,
            }
            for location, problem in problems
        ]
        self.log("refused", 422, purpose=purpose, youth_ids=youth_ids, model=model, detail="invalid_features")
        raise HTTPException(status_code=422, detail=detail)

    def require_caseload(self, youth_id: str, *, purpose: str, justification: str | None = None) -> bool:
        """Let a caseworker through only for a young person on their caseload; 403 (logged) otherwise.

        Other roles pass (their routes decide). Where the deployment allows it
        (``service.out_of_caseload``), a stated justification opens one look-up
        outside the caseload, up to ``service.out_of_caseload_per_day`` per token
        per UTC day; returns True for such a look-up, which the route logs with
        its justification (detail ``out_of_caseload``) for the auditor.
        """
        if self.caller.role != "caseworker" or self.state.caseload.holds(self.caller.name, youth_id):
            return False
        settings = self.state.settings
        stated = (justification or "").strip()
        low, high = JUSTIFICATION_LENGTH
        if not settings.out_of_caseload or not (low <= len(stated) <= high and stated.isprintable()):
            message = NOT_ON_CASELOAD_JUSTIFY if settings.out_of_caseload else NOT_ON_CASELOAD
            self.refuse(
                403,
                text(message, self.language),
                purpose=purpose,
                youth_ids=[youth_id],
                detail="not_on_caseload",
            )
        midnight = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        used = self.state.audit.count_since(midnight, token_id=self.caller.token_id, detail=OUT_OF_CASELOAD)
        if used >= settings.out_of_caseload_per_day:
            limit = settings.out_of_caseload_per_day
            self.refuse(
                403,
                text(OUT_OF_CASELOAD_LIMIT, self.language, limit=limit),
                purpose=purpose,
                youth_ids=[youth_id],
                detail="out_of_caseload_limit",
            )
        return True

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
        justification: str | None = None,
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
            justification=justification,
        )
        pseudonyms: list[Pseudonym | None] = [self.state.pseudonymize(youth_id) for youth_id in youth_ids]
        if self.deferred is not None:
            self.deferred.append((access, pseudonyms))
            return
        self.state.audit.record(access, pseudonyms)


async def on_event_loop(guard: Guard, check: Callable[[Guard], Callable[[], T]]) -> T:
    """Run a route on the event loop: ``check`` logs what it grants; the answer is built as that is written.

    For the hot routes (a score): a sync route costs a thread hand-off each way,
    about 1 ms of CPU on the 2-core virtual machine, more than its work.
    ``check`` gets a guard that keeps its entries; it refuses (the refusal's
    entries are written and awaited, then it leaves) or logs the access it
    grants and returns what builds the answer. The granted entries go to the
    writer (group-committed: on the loop itself on PostgreSQL, by the writer
    thread on SQLite) *before* the answer is built, so the answer's CPU and the
    write's round trip and flush overlap: one client's explained score waited
    for both in turn. The answer still leaves only once its entries are
    durable, and a failed write is a 503 as on every route. Should building the
    answer fail, each entry is logged again, refused with the status the
    failure is answered with (500 for a fault of the code) and detail
    ``not_answered``, so the log never shows a score as read that was not.
    Neither part may block on anything slower than the service's cached reads.
    """
    deferring = replace(guard, deferred=[])
    try:
        build = check(deferring)
    except BaseException:
        await _write_entries(guard, deferring.deferred or ())
        raise
    entries = deferring.deferred or []
    writes = [guard.state.audit.record_soon(access, pseudonyms) for access, pseudonyms in entries]
    try:
        await asyncio.sleep(0)  # the writer's drain task sends the rows before the answer takes the loop
        try:
            answer = build()
        except Exception as error:
            await _all_durable(writes)
            status = _status_of(error)
            unanswered = [
                (replace(access, outcome="refused", status=status, detail=NOT_ANSWERED), pseudonyms)
                for access, pseudonyms in entries
            ]
            await _write_entries(guard, unanswered)
            raise
        await _all_durable(writes)
        return answer
    finally:
        for write in writes:
            write.cancel()  # a request that went away: nobody waits, the rows are committed all the same


async def _all_durable(writes: Sequence[asyncio.Future[Any]]) -> None:
    """Await every write (none is left unawaited), then raise the first failure."""
    failure: AuditUnavailable | None = None
    for write in writes:
        try:
            await durable(write)
        except AuditUnavailable as error:
            failure = failure or error
    if failure is not None:
        raise failure


def _status_of(error: Exception) -> int:
    """The status the service's error handlers (``service.errors``) answer ``error`` with."""
    if isinstance(error, HTTPException):
        return error.status_code
    if isinstance(error, AuditUnavailable | SQLAlchemyError):
        return 503
    return 422 if isinstance(error, PreviError) else 500


async def _write_entries(guard: Guard, entries: Sequence[tuple[Access, list[Pseudonym | None]]]) -> None:
    for access, pseudonyms in entries:
        await guard.state.audit.record_async(access, pseudonyms)


async def after_a_read(guard: Guard, read: Callable[[Guard], R], work: Callable[[Guard, R], T]) -> T:
    """:func:`on_event_loop` for a route that must first read the database: ``read`` in a thread.

    ``read`` (the caseload check and the snapshot read of ``GET
    /v1/youth/{youth_id}/score``, say) may refuse, as a route does; ``work``
    then answers on the loop from what it read. Their entries are written on the
    loop once both are done: one thread hand-off each way for the read, none for
    the audit write (a sync route waited for the writer thread as well).
    """
    async with _entries_written_after(guard) as deferring:
        found = await run_in_threadpool(read, deferring)
        return work(deferring, found)


@asynccontextmanager
async def _entries_written_after(guard: Guard) -> AsyncIterator[Guard]:
    """A guard that keeps the entries it logs; they are written, and awaited, when the block ends."""
    deferring = replace(guard, deferred=[])
    try:
        yield deferring
    finally:
        await _write_entries(guard, deferring.deferred or ())


def allow(*roles: Role) -> Callable[..., Awaitable[Guard]]:
    """A dependency that lets only ``roles`` through (deny by default) and logs every refusal."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Guard:
        # The state and the language are read here, not as sub-dependencies: each one FastAPI solves
        # costs about 40 us, and every /v1 request passes here.
        state: ServiceState = request.app.state.previ
        language = request_language(request, state)
        endpoint = endpoint_of(request)
        caller = await authenticate(
            request, state, language, credentials.credentials if credentials else None
        )
        guard = Guard(state=state, caller=caller, endpoint=endpoint, method=request.method, language=language)
        if caller.role not in roles:
            youth_id = await named_youth(request)
            await run_in_threadpool(
                guard.log,
                "refused",
                403,
                youth_ids=[youth_id] if youth_id else [],
                detail=f"role_not_allowed ({', '.join(roles)})",
            )
            raise HTTPException(403, text(WRONG_ROLE, language, role=caller.role))
        return guard

    return dependency


async def authenticate(
    request: Request, state: ServiceState, language: Language, token: str | None
) -> Caller:
    """The caller of a bearer token, after the address and token counters; every refusal logged.

    401 for no or a bad token (a bad secret counts as a failure of its token id),
    429 over a rate limit or for a locked token, 503 when the tokens or the rate
    counters cannot be read. A request with no token at all is 401 whatever its
    address's count: it guesses nothing, so the address limit (there to slow
    guessing) does not count it, and the answer says what is missing (the API
    contract's 401).
    """
    endpoint = endpoint_of(request)
    token_id = token_id_of(token)
    try:
        if token:
            state.rate.address(client_address(request))
        state.rate.check_unlocked(token_id)
        caller = state.tokens.authenticate(token) if token else None
    except RateLimited as limited:
        await log_refusal(state, request, endpoint, 429, limited.detail)
        raise
    except PreviError:
        await log_refusal(state, request, endpoint, 503, "token_file_unreadable")
        raise HTTPException(503, text(TOKENS_UNAVAILABLE, language)) from None
    try:
        if caller is None:
            state.rate.failed(token_id if token_id and state.tokens.get(token_id) else None)
        else:
            request.state.caller = caller
            state.rate.token(caller.token_id)
    except RateLimited as limited:
        await log_refusal(state, request, endpoint, 429, limited.detail)
        raise
    except PreviError:
        await log_refusal(state, request, endpoint, 503, "token_file_unreadable")
        raise HTTPException(503, text(TOKENS_UNAVAILABLE, language)) from None
    if caller is None:
        await log_refusal(state, request, endpoint, 401, "no_valid_token")
        raise HTTPException(401, text(UNAUTHENTICATED, language), headers={"WWW-Authenticate": "Bearer"})
    return caller


def client_address(request: Request) -> str:
    """The peer's address (behind a proxy, run uvicorn with --forwarded-allow-ips so this is the client)."""
    return request.client.host if request.client is not None else "unknown"


async def named_youth(request: Request) -> str | None:
    """The youth id a request names (path, query, or a JSON body's ``youth_id``), when it is well formed.

    It makes a refusal findable by young person in the log; anything malformed
    is left out rather than stored. The body is read only when already received
    (FastAPI reads it before the dependencies run) and is at most the body limit.
    """
    candidate: Any = request.path_params.get("youth_id") or request.query_params.get("youth_id")
    if candidate is None and request.method == "POST" and "json" in request.headers.get("content-type", ""):
        try:
            payload = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            payload = None
        candidate = payload.get("youth_id") if isinstance(payload, dict) else None
    return candidate if isinstance(candidate, str) and PLAIN_ID.fullmatch(candidate) else None


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
    """Log a refusal decided before a route ran (no token, wrong role, invalid body).

    The young person is the one given, else the one the request names. A
    refusal of a request without a valid token (401, 429) is counted per minute
    (:class:`service.refusals.RefusalCounter`), not written on its own.
    """
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
    youth_id = youth_id or await named_youth(request)
    pseudonym = state.pseudonymize(youth_id) if youth_id else None
    if status in COUNTED:
        await run_in_threadpool(state.refusals.add, access, pseudonym)
        return
    await run_in_threadpool(state.audit.record, access, [pseudonym])


def _shown_name(name: str) -> str:
    """A field name fit to repeat in an error: a registry-like name, else a placeholder (it may be data)."""
    return name if REGISTRY_NAME.fullmatch(name) else "(unknown field)"


OUT_OF_CASELOAD = "out_of_caseload"
NOT_ANSWERED = "not_answered"  # an access logged as granted whose answer then failed (see on_event_loop)

CaseworkerGuard = Annotated[Guard, Depends(allow("caseworker"))]
DataScientistGuard = Annotated[Guard, Depends(allow("data_scientist"))]
ProgramManagerGuard = Annotated[Guard, Depends(allow("program_manager"))]
AuditorGuard = Annotated[Guard, Depends(allow("auditor"))]
AnyRoleGuard = Annotated[Guard, Depends(allow("caseworker", "program_manager", "data_scientist", "auditor"))]
