"""`kbtool insights` and `kbtool events prune` through click, on real stores and exports;
the HTML page is one self-contained file."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kbtool.cli import main
from kbtool.events import FeedbackEvent, SuggestedItem, SuggestEvent, open_store


def run(project: Any, *args: str) -> Result:
    return CliRunner().invoke(main, ["insights", "--kb", str(project.kb), *args])


@pytest.fixture
def db(small_project: Any, tmp_path: Path) -> Path:
    now = datetime.now(UTC)
    path = tmp_path / "events.sqlite3"
    events: list[Any] = []
    for i in range(4):
        ev = SuggestEvent("public", (SuggestedItem("a", 1, 2.0, "high"),), ticket_id=str(i),
                          time=now - timedelta(days=i + 1))
        events.append(ev)
    events.append(FeedbackEvent("a", "linked", "agent", ticket_id="0", time=now - timedelta(hours=1)))
    events.append(SuggestEvent("public", abstained=True, ticket_id="old", time=now - timedelta(days=90)))
    with open_store(path) as store:
        store.import_events(events)
    return path


def test_text_and_json(small_project: Any, db: Path) -> None:
    r = run(small_project, "--db", str(db), "--since", "30d", "--method", "lexical")
    assert r.exit_code == 0, r.output
    assert "tickets 4" in r.output and "KB linkage 25.0%" in r.output
    r = run(small_project, "--db", str(db), "--since", "13w", "--format", "json", "--method", "lexical")
    data = json.loads(r.output)
    assert data["headline"]["tickets"] == 5 and data["articles"][0]["id"] == "a"  # 13 weeks: the old one too
    assert data["by_rank"][0] == {"key": "1", "shown": 4, "accepted": 1, "rate": 0.25}


def test_html_is_one_self_contained_file(small_project: Any, db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = run(small_project, "--db", str(db), "--since", "30d", "--html", str(out), "--method", "lexical")
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<style>" in page
    assert not re.search(r"https?://", page), re.findall(r".{30}https?://.{30}", page)
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert list(tmp_path.glob("*.html")) == [out] and not (tmp_path / "report_files").exists()


def test_offline_tickets_with_a_bad_line(small_project: Any, tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text('{"id": 1, "subject": "Reset a password", "body": "how"}\n{oops\n'
                      '{"id": 2, "subject": "Export data", "created_at": "not a date"}\n'
                      '{"id": 3, "subject": "Export data please", "body": "export"}\n', encoding="utf-8")
    r = run(small_project, "--tickets", str(export), "--format", "json", "--method", "lexical")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["headline"]["tickets"] == 2
    assert data["problems"] == [f"{export}:2:2: not valid JSON: Expecting property name enclosed in double quotes",
                                f"{export}:3: created_at: not an ISO 8601 time: 'not a date'"]
    assert f"warning: {export}:2:2" in r.stderr


def test_zendesk_export(small_project: Any, tmp_path: Path) -> None:
    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps({"tickets": [
        {"id": 101, "subject": "Reset a password", "description": "I forgot it", "created_at": "2026-11-02T10:00:00Z"},
        {"id": 102, "subject": 7}]}), encoding="utf-8")
    r = run(small_project, "--tickets", str(export), "--method", "lexical")
    assert r.exit_code == 0, r.output
    assert "tickets: 1 from a zendesk export" in r.stdout and "tickets[1]" in r.stdout


def test_bad_inputs(small_project: Any, tmp_path: Path) -> None:
    r = run(small_project, "--tickets", str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 1 and "cannot read the ticket file" in r.output and "Traceback" not in r.output
    r = run(small_project, "--db", str(tmp_path / "none.sqlite3"))
    assert r.exit_code == 1 and "no event store at" in r.output
    assert not (tmp_path / "none.sqlite3").exists()
    r = run(small_project, "--tickets", str(tmp_path / "x"), "--since", "yesterday")
    assert r.exit_code == 2 and "--since: expected a duration" in r.output


def test_prune(small_project: Any, db: Path) -> None:
    def prune(*args: str) -> Result:
        return CliRunner().invoke(main, ["events", "prune", "--kb", str(small_project.kb), "--db", str(db), *args])

    for bad in ("-1", "abc", "1.5"):
        assert prune("--keep-days", bad).exit_code == 2
    r = prune("--keep-days", "30")
    assert r.exit_code == 0 and "pruned 1 events older than 30 days" in r.output
    with open_store(db) as store:
        assert store.counts().suggest == 4
