"""The index directory: build directories, the manifest, the writer's lock, the atomic swap, pruning.

Layout under the index directory (default `.kbtool/index`)::

    current -> build-<stamp>     symlink, swapped atomically with os.replace
    build-<stamp>/               a complete Whoosh index plus our own files:
        kbtool-index.json        marker + manifest (format version, KB state it was built from:
                                 hash/id/size/mtime of every indexed file, size/mtime of skipped ones)
        forward.npz              per-document analysed term counts (see `forward`), hard-linked
                                 from build to build until it is rewritten
        forward-delta.npz        an incremental build's documents since then (see `forward`)
    .lock                        flock held by the one writer
    .semantic-note               the day the "semantic extra not installed" note was last shown

Every build, full or incremental, happens in a fresh `build-*` directory and becomes
visible only when `current` is swapped; the next build removes what a killed one left.
Whoosh keeps metadata in pickles, so we only ever open a directory whose manifest says
kbtool wrote it, and never write into a directory holding files that are not ours.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..content import Article

FORMAT = "kbtool-index"
FORMAT_VERSION = 5  # 2: combined weighted `text` field, skipped files in the manifest; 3: forward docs as JSON lines;
# 4: the forward index also holds the plain-word search fields and filter values (`search_*`)
# 5: incremental builds add a forward delta file (forward-delta.npz) instead of rewriting forward.npz
MANIFEST = "kbtool-index.json"
KEEP_BUILDS = 2  # the build served and the one it replaced
PREVIOUS = ".previous"


class IndexProblem(Exception):
    """A missing, foreign, corrupt or busy index; the message says how to fix it."""


class IndexBusy(IndexProblem):
    """Another process holds the index lock (it is building)."""


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


# --- the manifest: what a build was built from ------------------------------------------


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
    def read(cls, build: Path) -> Manifest:
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

    def write(self, build: Path) -> None:
        """Written aside, flushed and renamed in: a kill leaves the whole manifest or none,
        and a build without one is a killed build (`prune` removes it)."""
        tmp = build / f".{MANIFEST}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, build / MANIFEST)

    def kb_changed(self, root: Path) -> bool:
        """Cheap check (sizes and mtimes; no hashing) whether the KB at `root` (resolved)
        differs from the one this build was made from."""
        if self.kb_root != str(root):
            return True
        known = {**self.skipped, **self.files}
        files = kb_files(root)
        for rel, full in files:
            st = known.get(rel)
            try:
                s = os.stat(full)
            except OSError:
                return True
            if st is None or st.get("size") != s.st_size or st.get("mtime_ns") != s.st_mtime_ns:
                return True
        return len(files) != len(known)


def file_state(a: Article) -> dict[str, object]:
    """The manifest entry of an indexed article's file."""
    st = a.path.stat()
    return {"hash": a.content_hash, "id": a.id, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def kb_files(root: Path) -> list[tuple[str, str]]:
    """(posix path relative to `root`, full path) of the KB's Markdown files, exactly the
    files `content.discover` finds, in its order (tests/index/test_store.py compares them).

    Its own walk because it runs on every `kbtool index` and before every search: discover
    makes a Path per file and checks every file for a symlink with a system call, which
    at 10,000 files was most of a one-file update. os.scandir knows which entries are
    links from the directory listing itself, and only links are resolved.
    """
    found: list[str] = []
    stack = [os.path.join(str(root), sub) for sub in ("runbooks", "articles")]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        subdirs = []
        for e in entries:
            if e.name.endswith(".md") and not e.is_dir():  # (a link to a directory is not a file)
                if not e.is_symlink() or _resolves(e.path):
                    found.append(e.path)
            elif e.is_dir(follow_symlinks=False):
                subdirs.append(e.path)
        stack.extend(sorted(subdirs, reverse=True))
    found.sort(key=lambda f: f.split(os.sep))
    base = len(str(root)) + 1
    return [(f[base:].replace(os.sep, "/"), f) for f in found]


def _resolves(path: str) -> bool:
    """Whether a symlink leads somewhere (discover reports broken and looping ones instead)."""
    try:
        Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return True


# --- the index directory ----------------------------------------------------------------


class Lock:
    """One writer at a time per index directory (flock; released if the process dies).

    A process forked while the lock is held (a split build's writers) closes its inherited
    copy at once: the lock belongs to the process that took it, so killing that process
    frees the index even if a child outlives it for a moment. (Closing a copy never unlocks
    the parent's: only the last descriptor's close, or LOCK_UN, does.)"""

    _held: ClassVar[weakref.WeakSet[Lock]] = weakref.WeakSet()

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / ".lock"
        self.fd = -1

    def __enter__(self) -> Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise IndexBusy(f"another `kbtool index` is already updating {self.path.parent}; "
                                "wait for it to finish and try again") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        Lock._held.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        Lock._held.discard(self)
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1

    @classmethod
    def _forget_in_child(cls) -> None:
        for lock in list(cls._held):
            if lock.fd >= 0:
                os.close(lock.fd)
                lock.fd = -1
        cls._held = weakref.WeakSet()


os.register_at_fork(after_in_child=Lock._forget_in_child)


def current_build(index_dir: Path) -> Path | None:
    """The build `index_dir/current` points at (None: no index, or a dangling link)."""
    link = index_dir / "current"
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def current_link(index_dir: Path) -> str | None:
    """What `index_dir/current` says (the build's name), in one system call: a swap always
    points it at a new build directory, so a server that has seen the same text twice around
    resolving it knows its build without resolving again. None: no link."""
    try:
        return os.readlink(index_dir / "current")
    except OSError:
        return None


def _is_ours(name: str) -> bool:
    return name in ("current", ".lock") or name.startswith(("build-", ".current-", "."))


def check_dir(index_dir: Path) -> None:
    """Refuse to write into a directory that holds anything but kbtool's own files."""
    if not index_dir.exists():
        return
    if not index_dir.is_dir():
        raise IndexProblem(f"{index_dir} is not a directory; choose another --index-dir")
    foreign = sorted(p.name for p in index_dir.iterdir() if not _is_ours(p.name))
    if foreign:
        raise IndexProblem(f"{index_dir} is not a kbtool index directory (it holds {', '.join(foreign[:3])}"
                           f"{', …' if len(foreign) > 3 else ''}); refusing to write into it. "
                           "Choose another --index-dir (or index_dir in the config), or empty it.")


def new_build_dir(index_dir: Path) -> Path:
    """The path of a new build directory (not created)."""
    return index_dir / f"build-{time.time_ns()}-{os.getpid()}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(index_dir: Path, name: str, target: str) -> None:
    """Point `index_dir/name` at `target` atomically (a symlink made aside, renamed over)."""
    tmp = index_dir / f".current-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, index_dir / name)


def swap(index_dir: Path, new: Path) -> None:
    """Point `current` at the build `new`, atomically (readers see the old build or the new one),
    and `.previous` at the build it replaces: readers may still hold that one, so `prune` keeps it."""
    old = current_build(index_dir)
    if old is not None and old != new:
        _link(index_dir, PREVIOUS, old.name)
    _link(index_dir, "current", new.name)
    fsync_dir(index_dir)


def _complete(build: Path) -> bool:
    try:
        Manifest.read(build)
    except IndexProblem:
        return False
    return True


def prune(index_dir: Path) -> None:
    """Keep the build `current` serves and the one it replaced (`.previous`: readers may still
    hold it); drop every other build, and what killed runs left (a build never swapped in, a
    manifest cut short, a swap link never renamed). Runs under the lock, so no build is in progress."""
    cur = current_build(index_dir)
    prev_link = index_dir / PREVIOUS
    prev = prev_link.resolve() if prev_link.is_symlink() else None
    if prev is not None and (prev == cur or not prev.is_dir() or not _complete(prev)):
        prev = None
    for p in index_dir.glob("build-*"):
        if p.is_dir() and not p.is_symlink() and p not in (cur, prev):
            shutil.rmtree(p, ignore_errors=True)
    if prev is None:
        prev_link.unlink(missing_ok=True)
    for p in index_dir.glob(".current-*"):  # a swap interrupted between symlink and rename
        if p.is_symlink():
            p.unlink(missing_ok=True)
