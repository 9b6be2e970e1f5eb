"""Ticket text in, ranked article suggestions out — with the evidence for each.

Speed: a ticket is a long OR query, and Whoosh scores every posting in Python. So at
index-open time we compile the index's forward data (per-document term counts from
Whoosh's own analyzers, see `index.Forward`) into one scipy CSR matrix of weights,
terms × documents. Each (term, doc) weight is independent of the query, so scoring a
ticket is one sparse row-slice and a dot product: no Python loop over postings.

Scoring is the per-field BM25 sum that Whoosh's own `BM25F` computes (each field
saturated on its own, then weighted): W(t,d) = idf(t) · Σ_f w_f·tf_f·(k1+1) /
(tf_f + k1·(1 − b_f + b_f·len_f/avglen_f)), with the textbook k1 = 1.2, b = 0.75.
Field weights favour where a support article states its problem (title, aliases,
symptoms) over the rest of the body. On StackFAQ dev this scored P@1 0.768 / MRR 0.840
where the saturate-after-combining variant scored 0.674 / 0.774 with the same weights.
"""

from __future__ import annotations

import html
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .config import Config
from .index import FORWARD_FIELDS, Forward, Index, Snapshot, analyze, current_build, snippet

FIELD_WEIGHTS = {"title": 3.0, "aliases": 2.5, "summary": 1.0, "symptoms": 1.2, "body": 1.0}
FIELD_B = {"title": 0.75, "aliases": 0.75, "summary": 0.75, "symptoms": 0.75, "body": 0.75}
K1 = 1.2
CODE_BONUS = 10.0         # an exact error-signature match is strong evidence
PRODUCT_BOOST = 1.15      # a ticket's product matching the article's
MAX_QUERY_TERMS = 64      # long emails: keep the most informative terms
# Confidence thresholds on the relative score (score / what the query would score against
# a title that contained every query term), calibrated on StackFAQ dev (625 tickets):
# top-1 precision was 0.91 at >= 0.35, 0.81 at >= 0.20; below 0.10 no correct answer
# was above 1% of the set, so those are dropped as noise. Re-measure: bench/bench_suggest.py.
HIGH, MEDIUM, MIN_SCORE = 0.35, 0.20, 0.10


# --- ticket clean-up ----------------------------------------------------------------

_QUOTE_HEADER = re.compile(
    r"^\s*(On .{3,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From:\s.+|_{10,})\s*$", re.I | re.M
)
_SIGNATURE = re.compile(r"^(--\s*|Sent from my \w+.*|Get Outlook for \w+.*)$", re.I | re.M)
_CLOSING = re.compile(r"^\s*(thanks|thank you|many thanks|best|best regards|kind regards|regards|cheers|sincerely)[ ,.!]*\s*$", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n]{0,40}[,!.:]?\s*$", re.I)
_DISCLAIMER = re.compile(r"(confidentiality notice|this e-?mail (and any attachments )?(is|are|may be) confidential|"
                         r"the information contained in this (e-?mail|message)|disclaimer:)", re.I)
_HTMLISH = re.compile(r"<(html|body|div|p|br|table|span|a|b|i|ul|li)\b", re.I)

ERROR_PATTERNS = [
    re.compile(r"\b(?:[A-Z][A-Za-z0-9]*::)?[A-Z][A-Z0-9]+(?:[-_][A-Z0-9]+)+\b"),   # SAML-403, ERR_CERT_DATE_INVALID
    re.compile(r"\bHTTP[ /]?(?:1\.[01] |2 )?([1-5]\d\d)\b", re.I),                  # HTTP 429, HTTP/1.1 403
    re.compile(r"\b([45]\d\d) (?:Too Many Requests|Forbidden|Unauthorized|Not Found|Bad Request|"
               r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Conflict|Gone)\b", re.I),
    re.compile(r"\b[A-Z][A-Za-z]+(?:Exception|Error)\b"),                             # NullPointerException
    re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"),                                            # insufficient_funds
]


def html_to_text(text: str) -> str:
    """Plain text of an HTML ticket body (BeautifulSoup, which markdownify brings along)."""
    if not _HTMLISH.search(text):
        return html.unescape(text)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for q in soup.find_all("blockquote"):
        q.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    return soup.get_text("\n")


def clean_ticket(subject: str, body: str) -> str:
    """The part of a ticket that describes the problem: no quotes, signatures, greetings, disclaimers."""
    text = html_to_text(body or "")
    m = _QUOTE_HEADER.search(text)
    if m:
        text = text[: m.start()]
    m = _SIGNATURE.search(text)
    if m:
        text = text[: m.start()]
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    while lines and (not lines[0].strip() or _GREETING.match(lines[0])):
        lines.pop(0)
    for i, ln in enumerate(lines):  # a closing word with at most a few short lines after it
        if _CLOSING.match(ln) and all(len(x) < 40 for x in lines[i + 1:]) and len(lines) - i <= 6:
            lines = lines[:i]
            break
    paras = re.split(r"\n\s*\n", "\n".join(lines))
    kept = [p for p in paras if not _DISCLAIMER.search(p)]
    return "\n".join(x for x in [subject.strip(), "\n\n".join(kept).strip()] if x)


def norm_code(code: str) -> str:
    code = code.upper().strip()
    code = code.rsplit("::", 1)[-1]
    code = re.sub(r"^HTTP[ /]?(?:1\.[01] |2 )?", "HTTP ", code)
    return re.sub(r"[\s_-]+", "-", code)


def extract_error_codes(text: str) -> list[str]:
    """Error signatures in ticket text, normalised (`SAML-403`, `HTTP-429`, `ERR-CERT-DATE-INVALID`)."""
    found: list[str] = []
    for rx in ERROR_PATTERNS:
        for m in rx.finditer(text):
            raw = m.group(0)
            if rx.groups and m.group(1) and not raw.upper().startswith("HTTP"):
                raw = f"HTTP {m.group(1)}"
            code = norm_code(raw)
            if code not in found:
                found.append(code)
    return found


# --- engine -------------------------------------------------------------------------


@dataclass
class Ticket:
    subject: str
    body: str = ""
    product: str | None = None
    audience: str = "public"
    limit: int = 5


@dataclass
class Suggestion:
    id: str
    title: str
    url: str | None
    score: float
    confidence: str
    snippet: str
    why: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SuggestResult:
    suggestions: list[Suggestion]
    reason: str | None = None
    error_codes: list[str] = field(default_factory=list)
    terms: int = 0
    semantic: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"suggestions": [s.to_dict() for s in self.suggestions], "reason": self.reason,
                "error_codes": self.error_codes, "semantic": self.semantic}


class Engine:
    """BM25F over a compiled sparse matrix, plus error-code and product evidence."""

    def __init__(self, forward: Forward, site_url: str = "/") -> None:
        self.site_url = site_url if site_url.endswith("/") else site_url + "/"
        self.docs = forward.docs
        self.vocab = {t: i for i, t in enumerate(forward.vocab)}
        n_docs, n_terms, n_f = len(forward.docs), len(forward.vocab), len(FORWARD_FIELDS)
        self.n_fields = n_f
        lengths = forward.lengths.astype(np.float64)
        avg = np.maximum(lengths.mean(axis=0), 1.0) if n_docs else np.ones(n_f)
        w = np.array([FIELD_WEIGHTS[f] for f in FORWARD_FIELDS])
        b = np.array([FIELD_B[f] for f in FORWARD_FIELDS])
        norm = 1.0 - b[forward.fld] + b[forward.fld] * lengths[forward.doc, forward.fld] / avg[forward.fld]
        tf = forward.count.astype(np.float64)
        per_field = w[forward.fld] * tf * (K1 + 1.0) / (tf + K1 * norm)
        m = sp.csr_matrix((per_field, (forward.term, forward.doc)), shape=(n_terms, n_docs))
        m.sum_duplicates()
        df = np.diff(m.indptr)  # documents containing the term in any field
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        self.idf = idf
        self.W = sp.csr_matrix((m.data * np.repeat(idf, df), m.indices, m.indptr), shape=(n_terms, n_docs))
        # the most a query term can score: saturated in every field
        self.term_ceiling = idf * (K1 + 1.0) * w.max()
        # docs × (term·F + field) presence, for the per-field `why` of the top hits
        self.presence = sp.csr_matrix(
            (np.ones(len(forward.doc), dtype=np.int8), (forward.doc, forward.term.astype(np.int64) * n_f + forward.fld)),
            shape=(n_docs, max(n_terms * n_f, 1)),
        )
        self.inv_vocab = forward.vocab
        ids = [str(d["id"]) for d in self.docs]
        self.index_of = {d: i for i, d in enumerate(ids)}
        status = np.array([d["status"] for d in self.docs] or [""], dtype=object)[:n_docs]
        audience = np.array([d["audience"] for d in self.docs] or [""], dtype=object)[:n_docs]
        kind = np.array([d.get("kind", "article") for d in self.docs] or [""], dtype=object)[:n_docs]
        self.live = status == "published"
        self.public = self.live & (audience == "public") & (kind != "runbook") & np.array(
            [d.get("type") != "runbook" for d in self.docs], dtype=bool)
        self.products = np.array([d.get("product") or "" for d in self.docs] or [""], dtype=object)[:n_docs]
        self.codes: dict[str, list[int]] = {}
        for i, d in enumerate(self.docs):
            for c in d.get("error_codes") or []:  # type: ignore[union-attr]
                self.codes.setdefault(norm_code(str(c)), []).append(i)
        # retired -> live successor (followed through chains)
        self.successor = np.full(n_docs, -1, dtype=np.int64)
        for i, d in enumerate(self.docs):
            if d["status"] == "retired":
                seen, cur = {i}, d
                while cur["status"] == "retired" and cur.get("replaced_by"):
                    j = self.index_of.get(str(cur["replaced_by"]))
                    if j is None or j in seen:
                        break
                    seen.add(j)
                    cur = self.docs[j]
                    if cur["status"] == "published":
                        self.successor[i] = j

    @classmethod
    def from_snapshot(cls, snap: Snapshot, site_url: str = "/") -> "Engine":
        return cls(snap.forward(), site_url)

    def url(self, doc_id: str) -> str:
        return f"{self.site_url}articles/{doc_id}/"

    def query_terms(self, text: str, subject: str) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and weights: subject terms count double; long tickets keep their best terms."""
        counts: dict[int, float] = {}
        subj = set(analyze(subject))
        for t in analyze(text):
            tid = self.vocab.get(t)
            if tid is not None:
                counts[tid] = 2.0 if t in subj else max(counts.get(tid, 0.0), 1.0)
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0)
        ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
        wts = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if len(ids) > MAX_QUERY_TERMS:
            keep = np.argsort(-(self.idf[ids] * wts), kind="stable")[:MAX_QUERY_TERMS]
            ids, wts = ids[keep], wts[keep]
        return ids, wts

    def rank(self, ticket: Ticket) -> tuple[np.ndarray, dict[str, Any]]:
        """Scores for every document (−inf where not allowed for this caller)."""
        text = clean_ticket(ticket.subject, ticket.body)
        codes = extract_error_codes(f"{ticket.subject}\n{ticket.body}")
        ids, wts = self.query_terms(text, ticket.subject)
        n = len(self.docs)
        scores = np.zeros(n)
        if len(ids):
            scores = self.W[ids].T.dot(wts) if n else scores
        code_hits: dict[int, list[str]] = {}
        for c in codes:
            for i in self.codes.get(c, ()):
                code_hits.setdefault(i, []).append(c)
                scores[i] += CODE_BONUS
        if ticket.product:
            scores = np.where(self.products == ticket.product, scores * PRODUCT_BOOST, scores)
        allowed = self.public if ticket.audience == "public" else self.live
        via: dict[int, int] = {}
        for i in np.flatnonzero((self.successor >= 0) & (scores > 0)):
            j = int(self.successor[i])
            if allowed[j] and scores[i] > scores[j]:
                scores[j] = scores[i]
                via[j] = int(i)
                if i in code_hits:
                    code_hits.setdefault(j, []).extend(code_hits[i])
        scores = np.where(allowed, scores, -np.inf)
        best = float((wts * self.term_ceiling[ids]).sum())
        return scores, {"ids": ids, "codes": codes, "code_hits": code_hits, "via": via, "best": best}

    def suggest(self, ticket: Ticket, snippets: bool = True) -> SuggestResult:
        scores, ev = self.rank(ticket)
        ids: np.ndarray = ev["ids"]
        if not len(ids) and not ev["codes"]:
            return SuggestResult([], "the ticket has no words that appear in the knowledge base", ev["codes"], 0)
        limit = max(1, min(ticket.limit, 50))
        finite = np.flatnonzero(scores > 0)
        if not len(finite):
            return SuggestResult([], "no published article matches this ticket", ev["codes"], len(ids))
        top = finite[np.argsort(-scores[finite], kind="stable")[:limit]]
        best = max(ev["best"], 1e-9)
        out: list[Suggestion] = []
        qterms = set(int(t) for t in ids)
        for i in top:
            i = int(i)
            score = float(scores[i])
            matched_codes = sorted(set(ev["code_hits"].get(i, [])))
            rel = min((score - CODE_BONUS * len(matched_codes)) / best, 1.0)
            if not matched_codes and rel < MIN_SCORE:
                continue
            conf = "high" if matched_codes or rel >= HIGH else "medium" if rel >= MEDIUM else "low"
            if out and score < 0.5 * out[0].score and conf != "low":  # far behind the top hit
                conf = "medium" if conf == "high" else "low"
            d = self.docs[i]
            why: dict[str, Any] = {"error_codes": matched_codes, "terms": self._matched_terms(i, qterms)}
            if ticket.product and d.get("product") == ticket.product:
                why["product"] = ticket.product
            if i in ev["via"]:
                why["replaces"] = self.docs[ev["via"][i]]["id"]
            words = [self.inv_vocab[t] for t in qterms]
            public = bool(self.public[i])  # only public articles have a help-center page
            out.append(Suggestion(id=str(d["id"]), title=str(d["title"]), url=self.url(str(d["id"])) if public else None,
                                  score=round(score, 3), confidence=conf,
                                  snippet=snippet(str(d.get("body") or d.get("summary") or ""), words) if snippets else "",
                                  why=why))
        if not out:
            return SuggestResult([], "no article matches well enough; nothing suggested rather than noise",
                                 ev["codes"], len(ids))
        return SuggestResult(out, None, ev["codes"], len(ids))

    def _matched_terms(self, doc: int, qterms: set[int]) -> dict[str, list[str]]:
        row = self.presence.indices[self.presence.indptr[doc]:self.presence.indptr[doc + 1]]
        out: dict[str, list[str]] = {}
        for col in row:
            t, f = divmod(int(col), self.n_fields)
            if t in qterms:
                out.setdefault(FORWARD_FIELDS[f], []).append(self.inv_vocab[t])
        return {f: sorted(v) for f, v in out.items()}


class EngineHolder:
    """Keeps one Engine per index build in memory; picks up a swapped-in build on next use.

    Requests already holding the old engine finish on it; the new build is compiled
    once, under a lock, while others keep using the old one.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.index = Index.for_config(config)
        self._engine: Engine | None = None
        self._build: Path | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        build = current_build(self.index.dir)
        if self._engine is not None and build == self._build:
            return self._engine
        if self._engine is not None and not self._lock.acquire(blocking=False):
            return self._engine
        if self._engine is None:
            self._lock.acquire()
        try:
            build = current_build(self.index.dir)
            if self._engine is None or build != self._build:
                snap = self.index.open()
                try:
                    engine = Engine.from_snapshot(snap, self.config.site_url)
                finally:
                    snap.close()
                self._engine, self._build = engine, snap.build
            return self._engine
        finally:
            self._lock.release()


def suggest(config: Config, ticket: Ticket) -> SuggestResult:
    """One-shot suggestion for the CLI: opens the configured index and ranks one ticket."""
    return EngineHolder(config).get().suggest(ticket)


# --- evaluation ---------------------------------------------------------------------


@dataclass
class EvalReport:
    n: int
    p_at_1: float
    mrr: float
    recall_at_5: float
    ndcg_at_5: float
    misses: list[dict[str, Any]]
    semantic: bool = False

    def metrics(self) -> dict[str, Any]:
        return {"n": self.n, "p@1": round(self.p_at_1, 4), "mrr": round(self.mrr, 4),
                "recall@5": round(self.recall_at_5, 4), "ndcg@5": round(self.ndcg_at_5, 4),
                "semantic": self.semantic}


def evaluate(engine: Engine, cases: list[dict[str, Any]], audience: str = "internal") -> EvalReport:
    """P@1, MRR (over the top 10), Recall@5 and nDCG@5 of `engine` on golden tickets."""
    p1 = mrr = rec5 = ndcg = 0.0
    misses = []
    for case in cases:
        expected = set(case["expected"])
        res = engine.suggest(Ticket(case.get("subject", ""), case.get("body", ""), case.get("product"), audience, 10),
                             snippets=False)
        ranked = [s.id for s in res.suggestions]
        first = next((r for r, i in enumerate(ranked, 1) if i in expected), None)
        p1 += first == 1
        mrr += 1 / first if first else 0
        rec5 += len(expected & set(ranked[:5])) / len(expected)
        dcg = sum(1 / math.log2(r + 1) for r, i in enumerate(ranked[:5], 1) if i in expected)
        idcg = sum(1 / math.log2(r + 1) for r in range(1, min(len(expected), 5) + 1))
        ndcg += dcg / idcg
        if first != 1:
            misses.append({"id": case.get("id"), "subject": case.get("subject", "")[:120],
                           "expected": sorted(expected), "got": ranked[:3], "rank": first})
    n = max(len(cases), 1)
    return EvalReport(len(cases), p1 / n, mrr / n, rec5 / n, ndcg / n, misses)


def read_golden(path: Path) -> list[dict[str, Any]]:
    """Golden tickets, one JSON object a line; a malformed line raises ValueError naming it."""
    import json

    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: invalid JSON: {e.msg}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("expected"), list) or not obj["expected"]:
            raise ValueError(f"{path}:{n}: each line needs an object with a non-empty 'expected' list of ids")
        if not isinstance(obj.get("subject", ""), str) or not isinstance(obj.get("body", ""), str):
            raise ValueError(f"{path}:{n}: 'subject' and 'body' must be strings")
        cases.append(obj)
    return cases
