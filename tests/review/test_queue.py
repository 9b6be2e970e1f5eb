"""build_queue on a real KB (tests/kbfactory.py) and, for event signals, a real SQLite store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.events import FeedbackEvent, SuggestedItem, SuggestEvent, open_store
from kbtool.review import ReviewQueue, build_queue, format_markdown
from kbtool.review.render import md_escape


def _kinds(queue: ReviewQueue) -> dict[str, list[str]]:
    return {a.id: [t.kind for t in a.tasks] for a in queue.articles}


def test_groups_per_owner_and_product(review_project: Config, today: date) -> None:
    queue = build_queue(load_kb(review_project.kb), review_project, today=today)
    assert [(g.owner, g.product) for g in queue.groups] == [
        ("alpha-team", None), ("alpha-team", "billing"), ("beta-team", "sso")]
    kinds = _kinds(queue)
    assert kinds["overdue-a"] == ["overdue"] and kinds["soon-b"] == ["due-soon"]
    assert kinds["broken-c"] == ["broken-link"]
    assert kinds["dup-g"] == ["duplicate"] and "dup-f" not in kinds  # lint puts KB501 on one of the pair
    assert "dup-f.md" in next(a for a in queue.articles if a.id == "dup-g").tasks[0].detail
    assert "fresh-d" not in kinds and "internal-e" not in kinds  # nothing to do, and no store: no event signals
    broken = next(a for a in queue.articles if a.id == "broken-c")
    assert broken.tasks[0].code == "KB401" and broken.tasks[0].line > 1 and "okta-setup-missing" in broken.tasks[0].detail
    assert broken.path == "kb/articles/broken-c.md" and not queue.events
    assert next(a for a in queue.articles if a.id == "overdue-a").due == date(2026, 1, 1)


def test_due_within_and_filters(review_project: Config, today: date) -> None:
    kb = load_kb(review_project.kb)
    assert "soon-b" not in _kinds(build_queue(kb, review_project, today=today, due_within_days=10))
    beta = build_queue(kb, review_project, today=today, owner="beta-team")
    assert {g.owner for g in beta.groups} == {"beta-team"} and set(_kinds(beta)) == {"broken-c"}
    billing = build_queue(kb, review_project, today=today, product="billing")
    assert set(_kinds(billing)) == {"overdue-a", "soon-b"}
    assert build_queue(kb, review_project, today=today, owner="nobody").groups == []
    with pytest.raises(ValueError, match="due_within_days"):
        build_queue(kb, review_project, today=today, due_within_days=-1)


def _record_events(path: Path, today: date) -> None:
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    store = open_store(path)
    for i, article in enumerate(["fresh-d", "overdue-a", "dup-f", "dup-g"]):
        assert store.record_suggest(SuggestEvent("public", (SuggestedItem(article, 1, 3.0, "high"),),
                                                 ticket_id=f"t{i}", time=now - timedelta(days=3)))
    # soon-b was suggested, but 100 days ago: outside the 90-day window
    assert store.record_suggest(SuggestEvent("public", (SuggestedItem("soon-b", 1, 3.0, "high"),),
                                             ticket_id="old", time=now - timedelta(days=100)))
    votes = ["helpful"] * 2 + ["not_helpful"] * 4  # 6 votes, 33% helpful: low
    votes_ok = ["helpful"] * 3 + ["not_helpful"] * 2  # 5 votes, 60%: fine
    votes_few = ["not_helpful"] * 4  # 4 votes: too few to judge
    for article, outcomes in (("fresh-d", votes), ("overdue-a", votes_ok), ("dup-f", votes_few)):
        for outcome in outcomes:
            assert store.record_feedback(FeedbackEvent(article, outcome, "help-center", time=now - timedelta(days=1)))
    store.close()


def test_event_signals(review_project: Config, tmp_path: Path, today: date) -> None:
    db = tmp_path / "events.sqlite3"
    _record_events(db, today)
    with open_store(db) as store:
        queue = build_queue(load_kb(review_project.kb), review_project, today=today, store=store)
    kinds = _kinds(queue)
    assert queue.events and kinds["fresh-d"] == ["low-helpfulness"]
    assert "2 of 6 votes helpful (33%)" in next(a for a in queue.articles if a.id == "fresh-d").tasks[0].detail
    assert "never-suggested" in kinds["broken-c"] and "never-suggested" in kinds["soon-b"]
    assert kinds["overdue-a"] == ["overdue"]  # suggested recently, 60% helpful
    assert "dup-f" not in kinds  # four votes say nothing yet
    assert "internal-e" not in kinds  # internal: never offered to customers, so never "never suggested"
    assert queue.counts()["never-suggested"] == 2


def test_markdown_escapes_author_text() -> None:
    assert md_escape("Use [x](y) *now* @team <b>|") == r"Use \[x\](y) \*now\* \@team \<b\>\|"


def test_markdown_report(review_project: Config, today: date) -> None:
    queue = build_queue(load_kb(review_project.kb), review_project, today=today)
    md = format_markdown(queue, link_base="https://github.com/org/kb/blob/main/")
    assert md.startswith("## KB review queue, 2026-12-02\n")
    assert md.count("\n### ") == 2 and "\n### alpha-team\n" in md and "\n#### billing\n" in md
    assert "- [ ] [Title of overdue-a](https://github.com/org/kb/blob/main/kb/articles/overdue-a.md) (`overdue-a`)" in md
    assert "  - **broken-link** (KB401, line " in md
