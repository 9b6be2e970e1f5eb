"""What the help center contains: public articles, their links, products, redirects, navigation.

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
  this package fails the build instead of leaking.
* After MkDocs renders a page, every `href`/`src` left in its sanitised HTML goes through
  `_Public.href` (`sanitize.sanitize_html` calls it): whatever link form slipped past the
  Markdown rewrite (raw HTML, absolute help-center URLs, old `legacy_urls` addresses) ends
  at a public page, a retired article's successor, or no link at all.
* A retired article's page is never generated; its old URL becomes a redirect page
  (mkdocs-redirects) that holds nothing but the successor's URL.
* `legacy_urls` (where an article lived before, e.g. a Zendesk `html_url`) become
  redirect pages at those paths (same mkdocs-redirects page, written after the build),
  only for articles that get a page themselves: a draft's, internal or retired
  article's old path gets nothing. A legacy path never replaces a file the build made.

`plan_site` is pure: it reads the KB model and returns a `SitePlan`; `build.py` writes it
out and runs MkDocs.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..content import (
    KB,
    Article,
    Link,
    heading_slug,
    iter_prose_lines,
    legacy_page_file,
    legacy_url_path,
    mask_inline_code,
    match_link,
)
from .pages import (
    DEFAULT_PRODUCT_ICON,
    GENERAL_PRODUCT,
    TYPE_LABELS,
    TYPE_ORDER,
    Product,
    article_page,
    by_type_then_title,
    home_page,
    known_issues_page,
    known_issues_search_entry,
    normalise_list_indent,
    product_page,
    product_search_entry,
    tags_page,
    type_page,
)

# Files an article may link to or embed; they are copied into the site (only if linked).
ASSET_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".pdf", ".csv", ".mp4", ".webm"})

Messages = list[tuple[int, str]]  # (logging level, text), replayed through MkDocs' logger


@dataclass
class SitePlan:
    """Everything the site will contain, computed from the KB before MkDocs runs."""

    articles: list[Article]  # the public articles that get a page, sorted by id
    pages: dict[str, str]  # docs-relative path -> Markdown source
    assets: dict[str, Path]  # docs-relative path -> file to copy (images linked from articles)
    redirects: dict[str, str]  # "articles/<retired>.md" -> "articles/<successor>.md" (or "index.md")
    nav: list[Any]
    search_docs: list[dict[str, Any]]  # entries for search_index.json (locations are page URLs)
    messages: Messages
    skipped: list[tuple[str, str]]
    # site file for an old URL ("hc/en-us/articles/1-foo/index.html") -> "articles/<id>.md"
    legacy_redirects: dict[str, str] = field(default_factory=dict)
    # the gatekeeper, armed with the site's URLs: every href/src of a rendered page goes through `gate.href`
    gate: _Public | None = None
    product_of: dict[str, Product] = field(default_factory=dict)  # article id -> its product (category)


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

    def open_urls(self, urls: set[str], assets: dict[str, Path], directory_urls: bool, site_url: str | None) -> None:
        """Arm `href` with the site's own pages (`urls`, site paths) and copied assets."""
        self._urls = {_norm_path(u) for u in urls}
        self._assets = {src.resolve(): doc for doc, src in assets.items()}
        self._directory_urls = directory_urls
        site = urlsplit(site_url or "/")
        self._site_host = site.netloc.lower()
        self._site_path = site.path.strip("/")
        self._legacy: dict[str, Article] = {}
        for a in self.kb.articles:
            for url in a.legacy_urls:
                path, _ = legacy_url_path(url)
                if path is not None:
                    self._legacy.setdefault(_norm_path(path), a)

    def href(self, from_doc: str, source: Article | None, value: str) -> str | None:
        """The `href`/`src` a page's HTML may keep for `value` (None: drop it, keep the text).

        Every URL in a page's sanitised content comes here: a fragment or an external
        URL stays; a URL into the site (relative, `/`-rooted or an absolute help-center
        URL), a help-center or old (`legacy_urls`) URL of an article, or a KB path left
        in raw HTML becomes the public page standing for it (a retired article's
        successor), or nothing: never a non-public article's id.
        """
        v = value.strip()
        if not v or v.startswith("#"):
            return value
        parts = urlsplit(v)
        frag = f"#{parts.fragment}" if parts.fragment else ""
        if parts.scheme or v.startswith("//"):
            if parts.scheme.lower() not in ("http", "https", ""):
                return value  # mailto:, tel: (the sanitiser refuses every other scheme)
            if parts.netloc.lower() != self._site_host or not _under(parts.path, self._site_path):
                legacy = self._legacy.get(_norm_path(unquote(parts.path)))
                return value if legacy is None else self._to_article(from_doc, legacy, "")
            site_rel = _norm_path(unquote(parts.path))[len(self._site_path):]
        elif v.startswith("/"):
            if not _under(parts.path, self._site_path):
                return None
            site_rel = _norm_path(unquote(parts.path))[len(self._site_path):]
        else:
            here = posixpath.dirname(doc_file(from_doc, self._directory_urls))
            site_rel = _norm_path(posixpath.normpath(posixpath.join(here, unquote(parts.path))))
            if source is not None and parts.path and not site_rel.startswith(".."):
                kb_hit = self._kb_target(from_doc, source, v)
                if kb_hit is not None:
                    return kb_hit or None
        return self._site_target(from_doc, site_rel.strip("/"), frag, value)

    def _kb_target(self, from_doc: str, source: Article, value: str) -> str | None:
        """For a KB-relative path (raw HTML keeps them): the page or asset URL, "" to drop, None if not a KB file."""
        path, anchor = self.kb.resolve_link(source, value)
        if path is None:
            return None
        dest = self.kb.by_path.get(path)
        if dest is not None:
            return self._to_article(from_doc, dest, f"#{anchor}" if anchor else "") or ""
        asset = self._assets.get(path)
        if asset is not None:
            return relative_href(doc_file(from_doc, self._directory_urls), asset)
        return None

    def _site_target(self, from_doc: str, site_rel: str, frag: str, value: str) -> str | None:
        """A site path: kept if it is one of the site's pages or assets, else an article's page or nothing."""
        if site_rel in self._urls:
            m = _ARTICLE_URL.fullmatch(site_rel)
            if m is None or self.kb.get(m.group(1)) in self:
                return value
        m = _ARTICLE_URL.fullmatch(site_rel)
        if m is not None and (target := self.kb.get(m.group(1))) is not None:
            return self._to_article(from_doc, target, frag)
        legacy = self._legacy.get(site_rel)
        return None if legacy is None else self._to_article(from_doc, legacy, "")

    def _to_article(self, from_doc: str, article: Article, frag: str) -> str | None:
        live = self.resolve(article)
        if live is None:
            return None
        url = doc_url(f"articles/{self.ref(live).id}.md", self._directory_urls)
        return relative_href(doc_file(from_doc, self._directory_urls), url) + frag


_ARTICLE_URL = re.compile(r"articles/([^/]+?)(?:\.html)?")


def _norm_path(path: str) -> str:
    """A site path compared as a page: no leading or trailing `/`, no trailing `index.html`."""
    p = path.strip("/")
    if p == "index.html" or p.endswith("/index.html"):
        p = p[: -len("index.html")]
    return p.strip("/")


def _under(path: str, site_path: str) -> bool:
    p = _norm_path(unquote(path))
    return not site_path or p == site_path or p.startswith(site_path + "/")


# --- URLs ---------------------------------------------------------------------------------------


def doc_url(doc: str, directory_urls: bool) -> str:
    """A docs page's URL relative to the site root, as MkDocs gives it."""
    stem = doc[:-3]
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return f"{stem}/" if directory_urls else f"{stem}.html"


def doc_file(doc: str, directory_urls: bool) -> str:
    """The file MkDocs writes for a docs page (`a.md` -> `a/index.html` or `a.html`)."""
    stem = doc[:-3]
    if stem == "index" or stem.endswith("/index") or not directory_urls:
        return f"{stem}.html"
    return f"{stem}/index.html"


def relative_href(from_file: str, to_url: str) -> str:
    """A link from the page at `from_file` to the site URL `to_url` ("articles/x/" or "articles/x.html")."""
    rel = posixpath.relpath(to_url.rstrip("/") or ".", posixpath.dirname(from_file) or ".")
    return f"{rel}/" if to_url.endswith("/") else rel


# --- The plan -------------------------------------------------------------------------------------


def plan_site(kb: KB, *, extra: dict[str, Any] | None = None, directory_urls: bool = True,
              tag_anchor: Callable[[str], str] | None = None, site_url: str | None = None,
              site_assets: tuple[str, ...] = ()) -> SitePlan:
    """Decide the site's pages, links, redirects, navigation and search entries.

    Pure: reads the KB model only. `extra` is MkDocs' `extra` mapping; its
    `kbtool.products.<key>` tables give a product's `name`, `icon` and `description`.
    `tag_anchor` maps a tag to its anchor on the tags page (the tags plugin's slug);
    without it articles show no tag chips. `site_url` places legacy-URL redirects when
    the site is served under a path, and tells help-center URLs in articles from others.
    `site_assets` are further site paths pages may link to (the site CSS).
    """
    extra = extra or {}
    plan = SitePlan(articles=[], pages={}, assets={}, redirects={}, nav=[], search_docs=[], messages=[], skipped=[])
    plan.articles = _public_articles(kb, plan)
    pub = _Public(kb, plan.articles)
    products = _plan_products(plan.articles, _products_meta(extra))
    product_of = {a.id: p for p in products for a in p.articles}
    plan.product_of = product_of
    _add_article_pages(plan, pub, product_of, directory_urls, tag_anchor)
    type_pages = _add_landing_pages(plan, extra, products, product_of, directory_urls, tag_anchor)
    plan.redirects = _retired_redirects(kb, pub, plan.messages)
    taken = {doc_file(doc, directory_urls) for doc in [*plan.pages, *plan.redirects]} | set(plan.assets)
    site_path = urlsplit(site_url or "/").path.strip("/")
    plan.legacy_redirects = _legacy_redirects(kb, pub, taken, site_path, plan.messages)
    plan.nav = _nav(products, type_pages)
    urls = {doc_url(doc, directory_urls) for doc in [*plan.pages, *plan.redirects]} | set(plan.assets)
    pub.open_urls(urls | set(site_assets), plan.assets, directory_urls, site_url)
    plan.gate = pub
    return plan


def _public_articles(kb: KB, plan: SitePlan) -> list[Article]:
    """The public articles that get a page, by id; public ones with errors are skipped (and reported)."""
    public: list[Article] = []
    for a in sorted(kb.articles, key=lambda a: a.id):
        if not a.is_public or a.kind != "article":  # nothing under runbooks/ is ever published
            continue
        if not a.valid or kb.get(a.id) is not a:
            plan.skipped.append((a.id, "has errors (run `kbtool lint`)"))
            plan.messages.append((logging.WARNING, f"{a.rel_path}: not published on the site: "
                                                   "the article has errors (run `kbtool lint`)"))
            continue
        problem = _unpublishable(a)
        if problem is not None:
            plan.skipped.append((a.id[:MAX_ID_BYTES], problem[1]))
            plan.messages.append((logging.WARNING, f"{a.rel_path}:{problem[0]}: not published on the site: {problem[1]}"))
            continue
        public.append(a)
    return public


# Limits that keep one article from failing the whole build: a file name must fit NAME_MAX
# (255 bytes) with room for `.md`/`index.html`; Python-Markdown recurses once per nesting
# level and fails near 500 nested lists (RecursionError), so far deeper than any article needs.
MAX_ID_BYTES = 200
MAX_NESTING = 100
_NEST_MARK = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)]|>)(?=[ \t]|$)")


def _unpublishable(a: Article) -> tuple[int, str] | None:
    """(line, why) when an article that loaded cleanly still cannot become a page."""
    if len(a.id.encode("utf-8")) > MAX_ID_BYTES:
        return a.line_of("id"), f"its id is longer than {MAX_ID_BYTES} bytes, too long for a file name"
    for idx, line in iter_prose_lines(a.body):
        depth, pos = (len(line) - len(line.lstrip(" "))) // 4, 0
        while (m := _NEST_MARK.match(line, pos)) is not None and m.end() > pos:
            depth, pos = depth + 1, m.end()
        if depth > MAX_NESTING:
            return a.body_line + idx, f"lists or quotes nested more than {MAX_NESTING} levels deep"
    return None


def _products_meta(extra: dict[str, Any]) -> dict[str, dict[str, str]]:
    meta = (extra or {}).get("kbtool", {}) or {}
    prods = meta.get("products", {}) or {}
    return {str(k): dict(v or {}) for k, v in prods.items()} if isinstance(prods, dict) else {}


def _icon(name: str | None, default: str) -> str:
    """`material/key-variant` (mkdocs.yml style) -> `material-key-variant` (emoji shortcode)."""
    name = (name or default).strip().replace("/", "-")
    return name if re.fullmatch(r"[a-z0-9-]+", name) else default


def _plan_products(articles: list[Article], meta: dict[str, dict[str, str]]) -> list[Product]:
    """One product (category) per `product` value, in `extra.kbtool.products` order, then by name."""
    products: dict[str, Product] = {}
    slugs: set[str] = set()
    for a in articles:
        key = a.product or GENERAL_PRODUCT
        if key not in products:
            products[key] = _new_product(key, meta.get(key, {}), slugs)
        products[key].articles.append(a)
    order = list(meta)
    return sorted(products.values(),
                  key=lambda p: (order.index(p.key) if p.key in order else len(order), p.name.lower()))


MAX_SLUG_CHARS = 80


def _new_product(key: str, meta: dict[str, str], slugs: set[str]) -> Product:
    base = (heading_slug(key) or "product")[:MAX_SLUG_CHARS].strip("-") or "product"  # a file name: bounded
    slug, n = base, 1
    while slug in slugs:  # "Data" and "data" must not share a page
        n += 1
        slug = f"{base}-{n}"
    slugs.add(slug)
    default_name = "General" if key == GENERAL_PRODUCT else key.replace("-", " ").replace("_", " ").capitalize()
    return Product(key=key, slug=slug, name=str(meta.get("name") or default_name),
                   icon=_icon(meta.get("icon"), DEFAULT_PRODUCT_ICON), description=str(meta.get("description") or ""))


def _add_article_pages(plan: SitePlan, pub: _Public, product_of: dict[str, Product], directory_urls: bool,
                       tag_anchor: Callable[[str], str] | None) -> None:
    """Each public article's page and search entries; linked assets are added to `plan.assets`."""
    tags_url = "../../tags/" if directory_urls else "../tags.html"
    for a in plan.articles:
        doc = f"articles/{a.id}.md"
        body = normalise_list_indent(_rewrite_body(a, pub, plan.assets, plan.messages))
        related = _related(a, pub, plan.messages)
        plan.pages[doc] = article_page(a, body, related, product_of[a.id], tags_url, tag_anchor)
        # search entries come from the sanitised page (build.KBSitePlugin.on_page_content)


def _related(a: Article, pub: _Public, messages: Messages) -> list[Article]:
    """The public articles standing for `a.related` (a retired one's successor), once each, never `a`."""
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
            related.append(pub.ref(live))
    return related


def _add_landing_pages(plan: SitePlan, extra: dict[str, Any], products: list[Product],
                       product_of: dict[str, Product], directory_urls: bool,
                       tag_anchor: Callable[[str], str] | None) -> dict[str, str]:
    """Product, type, Known issues, Tags and home pages; returns article type -> its listing page."""
    for p in products:
        plan.pages[p.page] = product_page(p, by_type_then_title(p.articles))
        plan.search_docs.append(product_search_entry(p, doc_url(p.page, directory_urls)))
    by_type: dict[str, list[Article]] = defaultdict(list)
    for a in plan.articles:
        by_type[a.type].append(a)
    type_pages: dict[str, str] = {}
    for t in TYPE_ORDER:
        if t == "known-issue" or not by_type.get(t):
            continue
        type_pages[t] = f"types/{t}.md"
        plan.pages[type_pages[t]] = type_page(t, by_type[t], products, product_of)
    type_pages["known-issue"] = "known-issues.md"
    known = sorted(by_type.get("known-issue", []), key=lambda a: (a.last_reviewed or date.min, a.title), reverse=True)
    plan.pages["known-issues.md"] = known_issues_page(known, product_of)
    plan.search_docs.append(known_issues_search_entry(doc_url("known-issues.md", directory_urls)))
    plan.pages["tags.md"] = tags_page(plan.articles, tag_anchor)
    plan.pages["index.md"] = home_page(extra, products, by_type, type_pages, known)
    return type_pages


def _nav(products: list[Product], type_pages: dict[str, str]) -> list[Any]:
    """The compact navigation: home, products, article types, Known issues, Tags (never the articles)."""
    nav: list[Any] = [{"Home": "index.md"}]
    if products:
        nav.append({"Products": [{p.name: p.page} for p in products]})
    browse = [{TYPE_LABELS[t]: type_pages[t]} for t in TYPE_ORDER if t in type_pages and t != "known-issue"]
    if browse:
        nav.append({"Article types": browse})
    nav += [{"Known issues": "known-issues.md"}, {"Tags": "tags.md"}]
    return nav


# --- Redirects ----------------------------------------------------------------------------------


def _retired_redirects(kb: KB, pub: _Public, messages: Messages) -> dict[str, str]:
    """A retired public article's page -> its public successor's page, or the home page."""
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
    return redirects


def _legacy_redirects(kb: KB, pub: _Public, taken: set[str], site_path: str, messages: Messages) -> dict[str, str]:
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
            file = _legacy_file(url, site_path, where, messages)
            if file is None:
                continue
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


MAX_LEGACY_SEGMENTS = 32  # a site path, not a file system walk (1,000 segments overflowed os.makedirs)
MAX_LEGACY_CHARS = 1024


def _legacy_file(url: str, site_path: str, where: str, messages: Messages) -> str | None:
    """The site file a legacy URL's redirect page goes to, or None if this site cannot serve it."""
    path, _ = legacy_url_path(url)
    if path is None:  # the loader reports these (KB103); an article with errors has no page anyway
        return None
    if path.count("/") >= MAX_LEGACY_SEGMENTS or len(path) > MAX_LEGACY_CHARS:
        messages.append((logging.WARNING, f"{where}: a legacy URL has more than {MAX_LEGACY_SEGMENTS} path segments "
                                          f"or {MAX_LEGACY_CHARS} characters; not redirected"))
        return None
    if site_path:
        if path != site_path and not path.startswith(site_path + "/"):
            messages.append((logging.WARNING, f"{where}: legacy URL {url!r} is outside the site's path "
                                              f"/{site_path}/, so this site cannot serve it; not redirected"))
            return None
        path = path[len(site_path) + 1:]
        if not path:
            messages.append((logging.WARNING, f"{where}: legacy URL {url!r} is the site's home page; "
                                              "not redirected"))
            return None
    return legacy_page_file(path)


# --- Link rewriting --------------------------------------------------------------------------

_REF_DEF = re.compile(r"^((?: {0,3}>[ ]?)*)( {0,3}\[([^\]]+)\]:[ \t]*<?)([^\s>]+)(.*)$")  # also in `>` quotes
_REF_USE = re.compile(r"(?<![\]!\\])\[([^\[\]]+)\](?:\[([^\[\]]*)\]|(?![(:\[]))")


def _rewrite_target(a: Article, target: str, pub: _Public, assets: dict[str, Path],
                    messages: Messages, line: int) -> str | None:
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


def _rewrite_body(a: Article, pub: _Public, assets: dict[str, Path], messages: Messages) -> str:
    """The article body with KB-relative links pointing at the generated pages."""
    lines = a.body.split("\n")
    per_line: dict[int, list[Link]] = defaultdict(list)
    for link in a.links:
        per_line[link.line - a.body_line].append(link)
    for idx in sorted(per_line, reverse=True):  # bottom up: a link over two lines edits the start of the next
        if 0 <= idx < len(lines):
            lines[idx: idx + 2] = _rewrite_inline_links(a, lines[idx: idx + 2], per_line[idx], pub, assets, messages)
    for link in a.links:  # raw HTML: the page's sanitiser rewrites it (`href`); here its assets are collected
        if link.kind == "html":
            _rewrite_target(a, link.target, pub, assets, messages, link.line)
    prose = [idx for idx, _ in iter_prose_lines(a.body)]
    dropped = _rewrite_ref_definitions(a, lines, prose, pub, assets, messages)
    if dropped:  # [text][label], [label][] and [label] that used a dropped definition become plain text
        for idx in prose:
            lines[idx] = _unlink_ref_uses(lines[idx], dropped)
    return "\n".join(lines)


def _rewrite_inline_links(a: Article, pair: list[str], links: list[Link], pub: _Public, assets: dict[str, Path],
                          messages: Messages) -> list[str]:
    """A body line (and the next, where a link's text goes on there) with the line's
    `[text](target)` links rewritten, right to left."""
    line = "\n".join(pair)
    masked = "\n".join(mask_inline_code(x) for x in pair)
    for link in sorted(links, key=lambda lk: lk.column, reverse=True):
        m = match_link(masked, link.column - 1)
        if m is None:
            continue
        new = _rewrite_target(a, m.target, pub, assets, messages, link.line)
        if new is None:
            continue
        if new == "":
            line = line[: m.start] + line[m.text_start: m.text_start + len(m.text)] + line[m.end:]
        else:
            line = line[: m.target_start] + new + line[m.target_start + len(m.target):]
    return line.split("\n", 1)


def _rewrite_ref_definitions(a: Article, lines: list[str], prose: list[int], pub: _Public, assets: dict[str, Path],
                             messages: Messages) -> set[str]:
    """Rewrite `[label]: target` definitions in place; returns the (lower-case) labels of dropped ones."""
    dropped: set[str] = set()
    for idx in prose:
        m = _REF_DEF.match(lines[idx])
        if m is None:
            continue
        new = _rewrite_target(a, m.group(4), pub, assets, messages, a.body_line + idx)
        if new == "":
            lines[idx] = m.group(1).rstrip()  # a quoted definition leaves its `>` so the quote goes on
            dropped.add(m.group(3).strip().lower())
        elif new is not None:
            lines[idx] = m.group(1) + m.group(2) + new + m.group(5)
    return dropped


def _unlink_ref_uses(line: str, dropped: set[str]) -> str:
    """`line` with reference-style links to a dropped label reduced to their text."""
    masked = mask_inline_code(line, "\0")
    pieces, last = [], 0
    for m in _REF_USE.finditer(masked):
        label = (m.group(2) or m.group(1)).strip().lower()
        keep = line[m.start(1):m.end(1)] if label in dropped else line[m.start():m.end()]
        pieces += [line[last:m.start()], keep]
        last = m.end()
    return "".join(pieces) + line[last:]
