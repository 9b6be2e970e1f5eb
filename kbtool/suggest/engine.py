"""Ranking a ticket against the index: BM25F, error codes, succession, confidence, evidence.

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

Who may see what is content's rule, not the engine's: `Article.is_public` and
`KB.successor` decide it for the indexed documents (see `_content_view`).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import semantic
from ..config import Config
from ..content import KB, Article
from ..index import (
    FORWARD_FIELDS,
    BM25View,
    Forward,
    Index,
    IndexProblem,
    Snapshot,
    analyze,
    current_build,
    current_link,
)
from ..processes import trim_heap
from ..semantic import Embeddings
from .ticket import (
    CODE_TOKEN,
    Ticket,
    canonical_code,
    clean_subject,
    clean_ticket,
    code_key,
    code_sep,
    extract_error_codes,
    norm_code,
)

FIELD_WEIGHTS = {"title": 3.0, "aliases": 2.5, "summary": 1.0, "symptoms": 1.2, "body": 1.0}
FIELD_B = {"title": 0.75, "aliases": 0.75, "summary": 0.75, "symptoms": 0.75, "body": 0.75}
K1 = 1.2
PRODUCT_BOOST = 1.15      # a ticket's product matching the article's
# A ticket is read up to this much: raw body first (HTML markup included), then the cleaned
# text (about 3,000 words). What lies past that is pasted logs and thread history; reading
# all of a 256 KB body cost a worker a second of CPU that every other caller of it waited for.
MAX_TICKET_BODY, MAX_TICKET_TEXT = 100_000, 20_000
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
# The weight adapts to the ticket's length: a long ticket gives the lexical side many words of
# evidence, while the model's view of it is the best of several passages, each a fragment. From
# LONG_FROM words the weight falls linearly to LONG_WEIGHT at LONG_AT words. By principle, then
# checked on the tune halves (sample KB `long`: P@1 0.71 -> see bench/bench_semantic.py --half tune).
LONG_FROM, LONG_AT, LONG_WEIGHT = 60, 200, 0.5
MODEL_ALONE = False  # (benchmarks: rank by the model alone, codes still decisive)


def fusion_weight(words: int) -> float:
    """The model's share of the fused score for a cleaned ticket of `words` words."""
    if MODEL_ALONE:
        return 1.0
    if words <= LONG_FROM:
        return SEMANTIC_WEIGHT
    t = min(1.0, (words - LONG_FROM) / (LONG_AT - LONG_FROM))
    return SEMANTIC_WEIGHT + t * (min(LONG_WEIGHT, SEMANTIC_WEIGHT) - SEMANTIC_WEIGHT)
# Gate and confidence on the fused score, from 725 positive tickets (StackFAQ dev, golden)
# and 785 negatives (each set against the other KB, plus 30 off-topic tickets on both): a
# gate of 0.30 loses 1 correct top hit and lets 61 of 725 cross-KB and 4 of 60 off-topic runs
# through (0.35: 9 lost, 25 and 4). Top-1 precision 0.89 at [0.30, 0.40), 0.92 at
# [0.40, 0.50), 0.93 at [0.50, 0.60), 0.98 above. High: >= 0.60 (or an exact code), medium: >= 0.40.
HYBRID_MIN_SCORE, HYBRID_DROP = 0.30, 0.20
HYBRID_HIGH, HYBRID_MEDIUM = 0.60, 0.40
# "medium" claims a likely answer: when the runner-up's fused score is within 10% of the top's,
# the engine cannot tell them apart, and the top hit is "low". On the tune halves of the blind
# dev sets, medium top hits were right 29/33 (sample KB) and 6/33 (OfficeDocs); with the rule,
# 26/27 and 2/5 (bench/bench_semantic.py --half tune).
TIE_MARGIN = 0.10


# --- what the engine returns ------------------------------------------------------------


@dataclass(slots=True)
class DocMeta:
    """One indexed document's metadata, as the index stored it (`url`: its help-center page, public only)."""

    id: str
    title: str
    type: str
    status: str
    audience: str
    kind: str  # "article" or "runbook", from the folder
    product: str | None
    summary: str
    replaced_by: str | None
    error_codes: list[str]
    body: str  # plain text, for snippets
    url: str | None = None

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> DocMeta:
        """From one of `Forward.docs` (the index's JSON line for the document)."""
        return cls(id=str(d["id"]), title=str(d.get("title") or ""), type=str(d.get("type") or ""),
                   status=str(d.get("status") or ""), audience=str(d.get("audience") or ""),
                   kind=str(d.get("kind") or "article"), product=str(d["product"]) if d.get("product") else None,
                   summary=str(d.get("summary") or ""),
                   replaced_by=str(d["replaced_by"]) if d.get("replaced_by") else None,
                   error_codes=[str(c) for c in d.get("error_codes") or []], body=str(d.get("body") or ""))


@dataclass
class Why:
    """The evidence for one suggestion. Fields that do not apply are None, and left out of `to_dict`."""

    error_codes: list[str] = field(default_factory=list)  # the ticket's codes this article lists
    terms: dict[str, list[str]] = field(default_factory=dict)  # field -> the ticket's words found in it
    semantic: float | None = None  # cosine similarity to the ticket, when the model took part
    product: str | None = None  # the ticket's product, when it is the article's
    replaces: str | None = None  # the retired article whose evidence this successor carries

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error_codes": self.error_codes, "terms": self.terms}
        for key, value in (("semantic", self.semantic), ("product", self.product), ("replaces", self.replaces)):
            if value is not None:
                out[key] = value
        return out


@dataclass
class Suggestion:
    id: str
    title: str
    url: str | None
    score: float
    confidence: str  # "high", "medium" or "low"
    snippet: str
    why: Why = field(default_factory=Why)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "score": self.score,
                "confidence": self.confidence, "snippet": self.snippet, "why": self.why.to_dict()}


@dataclass
class SuggestResult:
    suggestions: list[Suggestion]
    reason: str | None = None  # why nothing is suggested, when the list is empty
    error_codes: list[str] = field(default_factory=list)  # see `Evidence.codes`
    terms: int = 0  # query terms the ticket had (after clean-up; for a public caller, those public content has)
    semantic: bool = False  # whether the model took part

    def to_dict(self) -> dict[str, Any]:
        return {"suggestions": [s.to_dict() for s in self.suggestions], "reason": self.reason,
                "error_codes": self.error_codes, "semantic": self.semantic}


@dataclass
class Evidence:
    """What `Engine.rank` found besides the scores (documents by their position in `Engine.docs`).

    Evidence from documents the caller may not see is already gone from every field.
    """

    terms: np.ndarray  # the query's term ids (vocabulary positions)
    codes: list[str]  # error codes to report: those in the ticket, plus the KB codes of matched visible articles
    code_hits: dict[int, list[str]]  # document -> the codes of the ticket it lists
    via: dict[int, int]  # live successor -> the retired document whose evidence it carries
    best: float  # the most the ticket's words could score lexically (the relative score's ceiling)
    bonus: dict[int, float]  # document -> what its error codes added to its score
    snippet_terms: list[str]  # query terms, for snippets of documents that match none in their body
    words: dict[str, str]  # query term -> the ticket's own word for it (what `why` shows: not "deliveri")
    similarity: np.ndarray | None  # cosine similarity per document, when the model took part
    stats: Statistics  # the caller's view: what its scores, gate and confidence are measured against


@dataclass(frozen=True)
class Statistics:
    """One audience's BM25F view (`BM25View`: N, idf and average field lengths over the
    documents it may see) with what suggest measures against it.

    Public callers are scored from public content alone, so what internal, draft or retired
    articles contain changes nothing a public caller gets: not the ranking, not the evidence
    gate, not the confidence (hidden articles sharing a public article's words would otherwise
    lower its idf and could turn a "high" answer into none, which tells the caller they exist)."""

    view: BM25View
    idf: np.ndarray  # per term, over the view's documents
    term_ceiling: np.ndarray  # the most a term can score: saturated in the heaviest field
    unit: float  # the unit of evidence: what a word no other document has scores, saturated in the title

    @classmethod
    def compile(cls, forward: Forward, docs: np.ndarray | None = None) -> Statistics:
        """The view over `docs` (positions in `forward.docs`; None: all of them)."""
        w = np.array([FIELD_WEIGHTS[f] for f in FORWARD_FIELDS])
        view = BM25View.compile(forward.doc, forward.fld, forward.term, forward.count, forward.lengths,
                                len(forward.vocab), w, K1, [FIELD_B[f] for f in FORWARD_FIELDS], docs=docs)
        idf = view.bm25.idf
        return cls(view, idf, idf * (K1 + 1.0) * w.max(),
                   float(np.log(1.0 + (view.size + 0.5) / 0.5) * (K1 + 1.0) * w.max()))

    @property
    def W(self) -> sp.csr_matrix:  # noqa: N802 (the weight matrix's name across the engine)
        """The view's terms × documents weights, fields summed."""
        return self.view.bm25.W

    def score(self, ids: np.ndarray, wts: np.ndarray) -> np.ndarray:
        """BM25F score of every engine document (0 outside the view) for weighted query terms."""
        return self.view.score(ids, wts)


# --- the engine ---------------------------------------------------------------------------


class Engine:
    """BM25F over a compiled sparse matrix, plus error-code and product evidence."""

    def __init__(self, forward: Forward, site_url: str = "/", embeddings: Embeddings | None = None) -> None:
        self.site_url = site_url if site_url.endswith("/") else site_url + "/"
        self.build = ""  # the index build's name (from_snapshot): what /healthz and events report
        self.embeddings, self.semantic_note = _usable_embeddings(forward, embeddings)
        self.vocab = {t: i for i, t in enumerate(forward.vocab)}
        self.inv_vocab = forward.vocab
        self.n_fields = len(FORWARD_FIELDS)
        self._compile_scores(forward)
        self._load_documents([DocMeta.from_record(d) for d in forward.docs])
        self._compile_codes()
        visible = self._public_view()
        # (a KB that is all public content, an import say, needs no second copy of the weights)
        public_stats = self.everything if visible.all() else Statistics.compile(forward, np.flatnonzero(visible))
        self.stats = {"internal": self.everything, "public": public_stats}
        # a term a public caller may know about: some document of the public view has it
        self.public_terms = np.asarray(public_stats.W.getnnz(axis=1) > 0).ravel()

    def _compile_scores(self, forward: Forward) -> None:
        """The BM25F weights over every document (internal callers' view), and per-field term presence."""
        n_docs, n_terms, n_f = len(forward.docs), len(forward.vocab), self.n_fields
        self.everything = Statistics.compile(forward)
        self.idf = self.everything.idf  # (insights' gap terms: over all content)
        self.W = self.everything.W  # terms × docs, fields summed
        # docs × (term·F + field) presence, for the per-field `why` of the top hits
        self.presence = sp.csr_matrix(
            (np.ones(len(forward.doc), dtype=np.int8), (forward.doc, forward.term.astype(np.int64) * n_f + forward.fld)),
            shape=(n_docs, max(n_terms * n_f, 1)),
        )

    def _load_documents(self, docs: list[DocMeta]) -> None:
        """Who may see each document, its live successor, and its product (content decides the first two)."""
        n_docs = len(docs)
        self.index_of = {d.id: i for i, d in enumerate(docs)}
        self.live = np.array([d.status == "published" for d in docs], dtype=bool)
        # what a public caller may see
        self.public = np.array([_public(d.kind, d.type, d.status, d.audience) for d in docs], dtype=bool)
        # retired content a caller could have seen had it been live: public callers follow only public succession
        self.public_retired = np.array(
            [d.status == "retired" and _public(d.kind, d.type, "published", d.audience) for d in docs], dtype=bool)
        for i in np.flatnonzero(self.public).tolist():
            docs[i].url = self.url(docs[i].id)
        self.docs = docs
        # retired -> live successor (content follows the chain; one ending in a draft or in review has none)
        self.successor = np.full(n_docs, -1, dtype=np.int64)
        kb, retired = _succession_view(docs)
        for i, a in retired:
            succ = kb.successor(a)
            if succ is not None and succ.status == "published":
                self.successor[i] = self.index_of[succ.id]
        self.retired = np.flatnonzero(self.successor >= 0)
        self.products = np.array([d.product or "" for d in docs] + [""], dtype=object)[:n_docs]
        self._product_ids = {p: k for k, p in enumerate(sorted(set(self.products.tolist())))}
        self.product_of = np.array([self._product_ids[p] for p in self.products.tolist()], dtype=np.int32)

    def _compile_codes(self) -> None:
        """Error codes: by normalised code (for regex-extracted ticket codes) and by separator-aware
        key (to find the KB's own codes in the ticket whatever their case)."""
        self.codes: dict[str, list[int]] = {}
        self.code_keys: dict[str, list[tuple[int, str]]] = {}
        for i, d in enumerate(self.docs):
            for c in d.error_codes:
                shown = norm_code(c)
                docs = self.codes.setdefault(shown, [])
                if i not in docs:
                    docs.append(i)
                for variant in {c, c.rsplit("::", 1)[-1]}:
                    key = code_key(variant)
                    if key and (i, shown) not in self.code_keys.get(key, []):
                        self.code_keys.setdefault(key, []).append((i, shown))
        self.code_first = {k.split("-")[0].split(" ")[0].split("::")[0] for k in self.code_keys}
        self.code_span = max((len(CODE_TOKEN.findall(k)) for k in self.code_keys), default=0)
        # the KB's declared vocabulary by canonical key (`saml403`, `SAML 403` -> SAML-403), and by
        # numeric tail (`err 429` -> HTTP-429, `50105` -> AADSTS50105); kept only where unambiguous
        canon: dict[str, set[str]] = {}
        tails: dict[str, set[str]] = {}
        for shown in self.codes:
            canon.setdefault(canonical_code(shown), set()).add(shown)
            tail = re.search(r"(\d{3,})$", shown)
            if tail:
                tails.setdefault(tail.group(1), set()).add(shown)
        self.code_canon = {k: next(iter(v)) for k, v in canon.items() if len(v) == 1 and re.search(r"\d", k)}
        # every start of a canonical key: reading a ticket stops at the first run no key begins with,
        # so 20,000 characters of junk cost a set lookup or two per word
        self._canon_starts = {k[:n] for k in self.code_canon for n in range(1, len(k) + 1)}
        self.code_tails = {k: one for k, v in tails.items() if (one := _one_tail(v)) is not None}

    def _public_view(self) -> np.ndarray:
        """What public statistics and terms come from: the public documents, and the retired public
        ones that public callers are led through to their public successor."""
        visible = self.public.copy()
        visible[self.retired] |= self.public_retired[self.retired] & self.public[self.successor[self.retired]]
        return visible

    @classmethod
    def from_snapshot(cls, snap: Snapshot, site_url: str = "/", semantic: bool = True) -> Engine:
        """The engine for one index build, semantic if the build has embeddings and the model loads."""
        engine = cls(snap.forward(), site_url, load_embeddings(snap.build) if semantic else None)
        engine.build = snap.build.name
        return engine

    @property
    def semantic(self) -> bool:
        return self.embeddings is not None

    def url(self, doc_id: str) -> str:
        return f"{self.site_url}articles/{doc_id}/"

    def article(self, doc_id: str, internal: bool = False) -> DocMeta | None:
        """A document's metadata for a caller: public ones for anyone, live internal ones only for
        `internal` callers; drafts, in-review and retired never (None, as for an unknown id)."""
        i = self.index_of.get(doc_id)
        if i is None or not (self.live[i] if internal else self.public[i]):
            return None
        return self.docs[i]

    def query_terms(self, text: str, subject: str) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and weights: subject terms count double; long tickets keep their best terms."""
        ids, wts, _, _ = self._query(text, subject, self.everything, None)
        return ids, wts

    def _query(self, text: str, subject: str, stats: Statistics,
               known: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float, dict[str, str]]:
        """`query_terms`, counting only terms `known` allows, plus the total weight of the other words
        and the ticket's first word for each term."""
        counts: dict[int, float] = {}
        unknown: dict[str, float] = {}
        words: dict[str, str] = {}
        subj = {_term_of(w.lower()) for w in _ANALYZER_TOKEN.findall(subject)}
        # Whoosh's analyzer, once per distinct word (its tokenizer's own pattern), cached across tickets
        for word in dict.fromkeys(w.lower() for w in _ANALYZER_TOKEN.findall(text)):
            t = _term_of(word)
            if t is None:  # a stop word
                continue
            words.setdefault(t, word)
            w = 2.0 if t in subj else 1.0
            tid = self.vocab.get(t)
            if tid is None or (known is not None and not known[tid]):
                unknown[t] = max(unknown.get(t, 0.0), w)
            else:
                counts[tid] = max(counts.get(tid, 0.0), w)
        oov = sum(unknown.values())
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0), oov, words
        ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
        wts = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if len(ids) > MAX_QUERY_TERMS:
            oov *= MAX_QUERY_TERMS / len(ids)  # the kept terms are a sample of the ticket; so are its unknown words
            keep = np.argsort(-(stats.idf[ids] * wts), kind="stable")[:MAX_QUERY_TERMS]
            ids, wts = ids[keep], wts[keep]
        return ids, wts, oov, words

    def lexical(self, ids: np.ndarray, wts: np.ndarray, audience: str = "internal") -> np.ndarray:
        """BM25F score of every document for weighted query terms, from `audience`'s statistics:
        one gather and one bincount."""
        return self.stats[audience].score(ids, wts)

    def match_codes(self, text: str) -> tuple[list[str], dict[int, list[str]]]:
        """Error signatures in `text` and the documents listing them: (codes found, doc -> its matched codes)."""
        found = extract_error_codes(text)
        hits: dict[int, list[str]] = {}
        # codes read through the KB's vocabulary are evidence, not "found": a hidden article's code is
        # reported only through the hits, which `rank` keeps only for documents the caller may see
        for c in found + [c for c in self._vocabulary_codes(text) if c not in found]:
            for i in self.codes.get(c, ()):
                if c not in hits.setdefault(i, []):
                    hits[i].append(c)
        if self.code_keys:
            pairs = CODE_TOKEN.findall(text)
            for k, (tok, _) in enumerate(pairs):
                if tok.upper() not in self.code_first:
                    continue
                key = ""
                for j in range(k, min(k + self.code_span, len(pairs))):
                    key += pairs[j][0].upper()
                    for i, shown in self.code_keys.get(key, ()):
                        if shown not in hits.setdefault(i, []):
                            hits[i].append(shown)
                    sep = code_sep(pairs[j][1])
                    if sep is None:
                        break
                    key += sep
        return found, hits

    def _vocabulary_codes(self, text: str) -> list[str]:
        """The KB's declared codes written any which way in `text`: letter/digit runs joined by at
        most one separator (`saml403`, `SAML 403`, `scim_409`) whose canonical key is one declared
        code, and numbers after an error word (`err 429`, `error code 50105`) that end one."""
        out: list[str] = []
        runs = list(_CODE_RUN.finditer(text))
        for k, m in enumerate(runs):
            key = ""
            for j in range(k, min(k + max(self.code_span, 1), len(runs))):
                if j > k and len(text[runs[j - 1].end():runs[j].start()]) > 1:
                    break
                key += runs[j].group().upper()
                if key not in self._canon_starts:
                    break  # no declared code begins so: nor does any longer key
                shown = self.code_canon.get(key)
                if shown and shown not in out and (j > k or not key.isdigit()):
                    out.append(shown)
            number = m.group()
            if number.isdigit() and number in self.code_tails and (len(number) >= 5 or _ERROR_WORD.search(
                    text[max(0, m.start() - 24):m.start()])):
                if self.code_tails[number] not in out:
                    out.append(self.code_tails[number])
        return out

    def rank(self, ticket: Ticket) -> tuple[np.ndarray, Evidence]:
        """Scores for every document (−inf where not allowed for this caller), and the evidence."""
        text = clean_ticket(ticket.subject, ticket.body[:MAX_TICKET_BODY])[:MAX_TICKET_TEXT]
        public = ticket.audience == "public"
        allowed = self.public if public else self.live
        stats = self.stats["public" if public else "internal"]
        # for a public caller, words only non-public content has are unknown words: no evidence, nothing to probe
        ids, wts, oov, words = self._query(text, clean_subject(ticket.subject), stats,
                                           self.public_terms if public else None)
        scores = stats.score(ids, wts)
        if ticket.product and ticket.product in self._product_ids:
            scores[self.product_of == self._product_ids[ticket.product]] *= PRODUCT_BOOST
        best = _ceiling(wts * stats.term_ceiling[ids], OOV_WEIGHT * oov * stats.unit, stats.unit)
        sem = self._similarity(text) if ticket.semantic else None
        if sem is not None:
            # convex fusion of theoretically normalised scores (see SEMANTIC_WEIGHT)
            w = fusion_weight(len(text.split()))
            scores = w * sem + (1.0 - w) * np.minimum(scores / max(best, 1e-9), 1.0)
        found, code_hits = self.match_codes(text)
        bonus = self._add_code_bonus(scores, code_hits, allowed, 1.0 if sem is not None else stats.unit)
        # a retired article's evidence goes to its live successor (for public callers: public succession only)
        scores, via = self._credit_successors(scores, allowed, public, code_hits, bonus)
        scores = np.where(allowed, scores, -np.inf)
        # evidence from articles this caller may not see is forgotten here, so nothing below can reveal it
        code_hits = {i: cs for i, cs in code_hits.items() if allowed[i]}
        bonus = {i: b for i, b in bonus.items() if allowed[i]}
        shown = list(found)  # codes written in the ticket, plus the KB codes of articles this caller may see
        for cs in code_hits.values():
            shown += [c for c in cs if c not in shown]
        return scores, Evidence(terms=ids, codes=shown, code_hits=code_hits, via=via, best=best, bonus=bonus,
                                snippet_terms=[self.inv_vocab[t] for t in ids.tolist()], similarity=sem,
                                words=words, stats=stats)

    def _similarity(self, text: str) -> np.ndarray | None:
        """Cosine similarity of every document to the ticket (clipped at 0), or None without the model."""
        if self.embeddings is None or not text.strip():
            return None
        try:
            return np.maximum(self.embeddings.similarity(semantic.embed_passages(text)), 0.0)
        except semantic.SemanticUnavailable:
            return None  # switched off since the engine was built: the lexical ranking, reported as such

    @staticmethod
    def _add_code_bonus(scores: np.ndarray, code_hits: dict[int, list[str]], allowed: np.ndarray,
                        unit: float) -> dict[int, float]:
        """Add each code-matching document's bonus to `scores` (in place); return the bonuses.

        A specific code lifts its article above the best allowed score; a generic one adds a little."""
        bonus: dict[int, float] = {}
        if code_hits:
            lex_max = float(scores[allowed].max()) if allowed.any() else 0.0
            for i, cs in code_hits.items():
                w = max(_code_weight(c) for c in cs)
                bonus[i] = CODE_BONUS * unit * w + (lex_max if w == 1.0 else 0.0)
                scores[i] += bonus[i]
        return bonus

    def _credit_successors(self, scores: np.ndarray, allowed: np.ndarray, public: bool,
                           code_hits: dict[int, list[str]], bonus: dict[int, float]) -> tuple[np.ndarray, dict[int, int]]:
        """A retired article's score goes to its successor when higher (codes and bonus with it; `code_hits`
        and `bonus` are updated in place). Returns the scores and successor -> retired article."""
        retired = self.retired[self.public_retired[self.retired]] if public else self.retired
        via: dict[int, int] = {}
        if not len(retired):
            return scores, via
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
        return scores, via

    def suggest(self, ticket: Ticket, snippets: bool = True) -> SuggestResult:
        scores, ev = self.rank(ticket)
        used = ev.similarity is not None
        n_terms = len(ev.terms)

        def empty(reason: str, terms: int) -> SuggestResult:
            return SuggestResult([], reason, ev.codes, terms, used)

        if not n_terms and not ev.code_hits and not used:  # (for public callers: words public content has)
            return empty("the ticket has no words that appear in the knowledge base", 0)
        limit = max(1, min(ticket.limit, 50))
        finite = np.flatnonzero(scores > 0)
        if not len(finite):
            return empty("no published article matches this ticket", n_terms)
        if len(finite) > limit:
            finite = finite[np.argpartition(-scores[finite], limit - 1)[:limit]]
        top = finite[np.argsort(-scores[finite], kind="stable")]
        # (score without the code bonus: lexical, or fused; matched codes) of each hit
        hits = [(float(scores[i]) - ev.bonus.get(i, 0.0), sorted(set(ev.code_hits.get(i, []))))
                for i in top.tolist()]
        gate = HYBRID_MIN_SCORE if used else MIN_STRENGTH * ev.stats.unit
        if not any(codes or lex >= gate for lex, codes in hits):
            return empty("no article matches well enough; nothing suggested rather than noise", n_terms)
        out: list[Suggestion] = []
        qmask = np.zeros(len(self.inv_vocab), dtype=bool)
        qmask[ev.terms] = True
        any_code = any(_code_weight(c) == 1.0 for _, codes in hits for c in codes)
        for i, (lex, matched_codes) in zip(top.tolist(), hits):
            score = float(scores[i])
            conf = self._confidence(lex, matched_codes, max(ev.best, 1e-9), ev.stats.unit, used, any_code)
            if conf is None:
                continue
            if out and score < 0.5 * out[0].score and conf != "low":  # far behind the top hit
                conf = "medium" if conf == "high" else "low"
            out.append(self._suggestion(i, score, conf, matched_codes, ticket, ev, qmask, snippets))
        if not out:
            return empty("no article matches well enough; nothing suggested rather than noise", n_terms)
        if used and len(out) > 1 and out[0].confidence == "medium" and not out[0].why.error_codes \
                and out[1].score > (1.0 - TIE_MARGIN) * out[0].score:
            out[0].confidence = "low"  # two articles about as likely: the engine cannot say which one it is
        return SuggestResult(out, None, ev.codes, n_terms, used)

    @staticmethod
    def _confidence(lex: float, matched_codes: list[str], best: float, unit: float, used: bool,
                    any_code: bool) -> str | None:
        """"high", "medium" or "low" for a hit with score `lex` (without its code bonus); None: too weak to show.

        `best`: the ticket's lexical ceiling; `unit`: the caller's unit of evidence; `used`: the score is fused (already 0..1); `any_code`:
        some hit has a specific error code of the ticket."""
        exact = any(_code_weight(c) == 1.0 for c in matched_codes)
        if used:
            if not matched_codes and lex < HYBRID_DROP:
                return None
            conf = "high" if exact or lex >= HYBRID_HIGH else "medium" if lex >= HYBRID_MEDIUM else "low"
        else:
            rel = min(lex / best, 1.0)
            strength = lex / unit
            if not matched_codes and rel < MIN_SCORE:
                return None
            if exact or (rel >= HIGH and strength >= HIGH_STRENGTH):
                conf = "high"
            else:
                conf = "medium" if rel >= MEDIUM and strength >= MEDIUM_STRENGTH else "low"
        if any_code and not exact and conf == "high":  # another article has the exact error code
            conf = "medium"
        return conf

    def _suggestion(self, i: int, score: float, conf: str, matched_codes: list[str], ticket: Ticket, ev: Evidence,
                    qmask: np.ndarray, snippets: bool) -> Suggestion:
        """Document `i` as a suggestion, with its evidence and (if `snippets`) a highlighted passage."""
        d = self.docs[i]
        terms = self._matched_terms(i, qmask)
        shown = {f: sorted({ev.words.get(t, t) for t in ts}) for f, ts in terms.items()}
        why = Why(error_codes=matched_codes, terms=shown,
                  semantic=round(float(ev.similarity[i]), 3) if ev.similarity is not None else None,
                  product=ticket.product if ticket.product and d.product == ticket.product else None,
                  replaces=self.docs[ev.via[i]].id if i in ev.via else None)
        snip = ""
        if snippets:  # the passage is placed by the rarest words; all of them are highlighted
            words = terms.get("body" if d.body else "summary") or ev.snippet_terms
            rare = sorted(words, key=lambda t: -ev.stats.idf[self.vocab[t]])[:PASSAGE_TERMS]
            snip = _highlight(_passage(d.body or d.summary, rare), frozenset(words))
        return Suggestion(id=d.id, title=d.title, url=d.url, score=round(score, 3), confidence=conf, snippet=snip,
                          why=why)

    def _matched_terms(self, doc: int, qmask: np.ndarray) -> dict[str, list[str]]:
        """Query terms (`qmask`: a boolean per vocabulary term) present in each field of `doc`."""
        row = self.presence.indices[self.presence.indptr[doc]:self.presence.indptr[doc + 1]]
        terms, fields = np.divmod(row, self.n_fields)
        hit = qmask[terms]
        out: dict[str, list[str]] = {}
        for t, f in zip(terms[hit].tolist(), fields[hit].tolist()):
            out.setdefault(FORWARD_FIELDS[f], []).append(self.inv_vocab[t])
        return {f: sorted(v) for f, v in out.items()}


def _stub(d: DocMeta) -> Article:
    """`d` as a content record, for content's own rules to judge (only the metadata the index keeps)."""
    return Article(path=Path(d.id), rel_path="", kind=d.kind, id=d.id, title=d.title, type=d.type,
                   status=d.status, audience=d.audience, owner="", summary=d.summary,
                   created=None, last_reviewed=None, body="", body_line=0, content_hash="", product=d.product,
                   replaced_by=d.replaced_by, error_codes=d.error_codes)


@functools.lru_cache(maxsize=256)
def _public(kind: str, type_: str, status: str, audience: str) -> bool:
    """Whether customers may see a document: `Article.is_public` (content's rule, which reads these fields;
    asked once per combination), and never anything from the runbooks folder, whatever its type."""
    a = Article(path=Path(), rel_path="", kind=kind, id="", title="", type=type_, status=status, audience=audience,
                owner="", summary="", created=None, last_reviewed=None, body="", body_line=0, content_hash="")
    return a.is_public and kind != "runbook"


def _succession_view(docs: list[DocMeta]) -> tuple[KB, list[tuple[int, Article]]]:
    """The retired documents and those they name as content records in a `KB`, so that `KB.successor`
    follows their chains; and each retired one with its position in `docs`."""
    retired = [(i, _stub(d)) for i, d in enumerate(docs) if d.status == "retired"]
    named = {a.replaced_by for _, a in retired if a.replaced_by}
    articles = [a for _, a in retired] + [_stub(d) for d in docs if d.id in named and d.status != "retired"]
    return KB(root=Path(), articles=articles, diagnostics=[], by_id={a.id: a for a in articles}), retired


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


# An article answers the problem of a long email, not every word of it: the relative score's
# ceiling counts at most CEILING_WORDS words' worth of evidence (the ticket's most informative
# words first, unknown words in proportion), so a long ticket is not judged weaker than a short one
# that says the same.
CEILING_WORDS = 16


def _ceiling(term_ceilings: np.ndarray, unknown: float, unit: float) -> float:
    """The relative score's denominator: the ticket's term ceilings (and `unknown`'s weight) summed,
    capped at the best CEILING_WORDS words' worth (see CEILING_WORDS)."""
    total = float(term_ceilings.sum()) + unknown
    if len(term_ceilings) + unknown / max(unit, 1e-9) <= CEILING_WORDS:
        return total
    top = np.sort(term_ceilings)[::-1][:CEILING_WORDS]
    return float(top.sum()) * (1.0 + unknown / max(total - unknown, 1e-9)) if len(top) else total


_CODE_RUN = re.compile(r"[A-Za-z0-9]+")
_ERROR_WORD = re.compile(r"\b(?:err(?:or)?|code|status|http|fehler(?:code)?|erreur|c[oó]digo)\W{0,3}$", re.I)


def _one_tail(codes: set[str]) -> str | None:
    """The code a bare number stands for among `codes` sharing that numeric tail: the generic HTTP
    status when one is declared (`err 429` says no more than that), else the only one, else None."""
    generic = [c for c in codes if GENERIC_CODE.fullmatch(c)]
    if generic:
        return generic[0]
    return next(iter(codes)) if len(codes) == 1 else None


def _code_weight(code: str) -> float:
    return GENERIC_CODE_WEIGHT if GENERIC_CODE.fullmatch(code) else 1.0


# --- snippets -------------------------------------------------------------------------------

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

    def __init__(self, config: Config, *, trim_after_load: bool = False) -> None:
        """`trim_after_load`: hand the heap's free pages back after each load (`processes.trim_heap`),
        for a server that lives on; a one-shot command has no use for the 40 ms it costs at 10k."""
        self.config = config
        self.trim_after_load = trim_after_load
        self.index = Index.for_config(config)
        self._engine: Engine | None = None
        self._build: Path | None = None
        self._link: str | None = None  # what `current` said when it was seen to point at _build
        self._failed: Path | None = None
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def get(self, wait: bool = True) -> Engine:
        engine = self._engine  # read once: another thread may swap it meanwhile
        link = current_link(self.index.dir)  # one readlink: the API asks on every request
        if engine is not None and link is not None and link == self._link:
            return engine
        build = current_build(self.index.dir)
        if engine is not None and build == self._build:
            if link == current_link(self.index.dir):  # (the same link before and after: it names this build)
                self._link = link
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
            old, self._engine, self._build = self._engine, new, snap.build
            del old  # (requests still on it keep it alive until they finish)
            if self.trim_after_load:
                trim_heap()  # the load's scratch, and a replaced engine no request holds
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
