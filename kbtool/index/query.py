"""Searching one build: parsing and rewriting queries, filters, did-you-mean, the compiled
plain-word path, and the routing of everything else to Whoosh (`Snapshot`)."""

from __future__ import annotations

import contextlib
import copy
import json
import pickle
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from whoosh import collectors, qparser
from whoosh import index as windex
from whoosh import query as wquery
from whoosh.fields import Schema
from whoosh.scoring import BM25F

from .. import semantic as semantic_mod
from .bm25 import BM25_B, BM25_K1, BM25View, CompiledBM25F
from .forward import FORWARD, SEARCH_FIELDS, Forward, load_search
from .highlight import MarkerFormatter, fragment, fragmenter, highlight_terms
from .schema import BOOSTS, STEMMED_FIELDS, analyze
from .scoring import VisibleBM25F
from .store import IndexProblem, Manifest, current_build

if TYPE_CHECKING:
    from whoosh.highlight import Formatter, Fragmenter
    from whoosh.searching import Searcher

    from .store import BuildReport

DEFAULT_STATUSES = ("published", "in-review")
SEMANTIC_SEARCH_MIN = 0.2  # cosine below which a document is not a semantic match at all


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
    updated: BuildReport | None = None
    engine: str = "whoosh"  # who scored it: "compiled" (plain words, CompiledBM25F) or "whoosh"


@dataclass
class Filters:
    type: str | None = None
    status: tuple[str, ...] | None = DEFAULT_STATUSES
    audience: str | None = None
    product: str | None = None
    tag: str | None = None
    include_retired: bool = False

    def key(self) -> tuple[object, ...]:
        """What the filters select, hashable (for the per-build caches)."""
        return (self.type, tuple(self.status) if self.status else self.status, self.audience, self.product,
                self.tag, self.include_retired)

    def statuses(self) -> tuple[str, ...] | None:
        """The statuses the filters let through (None: every status)."""
        if not self.status:
            return None
        return tuple(self.status) + (("retired",) if self.include_retired and "retired" not in self.status else ())


class BadQuery(ValueError):
    """A query that cannot run, e.g. `created:soon`; the message says what is wrong."""


# --- parsing -------------------------------------------------------------------------------


def make_parser(schema: Schema) -> qparser.QueryParser:
    """The query parser of a build, over `schema` (which it adjusts: see below)."""
    # A query word the stemming analyser splits (`SAML-403`, `sign-in`, `BILLING-864`)
    # must match those words side by side, not each one anywhere: OR-ing the parts
    # matched every document that says "billing", thousands of them, slowly.
    # (`error_parts` keeps OR: it is what matches a code by its parts.)
    for name in STEMMED_FIELDS:
        schema[name].multitoken_query = "phrase"
    # Plain OR grouping: Whoosh's coordination scaling (OrGroup.factory) multiplies a
    # score by (n - 1) / n over the n matching field terms, so a word found in one
    # field scores 0 for every document (and n = 0 divides by zero).
    parser = qparser.MultifieldParser(list(BOOSTS), schema, fieldboosts=BOOSTS, group=qparser.OrGroup)
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser


def query_errors(q: wquery.Query) -> list[str]:
    """Messages of the error nodes Whoosh's parser leaves in a tree instead of raising."""
    out, stack = [], [q]
    while stack:
        node = stack.pop()
        if getattr(node, "error", None):
            out.append(str(node.error))  # type: ignore[attr-defined]
        stack.extend(node.children())
    return out


def rewrite(q: wquery.Query, schema: Schema) -> wquery.Query:
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
        subs = [rewrite(s, schema) for s in q.subqueries]
        neg = [s.query for s in subs if isinstance(s, wquery.Not)]
        pos = [s for s in subs if not isinstance(s, wquery.Not)]
        if any(isinstance(s, wquery.Every) and not s.fieldname for s in pos):
            pos = [wquery.Every()]  # OR with every document is every document
        new = copy.copy(q)  # keeps `scale` (coordination) and `minmatch`, which `apply` drops
        new.subqueries = pos if neg and pos else subs
        if neg and pos:
            return wquery.AndNot(new, neg[0] if len(neg) == 1 else wquery.Or(neg))
        return new
    return q.apply(lambda s: rewrite(s, schema))


def filter_query(f: Filters) -> wquery.Query | None:
    """The Whoosh query selecting the documents `f` lets through (None: all)."""
    clauses: list[wquery.Query] = []
    for name, value in (("type", f.type), ("audience", f.audience), ("product", f.product)):
        if value:
            clauses.append(wquery.Term(name, value))
    if f.tag:
        clauses.append(wquery.Term("tags", f.tag.lower()))
    statuses = f.statuses()
    if statuses:
        clauses.append(wquery.Or([wquery.Term("status", s) for s in statuses]))
    if not clauses:
        return None
    return wquery.And(clauses) if len(clauses) > 1 else clauses[0]


# --- did you mean --------------------------------------------------------------------------

# Words of the query syntax, never "corrected" by did-you-mean.
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})
_DYM_WORD = re.compile(r"^(?P<pre>[(\"']*(?:\w+:)?[(\"']*)(?P<word>[A-Za-z]+)(?P<post>[)\"'~^0-9.]*)$")


def edit_distance(a: str, b: str) -> int:
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


def _visible_frequency(searcher: Searcher, word: str, visible: set[int] | None) -> int:
    """How often the `spell` field has `word`, counting only the `visible` documents (None: all)."""
    reader = searcher.reader()
    if visible is None:
        return int(reader.frequency("spell", word))
    if not reader.doc_frequency("spell", word):
        return 0
    m = reader.postings("spell", word)
    total = 0
    while m.is_active():
        if m.id() in visible:
            total += int(m.weight())
        m.next()
    return total


def did_you_mean(searcher: Searcher, text: str, visible: set[int] | None = None) -> str | None:
    """Correct words the unstemmed `spell` field has never seen: nearest edit first, then
    commonest.

    `visible` (document numbers; None: all) is what the caller may see: a public search
    passes the public documents, so a word only hidden articles have is neither offered
    nor treated as known (either would reveal that a hidden article says it).
    (Whoosh's ReaderCorrector ranks only by frequency within the maximum distance, so
    "databse" would become "databases" whenever that is more frequent than "database".)
    """
    words, changed, corrector = [], False, None
    for w in text.split():
        m = _DYM_WORD.match(w)
        plain = m.group("word").lower() if m else ""
        if m and w not in _OPERATORS and len(plain) > 2 and _visible_frequency(searcher, plain, visible) == 0:
            corrector = corrector or searcher.corrector("spell")
            # prefix=1: typos rarely hit the first letter, and it spares a scan of every term;
            # a restricted view asks for more, since hidden-only words are dropped after
            freq = {c: _visible_frequency(searcher, c, visible)
                    for c in corrector.suggest(plain, limit=20 if visible is None else 200, maxdist=2, prefix=1)}
            cands = [c for c, n in freq.items() if n > 0]
            if cands:
                best = min(cands, key=lambda c: (edit_distance(plain, c), -freq[c], c))
                words.append(m.group("pre") + best + m.group("post"))
                changed = True
                continue
        words.append(w)
    return " ".join(words) if changed else None


# --- plain words: the compiled path --------------------------------------------------------

# Query syntax that always runs through Whoosh, whatever it parses to: quotes (a quoted phrase
# parses to the same Phrase nodes as a split word, and a quoted word in `title` loses its
# field boost), boosts `^` (term boosts `PlainWords.plan` could not tell from field boosts),
# ranges and escapes. Everything else (groups, OR, field:word, wildcards, fuzzy terms, AND,
# NOT) is decided on the parsed query by `PlainWords.plan`, which takes only ORs of term and
# phrase queries on SEARCH_FIELDS with the parser's own boosts.
WHOOSH_ONLY = re.compile(r"[\"'^\[\]{}\\]")


@dataclass
class Phrase:
    """A phrase leaf of a plain-word query (a word the stemming analyser splits, `SAML-403`)."""

    query: wquery.Phrase
    rows: np.ndarray  # its words' rows: where it occurs, it scores their sum (Whoosh's phrase score)
    weight: float


def public_filters(f: Filters) -> Filters | None:
    """The documents a public caller may see under `f` (public, of its statuses), whose
    statistics alone score its search; None when `f` is not a public search."""
    if f.audience != "public":
        return None
    return Filters(status=f.status, audience="public", include_retired=f.include_retired)


@dataclass
class Plan:
    rows: np.ndarray
    weights: np.ndarray
    phrases: list[Phrase]


class PlainWords:
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
    may differ in ties). The filter values come from the same file (`schema.search_line`).
    """

    def __init__(self, path: Path, doc_count: int) -> None:
        vocab, lines, (doc, fld, term, count, lengths) = load_search(path)
        if len(lines) != doc_count:
            raise ValueError(f"{len(lines)} search documents for {doc_count} indexed")
        self.bm25 = CompiledBM25F(doc, fld, term, count, lengths, len(vocab), [BOOSTS[f] for f in SEARCH_FIELDS],
                                  BM25_K1, BM25_B, model="whoosh")
        self._arrays = (doc, fld, term, count, lengths)
        self._views: dict[tuple[object, ...], BM25View] = {}
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

    @property
    def lengths(self) -> np.ndarray:
        """(document, SEARCH_FIELDS) exact field lengths, as the forward index holds them."""
        return self._arrays[4]

    def rows_of_docnums(self, searcher: Searcher) -> np.ndarray:
        """The row of every Whoosh document number (-1: a deleted document), built on first use.

        A unique id has one posting, which its term info records as its minimum and maximum
        document number: no postings to read, except for an id also held by a deleted
        document (an edited article before its segment is merged)."""
        if self._row_of_docnum is None:
            reader = searcher.reader()
            out = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            found = np.zeros(self.n, dtype=bool)
            # Segment by segment: merging the segments' id lists took 0.6 s more at 10,000.
            leaves = [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()
            for leaf, offset in leaves:
                for text, info in leaf.iter_field("id"):
                    row = self.row_of.get(text.decode("utf-8"))
                    if row is None:
                        continue
                    docnum: int | None = info.min_id()
                    if docnum != info.max_id() or leaf.is_deleted(docnum):
                        docnum = searcher.document_number(id=self.ids[row])  # (the live copy, anywhere)
                    else:
                        docnum = offset + info.min_id()
                    if docnum is not None:
                        out[docnum], found[row] = row, True
            if not found.all():
                missing = self.ids[int(np.flatnonzero(~found)[0])]
                raise IndexProblem(f"document {missing!r} is in the forward index but not in Whoosh's")
            self._row_of_docnum = out
        return self._row_of_docnum

    def plan(self, q: wquery.Query) -> Plan | None:
        """How to score `q` if it is an OR of term and phrase queries on SEARCH_FIELDS (what
        plain words parse to, and groups of them, `a OR b`, `title:word`, `text:(a b)`), each
        boosted as the parser boosts it (BOOSTS for a word, 1 for field:word), else None
        (AND, NOT, wildcards, fuzzy terms, other fields, `^` boosts: Whoosh scores those)."""
        rows: list[int] = []
        wts: list[float] = []
        phrases: list[Phrase] = []
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
                phrases.append(Phrase(node, prow, weight))
            else:
                return None
        return Plan(np.array(rows, dtype=np.int64), np.array(wts, dtype=np.float64), phrases)

    def mask(self, f: Filters) -> np.ndarray | None:
        """Documents passing the filters, as `filter_query` selects them (None: all)."""
        key = f.key()
        if key not in self._masks:
            ok = None
            for column, value in ((self.type, f.type), (self.audience, f.audience), (self.product, f.product)):
                if value:
                    ok = (column == value) if ok is None else ok & (column == value)
            if f.tag:
                tag = f.tag.lower()
                has = np.fromiter((tag in t for t in self.tags), dtype=bool, count=self.n)
                ok = has if ok is None else ok & has
            statuses = f.statuses()
            if statuses:
                has = np.isin(self.status, list(statuses))
                ok = has if ok is None else ok & has
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = None if ok is None else np.asarray(ok, dtype=bool)
        return self._masks[key]

    def statistics(self, f: Filters) -> BM25View:
        """The weights a search under `f` scores with: over every document, or for a public
        search over the public documents only (`public_filters`), so that hidden articles
        change no public score (cached per view)."""
        view = public_filters(f)
        if view is None:
            return BM25View(self.bm25, None, self.n)
        key = view.key()
        if key not in self._views:
            mask = self.mask(view)
            rows = np.arange(self.n) if mask is None else np.flatnonzero(mask)
            if len(self._views) > 8:
                self._views.clear()
            self._views[key] = BM25View.compile(*self._arrays, self.bm25.n_terms,
                                                [BOOSTS[name] for name in SEARCH_FIELDS], BM25_K1, BM25_B,
                                                model="whoosh", docs=rows)
        return self._views[key]

    def scores(self, plan: Plan, phrase_matches: list[np.ndarray],
               f: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(score, matched) of every document; `phrase_matches`: where each phrase of the plan
        occurs; `f`: the filters, which decide whose statistics score (`statistics`)."""
        stats = self.statistics(f or Filters())
        scores = stats.score(plan.rows, plan.weights)
        matched = stats.matches(plan.rows)
        for phrase, where in zip(plan.phrases, phrase_matches):
            if len(where):
                scores[where] += stats.score(phrase.rows, np.full(len(phrase.rows), phrase.weight))[where]
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


# --- hits and snapshots --------------------------------------------------------------------


def _hit(fields: dict[str, object], score: float, terms: frozenset[str], frag: Fragmenter, fmt: Formatter) -> Hit:
    """A search hit from a document's stored fields."""
    return Hit(id=fields["id"], title=fields["title"], type=fields["type"], status=fields["status"],  # type: ignore[arg-type]
               audience=fields["audience"], path=fields["path"], score=round(float(score), 4),  # type: ignore[arg-type]
               fragment=fragment(fields, terms, frag, fmt), replaced_by=fields.get("replaced_by", ""),  # type: ignore[arg-type]
               product=fields.get("product", ""))  # type: ignore[arg-type]


def _damaged(build: Path, e: BaseException) -> IndexProblem:
    return IndexProblem(f"index at {build} is damaged ({type(e).__name__}: {e}). Run `kbtool index --rebuild`.")


def _unreadable_forward(build: Path, e: BaseException) -> IndexProblem:
    return IndexProblem(f"forward index in {build} is unreadable ({e}). Run `kbtool index --rebuild`.")


def _or_matchers_by_index(q: wquery.Query, doc_count: int) -> wquery.Query:
    """`q` with each OR's matcher chosen by the size of the whole index, not of a segment.

    Whoosh picks an OR's matcher per segment: over 5,000 documents a tree of union matchers,
    below it one that first reads every match of every clause into arrays. A split build
    (two segments of 5,000 at 10,000 articles) then got the array matcher on each, which
    made query-syntax searches half again slower (p50 5.0 -> 9.3 ms). Choosing as one segment
    of the whole index would, the matchers stay those of a single-segment build. (The
    clauses are modified in place: `q` is this search's own parse.)"""
    if doc_count <= 5000:  # (Whoosh's own threshold: what it would choose anyway)
        return q
    stack = [q]
    while stack:
        node = stack.pop()
        if isinstance(node, wquery.Or) and len(node.subqueries) < node.TOO_MANY_CLAUSES:
            node.matcher_type = wquery.Or.DEFAULT_MATCHER
        stack.extend(node.children())
    return q


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
            raise _damaged(build, e) from None
        self._forward: Forward | None = None
        self._plain: PlainWords | None = None
        # One searcher for the snapshot's life, opened now so that it keeps its files even
        # if the build directory is pruned later; searches take turns (Whoosh readers are
        # not thread-safe). The build never changes, so parsed filters can be cached.
        try:
            self._searcher = self._ix.searcher(weighting=BM25F(B=BM25_B, K1=BM25_K1))
        except Exception as e:
            self._ix.close()
            raise _damaged(build, e) from None
        self._schema = self._searcher.schema  # (FileIndex.schema re-reads the TOC from disk on every access)
        self._parser = make_parser(self._schema)
        self._filters: dict[tuple[object, ...], set[int] | None] = {}
        self._weightings: dict[tuple[object, ...], VisibleBM25F] = {}
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
                raise _unreadable_forward(self.build, e) from None
        return self._forward

    def parse(self, text: str) -> wquery.Query:
        """The Whoosh query for `text` (raises BadQuery for a query that cannot run)."""
        try:
            with self._lock:
                q = self._parser.parse(text, normalize=False)
        except Exception as e:  # Whoosh's parser raises plain errors for some field values
            raise BadQuery(f"{type(e).__name__}: {e}") from None
        errors = query_errors(q)
        if errors:
            raise BadQuery("; ".join(dict.fromkeys(errors)))
        return rewrite(q, self._schema).normalize()

    def plain_words(self) -> PlainWords:
        """The compiled plain-word scorer of this build (loaded on first use)."""
        if self._plain is None:
            try:
                self._plain = PlainWords(self.build / FORWARD, self.doc_count)
            except (OSError, ValueError, KeyError) as e:
                raise _unreadable_forward(self.build, e) from None
        return self._plain

    def search(self, text: str, filters: Filters | None = None, limit: int = 10, markup: str = "**",
               whoosh: bool = False) -> SearchResult:
        """Whoosh query syntax over the boosted text fields, with filters and highlights.

        Plain words, and queries that parse to the same kind of query (groups, `a OR b`,
        `title:word`: see `PlainWords.plan` and WHOOSH_ONLY), are scored by the compiled
        BM25F twin of Whoosh's scoring (`PlainWords`), the rest by Whoosh; `whoosh=True`
        uses Whoosh for every query (the reference the compiled path is tested against).
        Fragments and "did you mean" come from Whoosh either way. Raises BadQuery (a
        ValueError) for a query that cannot run, IndexProblem if the index turns out to be
        damaged.
        """
        filters = filters or Filters()
        q = self.parse(text)
        try:
            with self._lock:
                if not whoosh and not WHOOSH_ONLY.search(text):
                    plain = self.plain_words()
                    plan = plain.plan(q)
                    if plan is not None:
                        return self._search_plain(text, q, plain, plan, filters, limit, markup)
                return self._search(text, q, filters, limit, markup)
        except wquery.QueryError as e:
            raise BadQuery(str(e)) from None
        except (OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError, IndexError) as e:
            raise _damaged(self.build, e) from None

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
        view = public_filters(filters)  # a public search: scored from the public documents alone
        with self._weighting(view).applied(s) if view is not None else contextlib.nullcontext():
            s.search_with_collector(_or_matchers_by_index(q, s.doc_count_all()), collector)
        results = collector.results()
        total = len(results)
        terms = highlight_terms(q, s.reader())
        frag, fmt = fragmenter(), MarkerFormatter(markup)
        hits = [_hit(r.fields(), r.score, terms, frag, fmt) for r in results]
        # A word the index has never seen gets a spelling suggestion, whatever the other
        # words found (zero or weak results are the usual sign; "webhok timeout" still
        # finds timeouts, yet the analyst meant webhooks).
        return SearchResult(text, hits, total, did_you_mean(s, text, self._visible(filters)))

    def _phrase_rows(self, plain: PlainWords, plan: Plan) -> list[np.ndarray]:
        """Where each phrase of `plan` occurs (rows): Whoosh's phrase matcher (positions)."""
        s = self._searcher
        where = []
        for phrase in plan.phrases:
            m = phrase.query.matcher(s, s.boolean_context())
            rows = np.zeros(0, dtype=np.int64)
            if m.is_active():
                try:
                    rows = plain.rows_of_docnums(s)[np.fromiter(m.all_ids(), dtype=np.int64)]
                except IndexProblem as e:
                    raise IndexProblem(f"index at {self.build} is damaged ({e}). Run `kbtool index --rebuild`.") from None
            where.append(rows[rows >= 0])
        return where

    def _search_plain(self, text: str, q: wquery.Query, plain: PlainWords, plan: Plan, filters: Filters,
                      limit: int | None, markup: str) -> SearchResult:
        """`_search` for plain words: compiled scores, filters and total (Whoosh places the
        phrases of split words); Whoosh's stored fields, fragments and spelling suggestion
        for what is shown."""
        s = self._searcher
        scores, matched = plain.scores(plan, self._phrase_rows(plain, plan), filters)
        docs, total = plain.top(scores, matched, plain.mask(filters), limit)
        terms = highlight_terms(q, s.reader())
        frag, fmt = fragmenter(), MarkerFormatter(markup)
        hits = []
        for i in docs.tolist():
            docnum = s.document_number(id=plain.ids[i])
            if docnum is None:
                raise IndexProblem(f"index at {self.build} is damaged (document {plain.ids[i]!r} is in the forward "
                                   "index but not in Whoosh's). Run `kbtool index --rebuild`.")
            hits.append(_hit(s.stored_fields(docnum), float(scores[i]), terms, frag, fmt))
        return SearchResult(text, hits, total, did_you_mean(s, text, self._visible(filters)), engine="compiled")

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
                terms = highlight_terms(self.parse(text), s.reader())
            except BadQuery:
                terms = frozenset(analyze(text))
            frag, fmt = fragmenter(), MarkerFormatter(markup)
            hits = []
            for i in docs.tolist():
                docnum = s.document_number(id=plain.ids[i])
                if docnum is not None:
                    hits.append(_hit(s.stored_fields(docnum), float(scores[i]), terms, frag, fmt))
        return SearchResult(text, hits, total, None, engine="semantic")

    def _embeddings(self) -> semantic_mod.Embeddings:
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

    def _weighting(self, view: Filters) -> VisibleBM25F:
        """Whoosh's BM25F with `view`'s statistics (cached per view: the build never changes)."""
        key = ("weighting", *view.key())
        got = self._weightings.get(key)
        if got is None:
            plain = self.plain_words()  # the exact field lengths, as the compiled path averages them
            mask = plain.mask(view)
            lengths = plain.lengths if mask is None else plain.lengths[mask]
            avg = lengths.sum(axis=0, dtype=np.float64) / (len(lengths) or 1)
            got = self._weightings[key] = VisibleBM25F(
                self._allowed(view) or set(), self._searcher.doc_count_all(), B=BM25_B, K1=BM25_K1,
                avgfl={name: float(avg[i]) or 1.0 for i, name in enumerate(SEARCH_FIELDS)})
        return got

    def _visible(self, f: Filters) -> set[int] | None:
        """Document numbers a caller under `f` may learn about (None: all): the public ones
        for a public search (`public_filters`)."""
        view = public_filters(f)
        return None if view is None else (self._allowed(view) or set())

    def _allowed(self, f: Filters) -> set[int] | None:
        """Document numbers passing the filters (cached: the build never changes)."""
        key = f.key()
        if key not in self._filters:
            fq = filter_query(f)
            if len(self._filters) > 64:
                self._filters.clear()
            self._filters[key] = None if fq is None else set(self._searcher.docs_for_query(fq))
        return self._filters[key]

    def close(self) -> None:
        with self._lock:
            self._searcher.close()
            self._ix.close()
