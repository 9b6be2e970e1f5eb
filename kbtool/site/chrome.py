"""What kbtool adds around the sanitised page content: the "Was this helpful?" widget,
OpenGraph tags, robots.txt and the 404 page.

Everything here is trusted markup built from escaped values (never author HTML), added
after `sanitize.sanitize_html` ran, so it may carry the buttons and `data-` attributes the
sanitiser refuses in articles. Nothing here makes a request on its own: the feedback
widget exists only when `feedback_url` is configured and posts only when clicked.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

from ..content import Article

FEEDBACK_JS_SOURCE = Path(__file__).parents[1] / "templates" / "site" / "kbtool-feedback.js"
FEEDBACK_JS_DEST = "assets/kbtool/kbtool-feedback.js"
NOT_FOUND_ARTICLES = 8


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def feedback_widget(article_id: str, feedback_url: str) -> str:
    """The vote buttons below an article; `kbtool-feedback.js` posts
    `{article_id, outcome: helpful|not_helpful, source: "help-center"}` to `feedback_url`."""
    return (f'<aside class="kb-feedback" data-kb-feedback="{_h(feedback_url)}" data-article="{_h(article_id)}" '
            'aria-labelledby="kb-feedback-q">\n'
            '<p class="kb-feedback__q" id="kb-feedback-q">Was this helpful?</p>\n'
            '<button type="button" class="md-button kb-feedback__vote" data-outcome="helpful">Yes</button>\n'
            '<button type="button" class="md-button kb-feedback__vote" data-outcome="not_helpful">No</button>\n'
            '<p class="kb-feedback__thanks" role="status" aria-live="polite"></p>\n</aside>\n')


def open_graph(*, title: str, description: str, url: str | None, site_name: str, article: bool) -> str:
    """OpenGraph `<meta>` tags for a page's `<head>` (link previews in chat tools and tickets)."""
    tags = [("og:type", "article" if article else "website"), ("og:title", title), ("og:site_name", site_name)]
    if description:
        tags.append(("og:description", description))
    if url:
        tags.append(("og:url", url))
    return "".join(f'<meta property="{p}" content="{_h(v)}">\n' for p, v in tags)


def insert_into_head(page_html: str, tags: str) -> str:
    """`page_html` with `tags` just before `</head>` (unchanged if it has none)."""
    at = page_html.find("</head>")
    return page_html if at < 0 else page_html[:at] + tags + page_html[at:]


_SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'


def name_search_dialog(page_html: str) -> str:
    """Material's search dialog gets an accessible name (axe `aria-dialog-name`)."""
    return page_html.replace(_SEARCH_DIALOG, _SEARCH_DIALOG[:-1] + ' aria-label="Search the help center">', 1)


SECTION_NAV_ARTICLES = 20
_SIDEBAR_INNER = '<div class="md-sidebar md-sidebar--primary" data-md-component="sidebar" data-md-type="navigation" >'


def section_nav(article: Article, section: str, siblings: list[Article], directory_urls: bool) -> str:
    """ "Articles in this section": the left column of an article page lists its product's
    articles (`siblings`, already public and in listing order), the current one marked."""
    items = []
    for a in siblings[:SECTION_NAV_ARTICLES]:
        href = f"../{a.id}/" if directory_urls else f"{a.id}.html"
        current = ' aria-current="page"' if a.id == article.id else ""
        items.append(f'<li class="md-nav__item"><a class="md-nav__link" href="{_h(href)}"{current}>{_h(a.title)}</a></li>')
    return (f'<nav class="md-nav kb-section" aria-label="Articles in this section">'
            f'<p class="kb-section__title">{_h(section)}</p>'
            f'<ul class="md-nav__list">{"".join(items)}</ul></nav>')


def insert_section_nav(page_html: str, nav: str) -> str:
    """`page_html` with `nav` at the top of the primary sidebar (unchanged if the theme has none)."""
    at = page_html.find(_SIDEBAR_INNER)
    if at < 0:
        return page_html
    inner = page_html.find('<div class="md-sidebar__inner">', at)
    if inner < 0:
        return page_html
    inner += len('<div class="md-sidebar__inner">')
    return page_html[:inner] + nav + page_html[inner:]


def robots_txt(site_url: str | None) -> str:
    """Everything may be crawled; the sitemap is named when the site's URL is absolute."""
    lines = ["User-agent: *", "Allow: /"]
    if site_url and urlsplit(site_url).netloc:
        lines.append(f"Sitemap: {site_url.rstrip('/')}/sitemap.xml")
    return "\n".join(lines) + "\n"


_NOT_FOUND_H1 = re.compile(r"<h1>404 - Not found</h1>")


def not_found_content(page_html: str, articles: list[Article], site_path: str, directory_urls: bool) -> str:
    """Material's bare 404 page with a way on: a search button and the most recently reviewed
    articles. Links are rooted at the site's path: a 404 page is served at any address."""
    base = "/" + (site_path.strip("/") + "/" if site_path.strip("/") else "")
    top = sorted(articles, key=lambda a: (a.last_reviewed is not None, a.last_reviewed, a.title), reverse=True)
    items = "".join(
        f'<li><a href="{_h(base)}articles/{_h(a.id)}{"/" if directory_urls else ".html"}">{_h(a.title)}</a></li>\n'
        for a in top[:NOT_FOUND_ARTICLES])
    block = ('<h1 id="kb-title">Page not found</h1>\n'
             "<p class=\"kb-summary\">The page you asked for isn't here. It may have moved: search the help center, "
             "or start from one of these articles.</p>\n"
             '<p><label class="md-button md-button--primary" for="__search">Search the help center</label> '
             f'<a class="md-button" href="{_h(base)}">Help Center home</a></p>\n')
    if items:
        block += f'<h2 id="kb-top">Popular articles</h2>\n<ul class="kb-notfound__list">\n{items}</ul>\n'
    return _NOT_FOUND_H1.sub(lambda _m: block, page_html, count=1)
