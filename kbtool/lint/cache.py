"""The lint cache: each text's word-shingle hashes and MinHash signature, kept between runs.

The duplicate checks (KB501, KB503) hash every live article's word shingles and sign each
with MinHash: the biggest single cost of linting a big KB, and the same work every run
for the articles that did not change. A text's hashes and signature depend on that text
alone (`duplicates.word_hash`), so they are kept per text, keyed by a digest of it, and a
run computes them for new and edited texts only, as ruff or ESLint's `--cache` skip
unchanged files. Each text's hashes are kept in set order (`duplicates.set_order`), so
building the shingle sets from them needs no sort either.

The cache is best-effort and never changes a result: a missing, unreadable, corrupt or
older-format file is a cold start, and a file that cannot be written (read-only checkout,
full disk) is skipped. It is one `.npz` of plain arrays, read without pickle (a cache
file cannot run code), written aside and renamed into place, so a concurrent run reads
the old file or the new one, never half of either. It holds the texts of the last run
only, so it never grows past one KB's worth.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..config import kb_tag
from ..processes import Forked, can_fork
from .duplicates import NUM_PERM, SHINGLE, minhash_signatures, set_order, shingle_hashes

# Bump when shingling, word hashing or signing changes: an older file is then ignored.
FORMAT = f"kbtool-lint-shingles 2 k={SHINGLE} perm={NUM_PERM} blake2b-words set-order"
_DIGEST = 16


@dataclass
class Shingled:
    """The shingle hashes of some texts (concatenated, with each text's [start, end) bounds)
    and their MinHash signatures, with how many texts came from the cache."""

    hashes: np.ndarray
    bounds: np.ndarray
    signatures: np.ndarray
    cached: int = 0


def cache_file(cache_dir: Path, kb_root: Path) -> Path:
    """The cache file for one KB (several KBs of a project share the folder)."""
    return cache_dir / f"lint-shingles-{kb_tag(kb_root)}.npz"


MIN_SPLIT = 2000  # new texts below this are shingled in one process: a fork would not pay
Fresh = tuple[np.ndarray, np.ndarray, np.ndarray]  # hashes, bounds, signatures of some texts


def shingled(texts: Sequence[str], file: Path | None = None, jobs: int = 1) -> Shingled:
    """Hashes and signatures of `texts`, those of unchanged texts read from `file` (None:
    no cache), and `file` rewritten when anything changed. `jobs`: as in `Shingling`."""
    return Shingling(texts, file, jobs).result()


class Shingling:
    """`shingled` in two steps, so that a free core shingles while the caller does other
    work: made, it reads the cache and, with `jobs` 2 or more and enough new texts, forks a
    child on the last `share` of them; `result()` computes the rest here, takes the child's
    part and writes the cache. Lint's `--changed` starts one before its per-article pass,
    which checks a few files and leaves the other cores idle. A child that fails only costs
    time: its part is then computed here; `stop()` ends it when the caller gives up."""

    def __init__(self, texts: Sequence[str], file: Path | None = None, jobs: int = 1, share: float = 0.5) -> None:
        self.texts, self.file = texts, file
        self.digests: list[bytes] = []
        self.old: _Cached | None = None
        self.rows = np.full(len(texts), -1, dtype=np.int64)
        if file is not None:
            self.digests = [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()
                            for t in texts]
            self.old = _read(file)
            row_of = self.old.rows if self.old is not None else {}
            self.rows = np.array([row_of.get(d, -1) for d in self.digests], dtype=np.int64)
        self.miss = np.flatnonzero(self.rows < 0)
        self._todo = [texts[i] for i in self.miss.tolist()]
        self._cut = len(self._todo)
        self._child: Forked[Fresh] | None = None
        if jobs >= 2 and len(self._todo) >= MIN_SPLIT and can_fork():
            self._cut = len(self._todo) - int(len(self._todo) * share)
            self._child = Forked(partial(_compute, self._todo[self._cut:], self.ordered))

    @property
    def ordered(self) -> bool:
        """Each text's hashes in set order (`duplicates.set_order`), as the cache keeps them."""
        return self.file is not None

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None

    def result(self) -> Shingled:
        try:
            fresh = _compute(self._todo[:self._cut], self.ordered)
        except BaseException:
            self.stop()
            raise
        if self._child is not None:
            theirs = self._child.result() or _compute(self._todo[self._cut:], self.ordered)
            self._child = None
            fresh = (np.concatenate([fresh[0], theirs[0]]), np.concatenate([fresh[1], theirs[1] + fresh[0].size]),
                     np.concatenate([fresh[2], theirs[2]]))
        old, miss = self.old, self.miss
        if old is None or miss.size == len(self.texts):
            hashes, bounds, sig = fresh
        else:
            hashes, bounds, sig = _assemble(old, self.rows, miss, *fresh)
        if self.file is not None and (old is None or miss.size or len(old.rows) != len(set(self.digests))):
            _write(self.file, self.digests, hashes, bounds, sig)
        return Shingled(hashes, bounds, sig, cached=len(self.texts) - int(miss.size))


def _compute(texts: Sequence[str], ordered: bool) -> Fresh:
    hashes, bounds = shingle_hashes(texts)
    if ordered:
        hashes = set_order(hashes, bounds)  # a text's hashes as a set: in the order ShingleSets sorts them
    return hashes, bounds, minhash_signatures(hashes, bounds)


@dataclass
class _Cached:
    rows: dict[bytes, int]
    hashes: np.ndarray
    bounds: np.ndarray
    signatures: np.ndarray


def _read(file: Path) -> _Cached | None:
    try:
        with np.load(file, allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                return None
            raw = z["digests"].tobytes()
            hashes, bounds, sig = z["hashes"], z["bounds"], z["signatures"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # none yet, unreadable, or not ours: a cold start
    n = len(bounds)
    shapes_ok = (len(raw) == n * _DIGEST and sig.shape == (n, NUM_PERM) and bounds.ndim == 2 and bounds.shape[1] == 2
                 and (hashes.dtype, bounds.dtype, sig.dtype) == (np.uint64, np.int64, np.uint32))
    if not shapes_ok or (n and (bounds.min() < 0 or bounds.max() > len(hashes) or (bounds[:, 1] < bounds[:, 0]).any())):
        return None
    rows = {raw[k * _DIGEST:(k + 1) * _DIGEST]: k for k in range(n)}
    return _Cached(rows, hashes, bounds, sig)


def _assemble(old: _Cached, rows: np.ndarray, miss: np.ndarray, fresh_h: np.ndarray, fresh_b: np.ndarray,
              fresh_sig: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texts' hashes in text order, each from the cache or from the fresh batch, in one
    gather from the two arrays laid end to end."""
    n = len(rows)
    start = np.empty(n, dtype=np.int64)
    length = np.empty(n, dtype=np.int64)
    hit = rows >= 0
    start[hit], length[hit] = old.bounds[rows[hit], 0], old.bounds[rows[hit], 1] - old.bounds[rows[hit], 0]
    start[miss], length[miss] = fresh_b[:, 0] + old.hashes.size, fresh_b[:, 1] - fresh_b[:, 0]
    end = np.cumsum(length)
    bounds = np.stack([end - length, end], axis=1)
    src = np.repeat(start - bounds[:, 0], length) + np.arange(int(end[-1]) if n else 0)
    hashes = np.concatenate([old.hashes, fresh_h])[src]
    sig = np.empty((n, NUM_PERM), dtype=np.uint32)
    sig[hit] = old.signatures[rows[hit]]
    sig[miss] = fresh_sig
    return hashes, bounds, sig


_GITIGNORE = "# Created by kbtool lint: a cache, never to be committed.\n*\n"
_CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                 "# This file is a cache directory tag created by kbtool lint.\n"
                 "# For information about cache directory tags, see https://bford.info/cachedir/\n")


def _mark(folder: Path) -> None:
    """Tell git (and backup tools) the folder is a cache, as pytest's and ruff's caches do: a
    pre-commit hook must never stage tens of megabytes of it."""
    for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
        if not (folder / name).exists():
            (folder / name).write_text(text, encoding="utf-8")


def _write(file: Path, digests: list[bytes], hashes: np.ndarray, bounds: np.ndarray, sig: np.ndarray) -> None:
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        _mark(file.parent)
        with open(tmp, "wb") as fh:
            np.savez(fh, format=np.array(FORMAT), digests=np.frombuffer(b"".join(digests), dtype=np.uint8),
                     hashes=hashes, bounds=bounds, signatures=sig)
        os.replace(tmp, file)
    except OSError:  # read-only, full or locked: this run goes without
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


__all__ = ["FORMAT", "Shingled", "Shingling", "cache_file", "shingled"]
