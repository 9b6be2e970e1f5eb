"""The forward index file (kbtool.index.forward): damaged or older files, and what it may import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kbtool.config import Config
from kbtool.index import FORWARD, Index, IndexProblem, current_build


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


def test_corrupt_forward_index(fresh: tuple[Path, Path, Config]) -> None:
    _, ix, _ = fresh
    (current_build(ix) / FORWARD).write_bytes(b"not numpy")
    s = Index(ix).open()
    try:
        with pytest.raises(IndexProblem, match="forward index .* unreadable"):
            s.forward()
    finally:
        s.close()


def test_forward_index_without_search_fields_gives_a_clear_message(fresh: tuple[Path, Path, Config]) -> None:
    _, ix, _ = fresh
    path = current_build(ix) / FORWARD
    with np.load(path) as z:
        kept = {k: z[k] for k in z.files if not k.startswith("search_")}
    with open(path, "wb") as fh:
        np.savez(fh, **kept)
    s = Index(ix).open()
    try:
        with pytest.raises(IndexProblem, match=r"forward index .* unreadable.*Run `kbtool index --rebuild`"):
            s.search("webhook")
        assert ids(s.search('"signature verification"')) == ["webhook-signature-mismatch"]  # Whoosh still answers
    finally:
        s.close()


@pytest.mark.parametrize("module", ["forward", "bm25"])
def test_forward_and_bm25_do_not_import_whoosh(module: str) -> None:
    """The forward format and the compiled scorer are Whoosh-free (suggest builds on them)."""
    import ast

    import kbtool.index

    path = Path(kbtool.index.__file__).parent / f"{module}.py"
    imported = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append("." * node.level + (node.module or ""))
    assert imported and not [m for m in imported if m.split(".")[0] == "whoosh" or m in (".schema", ".query",
                                                                                           ".highlight", ".")]


def test_search_fields_are_the_boosted_fields_in_order() -> None:
    """The forward index keeps SEARCH_FIELDS' terms in the order the compiled scorer weighs them by BOOSTS."""
    from kbtool.index.forward import SEARCH_FIELDS
    from kbtool.index.schema import BOOSTS

    assert tuple(BOOSTS) == SEARCH_FIELDS
