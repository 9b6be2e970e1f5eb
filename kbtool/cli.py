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
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .config import AUDIENCES, STATUSES, TYPES, Config, ConfigError, load_config
from .content import KB, load_kb

if TYPE_CHECKING:  # (imported where used: the commands that need them load them)
    from .suggest import Engine, SuggestResult


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


# --- import ---------------------------------------------------------------------------


@main.group("import")
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
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
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
    from .importers import ImportProblem, import_docfx
    from .progress import terminal_progress

    cfg = get_config(None)
    try:
        report = import_docfx(src, dest, force=force, progress=terminal_progress("importing"), owner=owner,
                              base_url=base_url or None, sections=cfg.sections)
    except ImportProblem as e:
        raise UsageError(str(e)) from None
    _finish_import(report, report_file, verbose, fmt)


@import_group.command("zendesk")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
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
    from .importers import ImportProblem, import_zendesk
    from .progress import terminal_progress

    cfg = get_config(None)
    try:
        report = import_zendesk(export, dest, force=force, progress=terminal_progress("importing"), owner=owner,
                                sections=cfg.sections)
    except ImportProblem as e:
        raise UsageError(str(e)) from None
    _finish_import(report, report_file, verbose, fmt)


# --- lint / rule ----------------------------------------------------------------------


def _codes(value: str | None) -> list[str] | None:
    return [c for c in value.replace(" ", ",").split(",") if c] if value else None


@main.command("lint")
@kb_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@format_option("text", "json", "github", "sarif")
@click.option("--today", metavar="YYYY-MM-DD", help="Take this date as today (reproducible freshness checks).")
@click.option("--select", metavar="CODES", help="Rules to run: codes, prefixes (KB6) or names, comma-separated. Replaces config select.")
@click.option("--ignore", metavar="CODES", help="Rules to skip, comma-separated. Added to config ignore.")
@click.option("--changed", "changed_ref", metavar="REF",
              help="Only report on files changed since git REF (cross-file rules still see the whole KB).")
@click.option("--baseline", "baseline_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Record all current findings in FILE and exit 0.")
@click.option("--fix", is_flag=True, help="Apply safe autofixes (dates, tags, trailing whitespace); never touches prose.")
@click.option("--max-warnings", type=click.IntRange(min=0), metavar="N", help="Exit 1 if there are more than N warnings.")
@click.option("-o", "--output-file", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE instead of stdout.")
@click.option("--list-rules", is_flag=True, help="List every rule (code, name, severity, fix, message) and exit.")
def lint_cmd(kb: Path | None, paths: tuple[Path, ...], fmt: str, today: str | None, select: str | None,
             ignore: str | None, changed_ref: str | None, baseline_file: Path | None, write_baseline_file: Path | None,
             fix: bool, max_warnings: int | None, output_file: Path | None, list_rules: bool) -> None:
    """Check the KB: schema, structure, freshness, links, duplicates, sensitive data, style.

    Prints `path:line:col: CODE message` per finding (or JSON, GitHub annotations, SARIF).
    Exit codes: 0 no errors (warnings allowed unless --max-warnings is exceeded),
    1 errors found, 2 usage or configuration error. Silence rules for one file with
    `<!-- kbtool: disable=CODE[,CODE] -->`; `kbtool rule CODE` explains a rule.

    \b
    Examples:
      kbtool lint
      kbtool lint --today 2026-11-23 --format json
      kbtool lint --changed origin/main --format github
      kbtool lint --write-baseline .kbtool-baseline.json
      kbtool lint --baseline .kbtool-baseline.json --max-warnings 0
      kbtool lint --fix kb/articles/reset-password.md
    """
    from . import lint as L

    if list_rules:
        click.echo(L.format_rules("json" if fmt == "json" else "text"))
        return
    with L.gc_paused():  # a batch run: ~10^6 long-lived objects, few freed
        cfg = get_config(kb)
        day = parse_day(today)
        kbase = get_kb(cfg)
        for p in paths:
            if not p.resolve().is_relative_to(cfg.kb):
                raise UsageError(f"{p} is not inside the KB directory {cfg.kb}")
        try:
            changed = L.changed_files(changed_ref, cfg.kb) if changed_ref else None
            baseline = L.load_baseline(baseline_file) if baseline_file else None

            def run(k: KB) -> Any:
                return L.run_lint(k, cfg, today=day, select=_codes(select), ignore=_codes(ignore) or (),
                                  paths=list(paths) or None, changed=changed)

            raw = run(kbase)
            result = L.apply_baseline(raw, baseline) if baseline is not None else raw
            if fix:
                applied = L.fix(kbase, result)
                for a in applied:
                    click.echo(f"{L.display_path(a.path)}:{a.line}: {a.code} fixed: {a.description}", err=True)
                if applied:
                    raw = run(get_kb(cfg))
                    result = L.apply_baseline(raw, baseline) if baseline is not None else raw
                    result.fixed = applied
            if write_baseline_file:
                n = L.write_baseline(raw, write_baseline_file)
                click.echo(f"kbtool: recorded {n} finding(s) in {write_baseline_file}", err=True)
                return
            report = L.format_result(result, fmt, color=output_file is None)
        except L.LintError as e:
            raise UsageError(str(e)) from None
        if output_file:
            try:
                output_file.write_text(report + "\n", encoding="utf-8")
            except OSError as e:
                raise UsageError(f"cannot write {output_file}: {e.strerror or e}") from None
            click.echo(L.summary_line(result), err=True)
        else:
            click.echo(report)
        if result.errors:
            sys.exit(1)
        if max_warnings is not None and result.warnings > max_warnings:
            click.echo(f"kbtool: {result.warnings} warning(s), more than --max-warnings {max_warnings}", err=True)
            sys.exit(1)


@main.command("rule")
@click.argument("code")
@format_option("text", "json")
def rule_cmd(code: str, fmt: str) -> None:
    """Explain one lint rule: what it checks, why it matters, an example and the fix.

    \b
    Example:
      kbtool rule KB402
      kbtool rule broken-anchor
    """
    from .lint import format_rule_doc, get_rule, unknown_rule_message

    rule = get_rule(code)
    if rule is None:
        raise UsageError(unknown_rule_message(code))
    click.echo(format_rule_doc(rule, fmt))


# --- build / preview (help center) ---------------------------------------------------


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} KB"


@main.command("build")
@kb_option
@click.option("--site-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder, replaced atomically. Default: site_dir from config, else ./site.")
@click.option("--strict", is_flag=True, help="Fail on any warning (broken links or anchors, skipped articles, ...).")
@click.option("-v", "--verbose", is_flag=True, help="Show MkDocs' progress and kbtool's notes (e.g. links hidden).")
@format_option("text", "json")
def build_cmd(kb: Path | None, site_dir: Path | None, strict: bool, verbose: bool, fmt: str) -> None:
    """Build the customer help center (static HTML, MkDocs + Material) from the KB.

    Only published, public articles get pages; drafts, internal articles and runbooks
    never do. Retired articles' URLs redirect to their replacement. The site is built
    aside and swapped in atomically: on failure the previous site stays and the exit
    code is 1.

    \b
    Example:
      kbtool build --strict
      kbtool build --site-dir public --format json
    """
    from .site import SiteBuildError, build_site

    cfg = get_config(kb)
    kbase = get_kb(cfg)
    echo = (lambda r: click.echo(f"{r.levelname:<7} -  {r.getMessage()}", err=True)) if verbose else None
    try:
        result = build_site(kbase, cfg, site_dir=site_dir, strict=strict, echo=echo)
    except SiteBuildError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    if not verbose:
        for w in result.warnings:
            click.echo(w, err=True)
    if fmt == "json":
        echo_json(result.to_dict())
        return
    where = result.site_dir
    if where.is_relative_to(Path.cwd()):
        where = where.relative_to(Path.cwd())
    per_1000 = result.search_index_bytes * 1000 / result.articles if result.articles else 0
    legacy = f", {len(result.legacy_redirects)} old URLs" if result.legacy_redirects else ""
    click.echo(f"built {result.articles} articles ({result.pages} pages, {len(result.redirects)} redirects{legacy}) "
               f"into {where}/ in {result.seconds:.1f}s")
    click.echo(f"site {_size(result.site_bytes)} in {result.files} files; search index {_size(result.search_index_bytes)}"
               f" ({_size(int(per_1000))} per 1,000 articles)")
    for article_id, reason in result.skipped:
        click.echo(f"skipped {article_id}: {reason}", err=True)


@main.command("preview")
@kb_option
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True, metavar="IP:PORT",
              help="Address to serve on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in the default browser.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors on every rebuild.")
def preview_cmd(kb: Path | None, dev_addr: str, open_browser: bool, strict: bool) -> None:
    """Serve the help center locally with live reload while you edit articles (mkdocs serve).

    Shows exactly what `kbtool build` publishes: published public articles only.

    \b
    Example:
      kbtool preview            # then open http://127.0.0.1:8000/
    """
    from .site import preview

    cfg = get_config(kb)
    get_kb(cfg)  # fail early on a missing KB directory
    try:
        preview(cfg, dev_addr=dev_addr, open_browser=open_browser, strict=strict)
    except OSError as e:
        raise click.ClickException(f"cannot serve on {dev_addr}: {e.strerror or e}") from None


# --- suggest / eval / serve -----------------------------------------------------------


def _engine(cfg: Config) -> Engine:
    """The suggest engine over the configured index, refreshed first if the KB changed."""
    from .index import Index, IndexProblem, update_index
    from .suggest import EngineHolder

    idx = Index.for_config(cfg)
    try:
        if not idx.exists() or idx.is_stale(cfg.kb):
            report = update_index(cfg, kb=get_kb(cfg), start_embedding=False)
            click.echo(report.summary(), err=True)
        return EngineHolder(cfg).get()
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None


def _print_suggestions(result: SuggestResult) -> None:
    if not result.suggestions:
        click.echo(f"no suggestions: {result.reason}")
        return
    for rank, s in enumerate(result.suggestions, 1):
        click.echo(f"{rank}. {s.id}  {s.title}  [{s.confidence}, score {s.score}]")
        click.echo(f"   {s.url}")
        why = s.why
        evidence = []
        if why.error_codes:
            evidence.append("codes: " + ", ".join(why.error_codes))
        for fld, terms in why.terms.items():
            evidence.append(f"{fld}: " + ", ".join(terms[:6]))
        if why.semantic is not None:
            evidence.append(f"semantic similarity {why.semantic:.2f}")
        if why.replaces:
            evidence.append(f"replaces retired {why.replaces}")
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
@click.option("--semantic/--no-semantic", default=True, show_default=True,
              help="Use semantic matching when the index has embeddings (the `semantic` extra).")
@format_option("text", "json")
def suggest_cmd(kb: Path | None, subject: str | None, body: str, product: str | None, audience: str, limit: int,
                batch: Any, semantic: bool, fmt: str) -> None:
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
                      int(obj.get("limit", limit)) if isinstance(obj.get("limit", limit), int) else limit, semantic)

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
        ticket = Ticket(subject, body, product, audience, limit, semantic)
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
@click.option("--semantic/--no-semantic", default=True, show_default=True,
              help="Score the hybrid ranking when the index has embeddings; --no-semantic: lexical only.")
@format_option("text", "json")
def eval_cmd(kb: Path | None, golden: Path, audience: str, min_p1: float | None, min_mrr: float | None,
             min_recall5: float | None, show_misses: int, semantic: bool, fmt: str) -> None:
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
    engine = _engine(cfg)
    report = evaluate(engine, cases, audience, semantic)
    m = report.metrics()
    why_not = None if report.semantic else engine.semantic_note if semantic else "--no-semantic"
    failed = [name for name, floor, value in (("p@1", min_p1, report.p_at_1), ("mrr", min_mrr, report.mrr),
                                              ("recall@5", min_recall5, report.recall_at_5))
              if floor is not None and value < floor]
    if fmt == "json":
        misses = [miss.to_dict() for miss in report.misses]
        click.echo(json.dumps({**m, "semantic_note": why_not, "misses": misses, "failed": failed}, ensure_ascii=False))
    else:
        for miss in report.misses[:show_misses]:
            click.echo(f"miss {miss.id}: expected {', '.join(miss.expected)}, got {', '.join(miss.got) or '-'}"
                       f" (rank {miss.rank or '>10'})  {miss.subject}")
        click.echo(f"{m['n']} tickets  P@1 {m['p@1']:.3f}  MRR {m['mrr']:.3f}  Recall@5 {m['recall@5']:.3f}  "
                   f"nDCG@5 {m['ndcg@5']:.3f}  semantic {str(m['semantic']).lower()}"
                   + (f" ({why_not})" if why_not else ""))
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
    if workers == 1:
        uvicorn.run("kbtool.api:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info", server_header=False)
        return
    # uvicorn binds the socket it shares between workers without IPPROTO_TCP, so asyncio never
    # turns TCP_NODELAY on for its connections and every keep-alive response waits ~40 ms
    # (Nagle + delayed ACK). Set it on the listening socket: accepted sockets inherit it.
    import socket

    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("kbtool.api:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                            log_level="info", server_header=False)
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


# --- index / search ------------------------------------------------------------------


@main.command("index")
@kb_option
@click.option("--index-dir", type=click.Path(path_type=Path, file_okay=False), help="Index directory (default .kbtool/index).")
@click.option("--rebuild", is_flag=True, help="Full rebuild instead of the incremental update.")
@click.option("--semantic/--no-semantic", default=None,
              help="Embed documents for semantic matching (default: the `semantic` setting, \"auto\": "
                   "when the extra is installed).")
def index_cmd(kb: Path | None, index_dir: Path | None, rebuild: bool, semantic: bool | None) -> None:
    """Build or update the search index (incremental by content hash).

    With the `semantic` extra installed, documents are also embedded (only new or
    changed ones on an incremental update) for `kbtool suggest` and `search --semantic`.

    \b
    Example:
      kbtool index            # only changed, added or removed files
      kbtool index --rebuild  # from scratch, swapped in atomically
    """
    from .index import IndexProblem, update_index
    from .progress import terminal_progress

    cfg = get_config(kb)
    if index_dir:
        cfg.index_dir = index_dir.resolve()
    if semantic is not None:
        cfg.semantic = semantic
    if not cfg.kb.is_dir():
        get_kb(cfg)  # raises the "KB directory not found" usage error
    try:  # without kb=: an incremental update parses only the changed files
        report = update_index(cfg, rebuild=rebuild, progress=terminal_progress("indexing"),
                              embed_progress=terminal_progress("embedding", "texts"))
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None
    for rel in report.skipped:
        click.echo(f"warning: {rel} has errors and was not indexed (run `kbtool lint`)", err=True)
    click.echo(report.summary())
    if report.semantic_note:
        asked = semantic is True or cfg.semantic is True
        click.echo(f"semantic: {report.semantic_note}", err=asked and not report.embedded)


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
    from .index import DEFAULT_STATUSES, Filters, IndexProblem, search

    cfg = get_config(kb)
    if index_dir:
        cfg.index_dir = index_dir.resolve()
    statuses = None if all_ else (tuple(status) or DEFAULT_STATUSES)
    filters = Filters(type=type_, status=statuses, audience=audience, product=product, tag=tag, include_retired=all_)
    tty = sys.stdout.isatty() and fmt == "text"
    try:
        result = search(cfg, query, filters, limit, auto_update=not no_update, markup="ansi" if tty else "**",
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
