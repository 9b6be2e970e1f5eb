"""`kbtool insights` (what the KB did to the tickets, and what it lacks) and `kbtool events prune`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import AUDIENCES, Config
from .common import UsageError, echo_json, format_option, get_config, get_kb, kb_option

if TYPE_CHECKING:
    from ..events import EventStore


def _db_option(f: Any) -> Any:
    return click.option("--db", help="Event store: a SQLite path or a postgresql:// URL. "
                                     "Default: KBTOOL_DB, else `db` in the config.")(f)


def _when(value: str | None, option: str) -> datetime | None:
    from ..insights import parse_when

    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None


def _open_existing(cfg: Config, db: str | None) -> EventStore:
    """The store, which must already exist: reading a path that is not there would create an
    empty database and report an empty KB."""
    from ..events import StoreError, is_postgres_url, open_store

    target = db or cfg.events_target()
    if not is_postgres_url(target) and not Path(target).is_file():
        raise click.ClickException(f"no event store at {target} (the API records events there; "
                                   "pass --db, set KBTOOL_DB, or run offline with --tickets FILE)")
    try:
        return open_store(target)
    except StoreError as e:
        raise click.ClickException(str(e)) from None


@click.command("insights")
@kb_option
@_db_option
@click.option("--tickets", "tickets", type=click.Path(path_type=Path, dir_okay=False),
              help="Offline: a ticket export (JSONL, or a Zendesk tickets export JSON); no events needed.")
@click.option("--since", help="Start: 30d, 12w, 48h, or an ISO date. Default: 30 days (events), all (--tickets).")
@click.option("--until", help="End (exclusive), same forms. Default: now.")
@click.option("--owner", help="Only this owner's articles (per-article sections, known-issue spikes).")
@click.option("--product", help="Only tickets and articles of this product.")
@click.option("--audience", type=click.Choice(AUDIENCES), help="Only answers given to this audience.")
@click.option("--method", type=click.Choice(["auto", "semantic", "lexical"]), default="auto", show_default=True,
              help="How content gaps are clustered (auto: by meaning when the semantic extra is installed).")
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the report as one self-contained HTML page.")
@format_option("text", "json")
def insights_cmd(kb: Path | None, db: str | None, tickets: Path | None, since: str | None, until: str | None,
                 owner: str | None, product: str | None, audience: str | None, method: str, html_file: Path | None,
                 fmt: str) -> None:
    """KB linkage, suggestion acceptance, article usage, content gaps and known-issue spikes.

    \b
    Example:
      kbtool insights --since 30d --html insights.html
      kbtool insights --tickets export.jsonl --format json
      kbtool insights --since 12w --owner billing-team --product billing
    """
    from ..events import StoreError
    from ..index import IndexProblem
    from ..insights import TicketFileError, format_text, open_engine, read_tickets, render_html, report

    cfg = get_config(kb)
    kbase = get_kb(cfg)
    start, end = _when(since, "--since"), _when(until, "--until")
    try:
        if tickets is not None:
            source = read_tickets(tickets)
            for p in source.problems:
                click.echo(f"warning: {p}", err=True)
            rep = report(source, kbase, engine=open_engine(cfg, kbase), since=start, until=end, owner=owner,
                         product=product, audience=audience, config=cfg, method=method)
        else:
            with _open_existing(cfg, db) as store:
                rep = report(store, kbase, since=start or _when("30d", "--since"), until=end, owner=owner,
                             product=product, audience=audience, config=cfg, method=method)
    except (TicketFileError, StoreError, IndexProblem) as e:
        raise click.ClickException(str(e)) from None
    except ValueError as e:
        raise UsageError(str(e)) from None
    if html_file is not None:
        html_file.write_text(render_html(rep), encoding="utf-8")
        click.echo(f"wrote {html_file}", err=True)
    if fmt == "json":
        echo_json(rep.to_dict())
    else:
        click.echo(format_text(rep), nl=False)


@click.group("events")
def events_group() -> None:
    """The event store the API records into (suggestions, feedback, deflections).

    \b
    Example:
      kbtool events prune --keep-days 365
    """


@events_group.command("prune")
@kb_option
@_db_option
@click.option("--keep-days", "keep_days", required=True, type=click.IntRange(min=0),
              help="Delete events older than this many days (a whole number >= 0; else exit 2).")
def prune_cmd(kb: Path | None, db: str | None, keep_days: int) -> None:
    """Delete events older than --keep-days days (retention).

    \b
    Example:
      kbtool events prune --keep-days 400
    """
    from ..events import StoreError

    cfg = get_config(kb)
    with _open_existing(cfg, db) as store:
        try:
            deleted = store.prune(keep_days)
        except StoreError as e:
            raise click.ClickException(str(e)) from None
    click.echo(f"pruned {deleted} events older than {keep_days} days from {store.location}")


COMMANDS = [insights_cmd, events_group]
