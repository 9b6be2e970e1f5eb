"""Known-issue spikes: a known problem coming back, seen in the tickets as it starts.

A ticket is *matched* to a `type: known-issue` article when that article is the first
suggestion of its last answer, or an agent linked/resolved the ticket with it. Tickets are
counted per UTC day of their first answer, every day of the window (zeros included).

The rule (`is_spike`), per article and day: the baseline is the previous `BASELINE_DAYS`
days (at least `MIN_HISTORY` of them inside the window, else no verdict). The day is a
spike when its count is at least `MIN_COUNT` and above mean + `SIGMAS` · spread, where the
spread is the larger of the baseline's standard deviation, the Poisson one (√mean) and 1.
The Poisson and 1 floors keep a flat, quiet baseline (sd 0) from flagging a day of 2
against 0; `MIN_COUNT` keeps a handful of tickets from paging anyone.
"""

from __future__ import annotations

import math
from collections import Counter

from ..content import Article
from .model import KnownIssueSeries, SpikeDay, Window
from .usage import Ledger
from .window import days

BASELINE_DAYS = 14
MIN_HISTORY = 7
MIN_COUNT = 5
SIGMAS = 3.0


def is_spike(count: int, history: list[int]) -> tuple[bool, float, float]:
    """(spike?, baseline mean, threshold) for a day's `count` after `history` (oldest first)."""
    base = history[-BASELINE_DAYS:]
    if len(base) < MIN_HISTORY:
        return False, 0.0, math.inf
    mean = sum(base) / len(base)
    sd = math.sqrt(sum((x - mean) ** 2 for x in base) / len(base))
    threshold = mean + SIGMAS * max(sd, math.sqrt(mean), 1.0)
    return count >= MIN_COUNT and count > threshold, mean, threshold


def known_issue_series(articles: list[Article], led: Ledger, window: Window) -> list[KnownIssueSeries]:
    """One series per known-issue article with any matched ticket, spiking ones first."""
    wanted = {a.id: a for a in articles if a.type == "known-issue"}
    counts: dict[str, Counter[str]] = {a: Counter() for a in wanted}
    for t in led.tickets.values():
        matched = set(t.linked_articles)
        if t.last.suggestions:
            matched.add(t.last.suggestions[0].article_id)
        for art in matched & wanted.keys():
            counts[art][t.first.date().isoformat()] += 1
    span = days(window)
    out = []
    for art, per_day in counts.items():
        if not per_day:
            continue
        series = [per_day[d.isoformat()] for d in span]
        spikes = []
        for i, n in enumerate(series):
            flagged, mean, threshold = is_spike(n, series[:i])
            if flagged:
                spikes.append(SpikeDay(span[i], n, round(mean, 2), round(threshold, 2)))
        out.append(KnownIssueSeries(art, wanted[art].title, span, series, spikes))
    return sorted(out, key=lambda s: (not s.spikes, -s.total, s.id))


__all__ = ["BASELINE_DAYS", "MIN_COUNT", "MIN_HISTORY", "SIGMAS", "is_spike", "known_issue_series"]
