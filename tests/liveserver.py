"""A real uvicorn server in a thread, for the HTTP API tests (tests/api, tests/suggest/test_semantic.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
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


def kbtool_command() -> list[str]:
    """`kbtool` as installed beside this Python (the console script), else `python -m kbtool.cli`."""
    exe = Path(sys.executable).with_name("kbtool")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kbtool.cli"]


def wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Wait until the `kbtool serve` process `proc` answers `url`/healthz; fail with its log
    if it exits or takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    """Stop a server process as Ctrl-C would (`sig`), killing it if it takes over 20 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
