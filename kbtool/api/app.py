"""Building the app: configuration and environment in, a FastAPI app out."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .. import __version__
from ..config import Config, load_config
from ..events import Recorder, open_store, redact
from ..suggest import EngineHolder
from .auth import KeyRing, RateLimiter, keys_path
from .docs import add_docs
from .errors import BodyGuard, add_error_handlers
from .recording import EventWriter
from .routes import Services, add_routes

log = logging.getLogger("kbtool.api")
DEFAULT_BUDGET = 10.0  # seconds of ranking per request (KBTOOL_REQUEST_BUDGET)
SHUTDOWN_DRAIN = 5.0  # seconds a stopping server waits for its queued events to be written
_preloaded: EngineHolder | None = None


def preload(holder: EngineHolder | None) -> None:
    """An engine holder already loaded in this process, for `create_app_from_env` to serve
    (None: none). `kbtool serve` loads the engine once, then forks its workers: they share
    its pages (copy-on-write) instead of each compiling a copy of its own."""
    global _preloaded
    _preloaded = holder


def _recorder(config: Config) -> Recorder:
    """The event store opened lazily: an API started while the database is down still serves."""
    store = open_store(config.events_target(), lazy=True)
    redactor = functools.partial(redact, email_allowlist=config.lint.email_allowlist,
                                 ip_allowlist=config.lint.ip_allowlist)
    return Recorder(store, store_ticket_text=config.store_ticket_text, redactor=redactor)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown (SIGINT, SIGTERM: a deploy, a restart), write the events still queued before
    the process exits: the writer is a daemon thread, which exit would otherwise cut off."""
    yield
    services = getattr(app.state, "services", None)
    if services is not None and services.writer.enabled:
        if not await anyio.to_thread.run_sync(services.writer.drain, SHUTDOWN_DRAIN):
            log.warning("kbtool: stopped with events still queued after %.0f s: they are lost", SHUTDOWN_DRAIN)


def create_app(config: Config, token: str | None = None, *, record: bool = True, keys_file: Path | None = None,
               budget: float | None = None, site_dir: Path | None = None, holder: EngineHolder | None = None) -> FastAPI:
    """The API over `config`'s index. `token` (else $KBTOOL_API_TOKEN) is an admin key; more keys
    come from `keys_file` (default: the index dir's, see auth.py). `record=False` records no events.
    `site_dir` (a built help center) is served at `/` behind the API routes, so the site's search box
    and feedback widget reach the API on the same origin: no CORS, no second process. `holder`: an
    engine holder over the same index, already loaded (default: a new one, loaded on first use)."""
    token = (os.environ.get("KBTOOL_API_TOKEN") if token is None else token) or None
    app = FastAPI(title="kbtool suggest API", version=__version__, docs_url=None, redoc_url=None, lifespan=_lifespan,
                  description="Ticket text in, ranked knowledge-base articles out, with the evidence for each; "
                              "and the feedback that tells which articles help.")
    app.add_middleware(BodyGuard)
    if config.site_origins:  # the help center posts feedback from readers' browsers
        app.add_middleware(CORSMiddleware, allow_origins=config.site_origins, allow_methods=["GET", "POST"],
                           allow_headers=["content-type", "authorization"], max_age=600)
    add_error_handlers(app)
    services = Services(
        holder=holder or EngineHolder(config, trim_after_load=True), keys=KeyRing(keys_file or keys_path(config.index_dir), token),
        limiter=RateLimiter(), writer=EventWriter(_recorder(config) if record else None),
        budget=budget if budget is not None else float(os.environ.get("KBTOOL_REQUEST_BUDGET") or DEFAULT_BUDGET))
    app.state.services = services
    add_routes(app, services)
    add_docs(app)
    if site_dir is not None:
        from fastapi.staticfiles import StaticFiles

        # mounted last: /v1/*, /healthz and /docs match first; StaticFiles refuses paths outside the dir
        app.mount("/", StaticFiles(directory=site_dir, html=True), name="site")
    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory for `kbtool serve` workers: configuration comes from the environment
    (`KBTOOL_EVENTS=off` records nothing: for a benchmark's baseline, or a team that wants no store;
    `KBTOOL_SERVE_SITE=DIR` serves a built help center at `/`)."""
    kb = os.environ.get("KBTOOL_KB")
    cfg = load_config(kb=Path(kb) if kb else None)
    if os.environ.get("KBTOOL_INDEX_DIR"):
        cfg.index_dir = Path(os.environ["KBTOOL_INDEX_DIR"])
    if os.environ.get("KBTOOL_SITE_URL"):
        cfg.site_url = os.environ["KBTOOL_SITE_URL"]
    site = os.environ.get("KBTOOL_SERVE_SITE")
    return create_app(cfg, record=os.environ.get("KBTOOL_EVENTS", "on").lower() not in ("off", "0", "false"),
                      site_dir=Path(site) if site else None, holder=_preloaded)
