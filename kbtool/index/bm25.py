"""Compiled BM25F: the sparse-matrix scorer shared by suggest and plain-word search.

No Whoosh here: the one piece of Whoosh it must match bit for bit, the one-byte field-length
quantisation, is reimplemented below (and tested against Whoosh's own functions).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

BM25_K1, BM25_B = 1.2, 0.75  # Whoosh's BM25F for search, and its compiled twin

# Field-length quantisation as in whoosh.util.numeric (Whoosh 2.7.4): `_length_byte_cache`
# holds the length each byte stands for, generated there with this very formula, and
# `length_to_byte` rounds down to the nearest entry by bisection.
_LENGTH_OF_BYTE = tuple(int(round((pow(1.033, n) - 1) * 27)) for n in range(256))


def length_to_byte(length: int | None) -> int:
    """whoosh.util.numeric.length_to_byte: a field length in one byte (lossy above 32)."""
    if length is None:
        return 0
    if length >= 106374:
        return 255
    return bisect_left(_LENGTH_OF_BYTE, length)


def byte_to_length(b: int) -> int:
    """whoosh.util.numeric.byte_to_length: the length a stored byte stands for."""
    return _LENGTH_OF_BYTE[b]


def whoosh_lengths(lengths: np.ndarray) -> np.ndarray:
    """Field lengths as Whoosh stores and reads them back: one byte each, lossy above 32."""
    values, inverse = np.unique(lengths, return_inverse=True)
    stored = np.array([byte_to_length(length_to_byte(int(v))) for v in values], dtype=np.float64)
    return stored[inverse].reshape(lengths.shape)


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
                 b: float | Sequence[float] = 0.75, model: str = "summed") -> None:
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
            self.idf, self.W = self._summed(doc, fld, term, tf, lengths, k1, b_f)
        else:
            self.idf, self.W = self._whoosh(doc, fld, term, tf, lengths, k1, b_f)

    def _summed(self, doc: np.ndarray, fld: np.ndarray, term: np.ndarray, tf: np.ndarray, lengths: np.ndarray,
                k1: float, b_f: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
        """(idf per term, W) of the "summed" model."""
        n_docs, n_f, w = self.n_docs, self.n_fields, self.weights
        lens = lengths.astype(np.float64)
        avg = np.maximum(lens.mean(axis=0), 1.0) if n_docs else np.ones(n_f)
        norm = 1.0 - b_f[fld] + b_f[fld] * lens[doc, fld] / avg[fld]
        per_field = w[fld] * tf * (k1 + 1.0) / (tf + k1 * norm)
        m = sp.csr_matrix((per_field, (term, doc)), shape=(self.n_terms, n_docs))
        m.sum_duplicates()
        df = np.diff(m.indptr)  # documents containing the term in any field
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        data = m.data * np.repeat(idf, df)
        return idf, sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape)

    def _whoosh(self, doc: np.ndarray, fld: np.ndarray, term: np.ndarray, tf: np.ndarray, lengths: np.ndarray,
                k1: float, b_f: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
        """(idf per row, W) of the "whoosh" model. (Each (doc, field, term) is one entry: no
        duplicates to sum.)"""
        n_docs, n_f, n_terms, w = self.n_docs, self.n_fields, self.n_terms, self.weights
        avg = lengths.sum(axis=0, dtype=np.float64) / (n_docs or 1)
        avg[avg == 0] = 1.0
        stored = whoosh_lengths(lengths)
        norm = k1 * ((1 - b_f) + b_f * stored / avg)  # per (document, field)
        sat = (tf * (k1 + 1)) / (tf + norm.ravel()[doc.astype(np.int64) * n_f + fld])
        rows = fld.astype(np.int64) * n_terms + term
        df = np.bincount(rows, minlength=n_f * n_terms)  # documents containing the term in this field
        idf = np.log(n_docs / (df + 1)) + 1 if n_docs else np.zeros(len(df))
        data = w[fld] * (idf[rows] * sat)  # (Whoosh: idf * saturation, times the term's boost)
        return idf, sp.csr_matrix((data, (rows, doc)), shape=(n_f * n_terms, n_docs))

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


class BM25View:
    """BM25F weights whose statistics (N, document frequencies, average lengths) come from
    some documents only, an audience's view, scoring into arrays over all documents (0
    outside the view). Public callers are scored from public content alone, so nothing an
    internal, draft or retired article holds changes a public score, gate or confidence.

    Search (`Snapshot.statistics`, "whoosh" model) and suggest (`Statistics`, "summed") both
    score through one."""

    def __init__(self, bm25: CompiledBM25F, docs: np.ndarray | None, n_docs: int) -> None:
        self.bm25 = bm25
        self.docs = docs  # the view's documents in the full numbering (None: all of them)
        self.n_docs = n_docs  # documents in the full numbering: the length of a score vector

    @classmethod
    def compile(cls, doc: np.ndarray, fld: np.ndarray, term: np.ndarray, count: np.ndarray, lengths: np.ndarray,
                n_terms: int, weights: Iterable[float], k1: float, b: float | Sequence[float], model: str = "summed",
                docs: np.ndarray | None = None) -> BM25View:
        """The view over `docs` (None: every document) of the (doc, field, term, count)
        postings and per-document field `lengths` that `CompiledBM25F` takes."""
        n_docs = len(lengths)
        if docs is not None:  # the view's own numbering: 0..len(docs)-1
            local = np.full(n_docs, -1, dtype=np.int64)
            local[docs] = np.arange(len(docs))
            keep = local[doc] >= 0
            doc, fld, term, count, lengths = local[doc[keep]], fld[keep], term[keep], count[keep], lengths[docs]
        return cls(CompiledBM25F(doc, fld, term, count, lengths, n_terms, weights, k1, b, model=model), docs, n_docs)

    @property
    def size(self) -> int:
        """Documents in the view."""
        return self.bm25.n_docs

    def score(self, rows: np.ndarray, wts: np.ndarray) -> np.ndarray:
        """`CompiledBM25F.score` over the view, spread over all documents."""
        s = self.bm25.score(rows, wts)
        if self.docs is None:
            return s
        out = np.zeros(self.n_docs)
        out[self.docs] = s
        return out

    def matches(self, rows: np.ndarray) -> np.ndarray:
        """`CompiledBM25F.matches` over the view, spread over all documents."""
        m = self.bm25.matches(rows)
        if self.docs is None:
            return m
        out = np.zeros(self.n_docs, dtype=bool)
        out[self.docs] = m
        return out
