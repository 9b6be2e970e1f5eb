"""Plain words: the compiled scorer (`query.PlainWords`, CompiledBM25F) against Whoosh's own scoring.

Every comparison runs the same query both ways (`whoosh=True` is the reference) and wants the
same hits, scores, order, fragments, totals and suggestions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import Filters, Index, Snapshot, update_index
from kbtool.index import query as index_query


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


PLAIN_QUERIES = [
    "quarantined", "okta", "invoice", "webhook", "webhook webhook webhooks", "webhooks timeout receiver",
    "403", "saml 403", "CERT_DATE", "cert date invalid", "sig mismatch", "ERR_CERT_DATE_INVALID",
    "err_cert_date_invalid", "SAML-403", "saml-403 okta", "WEBHOOK-SIG-MISMATCH", "webhook-timeout", "Webhook-Timeout",
    "the", "and or not", "sign-in", "pdf",
    "legacy portal", "refund invoice within days", "databse", "webhok timeout", "zzzunknown",
]


FILTERS = [
    None, Filters(include_retired=True), Filters(status=None, include_retired=True), Filters(type="runbook"),
    Filters(tag="INVOICES"), Filters(audience="internal"), Filters(product="billing", tag="invoices"),
    Filters(status=("draft",)), Filters(type="faq", status=("draft", "in-review")),
]


def same_results(a, b) -> None:
    assert [(h.id, h.score, h.fragment) for h in a.hits] == [(h.id, h.score, h.fragment) for h in b.hits]
    assert [h.to_dict() for h in a.hits] == [h.to_dict() for h in b.hits]
    assert (a.total, a.did_you_mean) == (b.total, b.did_you_mean)


@pytest.mark.parametrize("query", PLAIN_QUERIES)
def test_plain_words_score_exactly_as_whoosh(snap: Snapshot, query: str) -> None:
    """Same hits, scores, order, fragments, totals and suggestions as Whoosh scoring the
    same parsed query, under every filter and limit."""
    for filters in FILTERS:
        for limit in (1, 2, 10):
            fast = snap.search(query, filters, limit=limit)
            slow = snap.search(query, filters, limit=limit, whoosh=True)
            assert (fast.engine, slow.engine) == ("compiled", "whoosh")
            same_results(fast, slow)


@pytest.mark.parametrize("query, top", [
    ("quarantined", "release-quarantined-attachments"),  # title beats body
    ("ERR_CERT_DATE_INVALID", "err-cert-date-invalid"),  # a code as a whole
    ("SAML-403", "saml-403-user-not-assigned"),  # a code the stemming analyser splits: a phrase in title/text
    ("WEBHOOK-SIG-MISMATCH", "webhook-signature-mismatch"),
    ("saml 403", "saml-403-user-not-assigned"),  # a code by its parts
    ("CERT_DATE", "err-cert-date-invalid"),
    ("sig mismatch", "webhook-signature-mismatch"),
])
def test_compiled_path_keeps_boosts_and_codes(snap: Snapshot, query: str, top: str) -> None:
    r = snap.search(query)
    assert r.engine == "compiled" and ids(r)[0] == top == ids(snap.search(query, whoosh=True))[0]


def test_title_boost_holds_on_the_compiled_path(snap: Snapshot) -> None:
    r = snap.search("quarantined")
    title_hit, body_hit = r.hits[0], r.hits[1]
    assert r.engine == "compiled" and (title_hit.id, body_hit.id) == ("release-quarantined-attachments", "attachment-scanning")
    assert title_hit.score > body_hit.score > 0


# Syntax whose parsed query is still an OR of term and phrase queries on the scored fields,
# with the parser's boosts: the compiled scorer reproduces Whoosh exactly.
COMPILED_SYNTAX_QUERIES = [
    "(webhook timeout)", "((webhook) (timeout receiver))", "webhook OR signature", "webhook OR signature OR okta",
    "(webhook OR (timeout receiver))", "invoice OR refund days", "webhook OR", "OR webhook", "(webhook", "webhook)",
    "title:signature", "title:quarantined", "text:webhook", "text:quarantined attachment", "title:quarantined text:attachment",
    "title:(webhook timeout)", "text:(invoice OR refund)", "error_code:ERR_CERT_DATE_INVALID", "error_code:saml-403",
    "error_parts:cert", "error_parts:cert date", "error_parts:(saml 403) okta", "title:zzzunknown", "(SAML-403)",
    "title:SAML-403", "text:saml-403 okta", "(WEBHOOK-SIG-MISMATCH OR webhook-timeout)", "NET::ERR_CERT_DATE_INVALID",
    "webhook:timeout", "title:",
]


# Syntax the compiled scorer cannot reproduce: Whoosh scores it.
WHOOSH_SYNTAX_QUERIES = [
    '"signature verification"', '"webhook"', "'webhook timeout'", "webhook AND signature", "webhook NOT timeout",
    "webhook ANDNOT timeout", "webhook ANDMAYBE timeout", "(webhook AND signature) OR okta", "quarantin*",
    "title:quarant*", "webhok~", "title:webhok~", "webhook^2", "title:webhook^4", "(webhook timeout)^2", "invo?ce",
    "*", "title:*", "type:runbook", "type:runbook webhook", "webhook OR type:runbook", "status:published",
    "summary:webhook", "body:webhook", "aliases:webhook", "tags:invoices", "[a TO c]", "title:[a TO c]", "()",
]


def raw_scores(monkeypatch: pytest.MonkeyPatch):
    """The unrounded (id, score) of every hit a search builds (`Hit.score` is rounded)."""
    seen: list[tuple[str, float]] = []
    real = index_query._hit

    def spy(fields, score, *args):
        seen.append((fields["id"], float(score)))
        return real(fields, score, *args)

    monkeypatch.setattr(index_query, "_hit", spy)
    return seen


@pytest.mark.parametrize("query", COMPILED_SYNTAX_QUERIES)
def test_syntax_that_parses_to_plain_words_takes_the_compiled_path(snap: Snapshot, query: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups, OR and field:word on a scored field: the compiled path, with Whoosh's ids,
    scores (unrounded, to 1e-6), order, fragments, totals and suggestions."""
    seen = raw_scores(monkeypatch)
    for filters in FILTERS:
        for limit in (1, 3, 10):
            seen.clear()
            fast = snap.search(query, filters, limit=limit)
            fast_raw = list(seen)
            seen.clear()
            slow = snap.search(query, filters, limit=limit, whoosh=True)
            assert (fast.engine, slow.engine) == ("compiled", "whoosh")
            same_results(fast, slow)
            assert len(fast_raw) == len(fast.hits) and len(seen) == len(slow.hits)  # the spy saw every hit
            assert [i for i, _ in fast_raw] == [i for i, _ in seen]
            assert [sc for _, sc in fast_raw] == pytest.approx([sc for _, sc in seen], abs=1e-6)


def test_field_word_keeps_the_field_unboosted(snap: Snapshot) -> None:
    """`title:word` is a title term of boost 1 (not the title's 4) in Whoosh: so too compiled."""
    plain, one = snap.search("quarantined", limit=1), snap.search("title:quarantined", limit=1)
    assert (plain.engine, one.engine) == ("compiled", "compiled")
    assert ids(plain) == ids(one) == ["release-quarantined-attachments"]
    assert one.hits[0].score < plain.hits[0].score
    assert snap.search("title:quarantined", limit=5).total < snap.search("quarantined", limit=5).total


@pytest.mark.parametrize("query", WHOOSH_SYNTAX_QUERIES)
def test_syntax_queries_go_through_whoosh(built: tuple[Path, Path], query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Index(built[1]).open()
    try:
        monkeypatch.setattr(Snapshot, "_search_plain", lambda *a, **k: pytest.fail("compiled path used"))
        for filters in (None, Filters(include_retired=True), Filters(type="runbook")):
            r = s.search(query, filters)
            assert r.engine == "whoosh"
            same_results(r, s.search(query, filters, whoosh=True))
    finally:
        s.close()


@pytest.mark.parametrize("query", [q for q in WHOOSH_SYNTAX_QUERIES if not index_query.WHOOSH_ONLY.search(q)])
def test_plan_refuses_what_it_cannot_reproduce(snap: Snapshot, query: str) -> None:
    """Past the text gate (quotes, `^`, ranges), the parsed query decides."""
    assert snap.plain_words().plan(snap.parse(query)) is None


def test_plan_refuses_boosts_even_past_the_text_gate(snap: Snapshot) -> None:
    assert snap.plain_words().plan(snap.parse("webhook^2")) is None
    assert snap.plain_words().plan(snap.parse("(webhook timeout)^2")) is None
    assert snap.plain_words().plan(snap.parse("title:webhook^3")) is None


def test_compiled_path_agrees_on_a_bigger_kb(tmp_path: Path, article: Callable[..., Path],
                                             make_kb: Callable[[Path], Path],
                                             generate_articles: Callable[[Path, int], None]) -> None:
    """Long fields (Whoosh stores lengths above 32 approximately), many documents sharing
    words, ties, split words whose parts occur apart: the compiled path still gives
    Whoosh's scores and order."""
    kb = make_kb(tmp_path / "kb")
    generate_articles(kb, 120)
    long_text = " ".join(f"tango uniform delta word{i % 37}" for i in range(300))
    article(kb, "long-article", "Long article about tango", product="platform", intro=long_text,
            aliases=("tango delta runbook",))
    article(kb, "saml-and-403-apart", "SAML notes", product="sso",
            intro="The SAML flow can end with HTTP 403 for other reasons: tango-uniform, alpha-bravo.")
    Index(tmp_path / "ix").build(load_kb(kb))
    s = Index(tmp_path / "ix").open()
    try:
        for query in ("tango", "alpha bravo", "tango uniform delta", "restart golf", "generated article",
                      "token42", "check hotel 7", "sierra webhook invoice", "word3 tango", "SAML-403",
                      "tango-uniform", "alpha-bravo", "bravo-alpha", "uniform-tango delta",
                      # syntax that parses to the same kind of query
                      "(tango uniform) OR delta", "title:tango text:delta", "text:(alpha-bravo OR word3)",
                      "title:(generated article) golf"):
            for filters in (None, Filters(product="platform"), Filters(tag="alpha"), Filters(type="howto")):
                fast, slow = s.search(query, filters, limit=20), s.search(query, filters, limit=20, whoosh=True)
                assert fast.engine == "compiled"
                same_results(fast, slow)
        assert "saml-and-403-apart" not in ids(s.search("SAML-403", limit=100))  # "saml" and "403", not "saml 403"
        assert "saml-and-403-apart" in ids(s.search("saml 403", limit=100))
    finally:
        s.close()


def test_rows_of_whoosh_documents_after_incremental_updates(fresh: tuple[Path, Path, Config],
                                                            article: Callable[..., Path]) -> None:
    """Whoosh's phrase matcher answers in document numbers; after incremental builds they
    span several segments and deleted documents, and still map to the right articles."""
    kb, ix, _ = fresh
    p = kb / "articles" / "invoice-download.md"
    for i in range(3):
        p.write_text(p.read_text().replace("Click the invoice", f"Click the invoice {i}"))
        article(kb, f"zanzibar-{i}", f"Zanzibar export fails with SAML-403 ({i})", type="faq", product="data")
        Index(ix).build(load_kb(kb))
    s = Index(ix).open()
    try:
        searcher = s._searcher
        reader = searcher.reader()
        assert reader.doc_count_all() > reader.doc_count()  # deleted documents still numbered
        plain = s.plain_words()
        rows = plain.rows_of_docnums(searcher)
        for docnum in range(reader.doc_count_all()):
            if reader.is_deleted(docnum):
                assert rows[docnum] == -1
            else:
                assert plain.ids[rows[docnum]] == searcher.stored_fields(docnum)["id"]
        fast, slow = s.search("SAML-403"), s.search("SAML-403", whoosh=True)
        assert fast.engine == "compiled" and fast.total == slow.total == 4
        # (scores differ slightly: Whoosh counts the deleted documents in its statistics)
        assert ids(fast) == ids(slow) and ids(fast)[0] == "saml-403-user-not-assigned"
    finally:
        s.close()


def test_compiled_path_sees_incremental_updates(fresh: tuple[Path, Path, Config], article: Callable[..., Path]) -> None:
    kb, ix, cfg = fresh
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice and pick zanzibar format."))
    article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data", tags=("exports",))
    (kb / "articles" / "attachment-scanning.md").unlink()
    update_index(cfg)
    s = Index(ix).open()
    try:
        r = s.search("zanzibar")
        assert r.engine == "compiled" and ids(r) == ["zanzibar-export", "invoice-download"] and r.total == 2
        assert ids(s.search("quarantined")) == ["release-quarantined-attachments"]
        assert ids(s.search("zanzibar", Filters(tag="exports"))) == ["zanzibar-export"]
        assert [h.id for h in s.search("zanzibar", whoosh=True).hits] == ids(r)
    finally:
        s.close()
