"""Suggest engine: ticket clean-up, error codes, ranking evidence, the audience guarantee, CLI.

The audience guarantee is tested as a security property over a KB (the sample KB plus
hidden articles, each carrying a unique sentinel word and error code) and hundreds of
queries. Helpers here (`make_project`, `HIDDEN`, `sentinel_queries`, ...) are shared with
test_api.py.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import SAMPLE_KB
from kbtool.cli import main
from kbtool.config import Config, load_config
from kbtool.content import load_kb
from kbtool.index import Index, current_build
from kbtool.suggest import (
    Engine, EngineHolder, Ticket, clean_ticket, extract_error_codes, html_to_text, norm_code,
)

SITE = "https://help.example.com/"


# --- shared helpers ---------------------------------------------------------------------

def write_article(kb: Path, doc_id: str, *, title: str, body: str, status: str = "published",
                  audience: str = "public", type_: str = "troubleshooting", folder: str = "articles",
                  codes: list[str] | None = None, replaced_by: str | None = None, product: str | None = None,
                  aliases: list[str] | None = None, summary: str | None = None) -> Path:
    fm = [
        "---", f"id: {doc_id}", f"title: {json.dumps(title)}", f"type: {type_}", f"status: {status}",
        f"audience: {audience}", "owner: support-team", f"summary: {json.dumps(summary or title)}",
        "created: 2026-01-05", "last_reviewed: 2026-10-01",
    ]
    if codes:
        fm.append(f"error_codes: {json.dumps(codes)}")
    if aliases:
        fm.append(f"aliases: {json.dumps(aliases)}")
    if replaced_by:
        fm.append(f"replaced_by: {replaced_by}")
    if product:
        fm.append(f"product: {product}")
    fm.append("---")
    path = kb / folder / f"{doc_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(fm) + "\n\n" + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    return path


def make_project(root: Path, copy_sample: bool = True) -> Config:
    """A project in `root`: kbtool.toml, a KB (a copy of the sample KB) and an index dir of its own."""
    root.mkdir(parents=True, exist_ok=True)
    if copy_sample:
        shutil.copytree(SAMPLE_KB / "articles", root / "kb" / "articles")
        shutil.copytree(SAMPLE_KB / "runbooks", root / "kb" / "runbooks")
    (root / "kb" / "articles").mkdir(parents=True, exist_ok=True)
    (root / "kbtool.toml").write_text(f'kb = "kb"\nindex_dir = ".kbtool/index"\nsite_url = "{SITE}"\n')
    return load_config(cwd=root)


def build(cfg: Config, rebuild: bool = False) -> Any:
    return Index.for_config(cfg).build(load_kb(cfg.kb, cfg), rebuild=rebuild)


def engine_of(cfg: Config) -> Engine:
    snap = Index.for_config(cfg).open()
    try:
        return Engine.from_snapshot(snap, cfg.site_url)
    finally:
        snap.close()


# Content no public caller may ever see, each with a word and an error code found nowhere else.
# (id -> article fields, sentinel word, sentinel code)
HIDDEN: dict[str, dict[str, Any]] = {
    "hidden-internal": dict(audience="internal", word="vexquarnal", code="SENTX-INT-701"),
    "hidden-runbook": dict(audience="internal", type_="runbook", folder="runbooks", word="runqobbler",
                           code="SENTX-RUN-702"),
    "hidden-public-runbook": dict(audience="public", type_="runbook", folder="runbooks", word="pubrunzog",
                                  code="SENTX-PRB-703"),
    "hidden-runbook-type-in-articles": dict(audience="public", type_="runbook", word="typrunzeb", code="SENTX-TRB-704"),
    "hidden-draft": dict(status="draft", word="draftzilch", code="SENTX-DRF-705"),
    "hidden-in-review": dict(status="in-review", word="revzomble", code="SENTX-REV-706"),
    "hidden-retired": dict(status="retired", word="retirquox", code="SENTX-RET-707"),
    # retired public article whose successor is internal: public callers get neither
    "hidden-retired-to-internal": dict(status="retired", replaced_by="hidden-internal", word="succintrax",
                                       code="SENTX-RTI-708"),
    # retired internal article whose successor is public: its words must not lead public callers anywhere
    "hidden-internal-retired": dict(status="retired", audience="internal", replaced_by="reset-password",
                                    word="intretwux", code="SENTX-IRT-709"),
    # retired public article whose successor is a draft
    "hidden-retired-to-draft": dict(status="retired", replaced_by="hidden-draft", word="drasucfen",
                                    code="SENTX-RTD-710"),
}
# A legitimate public succession: retired public -> published public (the successor may be returned).
OLD_PUBLIC = dict(id="old-webhook-guide", word="oldhookzap", code="SENTX-OLD-711", successor="webhook-delivery-failures")
SENTINEL_WORDS = [h["word"] for h in HIDDEN.values()] + [OLD_PUBLIC["word"]]


def add_hidden_articles(kb: Path) -> None:
    for doc_id, h in HIDDEN.items():
        h = dict(h)
        word, code = h.pop("word"), h.pop("code")
        write_article(
            kb, doc_id, title=f"Fix {word} errors in the workspace export", codes=[code], product="data",
            aliases=[f"{word} failure", f"{word.upper()} problem"], summary=f"How to resolve {word} ({code}).",
            body=f"""
                Intro about {word}: exports, webhooks, SSO and invoices all mention {word}.

                ## Symptoms

                The page shows `{code}: {word} failed` when you export tasks or sign in with SAML.

                ## Cause

                The {word} subsystem rejects the request.

                ## Resolution

                1. Open Admin console and reset {word}.
                2. Retry the export. If {code} persists, contact Support.

                ## Steps

                Do the {word} steps.
            """, **h)
    write_article(kb, OLD_PUBLIC["id"], title=f"Old webhook troubleshooting ({OLD_PUBLIC['word']})", status="retired",
                  replaced_by=OLD_PUBLIC["successor"], codes=[OLD_PUBLIC["code"]],
                  body=f"""
                      Retired guide about {OLD_PUBLIC['word']} webhook failures.

                      ## Symptoms

                      Deliveries fail with {OLD_PUBLIC['code']} ({OLD_PUBLIC['word']}).

                      ## Cause

                      Old endpoint.

                      ## Resolution

                      See the new guide.
                  """)


def non_public_ids(kb_root: Path) -> set[str]:
    kb = load_kb(kb_root)
    return {a.id for a in kb.articles if not a.is_public}


def retired_public_ids(kb_root: Path) -> set[str]:
    """Retired articles a public caller may see named in why.replaces (they were public)."""
    kb = load_kb(kb_root)
    return {a.id for a in kb.articles if a.status == "retired" and a.audience == "public" and a.kind != "runbook"}


def public_codes(kb_root: Path) -> set[str]:
    """Error codes a public answer may name: those of public articles and of retired public ones."""
    ok = retired_public_ids(kb_root)
    return {norm_code(c) for a in load_kb(kb_root).articles if a.is_public or a.id in ok for c in a.error_codes}


def sentinel_queries(kb_root: Path, n_random: int = 150, seed: int = 5) -> list[Ticket]:
    """Hundreds of public tickets aimed at hidden content: sentinels, their codes in every spelling,
    hidden titles and bodies, mixtures with real words, every sample-KB title, random word soups."""
    rng = random.Random(seed)
    kb = load_kb(kb_root)
    hidden = [a for a in kb.articles if not a.is_public]
    words = sorted({w for a in kb.articles for w in re.findall(r"[A-Za-z][a-z]{3,}", a.text)})
    out: list[Ticket] = []
    for h in list(HIDDEN.values()) + [OLD_PUBLIC]:
        w, c = h["word"], h["code"]
        for s in (w, w.upper(), f"{w} failed", c, c.lower(), c.replace("-", "_"), c.lower().replace("-", " "),
                  f"Error {c}: {w} failed when I export tasks", f"{w} {w} {w}"):
            out.append(Ticket(s, ""))
            out.append(Ticket("help", s, product="data", limit=20))
    for a in hidden:
        out.append(Ticket(a.title, a.summary))
        out.append(Ticket("", a.text[:3000], limit=20))
        for code in a.error_codes:
            out.append(Ticket(f"getting {code}", ""))
            out.append(Ticket(f"getting {code.lower()}", ""))
        for alias in a.aliases:
            out.append(Ticket(alias, ""))
    for a in kb.articles:
        out.append(Ticket(a.title, f"{rng.choice(SENTINEL_WORDS)} {a.summary}"))
    for _ in range(n_random):
        soup = rng.sample(words, 6) + rng.sample(SENTINEL_WORDS, 2)
        rng.shuffle(soup)
        out.append(Ticket(" ".join(soup[:3]), " ".join(soup[3:]), limit=rng.choice([1, 5, 20, 50])))
    return out


def assert_public_safe(res: dict[str, Any], ticket: Ticket, forbidden: set[str], replaceable: set[str],
                       pub_codes: set[str]) -> None:
    """One public answer: no hidden id, no hidden word, no hidden-only error code, no hidden succession."""
    ids = [s["id"] for s in res["suggestions"]]
    assert not forbidden & set(ids), (ticket, ids)
    for s in res["suggestions"]:
        assert s["url"] and s["url"].endswith(f"/articles/{s['id']}/"), s
        rep = s["why"].get("replaces")
        assert rep is None or rep in replaceable, (ticket, rep)
    shown = json.dumps({k: v for k, v in res.items() if k != "error_codes"}).lower()
    for w in SENTINEL_WORDS:
        assert w not in shown, (ticket, w)
    # error codes: those written in the ticket (as the regex reads them) or those of public articles
    own = set(extract_error_codes(f"{ticket.subject}\n{ticket.body}"))
    assert set(res["error_codes"]) <= own | pub_codes, (ticket, res["error_codes"])


# --- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sample_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The repo's sample KB (read in place), indexed into a temporary directory."""
    root = tmp_path_factory.mktemp("sample")
    (root / "kbtool.toml").write_text(f'kb = "{SAMPLE_KB}"\nindex_dir = "index"\nsite_url = "{SITE}"\n')
    cfg = load_config(cwd=root)
    build(cfg)
    return cfg


@pytest.fixture(scope="session")
def sample_engine(sample_cfg: Config) -> Engine:
    return engine_of(sample_cfg)


@pytest.fixture(scope="session")
def sentinel_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    cfg = make_project(tmp_path_factory.mktemp("sentinel"))
    add_hidden_articles(cfg.kb)
    build(cfg)
    return cfg


@pytest.fixture(scope="session")
def sentinel_engine(sentinel_cfg: Config) -> Engine:
    return engine_of(sentinel_cfg)


def top(engine: Engine, subject: str, body: str = "", audience: str = "public", **kw: Any) -> list[str]:
    return [s.id for s in engine.suggest(Ticket(subject, body, audience=audience, **kw)).suggestions]


# --- ticket clean-up ----------------------------------------------------------------------

CLEANUP = [
    # (name, body, must keep, must drop)
    ("quoted reply", "Exports fail since Monday with a timeout after 5 minutes.\n\n"
     "On Tue, 3 Nov 2026 at 14:05, Orbit Support <support@orbit.example> wrote:\n"
     "> Hi, your invoices are under Admin console > Billing.\n> Orbit Support",
     ["Exports fail"], ["invoices", "wrote", "Billing"]),
    ("gmail wraps the quote header", "Webhook deliveries are disabled for our endpoint now.\n\n"
     "On Tue, Nov 3, 2026 at 2:05 PM Orbit Support <support@orbit.example>\nwrote:\n\n> previous answer about invoices",
     ["Webhook deliveries"], ["invoices", "wrote", "Nov"]),
    ("quoted lines without a header", "The CSV import rejects every row.\n> earlier: try the invoice page\nStill broken.",
     ["CSV import", "Still broken"], ["invoice page"]),
    ("outlook original message", "Our SCIM sync stopped creating users this week.\n\n-----Original Message-----\n"
     "From: Orbit Support <support@orbit.example>\nSent: Monday\nSubject: RE: billing\n\nYour refund was issued.",
     ["SCIM sync"], ["refund", "Original Message"]),
    ("outlook header block", "Two-factor codes are rejected for me after I switched phones.\n\n"
     "From: Orbit Support <support@orbit.example>\nSent: Monday, 2 November 2026 10:12\nTo: Jane\n"
     "Subject: RE: invoice\n\nInvoice ORB-2026-004512 attached.",
     ["Two-factor codes"], ["Invoice ORB", "Sent:"]),
    ("signature delimiter", "Slack channel rules stopped posting after we reinstalled the app.\n-- \n"
     "Jane Doe | Head of IT | Northwind Invoicing Ltd", ["Slack channel"], ["Jane", "Invoicing"]),
    ("sent from my iphone", "Upload gets stuck at 99% in Safari.\n\nSent from my iPhone", ["Upload gets stuck"], ["iPhone"]),
    ("greeting and closing with signature", "Hi team,\n\nthe SSO login loops back to the sign-in page.\n\n"
     "Thanks in advance for your help!\nDana Kowalski\nIT Systems Administrator | Northwind Traders\n+1 555 010 4477",
     ["SSO login loops"], ["Hi team", "Dana", "Northwind", "Thanks"]),
    ("greeting with content on the same line is content", "Hello there our webhook endpoint was disabled overnight",
     ["webhook endpoint was disabled"], []),
    ("closing-like line that is content", "Thanks, but it still fails when I export the CSV.\nAnd the dates are wrong.",
     ["still fails when I export", "dates are wrong"], []),
    ("disclaimer", "Invoices are missing the VAT number.\n\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are "
     "confidential and may be privileged. If you are not the intended recipient, delete it.",
     ["VAT number"], ["CONFIDENTIALITY", "privileged"]),
    ("signature above a disclaimer", "The seat count did not drop after offboarding.\n\nThanks in advance!\n\nThanks,\n"
     "Dana Kowalski\nIT Systems Administrator | Northwind Traders\n+1 (555) 010-4477\n\nCONFIDENTIALITY NOTICE: This "
     "e-mail and any attachments are confidential and may be privileged. Any review is prohibited.",
     ["seat count did not drop"], ["Dana", "Northwind", "CONFIDENTIALITY", "Thanks"]),
    ("forwarded ticket keeps the forwarded text", "FYI\n\n---------- Forwarded message ---------\n"
     "From: Jane <jane@example.com>\nDate: Mon, 2 Nov 2026\nSubject: SSO broken\nTo: it@example.com\n\n"
     "We get SAML-403 when signing in.", ["SAML-403 when signing in"], ["Forwarded message", "Date:"]),
    ("answer typed below the quote", "On Tue, 3 Nov 2026 at 14:05, Orbit Support <support@orbit.example> wrote:\n"
     "> Which browser do you use?\n\nSafari 17.2 on an iPad, uploads over 50 MB fail.",
     ["Safari 17.2"], ["Which browser"]),
    ("crlf line endings", "Exports fail.\r\n\r\nOn Tue, 3 Nov 2026, Jane <jane@example.com> wrote:\r\n> old invoices",
     ["Exports fail"], ["old invoices"]),
    ("a line starting with From: is not a header", "From: the admin console the export button does nothing",
     ["admin console the export button"], []),
]


@pytest.mark.parametrize("name, body, keep, drop", CLEANUP, ids=[c[0] for c in CLEANUP])
def test_clean_ticket(name: str, body: str, keep: list[str], drop: list[str]) -> None:
    text = clean_ticket("Subject line", body)
    assert text.startswith("Subject line")
    for k in keep:
        assert k in text, (name, text)
    for d in drop:
        assert d not in text, (name, text)


HTML_CASES = [
    ("blockquote", "<p>Webhook deliveries time out.</p><blockquote>Earlier reply about <b>invoices</b></blockquote>",
     ["Webhook deliveries time out."], ["invoices", "<p>"]),
    ("blockquote only markup", "<blockquote>old reply about invoices</blockquote>New problem: CSV export fails",
     ["New problem: CSV export fails"], ["invoices"]),
    ("outlook html with style and reply header",
     "<html><head><style>p.MsoNormal{font-family:Calibri}</style></head><body><p class=MsoNormal>Hello,</p>"
     "<p class=MsoNormal>our <b>mention</b> emails are quarantined.</p><div><p><b>From:</b> Orbit Support "
     "&lt;support@orbit.example&gt;<br><b>Sent:</b> Monday</p></div><p>Your invoice is attached.</p></body></html>",
     ["our mention emails are quarantined."], ["MsoNormal", "Calibri", "invoice", "Hello"]),
    ("gmail quote", '<div dir="ltr">Upload fails with UPLOAD-NET-ERR<br></div><div class="gmail_quote">'
     '<div class="gmail_attr">On Mon, Nov 2, 2026 at 9:14 AM Orbit Support &lt;support@orbit.example&gt; wrote:<br>'
     '</div><blockquote class="gmail_quote">about invoices</blockquote></div>',
     ["Upload fails with UPLOAD-NET-ERR"], ["invoices", "wrote"]),
    ("entities in plain text", "Use the &quot;Export&quot; button &amp; wait", ['Use the "Export" button & wait'], []),
    ("forward in html keeps the quote when nothing else is there",
     "<blockquote>SCIM provisioning fails with SCIM-409 for new users</blockquote>",
     ["SCIM-409"], []),
]


@pytest.mark.parametrize("name, body, keep, drop", HTML_CASES, ids=[c[0] for c in HTML_CASES])
def test_html_bodies(name: str, body: str, keep: list[str], drop: list[str]) -> None:
    text = clean_ticket("", body)
    for k in keep:
        assert k in " ".join(text.split()), (name, text)
    for d in drop:
        assert d not in text, (name, text)


def test_html_to_text_keeps_inline_elements_on_one_line() -> None:
    assert "From: Orbit <a@b.example>" in html_to_text("<p><b>From:</b> Orbit &lt;a@b.example&gt;<br>x</p>")


def test_cleanup_changes_the_answer(sample_engine: Engine) -> None:
    """The quoted history talks about invoices; the new text about webhooks: webhooks win."""
    body = ("Our endpoint stopped receiving webhook events and the deliveries tab shows timeouts.\n\n"
            "On Tue, 3 Nov 2026 at 14:05, Orbit Support <support@orbit.example> wrote:\n"
            + "\n".join(["> Download invoices and receipts from Admin console > Billing > Invoices."] * 5))
    assert top(sample_engine, "Re: question", body)[0] == "webhook-delivery-failures"


# --- error signatures ---------------------------------------------------------------------

@pytest.mark.parametrize("text, codes", [
    ("SSO says SAML-403 again", ["SAML-403"]),
    ("Chrome: NET::ERR_CERT_DATE_INVALID", ["ERR-CERT-DATE-INVALID"]),
    ("HTTP/1.1 429 Too Many Requests", ["HTTP-429"]),
    ("got a 429 too many requests back", ["HTTP-429"]),
    ("HTTP 401 from /v2/me", ["HTTP-401"]),
    ("java.lang.NullPointerException at line 3", ["NULLPOINTEREXCEPTION"]),
    ("decline reason insufficient_funds", ["INSUFFICIENT-FUNDS"]),
    ("no codes in this one, just words", []),
])
def test_extract_error_codes(text: str, codes: list[str]) -> None:
    assert extract_error_codes(text) == codes


@pytest.mark.parametrize("code, norm", [
    ("429 Too Many Requests", "HTTP-429"), ("HTTP 429", "HTTP-429"), ("NET::ERR_CERT_DATE_INVALID", "ERR-CERT-DATE-INVALID"),
    ("saml_403", "SAML-403"), ("Response is not yet valid", "RESPONSE-IS-NOT-YET-VALID"),
])
def test_norm_code(code: str, norm: str) -> None:
    assert norm_code(code) == norm


def test_exact_error_code_outranks_lexical_matches(sample_engine: Engine) -> None:
    """Webhook words everywhere, but the pasted code belongs to the API scope article."""
    subject = "webhook endpoint deliveries failing, webhook retries, webhook signature"
    body = "Our webhook integration calls the API and the webhook deliveries log shows API-SCOPE-403."
    res = sample_engine.suggest(Ticket(subject, body))
    first = res.suggestions[0]
    assert first.id == "api-403-insufficient-scope"
    assert first.why["error_codes"] == ["API-SCOPE-403"] and first.confidence == "high"
    assert "API-SCOPE-403" in res.error_codes
    # the lexical favourites still follow, but none claims high confidence over an exact code
    assert "webhook-delivery-failures" in [s.id for s in res.suggestions]
    assert all(s.confidence != "high" for s in res.suggestions[1:])
    # and without the code, the webhook article would have won
    assert top(sample_engine, subject, body.replace("API-SCOPE-403", "an error"))[0] != "api-403-insufficient-scope"


@pytest.mark.parametrize("ticket, article, code", [
    ("getting saml-403 after okta login", "saml-403-user-not-assigned", "SAML-403"),
    ("net::err_cert_date_invalid in edge", "err-cert-date-invalid", "ERR-CERT-DATE-INVALID"),
    ("renewal failed: insufficient_funds", "payment-failed-card-declined", "INSUFFICIENT-FUNDS"),
    ("sending domain says dkim-fail", "custom-email-domain-dkim", "DKIM-FAIL"),
    ("AADSTS50105", "saml-403-user-not-assigned", "AADSTS50105"),
    ("sign-in: Response is not yet valid", "saml-clock-skew", "RESPONSE-IS-NOT-YET-VALID"),
    ("jira_sync_dup in the sync log", "jira-sync-duplicate-issues", "JIRA-SYNC-DUP"),
])
def test_kb_error_codes_match_in_any_case(sample_engine: Engine, ticket: str, article: str, code: str) -> None:
    res = sample_engine.suggest(Ticket(ticket))
    assert res.suggestions[0].id == article
    assert code in res.suggestions[0].why["error_codes"]
    assert res.suggestions[0].confidence == "high"


def test_code_separators_must_match_the_code(sample_engine: Engine) -> None:
    """'authentication required' in prose is not the decline code authentication_required."""
    res = sample_engine.suggest(Ticket("SSO says authentication required for every user"))
    assert all("AUTHENTICATION-REQUIRED" not in s.why["error_codes"] for s in res.suggestions)


def test_codes_in_quoted_history_and_signatures_are_ignored(sample_engine: Engine) -> None:
    body = ("Our webhook deliveries fail with timeouts since the deploy.\n\n"
            "On Tue, 3 Nov 2026 at 14:05, Orbit Support <support@orbit.example> wrote:\n"
            "> Was it SAML-403 or MFA-LOCKED?\n")
    res = sample_engine.suggest(Ticket("webhooks", body))
    assert "SAML-403" not in res.error_codes and "MFA-LOCKED" not in res.error_codes
    assert all(not s.why["error_codes"] for s in res.suggestions)


def test_a_code_listed_twice_counts_once(sample_engine: Engine) -> None:
    """err-cert-date-invalid lists ERR_CERT_DATE_INVALID and NET::ERR_CERT_DATE_INVALID: one bonus, one code."""
    t = Ticket("NET::ERR_CERT_DATE_INVALID")
    scores, ev = sample_engine.rank(t)
    i = sample_engine.index_of["err-cert-date-invalid"]
    ids, wts = sample_engine.query_terms(clean_ticket(t.subject, t.body), t.subject)
    lexical_all = sample_engine.lexical(ids, wts)
    lexical = lexical_all[i]
    assert ev["bonus"][i] == pytest.approx(scores[i] - lexical)
    assert scores[i] - lexical == pytest.approx(sample_engine.unit + max(lexical_all[sample_engine.public]))  # once
    s = sample_engine.suggest(t).suggestions[0]
    assert s.id == "err-cert-date-invalid" and s.why["error_codes"] == ["ERR-CERT-DATE-INVALID"]


def test_generic_http_status_alone_is_weak_evidence(sample_engine: Engine) -> None:
    res = sample_engine.suggest(Ticket("our SSO page shows 403 Forbidden"))
    hit = next(s for s in res.suggestions if s.id == "api-403-insufficient-scope")
    assert hit.why["error_codes"] == ["HTTP-403"]
    i = sample_engine.index_of[hit.id]
    scores, ev = sample_engine.rank(Ticket("our SSO page shows 403 Forbidden"))
    assert ev["bonus"][i] == pytest.approx(0.25 * sample_engine.unit)


# --- retired -> successor, audience ---------------------------------------------------------

@pytest.mark.parametrize("ticket, retired, successor", [
    ("v1 api key in the x-orbit-key header stopped working", "api-v1-keys", "api-keys-rotate"),
    ("old saml settings page under settings integrations saml", "saml-sso-setup-legacy", "saml-sso-setup"),
])
def test_retired_article_is_replaced_by_its_successor(sample_engine: Engine, ticket: str, retired: str,
                                                      successor: str) -> None:
    for audience in ("public", "internal"):
        res = sample_engine.suggest(Ticket(ticket, audience=audience, limit=20))
        ids = [s.id for s in res.suggestions]
        assert retired not in ids
        assert ids[0] == successor
        assert res.suggestions[0].why["replaces"] == retired


def test_successor_chain_and_gaps(tmp_path: Path) -> None:
    """retired -> retired -> published is followed; a chain ending in a draft, a loop or a missing id is not."""
    cfg = make_project(tmp_path, copy_sample=False)
    kb = cfg.kb
    body = "## Symptoms\n\n{w} breaks.\n\n## Cause\n\nx\n\n## Resolution\n\ny"
    write_article(kb, "gen-one", title="Gen one zanzibarite", status="retired", replaced_by="gen-two",
                  body=body.format(w="zanzibarite"))
    write_article(kb, "gen-two", title="Gen two", status="retired", replaced_by="gen-three", body=body.format(w="other"))
    write_article(kb, "gen-three", title="Gen three", body=body.format(w="current"))
    write_article(kb, "loop-a", title="Loop a quixotrail", status="retired", replaced_by="loop-b",
                  body=body.format(w="quixotrail"))
    write_article(kb, "loop-b", title="Loop b", status="retired", replaced_by="loop-a", body=body.format(w="b"))
    write_article(kb, "to-draft", title="To draft plumbixite", status="retired", replaced_by="a-draft",
                  body=body.format(w="plumbixite"))
    write_article(kb, "a-draft", title="A draft", status="draft", body=body.format(w="d"))
    write_article(kb, "to-missing", title="To missing glorbunite", status="retired", replaced_by="no-such-id",
                  body=body.format(w="glorbunite"))
    write_article(kb, "filler", title="Filler article about exports", body=body.format(w="exports"))
    build(cfg)
    eng = engine_of(cfg)
    res = eng.suggest(Ticket("zanzibarite breaks"))
    assert [s.id for s in res.suggestions][:1] == ["gen-three"] and res.suggestions[0].why["replaces"] == "gen-one"
    for word in ("quixotrail", "plumbixite", "glorbunite"):
        res = eng.suggest(Ticket(f"{word} breaks", audience="internal"))
        assert not {"loop-a", "loop-b", "to-draft", "a-draft", "to-missing"} & {s.id for s in res.suggestions}


def test_audience_guarantee_engine(sentinel_cfg: Config, sentinel_engine: Engine) -> None:
    """Security property: over hundreds of tickets aimed at hidden content, a public request never
    returns an internal, runbook, draft, in-review or retired article, nor any trace of one."""
    forbidden = non_public_ids(sentinel_cfg.kb)
    assert {"internal-api-debug-headers", "draft-audit-log-export", "account-deletion", "api-v1-keys",
            "sso-outage-diagnosis", *HIDDEN} <= forbidden
    replaceable = retired_public_ids(sentinel_cfg.kb)
    pub_codes = public_codes(sentinel_cfg.kb)
    queries = sentinel_queries(sentinel_cfg.kb)
    assert len(queries) >= 300
    answered = 0
    for t in queries:
        res = sentinel_engine.suggest(t).to_dict()
        assert_public_safe(res, t, forbidden, replaceable, pub_codes)
        answered += bool(res["suggestions"])
    assert answered > 50  # the queries do reach public content too


def test_sentinel_words_are_no_oracle(sentinel_engine: Engine) -> None:
    """A public caller cannot tell a word only hidden articles contain from a word nobody has."""
    for h in HIDDEN.values():
        hidden = sentinel_engine.suggest(Ticket(h["word"])).to_dict()
        nonsense = sentinel_engine.suggest(Ticket("qqzzyxnonword")).to_dict()
        assert hidden == nonsense
        lower = sentinel_engine.suggest(Ticket(h["code"].lower())).to_dict()
        assert lower == sentinel_engine.suggest(Ticket("zzqq-nnn-000")).to_dict()


def test_legitimate_public_succession(sentinel_engine: Engine) -> None:
    res = sentinel_engine.suggest(Ticket(f"{OLD_PUBLIC['word']} webhook failures"))
    assert res.suggestions[0].id == OLD_PUBLIC["successor"]
    assert res.suggestions[0].why["replaces"] == OLD_PUBLIC["id"]


def test_internal_audience_sees_live_internal_content_only(sentinel_engine: Engine) -> None:
    for doc_id in ("hidden-internal", "hidden-runbook", "hidden-public-runbook", "hidden-runbook-type-in-articles"):
        word = HIDDEN[doc_id]["word"]
        res = sentinel_engine.suggest(Ticket(f"{word} failed", audience="internal"))
        assert res.suggestions[0].id == doc_id
        assert res.suggestions[0].url is None  # no help-center page for non-public content
    for doc_id in ("hidden-draft", "hidden-in-review", "hidden-retired"):
        word = HIDDEN[doc_id]["word"]
        ids = [s.id for s in sentinel_engine.suggest(Ticket(f"{word} failed", audience="internal", limit=50)).suggestions]
        assert doc_id not in ids and "hidden-draft" not in ids
    # internal succession: the retired internal article leads internal callers to its public successor
    res = sentinel_engine.suggest(Ticket(HIDDEN["hidden-internal-retired"]["word"], audience="internal"))
    assert res.suggestions[0].id == "reset-password" and res.suggestions[0].why["replaces"] == "hidden-internal-retired"


# --- no match, confidence, evidence ------------------------------------------------------------

@pytest.mark.parametrize("subject", [
    "How do I bake sourdough bread at home?", "my printer is out of toner", "orbit", "help", "hello",
    "the weather is nice today", "lunch order for friday", "happy birthday!", "zzqx blorf", "", "!!! ???",
])
def test_no_match_answer_is_empty_with_a_reason(sample_engine: Engine, subject: str) -> None:
    for audience in ("public", "internal"):
        res = sample_engine.suggest(Ticket(subject, audience=audience))
        assert res.suggestions == [] and res.reason, (subject, [s.id for s in res.suggestions])


def test_no_match_reasons(sample_engine: Engine) -> None:
    assert "no words" in sample_engine.suggest(Ticket("zzqx blorf")).reason
    assert "well enough" in sample_engine.suggest(Ticket("my printer is out of toner")).reason


@pytest.mark.parametrize("subject, body, article, level", [
    ("Reset your Orbit password", "I forgot my password and need to reset it", "reset-password", "high"),
    ("MFA-LOCKED", "", "mfa-lockout-recovery", "high"),
    ("webhook retry schedule and backoff", "how often are failed webhook deliveries retried", "webhook-retries-and-backoff",
     "high"),
])
def test_confidence_of_clear_matches(sample_engine: Engine, subject: str, body: str, article: str, level: str) -> None:
    s = sample_engine.suggest(Ticket(subject, body)).suggestions[0]
    assert (s.id, s.confidence) == (article, level)


def test_confidence_is_consistent(sample_engine: Engine) -> None:
    """Levels never rise down the list, a hit far behind the first is never high, scores descend."""
    order = {"high": 2, "medium": 1, "low": 0}
    golden = [json.loads(line) for line in (SAMPLE_KB / "golden.jsonl").read_text().splitlines() if line.strip()]
    seen = set()
    for case in golden:
        res = sample_engine.suggest(Ticket(case["subject"], case["body"], limit=10))
        scores = [s.score for s in res.suggestions]
        assert scores == sorted(scores, reverse=True)
        for s in res.suggestions:
            assert s.confidence in order
            seen.add(s.confidence)
            if s.score < 0.5 * scores[0]:
                assert s.confidence != "high"
    assert seen == set(order)


def test_vague_ticket_is_not_high_confidence(sample_engine: Engine) -> None:
    res = sample_engine.suggest(Ticket("something with my account is weird"))
    assert all(s.confidence != "high" for s in res.suggestions)


def test_why_evidence(sample_engine: Engine) -> None:
    res = sample_engine.suggest(Ticket("SSO login fails with SAML-403", "Okta user not assigned", product="sso"))
    s = res.suggestions[0]
    assert s.id == "saml-403-user-not-assigned"
    assert s.url == f"{SITE}articles/saml-403-user-not-assigned/"
    assert s.why["error_codes"] == ["SAML-403"]
    assert s.why["product"] == "sso"
    assert {"saml", "403"} <= set(s.why["terms"]["title"])
    assert set(s.why["terms"]) <= {"title", "aliases", "summary", "symptoms", "body"}
    for fld, terms in s.why["terms"].items():
        assert terms == sorted(terms)
    assert "**" in s.snippet and len(s.snippet.replace("**", "")) <= 260
    assert "SAML" in s.snippet
    assert res.to_dict()["suggestions"][0]["why"] == s.why
    assert set(res.to_dict()) == {"suggestions", "reason", "error_codes", "semantic"}


def test_why_terms_are_really_in_those_fields(sample_engine: Engine) -> None:
    kb = load_kb(SAMPLE_KB)
    for subject in ("export tasks to csv with dates", "webhook signature mismatch express", "vat number invalid greece"):
        for s in sample_engine.suggest(Ticket(subject)).suggestions:
            title = kb.by_id[s.id].title.lower()
            for term in s.why["terms"].get("title", []):
                assert term in title, (s.id, term)


def test_product_boost(sample_engine: Engine) -> None:
    t = "token problems"
    base = {s.id: s.score for s in sample_engine.suggest(Ticket(t, limit=20)).suggestions}
    boosted = sample_engine.suggest(Ticket(t, product="scim", limit=20)).suggestions
    for s in boosted:
        if s.id in base:
            expect = base[s.id] * (1.15 if s.why.get("product") == "scim" else 1.0)
            assert s.score == pytest.approx(expect, rel=1e-3)


def test_limit(sample_engine: Engine) -> None:
    for limit, most in ((1, 1), (3, 3), (50, 50), (500, 50), (0, 1)):
        assert len(sample_engine.suggest(Ticket("webhook token export invoice sso", limit=limit)).suggestions) <= most
    assert len(sample_engine.suggest(Ticket("webhook token export invoice sso", limit=1)).suggestions) == 1


def test_huge_ticket_is_fast_and_still_right(sample_engine: Engine) -> None:
    body = ("Our webhook endpoint deliveries show WEBHOOK-TIMEOUT: No response within 10 seconds. " * 50
            + " ".join(f"word{i}" for i in range(20000)))
    t0 = time.perf_counter()
    res = sample_engine.suggest(Ticket("webhooks", body))
    assert time.perf_counter() - t0 < 2.0
    assert res.suggestions[0].id == "webhook-delivery-failures"


def test_snippets_off(sample_engine: Engine) -> None:
    res = sample_engine.suggest(Ticket("SAML-403"), snippets=False)
    assert res.suggestions and all(s.snippet == "" for s in res.suggestions)


def test_empty_kb(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, copy_sample=False)
    build(cfg)
    res = engine_of(cfg).suggest(Ticket("SAML-403 webhook"))
    assert res.suggestions == [] and res.reason


# --- hot reload in the engine holder ----------------------------------------------------------

def test_engine_holder_picks_up_a_new_build(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    build(cfg)
    holder = EngineHolder(cfg)
    first = holder.get()
    assert holder.get() is first
    assert not top(first, "florbotrax")
    write_article(cfg.kb, "new-florbotrax", title="Florbotrax export failures",
                  body="## Symptoms\n\nflorbotrax export fails.\n\n## Cause\n\nx\n\n## Resolution\n\ny")
    build(cfg)
    second = holder.get()
    assert second is not first
    assert top(second, "florbotrax")[0] == "new-florbotrax"


def test_engine_holder_refreshes_in_the_background(tmp_path: Path) -> None:
    """get(wait=False), as the API's event loop calls it, never compiles in the caller's thread."""
    cfg = make_project(tmp_path)
    build(cfg)
    holder = EngineHolder(cfg)
    assert not holder.loaded
    first = holder.get()
    assert holder.loaded and holder.get(wait=False) is first
    write_article(cfg.kb, "bg-new", title="Backgroundquux failures",
                  body="## Symptoms\n\nbackgroundquux fails.\n\n## Cause\n\nx\n\n## Resolution\n\ny")
    build(cfg)
    assert holder.get(wait=False) is first  # the new build compiles elsewhere; this caller is not kept waiting
    deadline = time.monotonic() + 20
    while holder.get(wait=False) is first:
        assert time.monotonic() < deadline, "the background refresh never finished"
        time.sleep(0.02)
    assert top(holder.get(wait=False), "backgroundquux")[0] == "bg-new"


def test_engine_holder_is_thread_safe_during_swaps(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    build(cfg)
    holder = EngineHolder(cfg)
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                holder.get().suggest(Ticket("webhook deliveries fail"))
            except BaseException as e:  # noqa: BLE001 - the test reports any failure
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for k in range(3):
            write_article(cfg.kb, f"swap-{k}", title=f"Swap article {k}", body="## Symptoms\n\nswap\n\n## Cause\n\nx\n\n"
                          "## Resolution\n\ny")
            build(cfg, rebuild=k == 1)
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors[:3]
    assert len(holder.get().docs) == len(load_kb(cfg.kb).valid_articles)


def test_engine_holder_keeps_serving_when_the_new_build_is_unreadable(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    build(cfg)
    holder = EngineHolder(cfg)
    old = holder.get()
    build(cfg, rebuild=True)
    (current_build(cfg.index_dir) / "forward.npz").write_bytes(b"not an npz")
    assert holder.get() is old  # no exception: the previous build keeps answering
    assert holder.get() is old


# --- CLI ------------------------------------------------------------------------------------

@pytest.fixture
def cli_project(sample_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(sample_cfg.root)
    return sample_cfg.root


def test_cli_suggest_text(cli_project: Path) -> None:
    r = CliRunner().invoke(main, ["suggest", "--subject", "SSO login fails with SAML-403"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("1. saml-403-user-not-assigned  SSO sign-in fails with SAML-403")
    assert "[high, score" in lines[0]
    assert lines[1].strip() == f"{SITE}articles/saml-403-user-not-assigned/"
    assert lines[2].strip().startswith("why: codes: SAML-403; title: ")


def test_cli_suggest_json_and_no_match(cli_project: Path) -> None:
    r = CliRunner().invoke(main, ["suggest", "--subject", "webhooks stopped", "--body", "WEBHOOK-TIMEOUT since 9am",
                                  "--format", "json", "--limit", "2"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["suggestions"][0]["id"] == "webhook-delivery-failures" and len(data["suggestions"]) <= 2
    assert data["error_codes"] == ["WEBHOOK-TIMEOUT"]
    r = CliRunner().invoke(main, ["suggest", "--subject", "my printer is out of toner"])
    assert r.exit_code == 0 and r.output.startswith("no suggestions: ")


def test_cli_suggest_internal_audience(cli_project: Path) -> None:
    r = CliRunner().invoke(main, ["suggest", "--subject", "customer wants a postmortem rca", "--format", "json"])
    assert "post-incident-review" not in r.output
    r = CliRunner().invoke(main, ["suggest", "--subject", "customer wants a postmortem rca", "--audience", "internal",
                                  "--format", "json"])
    assert json.loads(r.output)["suggestions"][0]["id"] == "post-incident-review"


def test_cli_suggest_stdin(cli_project: Path) -> None:
    ticket = {"subject": "webhooks stopped", "body": "<p>deliveries show WEBHOOK-410 Gone</p>"}
    r = CliRunner().invoke(main, ["suggest", "--format", "json"], input=json.dumps(ticket))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["suggestions"][0]["id"] == "webhook-delivery-failures"
    r = CliRunner().invoke(main, ["suggest"], input="{not json")
    assert r.exit_code == 2 and "invalid JSON" in r.output
    r = CliRunner().invoke(main, ["suggest"], input='{"subject": 5}')
    assert r.exit_code == 2 and "string 'subject'" in r.output


def test_cli_suggest_batch(cli_project: Path, tmp_path: Path) -> None:
    batch = tmp_path / "tickets.jsonl"
    batch.write_text("\n".join([
        json.dumps({"id": "t1", "subject": "MFA-LOCKED after new phone"}),
        "",
        json.dumps({"id": "t2", "subject": "vat number invalid", "limit": 1}),
        json.dumps({"subject": "my printer is out of toner"}),
        json.dumps({"id": "t4", "subject": "customer wants a postmortem", "audience": "internal"}),
    ]) + "\n")
    r = CliRunner().invoke(main, ["suggest", "--batch", str(batch)])
    assert r.exit_code == 0, r.output
    out = [json.loads(line) for line in r.output.splitlines()]
    assert len(out) == 4
    assert out[0]["id"] == "t1" and out[0]["suggestions"][0]["id"] == "mfa-lockout-recovery"
    assert out[1]["id"] == "t2" and [s["id"] for s in out[1]["suggestions"]] == ["vat-tax-id"]
    assert "id" not in out[2] and out[2]["suggestions"] == [] and out[2]["reason"]
    assert out[3]["suggestions"][0]["id"] == "post-incident-review"
    r = CliRunner().invoke(main, ["suggest", "--batch", "-"], input=json.dumps({"subject": "SAML-403"}) + "\n[1, 2]\n")
    assert r.exit_code == 2 and "line 2" in r.output
