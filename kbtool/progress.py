"""Progress lines for long jobs (indexing, importing): shown on an interactive terminal,
silent in CI and when stderr is piped, so logs stay clean."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

Progress = Callable[[int, int], None]


def terminal_progress(label: str, unit: str = "files") -> Progress | None:
    """A `progress(done, total)` callback redrawing one line at most 10 times a second, or None."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None
    t0 = time.perf_counter()
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.perf_counter()
        if done != total and now - last[0] < 0.1:
            return
        last[0] = now
        rate = done / max(now - t0, 1e-9)
        sys.stderr.write(f"\r{label}: {done:,}/{total:,} {unit} ({100 * done // max(total, 1)}%, {rate:,.0f}/s)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
