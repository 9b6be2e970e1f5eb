"""`kbtool lint`: the review gate for KB pull requests.

Library API (the CLI is a thin wrapper):

- `run_lint(kb, config, today=None, select=None, ignore=(), paths=None, changed=None, jobs=None,
  cache_dir=None) -> LintResult`
- `format_result(result, fmt, cwd=None)` for `text`, `json`, `github` and `sarif` (2.1.0)
- `write_baseline(result, file)`, `load_baseline(file)`, `apply_baseline(result, baseline)`
- `changed_files(ref, cwd)`: files changed since a git ref (for `--changed`)
- `fix(kb, result)`: safe autofixes (`kbtool.lint.fix`)
- `RULES` / `get_rule`: the rule registry (`kbtool.lint.rules`), `format_rules`, `format_rule_doc`

Modules: `rules` (the registry), `selection` (select/ignore/severity), `checks` (the
checks, by concern), `sensitive` (secrets and personal data), `duplicates` (MinHash
near-duplicates), `fix` (autofixes), `scope` (paths, --changed, suppressions),
`output` (formats and baselines), `result` (Finding, LintResult, LintError),
`parallel` (the per-article pass shared with forked workers on big KBs), `cache` (shingle
hashes and signatures kept between runs).

Rule selection follows ruff: `select` (default: every non-opt-in rule) minus `ignore`,
then `severity` overrides (`off` disables), `per_path_ignores`, and inline
`<!-- kbtool: disable=CODE[,CODE] -->` comments, which silence codes for that file.
Selectors are full codes, prefixes (`KB6`), rule names (`broken-link`) or `ALL`.
"""

from __future__ import annotations

import gc
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from ..config import Config
from ..content import DUPLICATE_ID, KB
from .checks import LintContext, review_due, run_checks
from .fix import diagnostic_fixable, fix, normalise_date
from .output import (
    FORMATS,
    apply_baseline,
    format_github,
    format_result,
    format_rule_doc,
    format_rules,
    format_sarif,
    format_statistics,
    format_text,
    gh_escape,
    load_baseline,
    summary_line,
    unknown_rule_message,
    write_baseline,
)
from .result import AppliedFix, Finding, LintError, LintResult, display_path
from .rules import BY_NAME, ERROR, FIXABLE, RULES, WARNING, Rule, RuleDoc, get_rule, is_known_selector, matches
from .scope import Scope, filter_findings, rel_to, resolved
from .selection import enabled_rules, severity_fn
from .sensitive import SensitiveScanner, luhn_ok, mask_token
from .tags import normalise_tag

__all__ = [
    "AppliedFix", "BY_NAME", "ERROR", "FIXABLE", "FORMATS", "Finding", "LintError", "LintResult", "RULES", "Rule",
    "RuleDoc", "SensitiveScanner", "WARNING", "apply_baseline", "changed_files", "display_path",
    "enabled_rules", "fix", "format_github", "format_result", "format_rule_doc", "format_rules", "format_sarif",
    "format_statistics", "format_text", "gc_paused", "get_rule", "gh_escape", "is_known_selector", "load_baseline", "luhn_ok",
    "mask_token", "matches", "normalise_date", "normalise_tag", "review_due", "run_lint", "summary_line",
    "unknown_rule_message", "write_baseline",
]


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


# --- the run ------------------------------------------------------------------------------


def run_lint(
    kb: KB,
    config: Config,
    today: date | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    paths: Iterable[Path] | None = None,
    changed: Iterable[Path] | None = None,
    jobs: int | None = None,
    cache_dir: Path | None = None,
) -> LintResult:
    """Lint a loaded KB. Cross-file rules always see the whole KB.

    `paths` limits the report to files under those paths; `changed` (files changed since a
    git ref, deleted ones included) limits it to findings on those files *or about them*
    (a link into a changed file, a duplicate of one). `jobs` caps the processes sharing the
    per-article checks (default: the usable cores, on a KB big enough to pay for a fork; 1:
    this process only); the findings are the same either way. `cache_dir` keeps what the
    duplicate checks compute per text between runs (`kbtool.lint.cache`; None: no cache),
    which changes their cost, never their findings. Raises `LintError` for unknown codes.
    """
    enabled = enabled_rules(config.lint, select, ignore)
    scope = Scope.of(paths, changed, kb.root)
    ctx = LintContext(kb, config, today or date.today(), enabled, severity_fn(config.lint),
                      focus=scope.checker_focus, focus_names=scope.focus_names if changed is not None else frozenset(),
                      unparsed=_unparsed(kb),
                      cache_file=_cache_file(cache_dir, kb) if cache_dir is not None else None)
    run_checks(ctx, jobs)
    ctx.findings.extend(_loader_findings(ctx))
    kept, suppressed = filter_findings(ctx.findings, scope, ctx.suppressions, config)
    all_files = {a.path for a in kb.articles} | {d.path for d in kb.diagnostics}
    scope_files = {f for f in all_files if scope.contains(f)}
    # files reported on: those in scope, plus (with `changed`) unchanged ones linking into them
    files = len(scope_files | {f.path for f in kept})
    return LintResult(kept, files, suppressed=suppressed)


def _cache_file(cache_dir: Path, kb: KB) -> Path:
    from .cache import cache_file  # numpy: only when a cache is asked for

    return cache_file(cache_dir, kb.root)


def _unparsed(kb: KB) -> dict[str, Path]:
    """Files that yielded no article at all (unreadable, no front-matter, bad YAML), by the
    id their name promises: references to that id follow from the file's own error."""
    loaded = {a.path for a in kb.articles}
    return {d.path.stem: d.path for d in kb.diagnostics if d.code.startswith("KB0") and d.path not in loaded}


def _loader_findings(ctx: LintContext) -> list[Finding]:
    """The loader's diagnostics (KB0xx, KB101-KB108) as findings, for the enabled rules."""
    kb = ctx.kb
    out = []
    by_file = {a.path: a for a in kb.articles}
    for d in kb.diagnostics:
        if d.code in RULES and d.code not in ctx.enabled:
            continue
        article = by_file.get(d.path)
        rel = article.rel_path if article else rel_to(d.path, kb.root)
        refs: tuple[Path, ...] = ()
        if d.code == DUPLICATE_ID and article is not None:
            first = kb.by_id.get(article.id)
            if first is not None and first is not article:
                refs = (resolved(first.path),)
        message = d.message
        if d.code.startswith("KB0") and (n := ctx.folded.pop(d.path, 0)):
            message += f" ({n} reference(s) to it from other files are not reported separately)"
        out.append(Finding(
            d.path, max(d.line, 1), max(d.column, 1), d.code, ctx.severity_of(d.code, article, d.severity),
            message, rel, refs, d.message, diagnostic_fixable(article, d),
        ))
    return out


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
