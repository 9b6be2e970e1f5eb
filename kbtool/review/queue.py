"""Build the review queue: review dates, lint findings and (optionally) event signals, per article.

Lint runs once, restricted to the rules a reviewer acts on (broken links, duplicates,
consistency); review dates come from `kbtool.lint.review_due`, the helper lint's freshness
check uses, so "overdue" here and KB301 in CI never disagree. Event signals need a store:
without one the queue says so rather than calling every article "never suggested".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ..config import Config
from ..content import KB, Article
from ..events import ArticleCounts, EventStore
from ..lint import Finding, display_path, review_due, run_lint
from .model import (
    BROKEN_LINK,
    CONSISTENCY,
    DUE_SOON,
    DUPLICATE,
    KINDS,
    LOW_HELPFULNESS,
    NEVER_SUGGESTED,
    OVERDUE,
    ReviewArticle,
    ReviewGroup,
    ReviewQueue,
    Task,
)

EVENT_WINDOW_DAYS = 90  # "never suggested" and helpfulness look at this many days before `today`
MIN_VOTES = 5  # fewer helpful/not-helpful votes than this say nothing about an article
MIN_HELPFUL_SHARE = 0.5

# lint rule -> (task kind, what to do about it)
LINT_TASKS: dict[str, tuple[str, str]] = {
    "KB401": (BROKEN_LINK, "fix the link or remove it"),
    "KB402": (BROKEN_LINK, "point the link at an existing heading"),
    "KB404": (BROKEN_LINK, "add the image or fix its path"),
    "KB501": (DUPLICATE, "merge the two articles, or make them clearly distinct"),
    "KB503": (DUPLICATE, "merge it into the article that contains it, or cut the overlap"),
    "KB801": (CONSISTENCY, "describe the error code with one message everywhere"),
    "KB802": (CONSISTENCY, "add the code to error_codes (kbtool lint --fix does it)"),
    "KB803": (CONSISTENCY, "retire or archive the fixed known issue"),
}
_CONSISTENCY_ACTION = "make the articles agree"  # a KB8xx rule added after this table


def build_queue(kb: KB, config: Config, *, today: date, store: EventStore | None = None,
                due_within_days: int = 30, owner: str | None = None,
                product: str | None = None) -> ReviewQueue:
    """The review queue on `today`: articles overdue or due within `due_within_days`, with
    broken links, duplicates or consistency findings, and (with `store`) low helpfulness or
    no suggestion in the last 90 days. `owner`/`product` keep only those articles.
    Reading the store raises `kbtool.events.StoreError`."""
    if due_within_days < 0:
        raise ValueError(f"due_within_days: expected a number of days >= 0, got {due_within_days}")
    tasks: dict[Path, list[Task]] = {}  # by file: two files with one id are two articles to fix
    articles = [a for a in kb.articles if (owner is None or a.owner == owner)
                and (product is None or a.product == product)]
    for a in articles:
        if (task := _review_task(a, config, today, due_within_days)) is not None:
            tasks.setdefault(a.path, []).append(task)
    for a, f in _findings(kb, config, today, articles):
        kind, action = LINT_TASKS.get(f.code, (CONSISTENCY, _CONSISTENCY_ACTION))
        tasks.setdefault(a.path, []).append(Task(kind, f.message, action, f.code, f.line))
    if store is not None:
        counts = store.article_counts(*_window(today))
        for a in articles:
            tasks.setdefault(a.path, []).extend(_event_tasks(a, counts.get(a.id)))
    queue = ReviewQueue(today, due_within_days, store is not None, EVENT_WINDOW_DAYS)
    queue.groups = _group(articles, tasks, config)
    return queue


def _review_task(a: Article, config: Config, today: date, within: int) -> Task | None:
    due = review_due(a, config.review_every)
    if due is None:
        return None
    if due < today:
        days = (today - due).days
        return Task(OVERDUE, f"review was due {due} ({days} day(s) ago)",
                    "review it and set last_reviewed", line=a.line_of("last_reviewed"))
    if (due - today).days <= within:
        return Task(DUE_SOON, f"review due {due} (in {(due - today).days} day(s))",
                    "review it and set last_reviewed", line=a.line_of("last_reviewed"))
    return None


def _findings(kb: KB, config: Config, today: date, articles: Iterable[Article]) -> list[tuple[Article, Finding]]:
    """The review rules' findings on `articles` (lint sees the whole KB: links and
    duplicates are cross-file), in file and line order."""
    wanted = {a.path: a for a in articles}
    result = run_lint(kb, config, today=today, select=[*LINT_TASKS, "KB8"])
    out = [(wanted[f.path], f) for f in result.findings if f.path in wanted]
    return sorted(out, key=lambda p: (p[1].rel_path, p[1].line, p[1].code))


def _window(today: date) -> tuple[datetime, datetime]:
    """[today - 90 days, end of today) in UTC: `today` itself counts."""
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    return end - timedelta(days=EVENT_WINDOW_DAYS + 1), end


def _event_tasks(a: Article, c: ArticleCounts | None) -> list[Task]:
    """Low helpfulness (any article readers or agents vote on) and never suggested
    (public, published articles only: internal ones are not offered to customers)."""
    out = []
    votes = (c.helpful + c.not_helpful) if c else 0
    if c is not None and votes >= MIN_VOTES and c.helpful / votes < MIN_HELPFUL_SHARE:
        out.append(Task(LOW_HELPFULNESS, f"{c.helpful} of {votes} votes helpful "
                        f"({c.helpful / votes:.0%}) in the last {EVENT_WINDOW_DAYS} days",
                        "rewrite what readers came for, or retire it"))
    if a.is_public and (c is None or c.suggested == 0):
        out.append(Task(NEVER_SUGGESTED, f"not suggested for any ticket in the last {EVENT_WINDOW_DAYS} days",
                        "check its title, summary, error_codes and aliases match how customers ask, "
                        "or retire it"))
    return out


def _group(articles: list[Article], tasks: dict[Path, list[Task]], config: Config) -> list[ReviewGroup]:
    """Articles with tasks, grouped by (owner, product), tasks in `KINDS` order."""
    groups: dict[tuple[str, str], ReviewGroup] = {}
    order = {k: i for i, k in enumerate(KINDS)}
    for a in articles:
        found = tasks.get(a.path)
        if not found:
            continue
        owner = a.owner or "(no owner)"
        group = groups.setdefault((owner, a.product or ""), ReviewGroup(owner, a.product))
        group.articles.append(ReviewArticle(
            a.id, a.title, display_path(a.path, config.root), owner, a.product,
            review_due(a, config.review_every), sorted(found, key=lambda t: (order[t.kind], t.line))))
    for g in groups.values():
        g.articles.sort(key=lambda r: (min(order[t.kind] for t in r.tasks), r.path))
    return [groups[k] for k in sorted(groups)]
