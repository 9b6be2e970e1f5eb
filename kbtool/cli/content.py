"""`kbtool list`, `kbtool new` and `kbtool import`: the KB's files."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import AUDIENCES, DEFAULT_SECTIONS, STATUSES, TYPES, Config
from .common import (
    UsageError,
    echo_json,
    format_option,
    get_config,
    get_kb,
    kb_option,
    parse_day,
    require_extra,
    style,
    writable_dir,
)

if TYPE_CHECKING:
    from ..content import Article

# --- list / new -------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    """`kbtool list`'s filters; None means "any"."""

    type: str | None = None
    status: str | None = None
    audience: str | None = None
    tag: str | None = None
    owner: str | None = None
    product: str | None = None
    due: int | None = None
    today: date | None = None


def _counts(rows: list[Article]) -> str:
    """'3 articles, 1 runbook': runbooks are not articles to the people who read this line."""
    runbooks = sum(1 for a in rows if a.type == "runbook")
    articles = len(rows) - runbooks

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return f"{n(articles, 'article')}, {n(runbooks, 'runbook')}"


def _filter(rows: list[Article], cfg: Config, f: ListFilters) -> list[Article]:
    """The rows matching every given filter; `--due N` uses lint's review dates (KB301/KB302)."""
    from ..lint import review_due

    horizon = (f.today or date.today()) + timedelta(days=f.due) if f.due is not None else None

    def due_ok(a: Article) -> bool:
        if horizon is None:
            return True
        due = review_due(a, cfg.review_every)
        return due is not None and due <= horizon

    return [
        a for a in rows
        if (f.type is None or a.type == f.type) and (f.status is None or a.status == f.status)
        and (f.audience is None or a.audience == f.audience) and (f.tag is None or f.tag in a.tags)
        and (f.owner is None or a.owner == f.owner) and (f.product is None or a.product == f.product)
        and due_ok(a)
    ]


@click.command("list")
@kb_option
@click.option("--type", "type_", type=click.Choice(TYPES), help="Only this type.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option("--audience", type=click.Choice(AUDIENCES), help="Only this audience.")
@click.option("--tag", help="Only articles carrying this tag.")
@click.option("--owner", help="Only this owning team.")
@click.option("--product", help="Only this product.")
@click.option("--due", type=click.IntRange(min=0), metavar="DAYS",
              help="Only published articles whose review is overdue or due within DAYS days (as `kbtool lint`).")
@click.option("--today", metavar="YYYY-MM-DD", help="Take this date as today (for --due).")
@format_option("text", "json")
def list_cmd(kb: Path | None, type_: str | None, status: str | None, audience: str | None, tag: str | None,
             owner: str | None, product: str | None, due: int | None, today: str | None, fmt: str) -> None:
    """List the KB's articles and runbooks as a table or JSON.

    \b
    Example:
      kbtool list --type runbook
      kbtool list --status draft --format json
      kbtool list --owner identity-team --due 30   # reviews overdue or due within 30 days
    """
    cfg = get_config(kb)
    filters = ListFilters(type=type_, status=status, audience=audience, tag=tag, owner=owner, product=product,
                          due=due, today=parse_day(today))
    rows = _filter(get_kb(cfg).articles, cfg, filters)
    if fmt == "json":
        echo_json([a.to_dict() for a in rows])
        return
    header = ("ID", "TYPE", "STATUS", "AUDIENCE", "OWNER", "REVIEWED", "PATH")
    table = [header] + [
        (a.id, a.type, a.status, a.audience, a.owner, a.last_reviewed.isoformat() if a.last_reviewed else "-", a.rel_path)
        for a in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        line = "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
        click.echo(style(line, sys.stdout, bold=True) if i == 0 else line)
    click.echo(_counts(rows), err=True)


def _new_help() -> str:
    """`kbtool new`'s help: the types and the sections each is scaffolded with (click lists
    an argument's choices only in its error message, so the help says them)."""
    width = max(map(len, TYPES))
    types = "\n".join(f"  {t:<{width}}  {', '.join(DEFAULT_SECTIONS[t]) or '(free form)'}" for t in TYPES)
    return ("Scaffold a new article or runbook (as a draft) with every required field and section.\n\n"
            "TYPE is one of (with its required sections; runbooks go to runbooks/, the rest to articles/):\n\n"
            f"\b\n{types}\n\n"
            "\b\nExample:\n  kbtool new troubleshooting --title \"Export fails with EXPORT-504\"")


@click.command("new", help=_new_help())
@kb_option
@click.argument("type_", metavar="TYPE", type=click.Choice(TYPES))
@click.option("--title", required=True, help="The article's title; its id is derived from it.")
@click.option("--owner", default="support", show_default=True, help="Owning team.")
def new_cmd(kb: Path | None, type_: str, title: str, owner: str) -> None:
    from ..scaffold import ScaffoldError, new_article

    cfg = get_config(kb)
    try:
        path = new_article(cfg, type_, title, owner=owner)
    except ScaffoldError as e:
        raise UsageError(str(e)) from None
    click.echo(f"created {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


# --- commands added by later modules go below ---------------------------------------


# --- import ---------------------------------------------------------------------------


@click.group("import")
def import_group() -> None:
    """Import an existing knowledge base into a KB folder (DEST/articles/<id>.md).

    Never overwrites an existing file without --force. Prints every file skipped (with
    the reason) and every construct that could not be converted; --report writes the
    full report (every file imported, source problems, old URLs to redirect) as JSON.

    \b
    Example:
      kbtool import docfx ../officedocs-support imported-kb && kbtool lint --kb imported-kb
      kbtool import zendesk help-center-articles.json kb --report import-report.json
    """


def _import_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--force", is_flag=True, help="Overwrite files that already exist in DEST."),
        click.option("--owner", default="support", show_default=True, help="Owner when the source names none."),
        click.option("--report", "report_file", type=click.Path(path_type=Path, dir_okay=False),
                     help="Also write the full report (every file) to this JSON file."),
        click.option("-v", "--verbose", is_flag=True, help="List every imported file, source problem and redirect."),
        format_option("text", "json"),
    ]):
        f = opt(f)
    return f


def _finish_import(report: Any, report_file: Path | None, verbose: bool, fmt: str) -> None:
    from collections import Counter

    if report_file:
        report_file.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if fmt == "json":
        echo_json(report.to_dict())
    else:
        for i in report.imported if verbose else []:
            click.echo(f"imported {i.source} -> {i.path} ({i.type}, {i.status}, {i.audience})")
            for note in i.notes:
                click.echo(f"  note: {note}")
        for s in report.skipped:
            click.echo(f"skipped {s.source}: {s.reason}")
        for t in report.translations:
            click.echo(f"translation set aside {t.source} ({t.locale}){f' of {t.original}' if t.original else ''}")
        for u in report.unconverted:
            click.echo(f"not converted {u.source}{f':{u.line}' if u.line else ''}: {u.detail}")
        for p in report.problems if verbose else []:
            click.echo(f"source problem {p.source}{f':{p.line}' if p.line else ''}: {p.detail}")
        for r in report.redirects if verbose else []:
            click.echo(f"redirect {r.old_url} -> {r.path}")
        if report.problems and not verbose:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(Counter(p.kind for p in report.problems).items()))
            click.echo(f"source problems carried over ({kinds}): -v or --report lists them; `kbtool lint` reports them too")
        if report.redirects and not verbose:
            click.echo(f"{len(report.redirects)} old URL(s) to redirect to the new pages: -v or --report lists them")
        click.echo(report.summary())
    if report.conflicts:
        click.echo(f"{len(report.conflicts)} file(s) already exist in {report.dest} and were not overwritten "
                   "(use --force to overwrite)", err=True)
        sys.exit(1)


@import_group.command("docfx")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), callback=writable_dir)
@click.option("--base-url", default="https://learn.microsoft.com", show_default=True,
              help="Prefix for site-root links such as /office/...; '' keeps them as they are.")
@_import_options
def import_docfx_cmd(src: Path, dest: Path, base_url: str, force: bool, owner: str, report_file: Path | None,
                     verbose: bool, fmt: str) -> None:
    """Import a DocFX (Microsoft Docs style) Markdown tree from SRC into the KB folder DEST.

    Files with front-matter become articles; includes are inlined where used. Alerts become
    admonitions, :::image::: becomes Markdown images, .md links point at the new files.

    \b
    Example:
      kbtool import docfx ../shared/data/officedocs-support /tmp/officedocs-kb
    """
    from ..importers import ImportProblem, import_docfx
    from ..progress import terminal_progress

    cfg = get_config(None)
    try:
        report = import_docfx(src, dest, force=force, progress=terminal_progress("importing"), owner=owner,
                              base_url=base_url or None, sections=cfg.sections, review_every=cfg.review_every)
    except ImportProblem as e:
        raise UsageError(str(e)) from None
    _finish_import(report, report_file, verbose, fmt)


@import_group.command("zendesk")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), callback=writable_dir)
@_import_options
def import_zendesk_cmd(export: Path, dest: Path, force: bool, owner: str, report_file: Path | None,
                       verbose: bool, fmt: str) -> None:
    """Import a Zendesk Help Center articles export (JSON) into the KB folder DEST.

    Drafts stay drafts, articles limited to a user segment become internal, labels become
    tags. Each old URL goes to the `legacy_urls` front-matter key, so the help center redirects it.

    \b
    Example:
      kbtool import zendesk help-center-articles.json kb --report import-report.json
    """
    require_extra("import", "import zendesk")
    from ..importers import ImportProblem, import_zendesk
    from ..progress import terminal_progress

    cfg = get_config(None)
    try:
        report = import_zendesk(export, dest, force=force, progress=terminal_progress("importing"), owner=owner,
                                sections=cfg.sections, review_every=cfg.review_every)
    except ImportProblem as e:
        raise UsageError(str(e)) from None
    _finish_import(report, report_file, verbose, fmt)


COMMANDS = [list_cmd, new_cmd, import_group]
