""""Did you mean" hints from a prebuilt candidate index, so a hint costs the same with 10 or
50,000 names: `CloseNames(names).best(query)`.

`difflib.get_close_matches` over every name per broken link made lint grow with broken
links x files (224 of 252 s of a profile on 9,800 articles). Here the names are indexed
once by character trigram; a query scores only names sharing its rarest trigrams (a
bounded number of postings, however common the folder's naming scheme is), keeps the
few with the most shared trigrams and a compatible length, and ranks those with
difflib's ratio, so the hint is the one `get_close_matches` would mostly pick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher

_POSTINGS_BUDGET = 4000  # names looked at per query, at most
_RERANK = 8  # candidates (most shared trigrams) ranked with difflib per query


def _trigrams(text: str) -> set[str]:
    padded = f"\0{text}\0"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class CloseNames:
    """A trigram index over `names` for near-miss lookups (case-sensitive, like difflib)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self._post: dict[str, list[int]] = {}
        for i, name in enumerate(self.names):
            for g in _trigrams(name):
                self._post.setdefault(g, []).append(i)
        self._answers: dict[tuple[str, float], str | None] = {}

    def best(self, query: str, cutoff: float = 0.6) -> str | None:
        """The indexed name most like `query` with difflib ratio >= cutoff, else None (each
        answer kept: the same broken link is often copied into many articles)."""
        key = (query, cutoff)
        if key not in self._answers:
            self._answers[key] = self._best(query, cutoff)
        return self._answers[key]

    def _best(self, query: str, cutoff: float) -> str | None:
        if not self.names or not query:
            return None
        grams = sorted((g for g in _trigrams(query) if g in self._post), key=lambda g: len(self._post[g]))
        shared: Counter[int] = Counter()
        spent = 0
        for g in grams:
            post = self._post[g]
            if spent and spent + len(post) > _POSTINGS_BUDGET:
                break
            shared.update(post)
            spent += len(post)
        n = len(query)
        matcher = SequenceMatcher(b=query)
        bounded: list[tuple[float, str]] = []  # (upper bound of the ratio, name)
        for i, _ in shared.most_common(_RERANK):
            name = self.names[i]
            if 2 * min(n, len(name)) / (n + len(name)) < cutoff:
                continue  # ratio can never reach the cutoff
            matcher.set_seq1(name)
            if matcher.real_quick_ratio() < cutoff:
                continue
            bound = matcher.quick_ratio()
            if bound >= cutoff:
                bounded.append((bound, name))
        # highest bound first: once a bound is below the best ratio found, no name left can
        # beat (or tie) it, so most queries run difflib's full ratio once or twice
        bounded.sort(key=lambda t: -t[0])
        best: tuple[float, str] | None = None
        for bound, name in bounded:
            if best is not None and bound < best[0]:
                break
            matcher.set_seq1(name)
            score = matcher.ratio()
            if score >= cutoff and (best is None or score > best[0] or (score == best[0] and name < best[1])):
                best = (score, name)
        return best[1] if best else None
