"""`kbtool index` and `kbtool search`: the analysts' local search."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import AUDIENCES, STATUSES, TYPES
from .common import (
    UsageError,
    echo_json,
    format_option,
    get_config,
    get_kb,
    index_dir_option,
    kb_option,
    require_extra,
    use_color,
    writable_dir,
)

# --- index / search ------------------------------------------------------------------


@click.command("index")
@kb_option
@index_dir_option
@click.option("--rebuild", is_flag=True, help="Full rebuild instead of the incremental update.")
@click.option("--semantic/--no-semantic", default=None,
              help="Embed documents for semantic matching (default: the `semantic` setting, \"auto\": "
                   "when the extra is installed).")
@click.option("--publish", type=click.Path(path_type=Path, file_okay=False), metavar="DIR", callback=writable_dir,
              help="Then copy the build to DIR (a shared index directory that replicas open) and switch "
                   "DIR/current to it atomically.")
def index_cmd(kb: Path | None, index_dir: Path | None, rebuild: bool, semantic: bool | None,
              publish: Path | None) -> None:
    """Build or update the search index (incremental by content hash).

    With the `semantic` extra installed, documents are also embedded (only new or
    changed ones on an incremental update) for `kbtool suggest` and `search --semantic`.

    \b
    Example:
      kbtool index            # only changed, added or removed files
      kbtool index --rebuild  # from scratch, swapped in atomically
      kbtool index --publish /srv/kbtool/index   # and publish the build for the API replicas
    """
    require_extra("search", "index")
    from ..index import Index, IndexProblem, update_index
    from ..progress import ProgressLine

    cfg = get_config(kb, index_dir)
    if semantic is not None:
        cfg.semantic = semantic
    if not cfg.kb.is_dir():
        get_kb(cfg)  # raises the "KB directory not found" usage error
    try:  # without kb=: an incremental update parses only the changed files
        with ProgressLine() as line:  # each phase labelled, none sitting silently at 100%
            report = update_index(cfg, rebuild=rebuild, progress=line.phase("indexing", then="committing segments"),
                                  commit_progress=line.phase("committing", "postings", then="finishing"),
                                  embed_progress=line.phase("embedding", "texts"))
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None
    for rel in report.skipped:
        click.echo(f"warning: {rel} has errors and was not indexed (run `kbtool lint`)", err=True)
    click.echo(report.summary())
    if report.semantic_note:
        asked = semantic is True or cfg.semantic is True
        click.echo(f"semantic: {report.semantic_note}", err=asked and not report.embedded)
    if publish is not None:
        try:
            click.echo(f"published {Index.for_config(cfg).publish(publish.resolve())}")
        except IndexProblem as e:
            raise click.ClickException(str(e)) from None


@click.command("search")
@kb_option
@click.argument("query")
@index_dir_option
@click.option("--type", "type_", type=click.Choice(TYPES), help="Only this type.")
@click.option("--status", type=click.Choice(STATUSES), multiple=True, help="Status (repeatable). Default: published, in-review.")
@click.option("--audience", type=click.Choice(AUDIENCES), help="Only this audience.")
@click.option("--product", help="Only this product.")
@click.option("--tag", help="Only this tag.")
@click.option("--all", "all_", is_flag=True, help="Every status, retired and drafts included.")
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--no-update", is_flag=True, help="Do not refresh a stale index first.")
@click.option("--semantic", is_flag=True, help="Rank by meaning with the embedding model (the `semantic` extra).")
@format_option("text", "json")
def search_cmd(kb: Path | None, query: str, index_dir: Path | None, type_: str | None, status: tuple[str, ...],
               audience: str | None, product: str | None, tag: str | None, all_: bool, limit: int,
               no_update: bool, semantic: bool, fmt: str) -> None:
    """Search articles and runbooks (Whoosh query syntax: "phrases", AND/OR/NOT, field:value, wild*).

    \b
    Example:
      kbtool search "SAML-403"
      kbtool search 'webhook AND timeout' --type runbook
      kbtool search "title:invoice" --status draft --format json
      kbtool search --semantic "customers cannot get in after we changed identity provider"
    """
    require_extra("search", "search")
    from ..index import DEFAULT_STATUSES, Filters, IndexProblem, search

    cfg = get_config(kb, index_dir)
    statuses = None if all_ else (tuple(status) or DEFAULT_STATUSES)
    filters = Filters(type=type_, status=statuses, audience=audience, product=product, tag=tag, include_retired=all_)
    color = fmt == "text" and use_color(sys.stdout)
    try:
        result = search(cfg, query, filters, limit, auto_update=not no_update, markup="ansi" if color else "**",
                        semantic=semantic)
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None
    except ValueError as e:
        raise UsageError(f"bad query: {e}") from None
    if result.updated:
        click.echo(f"KB changed since the index was built; {result.updated.summary()}", err=True)
    elif result.stale:
        click.echo("warning: the KB changed since the index was built (run `kbtool index`)", err=True)
    if fmt == "json":
        echo_json({"query": query, "total": result.total, "did_you_mean": result.did_you_mean,
                   "semantic": semantic, "hits": [h.to_dict() for h in result.hits]})
        return
    for rank, h in enumerate(result.hits, 1):
        retired = f"  (retired, see {h.replaced_by})" if h.status == "retired" and h.replaced_by else ""
        click.echo(f"{rank:>2}. {h.id}  [{h.type}, {h.status}, {h.audience}]  {h.title}{retired}")
        click.echo(f"    {h.path}")
        if h.fragment:
            click.echo(f"    {h.fragment}")
    if not result.hits:
        click.echo("no results")
    if result.did_you_mean:
        click.echo(f"did you mean: {result.did_you_mean}")


COMMANDS = [index_cmd, search_cmd]
