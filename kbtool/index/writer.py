"""A faster Whoosh segment writer: the same files, written with less Python per posting.

Whoosh's `SegmentWriter` spends most of a full build in `FieldWriter.add_postings`, the
loop that writes each sorted posting: per posting it reads the document's field length
back from the length column file just written (a seek, a read and an unpack) and calls
`W3PostingsWriter.add_posting`, whose type assertions cost more than the append. At
10,000 articles that is millions of postings. `FastWriter` writes the same postings in
the same order with the same block, term and length statistics (the files are byte for
byte those of Whoosh's writer: tests/index/test_writer.py compares them), but reads each
length column once and appends to the postings block directly.

Whoosh 2.7.4 is pinned (pyproject); this module relies on its W3 codec's block writer
attributes, which the byte-for-byte test guards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pickle import dumps

from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3FieldWriter, W3PerDocReader, _lenfield
from whoosh.fields import FieldType, Schema
from whoosh.formats import Positions
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from ..progress import Progress

Posting = tuple[str, bytes, int, float, "bytes | None"]


class _Lengths:
    """`W3PerDocReader.doc_field_length` of every document of one field, read once per field."""

    def __init__(self, pdr: W3PerDocReader) -> None:
        self.pdr = pdr
        self.fields: dict[str, list[int | None] | None] = {}

    def of(self, fieldname: str) -> list[int | None] | None:
        """Each document's length in `fieldname` as `doc_field_length` returns it (None for
        a length byte 0), or None when the field has no length column (every length 0)."""
        if fieldname not in self.fields:
            reader = self.pdr._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            self.fields[fieldname] = (None if reader is None else
                                      [byte_to_length(b) if b else None for b in reader.load()])
        return self.fields[fieldname]


def add_postings(fw: W3FieldWriter, schema: Schema, lengths: _Lengths, items: Iterable[Posting],
                 progress: Progress | None = None, total: int = 0) -> None:
    """`FieldWriter.add_postings` + `W3PostingsWriter.add_posting` for sorted postings.

    Same calls to start_field/start_term/finish_term/finish_field, same block contents and
    statistics; the order checks are left out (the pool's merge sort yields sorted postings).
    """
    lastfn: str | None = None
    lasttext: bytes | None = None
    flengths: list[int | None] | None = None
    pw = None
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    limit = 0
    for n, (fieldname, btext, docnum, weight, value) in enumerate(items, 1):
        if fieldname != lastfn:
            if lasttext is not None:
                fw.finish_term()
            if lastfn is not None:
                fw.finish_field()
            fw.start_field(fieldname, schema[fieldname])
            lastfn, lasttext = fieldname, None
            flengths = lengths.of(fieldname)
        if docnum == -1:  # (Whoosh: a spelling-graph word, not a posting)
            continue
        if btext != lasttext:
            if lasttext is not None:
                fw.finish_term()
            fw.start_term(btext)
            lasttext = btext
            pw = fw._postwriter
            ids, weights, values, limit = pw._ids, pw._weights, pw._values, pw._blocklimit
        assert pw is not None
        if len(ids) >= limit:
            pw._write_block()
            ids, weights, values = pw._ids, pw._weights, pw._values
        length = flengths[docnum] if flengths is not None else 0
        ids.append(docnum)
        weights.append(weight)
        if weight > pw._maxweight:
            pw._maxweight = weight
        if value:
            values.append(value)
        if length:
            if pw._minlength is None or length < pw._minlength:
                pw._minlength = length
            if length > pw._maxlength:
                pw._maxlength = length
        if progress and n % 100_000 == 0:
            progress(min(n, total), total)
    if lasttext is not None:
        fw.finish_term()
    if lastfn is not None:
        fw.finish_field()
    if progress:
        progress(total, total)


class _Pool(PostingPool):
    """Whoosh's PostingPool without its per-posting type assertions, counting the postings
    (the total of the "committing" progress). Same size accounting, so the same runs."""

    count = 0

    def add(self, item: Posting) -> None:
        self.fieldnames.add(item[0])
        self.currentsize += 150 + len(item[0]) + len(item[1]) * 2 + len(item[4] or b"")  # = PostingPool.add's
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)
        self.count += 1


def _positions_items(words: list[str]) -> Iterator[tuple[bytes, int, float, bytes]]:
    """`Positions.word_values` of a token list, as `FieldType.index` yields it: (term bytes,
    frequency, weight, positions as Whoosh encodes them), terms in first-occurrence order.
    (A list is not analysed: token i is at position i, boost 1.)"""
    poses: dict[str, list[int]] = {}
    for i, w in enumerate(words):
        p = poses.get(w)
        if p is None:
            poses[w] = [i]
        else:
            p.append(i)
    for w, pl in poses.items():
        deltas = [pl[0], *(b - a for a, b in zip(pl, pl[1:]))]
        yield w.encode("utf-8"), len(pl), float(len(pl)), pack_uint(len(pl)) + dumps(deltas, 2)


def _field_items(field: FieldType, value: object) -> Iterable[tuple[bytes, int, float, bytes]]:
    """`field.index(value)`: token lists of plain positional fields computed directly."""
    fmt = field.format
    if isinstance(value, list) and type(fmt) is Positions and fmt.field_boost == 1.0:
        return _positions_items(value)
    return field.index(value)  # type: ignore[no-any-return]


class FastWriter(SegmentWriter):
    """Whoosh's SegmentWriter with `add_postings` above for the flush of its segment.

    `commit_progress(done, total)` follows the postings written (the "committing" phase).
    """

    def __init__(self, ix: object, commit_progress: Progress | None = None, *, beside: bool = False,
                 **kwargs: object) -> None:
        """`beside`: a second writer on an index another writer holds locked (a forked child
        of a split full build): no lock, and temporary files of its own (Whoosh names
        them after the index, so two writers would share and destroy one folder)."""
        super().__init__(ix, _lk=not beside, **kwargs)
        if beside:
            self._tempstorage = self.storage.temp_storage(f"{self.indexname}.{self.newsegment.segid}.tmp")
        self.pool = _Pool(self._tempstorage, self.newsegment, limitmb=kwargs.get("limitmb", 128))  # (Whoosh ignores poolclass)
        self.commit_progress = commit_progress
        self._segment: Segment | None = None

    def segment(self) -> Segment:
        """Write this writer's documents as a segment without committing it to the index:
        one part of a split build (`commit_with` lists it; a `beside` writer then `release`s)."""
        self._check_state()
        self._segment = self._finalize_segment()
        return self._segment

    def release(self) -> None:
        """Drop this writer's temporary files (and lock) once its `segment` is written."""
        self._finish()

    def commit_with(self, segments: list[Segment]) -> None:
        """Commit a new index of this writer's `segment` followed by `segments` (written
        beside it): documents keep the numbers one writer adding them all in that order
        would have given them, so scores, ties and results are the same."""
        self._check_state()
        if self.segments:
            raise ValueError("commit_with builds a new index: this one already has segments")
        own = [self._segment] if self._segment is not None else []
        self._commit_toc([*own, *segments])
        self._finish()

    def add_document(self, **fields: object) -> None:
        """SegmentWriter.add_document (Whoosh 2.7.4) with `_field_items` for the postings of
        each field; fields with term vectors are not supported (the schema has none)."""
        self._check_state()
        perdocwriter, schema, docnum, add_post = self.perdocwriter, self.schema, self.docnum, self.pool.add
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if value is None:
                continue
            field = schema[fieldname]
            if field.vector or field.separate_spelling():
                raise ValueError(f"FastWriter: field {fieldname!r} has term vectors or separate spelling")
            length = 0
            if field.indexed:
                fieldboost = self._field_boost(fields, fieldname, docboost)
                scorable = field.scorable
                for tbytes, freq, weight, vbytes in _field_items(field, value):
                    if scorable:
                        length += freq
                    add_post((fieldname, tbytes, docnum, weight * fieldboost, vbytes))
            customval = fields.get(f"_stored_{fieldname}", value)
            perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
            column = field.column_type
            if column and customval is not None:
                perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            total = self.pool.count
            add_postings(self.fieldwriter, self.schema, _Lengths(pdr), self.pool.iter_postings(),
                         self.commit_progress if total else None, total)
            self.fieldwriter.close()
        finally:
            pdr.close()
