"""`CompiledBM25F` (kbtool.index.bm25), and its copy of Whoosh's field-length quantisation."""

from __future__ import annotations

import numpy as np
import pytest

from kbtool.index.bm25 import CompiledBM25F, byte_to_length, length_to_byte, whoosh_lengths


def test_compiled_bm25f_models() -> None:
    # two documents, two fields; term 0 in field 0 of doc 0 (twice) and in field 1 of doc 1
    doc, fld, term, count = (np.array(x) for x in ([0, 1, 1], [0, 1, 1], [0, 0, 1], [2, 1, 3]))
    lengths = np.array([[2, 0], [0, 4]])
    summed = CompiledBM25F(doc, fld, term, count, lengths, 2, [2.0, 1.0], k1=1.2, b=0.0)
    assert summed.W.shape == (2, 2) and summed.row(1, 0) == 0
    idf0 = np.log(1 + (2 - 2 + 0.5) / (2 + 0.5))
    assert summed.score(np.array([0]), np.array([1.0])) == pytest.approx(
        [idf0 * 2.0 * 2 * 2.2 / (2 + 1.2), idf0 * 1.0 * 1 * 2.2 / (1 + 1.2)])
    fielded = CompiledBM25F(doc, fld, term, count, lengths, 2, [2.0, 1.0], k1=1.2, b=0.0, model="whoosh")
    assert fielded.W.shape == (4, 2) and fielded.row(1, 0) == 2
    idf = np.log(2 / (1 + 1)) + 1
    assert fielded.score(np.array([0]), np.array([1.0])) == pytest.approx([2.0 * idf * 2 * 2.2 / (2 + 1.2), 0.0])
    assert list(fielded.matches(np.array([2, 3]))) == [False, True]
    only_first = CompiledBM25F(doc, fld, term, count, lengths, 2, [1.0, 0.0], model="whoosh")
    assert only_first.W.nnz == 1  # fields weighted 0 are left out
    with pytest.raises(ValueError):
        CompiledBM25F(doc, fld, term, count, lengths, 2, [1.0, 1.0], model="bm42")


def test_length_quantisation_is_whooshs_bit_for_bit() -> None:
    """bm25.py copies whoosh.util.numeric's length_to_byte/byte_to_length (it may not import
    Whoosh): the same byte for every length, the same length for every byte."""
    from whoosh.util import numeric

    assert [byte_to_length(b) for b in range(256)] == [numeric.byte_to_length(b) for b in range(256)]
    lengths = [None, *range(0, 120_000)]
    assert [length_to_byte(n) for n in lengths] == [numeric.length_to_byte(n) for n in lengths]
    lengths_2d = np.array([[0, 1, 32, 33], [100, 5000, 106374, 500_000]])
    expected = [[numeric.byte_to_length(numeric.length_to_byte(int(n))) for n in row] for row in lengths_2d]
    assert whoosh_lengths(lengths_2d).tolist() == expected
