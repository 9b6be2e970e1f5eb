"""What `insights.report` returns: plain dataclasses, the only thing the CLI, the JSON output
and the HTML page read, so the three views cannot disagree about a number.

Rates are None (not 0) when their denominator is 0: "no tickets" is not "0 % linked".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Window:
    """The half-open time range [since, until) the report covers, and how it buckets time."""

    since: datetime
    until: datetime
    bucket: str  # "day" or "week"

    @property
    def days(self) -> int:
        return max(1, round((self.until - self.since).total_seconds() / 86400))


@dataclass(frozen=True)
class Filters:
    owner: str | None = None
    product: str | None = None
    audience: str | None = None


@dataclass(frozen=True)
class Headline:
    """The numbers at the top of the page. `linkage_rate`: share of tickets with a `linked`
    or `resolved` feedback on an article that was suggested for them."""

    tickets: int
    answered: int  # got at least one suggestion
    unanswered: int  # count toward content gaps (see gaps.py for the rule)
    linked: int
    linkage_rate: float | None
    answer_rate: float | None
    feedback: int
    helpful: int
    not_helpful: int
    deflections: int


@dataclass(frozen=True)
class TimePoint:
    """One day or week (`start`, UTC) of the window: tickets first seen then, and their fate."""

    start: date
    tickets: int
    answered: int
    unanswered: int
    linked: int
    linkage_rate: float | None
    shown: int  # suggestions shown in answers of this period
    accepted: int  # of those, later linked or resolved
    acceptance_rate: float | None


@dataclass(frozen=True)
class Acceptance:
    """Suggestions shown at one rank (or confidence) and how many were linked or resolved."""

    key: str
    shown: int
    accepted: int
    rate: float | None


@dataclass(frozen=True)
class ArticleUsage:
    """One live article in the window. `stale`: its review is overdue (lint's KB301 rule,
    `lint.review_due`); `heavily_used`: in the top quarter of used articles and used at least
    `usage.HEAVY_MIN` times (uses = suggestions + acceptances + deflections)."""

    id: str
    title: str
    type: str
    owner: str
    product: str | None
    suggested: int
    suggested_first: int
    accepted: int
    helpful: int
    not_helpful: int
    deflections: int
    last_suggested: datetime | None
    review_due: date | None
    stale: bool
    heavily_used: bool

    @property
    def uses(self) -> int:
        return self.suggested + self.accepted + self.deflections


@dataclass(frozen=True)
class GapTicket:
    """A ticket that found no answer: `text` is redacted (as stored), `reason` one of
    "abstained", "rejected" (only not_helpful feedback) or "weak" (low confidence only)."""

    key: str
    subject: str
    text: str
    time: datetime
    reason: str


@dataclass(frozen=True)
class NearestArticle:
    id: str
    title: str
    similarity: float


@dataclass(frozen=True)
class GapCluster:
    """Unanswered tickets about one thing: what a new article (or a fixed one) should cover."""

    size: int
    first_half: int  # tickets in the first half of the window
    second_half: int
    trend: str  # "rising", "falling" or "steady"
    top_terms: list[str]
    suggested_title: str
    representatives: list[GapTicket]  # the (up to) 3 tickets nearest the cluster's centre
    nearest: NearestArticle | None
    ticket_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GapAnalysis:
    method: str  # "semantic" or "lexical"
    note: str | None  # why lexical, when semantic was wanted
    unanswered: int  # tickets considered
    without_text: int  # unanswered tickets with no stored text (store_ticket_text = false)
    clustered: int  # tickets in some cluster
    clusters: list[GapCluster]


@dataclass(frozen=True)
class SpikeDay:
    day: date
    count: int
    baseline_mean: float
    threshold: float


@dataclass(frozen=True)
class KnownIssueSeries:
    """Tickets matched to one `known-issue` article per day, and the days flagged as spikes."""

    id: str
    title: str
    days: list[date]
    counts: list[int]
    spikes: list[SpikeDay]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class InsightsReport:
    generated: datetime
    source: str  # "events: <store location>" or "tickets: <file>"
    window: Window
    filters: Filters
    headline: Headline
    timeline: list[TimePoint]
    by_rank: list[Acceptance]
    by_confidence: list[Acceptance]
    articles: list[ArticleUsage]  # live articles, most used first
    never_suggested: list[str]  # live article ids with no suggestion in the window
    stale_but_used: list[ArticleUsage]
    gaps: GapAnalysis
    known_issues: list[KnownIssueSeries]
    problems: list[str] = field(default_factory=list)  # located input errors (offline mode)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["window"]["days"] = self.window.days
        for a, d in zip(self.articles, out["articles"]):
            d["uses"] = a.uses
        for s, d in zip(self.known_issues, out["known_issues"]):
            d["total"] = s.total
        return out


__all__ = [
    "Acceptance", "ArticleUsage", "Filters", "GapAnalysis", "GapCluster", "GapTicket", "Headline", "InsightsReport",
    "KnownIssueSeries", "NearestArticle", "SpikeDay", "TimePoint", "Window", "rate",
]
