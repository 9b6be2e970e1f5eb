"""The forward index, `forward.npz`: per-document analysed term counts, for suggest and search.

forward.npz holds the arrays, the vocabulary (JSON) and the documents' display metadata
as JSON lines, one per document: an incremental build copies the lines of unchanged
documents as bytes instead of decoding and re-encoding 10,000 article bodies. Beside
them, `search_*` members hold the same kind of arrays for SEARCH_FIELDS (own vocabulary:
the error-code fields have terms of their own) and one short JSON line per document with
the values the search filters test (`schema.search_line`), so search never decodes the bodies.

This module knows the file format only: the terms come analysed by the caller (Whoosh's
analysers, see `schema`); it does not import Whoosh.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..content import Article

FORWARD = "forward.npz"
# An incremental build's changes since the last rewrite of forward.npz (hard-linked from the
# build before): its documents come after the base's, and its `base_drop` ids leave the base.
FORWARD_DELTA = "forward-delta.npz"
# Fields whose analysed terms the forward index keeps for suggest.
FORWARD_FIELDS = ("title", "aliases", "summary", "symptoms", "body")
# The fields plain words search, kept in the forward index too (as Whoosh indexes them) so
# that a plain-word query is scored by CompiledBM25F instead of Whoosh's Python loops.
SEARCH_FIELDS = ("title", "error_code", "error_parts", "text")

Arrays = tuple[np.ndarray, ...]  # (doc, field, term, count, lengths)


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
    def load(cls, path: Path) -> Forward:
        vocab, lines, arrays = load_forward(path)
        return cls(vocab, [json.loads(line) for line in lines], *arrays)


def _doc_line(d: dict[str, object]) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode("utf-8")  # JSON escapes newlines: one line


def _json_array(value: object) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _narrow(a: np.ndarray) -> np.ndarray:
    """Non-negative integers in 16 bits when they fit (a smaller file to write and read)."""
    return a.astype(np.uint16) if not len(a) or int(a.max()) < 1 << 16 else a


def _save_forward(path: Path, vocab: list[str], lines: list[bytes], arrays: Arrays,
                  search: tuple[list[str], list[bytes], Arrays], extra: dict[str, np.ndarray]) -> None:
    doc, fld, term, count, lengths = arrays
    s_vocab, s_lines, (s_doc, s_fld, s_term, s_count, s_lengths) = search
    if len(s_doc) > 1 and (np.diff(s_doc) < 0).any():  # documents are appended in order; just in case
        order = np.argsort(s_doc, kind="stable")
        s_doc, s_fld, s_term, s_count = s_doc[order], s_fld[order], s_term[order], s_count[order]
    # entries are grouped by document: how many each has stands for the doc column
    entries = np.bincount(s_doc, minlength=s_lengths.shape[0]).astype(np.int32)
    members: dict[str, Any] = dict(doc=doc, fld=fld, term=term, count=count, lengths=lengths, vocab=_json_array(vocab),
                                   docs=np.frombuffer(b"\n".join(lines), dtype=np.uint8),
                                   search_entries=entries, search_fld=s_fld, search_term=_narrow(s_term),
                                   search_count=_narrow(s_count), search_lengths=s_lengths,
                                   search_vocab=_json_array(s_vocab),
                                   search_meta=np.frombuffer(b"\n".join(s_lines), dtype=np.uint8), **extra)
    with open(path, "wb") as fh:
        np.savez(fh, **members)


def _load_forward_file(path: Path) -> tuple[list[str], list[bytes], Arrays]:
    with np.load(path, allow_pickle=False) as z:
        vocab = json.loads(z["vocab"].tobytes().decode("utf-8"))
        blob = z["docs"].tobytes()
        lines = blob.split(b"\n") if blob else []
        arrays = (z["doc"], z["fld"], z["term"], z["count"], z["lengths"])
    if len(lines) != arrays[4].shape[0]:
        raise ValueError(f"{len(lines)} documents but {arrays[4].shape[0]} length rows")
    return vocab, lines, arrays


def _load_search_file(path: Path) -> tuple[list[str], list[bytes], Arrays]:
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


def base_drop(delta: Path) -> set[str]:
    """The ids a delta file takes out of its build's base forward file."""
    with np.load(delta, allow_pickle=False) as z:
        return set(json.loads(z["base_drop"].tobytes().decode("utf-8")))


def _delta_of(path: Path) -> Path | None:
    """The delta file beside the base forward file `path`, if there is one."""
    delta = path.with_name(FORWARD_DELTA)
    return delta if path.name == FORWARD and delta.exists() else None


def _merge(base: tuple[list[str], list[bytes], Arrays], keep: np.ndarray,
           delta: tuple[list[str], list[bytes], Arrays]) -> tuple[list[str], list[bytes], Arrays]:
    """The base's documents where `keep`, then the delta's: what rewriting the file would hold."""
    vocab, lines, arrays = base
    counts = _Counts(arrays[4].shape[1])
    counts.keep(vocab, arrays, keep)
    counts.extend(*delta[0::2])
    return counts.vocab, [line for line, k in zip(lines, keep) if k] + delta[1], counts.arrays()


def load_forward(path: Path) -> tuple[list[str], list[bytes], Arrays]:
    """The FORWARD_FIELDS part of a build's forward file (and of its delta, if any):
    (vocabulary, document lines, arrays)."""
    base = _load_forward_file(path)
    delta = _delta_of(path)
    if delta is None:
        return base
    drop = base_drop(delta)
    keep = np.array([_line_id(line) not in drop for line in base[1]], dtype=bool)
    return _merge(base, keep, _load_forward_file(delta))


def load_search(path: Path) -> tuple[list[str], list[bytes], Arrays]:
    """The `search_*` part of a build's forward file (and of its delta, if any): (vocabulary,
    filter lines, arrays)."""
    base = _load_search_file(path)
    delta = _delta_of(path)
    if delta is None:
        return base
    drop = base_drop(delta)
    keep = np.array([json.loads(line)[0] not in drop for line in base[1]], dtype=bool)
    return _merge(base, keep, _load_search_file(delta))


def _doc_meta(a: Article) -> dict[str, object]:
    return {
        "id": a.id, "title": a.title, "type": a.type, "status": a.status, "audience": a.audience,
        "product": a.product or "", "summary": a.summary, "path": a.rel_path, "kind": a.kind,
        "replaced_by": a.replaced_by or "", "error_codes": a.error_codes, "hash": a.content_hash,
        "body": a.text,
    }


# every document line starts with {"id": "<id>", (see _doc_meta)
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


def _line_hash(line: bytes) -> str:
    m = _LINE_HASH.search(line)
    return m.group(1).decode("ascii") if m else str(json.loads(line)["hash"])


def _line_texts(line: bytes) -> tuple[str, str, str]:
    d = json.loads(line)
    return str(d["title"]), str(d.get("summary") or ""), str(d.get("body") or "")


def embedding_docs(path: Path) -> Iterator[tuple[str, str, Callable[[], tuple[str, str, str]]]]:
    """(id, content hash, () -> (title, summary, body)) of every document of the forward file
    `path`, in order: what `semantic.build_embeddings` takes. Ids and hashes are read without
    decoding each line (bodies and all): only the documents to embed are decoded."""
    _vocab, lines, _arrays = load_forward(path)  # now: a damaged file fails before any embedding
    return ((_line_id(line), _line_hash(line), partial(_line_texts, line)) for line in lines)


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

    def keep(self, vocab: list[str], arrays: Arrays, keep: np.ndarray) -> None:
        """Start from saved arrays with only the documents where `keep` is True."""
        doc, fld, term, count, lengths = arrays
        self.vocab = list(vocab)
        self.term_ids = {t: i for i, t in enumerate(self.vocab)}
        remap = np.cumsum(keep) - 1
        mask = keep[doc]
        self.parts.append((remap[doc[mask]].astype(np.int32), fld[mask], term[mask], count[mask]))
        self.lengths.append(lengths[keep])
        self.n_docs = int(keep.sum())

    def extend(self, vocab: list[str], arrays: Arrays) -> None:
        """Append the documents of arrays over another vocabulary (its terms mapped onto ours)."""
        doc, fld, term, count, lengths = arrays
        ids = self.term_ids
        for t in vocab:
            if t not in ids:
                ids[t] = len(self.vocab)
                self.vocab.append(t)
        remap = np.array([ids[t] for t in vocab], dtype=np.int32)
        self.parts.append(((doc + self.n_docs).astype(np.int32), fld, remap[term] if len(vocab) else term, count))
        self.lengths.append(lengths)
        self.n_docs += lengths.shape[0]

    def add(self, fields: Iterable[list[str]]) -> None:
        """One document: its tokens per field."""
        n = self.n_docs
        docs, flds, terms, counts = [], [], [], []
        lens = np.zeros(self.n_fields, dtype=np.int32)
        for f, field_tokens in enumerate(fields):
            c = Counter(field_tokens)
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
        self.parts.append((np.array(docs, np.int32), np.array(flds, np.int8), np.array(terms, np.int32),
                           np.array(counts, np.int32)))
        self.lengths.append(lens[None, :])
        self.n_docs += 1

    def arrays(self) -> Arrays:
        if not self.parts:
            z = np.zeros(0, dtype=np.int32)
            return z, z.astype(np.int8), z, z, np.zeros((0, self.n_fields), dtype=np.int32)
        return (*(np.concatenate([p[i] for p in self.parts]) for i in range(4)), np.concatenate(self.lengths))


@dataclass
class ForwardPart:
    """The documents of a `ForwardBuilder`, as `part()` hands them to another's `extend`."""

    lines: list[bytes]
    search_lines: list[bytes]
    vocab: list[str]
    arrays: Arrays
    search_vocab: list[str]
    search_arrays: Arrays


class ForwardBuilder:
    """Writes a forward file: documents appended one by one, after the kept ones of a base file."""

    def __init__(self, base: Path | None = None, drop: set[str] | None = None) -> None:
        """Start empty, or from the forward file `base` without the documents in `drop`."""
        self.lines: list[bytes] = []
        self.search_lines: list[bytes] = []
        self.fwd = _Counts(len(FORWARD_FIELDS))
        self.search = _Counts(len(SEARCH_FIELDS))
        if base is not None:
            vocab, lines, arrays = load_forward(base)
            s_vocab, s_lines, s_arrays = load_search(base)
            if len(s_lines) != len(lines):
                raise ValueError(f"{len(lines)} documents but {len(s_lines)} search documents")
            drop = drop or set()
            keep = np.array([_line_id(line) not in drop for line in lines], dtype=bool)
            self.lines = [line for line, k in zip(lines, keep) if k]
            self.search_lines = [line for line, k in zip(s_lines, keep) if k]
            self.fwd.keep(vocab, arrays, keep)
            self.search.keep(s_vocab, s_arrays, keep)

    def add(self, a: Article, toks: dict[str, list[str]], search_line: bytes,
            search_tokens: Iterable[list[str]]) -> None:
        """One article: `toks`, its analysed text fields (FORWARD_FIELDS among them), and
        its filter line and SEARCH_FIELDS terms as the Whoosh document indexes them."""
        self.lines.append(_doc_line(_doc_meta(a)))
        self.search_lines.append(search_line)
        self.fwd.add(toks[name] for name in FORWARD_FIELDS)
        self.search.add(search_tokens)

    def part(self) -> ForwardPart:
        """This builder's documents as plain data (a split build's child sends them back)."""
        return ForwardPart(self.lines, self.search_lines, self.fwd.vocab, self.fwd.arrays(),
                           self.search.vocab, self.search.arrays())

    def extend(self, part: ForwardPart) -> None:
        """Append another builder's documents after these: the result is what one builder
        adding all of them in that order makes (vocabulary order included)."""
        self.lines.extend(part.lines)
        self.search_lines.extend(part.search_lines)
        self.fwd.extend(part.vocab, part.arrays)
        self.search.extend(part.search_vocab, part.search_arrays)

    def __len__(self) -> int:
        return len(self.lines)

    def save(self, path: Path, base_drop: set[str] | None = None) -> None:
        """Write the file; with `base_drop`, as the delta file (FORWARD_DELTA) of a build
        whose base forward file keeps all documents but those ids."""
        extra = {} if base_drop is None else {"base_drop": _json_array(sorted(base_drop))}
        _save_forward(path, self.fwd.vocab, self.lines, self.fwd.arrays(),
                      (self.search.vocab, self.search_lines, self.search.arrays()), extra)
