"""Ticket text in, ranked article suggestions out — with the evidence for each.

Speed: a ticket is a long OR query, and Whoosh scores every posting in Python. So at
index-open time we compile the index's forward data (per-document term counts from
Whoosh's own analyzers, see `index.Forward`) into one scipy CSR matrix of weights,
terms × documents. Each (term, doc) weight is independent of the query, so scoring a
ticket is one gather of its terms' rows and a bincount: no Python loop over postings.
At 10,000 articles that is ~2 ms a ticket with evidence and snippets, where the same
query through Whoosh takes seconds (bench/bench_suggest.py).

Scoring is the per-field BM25 sum that Whoosh's own `BM25F` computes (each field
saturated on its own, then weighted): W(t,d) = idf(t) · Σ_f w_f·tf_f·(k1+1) /
(tf_f + k1·(1 − b_f + b_f·len_f/avglen_f)), with the textbook k1 = 1.2, b = 0.75.
Field weights favour where a support article states its problem (title, aliases,
symptoms) over the rest of the body. On StackFAQ dev this scored P@1 0.768 / MRR 0.840
where the saturate-after-combining variant scored 0.674 / 0.774 with the same weights.
"""

from __future__ import annotations

import functools
import html
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import semantic
from .config import Config
from .index import FORWARD_FIELDS, CompiledBM25F, Forward, Index, IndexProblem, Snapshot, analyze, current_build
from .semantic import Embeddings

FIELD_WEIGHTS = {"title": 3.0, "aliases": 2.5, "summary": 1.0, "symptoms": 1.2, "body": 1.0}
FIELD_B = {"title": 0.75, "aliases": 0.75, "summary": 0.75, "symptoms": 0.75, "body": 0.75}
K1 = 1.2
PRODUCT_BOOST = 1.15      # a ticket's product matching the article's
MAX_QUERY_TERMS = 64      # long emails: keep the most informative terms
# Evidence is measured in units of the most one query word can score: a word no other
# article has (the largest idf), saturated in the title. An article listing an error code
# the ticket contains is decisive evidence: it gains the best lexical score of the request
# plus CODE_BONUS units, so it ranks above every article without the code, and lexical
# evidence orders the articles that have it.
CODE_BONUS = 1.0
# A bare HTTP status (`HTTP-403`) is a protocol outcome many unrelated problems share: it
# only adds a quarter unit, and gives no "high" confidence on its own.
GENERIC_CODE = re.compile(r"HTTP-\d{3}")
GENERIC_CODE_WEIGHT = 0.25
# Whether to suggest, and how confidently, from two measures of the top hits' lexical score:
# - strength: the score in the units above (how much evidence there is at all);
# - relative score: the score / what the ticket's words could score at most, words the KB
#   does not know counting OOV_WEIGHT of a unique word (how much of the ticket it explains).
# Nothing is suggested unless some hit has strength >= MIN_STRENGTH; hits with a relative
# score < MIN_SCORE are dropped. Calibrated on 725 positive tickets (StackFAQ dev on its KB,
# kb/golden.jsonl on kb/) and 785 negatives (each set against the other KB, plus 30 off-topic
# tickets on both): the gate leaves 8 of the 60 off-topic runs with any suggestion instead of
# 51, for 0.003 of StackFAQ dev MRR (0.837 -> 0.834; P@1 0.766 -> 0.765). Top-1 precision:
# 0.96 at high (relative >= 0.35 and strength >= 1.5, or a specific error-code match), 0.77 at
# medium (>= 0.25 and >= 1.0), 0.56 at low. Re-measure: bench/bench_suggest.py --calibrate.
OOV_WEIGHT = 0.5
MIN_STRENGTH = 0.75
HIGH, MEDIUM, MIN_SCORE = 0.35, 0.25, 0.10
HIGH_STRENGTH, MEDIUM_STRENGTH = 1.5, 1.0
# Hybrid ranking (the `semantic` extra): a convex combination of the two scores, each
# normalised by what it could be at most — cosine similarity is already in [0, 1] (clipped
# at 0), and the lexical score is divided by the ticket's own ceiling (`best` above, the
# "theoretical" min-max normalisation of Bruch et al., "An Analysis of Fusion Functions for
# Hybrid Retrieval", TOIS 2023). Unlike rank fusion (RRF), it keeps how *much* better one
# article matches, so a strong lexical match is not out-voted by a middling paraphrase, nor
# the reverse; unlike min-max over the result list, a ticket whose best lexical match is
# weak stays weak. Error codes keep their decisive bonus on top (a fused score is <= 1).
# One weight, not learned: 0.7, measured at 0.6 / 0.7 / 0.8 on both our sets
# (bench/bench_semantic.py; the model alone is weight 1): StackFAQ dev P@1 0.949 / 0.952 /
# 0.954 (0.944 alone), kb/golden.jsonl 0.97 / 0.95 / 0.94 (0.91 alone). The middle of a flat
# optimum rather than the best of either set: a held-out set is scored too.
SEMANTIC_WEIGHT = 0.7
# Gate and confidence on the fused score, from 725 positive tickets (StackFAQ dev, golden)
# and 785 negatives (each set against the other KB, plus 30 off-topic tickets on both): a
# gate of 0.30 loses 1 correct top hit and lets 61 of 725 cross-KB and 4 of 60 off-topic runs
# through (0.35: 9 lost, 25 and 4). Top-1 precision 0.89 at [0.30, 0.40), 0.92 at
# [0.40, 0.50), 0.93 at [0.50, 0.60), 0.98 above. High: >= 0.60 (or an exact code), medium: >= 0.40.
HYBRID_MIN_SCORE, HYBRID_DROP = 0.30, 0.20
HYBRID_HIGH, HYBRID_MEDIUM = 0.60, 0.40


# --- ticket clean-up ----------------------------------------------------------------

# A quote header ends the part of an email that is new. Gmail wraps long "On … wrote:"
# lines, so the header may span two lines. "From:" counts only when it looks like a
# mail header (an address, or a Sent:/Date:/To: line right below it).
_QUOTE_HEADER = re.compile(
    r"^[ \t]*(?:"
    r"(?:On|Am|Le|El|Op)\s[^\n]{3,200}?(?:\n[^\n]{0,120}?)?(?:wrote|schrieb|a écrit|escribió|schreef)\s?:"
    r"|-{2,}\s*(?:Original Message|Forwarded message)\s*-{2,}"
    r"|Begin forwarded message:"
    r"|From:[ \t]+[^\n]*(?:[\w.+-]+@[\w-]+\.[\w.-]+|\n[ \t]*(?:Sent|Date|To)[ \t]*:[^\n]*)"
    r"|_{10,}"
    r")[ \t]*$", re.I | re.M)
_FORWARD_HEADER = re.compile(r"-{2,}\s*Forwarded|Begin forwarded", re.I)
_FORWARD_SUBJECT = re.compile(r"^[ \t]*Subject:[ \t]*(?:fwd?|wg|tr)[ \t]*:", re.I | re.M)
_HEADER_LINE = re.compile(r"[ \t]*(?:From|Sent|Date|To|Cc|Bcc|Subject|Reply-To)[ \t]*:[^\n]*", re.I)
_SIGNATURE = re.compile(r"^(?:--[ \t]*|Sent from my [^\n]*|Sent from (?:Mail|Outlook|Yahoo Mail|Gmail)\b[^\n]*|"
                        r"Get Outlook for [^\n]*)$", re.I | re.M)
_CLOSING = re.compile(
    r"^\s*(?i:(?:many\s+)?thanks|thank\s+you|thx|cheers|regards|best(?:\s+regards|\s+wishes)?|kind\s+regards|"
    r"warm\s+regards|with\s+regards|sincerely|yours\s+(?:truly|sincerely))"
    r"(?i:\s+(?:in\s+advance|so\s+much|a\s+lot|again))?"
    r"(?i:\s+for\s+(?:your|the|any)\s+(?:help|support|time|assistance|patience))?"
    r"\s*[,.!]*(?:\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?\s*$")
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|greetings|good\s+(?:morning|afternoon|evening)|hallo|bonjour)"
                       r"(?:\s+[\w.'&-]+){0,3}\s*[,!.:;-]*\s*$", re.I)
_DISCLAIMER = re.compile(r"(confidentiality notice|this e-?mail (and any attachments )?(is|are|may be) confidential|"
                         r"the information contained in this (e-?mail|message)|disclaimer:)", re.I)
_HTMLISH = re.compile(r"<(?:html|head|body|div|p|br|table|tr|td|span|a|b|i|u|em|strong|font|ul|ol|li|blockquote|"
                      r"pre|h[1-6]|img|hr|style)\b[^>]*>", re.I)
_BLOCK_TAGS = ["p", "div", "li", "tr", "table", "ul", "ol", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6"]
_WORD = re.compile(r"[^\W\d_]{2,}")

ERROR_PATTERNS = [
    re.compile(r"\b(?:[A-Z][A-Za-z0-9]*::)?[A-Z][A-Z0-9]+(?:[-_][A-Z0-9]+)+\b"),   # SAML-403, ERR_CERT_DATE_INVALID
    re.compile(r"\bHTTP[ /]?(?:1\.[01] |2 )?([1-5]\d\d)\b", re.I),                  # HTTP 429, HTTP/1.1 403
    re.compile(r"\b([45]\d\d) (?:Too Many Requests|Forbidden|Unauthorized|Not Found|Bad Request|"
               r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Conflict|Gone)\b", re.I),
    re.compile(r"\b[A-Z][A-Za-z]+(?:Exception|Error)\b"),                             # NullPointerException
    re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"),                                            # insufficient_funds
]


def html_to_text(text: str) -> str:
    """Plain text of an HTML ticket body (BeautifulSoup, which markdownify brings along).

    Quoted history (`<blockquote>`) and non-content (`<style>`, `<script>`, `<head>`) go;
    block elements become line breaks, inline ones don't, so a `<b>From:</b> x` header
    stays one line for the text rules that follow.
    """
    if not _HTMLISH.search(text):
        return html.unescape(text)
    from bs4 import BeautifulSoup

    def convert(drop_quotes: bool) -> str:
        soup = BeautifulSoup(text, "html.parser")
        for tag in soup.find_all(["style", "script", "head", "title"] + (["blockquote"] if drop_quotes else [])):
            tag.decompose()
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for tag in soup.find_all(_BLOCK_TAGS):
            tag.insert_before("\n")
            tag.insert_after("\n")
        return soup.get_text()

    out = convert(drop_quotes=True)
    if len(_WORD.findall(out)) < 3:  # everything was quoted (e.g. a forward): the quote is the ticket
        out = convert(drop_quotes=False)
    return out


def _strip_quoted(text: str) -> str:
    """Cut quoted history at the first quote header, unless the text above it is not the ticket.

    For a forwarded ticket, or a reply typed below the quote (fewer than 4 words above the
    header), the header lines are dropped and the text after them is kept instead.
    """
    for _ in range(10):
        m = _QUOTE_HEADER.search(text)
        if not m:
            break
        head, rest = text[: m.start()], text[m.end():]
        above = [ln for ln in head.split("\n") if ln.strip() and not _GREETING.match(ln)]
        block = rest.lstrip("\n").split("\n\n", 1)[0]
        forward = bool(_FORWARD_HEADER.match(m.group().strip()) or _FORWARD_SUBJECT.search(block))
        if not forward and len(_WORD.findall("\n".join(above))) >= 4:
            return head
        lines = rest.split("\n")
        while lines and (not lines[0].strip() or _HEADER_LINE.fullmatch(lines[0])):
            lines.pop(0)
        text = head + "\n" + "\n".join(lines)
    return text


def clean_ticket(subject: str, body: str) -> str:
    """The part of a ticket that describes the problem: no quotes, signatures, greetings, disclaimers."""
    text = html_to_text(body or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _strip_quoted(text)
    m = _SIGNATURE.search(text)
    if m:
        text = text[: m.start()]
    text = "\n\n".join(p for p in re.split(r"\n\s*\n", text) if not _DISCLAIMER.search(p))
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    while lines and (not lines[0].strip() or _GREETING.match(lines[0])):
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    for i, ln in enumerate(lines):  # a closing line with at most a few short lines (a signature) after it
        if _CLOSING.match(ln) and all(len(x) < 60 for x in lines[i + 1:]) and len(lines) - i <= 8:
            lines = lines[:i]
            break
    return "\n".join(x for x in [(subject or "").strip(), "\n".join(lines).strip()] if x)


def norm_code(code: str) -> str:
    """One spelling per error code: upper case, `-` between parts, `HTTP-429` for any HTTP status form."""
    code = " ".join(code.upper().split())
    code = code.rsplit("::", 1)[-1]
    m = ERROR_PATTERNS[2].fullmatch(code)
    if m:
        code = f"HTTP {m.group(1)}"
    code = re.sub(r"^HTTP[ /]?(?:1\.[01] |2 )?", "HTTP ", code)
    return re.sub(r"[\s_-]+", "-", code)


_CODE_TOKEN = re.compile(r"([A-Za-z0-9]+)([^A-Za-z0-9]*)")


def _code_sep(sep: str) -> str | None:
    """How a separator inside an error code is compared: `-`/`_` alike, any whitespace alike, `::`; else no code."""
    if sep and set(sep) <= {"-", "_"}:
        return "-"
    if sep and sep.isspace():
        return " "
    return "::" if sep == "::" else None


def _code_key(code: str) -> str | None:
    """The case-insensitive, separator-aware form an article's code is looked up by (None: not scannable)."""
    parts = _CODE_TOKEN.findall(code.strip())
    if not parts or not re.fullmatch(r"[A-Za-z0-9]", code.strip()[:1]):
        return None
    key = ""
    for k, (tok, sep) in enumerate(parts):
        key += tok.upper()
        if k < len(parts) - 1:
            s = _code_sep(sep)
            if s is None:
                return None
            key += s
        elif sep.strip():
            return None  # trailing punctuation: not a plain code
    return key


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
    semantic: bool = True  # use the embedding model when the index has embeddings


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

    def __init__(self, forward: Forward, site_url: str = "/", embeddings: Embeddings | None = None) -> None:
        self.site_url = site_url if site_url.endswith("/") else site_url + "/"
        self.embeddings, self.semantic_note = _usable_embeddings(forward, embeddings)
        self.docs = forward.docs
        self.vocab = {t: i for i, t in enumerate(forward.vocab)}
        n_docs, n_terms, n_f = len(forward.docs), len(forward.vocab), len(FORWARD_FIELDS)
        self.n_fields = n_f
        w = np.array([FIELD_WEIGHTS[f] for f in FORWARD_FIELDS])
        self.bm25 = CompiledBM25F(forward.doc, forward.fld, forward.term, forward.count, forward.lengths, n_terms,
                                  w, K1, [FIELD_B[f] for f in FORWARD_FIELDS])  # terms × docs, fields summed
        self.idf = idf = self.bm25.idf
        self.W = self.bm25.W
        # the most a query term can score: saturated in the heaviest field
        self.term_ceiling = idf * (K1 + 1.0) * w.max()
        # the unit of evidence: what a word no other document has scores, saturated in the title
        self.unit = float(np.log(1.0 + (n_docs + 0.5) / 0.5) * (K1 + 1.0) * w.max())
        # docs × (term·F + field) presence, for the per-field `why` of the top hits
        self.presence = sp.csr_matrix(
            (np.ones(len(forward.doc), dtype=np.int8), (forward.doc, forward.term.astype(np.int64) * n_f + forward.fld)),
            shape=(n_docs, max(n_terms * n_f, 1)),
        )
        self.inv_vocab = forward.vocab
        ids = [str(d["id"]) for d in self.docs]
        self.index_of = {d: i for i, d in enumerate(ids)}
        status = np.array([d["status"] for d in self.docs] + [""], dtype=object)[:n_docs]
        audience = np.array([d["audience"] for d in self.docs] + [""], dtype=object)[:n_docs]
        kind = np.array([d.get("kind", "article") for d in self.docs] + [""], dtype=object)[:n_docs]
        typ = np.array([d.get("type") for d in self.docs] + [""], dtype=object)[:n_docs]
        self.live = status == "published"
        # what a public caller may see: published, public, not a runbook (by folder or by type)
        self.public = self.live & (audience == "public") & (kind != "runbook") & (typ != "runbook")
        # retired content a caller could have seen had it been live: public callers follow only public succession
        self.public_retired = (status == "retired") & (audience == "public") & (kind != "runbook") & (typ != "runbook")
        self.products = np.array([d.get("product") or "" for d in self.docs] + [""], dtype=object)[:n_docs]
        self._product_ids = {p: k for k, p in enumerate(sorted(set(self.products.tolist())))}
        self.product_of = np.array([self._product_ids[p] for p in self.products.tolist()], dtype=np.int32)
        # error codes: by normalised code (for regex-extracted ticket codes) and by separator-aware key
        # (to find the KB's own codes in the ticket whatever their case)
        self.codes: dict[str, list[int]] = {}
        self.code_keys: dict[str, list[tuple[int, str]]] = {}
        for i, d in enumerate(self.docs):
            for c in d.get("error_codes") or []:  # type: ignore[union-attr]
                c = str(c)
                shown = norm_code(c)
                docs = self.codes.setdefault(shown, [])
                if i not in docs:
                    docs.append(i)
                for variant in {c, c.rsplit("::", 1)[-1]}:
                    key = _code_key(variant)
                    if key and (i, shown) not in self.code_keys.get(key, []):
                        self.code_keys.setdefault(key, []).append((i, shown))
        self.code_first = {k.split("-")[0].split(" ")[0].split("::")[0] for k in self.code_keys}
        self.code_span = max((len(_CODE_TOKEN.findall(k)) for k in self.code_keys), default=0)
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
        self.retired = np.flatnonzero(self.successor >= 0)
        # a term a public caller may know about: it occurs in a public document, or in a retired
        # public one that public callers are led through to its public successor
        visible = self.public.copy()
        visible[self.retired] |= self.public_retired[self.retired] & self.public[self.successor[self.retired]]
        self.public_terms = np.asarray(self.W[:, np.flatnonzero(visible)].getnnz(axis=1) > 0).ravel() \
            if n_docs else np.zeros(n_terms, dtype=bool)

    @classmethod
    def from_snapshot(cls, snap: Snapshot, site_url: str = "/", semantic: bool = True) -> "Engine":
        """The engine for one index build, semantic if the build has embeddings and the model loads."""
        return cls(snap.forward(), site_url, load_embeddings(snap.build) if semantic else None)

    @property
    def semantic(self) -> bool:
        return self.embeddings is not None

    def url(self, doc_id: str) -> str:
        return f"{self.site_url}articles/{doc_id}/"

    def query_terms(self, text: str, subject: str) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and weights: subject terms count double; long tickets keep their best terms."""
        ids, wts, _ = self._query(text, subject, None)
        return ids, wts

    def _query(self, text: str, subject: str, known: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
        """`query_terms`, counting only terms `known` allows, plus the total weight of the other words."""
        counts: dict[int, float] = {}
        unknown: dict[str, float] = {}
        subj = {_term_of(w.lower()) for w in _ANALYZER_TOKEN.findall(subject)}
        # Whoosh's analyzer, once per distinct word (its tokenizer's own pattern), cached across tickets
        for word in dict.fromkeys(w.lower() for w in _ANALYZER_TOKEN.findall(text)):
            t = _term_of(word)
            if t is None:  # a stop word
                continue
            w = 2.0 if t in subj else 1.0
            tid = self.vocab.get(t)
            if tid is None or (known is not None and not known[tid]):
                unknown[t] = max(unknown.get(t, 0.0), w)
            else:
                counts[tid] = max(counts.get(tid, 0.0), w)
        oov = sum(unknown.values())
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0), oov
        ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
        wts = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if len(ids) > MAX_QUERY_TERMS:
            oov *= MAX_QUERY_TERMS / len(ids)  # the kept terms are a sample of the ticket; so are its unknown words
            keep = np.argsort(-(self.idf[ids] * wts), kind="stable")[:MAX_QUERY_TERMS]
            ids, wts = ids[keep], wts[keep]
        return ids, wts, oov

    def lexical(self, ids: np.ndarray, wts: np.ndarray) -> np.ndarray:
        """BM25F score of every document for weighted query terms: one gather and one bincount."""
        return self.bm25.score(ids, wts)

    def match_codes(self, text: str) -> tuple[list[str], dict[int, list[str]]]:
        """Error signatures in `text` and the documents listing them: (codes found, doc -> its matched codes)."""
        found = extract_error_codes(text)
        hits: dict[int, list[str]] = {}
        for c in found:
            for i in self.codes.get(c, ()):
                hits.setdefault(i, []).append(c)
        if self.code_keys:
            pairs = _CODE_TOKEN.findall(text)
            for k, (tok, _) in enumerate(pairs):
                if tok.upper() not in self.code_first:
                    continue
                key = ""
                for j in range(k, min(k + self.code_span, len(pairs))):
                    key += pairs[j][0].upper()
                    for i, shown in self.code_keys.get(key, ()):
                        if shown not in hits.setdefault(i, []):
                            hits[i].append(shown)
                    sep = _code_sep(pairs[j][1])
                    if sep is None:
                        break
                    key += sep
        return found, hits

    def rank(self, ticket: Ticket) -> tuple[np.ndarray, dict[str, Any]]:
        """Scores for every document (−inf where not allowed for this caller)."""
        text = clean_ticket(ticket.subject, ticket.body)
        public = ticket.audience == "public"
        allowed = self.public if public else self.live
        # for a public caller, words only non-public content has are unknown words: no evidence, nothing to probe
        ids, wts, oov = self._query(text, ticket.subject, self.public_terms if public else None)
        scores = self.lexical(ids, wts)
        if ticket.product and ticket.product in self._product_ids:
            scores[self.product_of == self._product_ids[ticket.product]] *= PRODUCT_BOOST
        best = float((wts * self.term_ceiling[ids]).sum()) + OOV_WEIGHT * oov * self.unit
        sem = None
        if self.embeddings is not None and ticket.semantic and text.strip():
            try:
                sem = np.maximum(self.embeddings.similarity(semantic.embed_query(text)), 0.0)
            except semantic.SemanticUnavailable:
                pass  # switched off since the engine was built: the lexical ranking, reported as such
        if sem is not None:
            # convex fusion of theoretically normalised scores (see SEMANTIC_WEIGHT)
            scores = SEMANTIC_WEIGHT * sem + (1.0 - SEMANTIC_WEIGHT) * np.minimum(scores / max(best, 1e-9), 1.0)
        found, code_hits = self.match_codes(text)
        bonus: dict[int, float] = {}
        if code_hits:
            lex_max = float(scores[allowed].max()) if allowed.any() else 0.0
            unit = 1.0 if sem is not None else self.unit  # a fused score is at most 1
            for i, cs in code_hits.items():
                w = max(_code_weight(c) for c in cs)
                bonus[i] = CODE_BONUS * unit * w + (lex_max if w == 1.0 else 0.0)
                scores[i] += bonus[i]
        # a retired article's evidence goes to its live successor (for public callers: public succession only)
        retired = self.retired[self.public_retired[self.retired]] if public else self.retired
        via: dict[int, int] = {}
        if len(retired):
            r = retired[scores[retired] > 0]
            j = self.successor[r]
            ok = allowed[j] & (scores[r] > scores[j])
            r, j = r[ok], j[ok]
            order = np.argsort(scores[r], kind="stable")  # ascending: the best retired article is written last
            for i, s in zip(r[order].tolist(), j[order].tolist()):
                via[s] = i
            if len(r):
                scores = scores.copy()
                np.maximum.at(scores, j, scores[r])
            for s, i in via.items():  # the successor now carries the retired article's score, bonus included
                if i in code_hits:
                    code_hits[s] = list(dict.fromkeys(code_hits.get(s, []) + code_hits[i]))
                bonus[s] = bonus.get(i, 0.0)
        scores = np.where(allowed, scores, -np.inf)
        # evidence from articles this caller may not see is forgotten here, so nothing below can reveal it
        code_hits = {i: cs for i, cs in code_hits.items() if allowed[i]}
        bonus = {i: b for i, b in bonus.items() if allowed[i]}
        shown = list(found)  # codes written in the ticket, plus the KB codes of articles this caller may see
        for cs in code_hits.values():
            shown += [c for c in cs if c not in shown]
        return scores, {"ids": ids, "codes": shown, "code_hits": code_hits, "via": via, "best": best,
                        "bonus": bonus, "snippet_terms": [self.inv_vocab[t] for t in ids.tolist()], "sem": sem}

    def suggest(self, ticket: Ticket, snippets: bool = True) -> SuggestResult:
        scores, ev = self.rank(ticket)
        ids: np.ndarray = ev["ids"]
        sem: np.ndarray | None = ev["sem"]
        used = sem is not None

        def empty(reason: str, terms: int) -> SuggestResult:
            return SuggestResult([], reason, ev["codes"], terms, used)

        if not len(ids) and not ev["code_hits"] and not used:  # (for public callers: words public content has)
            return empty("the ticket has no words that appear in the knowledge base", 0)
        limit = max(1, min(ticket.limit, 50))
        finite = np.flatnonzero(scores > 0)
        if not len(finite):
            return empty("no published article matches this ticket", len(ids))
        if len(finite) > limit:
            finite = finite[np.argpartition(-scores[finite], limit - 1)[:limit]]
        top = finite[np.argsort(-scores[finite], kind="stable")]
        best = max(ev["best"], 1e-9)
        # (score without the code bonus: lexical, or fused; matched codes) of each hit
        hits = [(float(scores[i]) - ev["bonus"].get(i, 0.0), sorted(set(ev["code_hits"].get(i, []))))
                for i in top.tolist()]
        gate = HYBRID_MIN_SCORE if used else MIN_STRENGTH * self.unit
        if not any(codes or lex >= gate for lex, codes in hits):
            return empty("no article matches well enough; nothing suggested rather than noise", len(ids))
        out: list[Suggestion] = []
        qmask = np.zeros(len(self.inv_vocab), dtype=bool)
        qmask[ids] = True
        any_code = any(_code_weight(c) == 1.0 for _, codes in hits for c in codes)
        for i, (lex, matched_codes) in zip(top.tolist(), hits):
            score = float(scores[i])
            exact = any(_code_weight(c) == 1.0 for c in matched_codes)
            if used:  # the fused score is already relative (0..1)
                if not matched_codes and lex < HYBRID_DROP:
                    continue
                conf = "high" if exact or lex >= HYBRID_HIGH else "medium" if lex >= HYBRID_MEDIUM else "low"
            else:
                rel = min(lex / best, 1.0)
                strength = lex / self.unit
                if not matched_codes and rel < MIN_SCORE:
                    continue
                if exact or (rel >= HIGH and strength >= HIGH_STRENGTH):
                    conf = "high"
                else:
                    conf = "medium" if rel >= MEDIUM and strength >= MEDIUM_STRENGTH else "low"
            if any_code and not exact and conf == "high":  # another article has the exact error code
                conf = "medium"
            if out and score < 0.5 * out[0].score and conf != "low":  # far behind the top hit
                conf = "medium" if conf == "high" else "low"
            d = self.docs[i]
            why: dict[str, Any] = {"error_codes": matched_codes, "terms": self._matched_terms(i, qmask)}
            if used:
                why["semantic"] = round(float(sem[i]), 3)  # type: ignore[index]
            if ticket.product and d.get("product") == ticket.product:
                why["product"] = ticket.product
            if i in ev["via"]:
                why["replaces"] = self.docs[ev["via"][i]]["id"]
            public = bool(self.public[i])  # only public articles have a help-center page
            body = d.get("body")
            text = str(body or d.get("summary") or "")
            words = why["terms"].get("body" if body else "summary") or ev["snippet_terms"]
            if snippets:  # the passage is placed by the rarest words; all of them are highlighted
                rare = sorted(words, key=lambda t: -self.idf[self.vocab[t]])[:PASSAGE_TERMS]
                snip = _highlight(_passage(text, rare), frozenset(words))
            out.append(Suggestion(id=str(d["id"]), title=str(d["title"]), url=self.url(str(d["id"])) if public else None,
                                  score=round(score, 3), confidence=conf, snippet=snip if snippets else "", why=why))
        if not out:
            return empty("no article matches well enough; nothing suggested rather than noise", len(ids))
        return SuggestResult(out, None, ev["codes"], len(ids), used)

    def _matched_terms(self, doc: int, qmask: np.ndarray) -> dict[str, list[str]]:
        """Query terms (`qmask`: a boolean per vocabulary term) present in each field of `doc`."""
        row = self.presence.indices[self.presence.indptr[doc]:self.presence.indptr[doc + 1]]
        terms, fields = np.divmod(row, self.n_fields)
        hit = qmask[terms]
        out: dict[str, list[str]] = {}
        for t, f in zip(terms[hit].tolist(), fields[hit].tolist()):
            out.setdefault(FORWARD_FIELDS[f], []).append(self.inv_vocab[t])
        return {f: sorted(v) for f, v in out.items()}


def load_embeddings(build: Path) -> Embeddings | None:
    """The build's document vectors when semantic matching can run here, else None.

    Loads the model too (once per process), so the first ticket does not pay for it.
    """
    path = build / semantic.EMBEDDINGS
    if not path.exists() or not semantic.available():
        return None
    try:
        emb = semantic.Embeddings.load(path)
        semantic.model()
    except (OSError, ValueError, semantic.SemanticUnavailable):
        return None  # damaged vectors or a model that will not load: lexical, and `semantic: false` says so
    return emb if emb.compatible() else None


def _usable_embeddings(forward: Forward, emb: Embeddings | None) -> tuple[Embeddings | None, str | None]:
    """`emb` if it covers exactly the forward documents, in order (they are built together)."""
    if emb is None:
        return None, semantic.unavailable_reason() or "the index has no embeddings (run `kbtool index`)"
    if emb.ids != [str(d["id"]) for d in forward.docs]:
        return None, "the embeddings do not match the index (run `kbtool index --rebuild`)"
    return emb, None


def _code_weight(code: str) -> float:
    return GENERIC_CODE_WEIGHT if GENERIC_CODE.fullmatch(code) else 1.0


_ANALYZER_TOKEN = re.compile(r"\w+(?:\.?\w+)*")  # Whoosh RegexTokenizer's default pattern


PASSAGE_TERMS = 6  # query words that place the snippet's passage
SNIPPET_CHARS = 200


@functools.lru_cache(maxsize=200_000)
def _term_of(word: str) -> str | None:
    """The index term of one word (Whoosh's analyzer via `index.analyze`; cached: words repeat).

    The analyzer's filters (lower case, stop words, stemming) work token by token, so a
    word analysed alone gives the term it gives inside any text.
    """
    terms = analyze(word)
    return terms[0] if len(terms) == 1 else None


def _highlight(passage: str, terms: frozenset[str], chars: int = SNIPPET_CHARS, markup: str = "**") -> str:
    """`passage` cut to about `chars` at word ends, with every word whose index term is a query term marked.

    The same words Whoosh's highlighter marks (its tokenizer pattern, its analyzer per word), for
    a fraction of its cost per suggestion.
    """
    text = " ".join(passage.split())
    if len(text) > chars:
        cut = text.rfind(" ", 0, chars + 1)
        text = text[: cut if cut > chars // 2 else chars].rstrip(" ,;:(") + " …"
    out, last = [], 0
    for m in _ANALYZER_TOKEN.finditer(text):
        if _term_of(m.group()) in terms:
            out += [text[last:m.start()], markup, m.group(), markup]
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def _passage(text: str, terms: list[str] | set[str], width: int = 240) -> str:
    """The `width`-character stretch of `text` that mentions the most distinct query terms.

    Whoosh's highlighter tokenises everything it is given, so it gets only this stretch:
    a long article then costs no more than a short one. `terms` are analysed (stemmed)
    terms; a word starting with one counts as a mention.
    """
    if len(text) <= width:
        return text
    low = text.lower()
    hits: list[tuple[int, str]] = []
    for t in terms:
        i, n = low.find(t), 0
        while i >= 0 and n < 12:
            if i == 0 or not low[i - 1].isalnum():
                hits.append((i, t))
                n += 1
            i = low.find(t, i + len(t))
    if not hits:
        return text[:width]
    hits.sort()
    best_start, best_n = hits[0][0], 0
    counts: dict[str, int] = {}
    lo = 0
    for pos, term in hits:
        counts[term] = counts.get(term, 0) + 1
        while hits[lo][0] < pos - width + 60:
            t = hits[lo][1]
            counts[t] -= 1
            if not counts[t]:
                del counts[t]
            lo += 1
        if len(counts) > best_n:
            best_n, best_start = len(counts), hits[lo][0]
    start = max(0, best_start - 80)
    if start:  # begin at a sentence or line start shortly before the first hit, else at a word
        cut = max(text.rfind(". ", start, best_start), text.rfind("\n", start, best_start))
        start = cut + 1 if cut >= 0 else (text.find(" ", start, best_start) + 1 or start)
    return text[start:start + width].strip()


class EngineHolder:
    """Keeps one Engine per index build in memory; picks up a swapped-in build on next use.

    Requests already holding the old engine finish on it; the new build is compiled
    once, under a lock, while others keep using the old one. With `get(wait=False)` (the
    API's event loop) the compile runs in a background thread and callers get the old
    engine until the new one is ready. A build that cannot be opened never replaces a
    working engine.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.index = Index.for_config(config)
        self._engine: Engine | None = None
        self._build: Path | None = None
        self._failed: Path | None = None
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def get(self, wait: bool = True) -> Engine:
        build = current_build(self.index.dir)
        engine = self._engine  # read once: another thread may swap it meanwhile
        if engine is not None and build == self._build:
            return engine
        if engine is not None:
            if build is None or build == self._failed:
                return engine  # mid-swap, or a build that would not open
            if not wait:
                self._refresh_in_background()
                return engine
            if not self._lock.acquire(blocking=False):
                return engine  # another thread is compiling the new build
        else:
            self._lock.acquire()
        try:
            build = current_build(self.index.dir)
            if self._engine is not None and build == self._build:
                return self._engine
            try:
                snap = self.index.open()
                try:
                    new = Engine.from_snapshot(snap, self.config.site_url, self.config.semantic is not False)
                finally:
                    snap.close()
            except IndexProblem:
                if self._engine is None:
                    raise
                self._failed = build  # keep serving the previous build rather than failing requests
                return self._engine
            self._engine, self._build = new, snap.build
            return new
        finally:
            self._lock.release()

    def _refresh_in_background(self) -> None:
        if not self._refreshing.acquire(blocking=False):
            return  # one refresh at a time

        def run() -> None:
            try:
                self.get(wait=True)
            except Exception:  # noqa: BLE001 - the old engine keeps serving; the next request retries
                pass
            finally:
                self._refreshing.release()

        threading.Thread(target=run, name="kbtool-engine-refresh", daemon=True).start()


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


def evaluate(engine: Engine, cases: list[dict[str, Any]], audience: str = "internal",
             semantic: bool = True) -> EvalReport:
    """P@1, MRR (over the top 10), Recall@5 and nDCG@5 of `engine` on golden tickets
    (`semantic=False`: the lexical ranking even where the engine has embeddings)."""
    p1 = mrr = rec5 = ndcg = 0.0
    misses = []
    used = False  # whether the model took part (the engine has embeddings and `semantic` asked for them)
    for case in cases:
        expected = set(case["expected"])
        res = engine.suggest(Ticket(case.get("subject", ""), case.get("body", ""), case.get("product"), audience, 10,
                                    semantic), snippets=False)
        used = used or res.semantic
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
    return EvalReport(len(cases), p1 / n, mrr / n, rec5 / n, ndcg / n, misses, used)


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
