"""The checks behind the lint rules (KB109+). Each check reads `Article`s from the loaded
KB — never the files — and reports through `Checker.report`, which looks up the rule in
the registry for the message template and decides the severity.
"""

from __future__ import annotations

import ipaddress
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from difflib import get_close_matches
from pathlib import Path
from urllib.parse import unquote

from .config import Config
from .content import (
    _FENCE_RE, ID_RE, KB, Article, is_external, iter_prose_lines, legacy_page_file, legacy_url_path,
)
from .lint_rules import RULES, is_known_selector


@dataclass(frozen=True)
class Finding:
    """One reported problem. `line`/`column` are 1-based (1:1 for whole-file problems)."""

    path: Path
    line: int
    column: int
    code: str
    severity: str
    message: str
    rel_path: str  # posix, relative to the KB root: stable across working dirs (baselines)
    refs: tuple[Path, ...] = ()  # other files the finding is about (link targets, duplicates)
    key: str = ""  # stable identity for baselines; defaults to the message
    fixable: bool = False

    @property
    def identity(self) -> str:
        return self.key or self.message


@dataclass
class Checker:
    kb: KB
    config: Config
    today: date
    enabled: set[str]
    severity_of: Callable[[str, Article | None], str]
    focus: set[Path] | None = None  # changed files: pair findings prefer to sit on these
    findings: list[Finding] = field(default_factory=list)
    suppressions: dict[Path, list[str]] = field(default_factory=dict)
    _scanner: SensitiveScanner | None = None
    _real: dict[Path, Path] = field(default_factory=dict)
    _by_lexical: dict[str, Article] | None = None
    _meta_text: dict[Path, str] = field(default_factory=dict)

    def on(self, code: str) -> bool:
        return code in self.enabled

    def report(self, article: Article, code: str, line: int, column: int = 1, /, *, refs: Iterable[Path] = (),
               key: str = "", fixable: bool = False, **params: object) -> None:
        if code not in self.enabled:
            return
        message = RULES[code].format(**params)
        self.findings.append(Finding(
            article.path, max(line, 1), max(column, 1), code, self.severity_of(code, article), message,
            article.rel_path, tuple(refs), key, fixable,
        ))

    # --- driver -----------------------------------------------------------------

    def check_all(self) -> None:
        sensitive = any(c.startswith("KB6") for c in self.enabled)
        if sensitive:
            self._scanner = SensitiveScanner(self.config)
            self._meta_text = {a.path: "\n".join(map(str, a.meta.values())) for a in self.kb.articles}
            self._scanner.prepare("\n".join([a.body for a in self.kb.articles] + list(self._meta_text.values())))
        for a in self.kb.articles:
            self.check_schema(a)
            self.check_structure(a)
            self.check_freshness(a)
            self.check_links(a)
            self.check_lines(a)
            if sensitive:
                self.check_sensitive(a)
            self.check_style(a)
        self.check_duplicates()
        self.check_legacy_urls()

    # --- KB1xx: schema (cross-file) ---------------------------------------------

    def _hint_id(self, value: str) -> str:
        close = get_close_matches(value, list(self.kb.by_id), n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def check_schema(self, a: Article) -> None:
        kb = self.kb
        raw_id = a.meta.get("id")
        if isinstance(raw_id, str) and ID_RE.match(raw_id.strip()) and a.id != a.path.stem:
            self.report(a, "KB109", a.line_of("id"), id=a.id, stem=a.path.stem)
        if a.created and a.last_reviewed and a.last_reviewed < a.created:
            self.report(a, "KB110", a.line_of("last_reviewed"), reviewed=a.last_reviewed, created=a.created)
        for fname, value in (("created", a.created), ("last_reviewed", a.last_reviewed)):
            if value and value > self.today:
                self.report(a, "KB111", a.line_of(fname), field=fname, value=value, today=self.today,
                            key=f"{fname} in the future")
        if a.status == "retired" and not a.replaced_by:
            self.report(a, "KB112", a.line_of("status"))
        if a.replaced_by:
            self._check_replacement(a)
        for rid in a.related:
            target = kb.by_id.get(rid)
            if target is None:
                self.report(a, "KB113", a.line_of("related"), field="related", target=rid, hint=self._hint_id(rid))
                continue
            what = ""
            if a.status == "published" and target.status in ("draft", "retired"):
                what = "a draft" if target.status == "draft" else "retired"
                if target.status == "retired":
                    succ = kb.successor(target)
                    what += f" (replaced by {succ.id!r})" if succ else ""
            elif a.is_public and not target.is_public:
                if target.status == "in-review":
                    what = "still in review, so not on the public site"
                else:
                    what = "a runbook" if target.type == "runbook" or target.kind == "runbook" else "internal"
                    what += ": public articles must not point at internal content"
            if what:
                self.report(a, "KB114", a.line_of("related"), target=rid, what=what, refs=(self.real(target),),
                            key=f"related {rid} {target.status} {target.audience}")
        if a.kind == "runbook" and a.audience and a.audience != "internal":
            self.report(a, "KB116", a.line_of("audience"), audience=a.audience)

    def check_legacy_urls(self) -> None:
        """KB117: one old path, one article (the site can write only one redirect page there)."""
        if not self.on("KB117"):
            return
        claims: dict[str, list[tuple[Article, str]]] = {}
        for a in self.kb.articles:
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
                at, ref = self._placed(other, first)
                at_url = url if at is other else owners[0][1]
                self.report(at, "KB117", at.line_of("legacy_urls"), url=at_url, other=ref.rel_path,
                            refs=(self.real(ref),), key=f"legacy {legacy_url_path(at_url)[0]}")

    def _check_replacement(self, a: Article) -> None:
        rb = a.replaced_by or ""
        target = self.kb.by_id.get(rb)
        line = a.line_of("replaced_by")
        if a.status and a.status != "retired":
            self.report(a, "KB115", line, target=rb, problem=f"is set but status is {a.status!r}, not 'retired'")
            return
        if target is None:
            self.report(a, "KB113", line, field="replaced_by", target=rb, hint=self._hint_id(rb))
            return
        problem = ""
        if target is a or target.path == a.path:
            problem = "is the article itself"
        elif target.status == "retired":
            if self.kb.successor(a) is None:
                problem = "is retired too and its replaced_by chain never reaches a live article"
        elif target.status != "published":
            problem = f"is not published (status {target.status!r})"
        elif a.audience == "public" and target.audience == "internal":
            problem = "is internal: customers following the old public URL cannot see it"
        if problem:
            self.report(a, "KB115", line, target=rb, problem=problem, refs=(self.real(target),))

    # --- KB2xx: structure ---------------------------------------------------------

    def check_structure(self, a: Article) -> None:
        for required in self.config.sections.get(a.type, []):
            names = [n.strip() for n in required.split("|") if n.strip()]
            sec = next((s for n in names if (s := a.section(n)) is not None), None)
            if sec is None:
                self.report(a, "KB201", a.line_of("type"), type=a.type, section=" | ## ".join(names),
                            key=f"missing {required}")
            elif not sec.text.strip():
                self.report(a, "KB202", sec.line, section=sec.title)
        if a.type in ("runbook", "howto"):
            steps = a.section("Steps")
            if steps is not None and steps.text.strip() and not _NUMBERED_RE.search(steps.text):
                self.report(a, "KB203", steps.line, kind=a.type)
        h1 = [h for h in a.headings if h.level == 1]
        if len(h1) > 1:
            self.report(a, "KB204", h1[1].line, count=len(h1), key="multiple h1")
        elif len(h1) == 1 and a.title and _norm_title(h1[0].text) != _norm_title(a.title):
            self.report(a, "KB205", h1[0].line, h1=_clip(h1[0].text), title=_clip(a.title))
        prev = 1
        for h in a.headings:
            if h.level > prev + 1:
                self.report(a, "KB206", h.line, prev=prev, level=h.level, key=f"skip {h.text}")
            prev = h.level

    # --- KB3xx: freshness ---------------------------------------------------------

    def check_freshness(self, a: Article) -> None:
        if a.status != "published" or a.last_reviewed is None or a.last_reviewed > self.today:
            return
        every = a.review_every or self.config.review_every
        due = a.last_reviewed + timedelta(days=every)
        line = a.line_of("last_reviewed")
        if due < self.today:
            self.report(a, "KB301", line, days=(self.today - due).days, reviewed=a.last_reviewed, every=every,
                        due=due, key=f"overdue since {due}")
        elif (due - self.today).days <= self.config.lint.review_warn_days:
            self.report(a, "KB302", line, days=(due - self.today).days, due=due, reviewed=a.last_reviewed,
                        key=f"due {due}")

    # --- KB4xx: links ---------------------------------------------------------------

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

    def _link_target(self, a: Article, folder: str, target: str) -> tuple[Path | None, Article | None, str]:
        """(path, article, anchor) for a link, resolved as `KB.resolve_link` does. Article
        files are looked up lexically first, so most links cost no filesystem call; the
        returned path is then None-checked by the caller and `real(article)` is used."""
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

    def check_links(self, a: Article) -> None:
        if not a.links or not any(c.startswith("KB4") for c in self.enabled):
            return
        kb = self.kb
        folder = str(a.path.parent)
        for link in a.links:
            target = link.target.strip()
            if not target:
                self.report(a, "KB404" if link.image else "KB401", link.line, link.column, target="",
                            problem="empty link target", hint="")
                continue
            if target.startswith("/") and not target.startswith("//"):
                self.report(a, "KB405", link.line, link.column, target=target,
                            problem="is a site-absolute path; link to the .md file with a relative path")
                continue
            path, t, anchor = self._link_target(a, folder, target)
            if path is None:
                continue  # external URL: not fetched
            if t is None:
                if not path.is_relative_to(kb.root):
                    self.report(a, "KB405", link.line, link.column, target=target,
                                problem="points outside the KB directory, so it breaks on the published site")
                elif not path.exists() or (path.is_dir() and not link.image):
                    if link.image:
                        self.report(a, "KB404", link.line, link.column, target=target, problem="does not exist",
                                    refs=(path,))
                    else:
                        problem = "is a folder, not a file" if path.is_dir() else "no such file"
                        self.report(a, "KB401", link.line, link.column, target=target, problem=problem,
                                    refs=(path,), hint=self._hint_file(path))
                continue  # an existing file that is not an article (attachment, image): fine
            if anchor:
                slug = unquote(anchor)
                if slug not in t.anchors:
                    close = get_close_matches(slug, sorted(t.anchors), n=1, cutoff=0.5)
                    self.report(a, "KB402", link.line, link.column, anchor=slug,
                                target=t.rel_path if t is not a else "this article", refs=(self.real(t),),
                                hint=f" (did you mean '#{close[0]}'?)" if close else "")
            if a.is_public and not t.is_public:
                if t.status == "retired":
                    what, succ = "retired", kb.successor(t)
                    hint = f" (link to its replacement {succ.path.name!r})" if succ else ""
                elif t.status in ("draft", "in-review"):
                    what, hint = t.status, ""
                elif t.type == "runbook" or t.kind == "runbook":
                    what, hint = "runbook", ""
                else:
                    what, hint = "internal", ""
                self.report(a, "KB403", link.line, link.column, what=what, target=target, hint=hint,
                            refs=(self.real(t),), key=f"{target} {what}")

    def _hint_file(self, path: Path) -> str:
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

    # --- line pass: fences, TODOs, trailing whitespace, suppressions ---------------------

    def check_lines(self, a: Article) -> None:
        body = a.body
        if "```" in body or "~~~" in body:
            open_fence = unclosed_fence(body)
            if open_fence is not None:
                self.report(a, "KB207", a.body_line + open_fence[0], fence=open_fence[1])
        # Only walk the lines when one of the line checks can fire (most files: none).
        if not ("kbtool:" in body or "TODO" in body or "FIXME" in body or " \n" in body or "\t\n" in body
                or body.endswith((" ", "\t"))):
            return
        selectors: list[str] = []
        for i, line in iter_prose_lines(body):
            lineno = a.body_line + i
            if "kbtool:" in line:
                for sm in _SUPPRESS_RE.finditer(line):
                    for code in re.split(r"[\s,]+", sm.group(1).strip()):
                        if not code:
                            continue
                        if is_known_selector(code):
                            selectors.append(code)
                        else:
                            close = get_close_matches(code.upper(), list(RULES), n=1, cutoff=0.6)
                            self.report(a, "KB707", lineno, sm.start() + 1, code=code,
                                        hint=f" (did you mean {close[0]!r}?)" if close else "")
            if "TODO" in line or "FIXME" in line:
                for tm in _TODO_RE.finditer(line):
                    self.report(a, "KB703", lineno, tm.start() + 1, marker=tm.group(0), key=f"{tm.group(0)} {line.strip()}")
            if line.endswith((" ", "\t")):
                stripped = line.rstrip(" \t")
                trail = line[len(stripped):]
                if trail != "  " and stripped:
                    self.report(a, "KB704", lineno, len(stripped) + 1, key=f"ws {line.strip()}", fixable=True)
                elif not stripped and line:
                    self.report(a, "KB704", lineno, 1, key="ws blank line", fixable=True)
        if selectors:
            self.suppressions[a.path] = selectors

    # --- KB6xx: sensitive data -------------------------------------------------------

    def check_sensitive(self, a: Article) -> None:
        if self._scanner is None:
            self._scanner = SensitiveScanner(self.config)
        scan = self._scanner.scan
        body = a.body
        for code, offset, params in scan(body):
            line = a.body_line + body.count("\n", 0, offset)
            col = offset - body.rfind("\n", 0, offset)
            self.report(a, code, line, col, key=f"{code} {params.get('masked', '')} {params.get('kind', '')}", **params)
        meta_text = self._meta_text.get(a.path)
        if meta_text is None:
            meta_text = "\n".join(map(str, a.meta.values()))
        if not meta_text or not scan(meta_text):
            return  # the common case: nothing in the front-matter, no need to locate anything
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
            for code, offset, params in scan("\n".join(parts)):
                key = keys[bisect_right(starts, offset) - 1]
                self.report(a, code, a.line_of(key), 1, key=f"{code} {key} {params.get('masked', '')}", **params)

    # --- KB7xx: style ----------------------------------------------------------------------

    def check_style(self, a: Article) -> None:
        lc = self.config.lint
        if a.summary and len(a.summary) > lc.max_summary:
            self.report(a, "KB701", a.line_of("summary"), length=len(a.summary), limit=lc.max_summary, key="summary")
        if a.title and len(a.title) > lc.max_title:
            self.report(a, "KB702", a.line_of("title"), length=len(a.title), limit=lc.max_title, key="title")
        tags = a.meta.get("tags")
        if isinstance(tags, list):
            seen: set[str] = set()
            for t in a.tags:
                norm = normalise_tag(t)
                if norm in seen:
                    self.report(a, "KB705", a.line_of("tags"), tag=t, problem="is listed twice", fixable=True,
                                key=f"dup {t}")
                elif not _TAG_RE.match(t):
                    ok = bool(_TAG_RE.match(norm))
                    self.report(a, "KB705", a.line_of("tags"), tag=t, fixable=ok,
                                problem="is not a lowercase slug" + (f" (use {norm!r})" if ok else ""))
                seen.add(norm)
            if self.on("KB706") and a.tags != sorted(a.tags):
                self.report(a, "KB706", a.line_of("tags"), fixable=True)

    # --- KB5xx: duplicates (cross-file) -----------------------------------------------------

    def _placed(self, x: Article, y: Article) -> tuple[Article, Article]:
        """(where the pair finding goes, the other): the changed one if only one changed,
        else the newer one (later `created`, then later path)."""
        if self.focus:
            fx, fy = self.real(x) in self.focus, self.real(y) in self.focus
            if fx != fy:
                return (x, y) if fx else (y, x)
        kx = (x.created or date.min, x.rel_path)
        ky = (y.created or date.min, y.rel_path)
        return (x, y) if kx > ky else (y, x)

    def check_duplicates(self) -> None:
        live = [a for a in self.kb.articles if a.status != "retired"]
        if self.on("KB502"):
            groups: dict[str, list[Article]] = {}
            for a in live:
                t = _norm_title(a.title)
                if t:
                    groups.setdefault(t, []).append(a)
            for members in groups.values():
                if len(members) < 2:
                    continue
                members.sort(key=lambda m: (m.created or date.min, m.rel_path))
                first = members[0]
                for other in members[1:]:
                    at, ref = self._placed(other, first)
                    self.report(at, "KB502", at.line_of("title"), other=ref.rel_path, refs=(self.real(ref),))
        if self.on("KB501"):
            from .lint_dupes import near_duplicates

            threshold = self.config.lint.duplicate_threshold
            texts = [f"{a.title}\n{a.body}" for a in live]
            for i, j, score in near_duplicates(texts, threshold):
                x, y = live[i], live[j]
                if x.replaced_by == y.id or y.replaced_by == x.id:
                    continue
                at, ref = self._placed(x, y)
                self.report(at, "KB501", at.line_of("title"), other=ref.rel_path, percent=int(score * 100),
                            score=f"{score:.2f}", threshold=f"{threshold:g}", refs=(self.real(ref),),
                            key=f"dup {ref.rel_path}")


# --- helpers ---------------------------------------------------------------------------

_NUMBERED_RE = re.compile(r"^\s{0,3}\d{1,3}[.)]\s+\S", re.M)
_SUPPRESS_RE = re.compile(r"<!--\s*kbtool:\s*disable=([^>]*?)\s*-->")
_TODO_RE = re.compile(r"\b(?:TODO|FIXME)\b")
_TAG_RE = ID_RE  # tags are slugs, like ids: lowercase letters, digits, single hyphens


def unclosed_fence(body: str) -> tuple[int, str] | None:
    """(0-based line, marker) of a code fence that is never closed, by the same rule as
    `content.iter_prose_lines` (a closing fence repeats the marker and has no info string)."""
    fence: str | None = None
    start = 0
    for i, line in enumerate(body.split("\n")):
        m = _FENCE_RE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence, start = marker[0] * len(marker), i
            elif marker.startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
    return (start, fence) if fence is not None else None


def normalise_tag(tag: str) -> str:
    return re.sub(r"[\s_]+", "-", tag.strip().lower())


def _norm_title(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, str):
                yield v


# --- sensitive data ------------------------------------------------------------------------
#
# Speed matters (every line of every article): patterns start with a literal or a plain
# character class so the regex engine can skip ahead, cheap `in` checks gate the rare
# ones, and word boundaries are checked by hand on the few matches instead of with
# look-behinds (which disable the engine's fast scan).

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[ \t]*\n(?:[A-Za-z-]+: .*\n)*\s*[A-Za-z0-9+/=]{20,}"
)
# (kind, pattern, characters of the match that may be shown). Every pattern starts with a
# literal, so a search is a fast substring scan; Stripe's `sk_`/`rk_` is checked by hand.
_TOKEN_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("AWS access key id", re.compile(r"A[KS]IA[0-9A-Z]{16}"), 4),
    ("GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"), 4),
    ("GitHub token", re.compile(r"github_pat_[A-Za-z0-9_]{22,}"), 11),
    ("Slack token", re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"), 5),
    ("Slack webhook URL", re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}"), 26),
    ("Stripe key", re.compile(r"k_(?:live|test)_[A-Za-z0-9]{16,}"), 7),
    ("Stripe webhook secret", re.compile(r"whsec_[A-Za-z0-9]{24,}"), 6),
    ("Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}"), 4),
]
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"Bearer\s+([A-Za-z0-9\-._~+/]{20,}=*)")
# `password` / `api_key` / ... right before an `=` or `:` (optional closing quote, blanks)
_ASSIGN_TAIL_RE = re.compile(
    r"(?:password|passwd|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"(?:access|auth|refresh|bearer)[_-]?token|token)"
    r"[\"']?[ \t]*$",
    re.I,
)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_VALUE_RE = re.compile(r"""(["'])([^"'\n]*)\1|([^\s"'`,;&<>)\]}|]+)""")
_EMAIL_DOMAIN_RE = re.compile(r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-])")
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*$")
_IPV4_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_DIGITS_TO_0 = str.maketrans("123456789", "000000000")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_CARD_RE = re.compile(r"[0-9]{4}(?:([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}|([ -])[0-9]{6}\2[0-9]{4,5}|[0-9]{9,15})")
_CARD_IIN_RE = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|22))")

_PLACEHOLDER_WORDS = (
    "your", "example", "placeholder", "redacted", "xxx", "***", "dummy", "sample", "fake", "changeme",
    "hidden", "masked", "<", "...", "…",
)
_PLACEHOLDER_VALUES = {
    "none", "null", "nil", "true", "false", "yes", "no", "required", "optional", "string", "value",
    "here", "token", "secret", "password", "empty", "str", "text", "test", "foo", "bar", "foobar",
}
_DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
_RESERVED_TLDS = {"example", "test", "invalid", "localhost", "local", "internal"}
_FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "md", "js", "css", "html", "htm", "txt"}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask_token(value: str, shown: int) -> str:
    """The public prefix of a token and its length, never the secret part."""
    shown = min(shown, max(len(value) // 4, 0))
    return f"'{value[:shown]}…' ({len(value)} chars)"


def _is_placeholder(value: str) -> bool:
    v = value.strip().lower()
    if not v or v[0] in "<$%{[(*#@.…" or v in _PLACEHOLDER_VALUES:
        return True
    if len(set(v)) == 1:
        return True
    if re.fullmatch(r"[A-Z_]+", value.strip()):
        return True  # SHOUTY_PLACEHOLDER
    return any(w in v for w in _PLACEHOLDER_WORDS)


def _secret_like(value: str) -> bool:
    """A `key: value` value that looks like a credential rather than a word of prose."""
    if len(value) < 6:
        return False
    return bool(re.search(r"\d", value) or re.search(r"[^A-Za-z0-9]", value) or re.search(r"[A-Z]", value[1:]))


_VERSION_BEFORE_RE = re.compile(r"(?:version|ver\.?|build|release|[A-Za-z]/)[\s:=\"']*$", re.I)


def _version_context(text: str, start: int) -> bool:
    """True for a dotted number written as a version: `Version=15.0.0.0`, `version 5.1.24.0`,
    `RTCC/4.0.0.0` (product/version; `http://10.0.0.1` is still an address)."""
    return bool(_VERSION_BEFORE_RE.search(text, max(0, start - 24), start))


def _has_digit(text: str, s: int, e: int) -> bool:
    """IPv6 candidates need a decimal digit: `a::b` or `dead::beef` in prose are C++ and jokes."""
    return any(c.isdigit() for c in text[s:e])


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class SensitiveScanner:
    """Finds secrets and personal data in a string: `scan` returns (code, offset, params)."""

    def __init__(self, config: Config) -> None:
        self.allow_domains = [d.lower().lstrip("@.") for d in config.lint.email_allowlist]
        nets = list(_DOC_NETS)
        for n in config.lint.ip_allowlist:
            nets.append(ipaddress.ip_network(n, strict=False))
        self.nets = nets
        self.tokens = _TOKEN_PATTERNS

    def prepare(self, corpus: str) -> None:
        """Skip, for every text, the token patterns that match nowhere in `corpus` (all the
        texts about to be scanned): one fast pass over the KB instead of one per article."""
        self.tokens = [t for t in _TOKEN_PATTERNS if t[1].search(corpus)]

    def scan(self, text: str) -> list[tuple[str, int, dict[str, object]]]:
        found: list[tuple[str, int, dict[str, object]]] = []
        taken: list[tuple[int, int]] = []

        def add(code: str, s: int, e: int, params: dict[str, object]) -> None:
            if not any(s < te and ts < e for ts, te in taken):
                taken.append((s, e))
                found.append((code, s, params))

        def bounded(s: int, e: int, extra: str = "") -> bool:
            before = text[s - 1] if s > 0 else " "
            after = text[e] if e < len(text) else " "
            return not (_word_char(before) or before in extra) and not (_word_char(after) or after in extra)

        def edges_ok(s: int, e: int, extra: str = "") -> bool:
            """A number token: no word char or '.' before; after, no word char, and a '.'
            only as a full stop (so 1.2.3.4.5 and v1.2.3.4 are not addresses)."""
            before = text[s - 1] if s > 0 else " "
            after = text[e] if e < len(text) else " "
            if _word_char(before) or before == "." or before in extra or _word_char(after) or after in extra:
                return False
            return not (after == "." and text[e + 1:e + 2].isdigit())

        if "PRIVATE KEY" in text:
            for m in _PRIVATE_KEY_RE.finditer(text):
                add("KB601", m.start(), m.end(), {"kind": (m.group(1).strip() or "PKCS#8") + " private key"})
        for kind, rx, shown in self.tokens:
            for m in rx.finditer(text):
                start, tok = m.start(), m.group(0)
                if kind == "Stripe key":
                    if start == 0 or text[start - 1] not in "sr":
                        continue
                    start, tok = start - 1, text[start - 1] + tok
                if kind.startswith("AWS") and tok.endswith("EXAMPLE"):
                    continue  # AWS's documentation keys
                if kind.startswith("Slack webhook") or bounded(start, m.end(), "-"):
                    add("KB602", start, m.end(), {"kind": kind, "masked": mask_token(tok, shown + 1 if kind == "Stripe key" else shown)})
        if "eyJ" in text:
            for m in _JWT_RE.finditer(text):
                if bounded(m.start(), m.end(), "-"):
                    add("KB603", m.start(), m.end(), {"masked": mask_token(m.group(0), 3)})
        if "Bearer" in text:
            for m in _BEARER_RE.finditer(text):
                tok = m.group(1)
                if re.search(r"\d", tok) and re.search(r"[A-Za-z]", tok) and not _is_placeholder(tok):
                    add("KB602", m.start(1), m.end(1), {"kind": "bearer token", "masked": mask_token(tok, 0)})
        for sep in "=:":
            pos = text.find(sep)
            while pos != -1:
                self._assignment_at(text, pos, add)
                pos = text.find(sep, pos + 1)
        if "@" in text:
            for m in _EMAIL_DOMAIN_RE.finditer(text):
                domain, tld = m.group(1).lower(), m.group(2).lower()
                if tld in _FILE_TLDS or tld in _RESERVED_TLDS or domain.startswith("your") or self._domain_allowed(domain):
                    continue  # file names, reserved TLDs, placeholders (you@yourcompany.com), allowlist
                lm = _EMAIL_LOCAL_RE.search(text, max(0, m.start() - 64), m.start())
                if lm is None or (lm.start() > 0 and (_word_char(text[lm.start() - 1]) or text[lm.start() - 1] in ".+-")):
                    continue
                add("KB605", lm.start(), m.end(), {"masked": f"{lm.group(0)[0]}***@{domain}",
                                                   "allow": ", ".join(self.allow_domains)})
        # Numbers: one cheap pass maps every digit to 0, then plain substring searches
        # find the few places worth a regex (addresses, card-number shapes).
        if ":" in text:
            self._ipv6(text, add, bounded)
        digits = text.translate(_DIGITS_TO_0)
        pos = digits.find("0.0")
        while pos != -1:
            s = pos
            while s > 0 and digits[s - 1] == "0" and pos - s < 3:
                s -= 1
            m = _IPV4_RE.match(text, s)
            if m and edges_ok(m.start(), m.end(), "-") and not _version_context(text, m.start()):
                masked = self._bad_ip(m.group(0))
                if masked:
                    add("KB606", m.start(), m.end(), {"masked": masked})
            pos = digits.find("0.0", m.end() if m else pos + 1)
        if "0000 0000" in digits or "0000-0000" in digits or "0" * 13 in digits:
            for m in _CARD_RE.finditer(text):
                if not edges_ok(m.start(), m.end(), "-"):
                    continue
                number = re.sub(r"\D", "", m.group(0))
                if 13 <= len(number) <= 19 and _CARD_IIN_RE.match(number) and luhn_ok(number):
                    add("KB607", m.start(), m.end(), {"last4": number[-4:]})
        found.sort(key=lambda x: x[1])
        return found

    def _assignment_at(self, text: str, sep: int, add: Callable[..., None]) -> None:
        """`password=...` / `client_secret: ...` with the `=` or `:` at `sep`."""
        km = _ASSIGN_TAIL_RE.search(text, max(0, sep - 48), sep)
        if km is None:
            return
        s = km.start()
        if s > 0 and text[s - 1].isalnum():
            # Inside a longer word: only `DefaultPassword`-style camelCase counts, never
            # `PublicKeyToken` (.NET assembly identity) or other *Token names.
            camel = text[s - 1].islower() and text[s].isupper() and km.group(0).lower().startswith(("pass", "pwd", "secret"))
            if not camel:
                return
        # extend to the full key name (db_password, AWS_SECRET_ACCESS_KEY)
        while s > 0 and text[s - 1] in _KEY_CHARS:
            s -= 1
        name = text[s:sep].rstrip("\"' \t")
        pos = sep + 1
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        vm = _VALUE_RE.match(text, pos)
        if vm is None:
            return
        quoted = vm.group(1) is not None
        value = vm.group(2) if quoted else vm.group(3)
        if value is None or len(value) < 3 or _is_placeholder(value):
            return
        if re.search(r"[()\[\]]", value) or value.lower().startswith(("os.", "env", "process.", "settings.", "config.")):
            return
        if text[sep] == ":" and not quoted and not _secret_like(value):
            return  # `Password: choose a new one` is prose
        if text[sep] == "=" and not quoted and (text[sep - 1:sep] in " \t" or text[sep + 1:sep + 2] in " \t"):
            return  # `$password = Read-Host ...`: code assigns expressions; its literals are quoted
        start = vm.start(2) if quoted else vm.start(3)
        add("KB604", s, start + len(value), {"name": name, "masked": f"'***' ({len(value)} chars)"})

    def _ipv6(self, text: str, add: Callable[..., None], bounded: Callable[..., bool]) -> None:
        """IPv6 candidates: maximal runs of hex digits and colons with at least two colons."""
        pos = text.find(":")
        n = len(text)
        while pos != -1:
            s, e = pos, pos + 1
            while s > 0 and text[s - 1] in _HEX_COLON:
                s -= 1
            while e < n and text[e] in _HEX_COLON:
                e += 1
            if e - s >= 3 and text.count(":", s, e) >= 2 and bounded(s, e, ".") and _has_digit(text, s, e):
                masked = self._bad_ip(text[s:e])
                if masked:
                    add("KB606", s, e, {"masked": masked})
            pos = text.find(":", e)

    def _domain_allowed(self, domain: str) -> bool:
        return any(domain == d or domain.endswith("." + d) for d in self.allow_domains)

    def _bad_ip(self, text: str) -> str | None:
        """A masked form of the address if it must be reported, else None."""
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
        if ip.is_loopback or ip.is_unspecified or ip.is_link_local or any(ip in n for n in self.nets):
            return None
        if ip.version == 4:
            n = int(ip)
            inv = ~n & 0xFFFFFFFF
            if text.startswith("255.") and (inv + 1) & inv == 0:
                return None  # a netmask such as 255.255.255.0
            parts = text.split(".")
            return f"{parts[0]}.{parts[1]}.x.x"
        return text.split(":")[0] + ":…"


__all__ = ["Checker", "Finding", "SensitiveScanner", "luhn_ok", "mask_token", "normalise_tag", "unclosed_fence"]
