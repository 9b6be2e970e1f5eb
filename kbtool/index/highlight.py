"""Highlighted fragments of search hits: which terms to mark, which passages, Whoosh's highlighter."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from whoosh import highlight as whighlight
from whoosh import query as wquery

from .schema import QUERY_ANALYZER, STEMMED_FIELDS, analyze


class MemoAnalyzer:
    """A stemming analyser for the highlighter, its filters memoised per word.

    Whoosh's highlighter analyses every passage it is given (some 80 words a hit, ten hits
    a search), and the analyser's filters (lower case, stop words, stemming) were most of
    the cost of a search. Those filters act on one token at a time, so each distinct word
    goes through Whoosh's own filters once and is looked up afterwards: the tokens are
    exactly the analyser's. (Only when stop words are kept, as the highlighter asks:
    dropping them renumbers the positions of the tokens after them.)
    """

    def __init__(self, analyzer: object, size: int = 200_000) -> None:
        self.analyzer = analyzer
        self.tokenizer, self.filters = analyzer.items[0], analyzer.items[1:]  # type: ignore[attr-defined]
        self.size = size
        self.memo: dict[str, tuple[str, bool]] = {}

    def __call__(self, value: str, **kwargs: object) -> Iterator[object]:
        if kwargs.get("removestops", True):
            yield from self.analyzer(value, **kwargs)  # type: ignore[operator]
            return
        memo = self.memo
        for t in self.tokenizer(value, **kwargs):
            known = memo.get(t.text)
            if known is None:
                word = t.text
                gen: Iterator[object] = iter((t,))
                for f in self.filters:
                    gen = f(gen)
                for _ in gen:
                    pass
                if len(memo) >= self.size:
                    memo.clear()
                memo[word] = (t.text, t.stopped)
            else:
                t.text, t.stopped = known
            yield t


HIGHLIGHT_ANALYZER = MemoAnalyzer(QUERY_ANALYZER)

_PARA_SPLIT = re.compile(r"\n\s*\n")


def _best_window(para: str, terms: list[str], each: int) -> tuple[int, str] | None:
    """(distinct terms in it, the window) of the `each`-character window of `para` that holds
    the most distinct `terms` (by substring), cut at word boundaries; None if none occurs."""
    low = para.lower()
    hits = sorted((m.start(), t) for t in terms for m in re.finditer(re.escape(t), low))
    if not hits:
        return None
    best_n, best_start = 0, 0
    for k, (pos, _) in enumerate(hits):  # windows starting a little before each hit
        n = len({t for q, t in hits[k:] if q < pos + each * 3 // 4})
        if n > best_n:
            best_n, best_start = n, max(0, pos - each // 4)
    end = best_start + each
    if best_start:  # start and end at word boundaries
        space = para.find(" ", best_start)
        best_start = space + 1 if 0 <= space < best_start + 30 else best_start
    space = para.find(" ", end)
    end = space if 0 <= space < end + 30 else end
    return best_n, para[best_start:end]


def passages(text: str, terms: Iterable[str], budget: int = 500, each: int = 260) -> list[str]:
    """The windows of `text` most likely to hold `terms`, about `budget` characters in all
    (the whole text if it is that short), in document order.

    Whoosh's highlighter tokenises (and stems) all the text it is given, which made
    highlighting ten long bodies cost more than the search itself. A cheap substring
    search of the lowercased paragraphs (stems are mostly prefixes of the words) finds,
    per paragraph, the `each`-character window holding the most distinct terms; the best
    windows go to the highlighter, which then decides exactly.
    """
    if len(text) <= budget:
        return [text]
    wanted = [t for t in terms if t]
    scored = []
    for i, para in enumerate(p for p in _PARA_SPLIT.split(text) if p.strip()):
        best = _best_window(para, wanted, each)
        if best is not None:
            scored.append((-best[0], i, best[1]))
    if not scored:
        return [text[:budget]]
    picked, used = [], 0
    for _, i, chunk in sorted(scored):
        if used >= budget:
            break
        picked.append((i, chunk))
        used += len(chunk)
    return [chunk for _, chunk in sorted(picked)]  # in document order


class MarkerFormatter(whighlight.Formatter):
    """Wraps matched words in a marker (`**` for Markdown/JSON, ANSI bold for terminals)."""

    def __init__(self, markup: str = "**") -> None:
        self.between = " … "
        self.open, self.close = ("\033[1;33m", "\033[0m") if markup == "ansi" else (markup, markup)

    def format_token(self, text: str, token: object, replace: bool = False) -> str:
        return f"{self.open}{whighlight.get_text(text, token, replace)}{self.close}"


class FirstBestScorer(whighlight.BasicFragmentScorer):
    """Whoosh's fragment score, ties going to the earlier fragment. (Whoosh breaks ties by
    the fragments' memory addresses: the same search could show another passage.)"""

    def __call__(self, f: whighlight.Fragment) -> float:
        return super().__call__(f) - f.startchar * 1e-9  # scores are multiples of 100: only ties change


FIRST_BEST = FirstBestScorer()


def fragmenter() -> whighlight.Fragmenter:
    """The fragmenter of search hits."""
    return whighlight.ContextFragmenter(maxchars=220, surround=70)


def highlight_terms(q: wquery.Query, reader: object, cap: int = 500) -> frozenset[str]:
    """Body-analyser terms to highlight for `q`: its words in the stemmed text fields, the
    parts of matched error codes, wildcard/fuzzy expansions; nothing under NOT."""
    out: set[str] = set()
    stack = [q]
    while stack and len(out) < cap:
        node = stack.pop()
        if isinstance(node, wquery.Not):
            continue
        if isinstance(node, wquery.AndNot):
            stack.append(node.a)
            continue
        if not node.is_leaf():
            stack.extend(node.children())
            continue
        try:
            pairs = node.existing_terms(reader, expand=True)
        except Exception:  # a leaf type without terms (Every, NullQuery)
            continue
        for fieldname, term in pairs:
            word = term.decode("utf-8") if isinstance(term, bytes) else str(term)
            if fieldname in ("error_code", "error_parts"):
                out.update(analyze(word))
            elif fieldname in STEMMED_FIELDS:
                out.add(word)
    return frozenset(out)


def fragment(fields: dict[str, object], terms: frozenset[str], frag: whighlight.Fragmenter,
             fmt: whighlight.Formatter) -> str:
    """The best passages of the body (else the summary) for the query's terms, highlighted.

    Whoosh's Hit.highlights("body") would only use terms matched *in the body*, so a hit
    found by its title or error code (`SAML-403`, `ERR_CERT_DATE_INVALID`) showed an
    unhighlighted summary although the body mentions the code.
    """
    if terms:
        for name in ("body", "summary"):
            text = str(fields.get(name) or "")
            windows = passages(text, terms) if text else []
            # each window on its own, so a fragment never runs from one window into the next
            top = 2 if len(windows) == 1 else 1
            outs = [o for w in windows
                    if (o := whighlight.highlight(w, terms, HIGHLIGHT_ANALYZER, frag, fmt, top=top, scorer=FIRST_BEST))]
            if outs:
                return clip(" ".join(" … ".join(outs).split()))
    return clip(" ".join(str(fields.get("summary") or fields.get("body") or "").split()))


def clip(text: str, chars: int = 480) -> str:
    """At most about `chars` characters, cut at a space (a fragment is a glimpse, not the article)."""
    if len(text) <= chars:
        return text
    cut = text.rfind(" ", 0, chars)
    return text[: cut if cut > chars // 2 else chars].rstrip(" …") + " …"
