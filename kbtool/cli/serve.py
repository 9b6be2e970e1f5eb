"""`kbtool serve`: the suggest HTTP API."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from ..config import Config
from ..processes import can_fork, trim_heap
from .common import get_config, holder_for, index_dir_option, kb_option, require_extra


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve beyond this machine


def warn_if_exposed(cfg: Config, host: str) -> None:
    """Binding beyond loopback with no key and no token serves anyone who can reach the port."""
    import os

    from ..api.auth import KeyFile, KeyProblem, keys_path

    try:
        has_keys = any(not k.revoked for k in KeyFile(keys_path(cfg.index_dir)).load())
    except KeyProblem as e:
        raise click.ClickException(str(e)) from None
    if not _is_loopback(host) and not has_keys and not os.environ.get("KBTOOL_API_TOKEN"):
        click.echo(f"warning: serving on {host} with no API key: anyone who can reach it may call the API "
                   "(public content only). Create keys with `kbtool keys create --scope public --name widget`.",
                   err=True)


@click.command("serve")
@kb_option
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--site", "site", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Also serve this built help center (`kbtool build`) at /, on the API's origin.")
@click.option("--read-only", is_flag=True,
              help="Serve the index directory as published (`kbtool index --publish DIR`): never build or "
                   "refresh it from the KB, pick up each newly published build. For replicas sharing one index.")
def serve_cmd(kb: Path | None, index_dir: Path | None, host: str, port: int, workers: int,
              site: Path | None, read_only: bool) -> None:
    """Serve the suggest HTTP API (FastAPI on uvicorn). Callers need an API key once any exists
    (`kbtool keys create`); KBTOOL_API_TOKEN is also accepted, as an admin key. API docs: /docs.
    With --workers N the engine is loaded once and the workers are forked from it, sharing its
    memory (KBTOOL_SERVE_FORK=0: each worker started afresh, loading its own).

    \b
    Example:
      kbtool serve --port 8000 --workers 2
      curl -s localhost:8000/v1/suggest -H 'content-type: application/json' -d '{"subject": "SAML-403"}'
      kbtool build && kbtool serve --site site    # the help center and its API on one origin
      kbtool serve --index-dir /srv/kbtool/index --read-only --host 0.0.0.0   # a replica (docs/deploy.md)
    """
    require_extra("api", "serve")
    import os

    import uvicorn

    if site is not None and not (site / "index.html").is_file():
        raise click.ClickException(f"{site} has no index.html: build the help center first (`kbtool build`)")
    cfg = get_config(kb, index_dir)
    warn_if_exposed(cfg, host)
    # Fail now, clearly, on a missing or broken index (a replica: nothing published yet);
    # else build or refresh it. The engine loaded here is the one served: by this process
    # with one worker, by forked workers sharing its pages with more.
    holder = holder_for(cfg, published=read_only)
    holder.trim_after_load = True  # it lives on in the server: later builds it loads are trimmed after
    fork = workers > 1 and can_fork() and os.environ.get("KBTOOL_SERVE_FORK", "1") != "0"  # 0: spawned workers
    from ..api.app import preload

    preload(holder if workers == 1 or fork else None)
    del holder
    trim_heap()  # the first load's scratch (and the engine itself when spawned workers load their own)
    os.environ["KBTOOL_KB"] = str(cfg.kb)
    os.environ["KBTOOL_INDEX_DIR"] = str(cfg.index_dir)
    os.environ["KBTOOL_SITE_URL"] = cfg.site_url
    if site is not None:
        os.environ["KBTOOL_SERVE_SITE"] = str(site.resolve())
    from ..api.server import server_config

    config = server_config("kbtool.api:create_app_from_env", host, port, factory=True, workers=workers,
                           log_level="info")
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from ..api.server import BalancedMultiprocess

    try:
        supervisor = BalancedMultiprocess(config, fork=fork)
    except OSError as e:
        raise click.ClickException(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    click.echo(f"kbtool serve: {workers} workers on http://{host}:{supervisor.port} (Ctrl-C to stop)", err=True)
    supervisor.run()


COMMANDS = [serve_cmd]
