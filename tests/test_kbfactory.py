"""kbfactory writes articles the loader reads back as written: valid, public, fields intact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kbfactory import write_article

from kbtool.content import load_kb


def test_write_article_round_trips(tmp_path: Path) -> None:
    write_article(tmp_path, "a-b", "## Steps\n\n1. One.", tags=["x"], related=["c"])
    kb = load_kb(tmp_path)
    a = kb.get("a-b")
    assert a is not None and a.valid and a.is_public and a.tags == ["x"] and a.last_reviewed is not None
    assert a.related == ["c"] and a.title == "Title of a-b" and a.rel_path == "articles/a-b.md"


def test_explicit_fields_and_default_runbook_body_round_trip(tmp_path: Path) -> None:
    write_article(tmp_path, "t", "## Steps\n\n1. Go.", title='Use *x* & <y> "z"', summary='"Quoted" & <b>bold</b>',
                  last_reviewed="2026-09-01", error_codes=["E-1"], aliases=["an alias"], product="Data")
    write_article(tmp_path, "rb", type="runbook")  # folder runbooks/, audience internal, every required section
    kb = load_kb(tmp_path)
    a, rb = kb.get("t"), kb.get("rb")
    assert a is not None and a.valid and a.title == 'Use *x* & <y> "z"' and a.summary == '"Quoted" & <b>bold</b>'
    assert a.last_reviewed == date(2026, 9, 1) and a.error_codes == ["E-1"] and a.aliases == ["an alias"]
    assert a.product == "Data"
    assert rb is not None and rb.valid and rb.kind == "runbook" and rb.audience == "internal" and not rb.is_public
    assert kb.diagnostics == []
