"""`kbtool review`: the editorial review queue support teams work through every two weeks.

    from kbtool.review import build_queue, format_markdown
    queue = build_queue(kb, config, today=date.today(), store=open_store(target))
    print(format_markdown(queue, link_base="https://github.com/org/kb/blob/main/"))

Per owner and product: reviews overdue or due soon, broken links, duplicates, consistency
findings (one `run_lint` with those rules), and, from the event store, articles readers
find unhelpful and public ones never suggested. Modules: `model` (the dataclasses),
`queue` (building it), `render` (text and Markdown).
"""

from .model import KINDS, ReviewArticle, ReviewGroup, ReviewQueue, Task
from .queue import EVENT_WINDOW_DAYS, LINT_TASKS, MIN_HELPFUL_SHARE, MIN_VOTES, build_queue
from .render import format_markdown, format_text

__all__ = [
    "EVENT_WINDOW_DAYS", "KINDS", "LINT_TASKS", "MIN_HELPFUL_SHARE", "MIN_VOTES", "ReviewArticle", "ReviewGroup",
    "ReviewQueue", "Task", "build_queue", "format_markdown", "format_text",
]
