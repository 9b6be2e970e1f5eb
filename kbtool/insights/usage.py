"""From events to tickets, and from tickets to the KB's numbers: linkage, acceptance, per article.

The unit is the *ticket*, not the request: a ticket tool asks again when the ticket is
edited, so answers with the same `ticket_id` are one ticket (first seen at its first
answer; its fate is its last answer plus all its feedback). Answers without a ticket id are
a ticket each. Feedback comes joined to its answer by the store (`joined_feedback`: by
suggestion id, else the ticket's latest answer before it).

An answer's suggestion is *accepted* when a `linked` or `resolved` feedback names that
article for that answer; a ticket is *linked* when any of its suggestions was accepted.
With no feedback at all in the window (an offline run, a deployment whose ticket tool does
not post feedback) linkage and acceptance are not measured: their rates are None, not 0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from ..content import Article
from ..events import DeflectionEvent, JoinedFeedback, SuggestEvent
from ..lint import review_due
from .model import Acceptance, ArticleUsage, Headline, TimePoint, Window, rate
from .window import bucket_of, buckets

ACCEPTING = frozenset({"linked", "resolved"})
POSITIVE = ACCEPTING | {"helpful"}
# "Heavily used": among the top quarter of the used articles, and at least this many uses.
HEAVY_MIN = 5
RANKS_SHOWN = 5  # ranks above this are pooled as "6+"


@dataclass
class TicketState:
    key: str
    first: datetime
    last: SuggestEvent
    outcomes: Counter[str] = field(default_factory=Counter)
    linked: bool = False
    linked_articles: set[str] = field(default_factory=set)

    @property
    def answered(self) -> bool:
        return bool(self.last.suggestions)


@dataclass
class Ledger:
    """Everything later sections need, from one pass over the events and feedback."""

    events: list[SuggestEvent]
    tickets: dict[str, TicketState]
    feedback: list[JoinedFeedback]
    accepted: set[tuple[str, str]]  # (answer event id, article id)
    deflections: Counter[str]

    def rate(self, part: int, whole: int) -> float | None:
        """`model.rate`, or None when nothing could have been accepted (no feedback at all)."""
        return rate(part, whole) if self.feedback else None


def ticket_key(ev: SuggestEvent) -> str:
    return f"t:{ev.ticket_id}" if ev.ticket_id else f"e:{ev.event_id}"


def build_ledger(events: list[SuggestEvent], feedback: list[JoinedFeedback],
                 deflections: Iterable[DeflectionEvent]) -> Ledger:
    tickets: dict[str, TicketState] = {}
    key_of: dict[str, str] = {}
    for ev in events:  # oldest first
        key = key_of[ev.event_id] = ticket_key(ev)
        state = tickets.get(key)
        if state is None:
            tickets[key] = TicketState(key, ev.time, ev)
        else:
            state.last = ev
    accepted: set[tuple[str, str]] = set()
    kept = []
    for jf in feedback:
        found = key_of.get(jf.suggest_event_id or "")
        if found is None and jf.suggest_event_id is not None:
            continue  # the answer is outside the window or the filters
        kept.append(jf)
        if found is None:
            continue
        state = tickets[found]
        state.outcomes[jf.feedback.outcome] += 1
        if jf.feedback.outcome in ACCEPTING and jf.rank is not None and jf.suggest_event_id:
            accepted.add((jf.suggest_event_id, jf.feedback.article_id))
            state.linked = True
            state.linked_articles.add(jf.feedback.article_id)
    return Ledger(events, tickets, kept, accepted, Counter(d.article_id for d in deflections))


def unanswered_reason(t: TicketState) -> str | None:
    """Why a ticket counts toward content gaps, or None: it had no answer ("abstained"),
    only `not_helpful` feedback ("rejected"), or only low-confidence suggestions and no
    feedback saying they helped ("weak"). Any linked/resolved/helpful feedback answers it."""
    if any(t.outcomes[o] for o in POSITIVE):
        return None
    if not t.last.suggestions:
        return "abstained"
    if t.outcomes["not_helpful"]:
        return "rejected"
    if all(s.confidence == "low" for s in t.last.suggestions):
        return "weak"
    return None


def headline(led: Ledger) -> Headline:
    n = len(led.tickets)
    answered = sum(t.answered for t in led.tickets.values())
    linked = sum(t.linked for t in led.tickets.values())
    out = Counter(jf.feedback.outcome for jf in led.feedback)
    return Headline(tickets=n, answered=answered,
                    unanswered=sum(unanswered_reason(t) is not None for t in led.tickets.values()),
                    linked=linked, linkage_rate=led.rate(linked, n), answer_rate=rate(answered, n),
                    feedback=len(led.feedback), helpful=out["helpful"], not_helpful=out["not_helpful"],
                    deflections=sum(led.deflections.values()))


def timeline(window: Window, led: Ledger) -> list[TimePoint]:
    acc: dict[date, Counter[str]] = defaultdict(Counter)
    for t in led.tickets.values():
        c = acc[bucket_of(window, t.first)]
        c["tickets"] += 1
        c["answered"] += t.answered
        c["linked"] += t.linked
        c["unanswered"] += unanswered_reason(t) is not None
    for ev in led.events:
        c = acc[bucket_of(window, ev.time)]
        c["shown"] += len(ev.suggestions)
        c["accepted"] += sum((ev.event_id, s.article_id) in led.accepted for s in ev.suggestions)
    return [TimePoint(b, c["tickets"], c["answered"], c["unanswered"], c["linked"], led.rate(c["linked"], c["tickets"]),
                      c["shown"], c["accepted"], led.rate(c["accepted"], c["shown"]))
            for b in buckets(window) for c in [acc.get(b, Counter())]]


def acceptance(led: Ledger) -> tuple[list[Acceptance], list[Acceptance]]:
    """Suggestions shown and accepted, by rank (1..5, then "6+") and by confidence."""
    shown: Counter[tuple[str, str]] = Counter()
    took: Counter[tuple[str, str]] = Counter()
    for ev in led.events:
        for s in ev.suggestions:
            keys = (("rank", str(s.rank) if s.rank <= RANKS_SHOWN else f"{RANKS_SHOWN + 1}+"),
                    ("confidence", s.confidence))
            hit = (ev.event_id, s.article_id) in led.accepted
            for k in keys:
                shown[k] += 1
                took[k] += hit
    order = {"rank": [str(r) for r in range(1, RANKS_SHOWN + 1)] + [f"{RANKS_SHOWN + 1}+"],
             "confidence": ["high", "medium", "low"]}

    def rows(kind: str) -> list[Acceptance]:
        return [Acceptance(v, shown[(kind, v)], took[(kind, v)], led.rate(took[(kind, v)], shown[(kind, v)]))
                for v in order[kind] if shown[(kind, v)]]

    return rows("rank"), rows("confidence")


def article_usage(articles: list[Article], led: Ledger, review_every: int, today: date) -> list[ArticleUsage]:
    """Per live article, most used first; `stale` and `heavily_used` as ArticleUsage says."""
    suggested: Counter[str] = Counter()
    first: Counter[str] = Counter()
    last: dict[str, datetime] = {}
    for ev in led.events:
        for s in ev.suggestions:
            suggested[s.article_id] += 1
            first[s.article_id] += s.rank == 1
            last[s.article_id] = ev.time
    fb: dict[str, Counter[str]] = defaultdict(Counter)
    for jf in led.feedback:
        fb[jf.feedback.article_id][jf.feedback.outcome] += 1
    uses = {a.id: suggested[a.id] + fb[a.id]["linked"] + fb[a.id]["resolved"] + led.deflections[a.id]
            for a in articles}
    heavy = _heavy_threshold(list(uses.values()))
    out = []
    for a in articles:
        due = review_due(a, review_every)
        out.append(ArticleUsage(
            id=a.id, title=a.title, type=a.type, owner=a.owner, product=a.product, suggested=suggested[a.id],
            suggested_first=first[a.id], accepted=fb[a.id]["linked"] + fb[a.id]["resolved"],
            helpful=fb[a.id]["helpful"], not_helpful=fb[a.id]["not_helpful"], deflections=led.deflections[a.id],
            last_suggested=last.get(a.id), review_due=due, stale=due is not None and due < today,
            heavily_used=uses[a.id] >= heavy))
    return sorted(out, key=lambda u: (-u.uses, u.id))


def _heavy_threshold(uses: list[int]) -> float:
    """The top quarter of the used articles (nearest-rank 75th percentile), at least HEAVY_MIN."""
    used = sorted(u for u in uses if u > 0)
    if not used:
        return float("inf")
    return max(HEAVY_MIN, used[min(len(used) - 1, (3 * len(used)) // 4)])


__all__ = ["ACCEPTING", "HEAVY_MIN", "Ledger", "TicketState", "acceptance", "article_usage", "build_ledger",
           "headline", "ticket_key", "timeline", "unanswered_reason"]
