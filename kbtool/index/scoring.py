"""Whoosh's BM25F over an audience's view: statistics from the documents it may see.

Whoosh scores a term with statistics of the whole index: the number of documents, the
term's document frequency and the field's average length. For a public search those
include internal, draft and retired articles, so 30 internal articles sharing a word with a
public one change the public score, and a caller could infer what it may not read. The
compiled plain-word path (`bm25.BM25View`) already scores from the view alone; this is the
same for the queries Whoosh scores itself (phrases, wildcards, fuzzy terms, NOT, ranges):
N is the view's size, a term's document frequency counts the view's documents among its
postings, and a field's average length is the view's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from math import log
from typing import Any

import numpy as np
from whoosh.scoring import BM25F, BM25FScorer, WeightScorer


class VisibleBM25F(BM25F):
    """BM25F (Whoosh's formula, B and K1 as given) with the statistics of `visible`, the
    top-level document numbers of the view. One per searcher and view: it caches the view's
    field lengths and document frequencies, which a build never changes."""

    def __init__(self, visible: set[int], doc_count: int, B: float, K1: float,
                 avgfl: dict[str, float] | None = None) -> None:
        """`avgfl`: the view's exact average field lengths where the caller has them (the
        forward index's, as the compiled path uses); other fields' are read from Whoosh's
        per-document lengths, which it keeps in a byte each (lossy above 32)."""
        super().__init__(B=B, K1=K1)
        self.n = len(visible)
        self.mask = np.zeros(max(doc_count, 1), dtype=bool)
        if visible:
            self.mask[np.fromiter(visible, dtype=np.int64, count=len(visible))] = True
        self._avgfl: dict[str, float] = dict(avgfl or {})
        self._df: dict[tuple[str, Any], int] = {}

    @contextmanager
    def applied(self, searcher: Any) -> Iterator[None]:
        """`searcher` (and its segments' searchers) scoring with this model meanwhile. A
        search context's weighting is not enough: Whoosh's constant-score wildcards set it to
        None, and `Searcher.postings` then falls back to the searcher's own, whole-index one.
        The idf cache is set aside too, so no view's idf serves a later whole-index search.
        Not thread-safe: the caller holds the searcher's lock."""
        searchers = [searcher, *(sub for sub, _ in searcher.subsearchers or () if sub is not searcher)]
        saved = [(x.weighting, x._idf_cache) for x in searchers]
        for x in searchers:
            x.weighting, x._idf_cache = self, {}
        try:
            yield
        finally:
            for x, (weighting, cache) in zip(searchers, saved):
                x.weighting, x._idf_cache = weighting, cache

    def scorer(self, searcher: Any, fieldname: str, text: Any, qf: float = 1) -> Any:
        if not searcher.schema[fieldname].scorable:
            return WeightScorer.for_(searcher, fieldname, text)
        return _VisibleScorer(self, searcher, fieldname, text, qf)

    def idf(self, searcher: Any, fieldname: str, text: Any) -> float:
        return log(max(self.n, 1) / (self.doc_frequency(searcher.get_parent(), fieldname, text) + 1)) + 1

    def doc_frequency(self, top: Any, fieldname: str, text: Any) -> int:
        """The view's documents among the term's postings (`top`: the top-level searcher)."""
        key = (fieldname, text)
        got = self._df.get(key)
        if got is None:
            try:
                ids = np.fromiter(top.reader().postings(fieldname, text).all_ids(), dtype=np.int64)
            except KeyError:  # a term the index does not have
                ids = np.zeros(0, dtype=np.int64)
            got = self._df[key] = int(self.mask[ids[ids < self.mask.size]].sum())
        return got

    def avg_field_length(self, top: Any, fieldname: str) -> float:
        """The field's mean length over the view (Whoosh: over every document)."""
        got = self._avgfl.get(fieldname)
        if got is None:
            reader = top.reader()
            total = sum(reader.doc_field_length(int(d), fieldname, 0) for d in np.flatnonzero(self.mask))
            got = self._avgfl[fieldname] = (total / self.n if self.n else 0.0) or 1.0
        return got


class _VisibleScorer(BM25FScorer):  # type: ignore[misc]
    def __init__(self, model: VisibleBM25F, searcher: Any, fieldname: str, text: Any, qf: float) -> None:
        top = searcher.get_parent()
        self.idf = model.idf(searcher, fieldname, text)
        self.avgfl = model.avg_field_length(top, fieldname)
        self.B = model._field_B.get(fieldname, model.B)
        self.K1 = model.K1
        self.qf = qf
        self.setup(searcher, fieldname, text)


__all__ = ["VisibleBM25F"]
