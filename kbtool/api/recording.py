"""Recording off the request path: a bounded queue and one writer thread per worker.

Why not record in the request: redaction is CPU work and a store write can wait on a
SQLite lock (up to its busy timeout) or a PostgreSQL round trip; a suggestion must cost
the same whatever the store is doing. The request only puts a small job on a queue
(microseconds); the writer builds the event (redaction included) and hands it to the store,
whose own buffer and back-off cover a store that is down. A full queue drops the job and
counts it: the answer is served either way, and `/healthz` says what was lost.

The event id is chosen on the request path so the response can carry it (feedback refers
to it) before the event exists.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..events import Recorder
from ..events.model import Event

log = logging.getLogger("kbtool.api")

# A job builds one event (redaction included) on the writer thread; None: nothing to store.
Job = Callable[[Recorder], Event | None]
BATCH_MAX = 256  # events written in one transaction at most
# After the first job of a batch the writer waits this long for more: under load one wake-up
# and one commit then serve a few dozen answers instead of each paying its own (a commit is
# ~1 ms, and a thread woken per answer contends with the event loop for the GIL). An event
# reaches the store this much later, which nothing reading it notices.
LINGER = 0.05


@dataclass(frozen=True)
class WriterHealth:
    """What `/healthz` reports: the store's counters plus the writer's own queue."""

    backend: str
    recorded: int
    dropped: int
    buffered: int


class EventWriter:
    """Runs recording jobs on one daemon thread (started at the first job, so it works with or
    without an ASGI lifespan). `recorder` None: recording is off, jobs are refused."""

    def __init__(self, recorder: Recorder | None, *, maxsize: int = 2048) -> None:
        self.recorder = recorder
        self._queue: queue.Queue[Job] = queue.Queue(maxsize)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._dropped = 0  # jobs refused (queue full) or that made no valid event

    @property
    def enabled(self) -> bool:
        return self.recorder is not None

    def submit(self, job: Job) -> bool:
        """Queue `job`; False (never an exception, never a wait) when recording is off or the queue is full."""
        if self.recorder is None:
            return False
        self._start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            with self._lock:
                self._dropped += 1
            return False
        return True

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kbtool-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            time.sleep(LINGER)
            while len(jobs) < BATCH_MAX:  # what queued up meanwhile: one commit per batch under load
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(jobs)
            finally:
                for _ in jobs:
                    self._queue.task_done()

    def _write(self, jobs: list[Job]) -> None:
        assert self.recorder is not None
        events: list[Event] = []
        for job in jobs:
            try:
                event = job(self.recorder)
            except Exception:  # noqa: BLE001 - a bad event must not stop the writer
                log.exception("kbtool: an event could not be recorded")
                event = None
            if event is None:
                with self._lock:
                    self._dropped += 1
            else:
                events.append(event)
        self.recorder.store.record_many(events)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued job ran (tests, benchmarks, shutdown); True if the queue emptied
        in time. Waits on the queue's own condition: a timeout leaves no thread behind."""
        deadline = time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                done.wait(left)
        return True

    def health(self) -> WriterHealth:
        if self.recorder is None:
            return WriterHealth("off", 0, 0, 0)
        s = self.recorder.store.stats()
        with self._lock:
            dropped = self._dropped
        return WriterHealth(s.backend, s.recorded, s.dropped + dropped + self.recorder.stats.invalid,
                            s.buffered + self._queue.qsize())


def new_event_id() -> str:
    """The events' id format (uuid4 hex), chosen on the request path so the response can carry it."""
    return uuid.uuid4().hex


def suggest_job(result: Any, event_id: str, build_name: str, **fields: Any) -> Job:
    """Build (redacting the ticket text) and store the event of one answer, under `event_id`;
    `build_name` names the index build whose engine answered (not whatever `current` points at by now)."""

    def run(recorder: Recorder) -> Event:
        event = recorder.suggest_event(result, index_build=build_name, **fields)
        return dataclasses.replace(event, event_id=event_id)

    return run


__all__ = ["EventWriter", "Job", "WriterHealth", "new_event_id", "suggest_job"]
