"""The fast build paths against the plain ones they replace, on the repository's real sample KB:

- FastWriter writes byte for byte the files of Whoosh's own SegmentWriter;
- kb_files lists exactly what content.discover finds;
- an index brought up to date incrementally (forward delta, then its compaction) answers
  plain-word searches and suggestions exactly as a full build of the same KB does.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from whoosh import index as windex

import kbtool.index as kbindex
from kbtool.config import Config
from kbtool.content import discover, load_kb
from kbtool.index import FORWARD, Index, current_build, update_index
from kbtool.index.forward import FORWARD_DELTA
from kbtool.index.schema import TermMemo, document, make_schema, stem, texts, tokens
from kbtool.index.store import kb_files
from kbtool.index.writer import FastWriter
from kbtool.suggest.engine import Engine
from kbtool.suggest.ticket import Ticket

SAMPLE_KB = Path(__file__).resolve().parents[2] / "kb"
QUERIES = ("webhook timeout", "SAML-403", "invoice", "password reset email", "export csv", "token scope",
           "sign in loop", "payment declined card")
TICKETS = (Ticket("Customers cannot sign in with SSO", "SAML error after we changed the IdP certificate"),
           Ticket("Webhooks stopped arriving", "our endpoint returns 500 and deliveries time out"),
           Ticket("Invoice shows the wrong VAT", "billing contact asks for a corrected invoice"))


@pytest.fixture
def sample_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(SAMPLE_KB, kb)
    return kb


def _segment_files(d: Path) -> dict[str, bytes]:
    """Every file of a one-segment index, the random segment name taken out of names and TOC."""
    toc = next(d.glob("_MAIN_*.toc"))
    seg = re.search(rb"[a-z0-9]{16}", toc.read_bytes().split(b"segid")[-1])
    name = seg.group(0).decode() if seg else "?"
    return {f.name.replace(name, "SEG"): f.read_bytes().replace(name.encode(), b"SEG") for f in d.iterdir()}


def test_fast_writer_writes_whooshs_files(sample_kb: Path, tmp_path: Path) -> None:
    arts = load_kb(sample_kb).valid_articles[:30]
    out = {}
    for kind in ("whoosh", "fast"):
        d = tmp_path / kind
        d.mkdir()
        ix = windex.create_in(str(d), make_schema())
        # limitmb=1: the pool spills sorted runs to disk and merges them, as at 10,000 articles
        w = ix.writer(limitmb=1, compound=False) if kind == "whoosh" else FastWriter(ix, limitmb=1, compound=False)
        analyzer = TermMemo(stem())
        for a in arts:
            w.add_document(**document(a, tokens(texts(a), analyzer)))
        w.commit()
        ix.close()
        out[kind] = _segment_files(d)
    assert len(out["fast"]) > 4
    assert out["fast"].keys() == out["whoosh"].keys()
    for name in out["whoosh"]:
        if not name.endswith(".toc"):  # (the TOC pickles the segment object: same fields, another id)
            assert out["fast"][name] == out["whoosh"][name], name


def test_term_memo_makes_the_analysers_terms(sample_kb: Path) -> None:
    memo, reference = TermMemo(stem()), stem()
    for a in load_kb(sample_kb).valid_articles:
        for text in texts(a).values():
            assert memo(text) == [t.text for t in reference(text)]
    tricky = "The CAN'T-stop U.S.A. e-mail re-sent 2026.04 naïve Ünïcode the of running runners"
    assert memo(tricky) == memo(tricky) == [t.text for t in reference(tricky)]


def test_kb_files_match_discover(sample_kb: Path) -> None:
    (sample_kb / "articles" / "deep" / "er").mkdir(parents=True)
    (sample_kb / "articles" / "deep" / "er" / "nested.md").write_text("---\nid: x\n---\n")
    (sample_kb / "articles" / "notes.txt").write_text("not markdown")
    os.symlink(sample_kb / "articles" / "missing.md", sample_kb / "articles" / "broken.md")
    os.symlink(sample_kb / "articles" / "deep", sample_kb / "articles" / "dir-link.md")
    os.symlink(sorted((sample_kb / "articles").glob("a*.md"))[0], sample_kb / "runbooks" / "linked.md")
    root = sample_kb.resolve()
    assert [full for _, full in kb_files(root)] == [str(p) for p in discover(root)[0]]
    assert ("articles/deep/er/nested.md", str(root / "articles/deep/er/nested.md")) in kb_files(root)


def _answers(cfg: Config) -> tuple[dict[str, dict[str, float]], list[list[tuple[str, float]]]]:
    """Every matching document's plain-word score per query, and the suggestions per ticket."""
    snap = Index(cfg.index_dir).open()
    try:
        plain = snap.plain_words()
        scores = {}
        for q in QUERIES:
            plan = plain.plan(snap.parse(q))
            assert plan is not None, q
            s, matched = plain.scores(plan, snap._phrase_rows(plain, plan))
            scores[q] = {plain.ids[i]: float(s[i]) for i in matched.nonzero()[0]}
        engine = Engine.from_snapshot(snap, semantic=False)
        suggestions = [[(s.id, s.score) for s in engine.suggest(t).suggestions] for t in TICKETS]
    finally:
        snap.close()
    return scores, suggestions


def _edit(kb: Path, step: int) -> None:
    files = sorted((kb / "articles").glob("*.md"))
    p = files[(step * 7) % len(files)]
    p.write_text(p.read_text(encoding="utf-8") + f"\nWebhook invoice timeout note {step}.\n", encoding="utf-8")
    if step == 2:
        files[-1].unlink()  # (the edited file comes first: 14 < 60)


def test_incremental_answers_like_a_full_build(sample_kb: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KBTOOL_SEMANTIC", "0")
    monkeypatch.setattr(kbindex, "DELTA_MIN", 1)  # a second changed document compacts the delta
    monkeypatch.setattr(kbindex, "DELTA_SHARE", 0.0)
    inc, full = (Config(root=tmp_path, kb=sample_kb.resolve(), index_dir=tmp_path / name, site_dir=tmp_path / "site",
                        mkdocs_yml=tmp_path / "mkdocs.yml") for name in ("inc", "full"))
    update_index(inc)
    seen_delta = seen_compacted = False
    for step in range(3):  # a delta; compacted; a delta over the compacted base, with a removal
        _edit(sample_kb, step)
        report = update_index(inc)
        assert not report.full and report.updated == 1
        build = current_build(inc.index_dir)
        assert build is not None and (build / FORWARD).exists()
        has_delta = (build / FORWARD_DELTA).exists()
        seen_delta |= has_delta
        seen_compacted |= seen_delta and not has_delta
        if has_delta:  # the base is the previous build's file, not rewritten
            assert (build / FORWARD).stat().st_nlink > 1
        update_index(full, rebuild=True)
        assert _answers(inc) == _answers(full), f"after edit {step}"
    assert seen_delta and seen_compacted
