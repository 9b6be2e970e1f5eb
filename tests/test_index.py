"""The Whoosh index and `search()` on real indexes in temp dirs (issue 4).

Every test builds small KBs that follow docs/authoring-sample-kb.md. The read-only
tests share one index (module fixture); tests that edit the KB or the index get their
own copy.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from kbtool import index as kbindex
from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import (
    FORWARD, MANIFEST, BadQuery, Filters, Index, IndexBusy, IndexProblem, Snapshot, current_build, search,
    update_index,
)

REPO = Path(__file__).resolve().parents[1]

# --- a small KB that follows the content contract ------------------------------------------

SECTIONS = {
    "troubleshooting": ("Symptoms", "Cause", "Resolution"),
    "known-issue": ("Symptoms", "Cause", "Workaround", "Status"),
    "howto": ("Steps",),
    "runbook": ("When to use", "Prerequisites", "Steps", "Verification", "Escalation"),
}


def write_article(kb: Path, id: str, title: str, *, type: str = "troubleshooting", status: str = "published",
                  audience: str | None = None, product: str = "api", tags: tuple[str, ...] = (),
                  error_codes: tuple[str, ...] = (), aliases: tuple[str, ...] = (), summary: str | None = None,
                  intro: str = "", sections: dict[str, str] | None = None, replaced_by: str | None = None,
                  owner: str = "support-team") -> Path:
    """One Markdown article (or runbook, by type) with valid front-matter and its sections."""
    folder = "runbooks" if type == "runbook" else "articles"
    audience = audience or ("internal" if type == "runbook" else "public")
    lines = [
        "---", f"id: {id}", f"title: {json.dumps(title)}", f"type: {type}", f"status: {status}",
        f"audience: {audience}", f"owner: {owner}", f"summary: {json.dumps(summary or 'What to do about ' + title.lower() + '.')}",
        f"product: {product}", f"tags: [{', '.join(tags)}]", "created: 2025-03-14", "last_reviewed: 2026-09-02",
    ]
    if error_codes:
        lines.append(f"error_codes: [{', '.join(json.dumps(c) for c in error_codes)}]")
    if aliases:
        lines.append(f"aliases: [{', '.join(json.dumps(a) for a in aliases)}]")
    if replaced_by:
        lines.append(f"replaced_by: {replaced_by}")
    lines.append("---")
    body = [intro or f"This article is about {title.lower()}."]
    for heading in SECTIONS.get(type, ()):
        text = (sections or {}).get(heading) or f"Details for {heading.lower()}."
        if heading == "Steps" and not text.lstrip().startswith("1."):
            text = f"1. {text}\n2. Check the result."
        body.append(f"## {heading}\n\n{text}")
    for heading, text in (sections or {}).items():
        if heading not in SECTIONS.get(type, ()):
            body.append(f"## {heading}\n\n{text}")
    path = kb / folder / f"{id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
    return path


def make_kb(kb: Path) -> Path:
    """The shared test corpus: webhooks, SSO, a browser error, billing with every status and
    audience, two articles for the title-boost check and one for spelling."""
    write_article(
        kb, "webhook-delivery-timeouts", "Webhook deliveries time out", product="webhooks",
        tags=("webhooks", "delivery"), error_codes=("WEBHOOK-TIMEOUT",), aliases=("webhooks not arriving",),
        summary="Fix webhooks that fail with WEBHOOK-TIMEOUT because the receiver answers too slowly.",
        intro="Orbit waits 10 seconds for your endpoint to answer each webhook delivery.",
        sections={"Symptoms": "The delivery log shows `WEBHOOK-TIMEOUT: No response within 10 seconds` for webhooks.",
                  "Cause": "The receiver processes the payload before it answers, so the request hits the timeout.",
                  "Resolution": "1. Answer with HTTP 200 first.\n2. Process webhooks asynchronously from a queue."})
    write_article(
        kb, "webhook-signature-mismatch", "Webhook signature verification fails", product="webhooks",
        tags=("webhooks", "security"), error_codes=("WEBHOOK-SIG-MISMATCH",),
        intro="Each webhook carries an HMAC signature computed with the endpoint secret.",
        sections={"Symptoms": "Your handler rejects webhooks with `WEBHOOK-SIG-MISMATCH`.",
                  "Cause": "A middleware parsed the raw body, or the endpoint secret is from staging.",
                  "Resolution": "1. Verify the signature over the raw body.\n2. Copy the secret of this endpoint."})
    write_article(
        kb, "webhook-backlog-drain", "Drain a webhook backlog", type="runbook", product="webhooks",
        tags=("webhooks", "queue"),
        intro="Webhooks queue per endpoint; drain webhooks slowly so receivers recover.",
        sections={"When to use": "The webhooks queue age alert fires.", "Prerequisites": "orbitctl access.",
                  "Steps": "1. Pause the webhooks queue.\n2. Resume at 10 webhooks per second.",
                  "Verification": "The queue age is back under one minute.", "Escalation": "Page platform-oncall."})
    write_article(
        kb, "saml-403-user-not-assigned", "SSO sign-in fails with SAML-403: user not assigned", product="sso",
        tags=("sso", "saml", "login"), error_codes=("SAML-403",), aliases=("sso access denied",),
        sections={"Symptoms": "Orbit shows `SAML-403: User is not assigned to this application.`",
                  "Cause": "The user is not assigned to the Orbit app in the identity provider.",
                  "Resolution": "1. Assign the app to the user in Okta.\n2. Sign in again."})
    write_article(
        kb, "err-cert-date-invalid", "Browser shows NET::ERR_CERT_DATE_INVALID", product="browser",
        tags=("browser", "tls"), error_codes=("ERR_CERT_DATE_INVALID",),
        sections={"Symptoms": "Chrome shows `NET::ERR_CERT_DATE_INVALID` on app.orbit.example.",
                  "Cause": "The device clock is wrong, or a proxy re-signs traffic with an expired certificate.",
                  "Resolution": "1. Set the clock automatically.\n2. Update the proxy certificate."})
    # Title boost: "quarantined" is in one title, and only in the other one's body (twice).
    write_article(
        kb, "release-quarantined-attachments", "Release quarantined attachments", type="howto", product="data",
        tags=("attachments",), intro="Admins can review files held by the scanner.",
        sections={"Steps": "1. Open **Admin console > Security > Files**.\n2. Select the file and click **Release**."})
    write_article(
        kb, "attachment-scanning", "How attachment scanning works", type="faq", product="data", tags=("attachments",),
        intro="Every upload is scanned for malware before other members can open it.",
        sections={"What happens to a flagged file": "A flagged file is quarantined. Quarantined files stay hidden "
                                                    "until an admin reviews them."})
    # Spelling: "databases" is more frequent than "database"; "webhooks" more than "webhook".
    write_article(
        kb, "reporting-databases-maintenance", "Maintenance of the reporting databases", type="known-issue",
        product="platform", tags=("maintenance",),
        intro="The reporting databases are read replicas. The primary database is not affected.",
        sections={"Symptoms": "Dashboards load slowly while the databases are resynced.",
                  "Cause": "Nightly maintenance of the reporting databases.",
                  "Workaround": "Run large reports after 06:00 UTC.", "Status": "Fix planned for release 2026.12."})
    # Billing, one article per status and audience.
    write_article(kb, "invoice-download", "Download invoices as PDF", type="howto", product="billing",
                  tags=("billing", "invoices"), sections={"Steps": "1. Open **Billing > Invoices**.\n2. Click the invoice."})
    write_article(kb, "invoice-numbering-draft", "Invoice numbering policy", type="faq", status="draft",
                  product="billing", tags=("billing",), intro="How each invoice gets its number.")
    write_article(kb, "invoice-legacy-portal", "Download invoices from the legacy portal", type="howto",
                  status="retired", product="billing", tags=("billing", "invoices"), replaced_by="invoice-download",
                  sections={"Steps": "1. Open the legacy portal.\n2. Download the invoice."})
    write_article(kb, "invoice-refund-internal", "Refund an invoice", type="faq", status="in-review",
                  audience="internal", product="billing", tags=("billing", "refunds"),
                  intro="Support may refund an invoice within 30 days.")
    write_article(kb, "billing-dispute-handling", "Handle a billing dispute", type="runbook", product="billing",
                  tags=("billing",), intro="A customer disputes an invoice or a card charge.")
    return kb


LIVE_IDS = 11  # indexed and visible by default (13 minus the draft and the retired one)


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("kb-shared")
    kb = make_kb(root / "kb")
    Index(root / "index").build(load_kb(kb))
    return kb, root / "index"


@pytest.fixture(scope="module")
def snap(built: tuple[Path, Path]) -> Snapshot:
    s = Index(built[1]).open()
    yield s
    s.close()


@pytest.fixture()
def fresh(tmp_path: Path) -> tuple[Path, Path, Config]:
    """A KB and its index of this test's own (to edit), and a Config pointing at both."""
    kb = make_kb(tmp_path / "kb")
    ix = tmp_path / "index"
    Index(ix).build(load_kb(kb))
    cfg = Config(root=tmp_path, kb=kb.resolve(), index_dir=ix, site_dir=tmp_path / "site",
                 mkdocs_yml=tmp_path / "mkdocs.yml")
    return kb, ix, cfg


# --- ranking: boosts and error codes -------------------------------------------------------


def test_title_match_outranks_body_only_match(snap: Snapshot) -> None:
    r = snap.search("quarantined")
    assert ids(r)[:2] == ["release-quarantined-attachments", "attachment-scanning"]
    assert r.hits[0].score > r.hits[1].score > 0


def test_a_word_found_in_one_field_still_scores(snap: Snapshot) -> None:
    # Whoosh's coordination scaling scored such hits 0 (ranking them arbitrarily).
    r = snap.search("okta")
    assert ids(r) == ["saml-403-user-not-assigned"] and r.hits[0].score > 0


@pytest.mark.parametrize("query", ["SAML-403", "saml-403", "error_code:SAML-403"])
def test_error_code_matches_as_a_whole(snap: Snapshot, query: str) -> None:
    assert ids(snap.search(query))[0] == "saml-403-user-not-assigned"


def test_underscore_error_code_matches_as_a_whole(snap: Snapshot) -> None:
    r = snap.search("ERR_CERT_DATE_INVALID")
    assert ids(r)[0] == "err-cert-date-invalid"
    assert ids(snap.search("NET::ERR_CERT_DATE_INVALID"))[0] == "err-cert-date-invalid"


@pytest.mark.parametrize("query, expected", [
    ("403", "saml-403-user-not-assigned"),
    ("saml 403", "saml-403-user-not-assigned"),
    ("CERT_DATE", "err-cert-date-invalid"),
    ("cert date invalid", "err-cert-date-invalid"),
    ("sig mismatch", "webhook-signature-mismatch"),
])
def test_error_code_matches_by_its_parts(snap: Snapshot, query: str, expected: str) -> None:
    assert ids(snap.search(query))[0] == expected


# --- filters ---------------------------------------------------------------------------------


def test_default_filters_exclude_drafts_and_retired(snap: Snapshot) -> None:
    r = snap.search("invoice")
    assert set(ids(r)) == {"invoice-download", "invoice-refund-internal", "billing-dispute-handling"}
    assert r.total == 3


def test_include_retired_shows_replaced_by(snap: Snapshot) -> None:
    r = snap.search("invoice", Filters(include_retired=True))
    hit = next(h for h in r.hits if h.id == "invoice-legacy-portal")
    assert hit.status == "retired" and hit.replaced_by == "invoice-download"
    assert "invoice-numbering-draft" not in ids(r)  # retired added, drafts still out


def test_all_statuses(snap: Snapshot) -> None:  # what `--all` asks for
    r = snap.search("invoice", Filters(status=None, include_retired=True))
    assert {"invoice-numbering-draft", "invoice-legacy-portal"} <= set(ids(r))


@pytest.mark.parametrize("filters, expected", [
    (Filters(type="runbook"), {"billing-dispute-handling"}),
    (Filters(status=("draft",)), {"invoice-numbering-draft"}),
    (Filters(status=("in-review",)), {"invoice-refund-internal"}),
    (Filters(audience="public"), {"invoice-download"}),
    (Filters(audience="internal"), {"invoice-refund-internal", "billing-dispute-handling"}),
    (Filters(product="webhooks"), set()),
    (Filters(tag="invoices"), {"invoice-download"}),
    (Filters(tag="INVOICES"), {"invoice-download"}),
    (Filters(type="faq", status=("draft", "in-review")), {"invoice-numbering-draft", "invoice-refund-internal"}),
])
def test_filters(snap: Snapshot, filters: Filters, expected: set[str]) -> None:
    r = snap.search("invoice", filters)
    assert set(ids(r)) == expected and r.total == len(expected)


def test_total_counts_only_documents_the_filters_let_through(snap: Snapshot) -> None:
    everything = snap.search("invoice", Filters(status=None), limit=100).total
    r = snap.search("invoice", limit=1)  # fewer hits than matches: the total is counted separately
    assert len(r.hits) == 1 and r.total == 3 < everything == 5


# --- query syntax ------------------------------------------------------------------------------


def test_phrase(snap: Snapshot) -> None:
    assert ids(snap.search('"signature verification"')) == ["webhook-signature-mismatch"]
    assert ids(snap.search('"verification signature"')) == []


def test_phrase_over_error_code_words_does_not_crash(snap: Snapshot) -> None:
    # The error-code fields have no positions: Whoosh raised QueryError for such phrases.
    assert ids(snap.search('"cert date"'))[0] == "err-cert-date-invalid"
    assert "webhook-signature-mismatch" in ids(snap.search('"webhook sig"'))


def test_and(snap: Snapshot) -> None:
    assert ids(snap.search("webhook AND signature")) == ["webhook-signature-mismatch"]


def test_not_excludes(snap: Snapshot) -> None:
    # With OR grouping Whoosh read "a NOT b" as "a OR (NOT b)": every document without b.
    r = snap.search("webhook NOT timeout")
    assert set(ids(r)) == {"webhook-signature-mismatch", "webhook-backlog-drain"}
    assert snap.search("attachments NOT discount").total == 2  # NOT a missing word divided by zero


def test_field_value(snap: Snapshot) -> None:
    assert ids(snap.search("title:signature")) == ["webhook-signature-mismatch"]
    assert set(ids(snap.search("type:runbook"))) == {"webhook-backlog-drain", "billing-dispute-handling"}
    assert ids(snap.search("symptoms:dashboards")) == ["reporting-databases-maintenance"]


def test_wildcards(snap: Snapshot) -> None:
    assert set(ids(snap.search("quarantin*"))) == {"release-quarantined-attachments", "attachment-scanning"}
    r = snap.search("*", limit=100)
    assert r.total == LIVE_IDS and len(r.hits) == LIVE_IDS


@pytest.mark.parametrize("query", ["created:notadate", "last_reviewed:[soon TO later]"])
def test_bad_query_raises(snap: Snapshot, query: str) -> None:
    with pytest.raises(BadQuery) as e:
        snap.search(query)
    assert isinstance(e.value, ValueError) and str(e.value)


# --- highlighting and did-you-mean --------------------------------------------------------------


def test_fragment_highlights_matched_words(snap: Snapshot) -> None:
    hit = snap.search("receiver payload").hits[0]
    assert hit.id == "webhook-delivery-timeouts"
    assert "**receiver**" in hit.fragment and "**payload**" in hit.fragment


def test_fragment_highlights_error_code_found_by_code_field(snap: Snapshot) -> None:
    frag = snap.search("SAML-403").hits[0].fragment
    assert "**SAML**-**403**" in frag


def test_fragment_markup_ansi(snap: Snapshot) -> None:
    frag = snap.search("receiver", markup="ansi").hits[0].fragment
    assert "\033[1;33mreceiver\033[0m" in frag and "**" not in frag


@pytest.mark.parametrize("query, suggestion", [
    ("webhok", "webhook"),
    ("databse", "database"),  # not the stem "databas", not the commoner "databases"
    ("title:webhok", "title:webhook"),
    ("webhok timeout", "webhook timeout"),
])
def test_did_you_mean_from_unstemmed_field(snap: Snapshot, query: str, suggestion: str) -> None:
    assert snap.search(query).did_you_mean == suggestion


def test_no_did_you_mean_for_good_results(snap: Snapshot) -> None:
    assert snap.search("webhook").did_you_mean is None


# --- plain words: the compiled scorer against Whoosh's own scoring ------------------------------

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
    real = kbindex._hit

    def spy(fields, score, *args):
        seen.append((fields["id"], float(score)))
        return real(fields, score, *args)

    monkeypatch.setattr(kbindex, "_hit", spy)
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


@pytest.mark.parametrize("query", [q for q in WHOOSH_SYNTAX_QUERIES if not kbindex._WHOOSH_ONLY.search(q)])
def test_plan_refuses_what_it_cannot_reproduce(snap: Snapshot, query: str) -> None:
    """Past the text gate (quotes, `^`, ranges), the parsed query decides."""
    assert snap.plain_words().plan(snap.parse(query)) is None


def test_plan_refuses_boosts_even_past_the_text_gate(snap: Snapshot) -> None:
    assert snap.plain_words().plan(snap.parse("webhook^2")) is None
    assert snap.plain_words().plan(snap.parse("(webhook timeout)^2")) is None
    assert snap.plain_words().plan(snap.parse("title:webhook^3")) is None


def test_compiled_path_agrees_on_a_bigger_kb(tmp_path: Path) -> None:
    """Long fields (Whoosh stores lengths above 32 approximately), many documents sharing
    words, ties, split words whose parts occur apart: the compiled path still gives
    Whoosh's scores and order."""
    kb = make_kb(tmp_path / "kb")
    generate_articles(kb, 120)
    long_text = " ".join(f"tango uniform delta word{i % 37}" for i in range(300))
    write_article(kb, "long-article", "Long article about tango", product="platform", intro=long_text,
                  aliases=("tango delta runbook",))
    write_article(kb, "saml-and-403-apart", "SAML notes", product="sso",
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


def test_rows_of_whoosh_documents_after_incremental_updates(fresh: tuple[Path, Path, Config]) -> None:
    """Whoosh's phrase matcher answers in document numbers; after incremental builds they
    span several segments and deleted documents, and still map to the right articles."""
    kb, ix, _ = fresh
    p = kb / "articles" / "invoice-download.md"
    for i in range(3):
        p.write_text(p.read_text().replace("Click the invoice", f"Click the invoice {i}"))
        write_article(kb, f"zanzibar-{i}", f"Zanzibar export fails with SAML-403 ({i})", type="faq", product="data")
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


def test_compiled_path_sees_incremental_updates(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice and pick zanzibar format."))
    write_article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data", tags=("exports",))
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


def test_forward_index_without_search_fields_gives_a_clear_message(fresh: tuple[Path, Path, Config]) -> None:
    import numpy as np

    _, ix, _ = fresh
    path = current_build(ix) / FORWARD
    with np.load(path) as z:
        kept = {k: z[k] for k in z.files if not k.startswith("search_")}
    with open(path, "wb") as fh:
        np.savez(fh, **kept)
    s = Index(ix).open()
    try:
        with pytest.raises(IndexProblem, match=r"forward index .* unreadable.*Run `kbtool index --rebuild`"):
            s.search("webhook")
        assert ids(s.search('"signature verification"')) == ["webhook-signature-mismatch"]  # Whoosh still answers
    finally:
        s.close()


def test_highlighter_analyzer_is_the_stemming_analyzer() -> None:
    """Fragments tokenise with a memoised copy of the stemming analyser's filters: the same
    tokens, so the same highlighted passages (both search paths use it)."""
    from whoosh import highlight

    def tokens(analyzer, text: str) -> list[tuple[object, ...]]:
        return [(t.text, t.startchar, t.endchar, t.stopped, t.boost)
                for t in analyzer(text, chars=True, mode="query", removestops=False)]

    memo = kbindex._MemoAnalyzer(kbindex._stem())
    reference = kbindex._stem()
    texts = [a.text + "\n" + a.title + " " + a.summary for a in load_kb(REPO / "kb").valid_articles]
    texts += ["Ünïcode café naïve ß straße v1.2.3 e-mail sign-in SAML-403 ERR_CERT_DATE_INVALID the a I x"]
    frag, fmt = highlight.ContextFragmenter(maxchars=220, surround=70), kbindex._MarkerFormatter()
    terms = frozenset(["saml", "403", "webhook", "token", "sign", "cafe", "invoic"])
    best = kbindex._FIRST_BEST  # (Whoosh's own scorer breaks ties by memory address)
    for text in texts * 2:  # the second round reads from the memo
        assert tokens(memo, text) == tokens(reference, text)
        assert (highlight.highlight(text, terms, memo, frag, fmt, scorer=best)
                == highlight.highlight(text, terms, reference, frag, fmt, scorer=best))
    assert [t.text for t in memo("The webhooks")] == ["webhook"]  # stop words dropped: the analyser itself


def test_fragment_ties_go_to_the_earlier_passage() -> None:
    from whoosh import highlight

    text = " ".join(f"Sentence {i} mentions the webhook once and then talks about other things at length." for i in range(12))
    frag, fmt = highlight.ContextFragmenter(maxchars=100, surround=20), kbindex._MarkerFormatter()
    outs = {highlight.highlight(text, frozenset(["webhook"]), kbindex._stem(), frag, fmt, top=1, scorer=kbindex._FIRST_BEST)
            for _ in range(20)}
    assert len(outs) == 1 and next(iter(outs)).startswith("0 mentions the **webhook**")


def test_compiled_bm25f_models() -> None:
    import numpy as np

    # two documents, two fields; term 0 in field 0 of doc 0 (twice) and in field 1 of doc 1
    doc, fld, term, count = (np.array(x) for x in ([0, 1, 1], [0, 1, 1], [0, 0, 1], [2, 1, 3]))
    lengths = np.array([[2, 0], [0, 4]])
    summed = kbindex.CompiledBM25F(doc, fld, term, count, lengths, 2, [2.0, 1.0], k1=1.2, b=0.0)
    assert summed.W.shape == (2, 2) and summed.row(1, 0) == 0
    idf0 = np.log(1 + (2 - 2 + 0.5) / (2 + 0.5))
    assert summed.score(np.array([0]), np.array([1.0])) == pytest.approx(
        [idf0 * 2.0 * 2 * 2.2 / (2 + 1.2), idf0 * 1.0 * 1 * 2.2 / (1 + 1.2)])
    fielded = kbindex.CompiledBM25F(doc, fld, term, count, lengths, 2, [2.0, 1.0], k1=1.2, b=0.0, model="whoosh")
    assert fielded.W.shape == (4, 2) and fielded.row(1, 0) == 2
    idf = np.log(2 / (1 + 1)) + 1
    assert fielded.score(np.array([0]), np.array([1.0])) == pytest.approx([2.0 * idf * 2 * 2.2 / (2 + 1.2), 0.0])
    assert list(fielded.matches(np.array([2, 3]))) == [False, True]
    only_first = kbindex.CompiledBM25F(doc, fld, term, count, lengths, 2, [1.0, 0.0], model="whoosh")
    assert only_first.W.nnz == 1  # fields weighted 0 are left out
    with pytest.raises(ValueError):
        kbindex.CompiledBM25F(doc, fld, term, count, lengths, 2, [1.0, 1.0], model="bm42")


# --- building: incremental, rebuild, manifest ------------------------------------------------------


def test_incremental_after_edit_add_delete(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    idx = Index(ix)
    first = current_build(ix)
    rep = idx.build(load_kb(kb))
    assert (rep.added, rep.updated, rep.removed, rep.unchanged, rep.full) == (0, 0, 0, 13, False)
    assert current_build(ix) == first  # nothing changed: no new build

    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice and pick zanzibar format."))
    write_article(kb, "export-audit-log", "Export the audit log", type="howto", product="admin",
                  sections={"Steps": "1. Open **Admin console > Audit log**.\n2. Click **Export** (zanzibar)."})
    (kb / "articles" / "attachment-scanning.md").unlink()
    rep = idx.build(load_kb(kb))
    assert (rep.added, rep.updated, rep.removed, rep.unchanged, rep.full) == (1, 1, 1, 11, False)
    assert "1 added, 1 updated, 1 removed, 11 unchanged" in rep.summary()


def test_incremental_results_change(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    idx = Index(ix)
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice and pick zanzibar format."))
    write_article(kb, "export-audit-log", "Export the audit log", type="howto", product="admin",
                  sections={"Steps": "1. Open **Admin console > Audit log**.\n2. Click **Export** (zanzibar)."})
    (kb / "articles" / "attachment-scanning.md").unlink()
    idx.build(load_kb(kb))
    s = idx.open()
    try:
        assert set(ids(s.search("zanzibar"))) == {"invoice-download", "export-audit-log"}
        assert ids(s.search("quarantined")) == ["release-quarantined-attachments"]
        assert s.doc_count == 13
        fwd = s.forward()
        assert {d["id"] for d in fwd.docs} >= {"export-audit-log"} and "attachment-scanning" not in {d["id"] for d in fwd.docs}
        assert len(fwd.docs) == fwd.lengths.shape[0] == 13
    finally:
        s.close()


def test_rename_keeps_id_once(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    (kb / "articles" / "invoice-download.md").rename(kb / "articles" / "old-invoice-download.md")
    # file name != id is a lint error, not a load error: it stays valid and indexed under its id
    rep = Index(ix).build(load_kb(kb))
    assert (rep.added, rep.removed) == (1, 1)
    s = Index(ix).open()
    try:
        r = s.search("pdf")
        assert ids(r) == ["invoice-download"] and r.hits[0].path == "articles/old-invoice-download.md"
    finally:
        s.close()


def test_rebuild_is_full(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    rep = Index(ix).build(load_kb(kb), rebuild=True)
    assert rep.full and rep.added == 13 and rep.unchanged == 0


def test_update_index_parses_only_changed_files(fresh: tuple[Path, Path, Config], monkeypatch: pytest.MonkeyPatch) -> None:
    kb, ix, cfg = fresh
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice (zanzibar)."))
    parsed = []
    real = kbindex.load_article
    monkeypatch.setattr(kbindex, "load_article", lambda path, root: parsed.append(path.name) or real(path, root))
    monkeypatch.setattr(kbindex, "load_kb", lambda *a, **k: pytest.fail("the fast path loaded the whole KB"))
    rep = update_index(cfg)
    assert parsed == ["invoice-download.md"] and (rep.updated, rep.unchanged) == (1, 12)


def test_update_index_falls_back_to_load_kb_for_duplicate_ids(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    text = (kb / "articles" / "invoice-download.md").read_text()
    (kb / "articles" / "zz-copy.md").write_text(text.replace("Click the invoice.", "Click it (zanzibar)."))
    rep = update_index(cfg)
    assert rep.skipped == ["articles/zz-copy.md"]  # load_kb: the later file loses the id
    s = Index(ix).open()
    try:
        assert ids(s.search("zanzibar")) == []
    finally:
        s.close()


def test_invalid_file_is_skipped_and_does_not_make_the_index_stale(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    (kb / "articles" / "broken.md").write_text("---\nid: broken\ntitle: [unclosed\n---\nbody\n")
    rep = update_index(cfg)
    assert rep.skipped == ["articles/broken.md"]
    assert not Index(ix).is_stale(kb)  # it used to be stale forever, re-indexing on every search
    assert search(cfg, "webhook").updated is None


def test_manifest_records_kb_state(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    m = json.loads((current_build(ix) / MANIFEST).read_text())
    assert m["format"] == "kbtool-index" and m["kb_root"] == str(kb.resolve()) and m["doc_count"] == 13
    entry = m["files"]["articles/invoice-download.md"]
    assert entry["id"] == "invoice-download" and len(entry["hash"]) == 64


def test_builds_are_pruned(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    for _ in range(4):
        Index(ix).build(load_kb(kb), rebuild=True)
    builds = sorted(p.name for p in ix.glob("build-*"))
    assert len(builds) == kbindex.KEEP_BUILDS and current_build(ix).name in builds


# --- stale KB and search() ---------------------------------------------------------------------


def test_stale_detection_and_auto_update(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    assert not Index(ix).is_stale(kb)
    write_article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    assert Index(ix).is_stale(kb)
    r = search(cfg, "zanzibar")
    assert ids(r) == ["zanzibar-export"] and r.updated is not None and r.updated.added == 1 and not r.stale
    assert not Index(ix).is_stale(kb)


def test_touch_only_is_stale_then_cheap(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    p = kb / "articles" / "invoice-download.md"
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    assert Index(ix).is_stale(kb)
    rep = update_index(cfg)
    assert (rep.updated, rep.unchanged) == (0, 13) and not Index(ix).is_stale(kb)


def test_no_update_searches_old_index_and_flags_stale(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    write_article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    r = search(cfg, "zanzibar", auto_update=False)
    assert r.stale and r.updated is None and ids(r) == []
    assert Index(ix).is_stale(kb)


def test_deleted_file_is_stale(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    (kb / "articles" / "invoice-download.md").unlink()
    assert Index(ix).is_stale(kb)
    assert search(cfg, "pdf").hits == []


def test_search_missing_index(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "kb")
    cfg = Config(root=tmp_path, kb=kb, index_dir=tmp_path / "nothing", site_dir=tmp_path, mkdocs_yml=tmp_path)
    with pytest.raises(IndexProblem, match=r"no index at .*Run `kbtool index`"):
        search(cfg, "webhook")


# --- lock, foreign and damaged directories ------------------------------------------------------


def hold_lock(ix: Path):
    fh = open(ix / ".lock", "a+")
    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fh


def test_second_writer_gets_a_clear_message(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    before = current_build(ix)
    fh = hold_lock(ix)
    try:
        with pytest.raises(IndexBusy, match="another `kbtool index` is already updating"):
            Index(ix).build(load_kb(kb), rebuild=True)
    finally:
        fh.close()
    assert current_build(ix) == before and len(list(ix.glob("build-*"))) == 1
    Index(ix).build(load_kb(kb), rebuild=True)  # the lock is free again


def test_search_while_another_process_builds(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    write_article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    fh = hold_lock(ix)
    try:
        r = search(cfg, "webhook")  # stale, cannot update: searches what is there
    finally:
        fh.close()
    assert r.stale and r.hits and r.updated is None


def test_refuses_foreign_directory(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "kb")
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(IndexProblem, match="not a kbtool index directory.*notes.txt"):
        Index(mine).build(load_kb(kb))
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_refuses_whoosh_index_without_our_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from whoosh import index as windex
    from whoosh.fields import ID, Schema

    ix = tmp_path / "index"
    other = ix / "build-other"
    other.mkdir(parents=True)
    windex.create_in(str(other), Schema(id=ID(stored=True))).close()
    (ix / "current").symlink_to("build-other")
    # Whoosh unpickles its TOC: it must not even be opened
    monkeypatch.setattr(kbindex.windex, "open_dir", lambda *a, **k: pytest.fail("opened a foreign index"))
    with pytest.raises(IndexProblem, match=r"not a kbtool index .*refusing to open it.*--rebuild"):
        Index(ix).open()


@pytest.mark.parametrize("manifest, message", [
    ({"format": "something-else"}, "was not written by kbtool"),
    ({"format": "kbtool-index", "version": 1}, r"index format 1 is not supported.*--rebuild"),
    ("{not json", "manifest .* is unreadable"),
])
def test_refuses_other_manifests(fresh: tuple[Path, Path, Config], manifest: object, message: str) -> None:
    kb, ix, cfg = fresh
    m = current_build(ix) / MANIFEST
    m.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(IndexProblem, match=message):
        Index(ix).open()
    assert Index(ix).is_stale(kb)
    rep = update_index(cfg)  # an update rebuilds beside it
    assert rep.full and rep.added == 13 and "rebuilt from scratch" in rep.summary()
    assert ids(search(cfg, "SAML-403"))[0] == "saml-403-user-not-assigned"


def corrupt_segments(build: Path) -> None:
    for f in build.iterdir():
        if f.suffix == ".seg":
            f.write_bytes(b"\0garbage" * 1000)


def test_corrupt_index_gives_a_clear_message(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    corrupt_segments(current_build(ix))
    with pytest.raises(IndexProblem, match=r"damaged.*Run `kbtool index --rebuild`"):
        s = Index(ix).open()
        s.search("webhook")
    rep = update_index(cfg, rebuild=True)
    assert rep.full and ids(search(cfg, "SAML-403"))[0] == "saml-403-user-not-assigned"


def test_incremental_over_corrupt_index_rebuilds(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    corrupt_segments(current_build(ix))
    write_article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    rep = update_index(cfg)
    assert rep.full and "unreadable" in rep.note
    assert ids(search(cfg, "zanzibar")) == ["zanzibar-export"]


def test_corrupt_forward_index(fresh: tuple[Path, Path, Config]) -> None:
    _, ix, _ = fresh
    (current_build(ix) / FORWARD).write_bytes(b"not numpy")
    s = Index(ix).open()
    try:
        with pytest.raises(IndexProblem, match="forward index .* unreadable"):
            s.forward()
    finally:
        s.close()


# --- readers during rebuilds, killed builds --------------------------------------------------------


def test_snapshot_keeps_working_after_swaps_and_prune(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    s = Index(ix).open()
    try:
        old = s.build
        p = kb / "articles" / "invoice-download.md"
        p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice (zanzibar)."))
        Index(ix).build(load_kb(kb))
        assert current_build(ix) != old and not s.is_current(ix)
        assert ids(s.search("zanzibar")) == []  # the snapshot still sees its own build
        for _ in range(kbindex.KEEP_BUILDS + 1):  # until its directory is pruned
            Index(ix).build(load_kb(kb), rebuild=True)
        assert not old.exists()
        assert ids(s.search("SAML-403"))[0] == "saml-403-user-not-assigned"
        assert ids(Index(ix).open().search("zanzibar")) == ["invoice-download"]
    finally:
        s.close()


def test_concurrent_searches_in_threads(snap: Snapshot) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for q in ("webhook", "SAML-403", "invoice", "quarantin*", '"signature verification"'):
                assert snap.search(q).hits
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


BUILDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from kbtool.content import load_kb
    from kbtool.index import Index

    kb = load_kb(Path(sys.argv[1]))
    print("loaded", flush=True)

    def progress(done, total):
        if done % 100 == 0 or done == total:
            print(f"{done}/{total}", flush=True)

    Index(Path(sys.argv[2])).build(kb, rebuild=True, progress=progress)
    print("done", flush=True)
""")


def generate_articles(kb: Path, n: int) -> None:
    words = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
             "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
    for i in range(n):
        w = [words[(i * 7 + k * 3) % len(words)] for k in range(12)]
        write_article(kb, f"generated-{i:05d}", f"Generated {w[0]} {w[1]} article {i}", product="platform",
                      tags=(w[2],), sections={"Symptoms": " ".join(w) + f" token{i}.",
                                              "Cause": " ".join(reversed(w)) + ".",
                                              "Resolution": f"1. Restart {w[3]}.\n2. Check {w[4]} {i}."})


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["300/3000", "3000/3000"])  # adding documents / committing
def test_killed_build_leaves_previous_index_searchable(fresh: tuple[Path, Path, Config], tmp_path: Path,
                                                        kill_at: str) -> None:
    _, ix, _ = fresh
    old = current_build(ix)
    big = tmp_path / "big-kb"
    generate_articles(big, 3000)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", BUILDER, str(big), str(ix)], stdout=subprocess.PIPE, text=True, env=env)
    seen = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            seen.append(line.strip())
            if line.strip() == kill_at:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and "done" not in seen, seen[-3:]
    partial = [p for p in ix.glob("build-*") if p != old]
    assert partial and not (partial[0] / MANIFEST).exists()  # it really was mid-build
    assert current_build(ix) == old
    s = Index(ix).open()
    try:
        assert s.doc_count == 13
        assert ids(s.search("SAML-403"))[0] == "saml-403-user-not-assigned"
        assert ids(s.search("token42")) == []
    finally:
        s.close()
    # the lock died with the process; the next build cleans up the partial one
    rep = Index(ix).build(load_kb(fresh[0]))
    assert not rep.full and not any(p.exists() for p in partial)


def test_star_on_a_sparse_field_means_has_a_value(snap: Snapshot) -> None:
    assert set(ids(snap.search("error_code:*", limit=100))) == {
        "webhook-delivery-timeouts", "webhook-signature-mismatch", "saml-403-user-not-assigned", "err-cert-date-invalid"}
    assert snap.search("* NOT webhook", limit=100).total == LIVE_IDS - 3


def test_kb_file_listing_matches_content_discover(tmp_path: Path) -> None:
    from kbtool.content import discover

    kb = make_kb(tmp_path / "kb")
    (kb / "articles" / "sub" / "deeper").mkdir(parents=True)
    write_article(kb / "articles" / "sub" / "deeper", "nested", "Nested article")  # lands in .../deeper/articles
    (kb / "articles" / "notes.txt").write_text("not markdown")
    (kb / "articles" / "linked.md").symlink_to(kb / "articles" / "invoice-download.md")
    (kb / "articles" / "dangling.md").symlink_to(kb / "articles" / "gone.md")
    (kb / "runbooks" / "loop").symlink_to(kb / "runbooks", target_is_directory=True)
    files, _ = discover(kb.resolve())
    assert kbindex._kb_files(kb.resolve()) == [(p.relative_to(kb.resolve()).as_posix(), str(p)) for p in files]
