"""Benchmark `kbtool index` / `kbtool search` on the sample KB and a generated 10,000-article KB.

Prints, per KB: full build time (`Index.build`, KB already loaded; loading shown apart),
one-file incremental update time (`incr e2e`: `update_index` as `kbtool index` runs it:
stat every file, parse the changed one, re-index it, swap; `incr build`: the locked
build-and-swap part of it; median of 3 edits), and search latency
p50/p95/max over >= 500 realistic queries via `Snapshot.search` (what `kbtool search` runs:
parse, filters, BM25F, stored fields, highlighted fragments), also split by scorer (plain
words: the compiled BM25F scorer; query syntax: Whoosh) with the one-off cost of loading
and compiling the plain-word scorer. In the same run the same
queries go to tantivy (reference engine, bench-only extra: `pip install -e '.[bench]'`)
and the ratio is printed. Targets (issue 4): search p95 < 20 ms at 10,000 articles and a
one-file incremental update < 1 s.

    .venv/bin/python bench/bench_search.py                  # sample KB + 10,000 generated
    .venv/bin/python bench/bench_search.py --n 2000 --queries 500
    .venv/bin/python bench/bench_search.py --keep bench/out  # keep the generated KB/indexes

Exit status 1 if a target is missed (so CI can run it as a check).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("KBTOOL_SEMANTIC", "0")  # lexical figures here; bench/bench_semantic.py measures the model

from kbtool.config import Config  # noqa: E402
from kbtool.content import load_kb  # noqa: E402
from kbtool.index import Filters, Index, update_index  # noqa: E402

# --- a generator of realistic support articles ---------------------------------------------

PRODUCTS: dict[str, dict[str, list[str]]] = {
    "auth": {"nouns": ["password", "sign-in", "login", "session", "authenticator app", "backup code", "lockout",
                       "reset link", "two-factor", "device", "remember me", "login attempt"],
             "codes": ["AUTH", "MFA", "LOGIN"], "components": ["passwords", "mfa", "sessions"]},
    "sso": {"nouns": ["SAML assertion", "identity provider", "ACS URL", "entity ID", "signing certificate",
                      "RelayState", "NameID", "group claim", "Okta app", "Entra ID tenant", "IdP metadata"],
            "codes": ["SAML", "SSO", "OIDC"], "components": ["saml", "oidc", "connections"]},
    "scim": {"nouns": ["SCIM token", "provisioning", "deprovisioning", "user sync", "group push",
                       "externalId", "SCIM endpoint", "attribute mapping"],
             "codes": ["SCIM"], "components": ["provisioning", "groups"]},
    "api": {"nouns": ["API token", "rate limit", "scope", "pagination cursor", "REST endpoint", "request body",
                      "bearer token", "API key", "idempotency key", "response header"],
            "codes": ["API-AUTH", "API-SCOPE", "API-RATE", "API-PAGE"], "components": ["rest", "tokens", "limits"]},
    "webhooks": {"nouns": ["webhook", "delivery", "signature", "retry", "endpoint", "payload", "event type",
                           "backoff", "receiver", "secret"],
                 "codes": ["WEBHOOK"], "components": ["delivery-queue", "signing"]},
    "browser": {"nouns": ["browser", "cache", "cookie", "extension", "HAR file", "console log", "certificate",
                          "proxy", "blank page", "service worker"],
                "codes": ["ERR_CERT", "ERR_NET", "ERR_CACHE"], "components": ["web-client"]},
    "data": {"nouns": ["CSV export", "import", "column mapping", "time zone", "bulk export", "archive",
                       "custom field", "attachment", "backup", "data retention"],
             "codes": ["IMPORT", "EXPORT", "DATA"], "components": ["exports", "imports", "retention"]},
    "billing": {"nouns": ["invoice", "card", "payment", "plan", "proration", "VAT ID", "receipt", "seat",
                          "subscription", "refund", "billing contact"],
                "codes": ["CARD", "BILLING", "INVOICE"], "components": ["payments", "invoices", "plans"]},
    "admin": {"nouns": ["role", "permission", "workspace", "project", "guest", "audit log", "custom role",
                        "owner", "team", "admin console"],
              "codes": ["PERM", "ADMIN", "ROLE"], "components": ["roles", "audit", "workspaces"]},
    "email": {"nouns": ["notification email", "spam folder", "DKIM record", "SPF record", "digest",
                        "bounce", "email domain", "mail server", "unsubscribe link"],
              "codes": ["DKIM", "MAIL", "SMTP"], "components": ["notifications", "domains"]},
    "integrations": {"nouns": ["Slack channel", "Jira project", "Salesforce object", "field mapping", "sync",
                               "OAuth app", "Zendesk ticket", "GitHub repository", "Teams channel", "connector"],
                     "codes": ["JIRA-SYNC", "SLACK", "SFDC", "SYNC"], "components": ["slack", "jira", "salesforce"]},
    "mobile": {"nouns": ["iOS app", "Android app", "push notification", "offline mode", "upload", "app version",
                         "camera permission", "widget", "biometric unlock"],
               "codes": ["MOBILE", "PUSH", "UPLOAD"], "components": ["ios", "android", "push"]},
    "platform": {"nouns": ["outage", "status page", "latency", "region", "maintenance window", "queue",
                           "worker", "database", "search index", "storage bucket"],
                 "codes": ["PLATFORM", "DB", "QUEUE"], "components": ["infra", "database", "queues"]},
}
VERBS = ["fails", "times out", "stops working", "returns an error", "is slow", "shows the wrong value",
         "is missing", "duplicates", "hangs", "is rejected", "disappears", "loops", "is delayed", "breaks"]
CONTEXTS = ["after the upgrade", "for some users", "on large workspaces", "in Safari", "on mobile",
            "after a password change", "behind a corporate proxy", "for guests", "in the EU region",
            "after renaming a project", "with a custom domain", "during a bulk import", "at the end of the month",
            "when the token expires", "with more than 10,000 rows", "for new members", "after SSO is enforced"]
CAUSES = ["an expired {n}", "a misconfigured {n}", "a stale {n} cached by the client", "a missing {n}",
          "a {n} that exceeds the plan limit", "a clock skew between servers", "a revoked {n}",
          "a regression in release 2026.{rel}", "a firewall that blocks outbound traffic",
          "a third-party extension that rewrites requests", "a duplicate {n} created by a retry",
          "a time zone mismatch", "insufficient permissions on the {n}", "an outdated {n}"]
ENVS = ["Chrome", "Firefox", "Safari", "Edge", "Windows 11", "macOS Sonoma", "Ubuntu", "iPadOS", "Android 14",
        "Okta", "Entra ID", "OneLogin", "Ping Identity", "JumpCloud", "Google Workspace", "Zscaler", "Netskope",
        "Cloudflare", "Slack", "Jira Cloud", "Salesforce", "Zendesk", "HubSpot", "GitHub", "GitLab", "Zapier"]
UI = ["Admin console", "Settings", "Workspace settings", "Profile", "Security", "Billing", "Integrations",
      "Developer", "Notifications", "Data", "Members", "Audit log", "Projects", "Automations", "Reports"]
GENERAL = ("account administrator customer team member request response error message value setting option "
           "page screen button menu dialog field column row record entry list report dashboard filter search "
           "result status state history change update version release timeout limit quota threshold window "
           "minute hour day week month schedule job task queue worker retry attempt failure success warning "
           "notice banner toast link address domain host server client network connection certificate key "
           "token secret credential identity user group role permission scope policy rule condition trigger "
           "action workflow automation template label tag comment mention attachment file folder upload "
           "download preview thumbnail image document spreadsheet invoice receipt payment charge refund "
           "discount coupon trial plan tier seat license renewal cancellation export import mapping header "
           "payload signature digest checksum encoding locale language region zone offset timestamp date "
           "format parser validator schema migration backup restore snapshot replica cluster node shard "
           "partition latency throughput bandwidth cache cookie session device browser extension plugin "
           "firewall proxy gateway tunnel vpn allowlist blocklist audit compliance retention deletion "
           "anonymization consent privacy encryption rotation expiry renewal escalation incident outage "
           "degradation maintenance rollback hotfix workaround regression investigation diagnosis symptom "
           "cause resolution verification prerequisite step customer-facing internal public draft").split()
SYLL = ["ar", "bel", "cor", "dan", "el", "fin", "gra", "hal", "ix", "jor", "kel", "lum", "mar", "nor", "or",
        "pra", "quin", "ros", "sol", "tar", "ul", "ver", "wex", "yor", "zen", "tic", "ber", "mon", "lin", "dex"]


def _feature_names(rng: random.Random, n: int) -> list[str]:
    """Made-up feature/setting names: long-tail vocabulary, as real KBs have."""
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(SYLL) for _ in range(rng.randint(2, 4))))
    return sorted(out)


@dataclass
class GenArticle:
    id: str
    title: str
    type: str
    status: str
    audience: str
    product: str
    error_codes: list[str]
    aliases: list[str]
    keywords: list[str]  # words a customer would type about it
    path: Path


Vocab = tuple[list[str], list[int]]


def _para(rng: random.Random, vocab: tuple[Vocab, Vocab], specific: list[str], n: int) -> str:
    """`n` sentences of words drawn from real support prose: the sample KB's words about the
    article's product and its domain-general words (Zipf-distributed, stop words and all),
    with the article's own subject words mixed in."""
    (tw, tc), (gw, gc) = vocab
    out = []
    for _ in range(n):
        k = rng.randint(8, 20)
        words = []
        for _ in range(k):
            r = rng.random()
            words.append(rng.choice(specific) if r < 0.12 else rng.choices(tw, tc)[0] if r < 0.5 else rng.choices(gw, gc)[0])
        text = " ".join(words)
        out.append(text[0].upper() + text[1:] + ".")
    return " ".join(out)


def _vocabularies() -> tuple[dict[str, Vocab], Vocab]:
    """Word frequencies of the sample KB's prose (a realistic Zipfian support vocabulary):
    per product, and the domain-general words (used in articles of at least 9 of the 13 products), so a
    generated webhooks article talks like the sample's webhooks articles, not like all of them."""
    per: dict[str, dict[str, int]] = {}
    for a in load_kb(REPO / "kb").valid_articles:
        c = per.setdefault(a.product or "platform", {})
        for w in re.findall(r"[a-z][a-z'-]*[a-z]", a.text.lower()):
            c[w] = c.get(w, 0) + 1
    spread: dict[str, int] = {}
    total: dict[str, int] = {}
    for c in per.values():
        for w, k in c.items():
            spread[w] = spread.get(w, 0) + 1
            total[w] = total.get(w, 0) + k
    general = {w: k for w, k in total.items() if spread[w] >= 9}
    if len(general) < 100:  # no sample KB: a flat list is better than nothing
        general = {w: 1 for w in GENERAL}

    def ranked(c: dict[str, int]) -> Vocab:
        items = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
        return [w for w, _ in items], [k for _, k in items]

    return {p: ranked(c) for p, c in per.items() if len(c) > 50}, ranked(general)


def generate_kb(root: Path, n: int = 10_000, seed: int = 4) -> list[GenArticle]:
    """Write `n` articles/runbooks with valid front-matter and required sections under `root`."""
    rng = random.Random(seed)
    topics, general = _vocabularies()
    features = _feature_names(rng, max(200, n // 4))
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "runbooks").mkdir(parents=True, exist_ok=True)
    made: list[GenArticle] = []
    published: list[str] = []
    types = ["troubleshooting"] * 45 + ["howto"] * 25 + ["known-issue"] * 8 + ["faq"] * 8 + ["reference"] * 5 + ["runbook"] * 9
    for i in range(n):
        product = rng.choice(list(PRODUCTS))
        p = PRODUCTS[product]
        vocab = (topics.get(product, general), general)
        noun, noun2 = rng.sample(p["nouns"], 2)
        feat = rng.choice(features)
        verb, ctx, env = rng.choice(VERBS), rng.choice(CONTEXTS), rng.choice(ENVS)
        typ = rng.choice(types)
        code = f"{rng.choice(p['codes'])}{rng.choice(['-', '_'])}{rng.randint(100, 999)}"
        codes = [code] if typ in ("troubleshooting", "known-issue", "runbook") or rng.random() < 0.2 else []
        if typ == "howto":
            title = f"{rng.choice(['Set up', 'Configure', 'Change', 'Enable', 'Remove', 'Rotate', 'Export'])} the {noun} for {feat}"
        elif typ == "faq":
            title = f"FAQ: how does the {noun} work with {feat}?"
        elif typ == "reference":
            title = f"{noun.capitalize()} reference: {feat} limits and fields"
        elif typ == "runbook":
            title = f"Runbook: {noun} {verb} for {feat} tenants"
        else:
            title = f"{noun.capitalize()} {verb} {ctx}" + (f" with {codes[0]}" if codes else "")
        aid = re.sub(r"[^a-z0-9]+", "-", f"{product} {title}".lower()).strip("-")[:70].strip("-") + f"-{i}"
        status = rng.choices(["published", "in-review", "draft", "retired"], [88, 5, 4, 3])[0]
        if status == "retired" and not published:
            status = "published"
        audience = "internal" if typ == "runbook" or rng.random() < 0.15 else "public"
        cause = rng.choice(CAUSES).format(n=noun2, rel=rng.randint(1, 12))
        specific = (noun + " " + noun2 + " " + env).lower().split() + [feat] * 3 + rng.sample(features, 4) + rng.sample(GENERAL, 8)
        words = specific
        aliases = [f"{noun} {verb.split()[0]}", f"{feat} {rng.choice(['not working', 'error', 'problem', 'broken'])}"]
        summary = f"What to do when the {noun} {verb} {ctx}; usually {cause}."
        steps = "\n".join(f"{k}. Open **{rng.choice(UI)} > {rng.choice(UI)}** and check the {rng.choice(words)} "
                          f"{rng.choice(words)} of the {noun}." for k in range(1, rng.randint(4, 8)))
        msg = f"`{codes[0]}: {noun} {verb}`" if codes else f"`{noun} {verb}`"
        sym = f"Users on {env} see {msg} {ctx}. {_para(rng, vocab, specific, rng.randint(2, 4))}"
        if typ == "troubleshooting":
            body = f"## Symptoms\n\n{sym}\n\n## Cause\n\nThis is {cause}. {_para(rng, vocab, specific, 2)}\n\n## Resolution\n\n{steps}\n"
        elif typ == "known-issue":
            body = (f"## Symptoms\n\n{sym}\n\n## Cause\n\n{cause.capitalize()}.\n\n## Workaround\n\n{steps}\n\n"
                    f"## Status\n\nFix planned for release 2026.{rng.randint(1, 12)}. {_para(rng, vocab, specific, 1)}\n")
        elif typ == "howto":
            body = f"## Before you begin\n\n{_para(rng, vocab, specific, 2)}\n\n## Steps\n\n{steps}\n"
        elif typ == "runbook":
            body = (f"## When to use\n\n{sym}\n\n## Prerequisites\n\n- `orbitctl` access.\n\n## Steps\n\n{steps}\n\n"
                    f"## Verification\n\n{_para(rng, vocab, specific, 2)}\n\n## Escalation\n\nPage the {product} on-call team.\n")
        else:
            body = f"## Overview\n\n{_para(rng, vocab, specific, 3)}\n\n## Details\n\n{_para(rng, vocab, specific, 4)}\n"
        intro = f"{_para(rng, vocab, specific, rng.randint(2, 5))}\n\n"
        extra = f"\n## More details\n\n{_para(rng, vocab, specific, rng.randint(3, 10))}\n"
        fm = [
            "---", f"id: {aid}", f'title: "{title}"', f"type: {typ}", f"status: {status}", f"audience: {audience}",
            f"owner: {product}-team", f'summary: "{summary}"', f"product: {product}",
            f"component: {rng.choice(p['components'])}", f"tags: [{product}, {feat}, {rng.choice(p['components'])}]",
            f"created: 2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            f"last_reviewed: 2026-{rng.randint(8, 10):02d}-{rng.randint(1, 28):02d}",
            f"error_codes: [{', '.join(repr(c) for c in codes)}]",
            f"aliases: [{', '.join(repr(a) for a in aliases)}]",
        ]
        if status == "retired":
            fm.append(f"replaced_by: {rng.choice(published)}")
        fm.append("---")
        folder = "runbooks" if typ == "runbook" else "articles"
        path = root / folder / f"{aid}.md"
        path.write_text("\n".join(fm) + "\n\n" + intro + body + extra, encoding="utf-8")
        if status == "published" and typ != "runbook":
            published.append(aid)
        made.append(GenArticle(aid, title, typ, status, audience, product, codes, aliases,
                               [w for w in (noun + " " + verb + " " + feat).split() if len(w) > 2], path))
    return made


# --- realistic queries ----------------------------------------------------------------------------

TYPO_OK = re.compile(r"^[a-z]{6,}$")


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randint(1, len(word) - 2)
    return word[:i] + word[i + 1:]


def make_queries(arts: list[GenArticle], n: int = 600, seed: int = 7) -> list[tuple[str, Filters | None]]:
    """A mix like analysts type: error codes, short keyword queries, phrases, boolean, field and wildcard
    queries, typos; about one in six with a filter."""
    rng = random.Random(seed)
    out: list[tuple[str, Filters | None]] = []
    with_codes = [a for a in arts if a.error_codes]
    while len(out) < n:
        a = rng.choice(arts)
        kind = rng.random()
        words = [w.lower() for w in a.keywords]
        if kind < 0.2 and with_codes:
            q = rng.choice(with_codes).error_codes[0]
        elif kind < 0.55:
            q = " ".join(rng.sample(words, min(len(words), rng.randint(2, 4))))
        elif kind < 0.65:
            q = f'"{" ".join(a.title.split()[:2]).lower()}"'
        elif kind < 0.72:
            q = f"{words[0]} AND {words[-1]}"
        elif kind < 0.77:
            q = f"{words[0]} NOT {rng.choice(GENERAL)}"
        elif kind < 0.85:
            q = f"title:{words[0]} {rng.choice(words)}"
        elif kind < 0.9:
            w = max(words, key=len)
            q = f"{w[:max(3, len(w) - 3)]}*"
        elif kind < 0.95:
            cands = [w for w in words if TYPO_OK.match(w)]
            q = " ".join([_typo(rng, rng.choice(cands))] + words[:1]) if cands else a.aliases[0]
        else:
            q = a.aliases[0]
        f = None
        if rng.random() < 0.17:
            f = rng.choice([Filters(type="runbook"), Filters(product=a.product), Filters(audience="public"),
                            Filters(type="troubleshooting", audience="public"), Filters(status=None, include_retired=True)])
        out.append((q, f))
    return out


def sample_queries(n: int = 500, seed: int = 11) -> list[tuple[str, Filters | None]]:
    """Queries for the sample KB: its error codes, titles, aliases and tags, recombined."""
    kb = load_kb(REPO / "kb")
    arts = []
    for a in kb.valid_articles:
        kw = [w for w in re.findall(r"[a-z][a-z0-9]+", (a.title + " " + " ".join(a.tags)).lower()) if len(w) > 2]
        arts.append(GenArticle(a.id, a.title, a.type, a.status, a.audience, a.product or "", a.error_codes,
                               a.aliases or [a.title], kw or [a.id], a.path))
    return make_queries(arts, n, seed)


# --- measuring --------------------------------------------------------------------------------------


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def time_kbtool(index_dir: Path, queries: list[tuple[str, Filters | None]]) -> tuple[list[float], list[str], float]:
    """Latencies (ms) of `Snapshot.search`, which scorer answered each query ("compiled" for
    plain words, "whoosh" for query syntax), and the one-off ms of loading and compiling
    the plain-word scorer (paid by the first plain query of a snapshot)."""
    snap = Index(index_dir).open()
    try:
        t = time.perf_counter()
        snap.plain_words()
        compile_ms = (time.perf_counter() - t) * 1000
        for q, f in queries[:20]:  # warm-up: first-use costs (stemmer caches, file pages)
            snap.search(q, f)
        out, engines = [], []
        for q, f in queries:
            t = time.perf_counter()
            r = snap.search(q, f)
            out.append((time.perf_counter() - t) * 1000)
            engines.append(r.engine)
        return out, engines, compile_ms
    finally:
        snap.close()


def time_tantivy(kb_root: Path, queries: list[tuple[str, Filters | None]], workdir: Path) -> tuple[list[float], float] | None:
    """The same queries on tantivy (title^4 error_codes^6 aliases^3 summary^2 body), top 10 with stored
    id/title fetched. Filters become `field:value` terms. Returns (latencies ms, build seconds)."""
    try:
        import tantivy
    except ImportError:
        return None
    kb = load_kb(kb_root)
    sb = tantivy.SchemaBuilder()
    for name in ("title", "aliases", "summary", "body"):
        sb.add_text_field(name, stored=name == "title", tokenizer_name="en_stem")
    sb.add_text_field("error_codes", stored=False, tokenizer_name="default")
    for name in ("id", "type", "status", "audience", "product"):
        sb.add_text_field(name, stored=name == "id", tokenizer_name="raw")
    schema = sb.build()
    path = workdir / "tantivy"
    path.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ix = tantivy.Index(schema, path=str(path))
    w = ix.writer(heap_size=128_000_000, num_threads=1)
    for a in kb.valid_articles:
        w.add_document(tantivy.Document(
            id=a.id, title=a.title, aliases=" ".join(a.aliases), summary=a.summary, body=a.text,
            error_codes=" ".join(a.error_codes), type=a.type, status=a.status, audience=a.audience,
            product=a.product or ""))
    w.commit()
    w.wait_merging_threads()
    build_s = time.perf_counter() - t0
    ix.reload()
    searcher = ix.searcher()
    fields = ["title", "aliases", "summary", "body", "error_codes"]
    boosts = {"title": 4.0, "error_codes": 6.0, "aliases": 3.0, "summary": 2.0}

    def run(q: str, f: Filters | None) -> None:
        f = f or Filters()
        text = q
        extra = [f"{k}:{v}" for k, v in (("type", f.type), ("audience", f.audience), ("product", f.product)) if v]
        if f.status and not f.include_retired:
            extra.append("(" + " OR ".join(f"status:{s}" for s in f.status) + ")")
        if extra:
            text = f"({q}) AND " + " AND ".join(extra)
        query, _errors = ix.parse_query_lenient(text, fields, field_boosts=boosts)
        for _score, addr in searcher.search(query, 10).hits:
            searcher.doc(addr)

    for q, f in queries[:20]:
        run(q, f)
    out = []
    for q, f in queries:
        t = time.perf_counter()
        run(q, f)
        out.append((time.perf_counter() - t) * 1000)
    return out, build_s


def touch_one(kb_root: Path) -> Path:
    """Edit one article (append a sentence) as an author would."""
    files = sorted((kb_root / "articles").glob("*.md"))
    p = files[len(files) // 2]
    p.write_text(p.read_text(encoding="utf-8") + "\nEdited for the benchmark: quasarwidget rollover.\n", encoding="utf-8")
    return p


def bench_kb(label: str, kb_root: Path, queries: list[tuple[str, Filters | None]], work: Path) -> dict[str, object]:
    if not kb_root.is_relative_to(work):  # never edit the repo's KB: work on a copy
        shutil.copytree(kb_root, work / f"kb-{label}")
        kb_root = work / f"kb-{label}"
    ix_dir = work / f"index-{label}"
    cfg = Config(root=work, kb=kb_root.resolve(), index_dir=ix_dir, site_dir=work / "site", mkdocs_yml=work / "mkdocs.yml")
    t = time.perf_counter()
    kb = load_kb(kb_root)
    load_s = time.perf_counter() - t
    full_s = Index(ix_dir).build(kb, rebuild=True).seconds
    incr = []
    for _ in range(3):  # `kbtool index` after editing one file: stat all, parse one, re-index one
        touch_one(kb_root)
        t = time.perf_counter()
        rep = update_index(cfg)
        incr.append((time.perf_counter() - t, rep.seconds))
        assert rep.updated == 1 and rep.added == 0 and rep.removed == 0 and not rep.full, rep.summary()
    snap = Index(ix_dir).open()
    assert any(h.path.startswith("articles/") for h in snap.search("quasarwidget").hits), "edit not searchable"
    snap.close()
    lat, engines, compile_ms = time_kbtool(ix_dir, queries)
    ref = time_tantivy(kb_root, queries, work / f"ref-{label}")
    return {"label": label, "docs": len(kb.valid_articles), "load_s": load_s, "full_s": full_s,
            "incr_s": statistics.median(i[1] for i in incr), "incr_e2e_s": statistics.median(i[0] for i in incr),
            "lat": lat, "ref": ref, "kinds": [kind_of(q) for q, _ in queries], "engines": engines,
            "compile_ms": compile_ms}


def kind_of(q: str) -> str:
    if q.startswith('"'):
        return "phrase"
    if " AND " in q or " NOT " in q:
        return "boolean"
    if ":" in q:
        return "field:value"
    if q.endswith("*"):
        return "wildcard"
    if re.search(r"[A-Z]+[-_]\d", q):
        return "error code"
    return "words"


def report(rows: list[dict[str, object]]) -> bool:
    ok = True
    print()
    print(f"{'KB':<12} {'docs':>6} {'load KB':>8} {'full build':>11} {'incr build':>13} {'incr e2e':>11} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'tantivy build':>14} {'tantivy p50/p95':>16} {'ratio p50/p95':>14}")
    for r in rows:
        lat = r["lat"]  # type: ignore[assignment]
        p50, p95 = pct(lat, 50), pct(lat, 95)  # type: ignore[arg-type]
        ref = r["ref"]
        if ref:
            rl = ref[0]  # type: ignore[index]
            r50, r95 = pct(rl, 50), pct(rl, 95)
            refs, ratio = f"{r50:.2f}/{r95:.2f}", f"{p50 / r50:.0f}x/{p95 / r95:.0f}x"
            ref_build = f"{ref[1]:.2f}s (1 thr)"  # type: ignore[index]
        else:
            refs, ratio, ref_build = "n/a", "n/a", "n/a"
        print(f"{r['label']:<12} {r['docs']:>6} {r['load_s']:>7.2f}s {r['full_s']:>10.2f}s {r['incr_s']:>12.3f}s "
              f"{r['incr_e2e_s']:>10.2f}s {p50:>7.2f} {p95:>7.2f} {max(lat):>7.2f} {ref_build:>14} {refs:>16} "  # type: ignore[arg-type]
              f"{ratio:>14}")
        if r["docs"] >= 10_000:  # type: ignore[operator]
            ok &= p95 < 20 and r["incr_e2e_s"] < 1.0  # type: ignore[operator]
    big = rows[-1]
    print(f"\nlatency by query kind ({big['label']}, kbtool ms / tantivy ms):")
    for kind in sorted(set(big["kinds"])):  # type: ignore[arg-type]
        mine = [x for x, k in zip(big["lat"], big["kinds"]) if k == kind]  # type: ignore[arg-type]
        ref = [x for x, k in zip(big["ref"][0], big["kinds"]) if k == kind] if big["ref"] else []  # type: ignore[index]
        refs = f"  tantivy p50 {pct(ref, 50):.2f} p95 {pct(ref, 95):.2f}" if ref else ""
        print(f"  {kind:<12} n={len(mine):<4} p50 {pct(mine, 50):7.2f}  p95 {pct(mine, 95):7.2f}{refs}")
    print("\nlatency by scorer (plain words: compiled BM25F; query syntax: Whoosh):")
    for r in rows:
        for engine in ("compiled", "whoosh"):
            mine = [x for x, e in zip(r["lat"], r["engines"]) if e == engine]  # type: ignore[arg-type]
            if mine:
                print(f"  {r['label']:<12} {engine:<9} n={len(mine):<4} p50 {pct(mine, 50):7.2f}  p95 {pct(mine, 95):7.2f}")
        print(f"  {r['label']:<12} load + compile of the plain-word scorer (once per snapshot): {r['compile_ms']:.0f} ms")
    print("\nqueries per KB:", len(rows[0]["lat"]), "(warm, single process; latency = Snapshot.search incl. highlighting)")  # type: ignore[arg-type]
    measured = any(r["docs"] >= 10_000 for r in rows)  # type: ignore[operator]
    print("targets at 10k: search p95 < 20 ms, one-file incremental update < 1 s:",
          ("met" if ok else "MISSED") if measured else "not measured (no 10,000-article KB in this run)")
    if measured:  # issue 17's (stated for real text; this KB is generated)
        met = all(r["full_s"] <= 30 and r["incr_e2e_s"] <= 0.3 for r in rows if r["docs"] >= 10_000)  # type: ignore[operator]
        print("issue 17 targets at 10k: full build <= 30 s, one-file update <= 0.3 s:", "met" if met else "MISSED")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="generated KB size (default 10000)")
    ap.add_argument("--queries", type=int, default=600, help="queries per KB (>= 500)")
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temp dir, removed)")
    ap.add_argument("--skip-sample", action="store_true")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="kbtool-bench-"))
    if args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        if not args.skip_sample:
            rows.append(bench_kb("sample", REPO / "kb", sample_queries(args.queries), work))
        gen = work / f"generated-{args.n}"
        t = time.perf_counter()
        arts = generate_kb(gen, args.n)
        print(f"generated {len(arts)} articles in {time.perf_counter() - t:.1f}s under {gen}", file=sys.stderr)
        rows.append(bench_kb(f"gen-{args.n}", gen, make_queries(arts, args.queries), work))
        return 0 if report(rows) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
