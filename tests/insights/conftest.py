"""Fixtures for insights: a sample-KB project with three topics removed, its ticket export
(the removed topics' tickets among the golden ones), and a small hand-made KB for event sets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kbfactory import SAMPLE_KB, make_project, write_article

from kbtool.config import Config, load_config
from kbtool.content import KB, load_kb

HERE = Path(__file__).resolve().parent
REMOVED = ("vat-tax-id", "slack-integration-setup", "account-deletion")
# The gap window: 30 days; topic tickets come in its second half (a trend to find).
START = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass
class GapProject:
    config: Config
    kb: KB
    export: Path
    topic_of: dict[str, str]  # ticket id -> removed topic, or "" for an ordinary ticket


def _gap_export(path: Path) -> dict[str, str]:
    """Written by hand: 30 tickets about the removed topics (tests/insights/gap_tickets.jsonl),
    plus kb/golden.jsonl's 100 tickets (those expecting a removed article count as its topic)."""
    rows, topic_of = [], {}
    for i, line in enumerate((HERE / "gap_tickets.jsonl").read_text(encoding="utf-8").splitlines()):
        t = json.loads(line)
        tid = f"gap-{i:03d}"
        topic_of[tid] = t["topic"]
        rows.append({"id": tid, "subject": t["subject"], "body": t["body"],
                     "created_at": (START + timedelta(days=15 + i % 15, hours=i % 7)).isoformat()})
    for i, line in enumerate((SAMPLE_KB / "golden.jsonl").read_text(encoding="utf-8").splitlines()):
        t = json.loads(line)
        topic_of[t["id"]] = next((e for e in t["expected"] if e in REMOVED), "")
        rows.append({"id": t["id"], "subject": t["subject"], "body": t["body"],
                     "created_at": (START + timedelta(days=i % 30, hours=i % 11)).isoformat()})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return topic_of


@pytest.fixture(scope="module")
def gap_project(tmp_path_factory: pytest.TempPathFactory) -> GapProject:
    root = tmp_path_factory.mktemp("gaps")
    cfg = make_project(root / "project")
    for doc in REMOVED:
        (cfg.kb / "articles" / f"{doc}.md").unlink()
    export = root / "export.jsonl"
    return GapProject(cfg, load_kb(cfg.kb), export, _gap_export(export))


@pytest.fixture
def small_project(tmp_path: Path) -> Config:
    """Four articles: `a` (last reviewed long ago) and `b` howtos, `ki` a known issue, `idle`."""
    root = tmp_path / "small"
    cfg = make_project(root, copy_sample=False)
    write_article(cfg.kb, "a", title="Reset a password", owner="team-a", product="web", created="2019-06-01",
                  last_reviewed="2020-01-01")
    write_article(cfg.kb, "b", title="Export data", owner="team-b")
    write_article(cfg.kb, "ki", title="Known issue: uploads fail", type="known-issue", owner="team-a",
                  sections={"Symptoms": "Uploads fail.", "Cause": "A bug.", "Workaround": "Retry.",
                            "Status": "Investigating."})
    write_article(cfg.kb, "idle", title="Rarely needed")
    return load_config(cwd=root)
