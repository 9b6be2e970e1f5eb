"""Sanitising the HTML of every public page (nh3, the Rust `ammonia` sanitiser).

MkDocs renders author Markdown, raw HTML and attribute lists (`{: onclick=...}`) as they
are; this module is the last step before a page's content reaches the theme, run from the
plugin's `on_page_content`, so nothing an author writes bypasses it (theme chrome, which
the author cannot touch, is added after and stays as Material ships it).

Three passes:

1. nh3 with the allow-list below, keeping `hidden`, `style` and `aria-hidden` for now:
   scripts, styles, iframes, forms and their content go, comments go, every event
   handler goes, and the output is well-formed HTML.
2. `_drop_hidden` cuts every element a reader cannot see but a crawler or the search
   index would: `hidden`, `style="display:none"` / `visibility:hidden`, and
   `aria-hidden="true"` holding text (icons stay).
3. nh3 again with the final allow-list: no `style` (but `text-align` on table cells), no
   `hidden`, and every `href`/`src` through the caller's `url_filter` (the site's link
   gatekeeper, `plan._Public.href`), which also refuses any scheme but http(s), mailto
   and tel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

# Tags a support article needs: text, lists, tables, code, images, details, admonitions
# (divs/p with classes), Material's inline SVG icons and highlighted code.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "label", "li", "mark", "nav", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
    "svg", "path", "g", "circle", "rect", "line", "polyline", "polygon",
})
# Removed together with everything inside them.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object", "embed",
                                  "form", "textarea", "select", "button", "math", "title", "frame", "frameset"})
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][^\s/>]*+)")
_GLOBAL_ATTRS = {"class", "id", "title", "lang", "dir", "role", "aria-label", "aria-labelledby", "aria-describedby"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": _GLOBAL_ATTRS,
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "scope", "style"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type", "reversed"}, "li": {"value"},
    "time": {"datetime"}, "details": {"open"}, "label": {"for"}, "abbr": {"title"},
    "svg": {"xmlns", "viewBox", "width", "height", "fill", "stroke"},
    "path": {"d", "fill", "fill-rule", "clip-rule", "stroke", "stroke-width"},
    "g": {"fill", "transform"}, "circle": {"cx", "cy", "r", "fill"},
    "rect": {"x", "y", "width", "height", "rx", "ry", "fill"},
    "line": {"x1", "y1", "x2", "y2"}, "polyline": {"points"}, "polygon": {"points"},
}
# Standard elements that are not allowed but whose text is: kept through the first pass (so a
# `<section hidden>` is still seen as hidden), unwrapped by the last.
UNWRAPPED_TAGS = frozenset({
    "section", "article", "aside", "header", "footer", "main", "address", "hgroup", "search", "fieldset", "legend",
    "font", "center", "big", "tt", "strike", "bdi", "bdo", "ruby", "rt", "rp", "data", "meter", "progress",
    "output", "dialog", "menu", "picture", "source", "video", "audio", "track", "map", "area", "marquee", "blink",
    "acronym", "nobr", "slot", "canvas", "input", "option", "optgroup", "datalist", "param", "defs", "use",
    "symbol", "foreignobject", "desc",
})
DROPPED_WITH_CONTENT_EXTRA = frozenset({"xmp", "plaintext", "listing", "applet", "noembed", "noframes", "head",
                                        "meta", "link", "base"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_HIDING_ATTRS = {"hidden", "style", "aria-hidden"}
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_DISPLAY_NONE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|"
                           r"content-visibility\s*:\s*hidden)", re.I)
_HIDING_HINT = re.compile(r"\s(?:hidden|style|aria-hidden)=", re.I)

UrlFilter = Callable[[str, str, str], str | None]  # (tag, attribute, value) -> new value or None to drop it


_KNOWN = ALLOWED_TAGS | UNWRAPPED_TAGS | DROPPED_WITH_CONTENT | DROPPED_WITH_CONTENT_EXTRA


def _rename_unknown(m: re.Match[str]) -> str:
    """Custom and unknown elements (`<x-note hidden>`) become spans, so their hiding attributes count."""
    return m.group(0) if m.group(2).lower() in _KNOWN else f"<{m.group(1)}span"


def _first_pass(html: str) -> str:
    attrs = {k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()}
    attrs["*"] = attrs["*"] | _HIDING_ATTRS
    html = _TAG_NAME.sub(_rename_unknown, html) if "<" in html else html
    return nh3.clean(html, tags=set(ALLOWED_TAGS | UNWRAPPED_TAGS),
                     clean_content_tags=set(DROPPED_WITH_CONTENT | DROPPED_WITH_CONTENT_EXTRA), attributes=attrs,
                     strip_comments=True, link_rel=None, url_schemes=set(URL_SCHEMES))


def sanitize_html(html: str, url_filter: UrlFilter | None = None) -> str:
    """`html` (a page's rendered content) reduced to the allow-list, hidden parts removed."""
    clean = _first_pass(html)
    if _HIDING_HINT.search(clean):
        clean = _drop_hidden(clean)

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr in ("href", "src"):
            if not _safe_scheme(value):
                return None
            return url_filter(tag, attr, value) if url_filter is not None else value
        return value

    return nh3.clean(clean, tags=set(ALLOWED_TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT | DROPPED_WITH_CONTENT_EXTRA),
                     attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()}, attribute_filter=attribute_filter,
                     strip_comments=True, link_rel=None, url_schemes=set(URL_SCHEMES),
                     filter_style_properties={"text-align"})


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def _safe_scheme(value: str) -> bool:
    """True for a relative URL or one with an allowed scheme (control characters and blanks,
    which browsers ignore inside `java\\tscript:`, are ignored here too)."""
    m = _SCHEME.match(_INVISIBLE.sub("", value))
    return m is None or m.group(1).lower() in URL_SCHEMES


# --- hidden elements ---------------------------------------------------------------------


@dataclass
class _Open:
    tag: str
    start: int
    hidden: bool  # hidden whatever it holds
    aria: bool  # aria-hidden: hidden if it holds text
    text: bool = False


@dataclass
class _HiddenCutter(HTMLParser):
    """Finds the spans of hidden elements in well-formed HTML (nh3's output)."""

    source: str = ""
    cuts: list[tuple[int, int]] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.source)]

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        start = self._offset()
        hidden = "hidden" in a or bool(_DISPLAY_NONE.search(a.get("style", "")))
        aria = a.get("aria-hidden", "").strip().lower() == "true"
        if tag in _VOID:
            if hidden:
                self.cuts.append((start, start + len(self.get_starttag_text() or "")))
            return
        self.stack.append(_Open(tag, start, hidden, aria))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack and self.stack[-1].tag == tag:
            o = self.stack.pop()
            if o.hidden:
                self.cuts.append((o.start, o.start + len(self.get_starttag_text() or "")))

    def handle_data(self, data: str) -> None:
        if data.strip():
            for o in self.stack:
                o.text = True

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        end = self.source.find(">", start) + 1 or len(self.source)
        while self.stack:
            o = self.stack.pop()
            if o.hidden or (o.aria and o.text):
                self.cuts.append((o.start, end))
            if o.tag == tag:
                break


def _drop_hidden(html: str) -> str:
    cutter = _HiddenCutter(source=html)
    cutter.feed(html)
    cutter.close()
    for o in cutter.stack:  # unclosed at the end (not from nh3, but never keep hidden text)
        if o.hidden or (o.aria and o.text):
            cutter.cuts.append((o.start, len(html)))
    if not cutter.cuts:
        return html
    out, pos = [], 0
    for s, e in sorted(cutter.cuts):
        if s < pos:  # inside a cut already made
            continue
        out.append(html[pos:s])
        pos = e
    out.append(html[pos:])
    return "".join(out)


# --- text of a sanitised page, for the search index --------------------------------------


@dataclass
class PageText:
    """What a sanitised article page says: the title and the text of each `##` section by
    its anchor, and the text of every `<code>` element (for the search keywords)."""

    sections: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    code: list[str] = field(default_factory=list)


@dataclass
class _TextReader(HTMLParser):
    result: PageText = field(default_factory=PageText)
    section: str | None = None
    parts: list[str] = field(default_factory=list)
    title_parts: list[str] = field(default_factory=list)
    code_depth: int = 0
    code_parts: list[str] = field(default_factory=list)
    heading_depth: int = 0  # inside an h1/h2 (its text is the entry's title)
    permalink_depth: int = 0  # inside a heading's `¶` permalink (no text at all)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2") and not self.heading_depth:
            self._flush()
            self.section = (a.get("id") or None) if tag == "h2" else None
            self.heading_depth = 1
            return
        if tag in _VOID:
            return
        if self.permalink_depth or (tag == "a" and "headerlink" in (a.get("class") or "").split()):
            self.permalink_depth += 1
        if self.heading_depth:
            self.heading_depth += 1
        if tag == "code":
            self.code_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.permalink_depth:
            self.permalink_depth -= 1
        if self.heading_depth:
            self.heading_depth -= 1
            if not self.heading_depth and self.section:
                self.result.titles[self.section] = " ".join("".join(self.title_parts).split())
        if tag == "code" and self.code_depth:
            self.code_depth -= 1
            if not self.code_depth:
                self.result.code.append("".join(self.code_parts))
                self.code_parts = []

    def handle_data(self, data: str) -> None:
        if self.code_depth:
            self.code_parts.append(data)
        if self.permalink_depth:
            return
        (self.title_parts if self.heading_depth else self.parts).append(data)

    def _flush(self) -> None:
        if self.section:
            self.result.sections[self.section] = " ".join(" ".join(self.parts).split())
        self.parts, self.title_parts = [], []

    def close(self) -> None:
        super().close()
        self._flush()


def page_text(html: str) -> PageText:
    """The searchable text of sanitised page content (see `PageText`)."""
    reader = _TextReader()
    reader.feed(html)
    reader.close()
    return reader.result
