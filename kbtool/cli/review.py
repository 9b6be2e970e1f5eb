"""`kbtool review`: the editorial review queue (per owner and product), as text, JSON or Markdown."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import Config
from .common import UsageError, format_option, get_config, get_kb, kb_option, parse_day, path_error

if TYPE_CHECKING:
    from ..events import EventStore
    from ..review import ReviewQueue


def _store(cfg: Config, db: str | None) -> EventStore | None:
    """The event store to read: `--db` must exist (an empty new file would call every
    article "never suggested"); the default is used only when it exists, else no events."""
    from ..events import StoreError, is_postgres_url, open_store

    target = db if db is not None else cfg.events_target()
    is_url = is_postgres_url(target)
    if not is_url and not Path(target).is_file():
        if db is not None:
            raise UsageError(f"--db: no event store at {target}")
        return None
    try:
        return open_store(target)
    except StoreError as e:
        if db is not None:
            raise UsageError(f"--db: {e}") from None
        click.echo(f"warning: event store not read ({e}); helpfulness and suggestions not checked", err=True)
        return None


def _link_base(value: str | None, root: Path) -> str:
    """`--link-base`, else on GitHub Actions this commit's file URLs (article paths are
    relative to the project root, which may be a folder of the repository), else relative."""
    if value is not None:
        return value if not value or value.endswith("/") else value + "/"
    env = os.environ
    server, repo, sha = (env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if not (server and repo and sha):
        return ""
    sub = os.path.relpath(root, env["GITHUB_WORKSPACE"]) if env.get("GITHUB_WORKSPACE") else "."
    sub = "" if sub == "." or sub.startswith("..") else Path(sub).as_posix() + "/"
    return f"{server}/{repo}/blob/{sha}/{sub}"


@click.command("review")
@kb_option
@click.option("--owner", help="Only this owner's articles.")
@click.option("--product", help="Only this product's articles.")
@click.option("--today", metavar="YYYY-MM-DD", help="Review as of this day. Default: today.")
@click.option("--due-within", "due_within", type=click.IntRange(min=0), default=30, show_default=True,
              metavar="DAYS", help="Also list reviews due within this many days.")
@click.option("--db", help="Event store (SQLite path or postgresql:// URL) for helpfulness and suggestions. "
                           "Default: KBTOOL_DB, else `db` in the config, when it exists; else no event signals.")
@click.option("--link-base", "link_base", metavar="URL",
              help="Markdown: prefix for article links, e.g. https://github.com/org/kb/blob/main/ "
                   "(default on GitHub Actions: this commit's files; else relative links).")
@format_option("text", "json", "markdown")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file instead of standard output.")
def review_cmd(kb: Path | None, owner: str | None, product: str | None, today: str | None, due_within: int,
               db: str | None, link_base: str | None, fmt: str, output: Path | None) -> None:
    """The editorial review queue, per owner and product: reviews overdue or due soon,
    broken links, duplicates, consistency findings and, with an event store, articles with
    low helpfulness or never suggested in 90 days. Exits 0 whatever it finds (it is a
    to-do list; `kbtool lint` is the gate).

    \b
    Example:
      kbtool review
      kbtool review --owner billing-team --due-within 14
      kbtool review --format markdown -o review.md   # post as a CI job's issue comment
    """
    from datetime import date

    from ..events import StoreError
    from ..review import build_queue

    cfg = get_config(kb)
    kbase = get_kb(cfg)
    day = parse_day(today) or date.today()
    store = _store(cfg, db)
    try:
        with store if store is not None else nullcontext():
            queue = build_queue(kbase, cfg, today=day, store=store, due_within_days=due_within, owner=owner,
                                product=product)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    _emit(queue, fmt, _link_base(link_base, cfg.root), output)


def _emit(queue: ReviewQueue, fmt: str, link_base: str, output: Path | None) -> None:
    from ..review import format_markdown, format_text

    if fmt == "json":
        import json

        text = json.dumps(queue.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = format_markdown(queue, link_base=link_base) if fmt == "markdown" else format_text(queue)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise path_error(e) from None
    click.echo(f"wrote {output}", err=True)


COMMANDS = [review_cmd]
