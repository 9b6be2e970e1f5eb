"""The review queue as plain dataclasses: what the CLI renders and what JSON consumers get.

One `ReviewArticle` per article that needs attention, carrying every `Task` found for it,
so a reviewer sees "this article: overdue, and a broken link" on one line rather than the
same article scattered over sections. Articles are grouped per (owner, product): that is
how support teams split the biweekly review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Task kinds, in the order a reviewer should act on them (broken things first).
BROKEN_LINK = "broken-link"
CONSISTENCY = "consistency"
OVERDUE = "overdue"
DUPLICATE = "duplicate"
LOW_HELPFULNESS = "low-helpfulness"
DUE_SOON = "due-soon"
NEVER_SUGGESTED = "never-suggested"
KINDS = (BROKEN_LINK, CONSISTENCY, OVERDUE, DUPLICATE, LOW_HELPFULNESS, DUE_SOON, NEVER_SUGGESTED)


@dataclass(frozen=True)
class Task:
    """One thing to do on an article: `detail` says what was found, `action` what to do.
    `code` is the lint rule behind it (empty for review dates and event signals)."""

    kind: str
    detail: str
    action: str
    code: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.code or None, "line": self.line or None,
                "detail": self.detail, "action": self.action}


@dataclass
class ReviewArticle:
    """An article with its tasks. `path` is relative to the project root (posix), so the
    Markdown report can link it from a repository URL."""

    id: str
    title: str
    path: str
    owner: str
    product: str | None
    due: date | None = None
    tasks: list[Task] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "path": self.path, "owner": self.owner,
                "product": self.product, "due": self.due.isoformat() if self.due else None,
                "tasks": [t.to_dict() for t in self.tasks]}


@dataclass
class ReviewGroup:
    """The articles one owner has to review for one product (`product` None: no product)."""

    owner: str
    product: str | None
    articles: list[ReviewArticle] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "product": self.product, "articles": [a.to_dict() for a in self.articles]}


@dataclass
class ReviewQueue:
    """The whole queue. `events` says whether event signals were checked (False: no store
    given, so "never suggested" means "not known", not "zero")."""

    today: date
    due_within_days: int
    events: bool
    event_window_days: int
    groups: list[ReviewGroup] = field(default_factory=list)

    @property
    def articles(self) -> list[ReviewArticle]:
        return [a for g in self.groups for a in g.articles]

    def counts(self) -> dict[str, int]:
        """Tasks per kind (every kind present, zero included), for summaries and JSON."""
        out = dict.fromkeys(KINDS, 0)
        for a in self.articles:
            for t in a.tasks:
                out[t.kind] += 1
        return out

    def owners(self) -> list[str]:
        return sorted({g.owner for g in self.groups})

    def to_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "due_within_days": self.due_within_days,
                "events": self.events, "event_window_days": self.event_window_days,
                "counts": self.counts(), "articles": len(self.articles),
                "groups": [g.to_dict() for g in self.groups]}
