"""The one Markdown scanner: fences, prose lines, headings and slugs, links, plain text, clipping.

Every package that reads Markdown structure (content's loader, lint, the site, the importers)
asks this module, so there is one answer to "is this line code?", "what is this heading's
anchor?" and "what does this article link to?".

Fenced code follows CommonMark: backtick and tilde fences of 3+ characters indented at most
3 spaces; a closing fence repeats the opener's character at least as often and has no info
string; a backtick fence's info string holds no backtick; fences open inside `>` block quotes
and list items (indentation counted from the container's content column); a fence that is
never closed runs to the end of its container (or of the document). HTML blocks are not
modelled: a fence right under a raw HTML line still counts as a fence.

Every pattern run on user text here is linear in the length of the text: a 100 KB line of
`[` or `[](` is scanned in milliseconds, not minutes.
"""

from __future__ import annotations

import bisect
import functools
import html
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import markdown
from markdown.extensions.attr_list import get_attrs_and_remainder
from markdown.extensions.toc import slugify, unique
from markdown.extensions.toc import strip_tags as toc_strip_tags

from .model import Heading, Link, Section

__all__ = [
    "Fence", "INLINE_CODE_RE", "LINK_RE", "NUMBERED_STEP_RE", "InlineLink", "clip", "extra_anchors", "fence_blocks", "fence_mask",
    "fences", "heading_slug", "heading_text", "inline_links", "is_external", "iter_prose_lines", "mask_comments",
    "mask_inline_code", "match_link", "parse_atx", "parse_structure", "plain_text", "split_heading_attrs",
    "unclosed_fences",
]

# --- Links: external or not --------------------------------------------------------

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def is_external(target: str) -> bool:
    """True for a link with a scheme (`https:`, `mailto:`) or protocol-relative (`//host`): not a KB file."""
    return bool(_SCHEME_RE.match(target)) or target.startswith("//")


# --- Fenced code (CommonMark container rules) -----------------------------------------

# Numbered steps (`1. Do this`, `2) Then that`): lint's "Steps must be numbered" rule and the
# importers' type detection ask the same question.
NUMBERED_STEP_RE = re.compile(r"^\s{0,3}\d{1,3}[.)]\s+\S", re.M)

_QUOTE_RE = re.compile(r" {0,3}>")
_ITEM_RE = re.compile(r" {0,3}([-+*]|(\d{1,9})[.)])(?= |$)")
_HR_RE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_OPEN_RE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)$")
_CLOSE_RE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*$")
_ATX_START_RE = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT_RE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")


@dataclass(frozen=True)
class Fence:
    """A fenced code block: lines `start` (the opener) to `end` (exclusive; the closer included)."""

    start: int
    end: int
    char: str  # "`" or "~"
    length: int  # of the opening run
    info: str  # the opener's info string, stripped
    closed: bool  # False: ended by its container's or the document's end
    indent: int = 0  # the opener's indentation, relative to its container

    @property
    def marker(self) -> str:
        """The opening run, e.g. "```" or "~~~~"."""
        return self.char * self.length


def _bad_info(rest: str) -> bool:
    """A backtick run whose info string holds a backtick: inline code, not a fence."""
    m = _OPEN_RE.match(rest)
    return bool(m and m.group(2)[0] == "`" and "`" in m.group(3))


def _starts_block(rest: str, slack: int = 0) -> bool:
    """Whether `rest` starts a block that ends a paragraph, so it is no lazy continuation line.

    `slack`: columns of list items the line does not continue; as in markdown-it, indentation
    counts from the paragraph's own column, so up to `3 + slack` spaces still start a block,
    and any list item does (even `2.` or an empty one: the line is outside the paragraph's container).
    """
    t = rest.lstrip(" ")
    if not t:
        return True
    if len(rest) - len(t) - slack >= 4:
        return False
    if (_OPEN_RE.match(t) and not _bad_info(t)) or t.startswith(">") or _ATX_START_RE.match(t) or _HR_RE.match(t):
        return True
    return _ITEM_RE.match(t) is not None


# A top-level line starting with none of these is paragraph text.
_BLOCK_START_CHARS = frozenset(" \t>-*+=_#`~0123456789")


@dataclass
class _Box:
    """An open container: a block quote (`width` 0) or a list item (`width`: its content column)."""

    quote: bool
    width: int = 0
    blank_start: bool = False  # a list item whose first line held only the marker
    has_content: bool = False


class _FenceScanner:
    """CommonMark's block-container walk, kept just far enough to know where fences are."""

    def __init__(self) -> None:
        self.boxes: list[_Box] = []
        self.leaf: str | None = None  # "para", "code" (indented), "fence" or None
        self.fence: tuple[int, str, int, str, int] | None = None  # (start, char, length, info, indent)
        self.out: list[Fence] = []

    def _match_boxes(self, s: str) -> tuple[int, int]:
        """(how many open containers the line continues, column after their markers)."""
        pos = 0
        n = 0
        blank = not s.strip()
        for box in self.boxes:
            if box.quote:
                m = _QUOTE_RE.match(s, pos)
                if m is None:
                    break
                pos = m.end() + (1 if s.startswith(" ", m.end()) else 0)
            elif blank:
                if box.blank_start and not box.has_content:
                    break  # an item may begin with at most one blank line
            else:
                indent = len(s) - pos - len(s[pos:].lstrip(" "))
                if indent < box.width:
                    break
                pos += box.width
                box.has_content = True
            n += 1
        return n, pos

    def _open_boxes(self, s: str, pos: int, may_interrupt: bool) -> tuple[int, bool]:
        """Open the block quotes and list items starting at `pos`; (new pos, whether any opened)."""
        opened = False
        while True:
            rest = s[pos:]
            indent = len(rest) - len(rest.lstrip(" "))
            if indent >= 4:
                break
            if rest[indent:indent + 1] == ">":
                pos += indent + 1 + (1 if rest[indent + 1:indent + 2] == " " else 0)
                self.boxes.append(_Box(quote=True))
                opened = True
                continue
            m = _ITEM_RE.match(rest)
            if m is None or _HR_RE.match(rest):
                break
            after = rest[m.end():]
            empty = not after.strip()
            interrupting = may_interrupt and not opened and self.leaf == "para"
            if interrupting and (empty or (m.group(2) is not None and int(m.group(2)) != 1)):
                break
            spaces = len(after) - len(after.lstrip(" "))
            width = m.end() + (1 if empty or spaces >= 5 else spaces)
            self.boxes.append(_Box(quote=False, width=width, blank_start=empty, has_content=not empty))
            pos += min(width, len(rest))
            opened = True
            if empty:
                break
        if opened:
            self.leaf = None
        return pos, opened


    def _end_fence(self, end: int, closed: bool) -> None:
        assert self.fence is not None
        start, char, length, info, indent = self.fence
        self.out.append(Fence(start, end, char, length, info, closed, indent))
        self.fence = None
        self.leaf = None

    def line(self, i: int, raw: str) -> None:
        if not self.boxes and self.fence is None:  # most lines: top-level text or blank
            if not raw or raw.isspace():
                if self.leaf != "code":
                    self.leaf = None
                return
            if raw[0] not in _BLOCK_START_CHARS:
                self.leaf = "para"
                return
            if raw[0] == "#":
                self.leaf = None if _ATX_START_RE.match(raw) else "para"
                return
        s = raw.expandtabs(4) if "\t" in raw else raw
        n, pos = self._match_boxes(s)
        if self.fence is not None:
            if n == len(self.boxes):
                m = _CLOSE_RE.match(s, pos)
                if m and m.group(1)[0] == self.fence[1] and len(m.group(1)) >= self.fence[2]:
                    self._end_fence(i + 1, True)
                return
            self._end_fence(i, False)
        rest = s[pos:]
        if n < len(self.boxes):
            slack = sum(box.width for box in self.boxes[n:] if not box.quote)
            if self.leaf == "para" and not _starts_block(rest, slack):
                return  # a lazy continuation line of the paragraph: every container stays open
            del self.boxes[n:]
            self.leaf = None
        pos, opened = self._open_boxes(s, pos, may_interrupt=True)
        self._leaf(i, s[pos:], opened, n)

    def _leaf(self, i: int, rest: str, opened: bool, matched: int) -> None:
        if not rest.strip():
            if self.leaf != "code":
                self.leaf = None
            return
        indent = len(rest) - len(rest.lstrip(" "))
        if indent >= 4:
            if self.leaf != "para":
                self.leaf = "code"
            return
        m = _OPEN_RE.match(rest)
        if m and not _bad_info(rest):
            self.fence = (i, m.group(2)[0], len(m.group(2)), m.group(3).strip(), len(m.group(1)))
            self.leaf = "fence"
            return
        if self.leaf == "para" and not opened and _SETEXT_RE.match(rest):
            self.leaf = None
        elif _ATX_START_RE.match(rest) or _HR_RE.match(rest):
            self.leaf = None
        else:
            self.leaf = "para"

    def finish(self, n_lines: int) -> list[Fence]:
        if self.fence is not None:
            self._end_fence(n_lines, False)
        return self.out


def _scan(lines: list[str]) -> list[Fence]:
    last = max((k for k, line in enumerate(lines) if _may_fence(line)), default=-1)
    scanner = _FenceScanner()
    for i, line in enumerate(lines):
        if i > last and scanner.fence is None:
            break  # no fence can open below the last line holding a fence marker
        scanner.line(i, line)
    return scanner.finish(len(lines))


def _may_fence(text: str) -> bool:
    return "```" in text or "~~~" in text


def fence_blocks(lines: list[str]) -> list[Fence]:
    """The fenced code blocks of a document given as lines, in order."""
    if not any(_may_fence(line) for line in lines):
        return []
    return _scan(lines)


def fences(body: str) -> list[Fence]:
    """The fenced code blocks of `body` (split on "\\n"), in order."""
    return list(_body_fences(body)) if _may_fence(body) else []


@functools.lru_cache(maxsize=4096)
def _body_fences(body: str) -> tuple[Fence, ...]:
    """One scan per body however many checks ask (lint's line, prose and anchor passes)."""
    return tuple(_scan(body.split("\n")))


def fence_mask(lines: list[str]) -> list[bool]:
    """Per line: True inside a fenced code block, its opening and closing fence lines included."""
    mask = [False] * len(lines)
    for f in fence_blocks(lines):
        for k in range(f.start, f.end):
            mask[k] = True
    return mask


def unclosed_fences(body: str) -> list[int]:
    """0-based line indexes of fence openers that never close (their block runs to the end of
    the enclosing quote, list item or document). `fences(body)` gives their markers too."""
    return [f.start for f in fences(body) if not f.closed]


def iter_prose_lines(body: str) -> Iterator[tuple[int, str]]:
    """(0-based index, line) for the lines of `body` outside fenced code blocks."""
    lines = body.split("\n")
    blocks = _body_fences(body) if _may_fence(body) else ()
    k = 0
    for f in blocks:
        for i in range(k, f.start):
            yield i, lines[i]
        k = f.end
    for i in range(k, len(lines)):
        yield i, lines[i]


# --- Inline code, comments -----------------------------------------------------------

INLINE_CODE_RE = re.compile(r"`+[^`]*`+")


def mask_inline_code(line: str, fill: str = " ") -> str:
    """`line` with inline code spans blanked out (same length), so links inside code are not links."""
    if "`" not in line:
        return line
    return INLINE_CODE_RE.sub(lambda m: fill * len(m.group(0)), line)


def _comment_spans(text: str) -> Iterator[tuple[int, int]]:
    """[start, end) of each complete `<!-- ... -->` comment, as `<!--.*?-->` (re.S) finds them."""
    pos = 0
    while True:
        i = text.find("<!--", pos)
        if i < 0:
            return
        j = text.find("-->", i + 4)
        if j < 0:
            return
        yield i, j + 3
        pos = j + 3


def mask_comments(text: str, fill: str = " ") -> str:
    """`text` with each complete HTML comment (`<!--.*?-->`, across lines) replaced by one
    `fill`, in linear time."""
    if "<!--" not in text:
        return text
    out: list[str] = []
    last = 0
    for i, j in _comment_spans(text):
        out += [text[last:i], fill]
        last = j
    out.append(text[last:])
    return "".join(out)


# --- Inline links: `[text](target "title")` and `![alt](src)` ----------------------------

# An inline link: `!?[text](target "title")`, where text holds no brackets but may hold one
# level of `[...]`, the target may be in `<...>` and a quoted title may follow. One anchored
# match (`match_link`, the site's rewriting) is linear; `finditer` is quadratic in the number
# of `[` in a line, so `inline_links` uses it only on lines with few of them.
LINK_RE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_FEW_BRACKETS = 16


@dataclass(frozen=True)
class InlineLink:
    """One inline link or image in a line: [start, end) of the whole match, where its text and
    its target start (a rewriter replaces either in place)."""

    start: int
    end: int
    image: bool
    text: str
    text_start: int
    target: str
    target_start: int


_WS_RE = re.compile(r"\s*")


def _skip_ws(s: str, i: int) -> int:
    """The index of the first non-whitespace character at or after `i`."""
    m = _WS_RE.match(s, i)
    return m.end() if m else i


class _LinkScan:
    """Linear-time `finditer(LINK_RE)`: the text and tail of a link are each decided once per
    position, with the next bracket, stop character and quote found by bisection."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.brackets = [m.start() for m in re.finditer(r"[\[\]]", s)]
        self.closes = [p for p in self.brackets if s[p] == "]"]
        self.stops = [m.start() for m in re.finditer(r"[)\s>]", s)]
        self.quotes = [m.start() for m in re.finditer(r"[\"']", s)]
        self.memo: dict[int, int] = {}

    @staticmethod
    def _next(points: list[int], at: int) -> int:
        k = bisect.bisect_left(points, at)
        return points[k] if k < len(points) else -1

    def text_end(self, i: int) -> int:
        """Where link text starting at `i` ends (the index of its `]`), or -1."""
        s, path = self.s, []
        while True:
            if i in self.memo:
                result = self.memo[i]
                break
            b = self._next(self.brackets, i)
            if b < 0:
                result = -1
                break
            if s[b] == "]":
                result = b
                break
            c = self._next(self.closes, b + 1)
            if c < 0:
                result = -1
                break
            path.append(i)
            i = c + 1
        for q in path:
            self.memo[q] = result
        self.memo[i] = result
        return result

    def tail(self, k: int) -> tuple[int, int, int] | None:
        """For `(` at k-1: (target start, target end, match end), or None."""
        s = self.s
        i = _skip_ws(s, k)
        if s.startswith("<", i):
            i += 1
        e = self._next(self.stops, i)
        if e < 0:
            return None
        after = e + 1 if s[e] == ">" else e
        if after < len(s) and s[after].isspace():
            j = _skip_ws(s, after)
            if j < len(s) and s[j] in "\"'":
                q = self._next(self.quotes, j + 1)
                if q >= 0:
                    end = _skip_ws(s, q + 1)
                    if s.startswith(")", end):
                        return i, e, end + 1
        end = _skip_ws(s, after)
        if s.startswith(")", end):
            return i, e, end + 1
        if k < len(s) and s[k].isspace():  # `( "a title")`: no target, the spaces go to the title
            j = _skip_ws(s, k)
            if j < len(s) and s[j] in "\"'" and (q := self._next(self.quotes, j + 1)) >= 0:
                end = _skip_ws(s, q + 1)
                if s.startswith(")", end):
                    return k, k, end + 1
        return None

    def links(self) -> list[InlineLink]:
        s, out, pos = self.s, [], 0
        for p in self.brackets:
            if p < pos or s[p] != "[":
                continue
            t = self.text_end(p + 1)
            if t < 0 or not s.startswith("(", t + 1):
                continue
            tail = self.tail(t + 2)
            if tail is None:
                continue
            image = p > pos and s[p - 1] == "!"
            start = p - 1 if image else p
            out.append(InlineLink(start, tail[2], image, s[p + 1:t], p + 1, s[tail[0]:tail[1]], tail[0]))
            pos = tail[2]
        return out


def inline_links(line: str) -> list[InlineLink]:
    """Every inline link and image in `line` (mask inline code first), as `LINK_RE.finditer`
    finds them, in linear time: the regex itself when the line has few `[` (it is quadratic
    only in their number), else the same search by `_LinkScan`."""
    if "](" not in line:
        return []
    if line.count("[") <= _FEW_BRACKETS:
        return [_inline_link(m) for m in LINK_RE.finditer(line)]
    return _LinkScan(line).links()


def match_link(line: str, pos: int) -> InlineLink | None:
    """The inline link or image starting exactly at `pos` in `line` (a `Link.column - 1`), or None."""
    m = LINK_RE.match(line, pos)
    return None if m is None else _inline_link(m)


def _inline_link(m: re.Match[str]) -> InlineLink:
    return InlineLink(m.start(), m.end(), m.group(1) == "!", m.group(2), m.start(2), m.group(3), m.start(3))


# --- Reference links, raw HTML links ----------------------------------------------------

_REF_DEF_RE = re.compile(r" {0,3}\[((?:[^\[\]\\]|\\.){1,999})\]:[ \t]*(?:<([^<>\n]*)>|([^\s<][^\s]*))")
_REF_USE_RE = re.compile(r"(!?)\[([^\[\]]+)\](?:\[([^\[\]]*)\]|(?![(:\[]))")
_QUOTE_PREFIX_RE = re.compile(r"(?: {0,3}>[ ]?)+")
_HTML_TAG_RE = re.compile(r"<(a|img)\b((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>", re.I)
_HTML_ATTR_RE = re.compile(r"""(?<![\w-])(href|src)[ \t]*=[ \t]*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)


def _label(text: str) -> str:
    """A reference label as CommonMark matches it: case-folded, inner whitespace collapsed."""
    return " ".join(text.split()).casefold()


def _definition(line: str) -> tuple[str, str, int] | None:
    """(label, target, 0-based column of `[`) of a reference definition line, quotes allowed."""
    q = _QUOTE_PREFIX_RE.match(line)
    off = q.end() if q else 0
    m = _REF_DEF_RE.match(line, off)
    if m is None or m.group(1).startswith("^"):  # `[^1]: ...` is a footnote, not a link
        return None
    target = m.group(2) if m.group(2) is not None else m.group(3)
    return _label(m.group(1)), target, line.index("[", off)


def _html_links(line: str) -> Iterator[tuple[int, bool, str, str]]:
    """(0-based column, image, text, target) of `<a href>` and `<img src>` in a line."""
    for m in _HTML_TAG_RE.finditer(line):
        a = _HTML_ATTR_RE.search(m.group(2))
        if a is None:
            continue
        tag = m.group(1).lower()
        if (tag == "a") != (a.group(1).lower() == "href"):
            a = next((x for x in _HTML_ATTR_RE.finditer(m.group(2))
                      if (x.group(1).lower() == "href") == (tag == "a")), None)
            if a is None:
                continue
        value = next(v for v in a.groups()[1:] if v is not None)
        yield m.start(), tag == "img", "", html.unescape(value).strip()


# --- Headings ------------------------------------------------------------------------

_MARKUP_CHARS_RE = re.compile(r"[\\`*_\[\]<>&!]")
_md_lock = threading.Lock()
_md: markdown.Markdown | None = None


def parse_atx(line: str) -> tuple[int, str] | None:
    """(level, raw text) of a hash heading by Python-Markdown's own rule, or None.

    The rule is `^(#{1,6})((?:\\\\.|[^\\\\])*?)#*$`: no space needed after the #s, trailing #s
    dropped (not an escaped one), and a line ending in a lone backslash is no heading. Done by
    hand because that pattern is quadratic on a long line of #s.
    """
    if not line.startswith("#"):
        return None
    level = min(len(line) - len(line.lstrip("#")), 6)
    rest = line[level:]
    if "\\" not in rest:
        return level, rest.rstrip("#")
    keep = len(rest.rstrip("#"))
    i, boundary = 0, -1
    while i < len(rest):
        if i >= keep and boundary < 0:
            boundary = i
        if rest[i] == "\\":
            if i + 1 >= len(rest):
                return None
            i += 2
        else:
            i += 1
    if boundary < 0:
        boundary = len(rest)
    return level, rest[:boundary]


@functools.lru_cache(maxsize=4096)
def heading_text(raw: str) -> str:
    """Heading text as the site shows it: rendered inline Markdown, tags stripped.

    This is what Python-Markdown's toc extension slugifies, so `slugify(heading_text(x))`
    is the site's anchor: `ERR_CERT_DATE_INVALID` keeps its underscores, `**b**` and
    `` `c` `` lose their markers, `[text](url)` becomes `text`, `&amp;` becomes `&`.
    """
    if not _MARKUP_CHARS_RE.search(raw):
        return " ".join(raw.split())
    global _md
    with _md_lock:  # Markdown instances are not thread-safe (the API may load in threads)
        if _md is None:
            _md = markdown.Markdown()
        rendered = _md.reset().convert("# " + raw)
    if not (rendered.startswith("<h1>") and rendered.endswith("</h1>")):
        return " ".join(re.sub(r"[*`]", "", raw).split())  # not a lone heading; best effort
    return html.unescape(toc_strip_tags(rendered[4:-5]))


# The ids the help-center page template gives its own headings around an article's body
# (`# Title {#kb-title}`, `## Related articles {#kb-related}`). toc counts them as taken, so a
# body heading "KB title" renders as `kb-title_1`; the body's slugs are computed the same way.
PAGE_TITLE_ANCHOR = "kb-title"
PAGE_RELATED_ANCHOR = "kb-related"
PAGE_ANCHORS = (PAGE_TITLE_ANCHOR, PAGE_RELATED_ANCHOR)


def heading_slug(text: str, used: set[str] | None = None) -> str:
    """The anchor Python-Markdown's toc gives a heading whose shown text is `text`
    (`heading_text(raw)`): `slugify(text, "-")`, made unique against `used` (which it joins)
    with toc's `_1`, `_2` suffixes."""
    slug = slugify(text, "-")
    return slug if used is None else unique(slug, used)


# attr_list (always on in the site's Markdown): `## Title {#id .class}` sets the heading's id,
# and a line holding only `{: #id}` right under a paragraph sets the paragraph's. These are
# the extension's own patterns (HEADER_RE, searched by hand here, and BLOCK_RE for a line of its own).
_ATTR_BLOCK_RE = re.compile(r"^[ ]*\{:?[ ]*([^}\n ][^\n]*)\}[ ]*$")


def _attr_id(attrs: str) -> tuple[bool, str | None]:
    """(whether attr_list applies this attribute list, the id it sets: `#a #b` -> `b`)."""
    parsed, remainder = get_attrs_and_remainder(attrs)
    if remainder:  # a stray `}`: attr_list (strict for blocks and headings) leaves the text alone
        return False, None
    ids = [v for k, v in parsed if k == "id" and v]
    return True, (ids[-1] if ids else None)


def _attr_header(raw: str) -> tuple[int, str] | None:
    """(match start, attribute text) of attr_list's `[ ]+\\{:?[ ]*([^}\\n ][^\\n]*)\\}[ ]*$`
    searched in a heading, found in linear time."""
    body = raw.rstrip(" ")
    if not body.endswith("}") or "\n" in raw:
        return None
    e = len(body) - 1  # the only `}` that can close it: nothing but spaces follows
    q = raw.find(" {")
    while 0 <= q < e:
        brace = q + 1
        for r in (_skip_spaces(raw, brace + 2) if raw.startswith(":", brace + 1) else -1, _skip_spaces(raw, brace + 1)):
            if 0 <= r < e and raw[r] not in "} ":
                start = q
                while start > 0 and raw[start - 1] == " ":
                    start -= 1
                return start, raw[r:e]
        q = raw.find(" {", brace)
    return None


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] == " ":
        i += 1
    return i


def split_heading_attrs(raw: str) -> tuple[str, str | None]:
    """(heading text without a trailing attribute list, the id it sets or None)."""
    found = _attr_header(raw)
    if found is None:
        return raw, None
    applies, hid = _attr_id(found[1])
    return (raw[: found[0]].rstrip("#").rstrip(), hid) if applies else (raw, None)


def _block_attr_ids(body: str, prose: list[tuple[int, str]] | None = None) -> list[str]:
    """Ids set by `{: #id}` lines that close a paragraph (the line before is not blank)."""
    if "{" not in body:
        return []
    lines = body.split("\n")
    out: list[str] = []
    for i, line in prose if prose is not None else iter_prose_lines(body):
        if "{" in line and i > 0 and lines[i - 1].strip() and parse_atx(lines[i - 1]) is None:
            m = _ATTR_BLOCK_RE.match(line)
            if m and (aid := _attr_id(m.group(1))[1]):
                out.append(aid)
    return out


class _HTMLIds(HTMLParser):
    """Collects what MkDocs' anchor validation counts in raw HTML: any `id`, and `name` on `<a>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if v and (k == "id" or (k == "name" and tag == "a")):
                self.ids.add(v)


_HTML_ID_HINT = re.compile(r"\b(?:id|name)\s*=", re.I)


@functools.lru_cache(maxsize=4096)
def extra_anchors(body: str) -> frozenset[str]:
    """Anchors of a body besides its heading slugs: raw HTML `id="…"` on any element and
    `<a name="…">` (DocFX and Zendesk content is full of `<a id="summary"></a>`), and
    attr-list `{: #id}` on paragraphs. Fenced code, inline code and HTML comments do not count.
    """
    prose = list(iter_prose_lines(body))
    ids = set(_block_attr_ids(body, prose))
    if "<" in body and _HTML_ID_HINT.search(body):
        parser = _HTMLIds()
        try:
            parser.feed("\n".join(mask_inline_code(line) for _, line in prose))
            parser.close()
        except Exception:  # noqa: BLE001 - HTMLParser is lenient; never let odd markup break loading
            pass
        ids |= parser.ids
    return frozenset(ids)


# --- Structure: headings, sections, links -----------------------------------------------


def _link_lines(prose: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The prose lines that can hold (part of) a link, inline code blanked out. HTML comments
    are not skipped: the site rewrites the links in them too, so no internal path is left there."""
    return [(i, mask_inline_code(line)) for i, line in prose if "[" in line or "]" in line or "<" in line]


def _continues(first: str, second: str) -> str | None:
    """`second` as the next line of `first`'s paragraph (quote marks dropped), or None."""
    if not first.strip() or not second.strip() or parse_atx(first) or parse_atx(second):
        return None
    qa, qb = _QUOTE_PREFIX_RE.match(first), _QUOTE_PREFIX_RE.match(second)
    depth_a = qa.group().count(">") if qa else 0
    depth_b = qb.group().count(">") if qb else 0
    rest = second[qb.end():] if qb else second
    if depth_b not in (0, depth_a) or _starts_block(rest) or not rest.strip():
        return None
    return rest


def _find_links(prose: list[tuple[int, str]], body_line: int) -> list[Link]:
    """Every link of the prose lines: inline (also with text over two lines), reference uses
    resolved to their definitions (which may sit anywhere, in `>` quotes too), raw HTML."""
    masked = _link_lines(prose)
    found: list[tuple[int, int, Link]] = []
    taken: dict[int, list[tuple[int, int]]] = {}
    for i, line in masked:
        for lk in inline_links(line):
            kind = "image" if lk.image else "inline"
            found.append((i, lk.start, Link(lk.target, lk.text, body_line + i, lk.start + 1, lk.image, kind)))
            taken.setdefault(i, []).append((lk.start, lk.end))
    for (i, line), (j, nxt) in zip(masked, masked[1:]):
        if j != i + 1 or "[" not in line or "](" not in nxt:
            continue
        rest = _continues(line, nxt)
        if rest is None:
            continue
        joined = line + "\n" + rest
        last = max((e for _, e in taken.get(i, [])), default=0)
        for lk in inline_links(joined):
            if lk.start < last or lk.start >= len(line) or lk.text_start + len(lk.text) <= len(line):
                continue
            kind = "image" if lk.image else "inline"
            found.append((i, lk.start, Link(lk.target, lk.text, body_line + i, lk.start + 1, lk.image, kind)))
    defs: dict[str, str] = {}
    def_lines: set[int] = set()
    for i, line in masked:
        if "]:" in line and (d := _definition(line)) is not None:
            defs.setdefault(d[0], d[1])
            def_lines.add(i)
    for i, line in masked:
        if "[" in line and defs and i not in def_lines:
            spans = taken.get(i, [])
            for m in _REF_USE_RE.finditer(line):
                if m.start() > 0 and line[m.start() - 1] in "]\\":
                    continue
                label = _label(m.group(3) or m.group(2))
                if label not in defs or any(a <= m.start() < b for a, b in spans):
                    continue
                link = Link(defs[label], m.group(2), body_line + i, m.start() + 1, m.group(1) == "!", "reference")
                found.append((i, m.start(), link))
        if "<" in line:
            for col, image, text, target in _html_links(line):
                found.append((i, col, Link(target, text, body_line + i, col + 1, image, "html")))
    found.sort(key=lambda f: (f[0], f[1]))
    return [link for _, _, link in found]


def parse_structure(body: str, body_line: int) -> tuple[list[Heading], list[Section], list[Link]]:
    """Headings (with the site's anchor slugs), `##` sections and links of a Markdown body.

    Slugs come from Python-Markdown's toc extension (`slugify` + `unique`), the very
    functions the MkDocs site uses, so lint's anchor checks and the site cannot disagree.
    As on the site (attr_list), `## Title {#id}` has the anchor `id`, and every id set by
    an attribute list is taken before the other headings are slugged (toc's `unique`), and so
    are the page template's own `PAGE_ANCHORS`.
    Links are in document order; `Link.kind` says which syntax each came from.
    """
    raw_heads: list[tuple[int, str, int, str | None]] = []  # (level, text, line, explicit id)
    lines = body.split("\n")
    prose = list(iter_prose_lines(body))
    for i, line in prose:
        if line.startswith("#") and (atx := parse_atx(line)) is not None:
            raw = atx[1].strip()
            hid = None
            if "{" in raw:
                raw, hid = split_heading_attrs(raw)
            raw_heads.append((atx[0], heading_text(raw), body_line + i, hid))
    has_links = "](" in body or "]:" in body or "<a" in body or "<A" in body or "<img" in body or "<IMG" in body
    links = _find_links(prose, body_line) if has_links else []
    used_slugs: set[str] = {h[3] for h in raw_heads if h[3]} | set(PAGE_ANCHORS)
    if "{" in body:
        used_slugs.update(_block_attr_ids(body, prose))
    headings = [Heading(level, text, line, hid or heading_slug(text, used_slugs))
                for level, text, line, hid in raw_heads]
    sections: list[Section] = []
    h2 = [h for h in headings if h.level <= 2]
    for n, h in enumerate(h2):
        if h.level != 2:
            continue
        start = h.line - body_line + 1
        end = (h2[n + 1].line - body_line) if n + 1 < len(h2) else len(lines)
        sections.append(Section(h.text, h.line, "\n".join(lines[start:end]).strip()))
    return headings, sections, links


# --- Plain text and clipping --------------------------------------------------------------

# Each of these consumes a failed attempt whole (possessive runs, an optional tail), so a
# later start inside it is never retried: linear where `!?\[([^\]]*)\]\([^)]*\)` and
# `<[^>]+>` were quadratic on a long run of `[` or `<`.
_PLAIN_LINK_RE = re.compile(r"!?\[([^\]]*+)(?:(\]\()([^)]*+)(\))?)?")
_PLAIN_TAG_RE = re.compile(r"<([^>]*+)(>?)")
_PLAIN_MARK_RE = re.compile(r"^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+", re.M)
_PLAIN_EMPH_RE = re.compile(r"[*_~`|]+")


def _plain_link(m: re.Match[str]) -> str:
    return m.group(1) if m.group(4) else m.group(0)


def _plain_tag(m: re.Match[str]) -> str:
    return " " if m.group(2) and m.group(1) else m.group(0)


def plain_text(markdown_text: str) -> str:
    """The text of Markdown for matching: comments gone, links and images reduced to their
    text, tags and block markers (#, >, list markers) dropped, emphasis and code marks and
    table pipes turned into spaces. Linear time on any input."""
    text = mask_comments(markdown_text)
    if "[" in text:
        text = _PLAIN_LINK_RE.sub(_plain_link, text)
    if "<" in text:
        text = _PLAIN_TAG_RE.sub(_plain_tag, text)
    text = _PLAIN_MARK_RE.sub("", text)
    return _PLAIN_EMPH_RE.sub(" ", text)


def clip(text: str, limit: int, ellipsis: str = "…", *, at_word: float = 0.5,
         trim: str = " ,;:.-(") -> str:
    """`text` if it has at most `limit` characters, else a prefix plus `ellipsis`, together at
    most `limit` characters.

    The prefix ends at the last space before `limit - len(ellipsis)` when that keeps more than
    `at_word` of that room (0: at any space, so a word is never cut while there is a space;
    1 or more: never, always a hard cut); else it is a hard cut at the room. Trailing `trim` characters (spaces, dangling punctuation, an
    opening parenthesis) are dropped from the prefix. Whitespace is kept as given: collapse
    it first (`" ".join(text.split())`) for one-line output.
    """
    if len(text) <= limit:
        return text
    room = max(limit - len(ellipsis), 0)
    cut = text.rfind(" ", 0, room)
    if cut < 0 or cut <= at_word * room:
        cut = room
    return text[:cut].rstrip(trim) + ellipsis
