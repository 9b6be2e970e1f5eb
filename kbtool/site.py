"""The customer help center: public KB articles in, a static MkDocs + Material site out.

`build_site` generates a MkDocs docs tree from the KB into a fresh temporary folder and
builds it with the project's `mkdocs.yml` (which holds only the look), then swaps the
result into place atomically. `preview` serves the same site with live reload.

The leak guarantee is structural, not a filter applied afterwards:

* MkDocs only ever sees the generated docs tree, and the only articles written into it
  are `Article.is_public` ones (published + public + never a runbook) that loaded
  without errors. Nothing is copied from the KB wholesale.
* Every other place a page names another article (related articles, rewritten
  `.md` links, listings, the Known issues page, redirects, the search index) goes
  through `_Public`, which only hands out public articles (or, for a retired one, its
  public successor). A link to anything else keeps its link *text* (the public
  author's own words) and loses the link, so a draft's or internal article's title
  never reaches the site. `_Public.ref` raises on a non-public article, so a bug in
  this module fails the build instead of leaking.
* A retired article's page is never generated; its old URL becomes a redirect page
  (mkdocs-redirects) that holds nothing but the successor's URL.
* `legacy_urls` (where an article lived before, e.g. a Zendesk `html_url`) become
  redirect pages at those paths (same mkdocs-redirects page, written after the build),
  only for articles that get a page themselves: a draft's, internal or retired
  article's old path gets nothing. A legacy path never replaces a file the build made.

Search is Material's own client-side search, served offline from the built files.
kbtool writes the index entries itself (the article pages are excluded from Material's
HTML indexer): title, summary, `##` headings with a short snippet each, and a
`keywords` field holding error codes, aliases and identifier-like strings from code
(error strings customers paste). That keeps `search_index.json` at roughly a third of
what indexing the full bodies costs, while everything customers search for is in it.
"""

from __future__ import annotations

import ctypes
import errno
import html
import json
import logging
import os
import posixpath
import re
import shutil
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from markdown.extensions.toc import slugify
from mkdocs.plugins import BasePlugin, event_priority

from .config import Config
from .content import (
    KB, LINK_RE, Article, Link, iter_prose_lines, legacy_page_file, legacy_url_path, load_kb, mask_inline_code,
)

log = logging.getLogger("mkdocs.plugins.kbtool")

__all__ = ["BuildResult", "SiteBuildError", "build_site", "preview", "plan_site", "SitePlan"]

# --- Presentation constants ----------------------------------------------------------

TYPE_ORDER = ("troubleshooting", "howto", "known-issue", "faq", "reference")
TYPE_LABELS = {
    "troubleshooting": "Troubleshooting", "howto": "How-to guides", "known-issue": "Known issues",
    "faq": "FAQ", "reference": "Reference",
}
TYPE_SINGULAR = {
    "troubleshooting": "Troubleshooting", "howto": "How-to guide", "known-issue": "Known issue",
    "faq": "FAQ", "reference": "Reference",
}
TYPE_ICONS = {
    "troubleshooting": "material-wrench-outline", "howto": "material-format-list-numbered",
    "known-issue": "material-alert-circle-outline", "faq": "material-help-circle-outline",
    "reference": "material-book-open-variant",
}
TYPE_BLURBS = {
    "troubleshooting": "Fix an error message or something that is not working.",
    "howto": "Step-by-step instructions for common tasks.",
    "known-issue": "Problems we know about, with workarounds and fix status.",
    "faq": "Short answers to common questions.",
    "reference": "Limits, settings and technical details.",
}
GENERAL_PRODUCT = "general"
DEFAULT_PRODUCT_ICON = "material-folder-outline"
HOME_CARD_LINKS = 4

# Files an article may link to or embed; they are copied into the site (only if linked).
ASSET_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".pdf", ".csv", ".mp4", ".webm"})

CSS_SOURCE = Path(__file__).parent / "templates" / "site" / "kbtool.css"
CSS_DEST = "assets/kbtool/kbtool.css"

# --- Search index budget ---------------------------------------------------------------
# Material indexes every section of every page in full: 4.7 KB per article of the sample
# KB (bench/bench_site.py --baseline); 7.4 MB for 2,000 pages was measured upstream.
# We index what customers search and show: title, summary, headings with a short
# snippet, and a hidden `keywords` field.

SEARCH_SUMMARY_CHARS = 220
SEARCH_SECTION_CHARS = 140
SEARCH_MAX_CODE_TOKENS = 16
SEARCH_KEYWORDS_BOOST = 1000.0
SEARCH_KEYWORDS_FIELD = "keywords"

# --- Results and errors ----------------------------------------------------------------


class SiteBuildError(Exception):
    """The site could not be built; the previous site (if any) is untouched."""

    def __init__(self, message: str, warnings: list[str] | None = None) -> None:
        super().__init__(message)
        self.warnings = list(warnings or [])


@dataclass
class BuildResult:
    site_dir: Path
    articles: int  # article pages built
    pages: int  # all HTML pages built (articles, landing pages, home, ...)
    redirects: dict[str, str]  # old page -> new page (docs paths)
    skipped: list[tuple[str, str]]  # (article id, reason): public articles not built
    warnings: list[str]  # MkDocs and kbtool warnings, in order
    files: int
    site_bytes: int
    search_index_bytes: int
    seconds: float
    legacy_redirects: dict[str, str] = field(default_factory=dict)  # written page (site path) -> article (docs path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_dir": str(self.site_dir), "articles": self.articles, "pages": self.pages,
            "redirects": dict(self.redirects), "legacy_redirects": dict(self.legacy_redirects),
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
            "warnings": list(self.warnings), "files": self.files, "site_bytes": self.site_bytes,
            "search_index_bytes": self.search_index_bytes, "seconds": round(self.seconds, 3),
        }


# --- Text helpers ----------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#!|])")


def _md(text: str) -> str:
    """Text for a Markdown inline context: no markup, no raw HTML, shown exactly as written."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _fmt_date(d: date | None) -> str:
    return f"{d:%B} {d.day}, {d.year}" if d else "not yet reviewed"


def _front_matter(meta: dict[str, Any]) -> str:
    # JSON values are valid YAML flow scalars/collections, and 20x faster to write than yaml.dump
    return "---\n" + "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in meta.items()) + "---\n\n"


_FM_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FM_IMAGE_OR_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)")
_FM_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_FM_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_FM_BLOCK_MARK = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+|`{3,}.*|~{3,}.*|\|?\s*:?-{3,}.*)", re.M)
_FM_EMPHASIS = re.compile(r"(?<![\w\\])(\*{1,3}|_{1,3})(?=\S)|(?<=\S)(\*{1,3}|_{1,3})(?![\w])")
_FM_ATTR = re.compile(r"\{:?\s*[#.][^}]*\}")


def _search_text(markdown: str) -> str:
    """Markdown as one line of plain text for the search index (underscores in words kept)."""
    text = _FM_COMMENT.sub(" ", markdown)
    text = _FM_IMAGE_OR_LINK.sub(r"\1", text)
    text = _FM_REF_LINK.sub(r"\1", text)
    text = _FM_TAG.sub(" ", text)
    text = _FM_BLOCK_MARK.sub("", text)
    text = _FM_ATTR.sub(" ", text)
    text = text.replace("`", "").replace("|", " ")
    text = _FM_EMPHASIS.sub("", text)
    text = text.replace("\\", "")
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    if cut < limit * 0.6:
        cut = limit
    return text[:cut].rstrip(" ,;:.-(") + "…"


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]")


def _code_tokens(article: Article) -> list[str]:
    """Identifier-like strings from the article's code (error strings, reason codes, headers)."""
    prose = dict(iter_prose_lines(article.body))
    chunks: list[str] = []
    for i, line in enumerate(article.body.split("\n")):
        if i in prose:
            chunks.extend(m.group(2) for m in _CODE_SPAN.finditer(line))
        else:
            chunks.append(line)
    seen: set[str] = set()
    out: list[str] = []
    for chunk in chunks:
        chunk = re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", " ", chunk)  # URLs carry little a customer types
        for tok in _IDENT.findall(chunk):
            if not 3 <= len(tok) <= 40 or tok.isalpha() and tok.islower():
                continue
            interesting = "_" in tok or any(c.isdigit() for c in tok) or tok.isupper() or "-" in tok
            if not interesting or tok.lower() in seen:
                continue
            seen.add(tok.lower())
            out.append(tok)
            if len(out) >= SEARCH_MAX_CODE_TOKENS:
                return out
    return out


# --- The plan: what the site contains ------------------------------------------------------


@dataclass
class Product:
    key: str
    slug: str
    name: str
    icon: str
    description: str
    articles: list[Article] = field(default_factory=list)

    @property
    def page(self) -> str:
        return f"products/{self.slug}.md"


@dataclass
class SitePlan:
    """Everything the site will contain, computed from the KB before MkDocs runs."""

    articles: list[Article]  # the public articles that get a page, sorted by id
    pages: dict[str, str]  # docs-relative path -> Markdown source
    assets: dict[str, Path]  # docs-relative path -> file to copy (images linked from articles)
    redirects: dict[str, str]  # "articles/<retired>.md" -> "articles/<successor>.md" (or "index.md")
    nav: list[Any]
    search_docs: list[dict[str, Any]]  # entries for search_index.json (locations are page URLs)
    messages: list[tuple[int, str]]  # (logging level, text), replayed through MkDocs' logger
    skipped: list[tuple[str, str]]
    # site file for an old URL ("hc/en-us/articles/1-foo/index.html") -> "articles/<id>.md"
    legacy_redirects: dict[str, str] = field(default_factory=dict)


class LeakError(AssertionError):
    """Internal error: the site generator tried to reference a non-public article."""


class _Public:
    """The one place that decides what the site may name or link to."""

    def __init__(self, kb: KB, articles: list[Article]) -> None:
        self.kb = kb
        self._by_id = {a.id: a for a in articles}

    def __contains__(self, article: object) -> bool:
        return isinstance(article, Article) and self._by_id.get(article.id) is article

    def resolve(self, article: Article | None) -> Article | None:
        """The public page standing for `article`: itself, a retired one's public successor, or None."""
        if article is None:
            return None
        if article in self:
            return article
        if article.status == "retired" and article.audience == "public" and article.kind == "article":
            succ = self.kb.successor(article)
            if succ is not None and succ in self:
                return succ
        return None

    def ref(self, article: Article) -> Article:
        if article not in self:
            raise LeakError(f"refusing to reference non-public article {article.id!r} on the site")
        return article


def _products_meta(extra: dict[str, Any]) -> dict[str, dict[str, str]]:
    meta = (extra or {}).get("kbtool", {}) or {}
    prods = meta.get("products", {}) or {}
    return {str(k): dict(v or {}) for k, v in prods.items()} if isinstance(prods, dict) else {}


def _icon(name: str | None, default: str) -> str:
    """`material/key-variant` (mkdocs.yml style) -> `material-key-variant` (emoji shortcode)."""
    name = (name or default).strip().replace("/", "-")
    return name if re.fullmatch(r"[a-z0-9-]+", name) else default


def _doc_url(doc: str, directory_urls: bool) -> str:
    """A docs page's URL relative to the site root, as MkDocs gives it."""
    stem = doc[:-3]
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return f"{stem}/" if directory_urls else f"{stem}.html"


def _doc_file(doc: str, directory_urls: bool) -> str:
    """The file MkDocs writes for a docs page (`a.md` -> `a/index.html` or `a.html`)."""
    stem = doc[:-3]
    if stem == "index" or stem.endswith("/index") or not directory_urls:
        return f"{stem}.html"
    return f"{stem}/index.html"


def _relative_href(from_file: str, to_url: str) -> str:
    """A link from the page at `from_file` to the site URL `to_url` ("articles/x/" or "articles/x.html")."""
    rel = posixpath.relpath(to_url.rstrip("/") or ".", posixpath.dirname(from_file) or ".")
    return f"{rel}/" if to_url.endswith("/") else rel


def _legacy_redirects(kb: KB, pub: _Public, taken: set[str], site_path: str,
                      messages: list[tuple[int, str]]) -> dict[str, str]:
    """Redirect pages for public articles' `legacy_urls`: site file -> "articles/<id>.md".

    The gatekeeper decides: an article without a page of its own (draft, internal,
    retired, runbook, or with errors) gets no page at its old paths either. A path that
    would replace one of the site's own files, or is claimed by an earlier article
    (by id), is not written and is reported. `site_path` is the site URL's path
    ("help" for https://example.com/help/): only old paths under it can be served.
    """
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for a in sorted(kb.articles, key=lambda a: a.id):
        if not a.legacy_urls:
            continue
        where = f"{a.rel_path}:{a.line_of('legacy_urls')}"
        if a not in pub:
            messages.append((logging.INFO, f"{where}: legacy_urls not redirected: the article is not on the site"))
            continue
        for url in a.legacy_urls:
            path, _ = legacy_url_path(url)
            if path is None:  # the loader reports these (KB103); an article with errors has no page anyway
                continue
            if site_path:
                if path != site_path and not path.startswith(site_path + "/"):
                    messages.append((logging.WARNING, f"{where}: legacy URL {url!r} is outside the site's path "
                                                      f"/{site_path}/, so this site cannot serve it; not redirected"))
                    continue
                path = path[len(site_path) + 1:]
                if not path:
                    messages.append((logging.WARNING, f"{where}: legacy URL {url!r} is the site's home page; "
                                                      "not redirected"))
                    continue
            file = legacy_page_file(path)
            if file in owner:
                if owner[file] != a.id:
                    messages.append((logging.WARNING, f"{where}: legacy URL {url!r} is also claimed by "
                                                      f"{owner[file]!r}, which keeps it (KB117)"))
                continue
            if file in taken:
                messages.append((logging.WARNING, f"{where}: legacy URL {url!r} is the address of the site's own "
                                                  f"page {file}; not redirected"))
                continue
            owner[file] = a.id
            out[file] = f"articles/{pub.ref(a).id}.md"
    return out


def plan_site(kb: KB, *, extra: dict[str, Any] | None = None, directory_urls: bool = True,
              tag_anchor: Callable[[str], str] | None = None, site_url: str | None = None) -> SitePlan:
    """Decide the site's pages, links, redirects, navigation and search entries.

    Pure: reads the KB model only. `extra` is MkDocs' `extra` mapping; its
    `kbtool.products.<key>` tables give a product's `name`, `icon` and `description`.
    `tag_anchor` maps a tag to its anchor on the tags page (the tags plugin's slug);
    without it articles show no tag chips. `site_url` places legacy-URL redirects when
    the site is served under a path.
    """
    messages: list[tuple[int, str]] = []
    skipped: list[tuple[str, str]] = []
    public_articles: list[Article] = []
    for a in sorted(kb.articles, key=lambda a: a.id):
        if not a.is_public or a.kind != "article":  # nothing under runbooks/ is ever published
            continue
        if not a.valid or kb.get(a.id) is not a:
            skipped.append((a.id, "has errors (run `kbtool lint`)"))
            messages.append((logging.WARNING, f"{a.rel_path}: not published on the site: the article has errors (run `kbtool lint`)"))
            continue
        public_articles.append(a)
    pub = _Public(kb, public_articles)

    def url_of(doc: str) -> str:
        return _doc_url(doc, directory_urls)

    # Products (categories) -------------------------------------------------------------
    meta = _products_meta(extra or {})
    products: dict[str, Product] = {}
    slugs: set[str] = set()
    for a in public_articles:
        key = a.product or GENERAL_PRODUCT
        if key not in products:
            m = meta.get(key, {})
            base = slugify(key, "-") or "product"
            slug, n = base, 1
            while slug in slugs:  # "Data" and "data" must not share a page
                n += 1
                slug = f"{base}-{n}"
            slugs.add(slug)
            default_name = "General" if key == GENERAL_PRODUCT else key.replace("-", " ").replace("_", " ").capitalize()
            products[key] = Product(
                key=key, slug=slug, name=str(m.get("name") or default_name),
                icon=_icon(m.get("icon"), DEFAULT_PRODUCT_ICON), description=str(m.get("description") or ""),
            )
        products[key].articles.append(a)
    order = list(meta)
    ordered_products = sorted(products.values(), key=lambda p: (order.index(p.key) if p.key in order else len(order), p.name.lower()))
    product_of = {a.id: products[a.product or GENERAL_PRODUCT] for a in public_articles}

    def by_type_then_title(items: list[Article]) -> list[Article]:
        return sorted(items, key=lambda a: (TYPE_ORDER.index(a.type) if a.type in TYPE_ORDER else 99, a.title.lower()))

    pages: dict[str, str] = {}
    assets: dict[str, Path] = {}
    search_docs: list[dict[str, Any]] = []

    # Article pages ---------------------------------------------------------------------
    for a in public_articles:
        body = normalise_list_indent(_rewrite_body(a, pub, assets, messages))
        tags_url = "../../tags/" if directory_urls else "../tags.html"
        pages[f"articles/{a.id}.md"] = _article_page(a, body, pub, product_of[a.id], messages, tags_url, tag_anchor)
        search_docs.extend(_search_entries(a, url_of(f"articles/{a.id}.md")))

    # Landing pages ---------------------------------------------------------------------
    for p in ordered_products:
        pages[p.page] = _product_page(p, by_type_then_title(p.articles))
        search_docs.append({"location": url_of(p.page), "title": _h(p.name), "text": _h(p.description or f"{len(p.articles)} articles")})
    by_type: dict[str, list[Article]] = defaultdict(list)
    for a in public_articles:
        by_type[a.type].append(a)
    type_pages: dict[str, str] = {}
    for t in TYPE_ORDER:
        if t == "known-issue" or not by_type.get(t):
            continue
        type_pages[t] = f"types/{t}.md"
        pages[type_pages[t]] = _type_page(t, by_type[t], ordered_products, product_of)
    type_pages["known-issue"] = "known-issues.md"
    known = sorted(by_type.get("known-issue", []), key=lambda a: (a.last_reviewed or date.min, a.title), reverse=True)
    pages["known-issues.md"] = _known_issues_page(known, product_of)
    search_docs.append({"location": url_of("known-issues.md"), "title": "Known issues",
                        "text": "Problems we know about, with workarounds and the current status of the fix."})
    pages["tags.md"] = _tags_page(public_articles, tag_anchor)
    pages["index.md"] = _home_page(extra or {}, ordered_products, by_type, type_pages, known, by_type_then_title)

    # Redirects for retired articles ----------------------------------------------------
    redirects: dict[str, str] = {}
    for a in sorted(kb.articles, key=lambda a: a.id):
        if a.status != "retired" or a.audience != "public" or a.kind != "article" or kb.get(a.id) is not a:
            continue  # only URLs that were public once need to keep working
        succ = pub.resolve(a)
        if succ is None:
            messages.append((logging.WARNING, f"{a.rel_path}: retired, but replaced_by {a.replaced_by!r} is not a "
                                              "published public article; its old URL redirects to the home page"))
            redirects[f"articles/{a.id}.md"] = "index.md"
        else:
            redirects[f"articles/{a.id}.md"] = f"articles/{succ.id}.md"

    taken = {_doc_file(doc, directory_urls) for doc in [*pages, *redirects]} | set(assets)
    site_path = urlsplit(site_url or "/").path.strip("/")
    legacy = _legacy_redirects(kb, pub, taken, site_path, messages)

    nav: list[Any] = [{"Home": "index.md"}]
    if ordered_products:
        nav.append({"Products": [{p.name: p.page} for p in ordered_products]})
    browse = [{TYPE_LABELS[t]: type_pages[t]} for t in TYPE_ORDER if t in type_pages and t != "known-issue"]
    if browse:
        nav.append({"Article types": browse})
    nav += [{"Known issues": "known-issues.md"}, {"Tags": "tags.md"}]

    return SitePlan(public_articles, pages, assets, redirects, nav, search_docs, messages, skipped, legacy)


# --- Link rewriting --------------------------------------------------------------------------

_REF_DEF = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*<?)([^\s>]+)(.*)$")
_REF_USE = re.compile(r"(?<![\]!\\])\[([^\[\]]+)\](?:\[([^\[\]]*)\]|(?![(:\[]))")


def _rewrite_target(a: Article, target: str, pub: _Public, assets: dict[str, Path],
                    messages: list[tuple[int, str]], line: int) -> str | None:
    """The new link target for the site, "" to drop the link (keep its text), None to keep it."""
    kb = pub.kb
    path, anchor = kb.resolve_link(a, target)
    if path is None or not target.split("#", 1)[0]:
        return None  # external link, or an anchor on this page
    frag = f"#{anchor}" if anchor else ""
    where = f"{a.rel_path}:{line}"
    dest = kb.by_path.get(path)
    if dest is not None:
        live = pub.resolve(dest)
        if live is None:
            messages.append((logging.INFO, f"{where}: link to {dest.rel_path} ({dest.status}, {dest.audience}) "
                                           "is not public: the site shows the link text only"))
            return ""
        if live is not dest and anchor and anchor not in live.anchors:
            frag = ""
        return f"{live.id}.md{frag}"
    if path.suffix.lower() == ".md":
        messages.append((logging.WARNING, f"{where}: link target {target!r} is not an article in the KB; "
                                          "the site shows the link text only"))
        return ""
    try:
        rel = path.relative_to(kb.root)
    except ValueError:
        rel = None
    if rel is None or not path.is_file():
        messages.append((logging.WARNING, f"{where}: link target {target!r} not found"
                                          f"{'' if rel is not None else ' inside the KB'}; the site shows the link text only"))
        return ""
    if path.suffix.lower() not in ASSET_SUFFIXES:
        messages.append((logging.WARNING, f"{where}: link target {target!r} is not a publishable file type "
                                          f"({', '.join(sorted(ASSET_SUFFIXES))}); the site shows the link text only"))
        return ""
    doc = f"assets/kb/{rel.as_posix()}"
    assets[doc] = path
    return f"../{doc}{frag}"


def _rewrite_body(a: Article, pub: _Public, assets: dict[str, Path], messages: list[tuple[int, str]]) -> str:
    """The article body with KB-relative links pointing at the generated pages."""
    lines = a.body.split("\n")
    per_line: dict[int, list[Link]] = defaultdict(list)
    for link in a.links:
        per_line[link.line - a.body_line].append(link)
    for idx, links in per_line.items():
        if not 0 <= idx < len(lines):
            continue
        line = lines[idx]
        masked = mask_inline_code(line)
        for link in sorted(links, key=lambda l: l.column, reverse=True):
            m = LINK_RE.match(masked, link.column - 1)
            if m is None:
                continue
            new = _rewrite_target(a, m.group(3), pub, assets, messages, link.line)
            if new is None:
                continue
            if new == "":
                line = line[: m.start()] + line[m.start(2): m.end(2)] + line[m.end():]
            else:
                line = line[: m.start(3)] + new + line[m.end(3):]
        lines[idx] = line
    prose = list(iter_prose_lines(a.body))
    dropped: set[str] = set()
    for idx, _ in prose:
        m = _REF_DEF.match(lines[idx])
        if m is None:
            continue
        new = _rewrite_target(a, m.group(2), pub, assets, messages, a.body_line + idx)
        if new == "":
            lines[idx] = ""
            dropped.add(m.group(1).strip().split("]", 1)[0][1:].strip().lower())
        elif new is not None:
            lines[idx] = m.group(1) + new + m.group(3)
    if dropped:  # [text][label], [label][] and [label] that used a dropped definition become plain text
        for idx, _ in prose:
            line = lines[idx]
            masked = mask_inline_code(line, "\0")
            pieces, last = [], 0
            for m in _REF_USE.finditer(masked):
                label = (m.group(2) or m.group(1)).strip().lower()
                keep = line[m.start(1):m.end(1)] if label in dropped else line[m.start():m.end()]
                pieces += [line[last:m.start()], keep]
                last = m.end()
            lines[idx] = "".join(pieces) + line[last:]
    return "\n".join(lines)


_LIST_MARK = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +|$)")
_FENCE_OPEN = re.compile(r"^ *(`{3,}|~{3,})")


def _shift(line: str, by: int) -> str:
    if by >= 0:
        return " " * by + line
    lead = len(line) - len(line.lstrip(" "))
    return line[min(lead, -by):]


def normalise_list_indent(body: str) -> str:
    """Re-indent nested list content to Python-Markdown's 4 spaces per level.

    Authors write CommonMark-style nesting (content aligned under the item text, e.g.
    3 spaces under `1. `), which Python-Markdown (MkDocs) would flatten into the parent
    list. Each line inside a list item is moved to `4 * depth` plus whatever it is
    indented beyond the item's content column; fenced blocks move as a whole. Text
    outside lists, and bodies already using 4 spaces, are unchanged.
    """
    out: list[str] = []
    stack: list[int] = []  # source content column of each enclosing list item
    fence: tuple[str, int] | None = None  # (closing marker, shift) while inside a fence
    prev_blank = True
    for raw in body.split("\n"):
        lead = len(raw) - len(raw.lstrip(" \t"))
        line = raw[:lead].expandtabs(4) + raw[lead:]
        if fence is not None:
            marker, by = fence
            out.append(_shift(line, by))
            stripped = line.strip()
            if stripped and set(stripped) == {marker[0]} and len(stripped) >= len(marker):
                fence = None
            prev_blank = False
            continue
        if not line.strip():
            out.append(raw)
            prev_blank = True
            continue
        indent = len(line) - len(line.lstrip(" "))
        m = _LIST_MARK.match(line)
        if not m and stack and not prev_blank and indent < stack[-1]:
            out.append(raw)  # lazy continuation of the item's paragraph
            continue
        while stack and indent < stack[-1]:
            stack.pop()
        inner = stack[-1] if stack else 0
        extra = indent - inner  # beyond the item's content column: 1-3 spaces mean nothing, 4+ is code
        by = (4 * len(stack) + (extra if extra >= 4 else 0)) - indent if stack else 0
        out.append(_shift(line, by))
        f = _FENCE_OPEN.match(line)
        if f:
            fence = (f.group(1), by)
        elif m:
            stack.append(indent + len(m.group(2)) + max(1, min(len(m.group(3)), 4)))
        prev_blank = False
    return "\n".join(out)


# --- Page generators ----------------------------------------------------------------------


def _link(pub: _Public | None, a: Article, prefix: str) -> str:
    if pub is not None:
        pub.ref(a)
    return f"[{_md(a.title)}]({prefix}{a.id}.md)"


def _status_text(a: Article, limit: int = 180) -> str:
    """The first sentences of a known issue's `## Status` section (plain text, up to `limit`)."""
    s = a.section("Status")
    if s is None or not s.text.strip():
        return ""
    text = _search_text(s.text.strip().split("\n\n", 1)[0])
    if len(text) <= limit:
        return text
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", text[: limit + 1])]
    return text[: ends[-1]] if ends and ends[-1] >= limit * 0.35 else _clip(text, limit)


def _article_page(a: Article, body: str, pub: _Public, product: Product, messages: list[tuple[int, str]],
                  tags_url: str, tag_anchor: Callable[[str], str] | None) -> str:
    related: list[Article] = []
    for rid in a.related:
        target = pub.kb.get(rid)
        live = pub.resolve(target)
        if live is None:
            if target is None:
                messages.append((logging.INFO, f"{a.rel_path}: related id {rid!r} does not exist; left out"))
            else:
                messages.append((logging.INFO, f"{a.rel_path}: related article {rid!r} is not public; left out"))
            continue
        if live is not a and live not in related:
            related.append(live)
    fm: dict[str, Any] = {
        "title": html.escape(a.title, quote=False),
        "description": _h(a.summary),
        "search": {"exclude": True},  # kbtool writes this page's search entries itself
        "hide": ["tags"],  # shown below the article instead of above the breadcrumbs
    }
    if a.tags:
        fm["tags"] = list(a.tags)
    out = [_front_matter(fm)]
    out.append(f"[Help Center](../index.md) › [{_md(product.name)}](../{product.page})\n{{ .kb-breadcrumbs }}\n\n")
    out.append(f"# {_md(a.title)} {{ #kb-title }}\n\n")
    out.append(f"{_md(a.summary)}\n{{ .kb-summary }}\n\n")
    type_page = "../known-issues.md" if a.type == "known-issue" else f"../types/{a.type}.md"
    meta = [
        f'<span class="kb-meta__item">:{TYPE_ICONS.get(a.type, DEFAULT_PRODUCT_ICON)}: '
        f"[{_md(TYPE_SINGULAR.get(a.type, a.type))}]({type_page})</span>",
        f'<span class="kb-meta__item">:{product.icon}: [{_md(product.name)}](../{product.page})</span>',
        f'<span class="kb-meta__item">:material-calendar-check: Last reviewed '
        f'<time datetime="{a.last_reviewed.isoformat() if a.last_reviewed else ""}">{_fmt_date(a.last_reviewed)}</time></span>',
    ]
    out.append('<div class="kb-meta" markdown>\n' + "\n".join(meta) + "\n</div>\n\n")
    if a.error_codes:
        codes = " ".join(f"<code>{_h(c)}</code>" for c in a.error_codes)
        out.append(f'<div class="kb-codes" markdown>\n<span class="kb-codes__label">Error codes</span> {codes}\n</div>\n\n')
    if a.type == "known-issue":
        status = _status_text(a)
        if status:
            out.append(f'!!! warning "Known issue"\n    **Status:** {_md(status)} [Details](#{_status_slug(a)})\n\n')
    out.append(body.strip("\n") + "\n\n")
    if a.tags and tag_anchor is not None:
        chips = " ".join(f'<a class="md-tag" href="{_h(tags_url)}#{_h(tag_anchor(t))}">{_h(t)}</a>' for t in a.tags)
        out.append(f'<nav class="md-tags kb-tags" aria-label="Topics"><span class="kb-tags__label">Topics</span> {chips}</nav>\n\n')
    if related:
        out.append("## Related articles { #kb-related }\n\n")
        out.append('<div class="kb-related" markdown>\n\n')
        for r in related:
            out.append(f"- {_link(pub, r, '')}  \n  <span class=\"kb-list__summary\">{_md(r.summary)}</span>\n")
        out.append("\n</div>\n")
    return "".join(out)


def _status_slug(a: Article) -> str:
    s = a.section("Status")
    return next((h.slug for h in a.headings if s is not None and h.line == s.line), "status")


def _article_list(items: list[Article], prefix: str) -> str:
    lines = ['<div class="kb-list" markdown>', ""]
    for a in items:
        lines.append(f"- [{_md(a.title)}]({prefix}{a.id}.md)  \n  <span class=\"kb-list__summary\">{_md(a.summary)}</span>")
    lines += ["", "</div>", ""]
    return "\n".join(lines)


def _product_page(p: Product, items: list[Article]) -> str:
    fm = {"title": html.escape(p.name, quote=False), "description": _h(p.description or p.name), "search": {"exclude": True}}
    out = [_front_matter(fm), "[Help Center](../index.md)\n{ .kb-breadcrumbs }\n\n",
           f"# :{p.icon}: {_md(p.name)} {{ #kb-title }}\n\n"]
    if p.description:
        out.append(f"{_md(p.description)}\n{{ .kb-summary }}\n\n")
    groups: dict[str, list[Article]] = defaultdict(list)
    for a in items:
        groups[a.type].append(a)
    for t in TYPE_ORDER:
        if groups.get(t):
            out.append(f"## {TYPE_LABELS[t]} {{ #{t} }}\n\n")
            out.append(_article_list(groups[t], "../articles/"))
    return "".join(out)


def _type_page(t: str, items: list[Article], products: list[Product], product_of: dict[str, Product]) -> str:
    fm = {"title": TYPE_LABELS[t], "description": TYPE_BLURBS[t], "search": {"exclude": True}}
    out = [_front_matter(fm), "[Help Center](../index.md)\n{ .kb-breadcrumbs }\n\n",
           f"# {TYPE_LABELS[t]} {{ #kb-title }}\n\n", f"{TYPE_BLURBS[t]}\n{{ .kb-summary }}\n\n"]
    groups: dict[str, list[Article]] = defaultdict(list)
    for a in items:
        groups[product_of[a.id].key].append(a)
    for p in products:
        if groups.get(p.key):
            out.append(f"## {_md(p.name)} {{ #{p.slug} }}\n\n")
            out.append(_article_list(sorted(groups[p.key], key=lambda a: a.title.lower()), "../articles/"))
    return "".join(out)


def _known_issues_page(items: list[Article], product_of: dict[str, Product]) -> str:
    fm = {"title": "Known issues", "description": TYPE_BLURBS["known-issue"], "search": {"exclude": True},
          "hide": ["navigation", "toc"]}
    out = [_front_matter(fm), "[Help Center](index.md)\n{ .kb-breadcrumbs }\n\n", "# Known issues { #kb-title }\n\n",
           "Problems we know about, with a workaround for each and the current status of the fix. "
           "Each page is updated when the status changes.\n{ .kb-summary }\n\n"]
    if not items:
        out.append("There are no known issues right now.\n")
        return "".join(out)
    out.append('<div class="kb-known" markdown>\n\n| Issue | Product | Status | Last reviewed |\n|---|---|---|---|\n')
    for a in items:
        p = product_of[a.id]
        status = _status_text(a, 140) or "See the article"
        cell = lambda s: s.replace("|", "&#124;")  # noqa: E731
        out.append(f"| [{cell(_md(a.title))}](articles/{a.id}.md) | [{cell(_md(p.name))}]({p.page}) | "
                   f"{cell(_md(status))} | {a.last_reviewed.isoformat() if a.last_reviewed else '—'} |\n")
    out.append("\n</div>\n")
    return "".join(out)


def _tags_page(articles: list[Article], tag_anchor: Callable[[str], str] | None) -> str:
    fm = {"title": "Tags", "description": "All help center articles by topic.", "search": {"exclude": True},
          "hide": ["navigation"]}
    out = [_front_matter(fm), "[Help Center](index.md)\n{ .kb-breadcrumbs }\n\n# Tags { #kb-title }\n\n",
           "Every article by topic.\n{ .kb-summary }\n\n"]
    counts: dict[str, int] = defaultdict(int)
    for a in articles:
        for t in dict.fromkeys(a.tags):
            counts[t] += 1
    if counts and tag_anchor is not None:  # an index of all tags above the (long) listing
        chips = " ".join(f'<a class="md-tag" href="#{_h(tag_anchor(t))}">{_h(t)}<span class="kb-tagcloud__n">{n}</span></a>'
                         for t, n in sorted(counts.items(), key=lambda kv: kv[0].lower()))
        out.append(f'<nav class="md-tags kb-tagcloud" aria-label="All tags">{chips}</nav>\n\n')
    out.append("<!-- material/tags -->\n")
    return "".join(out)


def _home_page(extra: dict[str, Any], products: list[Product], by_type: dict[str, list[Article]],
               type_pages: dict[str, str], known: list[Article],
               order: Callable[[list[Article]], list[Article]]) -> str:
    home = ((extra.get("kbtool") or {}).get("home") or {}) if isinstance(extra.get("kbtool"), dict) else {}
    title = str(home.get("title") or "How can we help?")
    lead = str(home.get("lead") or "Search for an error code, a message or a question, or browse by product.")
    fm = {"title": html.escape(title, quote=False), "hide": ["navigation", "toc"], "search": {"exclude": True}}
    out = [_front_matter(fm), '<div class="kb-hero" markdown>\n\n', f"# {_md(title)} {{ #kb-title }}\n\n",
           f"{_md(lead)}\n{{ .kb-summary }}\n\n"]
    out.append('<button class="kb-hero__search md-button md-button--primary" type="button" '
               'onclick="document.querySelector(\'label[for=__search]\').click()">'
               ':material-magnify: Search the help center</button>\n\n</div>\n\n')
    if known:
        out.append(f'!!! warning "Known issues"\n    We are tracking {len(known)} known '
                   f'issue{"s" if len(known) != 1 else ""}. [See their status](known-issues.md)\n\n')
    out.append("## Browse by product { #products }\n\n")
    if not products:
        out.append("No articles are published yet.\n\n")
    else:
        out.append('<div class="grid cards kb-cards" markdown>\n\n')
        for p in products:
            n = len(p.articles)
            out.append(f"-   :{p.icon}:{{ .lg .middle }} __[{_md(p.name)}]({p.page})__\n\n    ---\n\n")
            if p.description:
                out.append(f"    {_md(p.description)}\n\n")
            for a in order(p.articles)[:HOME_CARD_LINKS]:
                out.append(f"    - [{_md(a.title)}](articles/{a.id}.md)\n")
            out.append(f"\n    [:material-arrow-right: All {n} article{'s' if n != 1 else ''}]({p.page}){{ .kb-more }}\n\n")
        out.append("</div>\n\n")
    types = [t for t in TYPE_ORDER if by_type.get(t)]
    if types:
        out.append("## Browse by type { #types }\n\n")
        out.append('<div class="grid cards kb-types" markdown>\n\n')
        for t in types:
            n = len(by_type[t])
            page = type_pages[t]
            out.append(f"-   :{TYPE_ICONS[t]}: __[{TYPE_LABELS[t]}]({page})__ ({n})\n\n    {TYPE_BLURBS[t]}\n\n")
        out.append("</div>\n\n")
    out.append("Can't find what you need? Browse [all topics](tags.md).\n{ .kb-footnote }\n")
    return "".join(out)


# --- Search entries -----------------------------------------------------------------------


def _search_entries(a: Article, url: str) -> list[dict[str, Any]]:
    """Material search index entries for one article: the page, then one per `##` section."""
    keywords: list[str] = []
    seen: set[str] = set()
    for k in [*a.error_codes, *a.aliases, *_code_tokens(a)]:
        variants = [k]
        if "_" in k:  # ERR_TOO_MANY_REDIRECTS is one search term; also index "too many redirects"
            variants.append(" ".join(w.lower() for w in k.split("_") if w))
        for v in variants:
            if v.lower() not in seen:
                seen.add(v.lower())
                keywords.append(v)
    page: dict[str, Any] = {"location": url, "title": _h(a.title), "text": _h(_clip(a.summary, SEARCH_SUMMARY_CHARS))}
    if a.tags:
        page["tags"] = list(a.tags)
    if keywords:
        page[SEARCH_KEYWORDS_FIELD] = _h(" · ".join(keywords))
    entries = [page]
    slug_at = {h.line: h.slug for h in a.headings}
    for s in a.sections:
        slug = slug_at.get(s.line)
        if not slug:
            continue
        entries.append({"location": f"{url}#{slug}", "title": _h(s.title),
                        "text": _h(_clip(_search_text(s.text), SEARCH_SECTION_CHARS))})
    return entries


# --- Writing the docs tree -------------------------------------------------------------------


def write_docs(plan: SitePlan, docs_dir: Path) -> None:
    """Replace `docs_dir`'s contents with the plan's pages, assets and the site CSS."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    for child in docs_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for rel, text in plan.pages.items():
        dest = docs_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    for rel, src in plan.assets.items():
        dest = docs_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    if CSS_SOURCE.is_file():
        css = docs_dir / CSS_DEST
        css.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CSS_SOURCE, css)


# --- The MkDocs plugin ----------------------------------------------------------------------

_REQUIRED_EXTENSIONS = ("toc", "tables", "attr_list", "md_in_html", "admonition", "pymdownx.emoji")


def _ensure_markdown(config: Any) -> None:
    exts = config.markdown_extensions
    names = {e if isinstance(e, str) else type(e).__module__ for e in exts}
    for name in _REQUIRED_EXTENSIONS:
        if name not in names:
            exts.append(name)
    if "pymdownx.emoji" not in config.mdx_configs:
        from material.extensions.emoji import to_svg, twemoji

        config.mdx_configs["pymdownx.emoji"] = {"emoji_index": twemoji, "emoji_generator": to_svg}


def _tag_anchor_fn(config: Any) -> Callable[[str], str] | None:
    """The anchor Material's tags plugin gives a tag on the tags page (mirrors its `_slugify`)."""
    tags = config.plugins.get("material/tags") or config.plugins.get("tags")
    if tags is None or not getattr(tags.config, "enabled", True):
        return None
    c = tags.config

    def anchor(name: str) -> str:
        parts = name.split(c.tags_hierarchy_separator) if c.tags_hierarchy else [name]
        slug = c.tags_hierarchy_separator.join(c.tags_slugify(p, c.tags_slugify_separator) for p in parts)
        return c.tags_slugify_format.format(slug=slug)

    return anchor


class KBSitePlugin(BasePlugin):  # type: ignore[type-arg]
    """Generates the docs tree from the KB on every build and writes the search entries.

    Registered programmatically by `build_site` / `preview` (not an entry point): it
    needs the KB and kbtool's config, which MkDocs knows nothing about.
    """

    def __init__(self, cfg: Config, kb: KB | None = None) -> None:
        super().__init__()
        self.load_config({})
        self.cfg = cfg
        self._kb = kb  # used for the first build; later builds (preview) reload the KB
        self.plan: SitePlan | None = None
        self.legacy_written: dict[str, str] = {}  # legacy redirect pages the last build wrote

    def on_config(self, config: Any) -> Any:
        kb, self._kb = (self._kb, None) if self._kb is not None else (load_kb(self.cfg.kb, self.cfg), None)
        plan = plan_site(kb, extra=dict(config.extra or {}), directory_urls=config.use_directory_urls,
                         tag_anchor=_tag_anchor_fn(config), site_url=config.site_url)
        write_docs(plan, Path(config.docs_dir))
        self.plan = plan
        config.nav = plan.nav
        _ensure_markdown(config)
        if not CSS_SOURCE.is_file():
            log.warning(f"kbtool's site stylesheet {CSS_SOURCE} is missing from this installation "
                        "(package data); the help center is built without it")
        elif CSS_DEST not in [str(c) for c in config.extra_css]:
            config.extra_css.append(CSS_DEST)
        redirects = config.plugins.get("redirects")
        if redirects is not None:
            maps = dict(redirects.config.get("redirect_maps") or {})
            maps.update(plan.redirects)
            redirects.config["redirect_maps"] = maps
        for level, message in plan.messages:
            log.log(level, message)
        return config

    @event_priority(-100)  # after Material's search plugin has written its index
    def on_post_build(self, *, config: Any) -> None:
        if self.plan is None:
            return
        self._write_legacy_redirects(config)
        path = Path(config.site_dir) / "search" / "search_index.json"
        if not path.is_file():
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        fields = data.setdefault("config", {}).setdefault("fields", {})
        fields.setdefault(SEARCH_KEYWORDS_FIELD, {"boost": SEARCH_KEYWORDS_BOOST})
        ours = {d["location"].split("#", 1)[0] for d in self.plan.search_docs}
        docs = [d for d in data.get("docs", []) if d.get("location", "").split("#", 1)[0] not in ours]
        data["docs"] = docs + self.plan.search_docs
        path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")

    def _write_legacy_redirects(self, config: Any) -> None:
        """mkdocs-redirects' redirect page at each old path; never over a file the build wrote."""
        from mkdocs_redirects.plugin import write_html

        assert self.plan is not None
        site = Path(config.site_dir)
        self.legacy_written = {}
        for file, doc in self.plan.legacy_redirects.items():
            dest = site / file
            if dest.exists() or dest.is_symlink():
                log.warning(f"legacy URL page {file} (for {doc}) would replace a file of the site; not written")
                continue
            href = _relative_href(file, _doc_url(doc, config.use_directory_urls))
            try:
                write_html(str(site), file, href)
            except OSError as e:  # e.g. a path through a file the site has (`sitemap.xml/x`)
                log.warning(f"legacy URL page {file} (for {doc}) cannot be written: {e.strerror or e}")
                continue
            self.legacy_written[file] = doc


# --- MkDocs config and logging ----------------------------------------------------------------

DEFAULT_MKDOCS_YML = """\
site_name: Help Center
theme:
  name: material
  font: false
  features: [navigation.tabs, navigation.top, search.suggest, search.highlight, toc.follow, content.code.copy]
extra:
  generator: false
plugins:
  - search
  - tags:
      export: false
  - redirects
markdown_extensions:
  - toc:
      permalink: true
      toc_depth: 2-6
  - admonition
  - attr_list
  - md_in_html
  - tables
validation:
  omitted_files: info
  absolute_links: warn
  unrecognized_links: warn
  anchors: warn
"""


def _load_mkdocs_config(cfg: Config, docs_dir: Path, site_dir: Path, strict: bool, plugin: KBSitePlugin,
                        **overrides: Any) -> Any:
    from mkdocs.config import load_config as mkdocs_load_config

    yml = cfg.mkdocs_yml
    if yml.is_file():
        config_file = str(yml)
    else:
        fallback = docs_dir.parent / "mkdocs.yml"
        fallback.write_text(DEFAULT_MKDOCS_YML, encoding="utf-8")
        config_file = str(fallback)
        log.info(f"{yml} not found: using kbtool's default look")
    mk = mkdocs_load_config(
        config_file=config_file, docs_dir=str(docs_dir), site_dir=str(site_dir), site_url=cfg.site_url,
        strict=strict, not_in_nav="/articles/\n", **overrides,
    )
    if "redirects" not in mk.plugins:
        from mkdocs_redirects.plugin import RedirectPlugin

        rp = RedirectPlugin()
        rp.load_config({})
        mk.plugins["redirects"] = rp
    mk.plugins["kbtool"] = plugin
    return mk


class _Capture(logging.Handler):
    def __init__(self, echo: Callable[[logging.LogRecord], None] | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.records.append(record)
        if self.echo is not None:
            self.echo(record)

    def messages(self, min_level: int = logging.WARNING) -> list[str]:
        return [f"{r.levelname}: {r.getMessage()}" for r in self.records if r.levelno >= min_level]


@contextmanager
def _capture_mkdocs_log(echo: Callable[[logging.LogRecord], None] | None = None,
                        level: int = logging.WARNING) -> Iterator[_Capture]:
    logger = logging.getLogger("mkdocs")
    handler = _Capture(echo)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, logging.WARNING))
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


# --- Atomic swap ------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2). False if unsupported here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def _swap_in(new: Path, target: Path) -> None:
    """Make `new` appear at `target` in one step; the old site is removed afterwards."""
    if not target.exists() and not target.is_symlink():
        os.rename(new, target)
        return
    if _rename_exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the previous site
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{int(time.time() * 1000)}")
    os.rename(target, old)  # fallback: two renames, a window of microseconds without a site
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _check_target(target: Path, cfg: Config, kb: KB) -> None:
    protected = {cfg.root.resolve(), kb.root.resolve(), Path.cwd().resolve(), Path.home().resolve(), Path("/")}
    for p in protected:
        if target == p or target in p.parents:
            raise SiteBuildError(f"refusing to build the site into {target}: it contains {p}")
    if target.exists() and not target.is_dir():
        raise SiteBuildError(f"site directory {target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not (target / "index.html").is_file() \
            and not (target / "sitemap.xml").is_file():
        raise SiteBuildError(f"refusing to replace {target}: it is not empty and does not look like a built site "
                             "(no index.html); remove it or choose another --site-dir")


def _dir_stats(root: Path) -> tuple[int, int, int]:
    files = size = pages = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, n))
            pages += n.endswith(".html")
    return files, size, pages


# --- Public API -------------------------------------------------------------------------------


def build_site(kb: KB, config: Config, site_dir: Path | None = None, strict: bool = False,
               echo: Callable[[logging.LogRecord], None] | None = None) -> BuildResult:
    """Build the public help center from `kb` into `site_dir` (default: `config.site_dir`).

    The site is built in a sibling temporary folder and swapped in atomically; on any
    failure the previous site is left as it was and `SiteBuildError` carries MkDocs'
    error and warnings. With `strict`, any warning (MkDocs' or kbtool's) fails the build.
    `echo` receives every MkDocs log record (for verbose output).
    """
    start = time.monotonic()
    target = Path(site_dir if site_dir is not None else config.site_dir).resolve()
    _check_target(target, config, kb)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="kbtool-site-") as tmp, \
                _capture_mkdocs_log(echo, logging.INFO if echo else logging.WARNING) as cap:
            docs = Path(tmp) / "docs"
            docs.mkdir()
            plugin = KBSitePlugin(config, kb)
            try:
                _run_mkdocs_build(config, docs, staging, strict, plugin)
            except Exception as e:  # MkDocs raises Abort, ConfigurationError, PluginError, Jinja errors, ...
                raise SiteBuildError(_describe_failure(e, cap), cap.messages()) from e
            warnings = cap.messages()
        assert plugin.plan is not None
        files, size, pages = _dir_stats(staging)
        index = staging / "search" / "search_index.json"
        index_bytes = index.stat().st_size if index.is_file() else 0
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(
        site_dir=target, articles=len(plugin.plan.articles), pages=pages, redirects=dict(plugin.plan.redirects),
        skipped=list(plugin.plan.skipped), warnings=warnings, files=files, site_bytes=size,
        search_index_bytes=index_bytes, seconds=time.monotonic() - start,
        legacy_redirects=dict(plugin.legacy_written),
    )


def _run_mkdocs_build(cfg: Config, docs: Path, site: Path, strict: bool, plugin: KBSitePlugin) -> None:
    from mkdocs.commands.build import build as mkdocs_build

    mk = _load_mkdocs_config(cfg, docs, site, strict, plugin)
    mk.plugins.on_startup(command="build", dirty=False)
    try:
        mkdocs_build(mk)
    finally:
        mk.plugins.on_shutdown()


def _describe_failure(e: Exception, cap: _Capture) -> str:
    errors = [f"{r.levelname}: {r.getMessage()}" for r in cap.records if r.levelno >= logging.ERROR]
    head = str(e) or type(e).__name__
    if type(e).__name__ not in ("Abort", "ConfigurationError", "PluginError", "BuildError"):
        head = f"{type(e).__name__}: {head}"
    lines = [f"MkDocs build failed: {head}"]
    lines += [f"  {m}" for m in errors if m not in lines[0]]
    if "strict mode" in head:
        lines += [f"  {m}" for m in cap.messages() if m.startswith("WARNING")]
    return "\n".join(lines)


def preview(config: Config, dev_addr: str = "127.0.0.1:8000", open_browser: bool = False,
            strict: bool = False) -> None:
    """Serve the help center with live reload (`mkdocs serve`): edits to the KB, `mkdocs.yml`
    or the site CSS rebuild the site. Blocks until interrupted."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.livereload import LiveReloadServer, _serve_url

    import signal
    import threading

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # so `kill` cleans up like Ctrl+C does

    old_term = signal.signal(signal.SIGTERM, _stop) if threading.current_thread() is threading.main_thread() else None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    tmp = Path(tempfile.mkdtemp(prefix="kbtool-preview-"))
    docs, site = tmp / "docs", tmp / "site"
    docs.mkdir()
    site.mkdir()
    plugin = KBSitePlugin(config)

    def get_config() -> Any:
        return _load_mkdocs_config(config, docs, site, strict, plugin, dev_addr=dev_addr)

    try:
        mk = get_config()
        mk.plugins.on_startup(command="serve", dirty=False)
        host, port = mk.dev_addr
        from urllib.parse import urlsplit

        mount_path = urlsplit(mk.site_url or "/").path
        serve_url = _serve_url(host, port, mount_path)

        def builder(mk_config: Any = None) -> None:
            log.info("Building the help center...")
            mk_config = mk_config or get_config()
            mk_config.site_url = serve_url
            mkdocs_build(mk_config, serve_url=serve_url)

        server = LiveReloadServer(builder=builder, host=host, port=port, root=str(site), mount_path=mount_path)
        builder(mk)
        for path in (config.kb, config.mkdocs_yml, CSS_SOURCE):
            if path.exists():
                server.watch(str(path))
        try:
            server.serve(open_in_browser=open_browser)
        except KeyboardInterrupt:
            log.info("Shutting down...")
        finally:
            server.shutdown()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        shutil.rmtree(tmp, ignore_errors=True)
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
