"""Which rules run and at what severity: `select`, `ignore` and `severity` (config and CLI).

Rule selection follows ruff: `select` (default: every non-opt-in rule) minus `ignore`,
then `severity` overrides (`off` disables). Selectors are full codes, prefixes (`KB6`),
rule names (`broken-link`) or `ALL`. (`per_path_ignores` and inline comments act on
findings afterwards: `kbtool.lint.scope`.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..config import LintConfig
from ..content import Article
from .result import LintError
from .rules import BY_NAME, ERROR, RULES, WARNING, did_you_mean, is_known_selector, matches

SeverityFn = Callable[..., str]  # (code, article | None, default=ERROR) -> "error" | "warning"


def check_selectors(where: str, selectors: Iterable[str]) -> list[str]:
    """The non-blank selectors; an unknown one raises `LintError` naming `where` it came from."""
    out = []
    for s in selectors:
        s = s.strip()
        if not s:
            continue
        if not is_known_selector(s):
            raise LintError(f"{where}: unknown rule code or prefix {s!r}{did_you_mean(s)}; "
                            "see `kbtool lint --list-rules`")
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
    sel = check_selectors("--select" if select is not None else "lint.select",
                          list(select) if select is not None else lc.select)
    ign = check_selectors("lint.ignore", lc.ignore) + check_selectors("--ignore", ignore)
    check_selectors("lint.severity", lc.severity)
    for glob, codes in lc.per_path_ignores.items():
        check_selectors(f"lint.per_path_ignores.{glob}", codes)
    if sel:
        chosen = {c for c in RULES if any(_selects(c, s) for s in sel)}
    else:
        chosen = {c for c, r in RULES.items() if r.default}
    chosen = {c for c in chosen if not any(matches(c, s) for s in ign)}
    return {c for c in chosen if severity_override(lc, c) != "off"}


def severity_override(lc: LintConfig, code: str) -> str | None:
    """The configured severity for `code` (the most specific matching selector wins), if any."""
    best: tuple[int, str] | None = None
    for sel, sev in lc.severity.items():
        if matches(code, sel):
            spec = _specificity(sel)
            if best is None or spec > best[0]:
                best = (spec, sev)
    return best[1] if best else None


def severity_fn(lc: LintConfig) -> SeverityFn:
    """`severity_of(code, article, default=ERROR)`: config override, else the rule's (by audience)."""
    cache: dict[str, str | None] = {}

    def severity_of(code: str, article: Article | None, default: str = ERROR) -> str:
        if code not in cache:
            cache[code] = severity_override(lc, code)
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
