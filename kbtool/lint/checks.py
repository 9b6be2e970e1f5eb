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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from difflib import get_close_matches
from pathlib import Path
from urllib.parse import unquote

from ..config import Config
from ..content import (
    ID_RE,
    KB,
    NUMBERED_STEP_RE,
    Article,
    Link,
    clip,
    fences,
    is_external,
    iter_prose_lines,
    legacy_page_file,
    legacy_url_path,
)
from .result import Finding
from .rules import did_you_mean, is_known_selector, rule_for
from .selection import SeverityFn
from .sensitive import SensitiveScanner
from .tags import TAG_RE, normalise_tag

SUPPRESS_RE = re.compile(r"<!--\s*kbtool:\s*disable=([^>]*?)\s*-->")
TODO_RE = re.compile(r"\b(?:TODO|FIXME)\b")


@dataclass
class LintContext:
    """One run's shared state: the KB, what is enabled, and where findings go."""

    kb: KB
    config: Config
    today: date
    enabled: set[str]
    severity_of: SeverityFn  # (code, article, default) -> severity
    focus: set[Path] | None = None  # changed files: pair findings prefer to sit on these
    findings: list[Finding] = field(default_factory=list)
    suppressions: dict[Path, list[str]] = field(default_factory=dict)  # file -> inline disable= selectors
    _real: dict[Path, Path] = field(default_factory=dict)

    def on(self, code: str) -> bool:
        return code in self.enabled

    def on_any(self, prefix: str) -> bool:
        return any(c.startswith(prefix) for c in self.enabled)

    def report(self, article: Article, code: str, line: int, column: int = 1, /, *, refs: Iterable[Path] = (),
               key: str = "", fixable: bool | None = None, **params: object) -> None:
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
            rule.format(**params), article.rel_path, tuple(refs), key, fixable,
        ))

    def real(self, a: Article) -> Path:
        """The article's fully resolved path (cached: resolving is a syscall per folder)."""
        p = self._real.get(a.path)
        if p is None:
            try:
                p = a.path.resolve()
            except (OSError, RuntimeError):
                p = a.path
            self._real[a.path] = p
        return p

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


def run_checks(ctx: LintContext) -> None:
    """Every check on every article, then the cross-file ones."""
    sensitive = SensitiveCheck.for_kb(ctx) if ctx.on_any("KB6") else None
    links = LinkCheck(ctx)
    for a in ctx.kb.articles:
        check_front_matter(ctx, a)
        check_structure(ctx, a)
        check_freshness(ctx, a)
        links.check(a)
        check_lines(ctx, a)
        if sensitive is not None:
            sensitive.check(a)
        check_style(ctx, a)
    live = [a for a in ctx.kb.articles if a.status != "retired"]
    check_duplicate_titles(ctx, live)
    check_near_duplicates(ctx, live)
    check_legacy_urls(ctx)


# --- KB109-KB117: front-matter, across files ------------------------------------------------


def _hint_id(kb: KB, value: str) -> str:
    close = get_close_matches(value, list(kb.by_id), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        ctx.report(a, "KB113", line, field="replaced_by", target=rb, hint=_hint_id(ctx.kb, rb))
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
            ctx.report(a, "KB113", a.line_of("related"), field="related", target=rid, hint=_hint_id(ctx.kb, rid))
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


# --- KB4xx: links ------------------------------------------------------------------------------


class LinkCheck:
    """KB401-KB405: every relative link and image resolves to a file, an anchor, and
    content the linking article's readers can see."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx
        self.kb = ctx.kb
        self.active = ctx.on_any("KB4")
        self._by_lexical: dict[str, Article] | None = None

    def check(self, a: Article) -> None:
        if not a.links or not self.active:
            return
        folder = str(a.path.parent)
        for link in a.links:
            target = link.target.strip()
            if not target:
                self.ctx.report(a, "KB404" if link.image else "KB401", link.line, link.column, target="",
                                problem="empty link target", hint="")
                continue
            if target.startswith("/") and not target.startswith("//"):
                self.ctx.report(a, "KB405", link.line, link.column, target=target,
                                problem="is a site-absolute path; link to the .md file with a relative path")
                continue
            path, t, anchor = self._target(a, folder, target)
            if path is None:
                continue  # external URL: not fetched
            if t is None:
                self._check_file(a, link, target, path)
                continue
            if anchor:
                self._check_anchor(a, link, t, unquote(anchor))
            if a.is_public and not t.is_public:
                self._check_visibility(a, link, target, t)

    def _target(self, a: Article, folder: str, target: str) -> tuple[Path | None, Article | None, str]:
        """(path, article, anchor) for a link, resolved as `KB.resolve_link` does. Article
        files are looked up lexically first, so most links cost no filesystem call."""
        if is_external(target):
            return None, None, ""
        path_part, _, anchor = target.partition("#")
        if not path_part:
            return a.path, a, anchor
        if self._by_lexical is None:
            self._by_lexical = {
                os.path.normpath(x.path): x for x in self.kb.articles if not os.path.islink(x.path)
            }
        hit = self._by_lexical.get(os.path.normpath(os.path.join(folder, unquote(path_part))))
        if hit is not None:
            return hit.path, hit, anchor
        path, anchor = self.kb.resolve_link(a, target)
        if path is None:
            return None, None, ""
        return path, self.kb.by_path.get(path), anchor

    def _check_file(self, a: Article, link: Link, target: str, path: Path) -> None:
        """A link to a file that is not an article: inside the KB, and existing."""
        if not path.is_relative_to(self.kb.root):
            self.ctx.report(a, "KB405", link.line, link.column, target=target,
                            problem="points outside the KB directory, so it breaks on the published site")
        elif not path.exists() or (path.is_dir() and not link.image):
            if link.image:
                self.ctx.report(a, "KB404", link.line, link.column, target=target, problem="does not exist",
                                refs=(path,))
            else:
                problem = "is a folder, not a file" if path.is_dir() else "no such file"
                self.ctx.report(a, "KB401", link.line, link.column, target=target, problem=problem,
                                refs=(path,), hint=_hint_file(path))
        # else: an existing file that is not an article (attachment, image): fine

    def _check_anchor(self, a: Article, link: Link, t: Article, slug: str) -> None:
        if slug not in t.anchors:
            close = get_close_matches(slug, sorted(t.anchors), n=1, cutoff=0.5)
            self.ctx.report(a, "KB402", link.line, link.column, anchor=slug,
                            target=t.rel_path if t is not a else "this article", refs=(self.ctx.real(t),),
                            hint=f" (did you mean '#{close[0]}'?)" if close else "")

    def _check_visibility(self, a: Article, link: Link, target: str, t: Article) -> None:
        """KB403: a public article links to content not on the public site."""
        if t.status == "retired":
            what, succ = "retired", self.kb.successor(t)
            hint = f" (link to its replacement {succ.path.name!r})" if succ else ""
        elif t.status in ("draft", "in-review"):
            what, hint = t.status, ""
        elif t.type == "runbook" or t.kind == "runbook":
            what, hint = "runbook", ""
        else:
            what, hint = "internal", ""
        self.ctx.report(a, "KB403", link.line, link.column, what=what, target=target, hint=hint,
                        refs=(self.ctx.real(t),), key=f"{target} {what}")


def _hint_file(path: Path) -> str:
    """` (did you mean 'x.md'?)` for a missing file with a near-namesake in its folder."""
    folder = path.parent
    name = path.name
    if path.is_dir() or not folder.is_dir():
        return ""
    if not name.endswith(".md") and (folder / f"{name}.md").is_file():
        return f" (did you mean '{name}.md'?)"
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return ""
    close = get_close_matches(name, names, n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
    for i, line in iter_prose_lines(body):
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

    def __init__(self, ctx: LintContext, scanner: SensitiveScanner, meta_text: dict[Path, str]) -> None:
        self.ctx = ctx
        self.scan = scanner.scan
        self.meta_text = meta_text

    @classmethod
    def for_kb(cls, ctx: LintContext) -> SensitiveCheck:
        """A check with its scanner prepared on the whole KB (bodies and front-matter values)."""
        scanner = SensitiveScanner(ctx.config)
        meta_text = {a.path: "\n".join(map(str, a.meta.values())) for a in ctx.kb.articles}
        scanner.prepare("\n".join([a.body for a in ctx.kb.articles] + list(meta_text.values())))
        return cls(ctx, scanner, meta_text)

    def check(self, a: Article) -> None:
        body = a.body
        for code, offset, params in self.scan(body):
            line = a.body_line + body.count("\n", 0, offset)
            col = offset - body.rfind("\n", 0, offset)
            self.ctx.report(a, code, line, col, key=f"{code} {params.get('masked', '')} {params.get('kind', '')}",
                            **params)
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
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


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
            at, ref = ctx.placed(other, first)
            ctx.report(at, "KB502", at.line_of("title"), other=ref.rel_path, refs=(ctx.real(ref),))


def check_near_duplicates(ctx: LintContext, live: list[Article]) -> None:
    """KB501: near-copies (title + body), except a retired article and its replacement."""
    if not ctx.on("KB501"):
        return
    from .duplicates import near_duplicates  # numpy: imported only when KB501 runs

    threshold = ctx.config.lint.duplicate_threshold
    texts = [f"{a.title}\n{a.body}" for a in live]
    for i, j, score in near_duplicates(texts, threshold):
        x, y = live[i], live[j]
        if x.replaced_by == y.id or y.replaced_by == x.id:
            continue
        at, ref = ctx.placed(x, y)
        ctx.report(at, "KB501", at.line_of("title"), other=ref.rel_path, percent=int(score * 100),
                   score=f"{score:.2f}", threshold=f"{threshold:g}", refs=(ctx.real(ref),),
                   key=f"dup {ref.rel_path}")
