"""`kbtool serve`'s uvicorn settings (kbtool/api/server.py) against slow clients: a connection that
dribbles its request head (slowloris) is closed after the header deadline, and good requests are
served meanwhile. Real server on 127.0.0.1, bounded: 20 slow sockets, ~1 s of waiting."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from liveserver import LiveServer

from kbtool.api.server import HeaderTimeoutH11Protocol, server_config

pytest.importorskip("fastapi")

SLOW_CLIENTS = 20


def _app() -> object:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def test_slow_request_heads_are_cut_off_and_good_requests_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HeaderTimeoutH11Protocol, "header_timeout", 0.5)
    app = _app()
    config = server_config(app, "127.0.0.1", 0, log_level="warning", access_log=False, lifespan="off",
                           timeout_graceful_shutdown=5)
    with LiveServer(app, config) as s:
        slow = []
        for _ in range(SLOW_CLIENTS):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            slow.append(c)
        with httpx.Client(base_url=s.url, timeout=5) as good:
            assert good.get("/ping").json() == {"ok": "yes"}  # served while the slow ones wait
        time.sleep(1.0)
        for c in slow:  # the server closed each: recv returns b"" (EOF) rather than blocking
            c.settimeout(3)
            try:
                assert c.recv(1024) == b""
            except ConnectionResetError:
                pass
            c.close()
        with httpx.Client(base_url=s.url, timeout=5) as good:
            assert good.get("/ping").status_code == 200


def test_a_prompt_request_is_not_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HeaderTimeoutH11Protocol, "header_timeout", 0.5)
    app = _app()
    config = server_config(app, "127.0.0.1", 0, log_level="warning", access_log=False, lifespan="off")
    with LiveServer(app, config) as s, httpx.Client(base_url=s.url, timeout=5) as c:
        assert c.get("/ping").status_code == 200
        time.sleep(0.8)  # past the header deadline: the kept-alive connection is not dropped by it
        assert c.get("/ping").status_code == 200


def test_a_slow_second_request_on_a_kept_alive_connection_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """One quick request, then the next one's head dribbled on the same connection: the
    deadline runs from that head's first byte, as it does for a new connection's."""
    monkeypatch.setattr(HeaderTimeoutH11Protocol, "header_timeout", 0.5)
    app = _app()
    config = server_config(app, "127.0.0.1", 0, log_level="warning", access_log=False, lifespan="off",
                           timeout_graceful_shutdown=5)
    with LiveServer(app, config) as s:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        c.sendall(b"GET /ping HTTP/1.1\r\n")
        closed = False
        while time.monotonic() - started < 3 and not closed:
            time.sleep(0.2)
            try:
                c.sendall(b"X")  # a byte at a time: each one would have reset a per-byte timer
                c.settimeout(0.05)
                closed = c.recv(1024) == b""
            except TimeoutError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                closed = True
        c.close()
        assert closed and time.monotonic() - started < 2.0
        with httpx.Client(base_url=s.url, timeout=5) as good:
            assert good.get("/ping").status_code == 200
