"""The suggest HTTP API (FastAPI): what ticket tools and help-center widgets call.

Security rules, enforced here and tested as properties:
- with `KBTOOL_API_TOKEN` set, every /v1 call needs `Authorization: Bearer <token>` (only
  /healthz and the API's own description, /openapi.json and /docs, are open);
- internal content (internal audience, runbooks) is returned *only* to a caller with a
  valid token, whatever the request asks; drafts, in-review and retired never; a public
  caller cannot tell an id or a word only hidden content has from one nobody has;
- errors are JSON with a stable shape and never echo ticket text; bodies over
  MAX_BODY bytes are refused before they are read in full.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .config import Config, load_config
from .index import IndexProblem
from .suggest import DocMeta, Engine, EngineHolder, SuggestResult, Ticket

MAX_BODY = 256 * 1024


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class SuggestRequest(BaseModel):
    # strict: a string is not an integer, true is not 1; and a ticket has a subject or a body
    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"anyOf": [{"required": ["subject"]}, {"required": ["body"]}]})
    subject: str = Field("", max_length=2_000, description="Ticket subject.")
    body: str = Field("", max_length=200_000, description="Ticket body, plain text or HTML.")
    product: str | None = Field(None, max_length=100, description="Product area, if known; boosts matching articles.")
    audience: Literal["public", "internal"] = Field(
        "public", description="'internal' includes internal articles and runbooks; needs a valid token.")
    limit: int = Field(5, ge=1, le=20, description="Most suggestions to return.")
    semantic: bool = Field(True, description="Use semantic matching where the server has it (false: lexical only).")

    @field_validator("limit", mode="before")
    @classmethod
    def _whole_number(cls, v: Any) -> Any:
        """JSON Schema counts 3.0 as an integer; so do we (but not 3.5, "3" or true)."""
        return int(v) if isinstance(v, float) and v.is_integer() else v

    @model_validator(mode="before")
    @classmethod
    def _subject_or_body(cls, data: Any) -> Any:
        if isinstance(data, dict) and "subject" not in data and "body" not in data:
            raise ValueError("a ticket needs a subject or a body")
        return data


def _is_none(value: Any) -> bool:
    return value is None


class Why(BaseModel):
    """The evidence for a suggestion: a field that does not apply is left out."""

    error_codes: list[str] = Field(default=[], description="Error codes of the ticket that the article lists.")
    terms: dict[str, list[str]] = Field(default={}, description="Words of the ticket found in each field of the article.")
    semantic: float | None = Field(default=None, exclude_if=_is_none,
                                   description="Cosine similarity to the ticket, when semantic matching took part.")
    product: str | None = Field(default=None, exclude_if=_is_none,
                                description="The ticket's product, when it is the article's.")
    replaces: str | None = Field(default=None, exclude_if=_is_none,
                                 description="The retired article this one replaces, when the match came through it.")


class SuggestionOut(BaseModel):
    id: str
    title: str
    url: str | None
    score: float
    confidence: Literal["high", "medium", "low"]
    snippet: str
    why: Why


class SuggestResponse(BaseModel):
    suggestions: list[SuggestionOut]
    reason: str | None = Field(default=None, description="Why nothing was suggested, when the list is empty.")
    error_codes: list[str] = Field(default=[], description="Error signatures found in the ticket.")
    semantic: bool = Field(default=False, description="Whether semantic matching took part.")


class ArticleOut(BaseModel):
    id: str
    title: str
    type: str
    status: str
    audience: str
    product: str | None
    summary: str
    url: str | None
    error_codes: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    documents: int
    semantic: bool = Field(default=False, description="Whether suggestions use the embedding model.")
    semantic_note: str | None = Field(default=None, description="Why not, when they do not.")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid bearer token (when the server requires one)."},
    403: {"model": ErrorBody, "description": "Internal results asked for without a valid token."},
    413: {"model": ErrorBody, "description": f"Request body over {MAX_BODY // 1024} KiB."},
    415: {"model": ErrorBody, "description": "Content type is not application/json."},
    422: {"model": ErrorBody, "description": "Malformed JSON, fields missing, unknown, of the wrong type or out of range."},
    503: {"model": ErrorBody, "description": "No usable index yet; run `kbtool index`."},
}


class _BodyGuard:
    """ASGI middleware: refuse wrong content types and oversized bodies before parsing.

    Counts streamed bytes too, so a chunked upload without Content-Length cannot get
    past the limit.
    """

    JSON_ROUTES = {("POST", "/v1/suggest")}  # the routes that read a JSON body

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if (scope["method"], scope["path"]) in self.JSON_ROUTES and ctype != "application/json":
            await _error(415, "unsupported_media_type", "send the ticket as application/json")(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _error(413, "too_large", f"request body over {MAX_BODY // 1024} KiB")(scope, receive, send)
            return
        seen = 0
        too_big = False

        async def limited() -> dict[str, Any]:
            nonlocal seen, too_big
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > MAX_BODY:
                    too_big = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        started = False

        async def guarded_send(msg: dict[str, Any]) -> None:
            nonlocal started
            if too_big:
                if not started:
                    started = True
                    await _error(413, "too_large", f"request body over {MAX_BODY // 1024} KiB")(scope, receive, send)
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        await self.app(scope, limited, guarded_send)


def suggest_response(result: SuggestResult) -> SuggestResponse:
    """The engine's result as the API's response model (the one mapping from engine to API)."""
    return SuggestResponse.model_validate(result, from_attributes=True)


def article_response(doc: DocMeta) -> ArticleOut:
    """An indexed document's metadata as the API's article model."""
    return ArticleOut.model_validate(doc, from_attributes=True)


Authorized = Callable[..., Awaitable[bool]]


def auth_dependency(token: str | None) -> Authorized:
    """A dependency telling whether the caller has the valid token: always False when the server
    has none; with one, 401 for a caller without it. (The bearer scheme is in the OpenAPI spec only
    when the server requires it.)"""

    async def open_access() -> bool:
        return False

    if token is None:
        return open_access
    bearer = HTTPBearer(auto_error=False, description="The server's KBTOOL_API_TOKEN.")
    expected = token.encode()

    # (dependencies are `async`: trivial work, so no thread-pool hop per request)
    async def with_token(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> bool:
        """True for a caller with the valid token; 401 for anyone else."""
        value = creds.credentials.strip().encode() if creds is not None else b""
        if not hmac.compare_digest(value, expected):
            raise StarletteHTTPException(401, "a valid bearer token is required")
        return True

    return with_token


def engine_dependency(holder: EngineHolder) -> Callable[[], Awaitable[Engine]]:
    """A dependency giving the engine of the current index build (503 while there is none)."""

    async def engine() -> Engine:
        """Endpoints run on the event loop: ranking is CPU-bound and holds the GIL anyway, and a
        thread-pool hop per request costs ~1 ms. Loading the first build runs in the thread pool;
        later builds compile in a background thread while requests keep using the previous engine."""
        try:
            if holder.loaded:
                return holder.get(wait=False)
            return await run_in_threadpool(holder.get)
        except IndexProblem as e:
            raise StarletteHTTPException(503, str(e)) from None

    return engine


_ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large", 415: "unsupported_media_type", 503: "unavailable"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not decode the body (bad UTF-8, JSON nested too deep)
        return _error(422, "invalid_request", "the request body is not valid JSON")
    headers = dict(getattr(exc, "headers", None) or {})  # e.g. Allow on 405
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return _error(exc.status_code, _ERROR_CODES.get(exc.status_code, "error"), str(exc.detail), headers or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors()[:5]:  # messages name fields, never echo the submitted text
        if err.get("type") == "json_invalid":
            parts.append("the request body is not valid JSON")
            continue
        loc = list(err.get("loc", ()))
        loc = loc[1:] if loc[:1] == ["body"] else loc
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(str(x) for x in loc) or 'request'}: {msg}")
    return _error(422, "invalid_request", "; ".join(parts))


def add_error_handlers(app: FastAPI) -> None:
    """Every error as `{"error": {"code", "message"}}`; 400s from body decoding become 422s."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def add_routes(app: FastAPI, authorized: Authorized, engine: Callable[[], Awaitable[Engine]]) -> None:
    """/v1/suggest, /v1/articles/{id} and /healthz."""

    @app.post("/v1/suggest", response_model=SuggestResponse, responses=ERRORS, summary="Suggest articles for a ticket")
    async def suggest(req: SuggestRequest, is_authorized: bool = Depends(authorized)) -> Any:
        if req.audience == "internal" and not is_authorized:
            raise StarletteHTTPException(403, "internal results need a valid bearer token")
        if not (req.subject.strip() or req.body.strip()):
            return SuggestResponse(suggestions=[], reason="the ticket is empty")
        result = (await engine()).suggest(Ticket(req.subject, req.body, req.product, req.audience, req.limit,
                                                 req.semantic))
        return suggest_response(result)

    @app.get("/v1/articles/{article_id}", response_model=ArticleOut,
             responses={**ERRORS, 404: {"model": ErrorBody, "description": "No such article for this caller."}},
             summary="An article's metadata")
    async def article(article_id: str, is_authorized: bool = Depends(authorized)) -> Any:
        doc = (await engine()).article(article_id, internal=is_authorized)
        if doc is None:  # public callers learn nothing about non-public ids: the same 404 as a missing one
            raise StarletteHTTPException(404, "no such article")
        return article_response(doc)

    @app.get("/healthz", response_model=Health, responses={503: ERRORS[503]}, summary="Liveness and index status")
    async def healthz() -> Any:
        eng = await engine()
        return Health(status="ok", version=__version__, documents=len(eng.docs), semantic=eng.semantic,
                      semantic_note=eng.semantic_note)


def create_app(config: Config, token: str | None = None) -> FastAPI:
    """The API over `config`'s index. `token` (else $KBTOOL_API_TOKEN) turns auth on."""
    token = (os.environ.get("KBTOOL_API_TOKEN") if token is None else token) or None
    app = FastAPI(title="kbtool suggest API", version=__version__,
                  description="Ticket text in, ranked knowledge-base articles out, with the evidence for each.")
    app.add_middleware(_BodyGuard)
    add_error_handlers(app)
    add_routes(app, auth_dependency(token), engine_dependency(EngineHolder(config)))
    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory for `kbtool serve` workers: configuration comes from the environment."""
    kb = os.environ.get("KBTOOL_KB")
    cfg = load_config(kb=Path(kb) if kb else None)
    if os.environ.get("KBTOOL_INDEX_DIR"):
        cfg.index_dir = Path(os.environ["KBTOOL_INDEX_DIR"])
    if os.environ.get("KBTOOL_SITE_URL"):
        cfg.site_url = os.environ["KBTOOL_SITE_URL"]
    return create_app(cfg)
