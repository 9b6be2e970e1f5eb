"""`kbtool suggest` and `kbtool eval`: ticket text in, ranked articles out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import AUDIENCES
from .common import UsageError, echo_json, engine_for, format_option, get_config, kb_option

if TYPE_CHECKING:
    from ..suggest import SuggestResult


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


@click.command("suggest")
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
    from ..suggest import Ticket

    cfg = get_config(kb)
    engine = engine_for(cfg)

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


@click.command("eval")
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
    from ..suggest import evaluate, read_golden

    cfg = get_config(kb)
    try:
        cases = read_golden(golden)
    except ValueError as e:
        raise UsageError(str(e)) from None
    engine = engine_for(cfg)
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


COMMANDS = [suggest_cmd, eval_cmd]
