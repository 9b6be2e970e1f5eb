"""The `kbtool` command line: thin click wrappers over the library functions.

Each command parses options, calls one documented function of the core modules and
formats its result. Exit codes follow ruff/Vale: 0 clean, 1 findings or failure,
2 usage or configuration error.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import AUDIENCES, STATUSES, TYPES, Config, ConfigError, load_config
from .content import KB, load_kb


class UsageError(click.ClickException):
    exit_code = 2


def get_config(kb: Path | None) -> Config:
    try:
        cfg = load_config(kb=kb)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    return cfg


def get_kb(cfg: Config) -> KB:
    if not cfg.kb.is_dir():
        raise UsageError(f"KB directory not found: {cfg.kb} (pass --kb DIR or set kb in [tool.kbtool])")
    return load_kb(cfg.kb, cfg)


def kb_option(f: Any) -> Any:
    return click.option(
        "--kb", "kb", type=click.Path(path_type=Path, file_okay=False),
        help="KB directory (holds articles/ and runbooks/). Default: from config, else ./kb.",
    )(f)


def format_option(*choices: str) -> Any:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True,
                        help="Output format.")


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today: expected YYYY-MM-DD, got {value!r}") from None


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kbtool")
def main() -> None:
    """kbtool: a docs-as-code knowledge base for support teams.

    Markdown articles and runbooks with YAML front-matter, in git. Lint them in CI,
    search them from the terminal, suggest them for tickets, publish the public ones
    as a help center.

    \b
    Example:
      kbtool lint && kbtool index && kbtool search "SAML-403"
    """


# --- list / new -------------------------------------------------------------------


@main.command("list")
@kb_option
@click.option("--type", "type_", type=click.Choice(TYPES), help="Only this article type.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option("--audience", type=click.Choice(AUDIENCES), help="Only this audience.")
@click.option("--tag", help="Only articles carrying this tag.")
@format_option("text", "json")
def list_cmd(kb: Path | None, type_: str | None, status: str | None, audience: str | None, tag: str | None, fmt: str) -> None:
    """List the KB's articles and runbooks as a table or JSON.

    \b
    Example:
      kbtool list --type runbook
      kbtool list --status draft --format json
    """
    cfg = get_config(kb)
    rows = [
        a for a in get_kb(cfg).articles
        if (type_ is None or a.type == type_) and (status is None or a.status == status)
        and (audience is None or a.audience == audience) and (tag is None or tag in a.tags)
    ]
    if fmt == "json":
        echo_json([a.to_dict() for a in rows])
        return
    header = ("ID", "TYPE", "STATUS", "AUDIENCE", "OWNER", "REVIEWED", "PATH")
    table = [header] + [
        (a.id, a.type, a.status, a.audience, a.owner, a.last_reviewed.isoformat() if a.last_reviewed else "-", a.rel_path)
        for a in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    click.echo(f"{len(rows)} article(s)", err=True)


@main.command("new")
@kb_option
@click.argument("type_", metavar="TYPE", type=click.Choice(TYPES))
@click.option("--title", required=True, help="The article's title; its id is derived from it.")
@click.option("--owner", default="support", show_default=True, help="Owning team.")
def new_cmd(kb: Path | None, type_: str, title: str, owner: str) -> None:
    """Scaffold a new article or runbook with every required field and section.

    \b
    Example:
      kbtool new troubleshooting --title "Export fails with EXPORT-504"
    """
    from .scaffold import ScaffoldError, new_article

    cfg = get_config(kb)
    try:
        path = new_article(cfg, type_, title, owner=owner)
    except ScaffoldError as e:
        raise UsageError(str(e)) from None
    click.echo(f"created {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


# --- commands added by later modules go below ---------------------------------------


# --- suggest / eval / serve -----------------------------------------------------------


def _engine(cfg: Config) -> Any:
    """The suggest engine over the configured index, refreshed first if the KB changed."""
    from .index import Index, IndexProblem, update_index
    from .suggest import EngineHolder

    idx = Index.for_config(cfg)
    try:
        if not idx.exists() or idx.is_stale(cfg.kb):
            report = update_index(cfg, kb=get_kb(cfg))
            click.echo(report.summary(), err=True)
        return EngineHolder(cfg).get()
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None


def _print_suggestions(result: Any) -> None:
    if not result.suggestions:
        click.echo(f"no suggestions: {result.reason}")
        return
    for rank, s in enumerate(result.suggestions, 1):
        click.echo(f"{rank}. {s.id}  {s.title}  [{s.confidence}, score {s.score}]")
        click.echo(f"   {s.url}")
        evidence = []
        if s.why.get("error_codes"):
            evidence.append("codes: " + ", ".join(s.why["error_codes"]))
        for fld, terms in s.why.get("terms", {}).items():
            evidence.append(f"{fld}: " + ", ".join(terms[:6]))
        if s.why.get("replaces"):
            evidence.append(f"replaces retired {s.why['replaces']}")
        click.echo("   why: " + "; ".join(evidence))
        click.echo(f"   {s.snippet}")


@main.command("suggest")
@kb_option
@click.option("--subject", help="Ticket subject.")
@click.option("--body", default="", help="Ticket body (plain text or HTML).")
@click.option("--product", help="Ticket's product, if known (boosts matching articles).")
@click.option("--audience", type=click.Choice(AUDIENCES), default="public", show_default=True,
              help="Who will see the suggestions; 'internal' includes internal articles and runbooks.")
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--batch", type=click.File("r"), help="JSONL file of tickets ('-' for stdin); one JSON line out per line in.")
@format_option("text", "json")
def suggest_cmd(kb: Path | None, subject: str | None, body: str, product: str | None, audience: str, limit: int,
                batch: Any, fmt: str) -> None:
    """Suggest articles for a ticket, with the evidence for each.

    Without --subject, reads one JSON ticket ({"subject", "body", ...}) from stdin.

    \b
    Example:
      kbtool suggest --subject "SSO login fails with SAML-403"
      echo '{"subject": "webhooks stopped", "body": "timeouts since 9am"}' | kbtool suggest --format json
      kbtool suggest --batch tickets.jsonl > suggestions.jsonl
    """
    from .suggest import Ticket

    cfg = get_config(kb)
    engine = _engine(cfg)

    def ticket_of(obj: Any, where: str) -> Ticket:
        if not isinstance(obj, dict) or not isinstance(obj.get("subject", ""), str) or not isinstance(obj.get("body", ""), str):
            raise UsageError(f"{where}: a ticket is a JSON object with string 'subject' and 'body'")
        return Ticket(obj.get("subject", ""), obj.get("body", ""), obj.get("product") or product,
                      obj.get("audience", audience) if obj.get("audience") in AUDIENCES else audience,
                      int(obj.get("limit", limit)) if isinstance(obj.get("limit", limit), int) else limit)

    if batch is not None:
        for n, line in enumerate(batch, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"line {n}: invalid JSON: {e.msg}") from None
            out = engine.suggest(ticket_of(obj, f"line {n}")).to_dict()
            if isinstance(obj, dict) and "id" in obj:
                out = {"id": obj["id"], **out}
            click.echo(json.dumps(out, ensure_ascii=False))
        return
    if subject is None:
        if sys.stdin.isatty():
            raise UsageError("give --subject (and --body), or a JSON ticket on stdin")
        try:
            obj = json.loads(sys.stdin.read())
        except json.JSONDecodeError as e:
            raise UsageError(f"stdin: invalid JSON: {e.msg}") from None
        ticket = ticket_of(obj, "stdin")
    else:
        ticket = Ticket(subject, body, product, audience, limit)
    result = engine.suggest(ticket)
    if fmt == "json":
        echo_json(result.to_dict())
    else:
        _print_suggestions(result)


@main.command("eval")
@kb_option
@click.argument("golden", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True)
@click.option("--min-p1", type=float, help="Fail (exit 1) if P@1 is below this.")
@click.option("--min-mrr", type=float, help="Fail (exit 1) if MRR is below this.")
@click.option("--min-recall5", type=float, help="Fail (exit 1) if Recall@5 is below this.")
@click.option("--show-misses", type=int, default=10, show_default=True, help="How many misses to list (text).")
@format_option("text", "json")
def eval_cmd(kb: Path | None, golden: Path, audience: str, min_p1: float | None, min_mrr: float | None,
             min_recall5: float | None, show_misses: int, fmt: str) -> None:
    """Score suggestions against a golden set of tickets (JSONL: id, subject, body, expected).

    \b
    Example:
      kbtool eval kb/golden.jsonl --min-mrr 0.8
      kbtool eval ../shared/data/stackfaq/dev.jsonl --kb ../shared/data/stackfaq/kb --format json
    """
    from .suggest import evaluate, read_golden

    cfg = get_config(kb)
    try:
        cases = read_golden(golden)
    except ValueError as e:
        raise UsageError(str(e)) from None
    report = evaluate(_engine(cfg), cases, audience)
    m = report.metrics()
    failed = [name for name, floor, value in (("p@1", min_p1, report.p_at_1), ("mrr", min_mrr, report.mrr),
                                              ("recall@5", min_recall5, report.recall_at_5))
              if floor is not None and value < floor]
    if fmt == "json":
        click.echo(json.dumps({**m, "misses": report.misses, "failed": failed}, ensure_ascii=False))
    else:
        for miss in report.misses[:show_misses]:
            click.echo(f"miss {miss['id']}: expected {', '.join(miss['expected'])}, got {', '.join(miss['got']) or '-'}"
                       f" (rank {miss['rank'] or '>10'})  {miss['subject']}")
        click.echo(f"{m['n']} tickets  P@1 {m['p@1']:.3f}  MRR {m['mrr']:.3f}  Recall@5 {m['recall@5']:.3f}  "
                   f"nDCG@5 {m['ndcg@5']:.3f}  semantic {str(m['semantic']).lower()}")
        if failed:
            click.echo("below threshold: " + ", ".join(failed))
    if failed:
        sys.exit(1)


@main.command("serve")
@kb_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
def serve_cmd(kb: Path | None, host: str, port: int, workers: int) -> None:
    """Serve the suggest HTTP API (FastAPI on uvicorn). Set KBTOOL_API_TOKEN to require a bearer token.

    \b
    Example:
      kbtool serve --port 8000 --workers 2
      curl -s localhost:8000/v1/suggest -H 'content-type: application/json' -d '{"subject": "SAML-403"}'
    """
    import os

    import uvicorn

    cfg = get_config(kb)
    _engine(cfg)  # build or refresh the index before the workers start
    os.environ["KBTOOL_KB"] = str(cfg.kb)
    os.environ["KBTOOL_INDEX_DIR"] = str(cfg.index_dir)
    os.environ["KBTOOL_SITE_URL"] = cfg.site_url
    uvicorn.run("kbtool.api:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="info", server_header=False)


# --- index / search ------------------------------------------------------------------


@main.command("index")
@kb_option
@click.option("--index-dir", type=click.Path(path_type=Path, file_okay=False), help="Index directory (default .kbtool/index).")
@click.option("--rebuild", is_flag=True, help="Full rebuild instead of the incremental update.")
def index_cmd(kb: Path | None, index_dir: Path | None, rebuild: bool) -> None:
    """Build or update the search index (incremental by content hash).

    \b
    Example:
      kbtool index            # only changed, added or removed files
      kbtool index --rebuild  # from scratch, swapped in atomically
    """
    from .index import IndexProblem, terminal_progress, update_index

    cfg = get_config(kb)
    if index_dir:
        cfg.index_dir = index_dir.resolve()
    kbase = get_kb(cfg)
    try:
        report = update_index(cfg, rebuild=rebuild, progress=terminal_progress(), kb=kbase)
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None
    for rel in report.skipped:
        click.echo(f"warning: {rel} has errors and was not indexed (run `kbtool lint`)", err=True)
    click.echo(report.summary())


@main.command("search")
@kb_option
@click.argument("query")
@click.option("--index-dir", type=click.Path(path_type=Path, file_okay=False), help="Index directory.")
@click.option("--type", "type_", type=click.Choice(TYPES), help="Only this type.")
@click.option("--status", type=click.Choice(STATUSES), multiple=True, help="Status (repeatable). Default: published, in-review.")
@click.option("--audience", type=click.Choice(AUDIENCES), help="Only this audience.")
@click.option("--product", help="Only this product.")
@click.option("--tag", help="Only this tag.")
@click.option("--all", "all_", is_flag=True, help="Every status, retired and drafts included.")
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--no-update", is_flag=True, help="Do not refresh a stale index first.")
@format_option("text", "json")
def search_cmd(kb: Path | None, query: str, index_dir: Path | None, type_: str | None, status: tuple[str, ...],
               audience: str | None, product: str | None, tag: str | None, all_: bool, limit: int,
               no_update: bool, fmt: str) -> None:
    """Search articles and runbooks (Whoosh query syntax: "phrases", AND/OR/NOT, field:value, wild*).

    \b
    Example:
      kbtool search "SAML-403"
      kbtool search 'webhook AND timeout' --type runbook
      kbtool search "title:invoice" --status draft --format json
    """
    from .index import DEFAULT_STATUSES, Filters, IndexProblem, search

    cfg = get_config(kb)
    if index_dir:
        cfg.index_dir = index_dir.resolve()
    statuses = None if all_ else (tuple(status) or DEFAULT_STATUSES)
    filters = Filters(type=type_, status=statuses, audience=audience, product=product, tag=tag, include_retired=all_)
    tty = sys.stdout.isatty() and fmt == "text"
    try:
        result = search(cfg, query, filters, limit, auto_update=not no_update, markup="ansi" if tty else "**")
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
                   "hits": [h.to_dict() for h in result.hits]})
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
