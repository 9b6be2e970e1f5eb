"""Errors as `{"error": {"code", "message"}}`, and the body guard that refuses wrong content
types and oversized bodies before any parsing."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .models import ErrorBody

MAX_BODY = 256 * 1024


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid API key (when the server requires one)."},
    403: {"model": ErrorBody, "description": "The key's scope does not allow this (e.g. internal results with a "
          "public key)."},
    413: {"model": ErrorBody, "description": f"Request body over {MAX_BODY // 1024} KiB."},
    415: {"model": ErrorBody, "description": "Content type is not application/json."},
    422: {"model": ErrorBody, "description": "Malformed JSON, fields missing, unknown, of the wrong type or out of "
          "range."},
    429: {"model": ErrorBody, "description": "Rate limit of the key exceeded; retry after `Retry-After` seconds.",
          "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}},
    503: {"model": ErrorBody, "description": "No usable index yet (run `kbtool index`), or the request ran out of "
          "its time budget."},
}

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such article for this "
                                                     "caller."}}


class BodyGuard:
    """ASGI middleware: refuse wrong content types and oversized bodies before parsing.

    Counts streamed bytes too, so a chunked upload without Content-Length cannot get
    past the limit.
    """

    JSON_ROUTES = {("POST", "/v1/suggest"), ("POST", "/v1/feedback"), ("POST", "/v1/deflection")}

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if (scope["method"], scope["path"]) in self.JSON_ROUTES and ctype != "application/json":
            await error_response(415, "unsupported_media_type", "send the body as application/json")(
                scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await error_response(413, "too_large", f"request body over {MAX_BODY // 1024} KiB")(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    async def _limited(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
                    await error_response(413, "too_large", f"request body over {MAX_BODY // 1024} KiB")(
                        scope, receive, send)
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        await self.app(scope, limited, guarded_send)


_ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large", 415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
                503: "unavailable"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not decode the body (bad UTF-8, JSON nested too deep)
        return error_response(422, "invalid_request", "the request body is not valid JSON")
    headers = dict(getattr(exc, "headers", None) or {})  # e.g. Allow on 405, Retry-After on 429
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(exc.status_code, _ERROR_CODES.get(exc.status_code, "error"), str(exc.detail),
                          headers or None)


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
    return error_response(422, "invalid_request", "; ".join(parts))


def add_error_handlers(app: FastAPI) -> None:
    """Every error as `{"error": {"code", "message"}}`; 400s from body decoding become 422s."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
