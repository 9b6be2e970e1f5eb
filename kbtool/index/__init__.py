"""The search index: the only package that knows Whoosh.

- `store`: the index directory (build directories, manifest, lock, atomic swap, pruning);
- `schema`: the Whoosh schema, its analysers and the document of an article;
- `forward`: the forward index file (analysed term counts, for suggest and search);
- `bm25`: the compiled BM25F scorer (suggest, and plain-word search);
- `scoring`: Whoosh's BM25F over an audience's view (public searches Whoosh scores itself);
- `query`: searching a build (`Snapshot`): parsing, filters, did-you-mean, routing;
- `highlight`: the highlighted fragments of hits;
- `writer`: Whoosh's segment writer with less Python per posting (the same files);
- here: building (`Index`, `update_index`) and `search`, and the package's public names.

Every build, full or incremental, happens in a fresh `build-*` directory (an
incremental one starts as hard links of the current build: Whoosh never rewrites a
file it has written) and becomes visible only when `current` is swapped. So a killed
or failed build leaves the previous index untouched, and readers in other processes
keep the snapshot they opened. `update_index` parses only the files whose size or mtime
changed and writes only what changed (new Whoosh segment, forward delta, manifest), so a
one-file update stays well under a second at 10,000 articles.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from whoosh import index as windex
from whoosh.codec.base import Segment

from .. import semantic as semantic_mod
from ..config import Config
from ..content import KB, Article, load_article, load_kb
from ..processes import Forked, can_fork, usable_cores
from ..progress import Progress
from .bm25 import BM25View, CompiledBM25F
from .forward import (
    FORWARD,
    FORWARD_DELTA,
    FORWARD_FIELDS,
    Forward,
    ForwardBuilder,
    ForwardPart,
    base_drop,
    embedding_docs,
)
from .query import DEFAULT_STATUSES, BadQuery, Filters, Hit, SearchResult, Snapshot
from .schema import TermMemo, analyze, document, make_schema, search_line, search_tokens, stem, texts, tokens
from .store import (
    FORMAT_VERSION,
    KEEP_BUILDS,
    MANIFEST,
    BuildReport,
    IndexBusy,
    IndexProblem,
    Lock,
    Manifest,
    check_dir,
    current_build,
    current_link,
    file_state,
    fsync_dir,
    kb_files,
    new_build_dir,
    prune,
    swap,
)
from .writer import FastWriter

__all__ = [
    "DEFAULT_STATUSES", "FORMAT_VERSION", "FORWARD", "FORWARD_FIELDS", "KEEP_BUILDS", "MANIFEST",
    "BM25View", "BadQuery", "BuildReport", "CompiledBM25F", "Filters", "Forward", "Hit", "Index", "IndexBusy", "IndexProblem",
    "SearchResult", "Snapshot", "analyze", "current_build", "current_link", "search", "update_index",
]


@dataclass
class _Entry:
    """One indexable KB file: its manifest state, and the parsed article when it must be
    (re)indexed. The fast update path leaves `article` None for unchanged files."""

    state: dict[str, object]  # {"hash", "id", "size", "mtime_ns"}
    article: Article | None = None


# An incremental build rewrites the whole forward file once its delta holds more documents
# than this share of the KB (and DELTA_MIN): the delta is rewritten on every update.
DELTA_SHARE, DELTA_MIN = 0.05, 50


class _NeedFullLoad(Exception):
    """The fast update path cannot decide alone; load the whole KB with `load_kb`."""


def _add_forward(fwd: ForwardBuilder, a: Article, toks: dict[str, list[str]]) -> None:
    fwd.add(a, toks, search_line(a), search_tokens(a, toks))


SPLIT_MIN = 1000  # articles per process at least: a smaller share does not pay for its fork
SPLIT_MAX = 4  # processes at most (each holds its share's postings in memory)


def split_points(n_articles: int) -> list[int]:
    """Where a full build of `n_articles` splits between this process (the first share) and
    forked children (one share each): one share per usable core, up to SPLIT_MAX, where
    forking is safe and each share has SPLIT_MIN articles; `[0, n_articles]` is no split."""
    shares = min(usable_cores(), SPLIT_MAX, n_articles // SPLIT_MIN) if can_fork() else 1
    shares = max(shares, 1)
    return [n_articles * i // shares for i in range(shares + 1)]


POOL_MB = (1024, 3072)  # Whoosh's posting pool per process, at least and at most


def pool_limit_mb(processes: int) -> int:
    """The posting pool of each process of a full build, in MB as Whoosh counts them.

    Past its limit the pool spills sorted runs to disk and merges them back at commit,
    pickling every posting twice. 10,000 real-text articles make ~5.5 million postings,
    ~930 MB as it counts them: 1024 keeps them in memory and took a third off the build's
    CPU time. 50,000 split over two processes spilled at 1024 (234.7 s, 2.9 GB peak RSS
    each) and not at 3072 (140.9 s, 4.2 GB each). So each process gets a share of half the
    memory available now, within POOL_MB: the small end is what a small machine always had."""
    available = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return max(POOL_MB[0], min(POOL_MB[1], available // (2 * max(processes, 1))))


def _add_documents(writer: FastWriter, fwd: ForwardBuilder, articles: list[Article], analyzer: TermMemo,
                   progress: Progress | None = None, total: int = 0) -> None:
    """Each article into the Whoosh writer and the forward builder, analysed once for both.
    `progress` counts up to `total`, which this share stands for (in a split build every
    share moves at about the same pace)."""
    for i, a in enumerate(articles, 1):
        toks = tokens(texts(a), analyzer)
        writer.add_document(**document(a, toks))
        _add_forward(fwd, a, toks)
        if progress:
            progress(i * total // len(articles), total)


def _fork(fn: Callable[[], tuple[Segment, ForwardPart]]) -> Forked[tuple[Segment, ForwardPart]] | None:
    """A child running `fn`, or None when the system will not fork one now (out of
    processes or memory): that share is then written here."""
    try:
        return Forked(fn)
    except OSError:
        return None


def _write_part(ix: windex.Index, articles: list[Article], analyzer: TermMemo,
                pool_mb: int) -> tuple[Segment, ForwardPart]:
    """A share of a split build (in a forked child, or here when the child failed): the
    articles as a segment written beside the main writer, and their forward documents."""
    writer = FastWriter(ix, None, beside=True, limitmb=pool_mb)
    fwd = ForwardBuilder()
    try:
        _add_documents(writer, fwd, articles, analyzer)
        segment = writer.segment()
    except BaseException:
        writer.cancel()
        raise
    writer.release()
    return segment, fwd.part()


class Index:
    """The index directory: builds (full/incremental, atomic) and opens snapshots."""

    def __init__(self, index_dir: Path, semantic: bool | str = False,
                 embed_progress: Progress | None = None, commit_progress: Progress | None = None) -> None:
        """`semantic`: embed documents for semantic matching ("auto": when the extra is
        installed; see `kbtool.semantic`). `commit_progress`: the postings written when
        Whoosh commits (a phase of its own: at 10,000 articles it takes as long as adding)."""
        self.dir = Path(index_dir)
        self.semantic, self.semantic_off = semantic_mod.wanted(semantic) if semantic else (False, None)
        self.semantic_asked = semantic is True  # (not "auto"): a missing extra is said on every build
        self.embed_progress = embed_progress
        self.commit_progress = commit_progress

    @classmethod
    def for_config(cls, config: Config, embed_progress: Progress | None = None,
                   commit_progress: Progress | None = None) -> Index:
        return cls(config.index_dir, config.semantic, embed_progress, commit_progress)

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
        return m is None or m.kb_changed(Path(kb_root).resolve())

    def build(self, kb: KB, rebuild: bool = False, progress: Progress | None = None) -> BuildReport:
        """Bring the index up to date with `kb`: incremental by content hash unless `rebuild`.

        Raises IndexProblem if another writer holds the lock (IndexBusy) or the directory
        holds files that are not kbtool's.
        """
        entries = {a.rel_path: _Entry(file_state(a), a) for a in kb.articles if a.valid}
        skipped: dict[str, dict[str, object]] = {}
        for rel, full in kb_files(Path(kb.root)):
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
        for rel, full in kb_files(root):
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

    def publish(self, dest: Path) -> Path:
        """Copy the current build into `dest` (a shared directory: replicas open it as their
        index directory) and point `dest/current` at it atomically; returns the copy.

        A build never changes once written, so readers holding the previous published build
        keep answering from it while the copy is made, and see the new one when they reopen
        (`Snapshot.is_current`). The manifest is copied last: a publish killed half way
        leaves a directory without one, which the next publish removes (`prune`).
        """
        build = current_build(self.dir)
        if build is None:
            raise IndexProblem(f"no index at {self.dir} to publish. Run `kbtool index` first.")
        Manifest.read(build)  # refuse to publish what this kbtool cannot read
        dest = Path(dest)
        check_dir(dest)
        dest.mkdir(parents=True, exist_ok=True)
        with Lock(dest):
            target = new_build_dir(dest)
            target.mkdir()
            try:
                for f in sorted(build.iterdir(), key=lambda f: f.name == MANIFEST):
                    if f.is_file() and not f.name.endswith(("WRITELOCK", ".lock")):
                        shutil.copy2(f, target / f.name)
                fsync_dir(target)
                swap(dest, target)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            prune(dest)
        return target

    # --- the steps of a build ---------------------------------------------------------------

    def _build(self, root: Path, entries: dict[str, _Entry], skipped: dict[str, dict[str, object]],
               rebuild: bool, progress: Progress | None) -> BuildReport:
        """Under the lock: keep the current build if nothing changed, else write a new one
        (incremental when the previous build allows it), embed, write its manifest, swap it in."""
        t0 = time.perf_counter()
        check_dir(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        with Lock(self.dir):
            old = current_build(self.dir)
            old_manifest, note = self._previous(old, root, rebuild)
            files = {rel: e.state for rel, e in entries.items()}
            report = BuildReport(full=old_manifest is None, skipped=sorted(skipped), note=note)
            if (old_manifest is not None and old_manifest.files == files and old_manifest.skipped == skipped
                    and self._embeddings_ready(old)):
                report.unchanged, report.build = len(entries), old  # nothing changed: keep the build
                prune(self.dir)
                report.seconds = time.perf_counter() - t0
                return report
            new = new_build_dir(self.dir)
            try:
                report = self._write(old, old_manifest, new, entries, report, progress)
                self._embed(old, new, report)
                Manifest(str(root), files, time.time(), len(entries), skipped).write(new)
                fsync_dir(new)
                swap(self.dir, new)
            except BaseException:
                shutil.rmtree(new, ignore_errors=True)
                raise
            prune(self.dir)
        report.build = new
        report.seconds = time.perf_counter() - t0
        return report

    @staticmethod
    def _previous(old: Path | None, root: Path, rebuild: bool) -> tuple[Manifest | None, str]:
        """The manifest of the build to update incrementally (None: build from scratch), and
        why there is none when one was asked for."""
        if old is None or rebuild:
            return None, ""
        try:
            manifest = Manifest.read(old)
        except IndexProblem:
            return None, "previous index unusable: rebuilt from scratch"
        if manifest.kb_root != str(root):
            return None, f"previous index was built from {manifest.kb_root}"
        return manifest, ""

    def _write(self, old: Path | None, old_manifest: Manifest | None, new: Path, entries: dict[str, _Entry],
               report: BuildReport, progress: Progress | None) -> BuildReport:
        """Write the Whoosh index and forward file of build `new`: incrementally from `old`
        if it has a manifest, from scratch if not or if `old` turns out to be damaged. Returns
        the report (a new one when the incremental build fell back to a full one)."""
        if old is not None and old_manifest is not None:
            try:
                self._incremental(old, old_manifest, new, entries, report, progress)
                return report
            except Exception as err:  # a damaged previous build: start afresh if we can
                shutil.rmtree(new, ignore_errors=True)
                if any(e.article is None for e in entries.values()):
                    raise _NeedFullLoad from err
                report = BuildReport(full=True, skipped=report.skipped,
                                     note=f"previous index unreadable ({type(err).__name__}): rebuilt from scratch")
        articles = [e.article for e in entries.values()]
        if any(a is None for a in articles):
            raise _NeedFullLoad
        self._full(new, articles, report, progress)  # type: ignore[arg-type]
        return report

    def _full(self, new: Path, articles: list[Article], report: BuildReport, progress: Progress | None) -> None:
        """Build `new` from scratch. On a big KB with more than one core, forked children
        each write a share of the articles as a Whoosh segment of its own while this process
        writes the first share; the index then lists the segments in article order, so every
        document has the number one writer would have given it, and the forward file is
        the same bytes (tests/index/test_split.py compares both builds). A child that fails
        or dies has its share written here: slower, never lost."""
        new.mkdir(parents=True)
        ix = windex.create_in(str(new), make_schema())
        analyzer = TermMemo(stem())
        fwd = ForwardBuilder()
        cut = split_points(len(articles))
        shares = [articles[lo:hi] for lo, hi in zip(cut, cut[1:])]
        pool_mb = pool_limit_mb(len(shares))
        writer = FastWriter(ix, self.commit_progress, limitmb=pool_mb)
        children: list[Forked[tuple[Segment, ForwardPart]] | None] = []
        try:
            for share in shares[1:]:
                children.append(_fork(partial(_write_part, ix, share, analyzer, pool_mb)))
            _add_documents(writer, fwd, shares[0], analyzer, progress, len(articles))
            if len(shares) == 1:
                writer.commit()
            else:
                writer.segment()  # this share's, written while the children still write theirs
                segments = []
                for child, share in zip(children, shares[1:]):
                    part = child.result() if child else None
                    segment, forward = part or _write_part(ix, share, analyzer, pool_mb)  # (the child failed: here)
                    segments.append(segment)
                    fwd.extend(forward)
                writer.commit_with(segments)
        except BaseException:
            for child in children:
                if child:
                    child.stop()
            writer.cancel()
            raise
        finally:
            ix.close()
            for leftover in new.glob("*.tmp"):  # a failed child's temporary postings
                shutil.rmtree(leftover, ignore_errors=True)
        fwd.save(new / FORWARD)
        report.added = len(articles)

    def _incremental(self, old: Path, manifest: Manifest, new: Path, entries: dict[str, _Entry],
                     report: BuildReport, progress: Progress | None) -> None:
        old_files = manifest.files
        changed = [e.article for rel, e in entries.items()
                   if rel in old_files and old_files[rel].get("hash") != e.state["hash"]]
        added = [e.article for rel, e in entries.items() if rel not in old_files]
        removed = [rel for rel in old_files if rel not in entries]
        report.updated, report.added, report.removed = len(changed), len(added), len(removed)
        report.unchanged = len(entries) - len(changed) - len(added)
        drop = ({str(old_files[rel]["id"]) for rel in removed}
                | {str(old_files[a.rel_path]["id"]) for a in changed})  # type: ignore[union-attr]
        todo = [a for a in changed + added if a is not None]  # (only unchanged files lack an article)
        _link_build(old, new, documents_change=bool(todo or drop))
        if not (todo or drop):
            return  # nothing to re-index (files only touched): a new manifest is all it takes
        ix = windex.open_dir(str(new))
        analyzer = TermMemo(stem())
        toks = {a.id: tokens(texts(a), analyzer) for a in todo}
        writer = FastWriter(ix, self.commit_progress)
        try:
            for doc_id in drop:
                writer.delete_by_term("id", doc_id)
            # Every id written here was just deleted or never indexed (an id two files claim
            # makes `update` load the whole KB instead), so after deletes, add: updating
            # would open a second searcher to delete them all again. One searcher is opened
            # either way, which reads the previous segments: a damaged build is found here.
            add = writer.add_document if drop else writer.update_document
            for i, a in enumerate(todo, 1):
                add(**document(a, toks[a.id]))
                if progress:
                    progress(i, len(todo))
            writer.commit(merge=True)
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        _write_forward(old, new, drop | {a.id for a in todo}, todo, toks, len(entries))

    def _embeddings_ready(self, build: Path | None) -> bool:
        """Whether `build` has what this index is asked for: embeddings iff semantic."""
        if build is None:
            return False
        path = build / semantic_mod.EMBEDDINGS
        return semantic_mod.Embeddings.usable(path) if self.semantic else not path.exists()

    def _embed(self, old: Path | None, new: Path, report: BuildReport) -> None:
        """Embed the new build's documents (semantic on), reusing the vectors of the previous
        build for every document whose content hash is unchanged; or drop stale vectors."""
        target = new / semantic_mod.EMBEDDINGS
        if not self.semantic:
            target.unlink(missing_ok=True)
            note = self.semantic_off or ""
            report.semantic_note = note if self.semantic_asked else _once_a_day(self.dir, note)
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
        docs = embedding_docs(new / FORWARD)
        t0 = time.perf_counter()
        try:
            emb, fresh = semantic_mod.build_embeddings(docs, previous, self.embed_progress)
        except semantic_mod.SemanticUnavailable as e:  # the model failed to load: lexical index, said so
            report.semantic_note = str(e)
            return
        emb.save(target)
        report.embedded, report.embed_seconds = fresh, time.perf_counter() - t0
        report.semantic_note = (f"embedded {fresh} document(s) in {time.perf_counter() - t0:.1f}s, "
                                f"{len(emb.ids) - fresh} reused" if fresh else "embeddings reused")


NOTE_SHOWN = ".semantic-note"  # in the index directory: the day and text of the last note shown


def _once_a_day(index_dir: Path, note: str) -> str:
    """`note` the first time a day it is due for this index directory, else "": with the
    setting "auto", every `kbtool index` (and every refresh before a search) would repeat
    that the semantic extra is not installed. Remembered in NOTE_SHOWN."""
    if not note:
        return ""
    marker, key = index_dir / NOTE_SHOWN, f"{time.strftime('%Y-%m-%d')} {note}"
    try:
        if marker.read_text(encoding="utf-8") == key:
            return ""
    except OSError:
        pass
    try:
        marker.write_text(key, encoding="utf-8")
    except OSError:
        pass  # a read-only index directory: say it every time rather than never
    return note


def _link_build(old: Path, new: Path, documents_change: bool) -> None:
    """Start build `new` as hard links of `old`'s files (Whoosh files and the base forward
    file are write-once: a safe copy), without the manifest and locks, and without the
    forward delta and embeddings when documents change (they are rewritten)."""
    new.mkdir(parents=True)
    for f in old.iterdir():
        if f.name == MANIFEST or f.name.endswith((".lock", "WRITELOCK")):
            continue
        if f.name in (FORWARD_DELTA, semantic_mod.EMBEDDINGS) and documents_change:
            continue
        os.link(f, new / f.name)


def _write_forward(old: Path, new: Path, drop: set[str], todo: list[Article], toks: dict[str, dict[str, list[str]]],
                   n_docs: int) -> None:
    """The forward index of incremental build `new`: `old`'s without the documents in `drop`,
    plus `todo`. Only the delta file is written (the base is `old`'s, hard-linked), so a
    one-file update does not rewrite 10,000 documents; once the delta holds more than
    DELTA_SHARE of the documents, the base is rewritten with everything and the delta goes."""
    old_delta = old / FORWARD_DELTA
    fwd = ForwardBuilder(old_delta if old_delta.exists() else None, drop)
    if len(fwd) + len(todo) > max(DELTA_MIN, n_docs * DELTA_SHARE):
        (new / FORWARD).unlink()
        fwd = ForwardBuilder(old / FORWARD, drop)  # (reads the old delta too)
        for a in todo:
            _add_forward(fwd, a, toks[a.id])
        fwd.save(new / FORWARD)
        return
    for a in todo:
        _add_forward(fwd, a, toks[a.id])
    fwd.save(new / FORWARD_DELTA, base_drop=drop | (base_drop(old_delta) if old_delta.exists() else set()))


def update_index(config: Config, rebuild: bool = False, progress: Progress | None = None, kb: KB | None = None,
                 embed_progress: Progress | None = None, start_embedding: bool = True,
                 commit_progress: Progress | None = None) -> BuildReport:
    """Bring the configured index up to date (the `kbtool index` command).

    Without `kb` an incremental update parses only the files that changed (see
    `Index.update`); the whole KB is loaded when that cannot decide, or for `rebuild`.
    With semantic matching on, only new or changed documents are embedded.
    `start_embedding=False` (the automatic refresh before a search or suggestion) keeps
    embeddings up to date but never starts embedding a whole KB that has none: that takes
    minutes at 10,000 articles and belongs to an explicit `kbtool index`.
    """
    idx = Index.for_config(config, embed_progress, commit_progress)
    if idx.semantic and not start_embedding:
        cur = current_build(idx.dir)
        if cur is None or not (cur / semantic_mod.EMBEDDINGS).exists():
            idx.semantic, idx.semantic_off = False, "not started by an automatic refresh (run `kbtool index`)"
    if kb is None and not rebuild:
        try:
            return idx.update(config.kb, progress)
        except _NeedFullLoad:
            pass
    kb = kb or load_kb(config.kb)
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
