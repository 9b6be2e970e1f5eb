"""Lint results as text: the `text`, `json`, `github` (Actions annotations) and `sarif`
(2.1.0) formats, the summary line, the rule table and docs (`--list-rules`, `kbtool rule`),
and baseline files (`--write-baseline` / `--baseline`)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from .result import Finding, LintError, LintResult, display_path
from .rules import ERROR, RULES, WARNING, Rule, did_you_mean

FORMATS = ("text", "json", "github", "sarif")
BASELINE_VERSION = 1


# --- output formats ------------------------------------------------------------------------


def format_result(result: LintResult, fmt: str = "text", cwd: Path | None = None, color: bool = False) -> str:
    cwd = cwd or Path.cwd()
    if fmt == "text":
        return format_text(result, cwd, color)
    if fmt == "json":
        return json.dumps(result.to_dict(cwd), indent=2, ensure_ascii=False)
    if fmt == "github":
        return format_github(result, cwd)
    if fmt == "sarif":
        return json.dumps(format_sarif(result, cwd), indent=2, ensure_ascii=False)
    raise LintError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


def _style(text: str, color: bool, **kw: Any) -> str:
    if not color:
        return text
    import click

    return click.style(text, **kw)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(result: LintResult) -> str:
    e, w = result.errors, result.warnings
    extra = []
    if result.baselined:
        extra.append(f"{result.baselined} hidden by the baseline")
    if result.fixable:
        extra.append(f"{result.fixable} fixable with --fix")
    if result.fixed:
        extra.append(f"{_plural(len(result.fixed), 'fix')} applied".replace("fixs", "fixes"))
    tail = f" ({'; '.join(extra)})" if extra else ""
    if not e and not w:
        return f"All checks passed: {_plural(result.files, 'file')}, no findings{tail}."

    def codes(sev: str) -> str:
        cs = sorted({f.code for f in result.findings if f.severity == sev})
        return f" ({', '.join(cs)})" if cs else ""

    n_files = len({f.path for f in result.findings})
    return (f"Found {_plural(e, 'error')}{codes(ERROR)} and {_plural(w, 'warning')}{codes(WARNING)} "
            f"in {n_files} of {_plural(result.files, 'file')}{tail}.")


def format_text(result: LintResult, cwd: Path, color: bool = False) -> str:
    """`path:line:col: CODE message`, grouped by file, then a summary line."""
    lines: list[str] = []
    last: Path | None = None
    for f in result.findings:
        if last is not None and f.path != last:
            lines.append("")
        last = f.path
        loc = _style(f"{display_path(f.path, cwd)}:{f.line}:{f.column}:", color, bold=True)
        code = _style(f.code, color, fg="red" if f.severity == ERROR else "yellow", bold=True)
        lines.append(f"{loc} {code} {'[*] ' if f.fixable else ''}{f.message}")
    if lines:
        lines.append("")
    lines.append(summary_line(result))
    return "\n".join(lines)


def gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(result: LintResult, cwd: Path) -> str:
    """GitHub Actions workflow commands: one `::error`/`::warning` annotation per finding."""
    out = []
    for f in result.findings:
        rule = RULES.get(f.code)
        title = f"{f.code} {rule.name}" if rule else f.code
        props = f"file={gh_escape(display_path(f.path, cwd), True)},line={f.line},col={f.column},title={gh_escape(title, True)}"
        out.append(f"::{'error' if f.severity == ERROR else 'warning'} {props}::{gh_escape(f.message)}")
    out.append(summary_line(result))
    return "\n".join(out)


def _fingerprint(f: Finding) -> str:
    return hashlib.sha256("\0".join(_bkey(f)).encode()).hexdigest()[:32]


INFORMATION_URI = "https://github.com/kbtool/kbtool"  # [project.urls] Homepage


def short_description(rule: Rule) -> str:
    """A plain-language title for code-scanning alerts: the first sentence of *What it
    does*, without its "Reports" (never the message template with its `{placeholders}`)."""
    what = " ".join(rule.docs.what.split())
    first = what.split(". ")[0].rstrip(".")
    if first.startswith("Reports "):
        first = first[len("Reports "):]
    first = first.replace("`", "")
    return (first[:1].upper() + first[1:] + ".") if first else rule.name.replace("-", " ").capitalize()


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": [rule.category]}
    if rule.category == "sensitive-data":
        props["tags"].append("security")
        props["security-severity"] = "8.0"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": short_description(rule)},
        "fullDescription": {"text": " ".join(rule.docs.what.split())},
        "help": {"text": rule.doc, "markdown": f"# {rule.code} {rule.name}\n\n{rule.doc}"},
        "defaultConfiguration": {"level": rule.severity, "enabled": rule.default},
        "properties": props,
    }


def _region(f: Finding) -> dict[str, int]:
    """The finding's region: its end when the check knows it, else the rest of its line
    (SARIF: no endColumn means to the end of endLine)."""
    if f.end_line and f.end_column and (f.end_line, f.end_column) > (f.line, f.column):
        return {"startLine": f.line, "startColumn": f.column, "endLine": f.end_line, "endColumn": f.end_column}
    return {"startLine": f.line, "startColumn": f.column, "endLine": f.line}


def format_statistics(result: LintResult) -> str:
    """`--statistics`: one line per rule with findings (count, code, name, fixable), most first."""
    counts = Counter(f.code for f in result.findings)
    fixable = Counter(f.code for f in result.findings if f.fixable)
    lines = []
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = RULES.get(code)
        fix = f" [*{fixable[code]} fixable]" if fixable[code] else ""
        lines.append(f"{n:>6}  {code}  {rule.name if rule else ''}{fix}")
    lines.append(summary_line(result))
    return "\n".join(lines)


def format_sarif(result: LintResult, cwd: Path) -> dict[str, Any]:
    """A SARIF 2.1.0 log (GitHub code scanning): every rule, and one result per finding."""
    codes = list(RULES)
    index = {c: i for i, c in enumerate(codes)}
    rules = [_sarif_rule(RULES[c]) for c in codes]
    results = []
    for f in result.findings:
        if f.code not in index:
            index[f.code] = len(rules)
            rules.append({"id": f.code, "shortDescription": {"text": f.code}})
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": f.severity if f.severity in (ERROR, WARNING) else "note",
            "message": {"text": f.message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(display_path(f.path, cwd)), "uriBaseId": "%SRCROOT%"},
                    "region": _region(f),
                }
            }],
            "partialFingerprints": {"kbtoolFindingHash/v1": _fingerprint(f)},
        })
    root_uri = cwd.resolve().as_uri()
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kbtool",
                "informationUri": INFORMATION_URI,
                "semanticVersion": __version__,
                "version": __version__,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri if root_uri.endswith("/") else root_uri + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


# --- the rule registry, printed ------------------------------------------------------------


def format_rules(fmt: str = "text") -> str:
    """`kbtool lint --list-rules`: every rule as a table (or a JSON list)."""
    rules = list(RULES.values())
    if fmt == "json":
        return json.dumps([
            {"code": r.code, "name": r.name, "category": r.category, "severity": r.severity,
             "by_audience": r.by_audience, "fixable": r.fixable, "default": r.default, "message": r.message,
             "source": "loader" if r.loader else "lint"}
            for r in rules
        ], indent=2)
    rows = [("CODE", "NAME", "SEVERITY", "FIX", "MESSAGE")]
    for r in rules:
        sev = "error*" if r.by_audience else r.severity
        if not r.default:
            sev += " (opt-in)"
        rows.append((r.code, r.name, sev, "yes" if r.fixable else "", r.message))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    out = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    out.append("")
    out.append("error* = error in public content, warning in internal content. "
               "`kbtool rule CODE` explains a rule.")
    return "\n".join(line.rstrip() for line in out)


def format_rule_doc(rule: Rule, fmt: str = "text") -> str:
    """`kbtool rule CODE`: the rule's documentation."""
    if fmt == "json":
        return json.dumps({"code": rule.code, "name": rule.name, "category": rule.category,
                           "severity": rule.severity, "by_audience": rule.by_audience, "fixable": rule.fixable,
                           "default": rule.default, "message": rule.message, "doc": rule.doc}, indent=2)
    head = f"# {rule.code} {rule.name}\n\n"
    meta = [f"Category: {rule.category}", f"Default severity: {rule.severity_label}"]
    if rule.fixable:
        meta.append("Fix: available with `kbtool lint --fix`")
    if not rule.default:
        meta.append(f"Opt-in: enable with `--select {rule.code}` or `select = [\"{rule.code}\"]`")
    if rule.loader:
        meta.append("Checked while loading the KB (kbtool.content)")
    meta.append(f"Message: {rule.message}")
    return head + "\n".join(meta) + "\n\n" + rule.doc


def unknown_rule_message(code: str) -> str:
    """`kbtool rule CODE` for a code or name no rule has (with a *did you mean*)."""
    return f"unknown rule {code!r}{did_you_mean(code)}; `kbtool lint --list-rules` lists them"


# --- baseline -----------------------------------------------------------------------------


def _bkey(f: Finding) -> tuple[str, str, str]:
    return (f.rel_path, f.code, f.identity)


def write_baseline(result: LintResult, file: Path) -> int:
    """Record the result's findings (by KB-relative path, code and a line-independent key)."""
    entries = sorted(
        ({"path": f.rel_path, "code": f.code, "key": f.identity, "message": f.message} for f in result.findings),
        key=lambda e: (e["path"], e["code"], e["key"]),
    )
    data = {"kbtool_baseline": BASELINE_VERSION, "tool_version": __version__, "findings": entries}
    try:
        Path(file).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as e:
        raise LintError(f"cannot write baseline {file}: {e.strerror or e}") from None
    return len(entries)


def load_baseline(file: Path) -> Counter[tuple[str, str, str]]:
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except OSError as e:
        raise LintError(f"cannot read baseline {file}: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LintError(f"baseline {file} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("kbtool_baseline") != BASELINE_VERSION or not isinstance(
        data.get("findings"), list
    ):
        raise LintError(f"baseline {file} is not a kbtool baseline (write one with --write-baseline)")
    out: Counter[tuple[str, str, str]] = Counter()
    for entry in data["findings"]:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("path", "code", "key")):
            raise LintError(f"baseline {file}: malformed entry {entry!r}")
        out[(entry["path"], entry["code"], entry["key"])] += 1
    return out


def apply_baseline(result: LintResult, baseline: Counter[tuple[str, str, str]]) -> LintResult:
    """Only the findings the baseline does not account for (line moves do not matter)."""
    left = Counter(baseline)
    kept = []
    hidden = 0
    for f in result.findings:
        k = _bkey(f)
        if left[k] > 0:
            left[k] -= 1
            hidden += 1
        else:
            kept.append(f)
    return replace(result, findings=kept, baselined=result.baselined + hidden)
