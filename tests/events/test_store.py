"""The event store contract. Every test here runs on SQLite and on PostgreSQL (the
`target`/`store` fixtures are parametrised over both): one behaviour, two backends."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kbtool.events import (
    DeflectionEvent,
    FeedbackEvent,
    Recorder,
    StoreError,
    SuggestedItem,
    SuggestEvent,
    open_store,
)
from kbtool.events.postgres import PostgresStore
from kbtool.events.schema import LATEST

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def answer(minutes: int, *ids: str, audience: str = "public", ticket: str | None = None, **kw: Any) -> SuggestEvent:
    items = tuple(SuggestedItem(a, r, 10.0 - r, "high" if r == 1 else "low") for r, a in enumerate(ids, 1))
    return SuggestEvent(audience=audience, suggestions=items, abstained=not items,
                        abstain_reason=None if items else "no article matched", semantic=True,
                        index_build="build-7", ticket_id=ticket, channel="email",
                        time=T0 + timedelta(minutes=minutes), **kw)


def test_suggest_round_trip(store: Any) -> None:
    events = [answer(0, "reset-password", "sso-setup", ticket="T-1", product="billing",
                     ticket_text="Can't log in [EMAIL]"),
              answer(1), answer(2, "vpn", audience="internal")]
    assert all(store.record_suggest(e) for e in events)
    assert list(store.suggest_events()) == events
    assert list(store.suggest_events()) [1].abstain_reason == "no article matched"
    assert store.stats().recorded == 3 and store.stats().dropped == 0


def test_feedback_and_deflection_round_trip(store: Any) -> None:
    fb = FeedbackEvent(article_id="vpn", outcome="resolved", source="ticket-tool", ticket_id="T-9",
                       comment="worked", time=T0)
    vote = FeedbackEvent(article_id="vpn", outcome="not_helpful", source="help-center", time=T0)
    dfl = DeflectionEvent(session_id="s-1", article_id="vpn", query="vpn drops [IP]", time=T0)
    assert store.record_feedback(fb) and store.record_feedback(vote) and store.record_deflection(dfl)
    assert sorted(store.feedback_events(), key=lambda f: f.outcome) == sorted([fb, vote], key=lambda f: f.outcome)
    assert list(store.deflection_events()) == [dfl]
    assert store.counts().feedback == 2 and store.counts().deflection == 1


def test_time_range_audience_and_pages(store: Any) -> None:
    events = [answer(m, "a", audience="internal" if m % 2 else "public") for m in range(7)]
    events.append(answer(3, "tie"))  # same time as another: the page key is (time, id)
    for e in events:
        store.record_suggest(e)
    got = list(store.suggest_events(batch=2))
    assert sorted(e.event_id for e in got) == sorted(e.event_id for e in events)
    assert [e.time for e in got] == sorted(e.time for e in events)
    window = list(store.suggest_events(T0 + timedelta(minutes=2), T0 + timedelta(minutes=5), batch=1))
    assert sorted(e.time.minute for e in window) == [2, 3, 3, 4]
    assert {e.audience for e in store.suggest_events(audience="internal")} == {"internal"}
    assert len(list(store.suggest_events(audience="internal"))) == 3


def test_duplicate_event_is_written_once(store: Any) -> None:
    e = answer(0, "a", "b")
    assert store.record_suggest(e) and store.record_suggest(e)
    assert list(store.suggest_events()) == [e]


def test_joined_feedback(store: Any) -> None:
    first, later = answer(0, "a", "b", ticket="T-1"), answer(10, "c", "b", ticket="T-1")
    internal = answer(0, "x", ticket="T-2", audience="internal")
    for e in (first, later, internal):
        store.record_suggest(e)
    by_id = FeedbackEvent(article_id="b", outcome="linked", source="agent", suggestion_event_id=first.event_id,
                          time=T0 + timedelta(minutes=30))
    by_ticket = FeedbackEvent(article_id="b", outcome="resolved", source="ticket-tool", ticket_id="T-1",
                              time=T0 + timedelta(minutes=20))
    unsuggested = FeedbackEvent(article_id="z", outcome="linked", source="agent", ticket_id="T-2",
                                time=T0 + timedelta(minutes=5))
    orphan = FeedbackEvent(article_id="b", outcome="helpful", source="help-center", time=T0)
    for f in (by_id, by_ticket, unsuggested, orphan):
        store.record_feedback(f)
    rows = {j.feedback.event_id: j for j in store.joined_feedback()}
    assert (rows[by_id.event_id].suggest_event_id, rows[by_id.event_id].rank) == (first.event_id, 2)
    assert (rows[by_ticket.event_id].suggest_event_id, rows[by_ticket.event_id].rank) == (later.event_id, 2)
    assert rows[by_ticket.event_id].confidence == "low" and rows[by_ticket.event_id].score == 8.0
    assert rows[unsuggested.event_id].rank is None and rows[unsuggested.event_id].audience == "internal"
    assert rows[orphan.event_id].suggest_event_id is None
    assert [j.feedback for j in store.joined_feedback(audience="internal")] == [unsuggested]


def test_article_counts(store: Any) -> None:
    for e in (answer(0, "a", "b"), answer(1, "b"), answer(2), answer(3, "a", audience="internal")):
        store.record_suggest(e)
    store.record_feedback(FeedbackEvent(article_id="b", outcome="helpful", source="help-center", time=T0))
    store.record_feedback(FeedbackEvent(article_id="b", outcome="helpful", source="help-center", time=T0))
    store.record_deflection(DeflectionEvent(session_id="s", article_id="c", time=T0))
    counts = store.article_counts()
    assert (counts["a"].suggested, counts["a"].suggested_first) == (2, 2)
    assert (counts["b"].suggested, counts["b"].suggested_first, counts["b"].helpful) == (2, 1, 2)
    assert counts["b"].last_suggested == T0 + timedelta(minutes=1)
    assert counts["c"].deflections == 1 and counts["c"].suggested == 0
    assert store.article_counts(audience="public")["a"].suggested == 1
    assert "a" not in store.article_counts(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))


def test_prune(store: Any) -> None:
    now = T0 + timedelta(days=100)
    old, new = answer(0, "a", "b"), answer(60 * 24 * 95, "a")
    store.record_suggest(old)
    store.record_suggest(new)
    store.record_feedback(FeedbackEvent(article_id="a", outcome="helpful", source="help-center", time=T0))
    store.record_deflection(DeflectionEvent(session_id="s", article_id="a", time=now))
    assert store.prune(30, now=now) == 2
    assert list(store.suggest_events()) == [new]
    assert store.article_counts()["a"].suggested == 1  # the old answer's items went with it
    assert store.prune(30, now=now) == 0
    with pytest.raises(ValueError, match="keep_days"):
        store.prune(-1)


def test_migrates_an_old_database(target: str, open_test_store: Any) -> None:
    old = open_store(target, lazy=True)
    conn = old._connect()  # a database left at version 1 by an older kbtool
    assert old._migrate(conn, upto=1) == 1
    old._conn = conn
    placeholder = "%s" if old.backend == "postgres" else "?"
    marks = ",".join([placeholder] * 9)
    conn.cursor().execute(f"INSERT INTO suggest_events (event_id, ts, audience, ticket_id, channel, abstained, "
                          f"abstain_reason, semantic, index_build) VALUES ({marks})",
                          ("a" * 32, old._enc(T0), "public", "T-1", None, True, "nothing", False, "b1"))
    conn.commit()
    old.close()
    store = open_test_store()
    assert store.schema_version() == LATEST
    (ev,) = store.suggest_events()
    assert (ev.ticket_id, ev.product, ev.abstained) == ("T-1", None, True)
    assert store.record_suggest(answer(1, "a", product="billing"))
    again = open_test_store()  # reopening applies nothing twice
    assert again.schema_version() == LATEST
    assert [r[0] for r in again._read("SELECT version FROM schema_version ORDER BY version", [])] == list(range(1, LATEST + 1))


WRITER = textwrap.dedent("""
    import sys
    from kbtool.events import SuggestEvent, SuggestedItem, open_store
    store = open_store(sys.argv[1], busy_timeout_ms=10000)
    ok = sum(store.record_suggest(SuggestEvent(audience="public", ticket_id=f"{sys.argv[2]}-{i}",
             suggestions=(SuggestedItem("a", 1, 1.0, "high"),))) for i in range(int(sys.argv[3])))
    stats = store.stats()
    store.close()
    print(ok, stats.dropped, stats.buffered)
""")


def test_concurrent_writers_lose_nothing(target: str, open_test_store: Any) -> None:
    """4 processes open a brand-new store at once (racing the migrations) and write 200 each."""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, target, f"w{w}", "200"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(4)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    assert [out.split() for out, _ in outs] == [["200", "0", "0"]] * 4
    store = open_test_store()
    ids = [e.ticket_id for e in store.suggest_events()]
    assert len(ids) == 800 and len(set(ids)) == 800
    assert store.schema_version() == LATEST


@pytest.fixture
def outage(backend: str, target: str, request: pytest.FixtureRequest) -> Any:
    """`with outage():` makes the store unavailable: SQLite locked by another connection
    holding an exclusive lock; PostgreSQL stopped (and started again after)."""
    import contextlib
    import sqlite3

    @contextlib.contextmanager
    def sqlite_locked() -> Any:
        other = sqlite3.connect(target, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.rollback()
            other.close()

    @contextlib.contextmanager
    def postgres_down() -> Any:
        server = request.getfixturevalue("pg_server")
        if server.bindir is None:
            pytest.skip("KBTOOL_TEST_PG_URL: an external server is not ours to stop")
        server.stop()
        try:
            yield
        finally:
            server.start()

    return sqlite_locked if backend == "sqlite" else postgres_down


def test_unavailable_store_never_raises_and_buffers(open_test_store: Any, outage: Any) -> None:
    store = open_test_store(busy_timeout_ms=100, connect_timeout=2)
    assert store.record_suggest(answer(0, "a"))
    during = [answer(1, "b"), answer(2, "c")]
    with outage():
        assert [store.record_suggest(e) for e in during] == [False, False]
        fb = FeedbackEvent(article_id="a", outcome="helpful", source="agent", time=T0)
        assert store.record_feedback(fb) is False
        s = store.stats()
        assert (s.recorded, s.buffered, s.dropped, s.failures) == (1, 3, 0, 3)
        assert s.last_error
    assert store.record_suggest(answer(3, "d"))  # writes the buffer first
    s = store.stats()
    assert (s.recorded, s.buffered, s.dropped) == (5, 0, 0)
    assert [e.suggestions[0].article_id for e in store.suggest_events()] == ["a", "b", "c", "d"]


def test_unavailable_store_without_buffer_counts_dropped(open_test_store: Any, outage: Any) -> None:
    store = open_test_store(busy_timeout_ms=100, connect_timeout=2, buffer_size=0)
    assert store.record_suggest(answer(0, "a"))
    with outage():
        assert store.record_suggest(answer(1, "b")) is False
        assert store.record_deflection(DeflectionEvent(session_id="s", article_id="a")) is False
    assert (store.stats().dropped, store.stats().buffered) == (2, 0)
    assert store.record_suggest(answer(2, "c"))
    assert store.counts().suggest == 2


def test_backs_off_after_a_failure(open_test_store: Any, outage: Any) -> None:
    store = open_test_store(busy_timeout_ms=100, connect_timeout=2, retry_min=60.0)
    store.open()
    with outage():
        assert store.record_suggest(answer(0, "a")) is False
        assert store.record_suggest(answer(1, "a")) is False  # backing off: not even tried
        assert store.stats().failures == 1 and store.stats().buffered == 2  # (a second try would count a failure)


def test_buffer_is_bounded(open_test_store: Any, outage: Any) -> None:
    store = open_test_store(busy_timeout_ms=50, connect_timeout=2, buffer_size=2)
    store.open()
    with outage():
        for m in range(5):
            assert store.record_suggest(answer(m, "a")) is False
    assert (store.stats().buffered, store.stats().dropped) == (2, 3)
    assert store.flush()
    assert [e.time.minute for e in store.suggest_events()] == [3, 4]  # the newest were kept


@pytest.fixture
def dead_target(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        (tmp_path / "not-a-dir").write_text("")
        return str(tmp_path / "not-a-dir" / "events.sqlite3")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://kb:hunter2@127.0.0.1:{port}/nothing"


def test_lazy_store_on_a_dead_target(dead_target: str) -> None:
    with pytest.raises(StoreError) as err:
        open_store(dead_target)
    assert "hunter2" not in str(err.value)
    store = open_store(dead_target, lazy=True, retry_min=0.0, connect_timeout=1)
    assert store.record_suggest(answer(0, "a")) is False
    assert Recorder(store).record_suggest({"suggestions": []}, audience="public", ticket_text="hi") is not None
    s = store.stats()
    assert (s.recorded, s.buffered, s.failures) == (0, 2, 2)
    assert "hunter2" not in json.dumps(s.__dict__)
    store.close()


def test_recorder_redacts_ticket_text(open_test_store: Any) -> None:
    store = open_test_store()
    raw = "Login fails for maria.garcia@contoso-mail.com from 81.2.69.160, card 4242 4242 4242 4242"
    result = {"suggestions": [{"id": "login-help", "score": 3.2, "confidence": "medium"}], "semantic": False}
    ev = Recorder(store, index_build="b9").record_suggest(result, audience="public", ticket_text=raw, ticket_id="T-5")
    assert ev is not None
    (stored,) = store.suggest_events()
    assert stored.ticket_text == "Login fails for [EMAIL] from [IP], card [CARD]"
    assert stored.index_build == "b9" and stored.suggestions[0].article_id == "login-help"
    off = Recorder(store, store_ticket_text=False).record_suggest(result, audience="public", ticket_text=raw)
    assert off is not None and off.ticket_text is None
    assert store.counts().suggest == 2


def test_location_hides_the_password() -> None:
    s = PostgresStore("postgresql://app:s3cret@db.example.net:5433/kb?sslmode=require")
    assert s.stats().location == "postgresql://app:***@db.example.net:5433/kb?sslmode=require"
    assert s.stats().backend == "postgres"
