"""KB401-KB405: every link and image of a body resolves. The content scanner hands over
every form the site renders (`Article.links`: inline, images, reference-style with their
definitions anywhere, block quotes included, and raw HTML `<a href>` / `<img src>`), so
each is checked the same way: a file, an anchor, and content the linking article's
readers can see. Absolute help-center URLs (`site_url` + `articles/<id>/`) are links to
ids too, so a public article cannot point at internal content by its full URL.

Hints ("did you mean") come from indexes built once per run (`LintContext.hint`), never
from a scan of a folder per broken link.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ..content import Article, Link, is_external

if TYPE_CHECKING:
    from .checks import LintContext


def help_center_re(site_url: str) -> re.Pattern[str] | None:
    """`site_url` + `articles/<id>` (+ `/`, `.html`, `/index.html`) + optional `#anchor`,
    for an absolute http(s) `site_url`; None for a bare-path one (KB405 covers `/...`)."""
    if not site_url.startswith(("http://", "https://")):
        return None
    base = re.escape(site_url.split("://", 1)[1].rstrip("/"))
    return re.compile(rf"(?i:https?://{base})/articles/([a-z0-9-]+)(?:/index\.html|/|\.html)?(?:#(.*))?$")


class LinkCheck:
    """KB401-KB405 for one run (caches: articles by path, anchors per article)."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx
        self.kb = ctx.kb
        self.active = ctx.on_any("KB4")
        self._by_lexical: dict[str, Article] | None = None
        self._anchors: dict[Path, set[str]] = {}
        self._help_center = help_center_re(ctx.config.site_url)

    def check(self, a: Article) -> None:
        if not a.links or not self.active:
            return
        folder = str(a.path.parent)
        for link in a.links:
            target = link.target.strip()
            if not target:
                self.ctx.report(a, "KB404" if link.image else "KB401", link.line, link.column, end=_span(link), target="",
                                problem="empty link target", hint="")
                continue
            if self._help_center is not None and (m := self._help_center.match(target)):
                self._check_site_url(a, link, target, m.group(1), m.group(2) or "")
                continue
            if target.startswith("/") and not target.startswith("//"):
                self.ctx.report(a, "KB405", link.line, link.column, end=_span(link), target=target,
                                problem="is a site-absolute path; link to the .md file with a relative path")
                continue
            path, t, anchor = self._target(a, folder, target)
            if path is None:
                continue  # external URL: not fetched
            if t is None:
                self._check_file(a, link, target, path)
            else:
                self._check_article(a, link, target, t, anchor)

    def _check_article(self, a: Article, link: Link, target: str, t: Article, anchor: str) -> None:
        if anchor:
            self._check_anchor(a, link, t, unquote(anchor))
        if a.is_public and not t.is_public:
            self._check_visibility(a, link, target, t)

    def _check_site_url(self, a: Article, link: Link, target: str, article_id: str, anchor: str) -> None:
        """An absolute help-center URL: the id must exist (and be visible) like a relative link."""
        t = self.kb.by_id.get(article_id)
        if t is None:
            hint = self.ctx.hint("ids", lambda: self.kb.by_id, article_id, 0.6)
            self.ctx.report(a, "KB401", link.line, link.column, end=_span(link), target=target,
                            problem=f"no article has the id {article_id!r}",
                            hint=f" (did you mean {hint!r}?)" if hint else "")
            return
        self._check_article(a, link, target, t, anchor)

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
        try:
            hit = self._by_lexical.get(os.path.normpath(os.path.join(folder, unquote(path_part))))
        except ValueError:  # an embedded NUL
            return None, None, ""
        if hit is not None:
            return hit.path, hit, anchor
        try:
            path, anchor = self.kb.resolve_link(a, target)
        except (OSError, ValueError, RuntimeError):  # a name too long for the OS, a NUL, a loop
            return Path(folder) / "?", None, ""
        if path is None:
            return None, None, ""
        return path, self.kb.by_path.get(path), anchor

    def _check_file(self, a: Article, link: Link, target: str, path: Path) -> None:
        """A link to a file that is not an article: inside the KB, and existing."""
        if not path.is_relative_to(self.kb.root):
            self.ctx.report(a, "KB405", link.line, link.column, end=_span(link), target=target,
                            problem="points outside the KB directory, so it breaks on the published site")
            return
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except OSError:  # ENAMETOOLONG and friends: it cannot exist
            exists = is_dir = False
        if exists and not (is_dir and not link.image):
            return  # an existing file that is not an article (attachment, image): fine
        if link.image:
            self.ctx.report(a, "KB404", link.line, link.column, end=_span(link), target=target, problem="does not exist",
                            refs=(path,))
        else:
            problem = "is a folder, not a file" if is_dir else "no such file"
            self.ctx.report(a, "KB401", link.line, link.column, end=_span(link), target=target, problem=problem,
                            refs=(path,), hint="" if is_dir else self._hint_file(path))

    def _hint_file(self, path: Path) -> str:
        """` (did you mean 'x.md'?)` for a missing file with a near-namesake in its folder
        (the folder is listed once per run, then looked up through its trigram index)."""
        folder, name = path.parent, path.name
        names = self._folder_names(folder)
        if not names:
            return ""
        if not name.endswith(".md") and f"{name}.md" in names:
            return f" (did you mean '{name}.md'?)"
        close = self.ctx.hint(f"dir:{folder}", lambda: names, name, 0.7)
        return f" (did you mean {close!r}?)" if close else ""

    def _folder_names(self, folder: Path) -> frozenset[str]:
        key = f"ls:{folder}"
        cached = self.ctx.cache.get(key)
        if cached is None:
            try:
                cached = frozenset(os.listdir(folder))
            except OSError:
                cached = frozenset()
            self.ctx.cache[key] = cached
        return cached

    def anchors(self, t: Article) -> set[str]:
        """The target's anchors, computed once per article (a body scan each time otherwise)."""
        got = self._anchors.get(t.path)
        if got is None:
            got = self._anchors[t.path] = t.anchors
        return got

    def _check_anchor(self, a: Article, link: Link, t: Article, slug: str) -> None:
        anchors = self.anchors(t)
        if slug not in anchors:
            close = self.ctx.hint(f"anchors:{t.path}", lambda: anchors, slug, 0.5)
            self.ctx.report(a, "KB402", link.line, link.column, end=_span(link), anchor=slug,
                            target=t.rel_path if t is not a else "this article", refs=(self.ctx.real(t),),
                            hint=f" (did you mean '#{close}'?)" if close else "")

    def _check_visibility(self, a: Article, link: Link, target: str, t: Article) -> None:
        """KB403: a public article links to content not on the public site (any link form)."""
        if t.status == "retired":
            what, succ = "retired", self.kb.successor(t)
            hint = f" (link to its replacement {succ.path.name!r})" if succ else ""
        elif t.status in ("draft", "in-review"):
            what, hint = t.status, ""
        elif t.type == "runbook" or t.kind == "runbook":
            what, hint = "runbook", ""
        else:
            what, hint = "internal", ""
        self.ctx.report(a, "KB403", link.line, link.column, end=_span(link), what=what, target=target, hint=hint,
                        refs=(self.ctx.real(t),), key=f"{target} {what}")


def _span(link: Link) -> tuple[int, int]:
    """(end line, end column) of a one-line `[text](target)` / `![alt](src)`, past its `)`;
    (0, 0) when unknown (reference and HTML links, a title or line break inside)."""
    if link.kind not in ("inline", "image") or "\n" in link.text:
        return (0, 0)
    return (link.line, link.column + len(link.text) + len(link.target) + 4 + (link.kind == "image"))
