"""Fragments: the memoised highlighter analyser and stable tie-breaking (`kbtool.index.highlight`)."""

from __future__ import annotations

from kbfactory import SAMPLE_KB

from kbtool.content import load_kb
from kbtool.index.highlight import FIRST_BEST, MarkerFormatter, MemoAnalyzer
from kbtool.index.schema import stem


def test_highlighter_analyzer_is_the_stemming_analyzer() -> None:
    """Fragments tokenise with a memoised copy of the stemming analyser's filters: the same
    tokens, so the same highlighted passages (both search paths use it)."""
    from whoosh import highlight

    def tokens(analyzer, text: str) -> list[tuple[object, ...]]:
        return [(t.text, t.startchar, t.endchar, t.stopped, t.boost)
                for t in analyzer(text, chars=True, mode="query", removestops=False)]

    memo = MemoAnalyzer(stem())
    reference = stem()
    texts = [a.text + "\n" + a.title + " " + a.summary for a in load_kb(SAMPLE_KB).valid_articles]
    texts += ["Ünïcode café naïve ß straße v1.2.3 e-mail sign-in SAML-403 ERR_CERT_DATE_INVALID the a I x"]
    frag, fmt = highlight.ContextFragmenter(maxchars=220, surround=70), MarkerFormatter()
    terms = frozenset(["saml", "403", "webhook", "token", "sign", "cafe", "invoic"])
    best = FIRST_BEST  # (Whoosh's own scorer breaks ties by memory address)
    for text in texts * 2:  # the second round reads from the memo
        assert tokens(memo, text) == tokens(reference, text)
        assert (highlight.highlight(text, terms, memo, frag, fmt, scorer=best)
                == highlight.highlight(text, terms, reference, frag, fmt, scorer=best))
    assert [t.text for t in memo("The webhooks")] == ["webhook"]  # stop words dropped: the analyser itself


def test_fragment_ties_go_to_the_earlier_passage() -> None:
    from whoosh import highlight

    text = " ".join(f"Sentence {i} mentions the webhook once and then talks about other things at length." for i in range(12))
    frag, fmt = highlight.ContextFragmenter(maxchars=100, surround=20), MarkerFormatter()
    outs = {highlight.highlight(text, frozenset(["webhook"]), stem(), frag, fmt, top=1, scorer=FIRST_BEST)
            for _ in range(20)}
    assert len(outs) == 1 and next(iter(outs)).startswith("0 mentions the **webhook**")
