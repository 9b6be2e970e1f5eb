"""A full build split over forked processes (`Index._full`): each share of the articles a
Whoosh segment of its own, listed in article order. It must answer exactly as one process
does, however many shares, and when a child fails or dies.

A build never forks while other threads run (a fork copies whatever lock another thread
holds), and a test session has some (the API tests' live server), so each scenario runs in
a fresh Python process, on a copy of the repository's sample KB (61 files; shares of at
least 5 articles here, 1,000 in real builds)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="builds are split on Linux only")

REPO = Path(__file__).resolve().parents[2]

# Builds the KB in one process (SPLIT_MAX = 1) and records its answers, then runs the
# scenario's code; `out` is printed as JSON. `usable_cores` is made 3, so a split build
# forks two children even on a 2-core machine.
_HEAD = """
import json, os, sys
from pathlib import Path
from whoosh import index as windex
import kbtool.index as kbindex
from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import FORWARD, Index, current_build, update_index
from kbtool.suggest.engine import Engine
from kbtool.suggest.ticket import Ticket

kb_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
parent = os.getpid()
QUERIES = ("webhook timeout", "SAML-403", "invoice", "password reset email", "export csv", "token scope",
           "sign in loop", "payment declined card", "title:webhook", '"rate limit"', "sso OR billing")
TICKETS = [Ticket("Customers cannot sign in with SSO", "SAML error after we changed the IdP certificate"),
           Ticket("Webhooks stopped arriving", "our endpoint returns 500 and deliveries time out"),
           Ticket("Invoice shows the wrong VAT", "billing contact asks for a corrected invoice")]


def cfg(name):
    return Config(root=work, kb=kb_dir, index_dir=work / name, site_dir=work / "site", mkdocs_yml=work / "mkdocs.yml")


def answers(name):
    build = current_build(work / name)
    snap = Index(work / name).open()
    try:
        hits = {q: [(h.id, round(h.score, 9), h.fragment) for h in snap.search(q, limit=50).hits] for q in QUERIES}
        engine = Engine.from_snapshot(snap, semantic=False)
        sugg = [[(s.id, s.score, s.confidence) for s in engine.suggest(t).suggestions] for t in TICKETS]
    finally:
        snap.close()
    ix = windex.open_dir(str(build))
    with ix.reader() as r:
        segments = [r.doc_count_all()] if r.is_atomic() else [sub.doc_count_all() for sub, _ in r.leaf_readers()]
    ix.close()
    return {"hits": hits, "suggestions": sugg, "segments": segments,
            "forward": (build / FORWARD).read_bytes().hex(),
            "leftovers": sorted(p.name for p in build.iterdir() if p.is_dir())}


def build(name, **kw):
    return update_index(cfg(name), rebuild=True, kb=load_kb(kb_dir), **kw)


os.environ["KBTOOL_SEMANTIC"] = "0"
kbindex.SPLIT_MIN = 5
kbindex.SPLIT_MAX = 1
build("serial")
serial = answers("serial")
kbindex.SPLIT_MAX = 4
kbindex.usable_cores = lambda: 3
out = {"serial_segments": serial["segments"]}


def same(name):
    got = answers(name)
    out["segments"] = got["segments"]
    out["leftovers"] = got["leftovers"]
    return all(got[k] == serial[k] for k in ("hits", "suggestions", "forward"))
"""


def scenario(code: str, tmp_path: Path) -> dict[str, Any]:
    kb = tmp_path / "kb"
    shutil.copytree(REPO / "kb", kb)
    script = _HEAD + textwrap.dedent(code) + "\nprint(json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", script, str(kb), str(tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr  # a child's failure is not the user's
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_split_build_answers_as_one_process(tmp_path: Path) -> None:
    out = scenario("""
        seen = []
        real_part = kbindex._write_part

        def part(*args):
            seen.append(os.getpid())
            return real_part(*args)

        kbindex._write_part = part  # (children run it in their own memory: `seen` stays empty here)
        build("split")
        out.update(same=same("split"), parent_wrote_shares=len(seen))
    """, tmp_path)
    assert out["serial_segments"] == [61]
    assert len(out["segments"]) == 3 and sum(out["segments"]) == 61  # three shares, in three segments
    assert out["parent_wrote_shares"] == 0  # both other shares came from the children
    assert out["same"] and out["leftovers"] == []


def test_a_failing_child_costs_time_not_documents(tmp_path: Path) -> None:
    out = scenario("""
        real_add = kbindex._add_documents

        def add(writer, fwd, articles, *args):
            if os.getpid() != parent:
                raise RuntimeError("a bug that only bites in the child")
            real_add(writer, fwd, articles, *args)

        kbindex._add_documents = add
        build("split")
        out.update(same=same("split"))
    """, tmp_path)
    assert len(out["segments"]) == 3 and out["same"] and out["leftovers"] == []


def test_a_child_that_dies_costs_time_not_documents(tmp_path: Path) -> None:
    out = scenario("""
        real_add = kbindex._add_documents

        def add(writer, fwd, articles, *args):
            real_add(writer, fwd, articles[:2], *args)
            if os.getpid() != parent:
                os._exit(9)  # killed mid-share: its postings half written, no cleanup
            real_add(writer, fwd, articles[2:], *args)

        kbindex._add_documents = add
        build("split")
        out.update(same=same("split"))
    """, tmp_path)
    assert len(out["segments"]) == 3 and out["same"]
    assert out["leftovers"] == []  # the dead child's temporary folder is gone


def test_a_split_build_updates_incrementally(tmp_path: Path) -> None:
    out = scenario("""
        build("split")
        p = sorted((kb_dir / "articles").glob("*.md"))[30]  # (in the second share)
        p.write_text(p.read_text(encoding="utf-8") + "\\nWebhook invoice timeout note.\\n", encoding="utf-8")
        report = update_index(cfg("split"))
        kbindex.SPLIT_MAX = 1
        build("serial")
        serial = answers("serial")
        got = answers("split")
        found = {q: sorted(h[0] for h in hits) for q, hits in got["hits"].items()}
        out.update(full=report.full, updated=report.updated, segments=got["segments"],
                   same_suggestions=got["suggestions"] == serial["suggestions"],
                   same_found=found == {q: sorted(h[0] for h in hits) for q, hits in serial["hits"].items()})
    """, tmp_path)
    assert not out["full"] and out["updated"] == 1
    assert len(out["segments"]) == 4  # the three shares (one with a deletion) and the update
    # Whoosh's own scores count the deleted copy until segments merge (see query.PlainWords),
    # so searches are compared by what they find; suggestions exactly.
    assert out["same_suggestions"] and out["same_found"]


def test_or_matchers_are_chosen_by_the_whole_index() -> None:
    """Whoosh picks an OR's matcher by its segment's size (arrays of every match at 5,000
    documents or fewer); a split build's segments must get the one the whole index would."""
    from whoosh import query as wq

    from kbtool.index.query import _or_matchers_by_index

    def parse() -> wq.Query:
        words = [wq.Or([wq.Term(f, w) for f in ("title", "summary", "body")]) for w in ("sso", "saml", "okta")]
        return wq.And([wq.Or(words), wq.Not(wq.Or([wq.Term("title", "x"), wq.Term("body", "x"), wq.Term("tags", "x")]))])

    big, small = _or_matchers_by_index(parse(), 10_000), _or_matchers_by_index(parse(), 5_000)
    big_ors = [n for n in _walk(big) if isinstance(n, wq.Or)]
    assert len(big_ors) == 5 and all(n.matcher_type == wq.Or.DEFAULT_MATCHER for n in big_ors)
    assert all(n.matcher_type == wq.Or.AUTO_MATCHER for n in _walk(small) if isinstance(n, wq.Or))


def _walk(q: Any) -> list[Any]:
    out, stack = [], [q]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children())
    return out


def test_a_fork_the_system_refuses_costs_time_not_documents(tmp_path: Path) -> None:
    out = scenario("""
        from kbtool import processes

        def refused(self, fn):
            raise BlockingIOError(11, "Resource temporarily unavailable")  # fork(2): EAGAIN

        processes.Forked.__init__ = refused
        build("split")
        out.update(same=same("split"))
    """, tmp_path)
    assert len(out["segments"]) == 3 and out["same"] and out["leftovers"] == []


def test_each_process_pool_gets_a_share_of_the_memory_within_bounds() -> None:
    import kbtool.index as kbindex

    low, high = kbindex.POOL_MB
    assert low <= kbindex.pool_limit_mb(1) <= high
    assert kbindex.pool_limit_mb(2) <= kbindex.pool_limit_mb(1)
    assert kbindex.pool_limit_mb(10_000) == low  # never less than a small machine always had
