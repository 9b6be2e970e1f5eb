"""`kbtool lint`: the review gate for KB pull requests.

Library API (the CLI is a thin wrapper):

- `run_lint(kb, config, today=None, select=None, ignore=(), paths=None, changed=None) -> LintResult`
- `format_result(result, fmt, cwd=None)` for `text`, `json`, `github` and `sarif` (2.1.0)
- `write_baseline(result, file)`, `load_baseline(file)`, `apply_baseline(result, baseline)`
- `changed_files(ref, cwd)`: files changed since a git ref (for `--changed`)
- `fix(kb, config, result)`: safe autofixes (see `kbtool.lint_fix`)
- `RULES` / `get_rule`: the rule registry (`kbtool.lint_rules`), `format_rules`, `format_rule_doc`

Rule selection follows ruff: `select` (default: every non-opt-in rule) minus `ignore`,
then `severity` overrides (`off` disables), `per_path_ignores`, and inline
`<!-- kbtool: disable=CODE[,CODE] -->` comments, which silence codes for that file.
Selectors are full codes, prefixes (`KB6`), rule names (`broken-link`) or `ALL`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from difflib import get_close_matches
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from . import __version__
from .config import Config, LintConfig
from .content import DATE_FIELDS, DUPLICATE_ID, KB, Article, Diagnostic
from .lint_checks import Checker, Finding
from .lint_fix import AppliedFix, fix, normalise_date
from .lint_rules import BY_NAME, ERROR, RULES, WARNING, Rule, get_rule, is_known_selector, matches

__all__ = [
    "AppliedFix", "Finding", "LintError", "LintResult", "RULES", "Rule", "apply_baseline", "changed_files",
    "enabled_rules", "fix", "format_result", "format_rule_doc", "format_rules", "get_rule", "load_baseline",
    "run_lint", "write_baseline", "FORMATS", "display_path", "gc_paused", "summary_line", "unknown_rule_message",
]

FORMATS = ("text", "json", "github", "sarif")
BASELINE_VERSION = 1


class LintError(Exception):
    """Bad lint options, config codes, baseline file or git ref: the CLI exits with 2."""


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a batch run (the CLI): loading and linting a big
    KB allocates about a million long-lived objects and frees few, and the collector
    would rescan them again and again (a fifth of the time on 10,000 articles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- selection and severity ---------------------------------------------------------------


def _check_selectors(where: str, selectors: Iterable[str]) -> list[str]:
    out = []
    for s in selectors:
        s = s.strip()
        if not s:
            continue
        if not is_known_selector(s):
            close = get_close_matches(s.upper(), list(RULES), n=1, cutoff=0.6) or \
                get_close_matches(s.lower(), list(BY_NAME), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LintError(f"{where}: unknown rule code or prefix {s!r}{hint}; see `kbtool lint --list-rules`")
        out.append(s)
    return out


def _specificity(selector: str) -> int:
    if selector.upper() == "ALL":
        return 0
    if selector.lower() in BY_NAME:
        return 99
    return len(selector)


def _selects(code: str, selector: str) -> bool:
    """Like `matches`, but opt-in rules need their exact code or name (or ALL)."""
    if not matches(code, selector):
        return False
    if RULES[code].default:
        return True
    s = selector.strip()
    return s.upper() in ("ALL", code) or s.lower() == RULES[code].name


def enabled_rules(lc: LintConfig, select: Iterable[str] | None = None, ignore: Iterable[str] = ()) -> set[str]:
    """Codes that run: `select` (CLI) replaces config `select`; `ignore` adds to config `ignore`."""
    sel = _check_selectors("--select" if select is not None else "lint.select",
                           list(select) if select is not None else lc.select)
    ign = _check_selectors("lint.ignore", lc.ignore) + _check_selectors("--ignore", ignore)
    _check_selectors("lint.severity", lc.severity)
    for glob, codes in lc.per_path_ignores.items():
        _check_selectors(f"lint.per_path_ignores.{glob}", codes)
    if sel:
        codes = {c for c in RULES if any(_selects(c, s) for s in sel)}
    else:
        codes = {c for c, r in RULES.items() if r.default}
    codes = {c for c in codes if not any(matches(c, s) for s in ign)}
    return {c for c in codes if _severity_override(lc, c) != "off"}


def _severity_override(lc: LintConfig, code: str) -> str | None:
    best: tuple[int, str] | None = None
    for sel, sev in lc.severity.items():
        if matches(code, sel):
            spec = _specificity(sel)
            if best is None or spec > best[0]:
                best = (spec, sev)
    return best[1] if best else None


def _severity_fn(lc: LintConfig) -> Callable[..., str]:
    cache: dict[str, str | None] = {}

    def severity_of(code: str, article: Article | None, default: str = ERROR) -> str:
        if code not in cache:
            cache[code] = _severity_override(lc, code)
        override = cache[code]
        if override:
            return override
        rule = RULES.get(code)
        if rule is None:
            return default
        if rule.by_audience:
            internal = article is not None and (article.audience == "internal" or article.kind == "runbook")
            return WARNING if internal else ERROR
        return rule.severity

    return severity_of


# --- result -----------------------------------------------------------------------------


@dataclass
class LintResult:
    findings: list[Finding]
    files: int
    suppressed: int = 0  # by inline comments and per_path_ignores
    baselined: int = 0  # hidden by --baseline
    fixed: list[AppliedFix] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)

    @property
    def fixable(self) -> int:
        return sum(1 for f in self.findings if f.fixable)

    @property
    def summary(self) -> dict[str, int]:
        return {"files": self.files, "errors": self.errors, "warnings": self.warnings}

    def to_dict(self, cwd: Path | None = None) -> dict[str, Any]:
        cwd = cwd or Path.cwd()
        return {
            "findings": [
                {"path": _display(f.path, cwd), "line": f.line, "column": f.column, "code": f.code,
                 "severity": f.severity, "message": f.message}
                for f in self.findings
            ],
            "summary": self.summary,
        }


def display_path(path: Path, cwd: Path | None = None) -> str:
    """`path` relative to the working directory (posix), as every output format shows it."""
    return _display(path, cwd or Path.cwd())


def _display(path: Path, cwd: Path) -> str:
    try:
        return Path(os.path.relpath(path, cwd)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def _norm(path: Path, dirs: dict[Path, Path] | None = None) -> Path:
    """Absolute path with symlinked folders resolved but the file itself kept as named
    (`dirs` caches folder resolutions across calls)."""
    path = Path(os.path.abspath(path))
    folder = dirs.get(path.parent) if dirs is not None else None
    if folder is None:
        try:
            folder = path.parent.resolve()
        except (OSError, RuntimeError):
            folder = path.parent
        if dirs is not None:
            dirs[path.parent] = folder
    return folder / path.name


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return _norm(path)


# --- the run ------------------------------------------------------------------------------


def run_lint(
    kb: KB,
    config: Config,
    today: date | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    paths: Iterable[Path] | None = None,
    changed: Iterable[Path] | None = None,
) -> LintResult:
    """Lint a loaded KB. Cross-file rules always see the whole KB.

    `paths` limits the report to files under those paths; `changed` (files changed since a
    git ref, deleted ones included) limits it to findings on those files *or about them*
    (a link into a changed file, a duplicate of one). Raises `LintError` for unknown codes.
    """
    today = today or date.today()
    lc = config.lint
    enabled = enabled_rules(lc, select, ignore)
    scope_roots = [_norm(p) for p in paths] if paths is not None else None
    for root in scope_roots or []:
        if not root.exists() and not root.is_symlink():
            raise LintError(f"{root}: no such file or directory")
    focus = {_norm(p) for p in changed} if changed is not None else None
    focus_resolved = {_resolved(p) for p in focus} if focus is not None else set()

    severity_of = _severity_fn(lc)
    checker = Checker(kb, config, today, enabled, severity_of, focus=focus_resolved if focus is not None else None)
    checker.findings.extend(_loader_findings(kb, enabled, severity_of))
    checker.check_all()

    dirs: dict[Path, Path] = {}

    def in_scope(path: Path, refs: tuple[Path, ...] = ()) -> bool:
        if scope_roots is None and focus is None:
            return True
        p = _norm(path, dirs)
        if scope_roots is not None and not any(p == r or r in p.parents for r in scope_roots):
            return False
        if focus is not None:
            return p in focus or p in focus_resolved or any(r in focus_resolved for r in refs)
        return True

    all_files = {a.path for a in kb.articles} | {d.path for d in kb.diagnostics}
    scope_files = {f for f in all_files if in_scope(f)}

    kept: list[Finding] = []
    suppressed = 0
    for f in checker.findings:
        if not in_scope(f.path, f.refs):
            continue
        selectors = checker.suppressions.get(f.path, [])
        if any(matches(f.code, s) for s in selectors) or _path_ignored(lc, config, kb, f):
            suppressed += 1
            continue
        kept.append(f)
    kept.sort(key=lambda f: (f.rel_path, f.line, f.column, f.code, f.message))
    # files reported on: those in scope, plus (with `changed`) unchanged ones linking into them
    files = len(scope_files | {f.path for f in kept})
    return LintResult(kept, files, suppressed=suppressed)


def _loader_findings(kb: KB, enabled: set[str], severity_of: Any) -> list[Finding]:
    out = []
    by_file = {a.path: a for a in kb.articles}
    for d in kb.diagnostics:
        if d.code in RULES and d.code not in enabled:
            continue
        article = by_file.get(d.path)
        rel = article.rel_path if article else _rel(d.path, kb.root)
        refs: tuple[Path, ...] = ()
        if d.code == DUPLICATE_ID and article is not None:
            first = kb.by_id.get(article.id)
            if first is not None and first is not article:
                refs = (_resolved(first.path),)
        fixable = d.code == "KB107" and article is not None and _date_fixable(article, d)
        out.append(Finding(
            d.path, max(d.line, 1), max(d.column, 1), d.code, severity_of(d.code, article, d.severity),
            d.message, rel, refs, "", fixable,
        ))
    return out


def _date_fixable(article: Article, d: Diagnostic) -> bool:
    for key in DATE_FIELDS:
        if article.field_lines.get(key) == d.line:
            return normalise_date(article.meta.get(key)) is not None
    return False


def _rel(path: Path, root: Path) -> str:
    try:
        return _norm(path).relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _path_ignored(lc: LintConfig, config: Config, kb: KB, f: Finding) -> bool:
    if not lc.per_path_ignores:
        return False
    project_rel = _rel(f.path, config.root)
    for glob, codes in lc.per_path_ignores.items():
        if any(matches(f.code, c) for c in codes) and any(
            fnmatch(p, glob) or PurePosixPath(p).match(glob) for p in (f.rel_path, project_rel)
        ):
            return True
    return False


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
    for e in data["findings"]:
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("path", "code", "key")):
            raise LintError(f"baseline {file}: malformed entry {e!r}")
        out[(e["path"], e["code"], e["key"])] += 1
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


# --- git ------------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise LintError("--changed needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise LintError(f"git {' '.join(args)} timed out") from None
    if proc.returncode != 0:
        raise LintError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def changed_files(ref: str, cwd: Path) -> set[Path]:
    """Files changed since `ref`: committed on this branch since its merge-base with `ref`,
    staged, unstaged and untracked. Deleted and renamed-away paths are included so links
    into them are still checked."""
    if not ref or ref.startswith("-"):
        raise LintError(f"--changed: invalid git ref {ref!r}")
    cwd = Path(cwd)
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
    except LintError:
        raise LintError(f"--changed: unknown git ref {ref!r} (in CI, fetch it: actions/checkout with fetch-depth: 0)") from None
    try:
        diff = _git(["diff", "--name-only", "--no-renames", "-z", "--merge-base", ref], top)
    except LintError:
        diff = _git(["diff", "--name-only", "--no-renames", "-z", ref], top)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    names = [n for n in (diff + untracked).split("\0") if n]
    return {top / n for n in names}


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
        loc = _style(f"{_display(f.path, cwd)}:{f.line}:{f.column}:", color, bold=True)
        code = _style(f.code, color, fg="red" if f.severity == ERROR else "yellow", bold=True)
        lines.append(f"{loc} {code} {'[*] ' if f.fixable else ''}{f.message}")
    if lines:
        lines.append("")
    lines.append(summary_line(result))
    return "\n".join(lines)


def _gh_escape(text: str, prop: bool = False) -> str:
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
        props = f"file={_gh_escape(_display(f.path, cwd), True)},line={f.line},col={f.column},title={_gh_escape(title, True)}"
        out.append(f"::{'error' if f.severity == ERROR else 'warning'} {props}::{_gh_escape(f.message)}")
    out.append(summary_line(result))
    return "\n".join(out)


def _fingerprint(f: Finding) -> str:
    return hashlib.sha256("\0".join(_bkey(f)).encode()).hexdigest()[:32]


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": [rule.category]}
    if rule.category == "sensitive-data":
        props["tags"].append("security")
        props["security-severity"] = "8.0"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.message},
        "fullDescription": {"text": rule.doc.split("## Why it matters")[0].replace("## What it does\n", "").strip()},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": rule.severity, "enabled": rule.default},
        "properties": props,
    }


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
                    "artifactLocation": {"uri": quote(_display(f.path, cwd)), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.line, "startColumn": f.column},
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
    close = get_close_matches(code.upper(), list(RULES), n=1, cutoff=0.6) or \
        get_close_matches(code.lower(), list(BY_NAME), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown rule {code!r}{hint}; `kbtool lint --list-rules` lists them"
