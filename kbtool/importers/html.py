"""HTML -> Markdown for imported bodies: sanitise with nh3 first, then convert with markdownify.

Why this order: a help-center body is HTML whose *text* may hold entity-encoded markup
(`&lt;img src=x onerror=…&gt;` shown to readers as code-like text). The sanitiser sees the
real elements and drops scripts, event and style attributes and `javascript:`/`vbscript:`/
`data:` URLs; the converter then decodes the text, and `KbConverter.escape` re-escapes any
`<` that would start a tag, so decoded text can never become live HTML in the Markdown.

Heading ids survive as attr-list ids (`### Step 3 {#h_step3}`, as the site renders them),
and explicit `<a id|name="x">` anchors as `<a id="x"></a>`, so links into them keep working.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import nh3

from ..content import heading_slug, heading_text

# What support articles use; anything else is unwrapped (its text kept) by the sanitiser.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "samp", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "name"}, "img": {"src", "alt", "title"}, "code": {"class"}, "pre": {"class"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "ftp"}  # no javascript:, vbscript:, data:

# An id the site's attr_list and toc accept as written (no spaces, braces or quotes).
_ID_RE = re.compile(r"[A-Za-z][\w.:-]{0,99}")
# A `<` that a Markdown renderer would take as the start of a tag, comment or declaration.
_TAG_START_RE = re.compile(r"<(?=[A-Za-z/!?])")


MAX_DEPTH = 200  # elements nested deeper are hostile, not content; nh3's parser is quadratic in depth


def too_deep(soup: Any, limit: int = MAX_DEPTH) -> bool:
    """True if elements nest more than `limit` deep (an iterative walk: no recursion, stops early)."""
    stack = [(soup, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in getattr(node, "contents", ()) if hasattr(child, "contents"))
    return False


def sanitize(html: str) -> str:
    """`html` with only the allow-listed elements, attributes and URL schemes (comments dropped)."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel=None, strip_comments=True)


def _code_language(el: Any) -> str:
    """A `<pre>`'s language from a `language-x`/`lang-x` class on it or its `<code>`."""
    for node in [el, *el.find_all("code", limit=1)]:
        for cls in node.get("class") or []:
            if cls.startswith(("language-", "lang-")):
                return str(cls.split("-", 1)[1])
    return ""


@cache
def _converter_class() -> type:
    from markdownify import MarkdownConverter

    class KbConverter(MarkdownConverter):
        """markdownify with decoded text kept inert, heading ids and explicit anchors kept."""

        def escape(self, text: str, parent_tags: Any) -> str:
            escaped = str(super().escape(text, parent_tags))  # type: ignore[misc]
            return _TAG_START_RE.sub("&lt;", escaped)

        def convert_hN(self, n: int, el: Any, text: str, parent_tags: Any) -> str:  # noqa: N802 - markdownify's name
            out = str(super().convert_hN(n, el, text, parent_tags))  # type: ignore[misc]
            hid = str(el.get("id") or "")
            if "_inline" in parent_tags or not _ID_RE.fullmatch(hid) or not out.strip():
                return out
            if heading_slug(heading_text(out.strip().lstrip("#").strip())) == hid:
                return out  # the site gives the heading this id anyway
            return out.rstrip("\n") + f" {{#{hid}}}\n\n"

        def convert_a(self, el: Any, text: str, parent_tags: Any) -> str:
            out = str(super().convert_a(el, text, parent_tags))  # type: ignore[misc]
            anchor = str(el.get("id") or el.get("name") or "")
            if not out and _ID_RE.fullmatch(anchor) and "_noformat" not in parent_tags:
                return f'<a id="{anchor}"></a>'
            return out

    return KbConverter


def html_to_markdown(soup: Any) -> str:
    """Markdown of a (sanitised) BeautifulSoup tree: ATX headings, `-` bullets, fenced code with languages."""
    converter = _converter_class()(heading_style="ATX", bullets="-", escape_underscores=False, escape_asterisks=True,
                                   table_infer_header=True, code_language_callback=_code_language)
    return str(converter.convert_soup(soup))
