"""The help center's pages as Markdown: article pages, landing pages, the home page, search entries.

Everything here renders what `plan.py` hands it: the articles passed in have already been
through the gatekeeper (`plan._Public`), so nothing in this module decides what is public.
Titles, summaries and other author text are escaped (`_md`, `_h`) so they show exactly as
written and never become markup.

Search is Material's own client-side search, served offline from the built files.
kbtool writes the index entries itself (the article pages are excluded from Material's
HTML indexer): title, summary, `##` headings with a short snippet each, and a
`keywords` field holding error codes, aliases and identifier-like strings from code
(error strings customers paste). That keeps `search_index.json` at roughly a third of
what indexing the full bodies costs, while everything customers search for is in it.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..content import (
    PAGE_RELATED_ANCHOR,
    PAGE_TITLE_ANCHOR,
    Article,
    clip,
    fence_blocks,
    mask_comments,
)
from .sanitize import PageText

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


# Linear on any input: every run is possessive and stops at the next bracket (or `<`), so a
# failed attempt never rescans what a later start will scan again. (The old `[^\]]*` and
# `[^>]*` ran to the end of the text from every `[` or `<` of `[[[[…` or `<a<a<a…`: quadratic.)
_FM_IMAGE_OR_LINK = re.compile(r"!?\[((?:[^\[\]]++|\[[^\[\]]*+\])*+)\]\([^)\[]*+\)")
_FM_REF_LINK = re.compile(r"\[([^\[\]]++)\]\[[^\[\]]*+\]")
_FM_TAG = re.compile(r"</?[A-Za-z][^<>]*+>")
_FM_BLOCK_MARK = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+|`{3,}.*|~{3,}.*|\|?\s*:?-{3,}.*)", re.M)
_FM_EMPHASIS = re.compile(r"(?<![\w\\])(\*{1,3}|_{1,3})(?=\S)|(?<=\S)(\*{1,3}|_{1,3})(?![\w])")
_FM_ATTR = re.compile(r"\{:?\s*[#.][^}]*\}")


def _search_text(markdown: str) -> str:
    """Markdown as one line of plain text for the search index (underscores in words kept)."""
    text = mask_comments(markdown)
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
    """At most `limit + 1` characters: `text`, or up to `limit` of them and an ellipsis, cut at
    a word when that keeps 60% of them."""
    return clip(text, limit + 1, at_word=0.6)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]")


def _code_tokens(code: list[str]) -> list[str]:
    """Identifier-like strings from the text of a page's `<code>` elements (error strings,
    reason codes, headers)."""
    seen: set[str] = set()
    out: list[str] = []
    for chunk in code:
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


# --- Products (categories) ------------------------------------------------------------------


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


def by_type_then_title(items: list[Article]) -> list[Article]:
    """Listing order: article type (TYPE_ORDER), then title."""
    return sorted(items, key=lambda a: (TYPE_ORDER.index(a.type) if a.type in TYPE_ORDER else 99, a.title.lower()))


# --- List re-indenting ------------------------------------------------------------------------

_LIST_MARK = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +|$)")


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
    lines = body.split("\n")
    blocks = {f.start: f.end for f in fence_blocks(lines)}
    fence_end, fence_by = -1, 0  # while inside a fenced block: where it ends, how far it moves
    prev_blank = True
    for i, raw in enumerate(lines):
        lead = len(raw) - len(raw.lstrip(" \t"))
        line = raw[:lead].expandtabs(4) + raw[lead:]
        if i < fence_end:
            out.append(_shift(line, fence_by))
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
        if i in blocks and not m:  # a fence opening this line (not after a list marker) moves whole
            fence_end, fence_by = blocks[i], by
        elif m:
            stack.append(indent + len(m.group(2)) + max(1, min(len(m.group(3)), 4)))
        prev_blank = False
    return "\n".join(out)


# --- Page generators ----------------------------------------------------------------------


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


def _status_slug(a: Article) -> str:
    s = a.section("Status")
    return next((h.slug for h in a.headings if s is not None and h.line == s.line), "status")


def article_page(a: Article, body: str, related: list[Article], product: Product, tags_url: str,
                  tag_anchor: Callable[[str], str] | None) -> str:
    """An article's page; `body` is already rewritten and `related` already public (plan.py)."""
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
    out.append(f"# {_md(a.title)} {{ #{PAGE_TITLE_ANCHOR} }}\n\n")
    out.append(f"{_md(a.summary)}\n{{ .kb-summary }}\n\n")
    out.append(_article_meta(a, product))
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
        out.append(f"## Related articles {{ #{PAGE_RELATED_ANCHOR} }}\n\n")
        out.append('<div class="kb-related" markdown>\n\n')
        for r in related:
            out.append(f"- [{_md(r.title)}]({r.id}.md)  \n  <span class=\"kb-list__summary\">{_md(r.summary)}</span>\n")
        out.append("\n</div>\n")
    return "".join(out)


def _article_meta(a: Article, product: Product) -> str:
    """The type / product / last-reviewed line under an article's summary."""
    type_page = "../known-issues.md" if a.type == "known-issue" else f"../types/{a.type}.md"
    meta = [
        f'<span class="kb-meta__item">:{TYPE_ICONS.get(a.type, DEFAULT_PRODUCT_ICON)}: '
        f"[{_md(TYPE_SINGULAR.get(a.type, a.type))}]({type_page})</span>",
        f'<span class="kb-meta__item">:{product.icon}: [{_md(product.name)}](../{product.page})</span>',
        f'<span class="kb-meta__item">:material-calendar-check: Last reviewed '
        f'<time datetime="{a.last_reviewed.isoformat() if a.last_reviewed else ""}">{_fmt_date(a.last_reviewed)}</time></span>',
    ]
    return '<div class="kb-meta" markdown>\n' + "\n".join(meta) + "\n</div>\n\n"


def _article_list(items: list[Article], prefix: str) -> str:
    lines = ['<div class="kb-list" markdown>', ""]
    for a in items:
        lines.append(f"- [{_md(a.title)}]({prefix}{a.id}.md)  \n  <span class=\"kb-list__summary\">{_md(a.summary)}</span>")
    lines += ["", "</div>", ""]
    return "\n".join(lines)


def product_page(p: Product, items: list[Article]) -> str:
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


def type_page(t: str, items: list[Article], products: list[Product], product_of: dict[str, Product]) -> str:
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


def known_issues_page(items: list[Article], product_of: dict[str, Product]) -> str:
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
        kind, label = status_badge(status)
        cell = lambda s: s.replace("|", "&#124;")  # noqa: E731
        out.append(f"| [{cell(_md(a.title))}](articles/{a.id}.md) | [{cell(_md(p.name))}]({p.page}) | "
                   f'<span class="kb-badge kb-badge--{kind}">{label}</span> {cell(_md(status))} | '
                   f"{a.last_reviewed.isoformat() if a.last_reviewed else '—'} |\n")
    out.append("\n</div>\n")
    return "".join(out)


_BADGES = (  # (words in the status text, badge kind, label), first match wins
    (("fixed", "resolved"), "fixed", "Fixed"),
    (("in progress", "working on", "planned", "scheduled", "rolling out"), "progress", "In progress"),
    (("investigat",), "investigating", "Investigating"),
)


def status_badge(status: str) -> tuple[str, str]:
    """(kind, label) of a known issue's status badge, from the first sentences of its `## Status`."""
    low = status.lower()
    for words, kind, label in _BADGES:
        if any(w in low for w in words):
            return kind, label
    return "open", "Open"


def tags_page(articles: list[Article], tag_anchor: Callable[[str], str] | None) -> str:
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


def home_page(extra: dict[str, Any], products: list[Product], by_type: dict[str, list[Article]],
               type_pages: dict[str, str], known: list[Article]) -> str:
    home = ((extra.get("kbtool") or {}).get("home") or {}) if isinstance(extra.get("kbtool"), dict) else {}
    title = str(home.get("title") or "How can we help?")
    lead = str(home.get("lead") or "Search for an error code, a message or a question, or browse by product.")
    fm = {"title": html.escape(title, quote=False), "hide": ["navigation", "toc"], "search": {"exclude": True}}
    out = [_front_matter(fm), '<div class="kb-hero" markdown>\n\n', f"# {_md(title)} {{ #kb-title }}\n\n",
           f"{_md(lead)}\n{{ .kb-summary }}\n\n"]
    # a label for Material's search toggle: opens the search with no script of ours (the sanitiser drops those)
    out.append('<label class="kb-hero__search md-button md-button--primary" for="__search">'
               ':material-magnify: Search the help center</label>\n\n</div>\n\n')
    if known:
        out.append(f'!!! warning "Known issues"\n    We are tracking {len(known)} known '
                   f'issue{"s" if len(known) != 1 else ""}. [See their status](known-issues.md)\n\n')
    out.append("## Browse by product { #products }\n\n")
    if not products:
        out.append("No articles are published yet.\n\n")
    else:
        out.append('<div class="grid cards kb-cards" markdown>\n\n')
        out.extend(_home_product_card(p) for p in products)
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


def _home_product_card(p: Product) -> str:
    """A product's card on the home page: name, description, its first articles, a link to all."""
    n = len(p.articles)
    out = [f"-   :{p.icon}:{{ .lg .middle }} __[{_md(p.name)}]({p.page})__\n\n    ---\n\n"]
    if p.description:
        out.append(f"    {_md(p.description)}\n\n")
    for a in by_type_then_title(p.articles)[:HOME_CARD_LINKS]:
        out.append(f"    - [{_md(a.title)}](articles/{a.id}.md)\n")
    out.append(f"\n    [:material-arrow-right: All {n} article{'s' if n != 1 else ''}]({p.page}){{ .kb-more }}\n\n")
    return "".join(out)


# --- Search entries -----------------------------------------------------------------------


def _search_keywords(a: Article, code: list[str]) -> list[str]:
    """Error codes, aliases and code tokens, each once (case-insensitive), plus word forms of A_B_C."""
    keywords: list[str] = []
    seen: set[str] = set()
    for k in [*a.error_codes, *a.aliases, *_code_tokens(code)]:
        variants = [k]
        if "_" in k:  # ERR_TOO_MANY_REDIRECTS is one search term; also index "too many redirects"
            variants.append(" ".join(w.lower() for w in k.split("_") if w))
        for v in variants:
            if v.lower() not in seen:
                seen.add(v.lower())
                keywords.append(v)
    return keywords


def search_entries(a: Article, url: str, text: PageText) -> list[dict[str, Any]]:
    """Material search index entries for one article: the page, then one per `##` section.

    `text` is what the *sanitised* page shows (`sanitize.page_text`), so a section, code
    or note the page drops (hidden HTML, comments, scripts) is not in the index either."""
    keywords = _search_keywords(a, text.code)
    page: dict[str, Any] = {"location": url, "title": _h(a.title), "text": _h(_clip(a.summary, SEARCH_SUMMARY_CHARS))}
    if a.tags:
        page["tags"] = list(a.tags)
    if keywords:
        page[SEARCH_KEYWORDS_FIELD] = _h(" · ".join(keywords))
    entries = [page]
    slug_at = {h.line: h.slug for h in a.headings}
    for s in a.sections:
        slug = slug_at.get(s.line)
        if not slug or slug not in text.sections:
            continue
        entries.append({"location": f"{url}#{slug}", "title": _h(text.titles.get(slug) or s.title),
                        "text": _h(_clip(text.sections[slug], SEARCH_SECTION_CHARS))})
    return entries


def product_search_entry(p: Product, url: str) -> dict[str, Any]:
    return {"location": url, "title": _h(p.name), "text": _h(p.description or f"{len(p.articles)} articles")}


def known_issues_search_entry(url: str) -> dict[str, Any]:
    return {"location": url, "title": "Known issues",
            "text": "Problems we know about, with workarounds and the current status of the fix."}
