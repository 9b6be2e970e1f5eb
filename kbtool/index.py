"""The search index: the only module that knows Whoosh.

Layout under the index directory (default `.kbtool/index`)::

    current -> build-<stamp>     symlink, swapped atomically with os.replace
    build-<stamp>/               a complete Whoosh index plus our own files:
        kbtool-index.json        marker + manifest (format version, KB state it was built from:
                                 hash/id/size/mtime of every indexed file, size/mtime of skipped ones)
        forward.npz              per-document analysed term counts (Whoosh's analyzers) for suggest
    .lock                        flock held by the one writer

Every build, full or incremental, happens in a fresh `build-*` directory (an
incremental one starts as hard links of the current build: Whoosh never rewrites a
file it has written) and becomes visible only when `current` is swapped. So a killed
or failed build leaves the previous index untouched, and readers in other processes
keep the snapshot they opened; the next build removes what a killed one left. Whoosh
keeps metadata in pickles, so we only ever open a directory whose manifest says kbtool
wrote it, and never write into a directory holding files that are not ours.

Plain words search `title`, `error_code`, `error_parts` and `text`, a combined field in
which aliases, summary and the weighted sections repeat (see TEXT_WEIGHTS); each part is
also its own field for `field:value` queries. `update_index` parses only the files whose
size or mtime changed, so a one-file update stays well under a second at 10,000 articles.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import json
import os
import pickle
import re
import shutil
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import scipy.sparse as sp
from whoosh import collectors, highlight, index as windex, qparser, query as wquery
from whoosh.analysis import (
    IntraWordFilter, LowercaseFilter, RegexTokenizer, StandardAnalyzer, StemmingAnalyzer, StripFilter,
)
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length, length_to_byte

from . import semantic as semantic_mod
from .config import Config
from .progress import Progress
from .content import KB, Article, discover, load_article, load_kb

FORMAT = "kbtool-index"
FORMAT_VERSION = 4  # 2: combined weighted `text` field, skipped files in the manifest; 3: forward docs as JSON lines;
# 4: the forward index also holds the plain-word search fields and filter values (`search_*`)
MANIFEST = "kbtool-index.json"
FORWARD = "forward.npz"
KEEP_BUILDS = 2

# Sections kept as their own fields so they can be weighted.
SECTION_FIELDS = {"symptoms": ("Symptoms",), "cause": ("Cause",), "resolution": ("Resolution", "Workaround"),
                  "steps": ("Steps",)}
# Search-time boosts of the fields plain words go to: title and error codes above the rest.
BOOSTS = {"title": 4.0, "error_code": 6.0, "error_parts": 3.0, "text": 1.0}
# `text` holds aliases, summary, the weighted sections and the body in one field, each part
# repeated this many times: a weighted term frequency, as BM25F proper does (a word in
# Symptoms counts twice: once there, once in the body). Whoosh scores every posting in
# Python, so one posting list per word instead of eight makes plain-word search several
# times faster on a large KB. Each part is still its own field for `field:value` queries.
TEXT_WEIGHTS = {"aliases": 3, "summary": 2, "symptoms": 1, "cause": 1, "resolution": 1, "steps": 1, "body": 1}
# Fields analysed with the stemming analyser (the body's): their terms can be highlighted.
STEMMED_FIELDS = frozenset({"title", "aliases", "summary", "body", "text", *SECTION_FIELDS})
# Fields whose analysed terms the forward index keeps for suggest.
FORWARD_FIELDS = ("title", "aliases", "summary", "symptoms", "body")
# The fields plain words search, kept in the forward index too (as Whoosh indexes them) so
# that a plain-word query is scored by CompiledBM25F instead of Whoosh's Python loops.
SEARCH_FIELDS = tuple(BOOSTS)
BM25_K1, BM25_B = 1.2, 0.75  # Whoosh's BM25F for search, and its compiled twin
DEFAULT_STATUSES = ("published", "in-review")
SEMANTIC_SEARCH_MIN = 0.2  # cosine below which a document is not a semantic match at all


class IndexError_(Exception):
    """A missing, foreign, corrupt or busy index; the message says how to fix it."""


IndexProblem = IndexError_


class IndexBusy(IndexProblem):
    """Another process holds the index lock (it is building)."""


def _stem() -> StemmingAnalyzer:
    return StemmingAnalyzer(cachesize=100_000)


CODE_EXACT = RegexTokenizer(r"[^\n]+") | StripFilter() | LowercaseFilter()
CODE_PARTS = RegexTokenizer(r"[^\n]+") | LowercaseFilter() | IntraWordFilter(mergewords=True, mergenums=True)


def make_schema() -> Schema:
    stem = _stem()
    fields = dict(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=TEXT(analyzer=stem, stored=True),
        aliases=TEXT(analyzer=stem, stored=True),
        summary=TEXT(analyzer=stem, stored=True),
        body=TEXT(analyzer=stem, stored=True),
        text=TEXT(analyzer=stem),
        error_code=TEXT(analyzer=CODE_EXACT, stored=True, phrase=False),
        error_parts=TEXT(analyzer=CODE_PARTS, phrase=False),
        spell=TEXT(analyzer=StandardAnalyzer(stoplist=None), spelling=True, phrase=False),
        type=ID(stored=True), status=ID(stored=True), audience=ID(stored=True),
        product=ID(stored=True), component=ID(stored=True), owner=ID(stored=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        created=DATETIME(stored=True), last_reviewed=DATETIME(stored=True),
        replaced_by=STORED, kind=STORED,
    )
    for name in SECTION_FIELDS:
        fields[name] = TEXT(analyzer=stem)
    return Schema(**fields)


def _date(d: object) -> datetime | None:
    return datetime(d.year, d.month, d.day) if d else None  # type: ignore[attr-defined]


def _tags_value(a: Article) -> str:
    return ",".join(t.lower() for t in a.tags)


def _text_tokens(toks: dict[str, list[str]]) -> list[str]:
    """The combined `text` field: each part's tokens repeated TEXT_WEIGHTS times."""
    return [t for name, times in TEXT_WEIGHTS.items() for _ in range(times) for t in toks[name]]


def _section_text(a: Article, titles: tuple[str, ...]) -> str:
    return "\n".join(s.text for t in titles if (s := a.section(t)))


def _texts(a: Article) -> dict[str, str]:
    """The article's text fields as plain text."""
    texts = {"title": a.title, "aliases": "\n".join(a.aliases), "summary": a.summary, "body": a.text}
    for name, titles in SECTION_FIELDS.items():
        texts[name] = _section_text(a, titles)
    return texts


def _tokens(texts: dict[str, str], analyzer: StemmingAnalyzer) -> dict[str, list[str]]:
    """Each text field analysed once (Whoosh's stemming analyser), shared by the Whoosh
    document and the forward index."""
    return {name: [t.text for t in analyzer(text)] if text else [] for name, text in texts.items()}


def document(a: Article, tokens: dict[str, list[str]] | None = None) -> dict[str, object]:
    """The Whoosh document for an article: text fields, filters and stored display data.

    Stemmed text fields are passed as token lists (analysed by `_tokens` with the
    schema's analyser; Whoosh indexes a list as given) with the original text stored.
    """
    texts = _texts(a)
    toks = tokens if tokens is not None else _tokens(texts, _QUERY_ANALYZER)
    doc: dict[str, object] = {
        "id": a.id, "path": a.rel_path, "error_code": "\n".join(a.error_codes),
        "error_parts": "\n".join(a.error_codes),
        "spell": " ".join([a.title, " ".join(a.aliases), a.summary, texts["body"]]),
        "text": _text_tokens(toks),
        "type": a.type, "status": a.status, "audience": a.audience, "product": a.product or "",
        "component": a.component or "", "owner": a.owner, "tags": _tags_value(a),
        "replaced_by": a.replaced_by or "", "kind": a.kind,
    }
    for name in ("title", "aliases", "summary", "body", *SECTION_FIELDS):
        doc[name] = toks[name]
    for name in ("title", "aliases", "summary", "body"):
        doc["_stored_" + name] = texts[name]
    for key in ("created", "last_reviewed"):
        value = _date(getattr(a, key))
        if value:
            doc[key] = value
    return doc


# --- forward index (analysed term counts) -------------------------------------------


@dataclass
class Forward:
    """Per-document analysed term counts for FORWARD_FIELDS, plus display metadata.

    Stored as flat numpy arrays (doc, field, term, count) so that suggest can compile
    BM25F weights with vectorised numpy/scipy, and so an incremental build can drop
    and append documents without re-analysing the unchanged ones.
    """

    vocab: list[str]
    docs: list[dict[str, object]]
    doc: np.ndarray
    fld: np.ndarray
    term: np.ndarray
    count: np.ndarray
    lengths: np.ndarray  # (n_docs, n_fields) token counts

    @classmethod
    def empty(cls) -> "Forward":
        z = np.zeros(0, dtype=np.int32)
        return cls([], [], z, z.astype(np.int8), z, z, np.zeros((0, len(FORWARD_FIELDS)), dtype=np.int32))

    def save(self, path: Path) -> None:
        _save_forward(path, self.vocab, [_doc_line(d) for d in self.docs],
                      self.doc, self.fld, self.term, self.count, self.lengths)

    @classmethod
    def load(cls, path: Path) -> "Forward":
        vocab, lines, arrays = _load_forward(path)
        return cls(vocab, [json.loads(line) for line in lines], *arrays)


# forward.npz holds the arrays, the vocabulary (JSON) and the documents' display metadata
# as JSON lines, one per document: an incremental build copies the lines of unchanged
# documents as bytes instead of decoding and re-encoding 10,000 article bodies. Beside
# them, `search_*` members hold the same kind of arrays for SEARCH_FIELDS (own vocabulary:
# the error-code fields have terms of their own) and one short JSON line per document with
# the values the search filters test (`_search_line`), so search never decodes the bodies.

_TAGS_ANALYZER = KEYWORD(commas=True, lowercase=True).analyzer  # the schema's `tags` field


def _doc_line(d: dict[str, object]) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode("utf-8")  # JSON escapes newlines: one line


def _json_array(value: object) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _narrow(a: np.ndarray) -> np.ndarray:
    """Non-negative integers in 16 bits when they fit (a smaller file to write and read)."""
    return a.astype(np.uint16) if not len(a) or int(a.max()) < 1 << 16 else a


def _save_forward(path: Path, vocab: list[str], lines: list[bytes], *arrays: np.ndarray,
                  search: tuple[list[str], list[bytes], tuple[np.ndarray, ...]] | None = None) -> None:
    doc, fld, term, count, lengths = arrays
    extra: dict[str, np.ndarray] = {}
    if search is not None:
        s_vocab, s_lines, (s_doc, s_fld, s_term, s_count, s_lengths) = search
        if len(s_doc) > 1 and (np.diff(s_doc) < 0).any():  # documents are appended in order; just in case
            order = np.argsort(s_doc, kind="stable")
            s_doc, s_fld, s_term, s_count = s_doc[order], s_fld[order], s_term[order], s_count[order]
        # entries are grouped by document: how many each has stands for the doc column
        entries = np.bincount(s_doc, minlength=s_lengths.shape[0]).astype(np.int32)
        extra = dict(search_entries=entries, search_fld=s_fld, search_term=_narrow(s_term),
                     search_count=_narrow(s_count), search_lengths=s_lengths, search_vocab=_json_array(s_vocab),
                     search_meta=np.frombuffer(b"\n".join(s_lines), dtype=np.uint8))
    with open(path, "wb") as fh:
        np.savez(fh, doc=doc, fld=fld, term=term, count=count, lengths=lengths, vocab=_json_array(vocab),
                 docs=np.frombuffer(b"\n".join(lines), dtype=np.uint8), **extra)


def _load_forward(path: Path) -> tuple[list[str], list[bytes], tuple[np.ndarray, ...]]:
    with np.load(path, allow_pickle=False) as z:
        vocab = json.loads(z["vocab"].tobytes().decode("utf-8"))
        blob = z["docs"].tobytes()
        lines = blob.split(b"\n") if blob else []
        arrays = (z["doc"], z["fld"], z["term"], z["count"], z["lengths"])
    if len(lines) != arrays[4].shape[0]:
        raise ValueError(f"{len(lines)} documents but {arrays[4].shape[0]} length rows")
    return vocab, lines, arrays


def _load_search(path: Path) -> tuple[list[str], list[bytes], tuple[np.ndarray, ...]]:
    """The `search_*` part of a forward file: (vocabulary, filter lines, arrays)."""
    with np.load(path, allow_pickle=False) as z:
        if "search_meta" not in z.files:
            raise ValueError("no search fields in it")
        vocab = json.loads(z["search_vocab"].tobytes().decode("utf-8"))
        blob = z["search_meta"].tobytes()
        lines = blob.split(b"\n") if blob else []
        entries, lengths = z["search_entries"], z["search_lengths"]
        doc = np.repeat(np.arange(len(entries), dtype=np.int32), entries)
        arrays = (doc, z["search_fld"], z["search_term"], z["search_count"], lengths)
    if len(entries) != lengths.shape[0] or len(doc) != len(arrays[1]):
        raise ValueError("search arrays of different sizes")
    if len(lines) != arrays[4].shape[0]:
        raise ValueError(f"{len(lines)} search documents but {arrays[4].shape[0]} length rows")
    return vocab, lines, arrays


def _doc_meta(a: Article) -> dict[str, object]:
    return {
        "id": a.id, "title": a.title, "type": a.type, "status": a.status, "audience": a.audience,
        "product": a.product or "", "summary": a.summary, "path": a.rel_path, "kind": a.kind,
        "replaced_by": a.replaced_by or "", "error_codes": a.error_codes, "hash": a.content_hash,
        "body": a.text,
    }


def _search_line(a: Article) -> bytes:
    """What the search filters test, as the Whoosh document indexes it (see `_filter_query`)."""
    tags = [t.text for t in _TAGS_ANALYZER(_tags_value(a))]
    return json.dumps([a.id, a.type, a.status, a.audience, a.product or "", tags], ensure_ascii=False).encode("utf-8")


def _search_tokens(a: Article, toks: dict[str, list[str]]) -> list[list[str]]:
    """The terms of SEARCH_FIELDS, in that order, as Whoosh indexes `document(a, toks)`."""
    codes = "\n".join(a.error_codes)
    by_name = {"title": toks["title"], "text": _text_tokens(toks),
               "error_code": [t.text for t in CODE_EXACT(codes, mode="index") if not t.stopped],
               "error_parts": [t.text for t in CODE_PARTS(codes, mode="index") if not t.stopped]}
    return [by_name[name] for name in SEARCH_FIELDS]


class _Counts:
    """(doc, field, term, count) arrays and per-document field lengths over one vocabulary,
    appended document by document, optionally after the kept documents of a saved build."""

    def __init__(self, n_fields: int) -> None:
        self.n_fields = n_fields
        self.vocab: list[str] = []
        self.term_ids: dict[str, int] = {}
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.lengths: list[np.ndarray] = []
        self.n_docs = 0

    def keep(self, vocab: list[str], arrays: tuple[np.ndarray, ...], keep: np.ndarray) -> None:
        """Start from saved arrays with only the documents where `keep` is True."""
        doc, fld, term, count, lengths = arrays
        self.vocab = list(vocab)
        self.term_ids = {t: i for i, t in enumerate(self.vocab)}
        remap = np.cumsum(keep) - 1
        mask = keep[doc]
        self.parts.append((remap[doc[mask]].astype(np.int32), fld[mask], term[mask], count[mask]))
        self.lengths.append(lengths[keep])
        self.n_docs = int(keep.sum())

    def add(self, fields: Iterable[list[str]]) -> None:
        """One document: its tokens per field."""
        n = self.n_docs
        docs, flds, terms, counts = [], [], [], []
        lens = np.zeros(self.n_fields, dtype=np.int32)
        for f, tokens in enumerate(fields):
            c = Counter(tokens)
            lens[f] = sum(c.values())
            for term, k in c.items():
                tid = self.term_ids.get(term)
                if tid is None:
                    tid = self.term_ids[term] = len(self.vocab)
                    self.vocab.append(term)
                docs.append(n)
                flds.append(f)
                terms.append(tid)
                counts.append(k)
        self.parts.append((np.array(docs, np.int32), np.array(flds, np.int8), np.array(terms, np.int32), np.array(counts, np.int32)))
        self.lengths.append(lens[None, :])
        self.n_docs += 1

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            z = np.zeros(0, dtype=np.int32)
            return z, z.astype(np.int8), z, z, np.zeros((0, self.n_fields), dtype=np.int32)
        return (*(np.concatenate([p[i] for p in self.parts]) for i in range(4)), np.concatenate(self.lengths))


class _ForwardBuilder:
    def __init__(self, base: Path | None = None, drop: set[str] | None = None) -> None:
        """Start empty, or from the forward file `base` without the documents in `drop`."""
        self.analyzer = _stem()
        self.lines: list[bytes] = []
        self.search_lines: list[bytes] = []
        self.fwd = _Counts(len(FORWARD_FIELDS))
        self.search = _Counts(len(SEARCH_FIELDS))
        if base is not None:
            vocab, lines, arrays = _load_forward(base)
            s_vocab, s_lines, s_arrays = _load_search(base)
            if len(s_lines) != len(lines):
                raise ValueError(f"{len(lines)} documents but {len(s_lines)} search documents")
            drop = drop or set()
            # ids without decoding each line: every line starts with {"id": "<id>", (see _doc_meta)
            keep = np.array([_line_id(line) not in drop for line in lines], dtype=bool)
            self.lines = [line for line, k in zip(lines, keep) if k]
            self.search_lines = [line for line, k in zip(s_lines, keep) if k]
            self.fwd.keep(vocab, arrays, keep)
            self.search.keep(s_vocab, s_arrays, keep)

    def add(self, a: Article, tokens: dict[str, list[str]] | None = None) -> None:
        self.lines.append(_doc_line(_doc_meta(a)))
        self.search_lines.append(_search_line(a))
        toks = tokens if tokens is not None else _tokens(_texts(a), self.analyzer)
        self.fwd.add(toks[name] for name in FORWARD_FIELDS)
        self.search.add(_search_tokens(a, toks))

    def save(self, path: Path) -> None:
        _save_forward(path, self.fwd.vocab, self.lines, *self.fwd.arrays(),
                      search=(self.search.vocab, self.search_lines, self.search.arrays()))


_LINE_ID = re.compile(rb'^\{"id": ("(?:[^"\\]|\\.)*")')


# the content hash (hex) of a forward document line; JSON escapes quotes inside strings, so
# only the real key matches
_LINE_HASH = re.compile(rb'"hash": "([0-9a-f]+)"')


def _line_id(line: bytes) -> str:
    m = _LINE_ID.match(line)
    if m is None:
        return str(json.loads(line)["id"])
    raw = m.group(1)
    return raw[1:-1].decode("utf-8") if b"\\" not in raw else json.loads(raw)


# --- compiled BM25F (suggest, and plain-word search) -------------------------------------


class CompiledBM25F:
    """BM25F weights of (doc, field, term, count) arrays compiled into one scipy CSR matrix,
    rows × documents.

    Each (row, document) weight is independent of the query, so scoring a query is one
    gather of its rows and one bincount (`score`): no Python loop over postings. Every
    field is saturated on its own, then weighted (Whoosh's BM25F does the same):
    bm25_f(t,d) = tf·(k1+1) / (tf + k1·(1 − b_f + b_f·len_f(d)/avglen_f)). Fields whose
    weight is 0 are left out. Two models:

    - "summed" (suggest): one row per term, W(t,d) = idf(t) · Σ_f w_f·bm25_f(t,d), with
      idf(t) = log(1 + (N − df + 0.5)/(df + 0.5)) over the documents having t in any field
      and avglen_f clamped at >= 1.
    - "whoosh" (plain-word search): one row per (field, term), `row(f, t)`, W = w_f ·
      idf_f(t) · bm25_f(t,d), exactly what Whoosh's `BM25F` scores for a term query on that
      field: idf_f(t) = log(N/(df_f + 1)) + 1, len_f(d) as Whoosh stores it (quantised to a
      byte), avglen_f = total length / N (1 if 0).
    """

    def __init__(self, doc: np.ndarray, fld: np.ndarray, term: np.ndarray, count: np.ndarray,
                 lengths: np.ndarray, n_terms: int, weights: Iterable[float], k1: float = 1.2,
                 b: float | Iterable[float] = 0.75, model: str = "summed") -> None:
        if model not in ("summed", "whoosh"):
            raise ValueError(f"unknown BM25F model {model!r}")
        n_docs, n_f = lengths.shape
        w = np.asarray(list(weights), dtype=np.float64)
        b_f = np.broadcast_to(np.asarray(b if np.ndim(b) else [b] * n_f, dtype=np.float64), (n_f,))
        if len(w) != n_f:
            raise ValueError(f"{len(w)} field weights for {n_f} fields")
        if (w == 0).any():
            keep = w[fld] != 0
            doc, fld, term, count = doc[keep], fld[keep], term[keep], count[keep]
        self.model, self.n_docs, self.n_terms, self.n_fields = model, n_docs, n_terms, n_f
        self.weights = w
        tf = count.astype(np.float64)
        if model == "summed":
            lens = lengths.astype(np.float64)
            avg = np.maximum(lens.mean(axis=0), 1.0) if n_docs else np.ones(n_f)
            norm = 1.0 - b_f[fld] + b_f[fld] * lens[doc, fld] / avg[fld]
            per_field = w[fld] * tf * (k1 + 1.0) / (tf + k1 * norm)
            m = sp.csr_matrix((per_field, (term, doc)), shape=(n_terms, n_docs))
            m.sum_duplicates()
            df = np.diff(m.indptr)  # documents containing the term in any field
            idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            data = m.data * np.repeat(idf, df)
            self.idf = idf
            self.W = sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape)
        else:  # (each (doc, field, term) is one entry: no duplicates to sum)
            avg = lengths.sum(axis=0, dtype=np.float64) / (n_docs or 1)
            avg[avg == 0] = 1.0
            stored = _whoosh_lengths(lengths)
            norm = k1 * ((1 - b_f) + b_f * stored / avg)  # per (document, field)
            sat = (tf * (k1 + 1)) / (tf + norm.ravel()[doc.astype(np.int64) * n_f + fld])
            rows = fld.astype(np.int64) * n_terms + term
            df = np.bincount(rows, minlength=n_f * n_terms)  # documents containing the term in this field
            self.idf = np.log(n_docs / (df + 1)) + 1 if n_docs else np.zeros(len(df))
            data = w[fld] * (self.idf[rows] * sat)  # (Whoosh: idf * saturation, times the term's boost)
            self.W = sp.csr_matrix((data, (rows, doc)), shape=(n_f * n_terms, n_docs))

    def row(self, field: int, term: int) -> int:
        """The row of `term` in field number `field` ("whoosh" model; "summed" rows are terms)."""
        return field * self.n_terms + term if self.model == "whoosh" else term

    def _gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        indptr = self.W.indptr
        starts = indptr[rows]
        lens = indptr[rows + 1] - starts
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens) + np.arange(int(lens.sum()))
        return offsets, lens

    def score(self, rows: np.ndarray, wts: np.ndarray) -> np.ndarray:
        """Score of every document for weighted query rows: Σ wts[i] · W[rows[i], doc]."""
        n = self.n_docs
        if not len(rows) or not n:
            return np.zeros(n)
        offsets, lens = self._gather(rows)
        scores = np.bincount(self.W.indices[offsets], weights=self.W.data[offsets] * np.repeat(wts, lens), minlength=n)
        return scores.astype(np.float64, copy=False)  # (bincount of nothing is integer)

    def matches(self, rows: np.ndarray) -> np.ndarray:
        """Whether each document has any of `rows` (a boolean per document)."""
        if not len(rows) or not self.n_docs:
            return np.zeros(self.n_docs, dtype=bool)
        offsets, _ = self._gather(rows)
        return np.bincount(self.W.indices[offsets], minlength=self.n_docs) > 0


def _whoosh_lengths(lengths: np.ndarray) -> np.ndarray:
    """Field lengths as Whoosh stores and reads them back: one byte each, lossy above 32."""
    values, inverse = np.unique(lengths, return_inverse=True)
    stored = np.array([byte_to_length(length_to_byte(int(v))) for v in values], dtype=np.float64)
    return stored[inverse].reshape(lengths.shape)


def analyze(text: str) -> list[str]:
    """Terms of `text` exactly as the index analyses title and body (for suggest queries)."""
    return [t.text for t in _QUERY_ANALYZER(text)]


_QUERY_ANALYZER = _stem()


class _MemoAnalyzer:
    """A stemming analyser for the highlighter, its filters memoised per word.

    Whoosh's highlighter analyses every passage it is given (some 80 words a hit, ten hits
    a search), and the analyser's filters (lower case, stop words, stemming) were most of
    the cost of a search. Those filters act on one token at a time, so each distinct word
    goes through Whoosh's own filters once and is looked up afterwards: the tokens are
    exactly the analyser's. (Only when stop words are kept, as the highlighter asks:
    dropping them renumbers the positions of the tokens after them.)
    """

    def __init__(self, analyzer: object, size: int = 200_000) -> None:
        self.analyzer = analyzer
        self.tokenizer, self.filters = analyzer.items[0], analyzer.items[1:]  # type: ignore[attr-defined]
        self.size = size
        self.memo: dict[str, tuple[str, bool]] = {}

    def __call__(self, value: str, **kwargs: object) -> Iterator[object]:
        if kwargs.get("removestops", True):
            yield from self.analyzer(value, **kwargs)  # type: ignore[operator]
            return
        memo = self.memo
        for t in self.tokenizer(value, **kwargs):
            known = memo.get(t.text)
            if known is None:
                word = t.text
                gen: Iterator[object] = iter((t,))
                for f in self.filters:
                    gen = f(gen)
                for _ in gen:
                    pass
                if len(memo) >= self.size:
                    memo.clear()
                memo[word] = (t.text, t.stopped)
            else:
                t.text, t.stopped = known
            yield t


_HIGHLIGHT_ANALYZER = _MemoAnalyzer(_QUERY_ANALYZER)


def snippet(text: str, terms: Iterable[str], chars: int = 200, markup: str = "**") -> str:
    """The best-matching passage of `text` for the (analysed) `terms`, via Whoosh's highlighter."""
    terms = frozenset(terms)
    if not text or not terms:
        return " ".join(text[:chars].split())
    if len(text) > 4 * chars:
        # Whoosh's highlighter tokenises the whole text; give it only the passage that
        # mentions the most query stems, so a long article costs no more than a short one.
        paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()] or [text]
        text = max(paras, key=lambda p: sum(t in p.lower() for t in terms))[: 4 * chars]
    frag = highlight.ContextFragmenter(maxchars=chars, surround=60)
    fmt = _MarkerFormatter(markup)
    out = highlight.highlight(text, terms, _QUERY_ANALYZER, frag, fmt, top=1)
    return " ".join(out.split()) if out else " ".join(text[:chars].split())


_PARA_SPLIT = re.compile(r"\n\s*\n")


def _passages(text: str, terms: Iterable[str], budget: int = 500, each: int = 260) -> list[str]:
    """The windows of `text` most likely to hold `terms`, about `budget` characters in all
    (the whole text if it is that short), in document order.

    Whoosh's highlighter tokenises (and stems) all the text it is given, which made
    highlighting ten long bodies cost more than the search itself. A cheap substring
    search of the lowercased paragraphs (stems are mostly prefixes of the words) finds,
    per paragraph, the `each`-character window holding the most distinct terms; the best
    windows go to the highlighter, which then decides exactly.
    """
    if len(text) <= budget:
        return [text]
    terms = [t for t in terms if t]
    scored = []
    for i, para in enumerate(p for p in _PARA_SPLIT.split(text) if p.strip()):
        low = para.lower()
        hits = sorted((m.start(), t) for t in terms for m in re.finditer(re.escape(t), low))
        if not hits:
            continue
        best_n, best_start = 0, 0
        for k, (pos, _) in enumerate(hits):  # windows starting a little before each hit
            n = len({t for q, t in hits[k:] if q < pos + each * 3 // 4})
            if n > best_n:
                best_n, best_start = n, max(0, pos - each // 4)
        end = best_start + each
        if best_start:  # start and end at word boundaries
            space = para.find(" ", best_start)
            best_start = space + 1 if 0 <= space < best_start + 30 else best_start
        space = para.find(" ", end)
        end = space if 0 <= space < end + 30 else end
        scored.append((-best_n, i, para[best_start:end]))
    if not scored:
        return [text[:budget]]
    picked, used = [], 0
    for _, i, chunk in sorted(scored):
        if used >= budget:
            break
        picked.append((i, chunk))
        used += len(chunk)
    return [chunk for _, chunk in sorted(picked)]  # in document order


class _MarkerFormatter(highlight.Formatter):
    """Wraps matched words in a marker (`**` for Markdown/JSON, ANSI bold for terminals)."""

    def __init__(self, markup: str = "**") -> None:
        self.between = " … "
        self.open, self.close = ("\033[1;33m", "\033[0m") if markup == "ansi" else (markup, markup)

    def format_token(self, text: str, token: object, replace: bool = False) -> str:
        return f"{self.open}{highlight.get_text(text, token, replace)}{self.close}"


# --- manifest, locking, snapshots ---------------------------------------------------


@dataclass
class Manifest:
    kb_root: str
    files: dict[str, dict[str, object]]  # rel_path -> {"hash", "id", "size", "mtime_ns"} of indexed files
    built_at: float
    doc_count: int
    skipped: dict[str, dict[str, object]] = field(default_factory=dict)  # rel_path -> {"size", "mtime_ns"}

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "kb_root": self.kb_root,
                           "built_at": self.built_at, "doc_count": self.doc_count, "files": self.files,
                           "skipped": self.skipped}, separators=(",", ":"))  # no indent: C encoder, 10x faster

    @classmethod
    def read(cls, build: Path) -> "Manifest":
        mpath = build / MANIFEST
        try:
            data = json.loads(mpath.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexProblem(f"{build} is not a kbtool index (no {MANIFEST}); refusing to open it. "
                               "Run `kbtool index --rebuild`.") from None
        except (OSError, ValueError) as e:
            raise IndexProblem(f"index manifest {mpath} is unreadable ({e}). Run `kbtool index --rebuild`.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IndexProblem(f"{build} was not written by kbtool; refusing to open it. Run `kbtool index --rebuild`.")
        if data.get("version") != FORMAT_VERSION:
            raise IndexProblem(f"index format {data.get('version')} is not supported by this kbtool "
                               f"(needs {FORMAT_VERSION}). Run `kbtool index --rebuild`.")
        try:
            return cls(str(data["kb_root"]), dict(data["files"]), float(data["built_at"]), int(data["doc_count"]),
                       dict(data.get("skipped") or {}))
        except (KeyError, TypeError, ValueError) as e:
            raise IndexProblem(f"index manifest {mpath} is incomplete ({e!r}). Run `kbtool index --rebuild`.") from None


class _Lock:
    """One writer at a time per index directory (flock; released if the process dies)."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / ".lock"
        self.fh: object = None

    def __enter__(self) -> "_Lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            fh.close()
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise IndexBusy(f"another `kbtool index` is already updating {self.path.parent}; "
                                "wait for it to finish and try again") from None
            raise
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        self.fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)  # type: ignore[arg-type]
        self.fh.close()  # type: ignore[attr-defined]


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


@dataclass
class Hit:
    id: str
    title: str
    type: str
    status: str
    audience: str
    path: str
    score: float
    fragment: str
    replaced_by: str = ""
    product: str = ""

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    total: int
    did_you_mean: str | None = None
    stale: bool = False
    updated: "BuildReport | None" = None
    engine: str = "whoosh"  # who scored it: "compiled" (plain words, CompiledBM25F) or "whoosh"


@dataclass
class Filters:
    type: str | None = None
    status: tuple[str, ...] | None = DEFAULT_STATUSES
    audience: str | None = None
    product: str | None = None
    tag: str | None = None
    include_retired: bool = False


class BadQuery(ValueError):
    """A query that cannot run, e.g. `created:soon`; the message says what is wrong."""


# Words of the query syntax, never "corrected" by did-you-mean.
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})
_DYM_WORD = re.compile(r"^(?P<pre>[(\"']*(?:\w+:)?[(\"']*)(?P<word>[A-Za-z]+)(?P<post>[)\"'~^0-9.]*)$")


def _query_errors(q: wquery.Query) -> list[str]:
    """Messages of the error nodes Whoosh's parser leaves in a tree instead of raising."""
    out, stack = [], [q]
    while stack:
        node = stack.pop()
        if getattr(node, "error", None):
            out.append(str(node.error))  # type: ignore[attr-defined]
        stack.extend(node.children())
    return out


def _rewrite(q: wquery.Query, schema: Schema) -> wquery.Query:
    """Fix the parts of a parsed query that Whoosh would run wrongly or not at all.

    - `a NOT b` under our OR grouping parses as `Or([a, Not(b)])`, which matches every
      document without `b` (and can divide by zero in the coordination scorer): make it
      `AndNot(a, b)`, as a reader of the query means.
    - A phrase on a field indexed without positions (the error-code fields) raises
      QueryError at search time: require all its words there instead.
    - `*` expands to every term of every field (slow): match all documents directly.
    """
    if isinstance(q, wquery.Phrase):
        if q.fieldname in schema and not schema[q.fieldname].format.supports("positions"):
            terms = [wquery.Term(q.fieldname, w, boost=q.boost) for w in q.words]
            return wquery.And(terms) if len(terms) > 1 else (terms[0] if terms else wquery.NullQuery)
        return q
    if isinstance(q, wquery.Every) or (isinstance(q, wquery.Wildcard) and q.text == "*"):
        # Every article has a title and a `text`, so `*` over them is every document.
        everything = q.fieldname in (None, "", "*", "title", "text")
        return wquery.Every(boost=q.boost) if everything else wquery.Every(q.fieldname, boost=q.boost)
    if isinstance(q, wquery.Or):
        subs = [_rewrite(s, schema) for s in q.subqueries]
        neg = [s.query for s in subs if isinstance(s, wquery.Not)]
        pos = [s for s in subs if not isinstance(s, wquery.Not)]
        if any(isinstance(s, wquery.Every) and not s.fieldname for s in pos):
            pos = [wquery.Every()]  # OR with every document is every document
        new = copy.copy(q)  # keeps `scale` (coordination) and `minmatch`, which `apply` drops
        new.subqueries = pos if neg and pos else subs
        if neg and pos:
            return wquery.AndNot(new, neg[0] if len(neg) == 1 else wquery.Or(neg))
        return new
    return q.apply(lambda s: _rewrite(s, schema))


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts as one edit)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _highlight_terms(q: wquery.Query, reader: object, cap: int = 500) -> frozenset[str]:
    """Body-analyser terms to highlight for `q`: its words in the stemmed text fields, the
    parts of matched error codes, wildcard/fuzzy expansions; nothing under NOT."""
    out: set[str] = set()
    stack = [q]
    while stack and len(out) < cap:
        node = stack.pop()
        if isinstance(node, wquery.Not):
            continue
        if isinstance(node, wquery.AndNot):
            stack.append(node.a)
            continue
        if not node.is_leaf():
            stack.extend(node.children())
            continue
        try:
            pairs = node.existing_terms(reader, expand=True)
        except Exception:  # a leaf type without terms (Every, NullQuery)
            continue
        for fieldname, term in pairs:
            word = term.decode("utf-8") if isinstance(term, bytes) else str(term)
            if fieldname in ("error_code", "error_parts"):
                out.update(analyze(word))
            elif fieldname in STEMMED_FIELDS:
                out.add(word)
    return frozenset(out)


class _FirstBestScorer(highlight.BasicFragmentScorer):
    """Whoosh's fragment score, ties going to the earlier fragment. (Whoosh breaks ties by
    the fragments' memory addresses: the same search could show another passage.)"""

    def __call__(self, f: highlight.Fragment) -> float:
        return super().__call__(f) - f.startchar * 1e-9  # scores are multiples of 100: only ties change


_FIRST_BEST = _FirstBestScorer()


def _fragment(fields: dict[str, object], terms: frozenset[str], frag: highlight.Fragmenter,
              fmt: highlight.Formatter) -> str:
    """The best passages of the body (else the summary) for the query's terms, highlighted.

    Whoosh's Hit.highlights("body") would only use terms matched *in the body*, so a hit
    found by its title or error code (`SAML-403`, `ERR_CERT_DATE_INVALID`) showed an
    unhighlighted summary although the body mentions the code.
    """
    if terms:
        for name in ("body", "summary"):
            text = str(fields.get(name) or "")
            windows = _passages(text, terms) if text else []
            # each window on its own, so a fragment never runs from one window into the next
            top = 2 if len(windows) == 1 else 1
            outs = [o for w in windows
                    if (o := highlight.highlight(w, terms, _HIGHLIGHT_ANALYZER, frag, fmt, top=top, scorer=_FIRST_BEST))]
            if outs:
                return _clip(" ".join(" … ".join(outs).split()))
    return _clip(" ".join(str(fields.get("summary") or fields.get("body") or "").split()))


def _hit(fields: dict[str, object], score: float, terms: frozenset[str], frag: highlight.Fragmenter,
         fmt: highlight.Formatter) -> Hit:
    """A search hit from a document's stored fields."""
    return Hit(id=fields["id"], title=fields["title"], type=fields["type"], status=fields["status"],  # type: ignore[arg-type]
               audience=fields["audience"], path=fields["path"], score=round(float(score), 4),  # type: ignore[arg-type]
               fragment=_fragment(fields, terms, frag, fmt), replaced_by=fields.get("replaced_by", ""),  # type: ignore[arg-type]
               product=fields.get("product", ""))  # type: ignore[arg-type]


def _clip(text: str, chars: int = 480) -> str:
    """At most about `chars` characters, cut at a space (a fragment is a glimpse, not the article)."""
    if len(text) <= chars:
        return text
    cut = text.rfind(" ", 0, chars)
    return text[: cut if cut > chars // 2 else chars].rstrip(" …") + " …"


def _statuses(f: Filters) -> tuple[str, ...] | None:
    """The statuses the filters let through (None: every status)."""
    if not f.status:
        return None
    return tuple(f.status) + (("retired",) if f.include_retired and "retired" not in f.status else ())


# Query syntax that always runs through Whoosh, whatever it parses to: quotes (a quoted phrase
# parses to the same Phrase nodes as a split word, and a quoted word in `title` loses its
# field boost), boosts `^` (term boosts `_PlainWords.plan` could not tell from field boosts),
# ranges and escapes. Everything else (groups, OR, field:word, wildcards, fuzzy terms, AND,
# NOT) is decided on the parsed query by `_PlainWords.plan`, which takes only ORs of term and
# phrase queries on SEARCH_FIELDS with the parser's own boosts.
_WHOOSH_ONLY = re.compile(r"[\"'^\[\]{}\\]")


@dataclass
class _Phrase:
    """A phrase leaf of a plain-word query (a word the stemming analyser splits, `SAML-403`)."""

    query: wquery.Phrase
    rows: np.ndarray  # its words' rows: where it occurs, it scores their sum (Whoosh's phrase score)
    weight: float


@dataclass
class _Plan:
    rows: np.ndarray
    weights: np.ndarray
    phrases: list[_Phrase]


class _PlainWords:
    """Plain-word search without Whoosh's scoring loops, for one build.

    A query of plain words parses to an OR of one query per word and SEARCH_FIELDS field,
    each boosted by BOOSTS: a term query, or a phrase where the stemming analyser splits
    the word (`SAML-403` is "saml 403" in title and text). Whoosh scores every posting of
    every term in Python (tens of ms for a few common words at 10,000 articles). Its score
    is a sum of per-(field, term) BM25F weights that do not depend on the query (a phrase
    scores the sum of its words' weights where it occurs), so the forward index's `search_*`
    arrays (the terms Whoosh indexed) compile into a CompiledBM25F ("whoosh" model) and the
    query is one gather and bincount. Positions are not in the forward index: where a
    phrase occurs is Whoosh's phrase matcher's answer (document numbers, mapped to rows by
    `rows_of_docnums`). Scores and order are Whoosh's own (ties: the earlier document
    first, like Whoosh's collector), except after incremental builds until Whoosh merges
    segments: its statistics then still count deleted documents (and its document order
    may differ in ties). The filter values come from the same file (`_search_line`).
    """

    def __init__(self, path: Path, doc_count: int) -> None:
        vocab, lines, (doc, fld, term, count, lengths) = _load_search(path)
        if len(lines) != doc_count:
            raise ValueError(f"{len(lines)} search documents for {doc_count} indexed")
        self.bm25 = CompiledBM25F(doc, fld, term, count, lengths, len(vocab), [BOOSTS[f] for f in SEARCH_FIELDS],
                                  BM25_K1, BM25_B, model="whoosh")
        self.term_ids = {t: i for i, t in enumerate(vocab)}
        self.field_no = {name: i for i, name in enumerate(SEARCH_FIELDS)}
        meta = json.loads(b"[" + b",".join(lines) + b"]")
        self.ids: list[str] = [m[0] for m in meta]
        self.row_of = {d: i for i, d in enumerate(self.ids)}
        self.n = len(meta)
        self.type, self.status, self.audience, self.product = (np.array([m[k] for m in meta], dtype=object)
                                                               for k in range(1, 5))
        self.tags = [frozenset(m[5]) for m in meta]
        self._masks: dict[tuple[object, ...], np.ndarray | None] = {}
        self._row_of_docnum: np.ndarray | None = None

    def rows_of_docnums(self, searcher: object) -> np.ndarray:
        """The row of every Whoosh document number (-1: a deleted document), built on first use.

        A unique id has one posting, which its term info records as its minimum and maximum
        document number: no postings to read, except for an id also held by a deleted
        document (an edited article before its segment is merged)."""
        if self._row_of_docnum is None:
            reader = searcher.reader()  # type: ignore[attr-defined]
            out = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            found = np.zeros(self.n, dtype=bool)
            for text, info in reader.iter_field("id"):
                row = self.row_of.get(text.decode("utf-8"))
                if row is None:
                    continue
                docnum = info.min_id()
                if docnum != info.max_id() or reader.is_deleted(docnum):
                    docnum = searcher.document_number(id=self.ids[row])  # type: ignore[attr-defined]
                if docnum is not None:
                    out[docnum], found[row] = row, True
            if not found.all():
                missing = self.ids[int(np.flatnonzero(~found)[0])]
                raise IndexProblem(f"document {missing!r} is in the forward index but not in Whoosh's")
            self._row_of_docnum = out
        return self._row_of_docnum

    def plan(self, q: wquery.Query) -> _Plan | None:
        """How to score `q` if it is an OR of term and phrase queries on SEARCH_FIELDS (what
        plain words parse to, and groups of them, `a OR b`, `title:word`, `text:(a b)`), each
        boosted as the parser boosts it (BOOSTS for a word, 1 for field:word), else None
        (AND, NOT, wildcards, fuzzy terms, other fields, `^` boosts: Whoosh scores those)."""
        rows: list[int] = []
        wts: list[float] = []
        phrases: list[_Phrase] = []
        stack = [q]
        while stack:
            node = stack.pop()
            if type(node) is wquery.Or and node.boost == 1.0 and not node.minmatch and node.scale is None:
                stack.extend(node.subqueries)
                continue
            if getattr(node, "fieldname", None) not in self.field_no:
                return None  # a filter field (type:…), a part of `text` (summary:…), NullQuery, …
            if node.boost not in (BOOSTS[node.fieldname], 1.0):
                return None  # a boost `^` of the query's own (a word: its field's; field:word: 1)
            f, weight = self.field_no[node.fieldname], node.boost / BOOSTS[node.fieldname]  # compiled weights hold BOOSTS
            if type(node) is wquery.Term and isinstance(node.text, str):
                tid = self.term_ids.get(node.text)
                if tid is not None:  # else: no document has it
                    rows.append(self.bm25.row(f, tid))
                    wts.append(weight)
            elif type(node) is wquery.Phrase and node.slop == 1 and node.words:
                tids = [self.term_ids.get(w) for w in node.words]
                if any(t is None for t in tids):
                    continue  # a word no document has in this field: no match (as in Whoosh)
                prow = np.array([self.bm25.row(f, t) for t in tids], dtype=np.int64)  # type: ignore[arg-type]
                phrases.append(_Phrase(node, prow, weight))
            else:
                return None
        return _Plan(np.array(rows, dtype=np.int64), np.array(wts, dtype=np.float64), phrases)

    def mask(self, f: Filters) -> np.ndarray | None:
        """Documents passing the filters, as `Snapshot._filter_query` selects them (None: all)."""
        key = (f.type, tuple(f.status) if f.status else f.status, f.audience, f.product, f.tag, f.include_retired)
        if key not in self._masks:
            ok = None
            for column, value in ((self.type, f.type), (self.audience, f.audience), (self.product, f.product)):
                if value:
                    ok = (column == value) if ok is None else ok & (column == value)
            if f.tag:
                tag = f.tag.lower()
                has = np.fromiter((tag in t for t in self.tags), dtype=bool, count=self.n)
                ok = has if ok is None else ok & has
            statuses = _statuses(f)
            if statuses:
                has = np.isin(self.status, list(statuses))
                ok = has if ok is None else ok & has
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = None if ok is None else np.asarray(ok, dtype=bool)
        return self._masks[key]

    def scores(self, plan: _Plan, phrase_matches: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(score, matched) of every document; `phrase_matches`: where each phrase of the plan occurs."""
        scores = self.bm25.score(plan.rows, plan.weights)
        matched = self.bm25.matches(plan.rows)
        for phrase, where in zip(plan.phrases, phrase_matches):
            if len(where):
                scores[where] += self.bm25.score(phrase.rows, np.full(len(phrase.rows), phrase.weight))[where]
                matched[where] = True
        return scores, matched

    @staticmethod
    def top(scores: np.ndarray, matched: np.ndarray, allow: np.ndarray | None,
            limit: int | None) -> tuple[np.ndarray, int]:
        """The best `limit` matching documents, best first, and the number of matches."""
        if allow is not None:
            matched = matched & allow
        cand = np.flatnonzero(matched)  # ascending: among equal scores the earlier document wins
        total = len(cand)
        if limit is not None and limit < 1:
            return cand[:0], total
        if limit is not None and total > limit:
            s = scores[cand]
            cut = -np.partition(-s, limit - 1)[limit - 1]
            above, tied = cand[s > cut], cand[s == cut]
            cand = np.concatenate([above, tied[: limit - len(above)]])
        return cand[np.lexsort((cand, -scores[cand]))], total


class Snapshot:
    """A read-only view of one index build: Whoosh searcher + forward index.

    A snapshot stays valid after a newer build is swapped in (the build directory is
    never modified); call `Index.open()` again (see `is_current()`) to move to the newest.
    It holds one Whoosh searcher (searches from several threads take turns) and caches
    filter document sets, which is safe because a build never changes.
    """

    def __init__(self, build: Path) -> None:
        self.build = build
        self.manifest = Manifest.read(build)
        try:
            self._ix = windex.open_dir(str(build))
        except Exception as e:  # whoosh raises many types for damaged dirs
            raise IndexProblem(f"index at {build} is damaged ({type(e).__name__}: {e}). "
                               "Run `kbtool index --rebuild`.") from None
        self._forward: Forward | None = None
        self._plain: _PlainWords | None = None
        # One searcher for the snapshot's life, opened now so that it keeps its files even
        # if the build directory is pruned later; searches take turns (Whoosh readers are
        # not thread-safe). The build never changes, so parsed filters can be cached.
        try:
            self._searcher = self._ix.searcher(weighting=BM25F(B=BM25_B, K1=BM25_K1))
        except Exception as e:
            self._ix.close()
            raise IndexProblem(f"index at {build} is damaged ({type(e).__name__}: {e}). "
                               "Run `kbtool index --rebuild`.") from None
        self._schema = self._searcher.schema  # (FileIndex.schema re-reads the TOC from disk on every access)
        # A query word the stemming analyser splits (`SAML-403`, `sign-in`, `BILLING-864`)
        # must match those words side by side, not each one anywhere: OR-ing the parts
        # matched every document that says "billing", thousands of them, slowly.
        # (`error_parts` keeps OR: it is what matches a code by its parts.)
        for name in STEMMED_FIELDS:
            self._schema[name].multitoken_query = "phrase"
        # Plain OR grouping: Whoosh's coordination scaling (OrGroup.factory) multiplies a
        # score by (n - 1) / n over the n matching field terms, so a word found in one
        # field scores 0 for every document (and n = 0 divides by zero).
        self._parser = qparser.MultifieldParser(list(BOOSTS), self._schema, fieldboosts=BOOSTS, group=qparser.OrGroup)
        self._parser.add_plugin(qparser.FuzzyTermPlugin())
        self._filters: dict[tuple[object, ...], set[int] | None] = {}
        self._lock = threading.RLock()
        self._emb: semantic_mod.Embeddings | None = None

    @property
    def doc_count(self) -> int:
        return self.manifest.doc_count

    def is_current(self, index_dir: Path) -> bool:
        """Whether this snapshot is still the build `index_dir/current` points at."""
        return current_build(Path(index_dir)) == self.build

    def forward(self) -> Forward:
        if self._forward is None:
            try:
                self._forward = Forward.load(self.build / FORWARD)
            except (OSError, ValueError, KeyError) as e:
                raise IndexProblem(f"forward index in {self.build} is unreadable ({e}). "
                                   "Run `kbtool index --rebuild`.") from None
        return self._forward

    def parse(self, text: str) -> wquery.Query:
        """The Whoosh query for `text` (raises BadQuery for a query that cannot run)."""
        try:
            with self._lock:
                q = self._parser.parse(text, normalize=False)
        except Exception as e:  # Whoosh's parser raises plain errors for some field values
            raise BadQuery(f"{type(e).__name__}: {e}") from None
        errors = _query_errors(q)
        if errors:
            raise BadQuery("; ".join(dict.fromkeys(errors)))
        return _rewrite(q, self._schema).normalize()

    def plain_words(self) -> _PlainWords:
        """The compiled plain-word scorer of this build (loaded on first use)."""
        if self._plain is None:
            try:
                self._plain = _PlainWords(self.build / FORWARD, self.doc_count)
            except (OSError, ValueError, KeyError) as e:
                raise IndexProblem(f"forward index in {self.build} is unreadable ({e}). "
                                   "Run `kbtool index --rebuild`.") from None
        return self._plain

    def search(self, text: str, filters: Filters | None = None, limit: int = 10, markup: str = "**",
               whoosh: bool = False) -> SearchResult:
        """Whoosh query syntax over the boosted text fields, with filters and highlights.

        Plain words, and queries that parse to the same kind of query (groups, `a OR b`,
        `title:word`: see `_PlainWords.plan` and _WHOOSH_ONLY), are scored by the compiled
        BM25F twin of Whoosh's scoring (`_PlainWords`), the rest by Whoosh; `whoosh=True`
        uses Whoosh for every query (the reference the compiled path is tested against).
        Fragments and "did you mean" come from Whoosh either way. Raises BadQuery (a
        ValueError) for a query that cannot run, IndexProblem if the index turns out to be
        damaged.
        """
        filters = filters or Filters()
        q = self.parse(text)
        try:
            with self._lock:
                if not whoosh and not _WHOOSH_ONLY.search(text):
                    plain = self.plain_words()
                    plan = plain.plan(q)
                    if plan is not None:
                        return self._search_plain(text, q, plain, plan, filters, limit, markup)
                return self._search(text, q, filters, limit, markup)
        except wquery.QueryError as e:
            raise BadQuery(str(e)) from None
        except (OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError, IndexError) as e:
            raise IndexProblem(f"index at {self.build} is damaged ({type(e).__name__}: {e}). "
                               "Run `kbtool index --rebuild`.") from None

    def _search(self, text: str, q: wquery.Query, filters: Filters, limit: int, markup: str) -> SearchResult:
        s = self._searcher
        allow = self._allowed(filters)
        # No terms=True: Whoosh's per-document term recording costs a third of the search;
        # the query's own terms serve the highlighter (it marks only what a passage has).
        # No block-quality skipping either: in pure Python its bookkeeping costs more than
        # it skips, and scoring every match gives the exact filtered total in the same pass
        # (with skipping, len(results) re-ran the query and counted filtered-out documents).
        collector = collectors.TopCollector(limit=limit, usequality=False)
        if allow is not None:
            collector = collectors.FilterCollector(collector, allow=allow)
        s.search_with_collector(q, collector)
        results = collector.results()
        total = len(results)
        terms = _highlight_terms(q, s.reader())
        frag = highlight.ContextFragmenter(maxchars=220, surround=70)
        fmt = _MarkerFormatter(markup)
        hits = [_hit(r.fields(), r.score, terms, frag, fmt) for r in results]
        # A word the index has never seen gets a spelling suggestion, whatever the other
        # words found (zero or weak results are the usual sign; "webhok timeout" still
        # finds timeouts, yet the analyst meant webhooks).
        did_you_mean = self._did_you_mean(s, text)
        return SearchResult(text, hits, total, did_you_mean)

    def _search_plain(self, text: str, q: wquery.Query, plain: _PlainWords, plan: _Plan, filters: Filters,
                      limit: int | None, markup: str) -> SearchResult:
        """`_search` for plain words: compiled scores, filters and total (Whoosh places the
        phrases of split words); Whoosh's stored fields, fragments and spelling suggestion
        for what is shown."""
        s = self._searcher
        where = []
        for phrase in plan.phrases:  # where each phrase occurs: Whoosh's phrase matcher (positions)
            m = phrase.query.matcher(s, s.boolean_context())
            rows = np.zeros(0, dtype=np.int64)
            if m.is_active():
                try:
                    rows = plain.rows_of_docnums(s)[np.fromiter(m.all_ids(), dtype=np.int64)]
                except IndexProblem as e:
                    raise IndexProblem(f"index at {self.build} is damaged ({e}). Run `kbtool index --rebuild`.") from None
            where.append(rows[rows >= 0])
        scores, matched = plain.scores(plan, where)
        docs, total = plain.top(scores, matched, plain.mask(filters), limit)
        terms = _highlight_terms(q, s.reader())
        frag = highlight.ContextFragmenter(maxchars=220, surround=70)
        fmt = _MarkerFormatter(markup)
        hits = []
        for i in docs.tolist():
            docnum = s.document_number(id=plain.ids[i])
            if docnum is None:
                raise IndexProblem(f"index at {self.build} is damaged (document {plain.ids[i]!r} is in the forward "
                                   "index but not in Whoosh's). Run `kbtool index --rebuild`.")
            hits.append(_hit(s.stored_fields(docnum), float(scores[i]), terms, frag, fmt))
        return SearchResult(text, hits, total, self._did_you_mean(s, text), engine="compiled")

    def semantic_search(self, text: str, filters: Filters | None = None, limit: int = 10,
                        markup: str = "**") -> SearchResult:
        """Documents nearest in meaning to `text` (`kbtool search --semantic`): the build's
        embeddings (the `semantic` extra), with the same filters, fragments and totals as
        `search`. Raises IndexProblem when the build has no embeddings or the model cannot
        run, saying what to do."""
        filters = filters or Filters()
        emb = self._embeddings()
        try:
            q = semantic_mod.embed_query(text)
        except semantic_mod.SemanticUnavailable as e:
            raise IndexProblem(f"semantic search is unavailable: {e}") from None
        with self._lock:
            plain = self.plain_words()
            scores = np.zeros(plain.n)
            rows = np.fromiter((plain.row_of.get(i, -1) for i in emb.ids), dtype=np.int64, count=len(emb.ids))
            sims = emb.similarity(q)
            scores[rows[rows >= 0]] = sims[rows >= 0]
            docs, total = plain.top(scores, scores >= SEMANTIC_SEARCH_MIN, plain.mask(filters), limit)
            s = self._searcher
            try:  # the words of the query, for the fragments (plain text: any syntax is taken literally)
                terms = _highlight_terms(self.parse(text), s.reader())
            except BadQuery:
                terms = frozenset(analyze(text))
            frag = highlight.ContextFragmenter(maxchars=220, surround=70)
            fmt = _MarkerFormatter(markup)
            hits = []
            for i in docs.tolist():
                docnum = s.document_number(id=plain.ids[i])
                if docnum is not None:
                    hits.append(_hit(s.stored_fields(docnum), float(scores[i]), terms, frag, fmt))
        return SearchResult(text, hits, total, None, engine="semantic")

    def _embeddings(self) -> "semantic_mod.Embeddings":
        if self._emb is None:
            path = self.build / semantic_mod.EMBEDDINGS
            if not path.exists():
                reason = semantic_mod.unavailable_reason()
                raise IndexProblem("this index has no embeddings: "
                                   + (f"{reason}." if reason else "run `kbtool index --semantic`."))
            try:
                self._emb = semantic_mod.Embeddings.load(path)
            except (OSError, ValueError) as e:
                raise IndexProblem(f"embeddings in {self.build} are unreadable ({e}). "
                                   "Run `kbtool index --rebuild`.") from None
        return self._emb

    def _allowed(self, f: Filters) -> set[int] | None:
        """Document numbers passing the filters (cached: the build never changes)."""
        key = (f.type, tuple(f.status) if f.status else f.status, f.audience, f.product, f.tag, f.include_retired)
        if key not in self._filters:
            fq = self._filter_query(f)
            if len(self._filters) > 64:
                self._filters.clear()
            self._filters[key] = None if fq is None else set(self._searcher.docs_for_query(fq))
        return self._filters[key]

    def _filter_query(self, f: Filters) -> wquery.Query | None:
        clauses: list[wquery.Query] = []
        for name, value in (("type", f.type), ("audience", f.audience), ("product", f.product)):
            if value:
                clauses.append(wquery.Term(name, value))
        if f.tag:
            clauses.append(wquery.Term("tags", f.tag.lower()))
        statuses = _statuses(f)
        if statuses:
            clauses.append(wquery.Or([wquery.Term("status", s) for s in statuses]))
        if not clauses:
            return None
        return wquery.And(clauses) if len(clauses) > 1 else clauses[0]

    def _did_you_mean(self, searcher: object, text: str) -> str | None:
        """Correct words the unstemmed `spell` field has never seen: nearest edit first, then
        commonest.

        (Whoosh's ReaderCorrector ranks only by frequency within the maximum distance, so
        "databse" would become "databases" whenever that is more frequent than "database".)
        """
        reader = searcher.reader()  # type: ignore[attr-defined]
        words, changed, corrector = [], False, None
        for w in text.split():
            m = _DYM_WORD.match(w)
            plain = m.group("word").lower() if m else ""
            if m and w not in _OPERATORS and len(plain) > 2 and reader.doc_frequency("spell", plain) == 0:
                corrector = corrector or searcher.corrector("spell")  # type: ignore[attr-defined]
                # prefix=1: typos rarely hit the first letter, and it spares a scan of every term
                cands = corrector.suggest(plain, limit=20, maxdist=2, prefix=1)
                if cands:
                    best = min(cands, key=lambda c: (_edit_distance(plain, c), -reader.frequency("spell", c), c))
                    words.append(m.group("pre") + best + m.group("post"))
                    changed = True
                    continue
            words.append(w)
        return " ".join(words) if changed else None

    def close(self) -> None:
        with self._lock:
            self._searcher.close()
            self._ix.close()


# --- building -----------------------------------------------------------------------


@dataclass
class BuildReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    full: bool = False
    build: Path | None = None
    skipped: list[str] = field(default_factory=list)  # KB files with errors, not indexed
    note: str = ""  # why a full build happened when an incremental one was asked for
    embedded: int = 0  # documents embedded for semantic matching (the rest reused their vectors)
    embed_seconds: float = 0.0
    semantic_note: str = ""  # what happened to the embeddings, or why there are none

    def summary(self) -> str:
        kind = "full build" if self.full else "incremental"
        extra = f", {len(self.skipped)} invalid skipped" if self.skipped else ""
        note = f" ({self.note})" if self.note else ""
        return (f"indexed ({kind}): {self.added} added, {self.updated} updated, {self.removed} removed, "
                f"{self.unchanged} unchanged{extra} in {self.seconds:.2f}s{note}")




def _file_state(a: Article) -> dict[str, object]:
    st = a.path.stat()
    return {"hash": a.content_hash, "id": a.id, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _kb_files(root: Path) -> list[tuple[str, str]]:
    """(posix path relative to `root`, full path) of the KB's Markdown files, as `content.discover` finds them."""
    base = str(root)
    return [(f[len(base) + 1:].replace(os.sep, "/"), f) for f in map(str, discover(root)[0])]


@dataclass
class _Entry:
    """One indexable KB file: its manifest state, and the parsed article when it must be
    (re)indexed. The fast update path leaves `article` None for unchanged files."""

    state: dict[str, object]  # {"hash", "id", "size", "mtime_ns"}
    article: Article | None = None


class _NeedFullLoad(Exception):
    """The fast update path cannot decide alone; load the whole KB with `load_kb`."""


def _is_ours(name: str) -> bool:
    return name in ("current", ".lock") or name.startswith(("build-", ".current-", "."))


class Index:
    """The index directory: builds (full/incremental, atomic) and opens snapshots."""

    def __init__(self, index_dir: Path, semantic: bool | str = False,
                 embed_progress: Progress | None = None) -> None:
        """`semantic`: embed documents for semantic matching ("auto": when the extra is
        installed; see `kbtool.semantic`)."""
        self.dir = Path(index_dir)
        self.semantic, self.semantic_off = semantic_mod.wanted(semantic) if semantic else (False, None)
        self.embed_progress = embed_progress

    @classmethod
    def for_config(cls, config: Config, embed_progress: Progress | None = None) -> "Index":
        return cls(config.index_dir, config.semantic, embed_progress)

    def exists(self) -> bool:
        return current_build(self.dir) is not None

    def open(self) -> Snapshot:
        build = current_build(self.dir)
        if build is None:
            if (self.dir / "current").is_symlink():
                raise IndexProblem(f"index at {self.dir} points at a missing build. Run `kbtool index --rebuild`.")
            raise IndexProblem(f"no index at {self.dir}. Run `kbtool index` to build it.")
        return Snapshot(build)

    def _current_manifest(self) -> Manifest | None:
        """The current build's manifest, or None when there is no usable build."""
        build = current_build(self.dir)
        if build is None:
            return None
        try:
            return Manifest.read(build)
        except IndexProblem:
            return None

    def is_stale(self, kb_root: Path) -> bool:
        """Cheap check (sizes and mtimes; no hashing) whether KB files changed since the build.

        Also True when there is no usable build (missing, or a manifest this kbtool cannot
        read), so that an update rebuilds it; `open()` explains what is wrong.
        """
        m = self._current_manifest()
        if m is None:
            return True
        root = Path(kb_root).resolve()
        if m.kb_root != str(root):
            return True
        known = {**m.skipped, **m.files}
        files = _kb_files(root)
        for rel, full in files:
            st = known.get(rel)
            try:
                s = os.stat(full)
            except OSError:
                return True
            if st is None or st.get("size") != s.st_size or st.get("mtime_ns") != s.st_mtime_ns:
                return True
        return len(files) != len(known)

    def build(self, kb: KB, rebuild: bool = False, progress: Progress | None = None) -> BuildReport:
        """Bring the index up to date with `kb`: incremental by content hash unless `rebuild`.

        Raises IndexProblem if another writer holds the lock (IndexBusy) or the directory
        holds files that are not kbtool's.
        """
        entries = {a.rel_path: _Entry(_file_state(a), a) for a in kb.articles if a.valid}
        skipped = {}
        for rel, full in _kb_files(Path(kb.root)):
            if rel not in entries:
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                skipped[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        for a in kb.articles:  # invalid articles outside the discovered files (a hand-made KB)
            if not a.valid and a.rel_path not in skipped:
                skipped[a.rel_path] = {"size": -1, "mtime_ns": -1}
        return self._build(Path(kb.root), entries, skipped, rebuild, progress)

    def update(self, kb_root: Path, progress: Progress | None = None) -> BuildReport:
        """Incremental update that parses only the files whose size or mtime changed.

        Unchanged files keep the hash and id the manifest recorded; changed, added and
        previously skipped files are parsed with `content.load_article`. This avoids
        loading the whole KB (seconds at 10,000 articles) to re-index one file. Whenever
        that is not enough to decide (no usable build, another KB, an id used by two
        files, a damaged build) it raises _NeedFullLoad and `update_index` loads the KB.
        """
        root = Path(kb_root).resolve()
        m = self._current_manifest()
        if m is None:
            raise _NeedFullLoad
        if m.kb_root != str(root):
            raise _NeedFullLoad
        entries: dict[str, _Entry] = {}
        skipped: dict[str, dict[str, object]] = {}
        owners: dict[str, list[str]] = {}
        for rel, full in _kb_files(root):
            try:
                st = os.stat(full)
            except OSError:
                raise _NeedFullLoad from None
            state: dict[str, object] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
            known = m.files.get(rel)
            if known and known.get("size") == st.st_size and known.get("mtime_ns") == st.st_mtime_ns:
                entries[rel] = _Entry(dict(known))
                owners.setdefault(str(known["id"]), []).append(rel)
                continue
            a, _diags = load_article(Path(full), root)
            if a is not None:
                owners.setdefault(a.id, []).append(rel)  # invalid articles claim their id too (load_kb)
            if a is None or not a.valid:
                skipped[rel] = state
                continue
            entries[rel] = _Entry({"hash": a.content_hash, "id": a.id, **state}, a)
        if any(len(rels) > 1 for rels in owners.values()):
            raise _NeedFullLoad  # duplicate ids: load_kb decides which file keeps the id
        return self._build(root, entries, skipped, False, progress)

    def _check_dir(self) -> None:
        """Refuse to write into a directory that holds anything but kbtool's own files."""
        if not self.dir.exists():
            return
        if not self.dir.is_dir():
            raise IndexProblem(f"{self.dir} is not a directory; choose another --index-dir")
        foreign = sorted(p.name for p in self.dir.iterdir() if not _is_ours(p.name))
        if foreign:
            raise IndexProblem(f"{self.dir} is not a kbtool index directory (it holds {', '.join(foreign[:3])}"
                               f"{', …' if len(foreign) > 3 else ''}); refusing to write into it. "
                               "Choose another --index-dir (or index_dir in the config), or empty it.")

    def _build(self, root: Path, entries: dict[str, _Entry], skipped: dict[str, dict[str, object]],
               rebuild: bool, progress: Progress | None) -> BuildReport:
        t0 = time.perf_counter()
        self._check_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        with _Lock(self.dir):
            old = current_build(self.dir)
            old_manifest = None
            note = ""
            if old is not None and not rebuild:
                try:
                    old_manifest = Manifest.read(old)
                except IndexProblem:
                    note = "previous index unusable: rebuilt from scratch"
                if old_manifest is not None and old_manifest.kb_root != str(root):
                    old_manifest, note = None, f"previous index was built from {old_manifest.kb_root}"
            files = {rel: e.state for rel, e in entries.items()}
            report = BuildReport(full=old_manifest is None, skipped=sorted(skipped), note=note)
            if (old_manifest is not None and old_manifest.files == files and old_manifest.skipped == skipped
                    and self._embeddings_ready(old)):
                report.unchanged, report.build = len(entries), old  # nothing changed: keep the build
                self._prune()
                report.seconds = time.perf_counter() - t0
                return report
            new = self.dir / f"build-{time.time_ns()}-{os.getpid()}"
            try:
                if old_manifest is not None:
                    try:
                        self._incremental(old, old_manifest, new, entries, report, progress)  # type: ignore[arg-type]
                    except Exception as err:  # a damaged previous build: start afresh if we can
                        shutil.rmtree(new, ignore_errors=True)
                        if any(e.article is None for e in entries.values()):
                            raise _NeedFullLoad from err
                        report = BuildReport(full=True, skipped=report.skipped,
                                             note=f"previous index unreadable ({type(err).__name__}): rebuilt from scratch")
                        old_manifest = None
                if old_manifest is None:
                    if any(e.article is None for e in entries.values()):
                        raise _NeedFullLoad
                    self._full(new, [e.article for e in entries.values()], report, progress)  # type: ignore[misc]
                self._embed(old, new, report)
                manifest = Manifest(str(root), files, time.time(), len(entries), skipped)
                (new / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
                _fsync_dir(new)
                self._swap(new)
            except BaseException:
                shutil.rmtree(new, ignore_errors=True)
                raise
            self._prune()
        report.build = new
        report.seconds = time.perf_counter() - t0
        return report

    def _full(self, new: Path, articles: list[Article], report: BuildReport, progress: Progress | None) -> None:
        new.mkdir(parents=True)
        ix = windex.create_in(str(new), make_schema())
        analyzer = _stem()
        fwd = _ForwardBuilder()
        writer = ix.writer(limitmb=256)
        try:
            for i, a in enumerate(articles, 1):
                toks = _tokens(_texts(a), analyzer)
                writer.add_document(**document(a, toks))
                fwd.add(a, toks)
                if progress:
                    progress(i, len(articles))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        fwd.save(new / FORWARD)
        report.added = len(articles)

    def _incremental(self, old: Path, manifest: Manifest, new: Path, entries: dict[str, _Entry],
                     report: BuildReport, progress: Progress | None) -> None:
        old_files = manifest.files
        changed = [e.article for rel, e in entries.items() if rel in old_files and old_files[rel].get("hash") != e.state["hash"]]
        added = [e.article for rel, e in entries.items() if rel not in old_files]
        removed = [rel for rel in old_files if rel not in entries]
        report.updated, report.added, report.removed = len(changed), len(added), len(removed)
        report.unchanged = len(entries) - len(changed) - len(added)
        drop = {str(old_files[rel]["id"]) for rel in removed} | {str(old_files[a.rel_path]["id"]) for a in changed}  # type: ignore[union-attr]
        todo: list[Article] = changed + added  # type: ignore[operator]
        new.mkdir(parents=True)
        for f in old.iterdir():  # Whoosh files are write-once: hard links are a safe copy
            if f.name == MANIFEST or f.name.endswith((".lock", "WRITELOCK")):
                continue
            if f.name in (FORWARD, semantic_mod.EMBEDDINGS) and (todo or drop):
                continue
            os.link(f, new / f.name)
        if not (todo or drop):
            return  # nothing to re-index (files only touched): a new manifest is all it takes
        ix = windex.open_dir(str(new))
        analyzer = _stem()
        toks = {a.id: _tokens(_texts(a), analyzer) for a in todo}
        writer = ix.writer()
        try:
            for doc_id in drop:
                writer.delete_by_term("id", doc_id)
            for i, a in enumerate(todo, 1):
                writer.update_document(**document(a, toks[a.id]))
                if progress:
                    progress(i, len(todo))
            writer.commit(merge=True)
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        fwd = _ForwardBuilder(old / FORWARD, drop | {a.id for a in todo})
        for a in todo:
            fwd.add(a, toks[a.id])
        fwd.save(new / FORWARD)

    def _embeddings_ready(self, build: Path | None) -> bool:
        """Whether `build` has what this index is asked for: embeddings iff semantic."""
        if build is None:
            return False
        path = build / semantic_mod.EMBEDDINGS
        return semantic_mod.Embeddings.usable(path) if self.semantic else not path.exists()

    def _embed(self, old: Path | None, new: Path, report: "BuildReport") -> None:
        """Embed the new build's documents (semantic on), reusing the vectors of the previous
        build for every document whose content hash is unchanged; or drop stale vectors."""
        target = new / semantic_mod.EMBEDDINGS
        if not self.semantic:
            target.unlink(missing_ok=True)
            report.semantic_note = self.semantic_off or ""
            return
        if target.exists():  # hard-linked from an unchanged previous build: still exact if made the same way
            if semantic_mod.Embeddings.usable(target):
                report.semantic_note = "embeddings unchanged"
                return
            target.unlink()
        previous = None
        if old is not None and (old / semantic_mod.EMBEDDINGS).exists():
            try:
                previous = semantic_mod.Embeddings.load(old / semantic_mod.EMBEDDINGS)
            except (OSError, ValueError):
                previous = None  # damaged: embed everything again
        _vocab, lines, _arrays = _load_forward(new / FORWARD)

        def texts(line: bytes) -> tuple[str, str, str]:
            d = json.loads(line)
            return str(d["title"]), str(d.get("summary") or ""), str(d.get("body") or "")

        def docs() -> Iterator[tuple[str, str, Callable[[], tuple[str, str, str]]]]:
            # id and hash without decoding each line (bodies and all): only documents to embed are decoded
            for line in lines:
                m = _LINE_HASH.search(line)
                h = m.group(1).decode("ascii") if m else str(json.loads(line)["hash"])
                yield _line_id(line), h, lambda line=line: texts(line)

        t0 = time.perf_counter()
        try:
            emb, fresh = semantic_mod.build_embeddings(docs(), previous, self.embed_progress)
        except semantic_mod.SemanticUnavailable as e:  # the model failed to load: lexical index, said so
            report.semantic_note = str(e)
            return
        emb.save(target)
        report.embedded, report.embed_seconds = fresh, time.perf_counter() - t0
        report.semantic_note = (f"embedded {fresh} document(s) in {time.perf_counter() - t0:.1f}s, "
                                f"{len(emb.ids) - fresh} reused" if fresh else "embeddings reused")

    def _swap(self, new: Path) -> None:
        tmp = self.dir / f".current-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(new.name, tmp)
        os.replace(tmp, self.dir / "current")
        _fsync_dir(self.dir)

    def _prune(self) -> None:
        """Drop what killed builds left behind, and all but the newest complete builds
        (readers may still hold the previous one). Runs under the lock."""
        cur = current_build(self.dir)
        builds = []
        for p in self.dir.glob("build-*"):
            if not p.is_dir() or p.is_symlink():
                continue
            if p != cur and not (p / MANIFEST).exists():  # a killed or failed build
                shutil.rmtree(p, ignore_errors=True)
            else:
                builds.append(p)
        builds.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
        keep = {cur, *builds[:KEEP_BUILDS]}
        for p in builds:
            if p not in keep:
                shutil.rmtree(p, ignore_errors=True)
        for p in self.dir.glob(".current-*"):  # a swap interrupted between symlink and rename
            if p.is_symlink():
                p.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def update_index(config: Config, rebuild: bool = False, progress: Progress | None = None, kb: KB | None = None,
                 embed_progress: Progress | None = None, start_embedding: bool = True) -> BuildReport:
    """Bring the configured index up to date (the `kbtool index` command).

    Without `kb` an incremental update parses only the files that changed (see
    `Index.update`); the whole KB is loaded when that cannot decide, or for `rebuild`.
    With semantic matching on, only new or changed documents are embedded.
    `start_embedding=False` (the automatic refresh before a search or suggestion) keeps
    embeddings up to date but never starts embedding a whole KB that has none: that takes
    minutes at 10,000 articles and belongs to an explicit `kbtool index`.
    """
    idx = Index.for_config(config, embed_progress)
    if idx.semantic and not start_embedding:
        cur = current_build(idx.dir)
        if cur is None or not (cur / semantic_mod.EMBEDDINGS).exists():
            idx.semantic, idx.semantic_off = False, "not started by an automatic refresh (run `kbtool index`)"
    if kb is None and not rebuild:
        try:
            return idx.update(config.kb, progress)
        except _NeedFullLoad:
            pass
    kb = kb or load_kb(config.kb, config)
    return idx.build(kb, rebuild=rebuild, progress=progress)


def search(config: Config, text: str, filters: Filters | None = None, limit: int = 10,
           auto_update: bool = True, markup: str = "**", semantic: bool = False) -> SearchResult:
    """Search the index, first refreshing it incrementally if the KB changed (`kbtool search`).

    If another process is building the index right now, searches the current build and
    flags the result stale instead of failing. `semantic`: by meaning (`Snapshot.semantic_search`).
    """
    idx = Index.for_config(config)
    stale = idx.is_stale(config.kb) if idx.exists() else False
    report = None
    if stale and auto_update:
        try:
            report = update_index(config, start_embedding=False)
            stale = False
        except IndexBusy:
            pass
    snap = idx.open()
    try:
        if semantic:
            result = snap.semantic_search(text, filters, limit, markup=markup)
        else:
            result = snap.search(text, filters, limit, markup=markup)
    finally:
        snap.close()
    result.stale = stale
    result.updated = report
    return result


def iter_snapshot_docs(snap: Snapshot) -> Iterator[dict[str, object]]:
    yield from snap.forward().docs
