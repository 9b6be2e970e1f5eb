"""The uvicorn settings `kbtool serve` runs with: timeouts and limits against slow or greedy clients.

uvicorn only times out idle keep-alive connections; a client that opens a connection and sends
its first request's headers one byte a second (slowloris) holds it forever, until the process
runs out of file descriptors and good callers are refused. `HeaderTimeoutH11Protocol` closes a
connection whose request head has not arrived within `header_timeout` seconds, and
`limit_concurrency` turns the overflow into fast 503s instead of starvation.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import signal
import socket
import sys
from typing import Any

import uvicorn
from uvicorn import _subprocess
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess, multiprocess

HEADER_TIMEOUT = 10.0  # seconds for a new connection to deliver its first request line and headers
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection stays open
LIMIT_CONCURRENCY = 500  # connections + tasks before uvicorn answers 503
MAX_HEADER_BYTES = 16 * 1024  # h11 refuses larger request heads (431/400) instead of buffering them


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request's head (see module doc): the
    first one's from the connection's start, a later one's on a kept-alive connection from its
    first byte (uvicorn cancels its keep-alive timer on that byte, so a client could otherwise
    answer one request quickly and then dribble the next forever). An idle kept-alive
    connection is left to uvicorn's keep-alive timeout."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._answered: object = None  # the last request answered on this connection (None: none yet)
        self._header_deadline: asyncio.TimerHandle | None = self.loop.call_later(
            self.header_timeout, self._drop_if_no_request)

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self._answered is not None and self.cycle is self._answered:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._drop_if_no_request)
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._answered = self.cycle
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().on_response_complete()

    def _drop_if_no_request(self) -> None:
        # `cycle` is a new one as soon as h11 has parsed a complete request head
        self._header_deadline = None
        if (self.cycle is None or self.cycle is self._answered) and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        super().connection_lost(exc)


def server_config(app: Any, host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    """The uvicorn.Config for the API, with the read timeout and limits above; kwargs pass through."""
    options: dict[str, Any] = {
        "http": HeaderTimeoutH11Protocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "limit_concurrency": LIMIT_CONCURRENCY,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "server_header": False,
    }
    options.update(kwargs)
    return uvicorn.Config(app, host=host, port=port, **options)


class BalancedMultiprocess(Multiprocess):
    """uvicorn's worker supervisor, with a listening socket per worker (SO_REUSEPORT) where
    uvicorn shares one between them.

    With one shared socket, whichever worker's event loop wakes first accepts every pending
    connection at once (asyncio accepts up to its backlog per wake): a ticket tool opening 8
    keep-alive connections got them all on one worker of two, which ran at 100% while the
    other idled (440 req/s either way, bench_api.py). With a socket each, the kernel spreads
    connections over the workers by their address hash. Every worker uvicorn starts (at
    first, on a restart, replacing a dead one) takes `self.sockets`, so reading it binds a
    new socket on the same port; the supervisor closes its copies once the workers hold
    them (a socket no worker accepts on must not stay in the group, or the connections the
    kernel hands it would wait forever).

    `fork=True`: workers are forked from this process rather than spawned (uvicorn's way), so
    they inherit the engine `kbtool serve` loaded (`api.app.preload`) and share its pages: at
    50,000 articles two spawned workers held 530 MB each of their own. The loaded objects are
    frozen out of the garbage collector first, so no collection in a worker writes to (and so
    copies) the pages they sit on. Only where forking is safe (`processes.can_fork`)."""

    def __init__(self, config: uvicorn.Config, fork: bool = False) -> None:
        self.fork = fork
        self._handed: list[socket.socket] = []
        self._address: tuple[Any, ...] | None = None
        first = self._bind(config)  # fails here, before any worker starts, on a busy port
        super().__init__(config, sockets=[])
        self._handed.append(first)
        self._first: socket.socket | None = first

    def _bind(self, config: uvicorn.Config) -> socket.socket:
        family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # (accepted sockets inherit it)
            sock.bind(self._address or (config.host, config.port))
            sock.listen(config.backlog)
        except OSError:
            sock.close()
            raise
        self._address = sock.getsockname()  # port 0: every worker on the port the first one got
        sock.set_inheritable(True)
        return sock

    @property
    def port(self) -> int:
        """The port the workers listen on (the one the system chose, for port 0)."""
        assert self._address is not None
        return int(self._address[1])

    @property  # type: ignore[override]
    def sockets(self) -> list[socket.socket]:
        """A listening socket for the worker about to start (see the class doc)."""
        if self._first is not None:
            sock, self._first = self._first, None
        else:
            sock = self._bind(self.config)
            self._handed.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        pass  # (Multiprocess.__init__ sets it; each worker gets its own from the getter)

    def run(self) -> None:
        if self.fork:
            gc.collect()
            gc.freeze()  # what is loaded now stays shared: a worker's collections never touch it
            multiprocess.get_subprocess = _forked_subprocess  # (uvicorn builds every worker through it)
        super().run()

    def init_processes(self) -> None:
        """Start the workers; once forked, they hold the engine's pages: the supervisor lets its
        own references go (a worker uvicorn restarts later loads an engine of its own)."""
        super().init_processes()
        if self.fork:
            from ..processes import trim_heap
            from .app import preload

            preload(None)
            gc.unfreeze()
            trim_heap()

    def keep_subprocess_alive(self) -> None:
        """Every half second in uvicorn's loop: close the sockets handed to started workers."""
        for sock in self._handed:
            sock.close()
        self._handed = []
        super().keep_subprocess_alive()


def _forked_subprocess(config: uvicorn.Config, target: Any, sockets: list[socket.socket]) -> Any:
    """uvicorn's `get_subprocess`, forking instead of spawning: the child starts with this
    process's memory (the loaded engine) and the same sockets, with the signal handlers the
    supervisor installed put back to the defaults before uvicorn installs a worker's own."""
    sys.stdout.flush()  # a child would flush its copy of unwritten output too
    sys.stderr.flush()
    return multiprocessing.get_context("fork").Process(target=_forked_worker, args=(config, target, sockets))


def _forked_worker(config: uvicorn.Config, target: Any, sockets: list[socket.socket]) -> None:
    for sig in getattr(multiprocess, "SIGNALS", (signal.SIGINT, signal.SIGTERM)):  # (as a spawned child starts)
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    _subprocess.subprocess_started(config, target, sockets, None)
