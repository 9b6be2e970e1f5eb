"""The endpoints: /v1/suggest, /v1/articles/{id}, /v1/feedback, /v1/deflection and /healthz.

Security rules, enforced here and tested as properties:
- internal content (internal audience, runbooks) goes *only* to agent or admin keys,
  whatever the request asks; drafts, in-review and retired never; a public caller cannot
  tell an id only hidden content has from one nobody has (feedback included: the same 404);
- errors are JSON with a stable shape and never echo ticket text;
- a long ticket is ranked in a worker thread under a time budget, so one costly ticket
  never stalls the event loop (`/healthz` and other requests keep answering) and never
  runs unbounded; a short one (INLINE_CHARS) ranks in a few milliseconds at most, on the
  event loop: the hop to a thread and back cost more than the ranking, and eight threads
  ranking at once mostly waited for each other's GIL (283 against 438 req/s, one worker).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..events import Recorder
from ..index import IndexProblem
from ..suggest import DocMeta, Engine, EngineHolder, SuggestResult, Ticket
from .auth import ANONYMOUS_RATE, Caller, KeyRing, RateLimiter, retry_after
from .errors import ERRORS, NOT_FOUND
from .models import (
    Accepted,
    ArticleOut,
    DeflectionRequest,
    EventsHealth,
    FeedbackRequest,
    Health,
    SuggestRequest,
    SuggestResponse,
)
from .recording import EventWriter, new_event_id, suggest_job


class Moved(BaseModel):
    replaced_by: str = Field(description="The live article that replaces the retired one.",
                             examples=["reset-password"])
    url: str = Field(description="Its API URL (also in `Location`).", examples=["/v1/articles/reset-password"])


@dataclass
class Services:
    """What the endpoints share, built once per app by `create_app`."""

    holder: EngineHolder
    keys: KeyRing
    limiter: RateLimiter
    writer: EventWriter
    budget: float  # seconds of ranking work per request


def suggest_response(result: SuggestResult) -> SuggestResponse:
    """The engine's result as the API's response model (the one mapping from engine to API)."""
    return SuggestResponse.model_validate(result, from_attributes=True)


def article_response(doc: DocMeta) -> ArticleOut:
    """An indexed document's metadata as the API's article model."""
    return ArticleOut.model_validate(doc, from_attributes=True)


def successor_of(eng: Engine, doc_id: str, internal: bool) -> str | None:
    """The live successor of a retired article, when this caller may see both (a public caller
    learns of retired public articles only, as the engine's own succession does)."""
    i = eng.index_of.get(doc_id)
    if i is None or eng.successor[i] < 0:
        return None
    s = int(eng.successor[i])
    if not (eng.live[s] if internal else eng.public_retired[i] and eng.public[s]):
        return None
    return eng.docs[s].id


def _limit(services: Services, who: str, rate: int) -> None:
    wait = services.limiter.take(who, rate)
    if wait:
        raise StarletteHTTPException(429, "rate limit exceeded", headers={"Retry-After": retry_after(wait)})


def caller_dependency(services: Services) -> Callable[..., Awaitable[Caller]]:
    """Who is calling (see auth.py): 401 for a key that is not valid, 429 over the key's rate."""
    bearer = HTTPBearer(auto_error=False, description="An API key from `kbtool keys create` (or the server's "
                        "KBTOOL_API_TOKEN). Required once the server has any key.")

    async def caller(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
        services.keys.refresh()
        if not services.keys.required:
            return Caller("public")
        if creds is None:
            return Caller(None)
        found = services.keys.authenticate(creds.credentials)
        if found is None:
            raise StarletteHTTPException(401, "a valid API key is required")
        _limit(services, f"key:{found.key_id}", found.rate)
        return found

    return caller


def _need_key(caller: Caller) -> None:
    if caller.scope is None:
        raise StarletteHTTPException(401, "a valid API key is required")


def _anonymous_limit(services: Services, caller: Caller, request: Request) -> None:
    if caller.scope is None:
        _limit(services, f"ip:{request.client.host if request.client else '?'}", ANONYMOUS_RATE)


def engine_dependency(holder: EngineHolder) -> Callable[[], Awaitable[Engine]]:
    """A dependency giving the engine of the current index build (503 while there is none).
    Loading the first build runs in the thread pool; later builds compile in a background
    thread while requests keep using the previous engine."""

    async def engine() -> Engine:
        try:
            if holder.loaded:
                return holder.get(wait=False)
            return await run_in_threadpool(holder.get)
        except IndexProblem as e:
            raise StarletteHTTPException(503, str(e)) from None

    return engine


# A ticket this short ranks in about 1-4 ms at 10,000 articles (bench_api.py), so it runs on
# the event loop; longer ones, and the embedding model's, run under the time budget.
INLINE_CHARS = 4_000


async def budgeted(services: Services, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker thread; 503 if it is not done within the budget (the thread is
    abandoned, not killed: the budget bounds what the caller waits, and input caps bound the work)."""
    try:
        with anyio.fail_after(services.budget):
            return await anyio.to_thread.run_sync(functools.partial(fn, *args), abandon_on_cancel=True)
    except TimeoutError:
        raise StarletteHTTPException(503, f"the request ran out of its {services.budget:g} s time budget") from None


def add_routes(app: FastAPI, services: Services) -> None:
    caller_dep = caller_dependency(services)
    engine = engine_dependency(services.holder)
    _suggest_route(app, services, caller_dep, engine)
    _article_route(app, caller_dep, engine)
    _feedback_routes(app, services, caller_dep, engine)

    @app.get("/healthz", response_model=Health, responses={503: ERRORS[503]}, summary="Liveness and index status")
    async def healthz() -> Any:
        eng = await engine()
        h = services.writer.health()
        return Health(status="ok", version=__version__, documents=len(eng.docs), build=eng.build,
                      semantic=eng.semantic,
                      semantic_note=eng.semantic_note,
                      events=EventsHealth(backend=h.backend, recorded=h.recorded, dropped=h.dropped,
                                          buffered=h.buffered))


def _suggest_route(app: FastAPI, services: Services, caller_dep: Any, engine: Any) -> None:
    @app.post("/v1/suggest", response_model=SuggestResponse, responses=ERRORS, summary="Suggest articles for a ticket")
    async def suggest(req: SuggestRequest, caller: Caller = Depends(caller_dep)) -> Any:
        """Ranked articles for a ticket, with the evidence for each. Every answer is recorded (off the
        request path); its `event_id` is what `POST /v1/feedback` refers to."""
        _need_key(caller)
        if req.audience == "internal" and not caller.internal:
            raise StarletteHTTPException(403, "internal results need an agent key")
        if not (req.subject.strip() or req.body.strip()):
            return SuggestResponse(suggestions=[], reason="the ticket is empty")
        ticket = Ticket(req.subject, req.body, req.product, req.audience, req.limit, req.semantic)
        eng = await engine()
        if len(req.subject) + len(req.body) <= INLINE_CHARS and not (req.semantic and eng.semantic):
            result = eng.suggest(ticket)
        else:
            result = await budgeted(services, eng.suggest, ticket)
        out = suggest_response(result)
        if services.writer.enabled:
            event_id = new_event_id()
            job = suggest_job(result, event_id, eng.build, audience=req.audience,
                              ticket_text=f"{req.subject}\n\n{req.body}", ticket_id=req.ticket_id,
                              channel=req.channel, product=req.product)
            if services.writer.submit(job):
                out.event_id = event_id
        return out


def _article_route(app: FastAPI, caller_dep: Any, engine: Any) -> None:
    moved: dict[int | str, dict[str, Any]] = {308: {
        "model": Moved, "description": "The article was retired: `Location` is its successor's.",
        "headers": {"Location": {"description": "The successor's URL.", "schema": {"type": "string"}}}}}

    @app.get("/v1/articles/{article_id}", response_model=ArticleOut, responses={**ERRORS, **NOT_FOUND, **moved},
             summary="An article's metadata")
    async def article(article_id: str, request: Request, caller: Caller = Depends(caller_dep)) -> Any:
        """A retired id answers 308 to its live successor; public callers learn nothing about
        non-public ids (the same 404 as for a missing one)."""
        _need_key(caller)
        eng = await engine()
        doc = eng.article(article_id, internal=caller.internal)
        if doc is not None:
            return article_response(doc)
        succ = successor_of(eng, article_id, caller.internal)
        if succ is None:
            raise StarletteHTTPException(404, "no such article")
        url = f"{request.scope.get('root_path', '')}/v1/articles/{quote(succ, safe='')}"
        return JSONResponse({"replaced_by": succ, "url": url}, status_code=308, headers={"Location": url})


def _feedback_routes(app: FastAPI, services: Services, caller_dep: Any, engine: Any) -> None:
    accepted = {**ERRORS, **NOT_FOUND}
    optional_key: dict[str, Any] = {"security": [{}]}  # added to the bearer scheme: the help center posts keyless from browsers

    async def known(article_id: str, internal: bool) -> None:
        if (await engine()).article(article_id, internal=internal) is None:
            raise StarletteHTTPException(404, "no such article")

    def recorder() -> Recorder:
        if services.writer.recorder is None:
            raise StarletteHTTPException(503, "event recording is off on this server")
        return services.writer.recorder

    def invalid(e: ValueError) -> StarletteHTTPException:
        return StarletteHTTPException(422, str(e))  # the event model names the field

    @app.post("/v1/feedback", response_model=Accepted, status_code=202, responses=accepted, openapi_extra=optional_key,
              summary="Report what an article did for a ticket")
    async def feedback(req: FeedbackRequest, request: Request, caller: Caller = Depends(caller_dep)) -> Any:
        """From ticket tools and agents (linked, resolved) and the help center's "Was this helpful?"."""
        _anonymous_limit(services, caller, request)
        await known(req.article_id, caller.internal)
        try:
            event = recorder().feedback_event(
                article_id=req.article_id, outcome=req.outcome, source=req.source, suggestion_event_id=req.event_id,
                ticket_id=req.ticket_id, comment=req.comment)
        except ValueError as e:
            raise invalid(e) from None
        return Accepted(event_id=event.event_id, queued=services.writer.submit(lambda _r: event))

    @app.post("/v1/deflection", response_model=Accepted, status_code=202, responses=accepted,
              openapi_extra=optional_key,
              summary="A help-center reader found an article instead of filing a ticket")
    async def deflection(req: DeflectionRequest, request: Request, caller: Caller = Depends(caller_dep)) -> Any:
        """Posted by the help center's contact form when the reader leaves with an article. Public articles only."""
        _anonymous_limit(services, caller, request)
        await known(req.article_id, False)
        try:
            event = recorder().deflection_event(session_id=req.session_id, article_id=req.article_id, query=req.query)
        except ValueError as e:
            raise invalid(e) from None
        return Accepted(event_id=event.event_id, queued=services.writer.submit(lambda _r: event))
