"""A real uvicorn server in a thread, for the HTTP API tests (tests/api, tests/suggest/test_semantic.py)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class LiveServer:
    """uvicorn serving `app` in a thread on 127.0.0.1, on a port the OS picks."""

    def __init__(self, app: Any, config: uvicorn.Config | None = None) -> None:
        """`config`: a whole uvicorn.Config for `app` (e.g. `kbtool serve`'s own), else a plain one."""
        config = config or uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False,
                                          lifespan="off", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
