"""`kbtool lint` and `kbtool rule`: the authors' review gate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..content import KB
from .common import UsageError, format_option, get_config, get_kb, kb_option, parse_day, use_color

# --- lint / rule ----------------------------------------------------------------------


def _codes(value: str | None) -> list[str] | None:
    return [c for c in value.replace(" ", ",").split(",") if c] if value else None


@click.command("lint")
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
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are errors (report only).")
@click.option("-q", "--quiet", is_flag=True, help="Print the findings only: no summary line, no fix notes.")
@click.option("--no-cache", is_flag=True,
              help="Neither read nor write the lint cache (cache_dir, default .kbtool/cache).")
def lint_cmd(kb: Path | None, paths: tuple[Path, ...], fmt: str, today: str | None, select: str | None,
             ignore: str | None, changed_ref: str | None, baseline_file: Path | None, write_baseline_file: Path | None,
             fix: bool, max_warnings: int | None, output_file: Path | None, list_rules: bool, statistics: bool,
             exit_zero: bool, quiet: bool, no_cache: bool) -> None:
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
      kbtool lint --statistics --exit-zero
    """
    from .. import lint as L

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
                                  paths=list(paths) or None, changed=changed,
                                  cache_dir=None if no_cache else cfg.lint_cache_dir)

            raw = run(kbase)
            result = L.apply_baseline(raw, baseline) if baseline is not None else raw
            if fix:
                applied = L.fix(kbase, result)
                for a in applied if not quiet else ():
                    click.echo(f"{L.display_path(a.path)}:{a.line}: {a.code} fixed: {a.description}", err=True)
                if applied:
                    raw = run(get_kb(cfg))
                    result = L.apply_baseline(raw, baseline) if baseline is not None else raw
                    result.fixed = applied
            if write_baseline_file:
                n = L.write_baseline(raw, write_baseline_file)
                click.echo(f"kbtool: recorded {n} finding(s) in {write_baseline_file}", err=True)
                return
            report = _report(L, result, fmt, statistics, quiet, color=output_file is None and use_color(sys.stdout))
        except L.LintError as e:
            raise UsageError(str(e)) from None
        if output_file:
            try:
                output_file.write_text(report + "\n", encoding="utf-8")
            except OSError as e:
                raise UsageError(f"cannot write {output_file}: {e.strerror or e}") from None
            if not quiet:
                click.echo(L.summary_line(result), err=True)
        elif report:
            click.echo(report)
        if exit_zero:
            return
        if result.errors:
            sys.exit(1)
        if max_warnings is not None and result.warnings > max_warnings:
            click.echo(f"kbtool: {result.warnings} warning(s), more than --max-warnings {max_warnings}", err=True)
            sys.exit(1)


def _report(L: Any, result: Any, fmt: str, statistics: bool, quiet: bool, color: bool) -> str:
    """The text to print: the statistics table, or the report in `fmt`, less its summary
    line with --quiet (text and github formats end with it)."""
    if statistics and fmt == "text":
        text = L.format_statistics(result)
    elif statistics:
        counts: dict[str, int] = {}
        for f in result.findings:
            counts[f.code] = counts.get(f.code, 0) + 1
        import json

        return json.dumps({"statistics": counts, "summary": result.summary}, indent=2)
    else:
        text = L.format_result(result, fmt, color=color)
    if quiet and fmt in ("text", "github"):
        text = "\n".join(text.split("\n")[:-1]).rstrip("\n")
    return text


@click.command("rule")
@click.argument("code")
@format_option("text", "json")
def rule_cmd(code: str, fmt: str) -> None:
    """Explain one lint rule: what it checks, why it matters, an example and the fix.

    \b
    Example:
      kbtool rule KB402
      kbtool rule broken-anchor
    """
    from ..lint import format_rule_doc, get_rule, unknown_rule_message

    rule = get_rule(code)
    if rule is None:
        raise UsageError(unknown_rule_message(code))
    click.echo(format_rule_doc(rule, fmt))


COMMANDS = [lint_cmd, rule_cmd]
