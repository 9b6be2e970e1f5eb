"""The queue as text (a terminal) and as Markdown (a CI job's issue comment).

Markdown is written for GitHub/GitLab comments: a heading per owner and product, one
task-list line per article (so a reviewer ticks articles off in the issue itself) with its
tasks nested under it. Titles and lint messages are escaped: they are author text, and a
`[` or `|` in a title must not break the comment's layout.
"""

from __future__ import annotations

import re

from .model import ReviewArticle, ReviewQueue

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~@])")


def md_escape(text: str) -> str:
    """`text` shown literally in Markdown: no emphasis, links, HTML or @-mentions from it."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _summary(queue: ReviewQueue) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in queue.counts().items() if n)
    events = (f"event signals from the last {queue.event_window_days} days" if queue.events
              else "no event store: helpfulness and suggestions not checked")
    return (f"{len(queue.articles)} article(s) to review ({counts or 'nothing to do'}); "
            f"reviews due within {queue.due_within_days} days; {events}")


def format_text(queue: ReviewQueue) -> str:
    """Plain text, one block per owner/product, an article per line with its tasks indented."""
    lines = [f"Review queue for {queue.today}: {_summary(queue)}"]
    for g in queue.groups:
        lines.append("")
        lines.append(f"{g.owner} / {g.product or '(no product)'}")
        for a in g.articles:
            lines.append(f"  {a.path}  {a.title} [{a.id}]")
            for t in a.tasks:
                where = f":{t.line}" if t.code and t.line else ""
                code = f" {t.code}" if t.code else ""
                lines.append(f"    {t.kind}{code}{where}: {t.detail} -> {t.action}")
    return "\n".join(lines) + "\n"


def _md_article(a: ReviewArticle, link_base: str) -> list[str]:
    lines = [f"- [ ] [{md_escape(a.title)}]({link_base}{a.path}) (`{a.id}`)"]
    for t in a.tasks:
        where = f" ({t.code}, line {t.line})" if t.code else ""
        lines.append(f"  - **{t.kind}**{where}: {md_escape(t.detail)}. To do: {md_escape(t.action)}.")
    return lines


def format_markdown(queue: ReviewQueue, *, link_base: str = "") -> str:
    """A report to post as an issue comment. `link_base` is prefixed to each article's path
    (relative to the project root), e.g. `https://github.com/org/kb/blob/main/`; empty
    leaves relative links, which work in files committed to the repository."""
    lines = [f"## KB review queue, {queue.today}", "", _summary(queue) + "."]
    if not queue.groups:
        lines += ["", "Nothing to review. :tada:"]
    owner = None
    for g in queue.groups:
        if g.owner != owner:
            owner = g.owner
            lines += ["", f"### {md_escape(g.owner)}"]
        lines += ["", f"#### {md_escape(g.product or '(no product)')}", ""]
        for a in g.articles:
            lines += _md_article(a, link_base)
    return "\n".join(lines) + "\n"
