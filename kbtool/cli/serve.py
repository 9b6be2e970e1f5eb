"""`kbtool serve`: the suggest HTTP API."""

from __future__ import annotations

from pathlib import Path

import click

from .common import engine_for, get_config, kb_option


@click.command("serve")
@kb_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
def serve_cmd(kb: Path | None, host: str, port: int, workers: int) -> None:
    """Serve the suggest HTTP API (FastAPI on uvicorn). Set KBTOOL_API_TOKEN to require a bearer token.

    \b
    Example:
      kbtool serve --port 8000 --workers 2
      curl -s localhost:8000/v1/suggest -H 'content-type: application/json' -d '{"subject": "SAML-403"}'
    """
    import os

    import uvicorn

    cfg = get_config(kb)
    engine_for(cfg)  # build or refresh the index before the workers start
    os.environ["KBTOOL_KB"] = str(cfg.kb)
    os.environ["KBTOOL_INDEX_DIR"] = str(cfg.index_dir)
    os.environ["KBTOOL_SITE_URL"] = cfg.site_url
    if workers == 1:
        uvicorn.run("kbtool.api:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info", server_header=False)
        return
    # uvicorn binds the socket it shares between workers without IPPROTO_TCP, so asyncio never
    # turns TCP_NODELAY on for its connections and every keep-alive response waits ~40 ms
    # (Nagle + delayed ACK). Set it on the listening socket: accepted sockets inherit it.
    import socket

    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("kbtool.api:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                            log_level="info", server_header=False)
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


COMMANDS = [serve_cmd]
