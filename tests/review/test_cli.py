"""`kbtool review` end to end through the real CLI group: formats, filters, --db, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kbtool.cli import main
from kbtool.config import Config


@pytest.fixture(autouse=True)
def _in_project(review_project: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where CI runs: in the project (its kbtool.toml is found), with no CI variables."""
    monkeypatch.chdir(review_project.root)
    for name in ("KBTOOL_DB", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


def run(cfg: Config, today: date, *args: str) -> Result:
    return CliRunner().invoke(main, ["review", "--kb", str(cfg.kb), "--today", today.isoformat(), *args])


def test_text(review_project: Config, today: date) -> None:
    r = run(review_project, today)
    assert r.exit_code == 0, r.output  # findings are a to-do list, not a failure
    assert r.output.startswith("Review queue for 2026-12-02: 4 article(s) to review")
    assert "no event store" in r.output
    assert "\nalpha-team / billing\n" in r.output and "\nbeta-team / sso\n" in r.output
    assert "broken-link KB401:" in r.output and "kb/articles/overdue-a.md" in r.output


def test_json_and_filters(review_project: Config, today: date) -> None:
    data = json.loads(run(review_project, today, "--format", "json").output)
    assert data["counts"]["overdue"] == 1 and data["counts"]["due-soon"] == 1 and data["events"] is False
    assert [(g["owner"], g["product"]) for g in data["groups"]] == [
        ("alpha-team", None), ("alpha-team", "billing"), ("beta-team", "sso")]
    only = json.loads(run(review_project, today, "--format", "json", "--owner", "beta-team").output)
    assert [a["id"] for g in only["groups"] for a in g["articles"]] == ["broken-c"]
    billing = json.loads(run(review_project, today, "--format", "json", "--product", "billing",
                             "--due-within", "5").output)
    assert [a["id"] for g in billing["groups"] for a in g["articles"]] == ["overdue-a"]


def test_markdown_to_file(review_project: Config, today: date, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "review.md"
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/kb")
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(review_project.root.parent))  # the project is a folder of the repo
    r = run(review_project, today, "--format", "markdown", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    md = out.read_text(encoding="utf-8")
    assert "\n### alpha-team\n" in md and "\n### beta-team\n" in md
    assert "- [ ] [Title of broken-c](https://github.com/org/kb/blob/abc123/proj/kb/articles/broken-c.md)" in md
    r = run(review_project, today, "--format", "markdown", "--link-base", "")
    assert "](kb/articles/broken-c.md)" in r.output


def test_db_option(review_project: Config, today: date, tmp_path: Path) -> None:
    from kbtool.events import SuggestedItem, SuggestEvent, open_store

    r = run(review_project, today, "--db", str(tmp_path / "missing.sqlite3"))
    assert r.exit_code == 2 and "no event store" in r.output and not (tmp_path / "missing.sqlite3").exists()
    db = tmp_path / "events.sqlite3"
    with open_store(db) as store:
        when = datetime.combine(today - timedelta(days=1), time(12), UTC)
        store.record_suggest(SuggestEvent("public", (SuggestedItem("fresh-d", 1, 1.0, "high"),), ticket_id="t",
                                          time=when))  # in the window that ends `today`, whatever the clock says
    data = json.loads(run(review_project, today, "--db", str(db), "--format", "json").output)
    assert data["events"] is True and data["counts"]["never-suggested"] == 5  # all public ones but fresh-d
    assert json.loads(run(review_project, today, "--format", "json").output)["events"] is False
    default = Path(review_project.events_target())
    default.parent.mkdir(parents=True, exist_ok=True)
    db.rename(default)
    assert json.loads(run(review_project, today, "--format", "json").output)["events"] is True  # the config's db


def test_usage_errors(review_project: Config, today: date) -> None:
    assert run(review_project, today, "--today", "02/12/2026").exit_code == 2
    assert run(review_project, today, "--due-within", "-1").exit_code == 2
    r = CliRunner().invoke(main, ["review", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output
