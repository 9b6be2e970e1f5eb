"""The checks behind the lint rules (KB109+), grouped by concern. Each check reads
`Article`s from the loaded KB — never the files — and reports through
`LintContext.report`, which looks the rule up in the registry (an unknown code raises)
for the message template, the severity and whether `--fix` can fix it.

`run_checks(ctx)` runs them all: per article front-matter (KB109-KB116), structure
(KB2xx), freshness (KB3xx), links (KB4xx), the line pass (KB207, KB703, KB704, KB707 and
inline suppressions), sensitive data (KB6xx) and style (KB7xx); then the cross-file
checks, duplicates (KB5xx) and legacy URLs (KB117).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..config import Config
from ..content import (
    ID_RE,
    KB,
    NUMBERED_STEP_RE,
    Article,
    clip,
    fences,
    iter_prose_lines,
    legacy_page_file,
    legacy_url_path,
)
from .authoring import check_authoring
from .consistency import (
    CodeMessage,
    check_conflicting_codes,
    check_fixed_known_issue,
    check_undeclared_codes,
    collect_code_messages,
)
from .hints import CloseNames
from .links import LinkCheck
from .parallel import each_article, workers
from .result import Finding
from .rules import did_you_mean, is_known_selector, rule_for
from .selection import SeverityFn
from .sensitive import SensitiveScanner
from .tags import TAG_RE, normalise_tag

SUPPRESS_RE = re.compile(r"<!--\s*kbtool:\s*disable=([^>]*?)\s*-->")
TODO_RE = re.compile(r"\b(?:TODO|FIXME)\b")
_NOT_WORD_RE = re.compile(r"[\W_]+")


@dataclass
class LintContext:
    """One run's shared state: the KB, what is enabled, and where findings go."""

    kb: KB
    config: Config
    today: date
    enabled: set[str]
    severity_of: SeverityFn  # (code, article, default) -> severity
    focus: set[Path] | None = None  # changed files: pair findings prefer to sit on these
    focus_names: frozenset[str] = frozenset()  # the names a changed file can go by (`Scope.focus_names`)
    findings: list[Finding] = field(default_factory=list)
    suppressions: dict[Path, list[str]] = field(default_factory=dict)  # file -> inline disable= selectors
    _real: dict[Path, Path] = field(default_factory=dict)
    unparsed: dict[str, Path] = field(default_factory=dict)  # id (file stem) -> file that failed to parse
    folded: dict[Path, int] = field(default_factory=dict)  # unparsed file -> findings folded into its error
    code_messages: dict[str, list[CodeMessage]] = field(default_factory=dict)  # KB801: message -> its uses
    cache: dict[str, Any] = field(default_factory=dict)  # per-run lookups checks share (folder listings)
    _close: dict[str, CloseNames] = field(default_factory=dict)  # hint indexes, built on first use
    _focused: dict[Path, bool] = field(default_factory=dict)
    cache_file: Path | None = None  # the lint cache (`lint.cache`); None: none

    def __post_init__(self) -> None:
        if self.focus is not None and not self.focus_names:  # made by hand: the changed files' own names
            self.focus_names = frozenset(p.name for p in self.focus)

    def hint(self, index: str, names: Callable[[], Iterable[str]], query: str, cutoff: float) -> str | None:
        """The closest of `names()` to `query`, from an index built once per run and `index` key."""
        close = self._close.get(index)
        if close is None:
            close = self._close[index] = CloseNames(names())
        return close.best(query, cutoff)

    def follows_from_unparsed(self, article_id: str) -> bool:
        """True (and counted on that file) when `article_id` is unknown only because its file
        did not parse: one root cause, one finding."""
        path = self.unparsed.get(article_id)
        if path is None or article_id in self.kb.by_id:
            return False
        self.folded[path] = self.folded.get(path, 0) + 1
        return True

    def prose(self, a: Article) -> list[tuple[int, str]]:
        """The article's lines outside code fences, scanned once for all the line checks
        (kept for the article being checked only, so memory stays flat on big KBs)."""
        got = self.cache.get("prose")
        if got is None or got[0] is not a:
            got = self.cache["prose"] = (a, list(iter_prose_lines(a.body)))
        return got[1]

    def on(self, code: str) -> bool:
        return code in self.enabled

    def on_any(self, prefix: str) -> bool:
        return any(c.startswith(prefix) for c in self.enabled)

    def report(self, article: Article, code: str, line: int, column: int = 1, /, *, refs: Iterable[Path] = (),
               key: str = "", fixable: bool | None = None, end: tuple[int, int] = (0, 0), **params: object) -> None:
        """Add a finding for rule `code` (KeyError if no rule has that code) if it is enabled.

        `fixable` defaults to the rule's; False marks one finding the fixer cannot handle.
        """
        rule = rule_for(code)
        if fixable is None:
            fixable = rule.fixable
        elif fixable and not rule.fixable:
            raise ValueError(f"{code} is not fixable in the rule registry")
        if code not in self.enabled:
            return
        self.findings.append(Finding(
            article.path, max(line, 1), max(column, 1), code, self.severity_of(code, article),
            rule.format(**params), article.rel_path, tuple(refs), key, fixable, *end,
        ))

    def real(self, a: Article) -> Path:
        """The article's fully resolved path. Cached, and its folder's resolution shared by
        the folder's files: `resolve()` costs a syscall per path segment, and 10,000 of them
        took a third of a second. Only a file that is itself a symlink is resolved whole."""
        p = self._real.get(a.path)
        if p is None:
            path = a.path
            try:
                if os.path.islink(path):
                    p = path.resolve()
                else:
                    folder = self._real.get(path.parent)
                    if folder is None:
                        folder = self._real[path.parent] = path.parent.resolve()
                    p = folder / path.name
            except (OSError, RuntimeError):
                p = path
            self._real[path] = p
        return p

    def focused(self, a: Article) -> bool:
        """True if `a` is one of the changed files (`--changed`). Only a file of a changed
        file's name, or a symlink, is resolved: resolving all 10,000 costs a second."""
        if self.focus is None:
            return False
        if a.path.name not in self.focus_names:
            return False  # neither a changed file's name nor a symlink's: the usual case
        known = self._focused.get(a.path)
        if known is None:
            known = self._focused[a.path] = self.real(a) in self.focus
        return known

    def reports_pair(self, x: Article, y: Article) -> bool:
        """False when a finding about the pair cannot be reported (`--changed`, and neither
        changed): the pair checks skip it before placing and formatting it."""
        return self.focus is None or self.focused(x) or self.focused(y)

    def placed(self, x: Article, y: Article) -> tuple[Article, Article]:
        """(where a pair finding goes, the other): the changed one if only one changed,
        else the newer one (later `created`, then later path)."""
        if self.focus:
            fx, fy = self.real(x) in self.focus, self.real(y) in self.focus
            if fx != fy:
                return (x, y) if fx else (y, x)
        kx = (x.created or date.min, x.rel_path)
        ky = (y.created or date.min, y.rel_path)
        return (x, y) if kx > ky else (y, x)


def run_checks(ctx: LintContext, jobs: int | None = None) -> None:
    """Every check on every article, then the cross-file ones; `jobs` processes share the
    per-article pass (None: as many as pay off, 1: this process only)."""
    checked = in_focus(ctx)
    sensitive = SensitiveCheck(ctx) if ctx.on_any("KB6") else None
    links = LinkCheck(ctx)

    def begin(chunk: Sequence[Article]) -> None:
        if sensitive is not None:
            sensitive.prepare(a for a in chunk if a.path in checked)

    def check(a: Article) -> None:
        if a.path not in checked:
            collect_code_messages(ctx, a)  # KB801 compares every article's messages
            return
        check_front_matter(ctx, a)
        check_structure(ctx, a)
        check_freshness(ctx, a)
        links.check(a)
        check_lines(ctx, a)
        if sensitive is not None:
            sensitive.check(a)
        check_style(ctx, a)
        check_authoring(ctx, a)
        check_undeclared_codes(ctx, a)
        collect_code_messages(ctx, a)
        check_fixed_known_issue(ctx, a)

    live = [a for a in ctx.kb.articles if a.status != "retired"]
    # A per-article pass of a few files (`--changed`) leaves the other cores idle: the
    # duplicate checks' shingling, then most of the run, starts on them now. Otherwise the
    # cores are the pass's, and the shingling waits for `cross_file`, in the parent.
    spare = workers(jobs, len(checked)) < 2 and workers(jobs, len(ctx.kb.articles)) > 1
    early = NearDuplicates(ctx, live, workers(jobs, len(ctx.kb.articles))) if spare else None

    def cross_file() -> None:
        check_duplicate_titles(ctx, live)
        (early or NearDuplicates(ctx, live)).check()

    try:
        each_article(ctx, ctx.kb.articles, check, cross_file, begin=begin, jobs=jobs, work=len(checked))
    finally:
        if early is not None:
            early.stop()  # a failed or interrupted run leaves no child behind (a no-op once checked)
    check_conflicting_codes(ctx)
    check_legacy_urls(ctx)


def in_focus(ctx: LintContext) -> set[Path]:
    """The articles whose per-article findings a run can report: all of them, or with
    `--changed` the changed ones plus those pointing at one (a link, `related` or
    `replaced_by` naming a changed file by its stem or id), whose findings carry the
    changed file in their refs. Name matching is a superset of real resolution, so the
    report is exactly the full run's, filtered, without checking the whole KB."""
    articles = ctx.kb.articles
    if ctx.focus is None:
        return {a.path for a in articles}
    changed = [a for a in articles if ctx.focused(a)]
    names = {p.stem for p in ctx.focus} | {a.path.stem for a in changed} | {a.id for a in changed}
    if not names:
        return set()
    # one pattern for "some name is in this target": a search per link, not one per name
    named = re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))))
    return {a.path for a in changed} | {a.path for a in articles if _names_any(a, names, named)}


def _names_any(a: Article, names: set[str], named: re.Pattern[str]) -> bool:
    """True if a link, `related` or `replaced_by` of `a` may name one of `names` (ids or
    file stems; `named` finds any of them in a string): any path segment of a link target,
    less its extension, counts."""
    if a.replaced_by in names or any(r in names for r in a.related):
        return True
    for link in a.links:
        target = link.target
        if "%" not in target and named.search(target) is None:
            continue  # no name in it, even as a substring: the usual case, decided fast
        for part in unquote(target.partition("#")[0]).split("/"):
            if os.path.splitext(part)[0] in names:
                return True
    return False


# --- KB109-KB117: front-matter, across files ------------------------------------------------


def _hint_id(ctx: LintContext, value: str) -> str:
    close = ctx.hint("ids", lambda: ctx.kb.by_id, value, 0.6)
    return f" (did you mean {close!r}?)" if close else ""


def check_front_matter(ctx: LintContext, a: Article) -> None:
    """KB109-KB116: id vs file name, dates, retirement, replacement, related, public runbooks."""
    raw_id = a.meta.get("id")
    if isinstance(raw_id, str) and ID_RE.match(raw_id.strip()) and a.id != a.path.stem:
        ctx.report(a, "KB109", a.line_of("id"), id=a.id, stem=a.path.stem)
    if a.created and a.last_reviewed and a.last_reviewed < a.created:
        ctx.report(a, "KB110", a.line_of("last_reviewed"), reviewed=a.last_reviewed, created=a.created)
    for fname, value in (("created", a.created), ("last_reviewed", a.last_reviewed)):
        if value and value > ctx.today:
            ctx.report(a, "KB111", a.line_of(fname), field=fname, value=value, today=ctx.today,
                       key=f"{fname} in the future")
    if a.status == "retired" and not a.replaced_by:
        ctx.report(a, "KB112", a.line_of("status"))
    if a.replaced_by:
        check_replacement(ctx, a)
    check_related(ctx, a)
    if a.kind == "runbook" and a.audience and a.audience != "internal":
        ctx.report(a, "KB116", a.line_of("audience"), audience=a.audience)


def check_replacement(ctx: LintContext, a: Article) -> None:
    """KB113/KB115: `replaced_by` names a live, published article that others may see."""
    rb = a.replaced_by or ""
    target = ctx.kb.by_id.get(rb)
    line = a.line_of("replaced_by")
    if a.status and a.status != "retired":
        ctx.report(a, "KB115", line, target=rb, problem=f"is set but status is {a.status!r}, not 'retired'")
        return
    if target is None:
        if not ctx.follows_from_unparsed(rb):
            ctx.report(a, "KB113", line, field="replaced_by", target=rb, hint=_hint_id(ctx, rb))
        return
    problem = ""
    if target is a or target.path == a.path:
        problem = "is the article itself"
    elif target.status == "retired":
        if ctx.kb.successor(a) is None:
            problem = "is retired too and its replaced_by chain never reaches a live article"
    elif target.status != "published":
        problem = f"is not published (status {target.status!r})"
    elif a.audience == "public" and target.audience == "internal":
        problem = "is internal: customers following the old public URL cannot see it"
    if problem:
        ctx.report(a, "KB115", line, target=rb, problem=problem, refs=(ctx.real(target),))


def check_related(ctx: LintContext, a: Article) -> None:
    """KB113/KB114: every `related` id exists and may be shown next to this article."""
    for rid in a.related:
        target = ctx.kb.by_id.get(rid)
        if target is None:
            if not ctx.follows_from_unparsed(rid):
                ctx.report(a, "KB113", a.line_of("related"), field="related", target=rid, hint=_hint_id(ctx, rid))
            continue
        what = _related_problem(ctx.kb, a, target)
        if what:
            ctx.report(a, "KB114", a.line_of("related"), target=rid, what=what, refs=(ctx.real(target),),
                       key=f"related {rid} {target.status} {target.audience}")


def _related_problem(kb: KB, a: Article, target: Article) -> str:
    """Why `a` must not list `target` as related ("" when it may)."""
    if a.status == "published" and target.status in ("draft", "retired"):
        if target.status == "draft":
            return "a draft"
        succ = kb.successor(target)
        return "retired" + (f" (replaced by {succ.id!r})" if succ else "")
    if a.is_public and not target.is_public:
        if target.status == "in-review":
            return "still in review, so not on the public site"
        what = "a runbook" if target.type == "runbook" or target.kind == "runbook" else "internal"
        return what + ": public articles must not point at internal content"
    return ""


def check_legacy_urls(ctx: LintContext) -> None:
    """KB117: one old path, one article (the site can write only one redirect page there)."""
    if not ctx.on("KB117"):
        return
    claims: dict[str, list[tuple[Article, str]]] = {}
    for a in ctx.kb.articles:
        for url in a.legacy_urls:
            path = legacy_url_path(url)[0]
            if path is not None:
                claims.setdefault(legacy_page_file(path), []).append((a, url))
    for members in claims.values():
        owners = list({id(a): (a, url) for a, url in members}.values())  # one article listing it twice: fine
        if len(owners) < 2:
            continue
        owners.sort(key=lambda m: (m[0].created or date.min, m[0].rel_path))
        first = owners[0][0]
        for other, url in owners[1:]:
            at, ref = ctx.placed(other, first)
            at_url = url if at is other else owners[0][1]
            ctx.report(at, "KB117", at.line_of("legacy_urls"), url=at_url, other=ref.rel_path,
                       refs=(ctx.real(ref),), key=f"legacy {legacy_url_path(at_url)[0]}")


# --- KB2xx: structure ------------------------------------------------------------------------


def check_structure(ctx: LintContext, a: Article) -> None:
    check_sections(ctx, a)
    check_headings(ctx, a)


def check_sections(ctx: LintContext, a: Article) -> None:
    """KB201-KB203: the sections the article's type requires, present, filled, steps numbered."""
    for required in ctx.config.sections.get(a.type, []):
        names = [n.strip() for n in required.split("|") if n.strip()]
        sec = next((s for n in names if (s := a.section(n)) is not None), None)
        if sec is None:
            ctx.report(a, "KB201", a.line_of("type"), type=a.type, section=" | ## ".join(names),
                       key=f"missing {required}")
        elif not sec.text.strip():
            ctx.report(a, "KB202", sec.line, section=sec.title)
    if a.type in ("runbook", "howto"):
        steps = a.section("Steps")
        if steps is not None and steps.text.strip() and not NUMBERED_STEP_RE.search(steps.text):
            ctx.report(a, "KB203", steps.line, kind=a.type)


def check_headings(ctx: LintContext, a: Article) -> None:
    """KB204-KB206: one H1 at most, matching the title; no skipped levels."""
    h1 = [h for h in a.headings if h.level == 1]
    if len(h1) > 1:
        ctx.report(a, "KB204", h1[1].line, count=len(h1), key="multiple h1")
    elif len(h1) == 1 and a.title and norm_title(h1[0].text) != norm_title(a.title):
        h1_text, title = (clip(t, 60, at_word=1, trim="") for t in (h1[0].text, a.title))  # quoted verbatim
        ctx.report(a, "KB205", h1[0].line, h1=h1_text, title=title)
    prev = 1
    for h in a.headings:
        if h.level > prev + 1:
            ctx.report(a, "KB206", h.line, prev=prev, level=h.level, key=f"skip {h.text}")
        prev = h.level


# --- KB3xx: freshness -------------------------------------------------------------------------


def review_due(a: Article, default_every: int) -> date | None:
    """When a published article's next review is due: `last_reviewed` plus its own
    `review_every`, else the KB's (`Config.review_every`). None for unpublished articles
    and those without a review date. Public so insights flags "stale" exactly as lint does."""
    if a.status != "published" or a.last_reviewed is None:
        return None
    return a.last_reviewed + timedelta(days=a.review_every or default_every)


def check_freshness(ctx: LintContext, a: Article) -> None:
    """KB301/KB302: a published article's review is overdue, or due soon."""
    due = review_due(a, ctx.config.review_every)
    if due is None or a.last_reviewed is None or a.last_reviewed > ctx.today:
        return
    every = a.review_every or ctx.config.review_every
    line = a.line_of("last_reviewed")
    if due < ctx.today:
        ctx.report(a, "KB301", line, days=(ctx.today - due).days, reviewed=a.last_reviewed, every=every,
                   due=due, key=f"overdue since {due}")
    elif (due - ctx.today).days <= ctx.config.lint.review_warn_days:
        ctx.report(a, "KB302", line, days=(due - ctx.today).days, due=due, reviewed=a.last_reviewed,
                   key=f"due {due}")


# --- the line pass: KB207 fences, KB703 TODOs, KB704 trailing whitespace, KB707 suppressions ---


def check_lines(ctx: LintContext, a: Article) -> None:
    body = a.body
    if "```" in body or "~~~" in body:
        unclosed = next((f for f in fences(body) if not f.closed), None)
        if unclosed is not None:
            ctx.report(a, "KB207", a.body_line + unclosed.start, fence=unclosed.marker)
    # Only walk the lines when one of the line checks can fire (most files: none).
    if not ("kbtool:" in body or "TODO" in body or "FIXME" in body or " \n" in body or "\t\n" in body
            or body.endswith((" ", "\t"))):
        return
    selectors: list[str] = []
    for i, line in ctx.prose(a):
        lineno = a.body_line + i
        if "kbtool:" in line:
            selectors.extend(_suppressions(ctx, a, lineno, line))
        if "TODO" in line or "FIXME" in line:
            for tm in TODO_RE.finditer(line):
                ctx.report(a, "KB703", lineno, tm.start() + 1, marker=tm.group(0), key=f"{tm.group(0)} {line.strip()}")
        if line.endswith((" ", "\t")):
            _trailing_whitespace(ctx, a, lineno, line)
    if selectors:
        ctx.suppressions[a.path] = selectors


def _suppressions(ctx: LintContext, a: Article, lineno: int, line: str) -> list[str]:
    """The selectors of the line's `<!-- kbtool: disable=... -->` comments; KB707 for unknown ones."""
    out = []
    for sm in SUPPRESS_RE.finditer(line):
        for code in re.split(r"[\s,]+", sm.group(1).strip()):
            if not code:
                continue
            if is_known_selector(code):
                out.append(code)
            else:
                ctx.report(a, "KB707", lineno, sm.start() + 1, code=code, hint=did_you_mean(code, names=False))
    return out


def _trailing_whitespace(ctx: LintContext, a: Article, lineno: int, line: str) -> None:
    """KB704, except for exactly two spaces after text (Markdown's hard line break)."""
    stripped = line.rstrip(" \t")
    trail = line[len(stripped):]
    if trail != "  " and stripped:
        ctx.report(a, "KB704", lineno, len(stripped) + 1, key=f"ws {line.strip()}")
    elif not stripped and line:
        ctx.report(a, "KB704", lineno, 1, key="ws blank line")


# --- KB6xx: sensitive data ---------------------------------------------------------------------


class SensitiveCheck:
    """KB601-KB607 in the body and the front-matter values of each article."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx
        self.scanner = SensitiveScanner(ctx.config)
        self.scan = self.scanner.scan
        self.meta_text: dict[Path, str] = {}

    def prepare(self, articles: Iterable[Article]) -> None:
        """Ready the scanner for the articles about to be checked (a chunk of the KB, or all
        of it): their front-matter values as text, and only the token patterns that match
        somewhere in them (one fast pass per pattern instead of one per article)."""
        articles = list(articles)
        self.meta_text = {a.path: "\n".join(map(str, a.meta.values())) for a in articles}
        self.scanner.prepare("\n".join([a.body for a in articles] + list(self.meta_text.values())))

    def check(self, a: Article) -> None:
        body = a.body
        for code, offset, params in self.scan(body):
            line = a.body_line + body.count("\n", 0, offset)
            col = offset - body.rfind("\n", 0, offset)
            params = dict(params)
            stop = int(params.pop("end", offset))
            end = (line + body.count("\n", offset, stop), stop - body.rfind("\n", 0, stop))
            self.ctx.report(a, code, line, col, key=f"{code} {params.get('masked', '')} {params.get('kind', '')}",
                            end=end, **params)
        meta_text = self.meta_text.get(a.path)
        if meta_text is None:
            meta_text = "\n".join(map(str, a.meta.values()))
        if meta_text and self.scan(meta_text):  # the common case, nothing there, needs no locating
            self._check_front_matter(a)

    def _check_front_matter(self, a: Article) -> None:
        """Scan the string values again, joined, to tell which key each hit is in."""
        keys: list[str] = []
        starts: list[int] = []
        parts: list[str] = []
        pos = 0
        for key, value in a.meta.items():
            for s in _strings(value):
                keys.append(str(key))
                starts.append(pos)
                parts.append(s)
                pos += len(s) + 1
        if parts:
            for code, offset, params in self.scan("\n".join(parts)):
                key = keys[bisect_right(starts, offset) - 1]
                params = {k: v for k, v in params.items() if k != "end"}  # a front-matter line has no body span
                self.ctx.report(a, code, a.line_of(key), 1, key=f"{code} {key} {params.get('masked', '')}", **params)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, str):
                yield v


# --- KB7xx: style --------------------------------------------------------------------------------


def check_style(ctx: LintContext, a: Article) -> None:
    """KB701/KB702: summary and title lengths; KB705/KB706: tag spelling and order."""
    lc = ctx.config.lint
    if a.summary and len(a.summary) > lc.max_summary:
        ctx.report(a, "KB701", a.line_of("summary"), length=len(a.summary), limit=lc.max_summary, key="summary")
    if a.title and len(a.title) > lc.max_title:
        ctx.report(a, "KB702", a.line_of("title"), length=len(a.title), limit=lc.max_title, key="title")
    if isinstance(a.meta.get("tags"), list):
        check_tags(ctx, a)


def check_tags(ctx: LintContext, a: Article) -> None:
    seen: set[str] = set()
    for t in a.tags:
        norm = normalise_tag(t)
        if norm in seen:
            ctx.report(a, "KB705", a.line_of("tags"), tag=t, problem="is listed twice", key=f"dup {t}")
        elif not TAG_RE.match(t):
            ok = bool(TAG_RE.match(norm))
            ctx.report(a, "KB705", a.line_of("tags"), tag=t, fixable=ok,
                       problem="is not a lowercase slug" + (f" (use {norm!r})" if ok else ""))
        seen.add(norm)
    if ctx.on("KB706") and a.tags != sorted(a.tags):
        ctx.report(a, "KB706", a.line_of("tags"))


# --- KB5xx: duplicates (cross-file) ---------------------------------------------------------------


def norm_title(text: str) -> str:
    """A title compared ignoring case, punctuation and spacing."""
    return " ".join(_NOT_WORD_RE.sub(" ", text.casefold()).split())


def check_duplicate_titles(ctx: LintContext, live: list[Article]) -> None:
    """KB502: live articles with the same title; the finding sits on the newer one."""
    if not ctx.on("KB502"):
        return
    groups: dict[str, list[Article]] = {}
    for a in live:
        t = norm_title(a.title)
        if t:
            groups.setdefault(t, []).append(a)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: (m.created or date.min, m.rel_path))
        first = members[0]
        for other in members[1:]:
            if not ctx.reports_pair(other, first):
                continue
            at, ref = ctx.placed(other, first)
            ctx.report(at, "KB502", at.line_of("title"), other=ref.rel_path, refs=(ctx.real(ref),))


class NearDuplicates:
    """KB501: near-copies (title + body); KB503: an article contained in a longer one. A
    retired article and its replacement are never a pair. Made before the per-article pass
    so that, with `jobs` 2 or more, a forked child shingles meanwhile (`cache.Shingling`);
    `check()` then reports."""

    def __init__(self, ctx: LintContext, live: list[Article], jobs: int = 1) -> None:
        from .cache import Shingling  # numpy: only when needed
        from .duplicates import Copies

        self.ctx, self.live = ctx, live
        self.wanted = (ctx.on("KB501") or ctx.on("KB503")) and len(live) >= 2
        self.copies = Copies.fold(f"{a.title}\n{a.body}" for a in live) if self.wanted else Copies([], [])
        # the last 60% to the child: the caller's own work (the per-article pass) comes first
        self.shingling = Shingling(self.copies.texts, ctx.cache_file, jobs, share=0.6) if self.wanted else None

    def stop(self) -> None:
        if self.shingling is not None:
            self.shingling.stop()

    def check(self) -> None:
        if self.shingling is None:
            return
        from .duplicates import MIN_SHINGLES, ShingleSets, contained, near_duplicates

        ctx, live, copies = self.ctx, self.live, self.copies
        threshold = ctx.config.lint.duplicate_threshold
        texts = copies.texts
        sh = self.shingling.result()
        shingles = (sh.hashes, sh.bounds)
        focus = [i for i, a in enumerate(live) if ctx.focused(a)] if ctx.focus is not None else None
        # every text's exact shingle set, shared by both checks; with a focus each check sets
        # apart the few texts it weighs instead
        sets = ShingleSets(*shingles) if focus is None else None
        folded_focus = copies.focus(focus)
        # KB503 skips the near pairs. A near pair's sizes are within `threshold` of each other and
        # a contained part is at most 3/4 of its whole, so above 0.75 no near pair can be a
        # contained one and the near pairs outside the focus need not be weighed at all.
        near_focus = focus if threshold > 0.75 else None
        near: list[tuple[int, int, float]] = []
        if ctx.on("KB501"):
            near = near_duplicates(texts, threshold, shingles=shingles, sets=sets, signatures=sh.signatures,
                                   focus=copies.focus(near_focus))
            eligible = (sh.bounds[:, 1] - sh.bounds[:, 0]) >= MIN_SHINGLES
            for i, j, score in copies.near(near, eligible, near_focus):
                x, y = live[i], live[j]
                if _replacement_pair(x, y) or not ctx.reports_pair(x, y):
                    continue
                at, ref = ctx.placed(x, y)
                ctx.report(at, "KB501", at.line_of("title"), other=ref.rel_path, percent=int(score * 100),
                           score=f"{score:.2f}", threshold=f"{threshold:g}", refs=(ctx.real(ref),),
                           key=f"dup {ref.rel_path}")
        if ctx.on("KB503"):
            skip = {(min(u, v), max(u, v)) for u, v, _ in near}
            found = contained(texts, threshold, skip, shingles=shingles, focus=folded_focus, sets=sets,
                              weights=copies.weights)
            for part, whole, score in copies.contained(found, focus):
                x, y = live[part], live[whole]
                if not _replacement_pair(x, y) and ctx.reports_pair(x, y):
                    ctx.report(x, "KB503", x.line_of("title"), other=y.rel_path, percent=int(score * 100),
                               threshold=f"{threshold:g}", refs=(ctx.real(y),), key=f"contained {y.rel_path}")


def _replacement_pair(x: Article, y: Article) -> bool:
    return x.replaced_by == y.id or y.replaced_by == x.id
