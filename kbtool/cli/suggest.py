"""`kbtool suggest` and `kbtool eval`: ticket text in, ranked articles out."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import AUDIENCES, Config
from .common import (
    UsageError,
    echo_json,
    engine_for,
    format_option,
    get_config,
    get_kb,
    index_dir_option,
    kb_option,
    require_extra,
    use_color,
)

if TYPE_CHECKING:  # (the engine and numpy load only when a command runs)
    from ..suggest import Engine, EvalReport, SuggestResult, Ticket

HALVES = ("tune", "report")  # golden tickets' `half` (read_golden checks the files)

_SHARE = click.FloatRange(0.0, 1.0)


SMALL_KB = 500  # documents: a KB this small is embedded on first use (about 15 s), not left lexical


def _print_suggestions(result: SuggestResult, color: bool) -> None:
    if not result.suggestions:
        click.echo(f"no suggestions: {result.reason}")
        return
    for rank, s in enumerate(result.suggestions, 1):
        click.echo(f"{rank:>2}. {s.id}  [{s.confidence}, score {s.score}]  {s.title}")
        if s.url:
            click.echo(f"    {s.url}")
        why = s.why
        evidence = []
        if why.error_codes:
            evidence.append("codes: " + ", ".join(why.error_codes))
        for fld, words in why.terms.items():
            evidence.append(f"{fld}: " + ", ".join(words[:6]))
        if why.semantic is not None:
            evidence.append(f"similar in meaning {why.semantic:.2f}")
        if why.replaces:
            evidence.append(f"replaces retired {why.replaces}")
        click.echo("    why: " + "; ".join(evidence))
        if s.snippet:
            click.echo(f"    {_styled(s.snippet, color)}")


def _styled(snippet: str, color: bool) -> str:
    """The snippet's `**word**` marks as bold yellow (what `search` shows) on a colour terminal, else as is."""
    if not color:
        return snippet
    return _MARK.sub(lambda m: click.style(m.group(1), fg="yellow", bold=True), snippet)


_MARK = re.compile(r"\*\*(.+?)\*\*")


def _hint(message: str, kb: Path | None, index_dir: Path | None) -> str:
    """`message` with its "run `kbtool index`" advice carrying the --kb / --index-dir the user passed."""
    extra = "".join(f" {opt} {shlex.quote(str(v))}" for opt, v in (("--kb", kb), ("--index-dir", index_dir)) if v)
    return message.replace("`kbtool index", f"`kbtool index{extra}")


def _engine(cfg: Config, kb: Path | None, index_dir: Path | None, use_model: bool = True) -> Engine:
    """The engine over the configured index. A small KB whose index has no embeddings yet is
    embedded first when the `semantic` extra is installed and `use_model` (the automatic refresh
    never starts that, as it takes minutes at 10,000 articles; at 500 it takes seconds)."""
    from .. import semantic
    from ..index import Index, IndexProblem, current_build, update_index

    idx = Index.for_config(cfg)
    build = current_build(idx.dir) if idx.exists() else None
    want, _ = semantic.wanted(cfg.semantic)
    if want and use_model and (build is None or not (build / semantic.EMBEDDINGS).exists()) and _small(cfg.kb):
        try:
            click.echo(update_index(cfg, kb=get_kb(cfg)).summary(), err=True)
        except IndexProblem as e:
            raise click.ClickException(_hint(str(e), kb, index_dir)) from None
    try:
        return engine_for(cfg)
    except UsageError:
        raise
    except click.ClickException as e:
        raise click.ClickException(_hint(e.message, kb, index_dir)) from None


def _small(kb: Path) -> bool:
    """Whether the KB has at most SMALL_KB Markdown files (counted without parsing; stops early)."""
    from ..content import CONTENT_DIRS

    n = 0
    for sub in CONTENT_DIRS:
        for _ in (kb / sub).rglob("*.md") if (kb / sub).is_dir() else ():
            n += 1
            if n > SMALL_KB:
                return False
    return True


@click.command("suggest")
@kb_option
@index_dir_option
@click.option("--subject", help="Ticket subject.")
@click.option("--body", default="", help="Ticket body (plain text or HTML).")
@click.option("--product", help="Ticket's product, if known (boosts matching articles).")
@click.option("--audience", type=click.Choice(AUDIENCES), default="public", show_default=True,
              help="Who will see the suggestions; 'internal' includes internal articles and runbooks.")
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--batch", type=click.File("r"), help="JSONL file of tickets ('-' for stdin); one JSON line out per "
              "line in (a bad line gets {\"error\": ...} and the batch goes on).")
@click.option("--semantic/--no-semantic", default=True, show_default=True,
              help="Use semantic matching when the index has embeddings (the `semantic` extra).")
@format_option("text", "json")
def suggest_cmd(kb: Path | None, index_dir: Path | None, subject: str | None, body: str, product: str | None,
                audience: str, limit: int, batch: Any, semantic: bool, fmt: str) -> None:
    """Suggest articles for a ticket, with the evidence for each.

    Without --subject, reads one JSON ticket ({"subject", "body", ...}) from stdin.

    \b
    Example:
      kbtool suggest --subject "SSO login fails with SAML-403"
      echo '{"subject": "webhooks stopped", "body": "timeouts since 9am"}' | kbtool suggest --format json
      kbtool suggest --batch tickets.jsonl > suggestions.jsonl
    """
    require_extra("search", "suggest")
    from ..suggest import Ticket

    cfg = get_config(kb, index_dir)
    engine = _engine(cfg, kb, index_dir, semantic)
    defaults = Ticket("", "", product, audience, limit, semantic)
    if batch is not None:
        _run_batch(engine, batch, defaults)
        return
    if subject is None:
        if sys.stdin.isatty():
            raise UsageError("give --subject (and --body), or a JSON ticket on stdin")
        try:
            ticket = _ticket_of(json.loads(sys.stdin.read()), defaults)
        except json.JSONDecodeError as e:
            raise UsageError(f"stdin: invalid JSON: {e.msg}") from None
        except ValueError as e:
            raise UsageError(f"stdin: {e}") from None
    else:
        ticket = dataclasses.replace(defaults, subject=subject, body=body)
    result = engine.suggest(ticket)
    if fmt == "json":
        echo_json(result.to_dict())
    else:
        _print_suggestions(result, use_color(sys.stdout))


def _ticket_of(obj: Any, defaults: Ticket) -> Ticket:
    """One JSON ticket, its missing fields from the command line; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("a ticket is a JSON object with string 'subject' and 'body'")
    for key in ("subject", "body", "product"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise ValueError(f"'{key}' must be a string")
    if obj.get("audience") is not None and obj["audience"] not in AUDIENCES:
        raise ValueError(f"'audience' must be one of {', '.join(AUDIENCES)}")
    lim = obj.get("limit", defaults.limit)
    if isinstance(lim, bool) or not isinstance(lim, int) or not 1 <= lim <= 50:
        raise ValueError("'limit' must be an integer from 1 to 50")
    return dataclasses.replace(defaults, subject=obj.get("subject") or "", body=obj.get("body") or "",
                               product=obj.get("product") or defaults.product,
                               audience=obj.get("audience") or defaults.audience, limit=lim)


def _run_batch(engine: Engine, lines: Any, defaults: Ticket) -> None:
    """One JSON line out per ticket line in; a bad line gets `{"line", "error"}` (and its id if it has
    one) and the batch goes on. Exit 1 at the end if any line was bad."""
    bad = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        obj: Any = None
        try:
            obj = json.loads(line)
            out = engine.suggest(_ticket_of(obj, defaults)).to_dict()
        except json.JSONDecodeError as e:
            out = {"line": n, "error": f"invalid JSON: {e.msg}"}
        except ValueError as e:
            out = {"line": n, "error": str(e)}
        bad += "error" in out
        if isinstance(obj, dict) and "id" in obj:
            out = {"id": obj["id"], **out}
        click.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        click.echo(f"{bad} ticket line(s) could not be read (see their \"error\")", err=True)
        sys.exit(1)


@click.command("eval")
@kb_option
@index_dir_option
@click.argument("golden", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--audience", type=click.Choice(AUDIENCES), default="public", show_default=True,
              help="For tickets without their own 'audience' (the same default as `suggest`).")
@click.option("--half", type=click.Choice(HALVES), help="Only the tickets of this half ('half' field).")
@click.option("--min-p1", type=_SHARE, help="Fail (exit 1) if P@1 is below this (0-1).")
@click.option("--min-mrr", type=_SHARE, help="Fail (exit 1) if MRR is below this (0-1).")
@click.option("--min-recall5", type=_SHARE, help="Fail (exit 1) if Recall@5 is below this (0-1).")
@click.option("--min-abstention", type=_SHARE,
              help="Fail (exit 1) if the share of no-answer tickets abstained on is below this (0-1).")
@click.option("--show-misses", type=click.IntRange(0), default=10, show_default=True,
              help="How many misses to list (text).")
@click.option("--semantic/--no-semantic", default=True, show_default=True,
              help="Score the hybrid ranking when the index has embeddings; --no-semantic: lexical only.")
@format_option("text", "json")
def eval_cmd(kb: Path | None, index_dir: Path | None, golden: Path, audience: str, half: str | None,
             min_p1: float | None, min_mrr: float | None, min_recall5: float | None, min_abstention: float | None,
             show_misses: int, semantic: bool, fmt: str) -> None:
    """Score suggestions against golden tickets (JSONL: id, subject, body, expected, and optionally
    audience, kind, half).

    `expected: []` means no article answers the ticket: it is right when nothing, or only
    "low" suggestions, come back. An expected id the index does not hold is reported, not
    scored as a miss.

    \b
    Example:
      kbtool eval kb/golden.jsonl --audience internal --min-mrr 0.8
      kbtool eval tests/fixtures/tickets/sample-kb.jsonl --half report --min-abstention 0.9
      kbtool eval ../shared/data/stackfaq/dev.jsonl --kb ../shared/data/stackfaq/kb --format json
    """
    require_extra("search", "eval")
    from ..suggest import evaluate, read_golden

    cfg = get_config(kb, index_dir)
    try:
        cases = read_golden(golden, half)
    except ValueError as e:
        raise UsageError(str(e)) from None
    engine = _engine(cfg, kb, index_dir, semantic)
    report = evaluate(engine, cases, audience, semantic)
    why_not = None if report.semantic else _hint(engine.semantic_note or "", kb, index_dir) if semantic \
        else "--no-semantic"
    o = report.overall
    failed = [name for name, floor, value in (("p@1", min_p1, o.p_at_1), ("mrr", min_mrr, o.mrr),
                                              ("recall@5", min_recall5, o.recall_at_5),
                                              ("abstention", min_abstention, o.abstention))
              if floor is not None and value is not None and value < floor]
    if fmt == "json":
        click.echo(json.dumps({**report.to_dict(), "semantic_note": why_not, "failed": failed}, ensure_ascii=False))
    else:
        _print_report(report, show_misses, why_not)
        if failed:
            click.echo("below threshold: " + ", ".join(failed))
    if failed:
        sys.exit(1)


def _print_report(report: EvalReport, show_misses: int, why_not: str | None) -> None:
    for miss in report.misses[:show_misses]:
        got = ", ".join(miss.got) or "-"
        if miss.expected:
            click.echo(f"miss {miss.id} [{miss.kind}]: expected {', '.join(miss.expected)}, got {got}"
                       f" (rank {miss.rank or '>10'})  {miss.subject}")
        else:
            click.echo(f"false positive {miss.id} [{miss.kind}]: no answer expected, got {got} "
                       f"({miss.confidence})  {miss.subject}")
    for line in report.unknown:
        click.echo(f"not scored: {line}")
    rows = [("all", report.overall)] + (list(report.by_kind.items()) if len(report.by_kind) > 1 else [])
    click.echo(f"{'kind':<14}{'tickets':>8}{'P@1':>8}{'MRR':>8}{'R@5':>8}{'no-answer abstained':>22}")
    for name, s in rows:
        abst = f"{s.abstained}/{s.no_answer}" if s.no_answer else "-"
        nums = f"{s.p_at_1:>8.3f}{s.mrr:>8.3f}{s.recall_at_5:>8.3f}" if s.answerable else f"{'-':>8}" * 3
        click.echo(f"{name:<14}{s.n:>8}{nums}{abst:>22}")
    cal = ", ".join(f"{c} {ok}/{n} right" for c, (n, ok) in report.calibration.items() if n)
    click.echo(f"top suggestion by confidence: {cal or 'none'}")
    click.echo(f"semantic {str(report.semantic).lower()}" + (f" ({why_not})" if why_not else ""))


COMMANDS = [suggest_cmd, eval_cmd]
