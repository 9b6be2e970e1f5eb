"""The audience guarantee as a test property: hidden articles, each carrying a word and an error code
found nowhere else, and hundreds of public tickets aimed at them (tests/suggest and tests/api).

`add_hidden_articles(kb)` writes them into a KB (the sample KB's copy); `sentinel_queries(kb)` makes
the tickets; `assert_public_safe` checks one public answer (a `SuggestResult.to_dict()` or the API's
JSON) for any trace of hidden content.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from kbfactory import write_article

from kbtool.content import load_kb
from kbtool.suggest import Ticket, extract_error_codes, norm_code

# Content no public caller may ever see, each with a word and an error code found nowhere else.
# (id -> article fields, sentinel word, sentinel code)
HIDDEN: dict[str, dict[str, Any]] = {
    "hidden-internal": dict(audience="internal", word="vexquarnal", code="SENTX-INT-701"),
    "hidden-runbook": dict(audience="internal", type="runbook", folder="runbooks", word="runqobbler",
                           code="SENTX-RUN-702"),
    "hidden-public-runbook": dict(audience="public", type="runbook", folder="runbooks", word="pubrunzog",
                                  code="SENTX-PRB-703"),
    "hidden-runbook-type-in-articles": dict(audience="public", type="runbook", word="typrunzeb", code="SENTX-TRB-704"),
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

# the front-matter the hidden articles were first written with
_FIELDS: dict[str, Any] = dict(type="troubleshooting", status="published", audience="public", owner="support-team",
                               folder="articles", created="2026-01-05", last_reviewed="2026-10-01")


def add_hidden_articles(kb: Path) -> None:
    for doc_id, h in HIDDEN.items():
        h = dict(h)
        word, code = h.pop("word"), h.pop("code")
        title = f"Fix {word} errors in the workspace export"
        write_article(
            kb, doc_id, f"""
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
            """, **{**_FIELDS, "title": title, "summary": f"How to resolve {word} ({code}).", "error_codes": [code],
                    "product": "data", "aliases": [f"{word} failure", f"{word.upper()} problem"], **h})
    title = f"Old webhook troubleshooting ({OLD_PUBLIC['word']})"
    write_article(kb, OLD_PUBLIC["id"], f"""
        Retired guide about {OLD_PUBLIC['word']} webhook failures.

        ## Symptoms

        Deliveries fail with {OLD_PUBLIC['code']} ({OLD_PUBLIC['word']}).

        ## Cause

        Old endpoint.

        ## Resolution

        See the new guide.
    """, **{**_FIELDS, "title": title, "summary": title, "status": "retired", "replaced_by": OLD_PUBLIC["successor"],
            "error_codes": [OLD_PUBLIC["code"]]})


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
