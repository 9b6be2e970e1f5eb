"""The uvicorn settings `kbtool serve` runs with: timeouts and limits against slow or greedy clients.

uvicorn only times out idle keep-alive connections; a client that opens a connection and sends
its first request's headers one byte a second (slowloris) holds it forever, until the process
runs out of file descriptors and good callers are refused. `HeaderTimeoutH11Protocol` closes a
connection whose first request has not arrived within `header_timeout` seconds, and
`limit_concurrency` turns the overflow into fast 503s instead of starvation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds for a new connection to deliver its first request line and headers
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection stays open
LIMIT_CONCURRENCY = 500  # connections + tasks before uvicorn answers 503
MAX_HEADER_BYTES = 16 * 1024  # h11 refuses larger request heads (431/400) instead of buffering them


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for the first request's headers (see module doc)."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline = self.loop.call_later(self.header_timeout, self._drop_if_no_request)

    def _drop_if_no_request(self) -> None:
        # `cycle` is set as soon as h11 has parsed a complete request head.
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
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
