"""Progress lines for long jobs (indexing, importing): shown on an interactive terminal,
silent in CI and when stderr is piped, so logs stay clean.

A job has phases ("indexing", then "committing", then "embedding"). Each phase reports
`progress(done, total)`; when a phase reaches 100% while the job still works on it (Whoosh
commits its segments after the last document is added), the line says what it is doing
instead of sitting silently at 100%: `indexing: 4,000/4,000 files (100%): committing segments...`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

Progress = Callable[[int, int], None]


def progress_enabled(stream: TextIO | None = None) -> bool:
    """Progress only on an interactive terminal and never in CI (where it would litter the log)."""
    stream = stream if stream is not None else sys.stderr
    return stream.isatty() and not os.environ.get("CI")


class ProgressLine:
    """One redrawn stderr line shared by the phases of a job; a context manager that ends the
    line (with the last phase's total time) when the job is done."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = progress_enabled(self.stream) if enabled is None else enabled
        self._label: str | None = None  # the phase whose line is still open (not ended by a newline)
        self._text = ""
        self._then: tuple[str, float] | None = None  # (trailing work, when it started) at 100%

    def phase(self, label: str, unit: str = "files", then: str | None = None) -> Progress | None:
        """A `progress(done, total)` callback for one phase, redrawing at most 10 times a second,
        or None when progress is off. `then`: what the job still does once this phase is at 100%."""
        if not self.enabled:
            return None
        t0 = time.perf_counter()
        last = [0.0]

        def show(done: int, total: int) -> None:
            now = time.perf_counter()
            if done != total and now - last[0] < 0.1:
                return
            last[0] = now
            rate = done / max(now - t0, 1e-9)
            text = f"{label}: {done:,}/{total:,} {unit} ({100 * done // max(total, 1)}%, {rate:,.0f}/s)"
            self._draw(label, text, then if done == total else None, done == total and not then)

        return show

    def _draw(self, label: str, text: str, then: str | None, final: bool) -> None:
        if self._label is not None and self._label != label:
            self.close()  # a new phase: the previous one's line stays on screen, ended
        self._label, self._text = (None, "") if final else (label, text)
        if then:
            self._then = (then, time.perf_counter())
            text = f"{text}: {then}..."
        self.stream.write(f"\r{text}\033[K" + ("\n" if final else ""))
        self.stream.flush()

    def close(self) -> None:
        """End the open line; a phase left at 100% says how long its trailing work took."""
        if self._label is None:
            return
        if self._then is not None:
            then, t0 = self._then
            self.stream.write(f"\r{self._text}: {then} took {time.perf_counter() - t0:.1f}s\033[K")
        self.stream.write("\n")
        self.stream.flush()
        self._label, self._then = None, None

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def terminal_progress(label: str, unit: str = "files", then: str | None = None) -> Progress | None:
    """A single-phase `progress(done, total)` callback on its own line, or None (see `ProgressLine`)."""
    return ProgressLine().phase(label, unit, then)
