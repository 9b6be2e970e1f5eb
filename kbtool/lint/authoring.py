"""Checks for what authors leave behind: scaffold placeholders (KB208), comma strings
where a list belongs (KB118), raw HTML the site will drop (KB406) and HTML comments that
would be published (KB407). All read the body through the one Markdown scanner's prose
lines, so code blocks and inline code are never reported."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..content import Article, mask_inline_code
from ..scaffold import PLACEHOLDER_INTRO, PLACEHOLDER_SECTION, PLACEHOLDER_SECTIONS, PLACEHOLDER_SUMMARY

if TYPE_CHECKING:
    from .checks import LintContext

# What `kbtool new` writes (kbtool.scaffold): the summary, the intro line, and each line
# of every section placeholder. A test scaffolds a file and expects all of them found.
PLACEHOLDER_LINES = frozenset(
    [PLACEHOLDER_INTRO, PLACEHOLDER_SECTION]
    + [line.strip() for text in PLACEHOLDER_SECTIONS.values() for line in text.splitlines() if line.strip()]
)
COMMA_LIST_FIELDS = ("tags", "related", "error_codes")  # aliases and URLs may hold commas

_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w-]*)([^<>]*)>")  # linear: the attributes never cross '<'
_DROPPED_TAGS = frozenset({"script", "iframe", "object", "embed", "style", "form", "frame", "frameset", "base"})
_EVENT_OR_STYLE_RE = re.compile(r"(?:^|[\s\"'/])(on[a-z]+|style)\s*=", re.I)
_URL_ATTR_RE = re.compile(r"(?:href|src|action|formaction|xlink:href)\s*=\s*[\"']?\s*(javascript|vbscript|data):", re.I)
_ATTR_LIST_RE = re.compile(r"\{:?([^{}\n]*)\}")
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
SUPPRESSION_RE = re.compile(r"<!--\s*kbtool:\s*disable=")


def check_authoring(ctx: LintContext, a: Article) -> None:
    if ctx.on("KB118"):
        check_comma_lists(ctx, a)
    if ctx.on("KB208") and a.status != "draft":
        check_placeholders(ctx, a)
    if ctx.on("KB406") and ("<" in a.body or "{" in a.body or ":" in a.body):
        check_unsafe_html(ctx, a)
    if ctx.on("KB407") and a.is_public and "<!--" in a.body:
        check_comments(ctx, a)


def comma_items(value: str) -> list[str]:
    """`sso, saml` -> ["sso", "saml"] (blank items dropped)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def check_comma_lists(ctx: LintContext, a: Article) -> None:
    """KB118: `tags: sso, saml` is one string the loader takes as a one-item list."""
    for key in COMMA_LIST_FIELDS:
        value = a.meta.get(key)
        if isinstance(value, str) and len(comma_items(value)) > 1:
            ctx.report(a, "KB118", a.line_of(key), field=key, value=value, key=f"comma {key}")


def check_placeholders(ctx: LintContext, a: Article) -> None:
    """KB208: scaffold text in a non-draft article, each placeholder once."""
    if a.summary.strip() == PLACEHOLDER_SUMMARY:
        ctx.report(a, "KB208", a.line_of("summary"), where="summary", text=PLACEHOLDER_SUMMARY, key="summary")
    if not any(p in a.body for p in PLACEHOLDER_LINES):
        return  # the common case, decided by substring searches
    seen: set[str] = set()
    for i, line in ctx.prose(a):
        text = line.strip()
        if text in PLACEHOLDER_LINES and text not in seen:
            seen.add(text)
            ctx.report(a, "KB208", a.body_line + i, line.find(text) + 1, where="body", text=text, key=text)


def _unsafe_in_line(line: str) -> list[tuple[int, str]]:
    """(0-based column, what) of the HTML in one prose line that the sanitiser removes."""
    out = []
    for m in _TAG_RE.finditer(line):
        tag, attrs = m.group(2).lower(), m.group(3)
        if tag in _DROPPED_TAGS and not m.group(1):
            out.append((m.start(), f"<{tag}> element"))
            continue
        if (ev := _EVENT_OR_STYLE_RE.search(attrs)) is not None:
            out.append((m.start(), f"{ev.group(1).lower()}= attribute on <{tag}>"))
        elif (url := _URL_ATTR_RE.search(attrs)) is not None and not (tag == "img" and url.group(1).lower() == "data"):
            out.append((m.start(), f"{url.group(1).lower()}: URL in <{tag}>"))
    if "{" in line:
        for m in _ATTR_LIST_RE.finditer(line):
            if (ev := _EVENT_OR_STYLE_RE.search(m.group(1))) is not None:
                out.append((m.start(), f"{ev.group(1).lower()}= in an attribute list"))
    return out


def check_unsafe_html(ctx: LintContext, a: Article) -> None:
    """KB406: raw HTML, attribute lists and link schemes the published page will not keep."""
    for i, line in ctx.prose(a):
        if "<" in line or "{" in line:
            for col, what in _unsafe_in_line(mask_inline_code(line)):
                ctx.report(a, "KB406", a.body_line + i, col + 1, what=what, key=f"{what} {line.strip()[:60]}")
    for link in a.links:
        scheme = link.target.strip().lower()
        if scheme.startswith(_BAD_SCHEMES) and not (link.image and scheme.startswith("data:")):
            what = f"{scheme.split(':', 1)[0]}: URL in a {'link' if not link.image else 'image'}"
            ctx.report(a, "KB406", link.line, link.column, what=what, key=f"{what} {link.target[:40]}")


def check_comments(ctx: LintContext, a: Article) -> None:
    """KB407: each HTML comment outside code in a public article (kbtool suppressions excepted)."""
    lines = [""] * (a.body.count("\n") + 1)
    for i, line in ctx.prose(a):
        lines[i] = mask_inline_code(line)
    prose = "\n".join(lines)
    pos = prose.find("<!--")
    while pos != -1:
        end = prose.find("-->", pos + 4)
        stop = len(prose) if end < 0 else end + 3
        comment = prose[pos:stop]
        if not SUPPRESSION_RE.match(comment):
            row = prose.count("\n", 0, pos)
            text = " ".join(comment[4:-3 if end >= 0 else None].split())[:60]
            ctx.report(a, "KB407", a.body_line + row, pos - prose.rfind("\n", 0, pos), text=text,
                       key=f"comment {text}")
        pos = prose.find("<!--", stop)
