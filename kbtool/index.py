"""The search index: the only module that knows Whoosh.

Layout under the index directory (default `.kbtool/index`)::

    current -> build-<stamp>     symlink, swapped atomically with os.replace
    build-<stamp>/               a complete Whoosh index plus our own files:
        kbtool-index.json        marker + manifest (format version, KB state it was built from)
        forward.npz              per-document analysed term counts (Whoosh's analyzers) for suggest
    .lock                        flock held by the one writer

Every build, full or incremental, happens in a fresh `build-*` directory (an
incremental one starts as hard links of the current build: Whoosh never rewrites a
file it has written) and becomes visible only when `current` is swapped. So a killed
or failed build leaves the previous index untouched, and readers in other processes
keep the snapshot they opened. Whoosh keeps metadata in pickles, so we only ever open
a directory whose manifest says kbtool wrote it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import re
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from whoosh import highlight, index as windex, qparser, query as wquery
from whoosh.analysis import (
    IntraWordFilter, LowercaseFilter, RegexTokenizer, StandardAnalyzer, StemmingAnalyzer, StripFilter,
)
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.scoring import BM25F

from .config import Config
from .content import KB, Article, load_kb

FORMAT = "kbtool-index"
FORMAT_VERSION = 1
MANIFEST = "kbtool-index.json"
FORWARD = "forward.npz"
KEEP_BUILDS = 2

# Sections kept as their own fields so they can be weighted.
SECTION_FIELDS = {"symptoms": ("Symptoms",), "cause": ("Cause",), "resolution": ("Resolution", "Workaround"),
                  "steps": ("Steps",)}
# Search-time field boosts: title and error codes above body.
BOOSTS = {"title": 4.0, "error_code": 6.0, "error_parts": 3.0, "aliases": 3.0, "summary": 2.0,
          "symptoms": 1.5, "resolution": 1.2, "cause": 1.0, "steps": 1.0, "body": 1.0}
# Fields whose analysed terms the forward index keeps for suggest.
FORWARD_FIELDS = ("title", "aliases", "summary", "symptoms", "body")
DEFAULT_STATUSES = ("published", "in-review")


class IndexError_(Exception):
    """A missing, foreign, corrupt or busy index; the message says how to fix it."""


IndexProblem = IndexError_


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


def _section_text(a: Article, titles: tuple[str, ...]) -> str:
    return "\n".join(s.text for t in titles if (s := a.section(t)))


def document(a: Article) -> dict[str, object]:
    """The Whoosh document for an article: text fields, filters and stored display data."""
    body = a.text
    doc: dict[str, object] = {
        "id": a.id, "path": a.rel_path, "title": a.title, "aliases": "\n".join(a.aliases),
        "summary": a.summary, "body": body, "error_code": "\n".join(a.error_codes),
        "error_parts": "\n".join(a.error_codes),
        "spell": " ".join([a.title, " ".join(a.aliases), a.summary, body]),
        "type": a.type, "status": a.status, "audience": a.audience, "product": a.product or "",
        "component": a.component or "", "owner": a.owner, "tags": ",".join(t.lower() for t in a.tags),
        "replaced_by": a.replaced_by or "", "kind": a.kind,
    }
    for name, titles in SECTION_FIELDS.items():
        doc[name] = plain = _section_text(a, titles)
        if plain:
            doc[name] = plain
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
        meta = json.dumps({"vocab": self.vocab, "docs": self.docs}, ensure_ascii=False)
        with open(path, "wb") as fh:
            np.savez(fh, doc=self.doc, fld=self.fld, term=self.term, count=self.count, lengths=self.lengths,
                     meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8))

    @classmethod
    def load(cls, path: Path) -> "Forward":
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            return cls(meta["vocab"], meta["docs"], z["doc"], z["fld"], z["term"], z["count"], z["lengths"])


def _doc_meta(a: Article) -> dict[str, object]:
    return {
        "id": a.id, "title": a.title, "type": a.type, "status": a.status, "audience": a.audience,
        "product": a.product or "", "summary": a.summary, "path": a.rel_path, "kind": a.kind,
        "replaced_by": a.replaced_by or "", "error_codes": a.error_codes, "hash": a.content_hash,
        "body": a.text,
    }


class _ForwardBuilder:
    def __init__(self, base: Forward | None = None, drop: set[str] | None = None) -> None:
        self.analyzer = _stem()
        self.vocab: list[str] = list(base.vocab) if base else []
        self.term_ids = {t: i for i, t in enumerate(self.vocab)}
        self.docs: list[dict[str, object]] = []
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.lengths: list[np.ndarray] = []
        if base is not None and base.docs:
            keep = np.array([d["id"] not in (drop or set()) for d in base.docs], dtype=bool)
            remap = np.cumsum(keep) - 1
            mask = keep[base.doc]
            self.docs = [d for d, k in zip(base.docs, keep) if k]
            self.parts.append((remap[base.doc[mask]].astype(np.int32), base.fld[mask], base.term[mask], base.count[mask]))
            self.lengths.append(base.lengths[keep])

    def add(self, a: Article) -> None:
        n = len(self.docs)
        self.docs.append(_doc_meta(a))
        texts = (a.title, "\n".join(a.aliases), a.summary, _section_text(a, SECTION_FIELDS["symptoms"]), a.text)
        docs, flds, terms, counts = [], [], [], []
        lens = np.zeros(len(FORWARD_FIELDS), dtype=np.int32)
        for f, text in enumerate(texts):
            c = Counter(t.text for t in self.analyzer(text))
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

    def build(self) -> Forward:
        if not self.parts:
            return Forward.empty()
        cat = [np.concatenate([p[i] for p in self.parts]) for i in range(4)]
        return Forward(self.vocab, self.docs, *cat, np.concatenate(self.lengths) if self.lengths else np.zeros((0, 5), np.int32))


def analyze(text: str) -> list[str]:
    """Terms of `text` exactly as the index analyses title and body (for suggest queries)."""
    return [t.text for t in _QUERY_ANALYZER(text)]


_QUERY_ANALYZER = _stem()


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
    files: dict[str, dict[str, object]]  # rel_path -> {"hash", "id", "size", "mtime_ns"}
    built_at: float
    doc_count: int

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "kb_root": self.kb_root,
                           "files": self.files, "built_at": self.built_at, "doc_count": self.doc_count}, indent=1)

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
        return cls(data["kb_root"], data["files"], data["built_at"], data["doc_count"])


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
                raise IndexProblem(f"another `kbtool index` is already updating {self.path.parent}; "
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


@dataclass
class Filters:
    type: str | None = None
    status: tuple[str, ...] | None = DEFAULT_STATUSES
    audience: str | None = None
    product: str | None = None
    tag: str | None = None
    include_retired: bool = False


class Snapshot:
    """A read-only view of one index build: Whoosh searcher + forward index.

    A snapshot stays valid after a newer build is swapped in; call `Index.open()` again
    (or `is_current()`) to move to the newest.
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

    @property
    def doc_count(self) -> int:
        return self.manifest.doc_count

    def forward(self) -> Forward:
        if self._forward is None:
            try:
                self._forward = Forward.load(self.build / FORWARD)
            except (OSError, ValueError, KeyError) as e:
                raise IndexProblem(f"forward index in {self.build} is unreadable ({e}). "
                                   "Run `kbtool index --rebuild`.") from None
        return self._forward

    def search(self, text: str, filters: Filters | None = None, limit: int = 10, markup: str = "**") -> SearchResult:
        """Whoosh query syntax over the boosted text fields, with filters and highlights."""
        filters = filters or Filters()
        fields = list(BOOSTS)
        parser = qparser.MultifieldParser(fields, self._ix.schema, fieldboosts=BOOSTS, group=qparser.OrGroup.factory(0.9))
        parser.add_plugin(qparser.FuzzyTermPlugin())
        q = parser.parse(text)
        allow = self._filter_query(filters)
        with self._ix.searcher(weighting=BM25F(B=0.75, K1=1.2)) as s:
            results = s.search(q, limit=limit, filter=allow, terms=True)
            results.fragmenter = highlight.ContextFragmenter(maxchars=220, surround=70)
            results.formatter = _MarkerFormatter(markup)
            hits = []
            for r in results:
                frag = r.highlights("body") or r.highlights("summary") or " ".join(str(r.get("summary", "")).split())
                hits.append(Hit(id=r["id"], title=r["title"], type=r["type"], status=r["status"],
                                audience=r["audience"], path=r["path"], score=round(float(r.score), 4),
                                fragment=" ".join(frag.split()), replaced_by=r.get("replaced_by", ""),
                                product=r.get("product", "")))
            total = len(results)
            did_you_mean = None
            if total == 0 or (hits and hits[0].score < 1.0):
                did_you_mean = self._did_you_mean(s, text)
        return SearchResult(text, hits, total, did_you_mean)

    def _filter_query(self, f: Filters) -> wquery.Query | None:
        clauses: list[wquery.Query] = []
        for name, value in (("type", f.type), ("audience", f.audience), ("product", f.product)):
            if value:
                clauses.append(wquery.Term(name, value))
        if f.tag:
            clauses.append(wquery.Term("tags", f.tag.lower()))
        if f.status and not f.include_retired:
            clauses.append(wquery.Or([wquery.Term("status", s) for s in f.status]))
        if not clauses:
            return None
        return wquery.And(clauses) if len(clauses) > 1 else clauses[0]

    def _did_you_mean(self, searcher: object, text: str) -> str | None:
        corrector = searcher.corrector("spell")  # type: ignore[attr-defined]
        reader = searcher.reader()  # type: ignore[attr-defined]
        words, changed = [], False
        for w in text.split():
            plain = w.lower()
            if plain.isalpha() and len(plain) > 2 and reader.doc_frequency("spell", plain) == 0:
                sugg = corrector.suggest(plain, limit=1)
                if sugg:
                    words.append(sugg[0])
                    changed = True
                    continue
            words.append(w)
        return " ".join(words) if changed else None

    def close(self) -> None:
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
    skipped: list[str] = field(default_factory=list)  # invalid articles not indexed

    def summary(self) -> str:
        kind = "full build" if self.full else "incremental"
        extra = f", {len(self.skipped)} invalid skipped" if self.skipped else ""
        return (f"indexed ({kind}): {self.added} added, {self.updated} updated, {self.removed} removed, "
                f"{self.unchanged} unchanged{extra} in {self.seconds:.2f}s")


Progress = Callable[[int, int], None]


def _file_state(a: Article) -> dict[str, object]:
    st = a.path.stat()
    return {"hash": a.content_hash, "id": a.id, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class Index:
    """The index directory: builds (full/incremental, atomic) and opens snapshots."""

    def __init__(self, index_dir: Path) -> None:
        self.dir = Path(index_dir)

    @classmethod
    def for_config(cls, config: Config) -> "Index":
        return cls(config.index_dir)

    def exists(self) -> bool:
        return current_build(self.dir) is not None

    def open(self) -> Snapshot:
        build = current_build(self.dir)
        if build is None:
            if (self.dir / "current").is_symlink():
                raise IndexProblem(f"index at {self.dir} points at a missing build. Run `kbtool index --rebuild`.")
            raise IndexProblem(f"no index at {self.dir}. Run `kbtool index` to build it.")
        return Snapshot(build)

    def is_stale(self, kb_root: Path) -> bool:
        """Cheap check (sizes and mtimes; no hashing) whether KB files changed since the build."""
        build = current_build(self.dir)
        if build is None:
            return True
        files = Manifest.read(build).files
        seen = 0
        for sub in ("articles", "runbooks"):
            for p in (kb_root / sub).rglob("*.md") if (kb_root / sub).is_dir() else ():
                rel = p.relative_to(kb_root).as_posix()
                st = files.get(rel)
                try:
                    s = p.stat()
                except OSError:
                    return True
                if st is None or st.get("size") != s.st_size or st.get("mtime_ns") != s.st_mtime_ns:
                    return True
                seen += 1
        return seen != len(files)

    def build(self, kb: KB, rebuild: bool = False, progress: Progress | None = None) -> BuildReport:
        """Bring the index up to date with `kb`: incremental by content hash unless `rebuild`.

        Raises IndexProblem if another writer holds the lock.
        """
        t0 = time.perf_counter()
        self.dir.mkdir(parents=True, exist_ok=True)
        with _Lock(self.dir):
            old = current_build(self.dir)
            old_manifest = None
            if old is not None and not rebuild:
                try:
                    old_manifest = Manifest.read(old)
                except IndexProblem:
                    old_manifest = None  # foreign/incompatible: do a full build beside it
            report = BuildReport(full=old_manifest is None)
            articles = [a for a in kb.articles if a.valid]
            report.skipped = [a.rel_path for a in kb.articles if not a.valid]
            new = self.dir / f"build-{time.time_ns()}-{os.getpid()}"
            try:
                if old_manifest is None:
                    self._full(new, articles, report, progress)
                else:
                    self._incremental(old, old_manifest, new, articles, report, progress)  # type: ignore[arg-type]
                files = {a.rel_path: _file_state(a) for a in articles}
                manifest = Manifest(str(kb.root), files, time.time(), len(articles))
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
        fwd = _ForwardBuilder()
        writer = ix.writer(limitmb=256)
        try:
            for i, a in enumerate(articles, 1):
                writer.add_document(**document(a))
                fwd.add(a)
                if progress:
                    progress(i, len(articles))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        fwd.build().save(new / FORWARD)
        report.added = len(articles)

    def _incremental(self, old: Path, manifest: Manifest, new: Path, articles: list[Article],
                     report: BuildReport, progress: Progress | None) -> None:
        new.mkdir(parents=True)
        for f in old.iterdir():  # Whoosh files are write-once: hard links are a safe copy
            if f.name not in (MANIFEST, FORWARD) and not f.name.endswith(".lock"):
                os.link(f, new / f.name)
        by_rel = {a.rel_path: a for a in articles}
        old_ids = {rel: str(v["id"]) for rel, v in manifest.files.items()}
        changed = [a for rel, a in by_rel.items() if rel in manifest.files and manifest.files[rel]["hash"] != a.content_hash]
        added = [a for rel, a in by_rel.items() if rel not in manifest.files]
        removed = [rel for rel in manifest.files if rel not in by_rel]
        report.updated, report.added, report.removed = len(changed), len(added), len(removed)
        report.unchanged = len(articles) - len(changed) - len(added)
        drop = {old_ids[rel] for rel in removed} | {old_ids[a.rel_path] for a in changed}
        todo = changed + added
        ix = windex.open_dir(str(new))
        writer = ix.writer()
        try:
            for doc_id in drop:
                writer.delete_by_term("id", doc_id)
            for i, a in enumerate(todo, 1):
                writer.update_document(**document(a))
                if progress:
                    progress(i, len(todo))
            writer.commit(merge=bool(todo or drop))
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        fwd = _ForwardBuilder(Forward.load(old / FORWARD), drop | {a.id for a in todo})
        for a in todo:
            fwd.add(a)
        fwd.build().save(new / FORWARD)

    def _swap(self, new: Path) -> None:
        tmp = self.dir / f".current-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(new.name, tmp)
        os.replace(tmp, self.dir / "current")
        _fsync_dir(self.dir)

    def _prune(self) -> None:
        """Keep the newest builds (readers may still hold the previous one); drop the rest."""
        cur = current_build(self.dir)
        builds = sorted((p for p in self.dir.glob("build-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        keep = {cur, *builds[:KEEP_BUILDS]}
        for p in builds:
            if p not in keep:
                shutil.rmtree(p, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def terminal_progress(label: str = "indexing") -> Progress | None:
    """A progress callback for interactive terminals; None in CI or when piped."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None
    t0 = time.perf_counter()
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.perf_counter()
        if done != total and now - last[0] < 0.1:
            return
        last[0] = now
        rate = done / max(now - t0, 1e-9)
        sys.stderr.write(f"\r{label}: {done}/{total} files ({rate:,.0f}/s)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def update_index(config: Config, rebuild: bool = False, progress: Progress | None = None, kb: KB | None = None) -> BuildReport:
    """Load the KB and bring the configured index up to date (the `kbtool index` command)."""
    kb = kb or load_kb(config.kb, config)
    return Index.for_config(config).build(kb, rebuild=rebuild, progress=progress)


def search(config: Config, text: str, filters: Filters | None = None, limit: int = 10,
           auto_update: bool = True, markup: str = "**") -> SearchResult:
    """Search the index, first refreshing it incrementally if the KB changed (`kbtool search`)."""
    idx = Index.for_config(config)
    stale = idx.is_stale(config.kb) if idx.exists() else False
    report = None
    if stale and auto_update:
        report = update_index(config)
    snap = idx.open()
    try:
        result = snap.search(text, filters, limit, markup=markup)
    finally:
        snap.close()
    result.stale = stale and not auto_update
    result.updated = report
    return result


def iter_snapshot_docs(snap: Snapshot) -> Iterator[dict[str, object]]:
    yield from snap.forward().docs
