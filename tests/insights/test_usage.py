"""Linkage, acceptance, per-article numbers and spikes on hand-made event sets with known
answers, through a real SQLite store (and the in-memory path, which must agree)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kbtool.content import load_kb
from kbtool.events import DeflectionEvent, FeedbackEvent, SuggestedItem, SuggestEvent, open_store
from kbtool.insights import is_spike, report

DAY = datetime(2026, 11, 1, 9, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)


def _answer(day: int, ticket: str | None, *items: tuple[str, str], text: str = "", minute: int = 0,
            **kw: Any) -> SuggestEvent:
    sugg = tuple(SuggestedItem(a, r, 1.0 / r, c) for r, (a, c) in enumerate(items, 1))
    return SuggestEvent(audience="public", suggestions=sugg, abstained=not sugg, ticket_id=ticket,
                        ticket_text=text or None, time=DAY + timedelta(days=day, minutes=minute), **kw)


def _events() -> list[Any]:
    t2 = _answer(0, "2", ("b", "medium"), ("a", "low"))
    return [
        _answer(0, "1", ("a", "high"), ("b", "medium"), product="web"),
        t2,
        _answer(1, "3", ("a", "high"), text="a rejected answer"),
        _answer(1, "4", text="how do I add a VAT number"),
        _answer(2, "5", text="first try"),
        _answer(2, "5", ("ki", "high"), minute=5),  # asked again: one ticket, its last answer counts
        _answer(2, None, ("b", "low"), text="weak only"),
        FeedbackEvent("a", "linked", "agent", ticket_id="1", time=DAY + timedelta(hours=1)),
        FeedbackEvent("a", "resolved", "agent", suggestion_event_id=t2.event_id, time=DAY + timedelta(hours=2)),
        FeedbackEvent("a", "not_helpful", "agent", ticket_id="3", time=DAY + timedelta(days=1, hours=1)),
        FeedbackEvent("idle", "linked", "agent", ticket_id="5", time=DAY + timedelta(days=2, hours=1)),
        FeedbackEvent("a", "helpful", "help-center", time=DAY + timedelta(days=3)),
        DeflectionEvent("s1", "a", time=DAY + timedelta(days=3)),
        DeflectionEvent("s2", "a", time=DAY + timedelta(days=4)),
    ]


@pytest.fixture
def rep(small_project: Any, tmp_path: Path) -> Any:
    store = open_store(tmp_path / "events.sqlite3")
    store.import_events(_events())
    with store:
        return report(store, load_kb(small_project.kb), since=SINCE, until=UNTIL, config=small_project,
                      method="lexical")


def test_headline_linkage(rep: Any) -> None:
    h = rep.headline
    assert (h.tickets, h.answered, h.linked, h.unanswered) == (6, 5, 2, 3)
    assert h.linkage_rate == pytest.approx(2 / 6, abs=1e-4)
    assert (h.feedback, h.helpful, h.not_helpful, h.deflections) == (5, 1, 1, 2)


def test_acceptance_by_rank_and_confidence(rep: Any) -> None:
    assert [(r.key, r.shown, r.accepted) for r in rep.by_rank] == [("1", 5, 1), ("2", 2, 1)]
    assert [(r.key, r.shown, r.accepted) for r in rep.by_confidence] == [("high", 3, 1), ("medium", 2, 0),
                                                                          ("low", 2, 1)]


def test_timeline(rep: Any) -> None:
    assert rep.window.bucket == "day" and len(rep.timeline) == 7
    day1 = rep.timeline[0]
    assert (day1.tickets, day1.linked, day1.linkage_rate, day1.shown, day1.accepted) == (2, 2, 1.0, 4, 2)
    assert rep.timeline[1].linkage_rate == 0.0 and rep.timeline[4].linkage_rate is None


def test_per_article(rep: Any) -> None:
    by = {a.id: a for a in rep.articles}
    a = by["a"]
    assert (a.suggested, a.suggested_first, a.accepted, a.helpful, a.not_helpful, a.deflections) == (3, 2, 2, 1, 1, 2)
    assert a.stale and a.heavily_used and not by["b"].stale
    assert rep.articles[0].id == "a"
    assert [u.id for u in rep.stale_but_used] == ["a"]
    assert rep.never_suggested == ["idle"]


def test_gap_reasons(rep: Any) -> None:
    assert rep.gaps.unanswered == 3 and rep.gaps.without_text == 0  # rejected, abstained, weak
    assert rep.known_issues[0].id == "ki" and rep.known_issues[0].total == 1 and not rep.known_issues[0].spikes


def test_in_memory_events_agree_with_the_store(rep: Any, small_project: Any) -> None:
    again = report(_events(), load_kb(small_project.kb), since=SINCE, until=UNTIL, config=small_project,
                   method="lexical")
    assert again.headline == rep.headline and again.by_rank == rep.by_rank and again.articles == rep.articles


def test_filters(small_project: Any) -> None:
    kb = load_kb(small_project.kb)
    web = report(_events(), kb, since=SINCE, until=UNTIL, product="web", method="lexical")
    assert web.headline.tickets == 1 and web.headline.linked == 1 and [a.id for a in web.articles] == ["a"]
    team_b = report(_events(), kb, since=SINCE, until=UNTIL, owner="team-b", method="lexical")
    assert [a.id for a in team_b.articles] == ["b"] and team_b.known_issues == []


def test_no_feedback_means_not_measured(small_project: Any) -> None:
    rep = report([_answer(0, "1", ("a", "high"))], load_kb(small_project.kb), method="lexical")
    assert rep.headline.linkage_rate is None and rep.by_rank[0].rate is None


def test_spike_rule_flags_a_spike_not_flat_noise() -> None:
    rng = random.Random(7)
    flat = [sum(rng.random() < 0.1 for _ in range(30)) for _ in range(90)]  # ~Poisson(3)
    assert not any(is_spike(n, flat[:i])[0] for i, n in enumerate(flat))
    assert is_spike(14, flat)[0]
    assert not is_spike(4, [0] * 14)[0]  # below MIN_COUNT: a handful is not a spike
    assert not is_spike(20, [1] * 3)[0]  # too little history for a verdict


def test_known_issue_spike_in_a_report(small_project: Any) -> None:
    rng = random.Random(3)
    events = []
    for day in range(28):
        n = 12 if day == 21 else rng.choice([0, 1, 1, 2])
        events += [_answer(day, f"{day}-{k}", ("ki", "high")) for k in range(n)]
    rep = report(events, load_kb(small_project.kb), since=SINCE, until=SINCE + timedelta(days=28),
                 method="lexical")
    (ki,) = rep.known_issues
    assert [s.day for s in ki.spikes] == [(DAY + timedelta(days=21)).date()] and ki.spikes[0].count == 12
