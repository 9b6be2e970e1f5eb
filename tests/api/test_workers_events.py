"""Several workers of one `kbtool serve` record into one SQLite store, and a server stopped
as an operator stops it (SIGINT / SIGTERM) writes what it had queued before it exits: every
answered suggestion is an event, none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from kbfactory import make_project
from liveserver import LiveServer, free_port, kbtool_command, stop, wait_up

from kbtool.api import create_app
from kbtool.config import Config
from kbtool.events import EventStore, open_store

REQUESTS = 40


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_two_workers_record_every_answer_and_drain_on_stop(tmp_path: Path, sig: int) -> None:
    cfg = make_project(tmp_path / "project")
    db = tmp_path / "events.db"
    env = {**os.environ, "KBTOOL_DB": str(db)}
    env.pop("KBTOOL_API_TOKEN", None)
    env.pop("KBTOOL_EVENTS", None)
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*kbtool_command(), "serve", "--port", str(port), "--workers", "2"], cwd=cfg.root,
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    answered = []
    try:
        wait_up(url, proc, log)
        for k in range(REQUESTS):  # a new connection each: the kernel spreads them over both workers
            r = httpx.post(f"{url}/v1/suggest", json={"subject": "SSO login fails with SAML-403", "ticket_id": f"T-{k}"},
                           headers={"Connection": "close"}, timeout=20)
            assert r.status_code == 200, r.text
            answered.append(r.json()["event_id"])
    finally:
        stop(proc, sig)
    assert proc.returncode is not None
    assert all(answered), "every answer carries its event id"
    store = open_store(db)
    events = list(store.suggest_events())
    assert sorted(e.ticket_id for e in events) == sorted(f"T-{k}" for k in range(REQUESTS)), log.read_text()
    assert len({e.event_id for e in events}) == REQUESTS


def test_a_stopping_server_writes_what_it_had_queued(api_cfg: Config, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A store slower than the answers (a remote PostgreSQL under load): when the server stops,
    its lifespan waits for the queued events instead of letting exit cut the writer off."""
    db = tmp_path / "slow.db"
    monkeypatch.setenv("KBTOOL_DB", str(db))
    real = EventStore.record_many

    def slow(self: EventStore, events: list[Any]) -> bool:
        time.sleep(0.2)
        return real(self, events)

    monkeypatch.setattr(EventStore, "record_many", slow)
    app = create_app(api_cfg, token="")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    with LiveServer(app, config) as srv, httpx.Client(base_url=srv.url, timeout=20) as client:
        for k in range(30):
            assert client.post("/v1/suggest", json={"subject": "SAML-403", "ticket_id": f"Q-{k}"}).status_code == 200
        queued = app.state.services.writer.health().buffered
    assert queued > 0, "the store kept up: nothing was queued at shutdown, so nothing is tested"
    # read at once: the writer thread would go on after a shutdown that did not wait for it,
    # but in a real server the process exits there
    ids = sorted(e.ticket_id for e in open_store(db).suggest_events())
    assert ids == sorted(f"Q-{k}" for k in range(30))


def _serve(cfg: Config, db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "KBTOOL_DB": str(db)}
    env.pop("KBTOOL_API_TOKEN", None)
    env.pop("KBTOOL_EVENTS", None)
    port = free_port()
    with open(log, "ab") as fh:
        proc = subprocess.Popen([*kbtool_command(), "serve", "--port", str(port)], cwd=cfg.root, env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, log)
    return proc, url


def test_kill_9_loses_at_most_the_events_in_flight(tmp_path: Path) -> None:
    """SIGKILL (no lifespan, no drain): every event the store had committed survives, the
    answers still queued are the only loss, no event is left without its suggestions, and a
    new server goes on recording into the same store."""
    import sqlite3

    cfg = make_project(tmp_path / "project")
    db, log = tmp_path / "events.db", tmp_path / "serve.log"
    proc, url = _serve(cfg, db, log)
    try:
        with httpx.Client(base_url=url, timeout=20) as client:
            for k in range(30):
                assert client.post("/v1/suggest", json={"subject": "SAML-403", "ticket_id": f"C-{k}"}).status_code == 200
            deadline = time.monotonic() + 20
            while client.get("/healthz").json()["events"]["recorded"] < 30:  # committed
                assert time.monotonic() < deadline, "the writer never caught up"
                time.sleep(0.05)
            for k in range(20):
                assert client.post("/v1/suggest", json={"subject": "SAML-403", "ticket_id": f"F-{k}"}).status_code == 200
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        stop(proc)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        orphans = conn.execute("SELECT count(*) FROM suggest_events e WHERE NOT abstained AND NOT EXISTS "
                               "(SELECT 1 FROM suggestion_items i WHERE i.event_id = e.event_id)").fetchone()[0]
    assert orphans == 0
    ids = [e.ticket_id for e in open_store(db).suggest_events()]
    assert sorted(i for i in ids if i.startswith("C-")) == sorted(f"C-{k}" for k in range(30))  # committed: kept
    assert len(ids) == len(set(ids)) and len(ids) <= 50
    proc, url = _serve(cfg, db, log)  # the same store after the crash: recording goes on
    try:
        assert httpx.post(f"{url}/v1/suggest", json={"subject": "SAML-403", "ticket_id": "after"}, timeout=20).status_code == 200
    finally:
        stop(proc, signal.SIGTERM)
    assert "after" in {e.ticket_id for e in open_store(db).suggest_events()}
    assert "Traceback" not in log.read_text(errors="replace")
