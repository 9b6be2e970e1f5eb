"""#18: a public search learns nothing from hidden (internal, draft, retired) articles:
no "did you mean" word only they contain, and the same scores with or without them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kbtool.content import load_kb
from kbtool.index import Filters, Index

PUBLIC = Filters(audience="public")


def _hidden(kb: Path, article: Callable[..., Path]) -> None:
    """Sentinel words (and words shared with public articles) in hidden articles."""
    for i, (status, audience) in enumerate((("published", "internal"), ("draft", "public"),
                                            ("retired", "public"))):
        article(kb, f"hidden-{i}", f"Zanzibarquux webhook timeouts {i}", status=status, audience=audience,
                intro="Zanzibarquux webhooks time out; webhook delivery signature SAML-403.")


def _results(root: Path, hidden: bool, query: str, make_kb: Callable[[Path], Path],
             article: Callable[..., Path], whoosh: bool = False, engine: str = "compiled") -> list[tuple[str, float]]:
    kb = make_kb(root / "kb")
    if hidden:
        _hidden(kb, article)
    ix = Index(root / "index")
    ix.build(load_kb(kb))
    snap = ix.open()
    try:
        res = snap.search(query, PUBLIC, limit=20, whoosh=whoosh)
        assert res.engine == engine
        return [(h.id, round(h.score, 9)) for h in res.hits]
    finally:
        snap.close()


def test_public_scores_ignore_hidden_articles(tmp_path: Path, make_kb: Callable[[Path], Path],
                                              article: Callable[..., Path]) -> None:
    for query in ("webhook timeouts", "webhook SAML-403", "signature delivery"):
        with_hidden = _results(tmp_path / f"a-{query}", True, query, make_kb, article)
        without = _results(tmp_path / f"b-{query}", False, query, make_kb, article)
        assert with_hidden and with_hidden == without


def test_public_did_you_mean_never_offers_hidden_words(tmp_path: Path, make_kb: Callable[[Path], Path],
                                                       article: Callable[..., Path]) -> None:
    kb = make_kb(tmp_path / "kb")
    _hidden(kb, article)
    ix = Index(tmp_path / "index")
    ix.build(load_kb(kb))
    snap = ix.open()
    try:
        assert snap.search("zanzibarqux", Filters()).did_you_mean == "zanzibarquux"  # the analyst's view
        public = snap.search("zanzibarqux", PUBLIC)
        assert public.did_you_mean is None and not public.hits
        assert snap.search("zanzibarquux", PUBLIC).did_you_mean is None
    finally:
        snap.close()


def test_whoosh_scored_public_searches_ignore_hidden_articles(tmp_path: Path, make_kb: Callable[[Path], Path],
                                                             article: Callable[..., Path]) -> None:
    """The queries Whoosh scores itself (phrases, wildcards, fuzzy terms) take a public
    search's statistics from the public documents too; and where both engines can score a
    query, Whoosh's public scores are the compiled view's."""
    for k, query in enumerate(('"webhook delivery"', "webhook*", "timeouts~1 signature", "webhook NOT saml")):
        with_hidden = _results(tmp_path / f"a{k}", True, query, make_kb, article, engine="whoosh")
        without = _results(tmp_path / f"b{k}", False, query, make_kb, article, engine="whoosh")
        assert with_hidden and with_hidden == without, query
    for k, query in enumerate(("webhook timeouts", "signature delivery")):
        whoosh = _results(tmp_path / f"w{k}", True, query, make_kb, article, whoosh=True, engine="whoosh")
        compiled = _results(tmp_path / f"c{k}", True, query, make_kb, article)
        assert [i for i, _ in whoosh] == [i for i, _ in compiled]
        assert [s for _, s in whoosh] == pytest.approx([s for _, s in compiled], rel=1e-6)
