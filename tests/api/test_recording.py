"""The API's event writer (kbtool/api/recording.py): jobs run off the request path, a full
queue drops and counts, and waiting for it (`drain`) is bounded and leaves nothing behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kbtool.api.recording import EventWriter, new_event_id, suggest_job
from kbtool.events import Recorder, open_store
from kbtool.events.model import Event

ANSWER = {"suggestions": [], "reason": "no article matches", "semantic": False}


def _writer(tmp_path: Path, maxsize: int = 2048) -> EventWriter:
    return EventWriter(Recorder(open_store(str(tmp_path / "events.sqlite3"))), maxsize=maxsize)


def test_jobs_are_recorded_with_their_event_id_and_build(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    ids = [new_event_id() for _ in range(20)]
    for eid in ids:
        assert w.submit(suggest_job(ANSWER, eid, "build-7", audience="public", ticket_text="mail a@b.example"))
    assert w.drain(10)
    events = list(open_store(str(tmp_path / "events.sqlite3")).suggest_events())
    assert sorted(e.event_id for e in events) == sorted(ids)
    assert {e.index_build for e in events} == {"build-7"}
    assert all("a@b.example" not in (e.ticket_text or "") for e in events)  # redacted on the writer thread
    assert w.health().recorded == 20 and w.health().buffered == 0


def test_drain_times_out_without_leaving_a_thread_and_a_full_queue_drops(tmp_path: Path) -> None:
    w = _writer(tmp_path, maxsize=2)
    release = threading.Event()

    def stuck(recorder: Recorder) -> Event | None:
        release.wait(30)
        return None  # makes no event: counted as dropped

    assert w.submit(stuck)
    time.sleep(0.05)  # the writer takes it and blocks
    assert w.submit(stuck) and w.submit(stuck)  # fills the queue (2)
    assert not w.submit(stuck), "a full queue must refuse, not wait"
    before = threading.active_count()
    t0 = time.monotonic()
    for _ in range(5):
        assert not w.drain(0.05)
    assert time.monotonic() - t0 < 2
    assert threading.active_count() == before, "drain() left waiting threads behind"
    release.set()
    assert w.drain(10)
    assert w.health().dropped == 4  # 1 refused + 3 that made no event


def test_recording_off_refuses_jobs_and_starts_no_thread() -> None:
    w = EventWriter(None)
    before = threading.active_count()
    assert not w.enabled and not w.submit(lambda r: None)
    assert w.drain(0.01) and threading.active_count() == before
    assert w.health().backend == "off"
