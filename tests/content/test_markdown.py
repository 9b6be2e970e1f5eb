"""The one Markdown scanner (`kbtool.content.markdown`): fences against a real CommonMark parser,
prose lines, headings and the site's slugs, anchors, links of every kind, plain text, clipping;
and linear time on hostile input (the tests assert results; their inputs would take seconds to
minutes with the old quadratic patterns)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kbfactory import write_article
from markdown.extensions.attr_list import get_attrs_and_remainder
from markdown_it import MarkdownIt

from kbtool.content import LINK_RE, Link, load_kb, parse_structure
from kbtool.content.markdown import (
    NUMBERED_STEP_RE,
    clip,
    extra_anchors,
    fence_mask,
    fences,
    heading_slug,
    inline_links,
    iter_prose_lines,
    mask_comments,
    match_link,
    parse_atx,
    plain_text,
    split_heading_attrs,
    unclosed_fences,
)

LineNo = Callable[[Path, str], int]

# --- headings, sections, links and slugs of real files ------------------------------

STRUCTURED = """\
Intro with a [link](other.md#cause) and an ![image](img/shot.png "Shot").

## Symptoms

Users see `SAML-403` after sign-in. Not a link: `[x](y.md)`.

```text
## Not a heading inside a fence
[not a link](nowhere.md)
```

~~~~
# also not a heading
```
still inside the tilde fence
~~~~

### Error ERR_CERT_DATE_INVALID in `snake_case`

## **Cause** and *effect*

See [SSO setup](saml-sso-setup.md) and <https://status.example.com>.

## Resolution & workaround

1. Step one.

## Resolution & workaround

## See [the FAQ](faq.md#top)

#NoSpace heading

## Using C#

## Tom's "quoted" <b>HTML</b>

## Café résumé

## a\\*b\\_c

# Top level ends the section
"""


def test_headings_sections_links_and_lines(tmp_path: Path, line_no: LineNo) -> None:
    path = write_article(tmp_path, "s", STRUCTURED)
    a = load_kb(tmp_path).get("s")
    lines = path.read_text().split("\n")
    texts = [h.text for h in a.headings]
    assert texts == [
        "Symptoms", "Error ERR_CERT_DATE_INVALID in snake_case", "Cause and effect", "Resolution & workaround",
        "Resolution & workaround", "See the FAQ", "NoSpace heading", "Using C", 'Tom\'s "quoted" HTML',
        "Café résumé", "a*b_c", "Top level ends the section",
    ]
    assert [h.level for h in a.headings] == [2, 3, 2, 2, 2, 2, 1, 2, 2, 2, 2, 1]
    for h in a.headings:  # every heading's line is the file line that holds it
        assert lines[h.line - 1].startswith("#"), h
    assert [s.title for s in a.sections] == [h.text for h in a.headings if h.level == 2]
    symptoms = a.section("symptoms")
    assert symptoms.line == line_no(path, "## Symptoms")
    assert "SAML-403" in symptoms.text and "## Not a heading" in symptoms.text and "ERR_CERT" in symptoms.text
    assert a.section("Cause and effect").text.startswith("See [SSO setup]")
    assert a.sections[-1].title == "a*b_c" and a.sections[-1].text == ""
    assert a.section("Using C").text == ""  # ends at the next heading of level <= 2 (the `#NoSpace` h1)
    links = [(link.target, link.text, link.image) for link in a.links]
    assert links == [
        ("other.md#cause", "link", False), ("img/shot.png", "image", True),
        ("saml-sso-setup.md", "SSO setup", False), ("faq.md#top", "the FAQ", False),
    ]
    for link in a.links:  # line and column point at the `[` / `![` in the file
        assert lines[link.line - 1][link.column - 1:].startswith(("[", "!["))
    assert a.body_line == line_no(path, "Intro with")
    assert "not a link" not in {link.text for link in a.links}


def _toc_ids(body: str) -> list[str]:
    md = markdown.Markdown(extensions=["fenced_code", "toc", "attr_list"])  # attr_list: always on for the site
    md.convert(body)
    out: list[str] = []

    def walk(tokens: list[dict]) -> None:
        for t in tokens:
            out.append(t["id"])
            walk(t["children"])

    walk(md.toc_tokens)
    return out


def test_slugs_are_the_ids_markdown_toc_renders(tmp_path: Path) -> None:
    """Anchors must agree with the site: Python-Markdown's toc ids, duplicates suffixed."""
    write_article(tmp_path, "s", STRUCTURED)
    a = load_kb(tmp_path).get("s")
    assert [h.slug for h in a.headings] == _toc_ids(a.body)
    assert "error-err_cert_date_invalid-in-snake_case" in a.anchors
    assert {"resolution-workaround", "resolution-workaround_1"} <= a.anchors


HEADING_LINES = [
    "#", "## ", "#!/bin/bash", "## Symptoms ##   ", "##Symptoms", "####### seven", "## a \\# b #", "## `code # x`",
    "## <span>x</span> y", "## 50% off & more", "## Ünïcödé ☃ snow", "## [link][ref]", "## **bold**_x_",
    "## Step 1 -- do it", "## x\t tab", "## emoji 🎉 done", "## a_b_ _c_", "## <!-- c --> visible",
    "## http://x.com/a_b", "## HTTP 429: `Retry-After` &amp; backoff", "## trailing \\",
    # attr_list: a trailing `{...}` after a space is an attribute list, and `#id` sets the anchor
    "## Foo {#bar}", "## Baz { #qux .c }", "## Quux {: .c }", "## Word {x}", "## a {#b} ##", "## {#only}",
    "## Glued{#a}", "## Foo {#a} trailing", "## Two {#a #b}", "## Stray {#a}}", "## Code `{#a}`", "## Code `x` {#y}",
]


@pytest.mark.parametrize("line", HEADING_LINES)
def test_heading_edge_cases_match_markdown(line: str) -> None:
    body = f"Para.\n\n{line}\n\ntext\n\n{line}\n"  # twice: the duplicate gets the same `_1` suffix
    assert [h.slug for h in parse_structure(body, 1)[0]] == _toc_ids(body)


def test_explicit_ids_are_taken_before_headings_are_slugged() -> None:
    """toc reserves every id already in the page (attr-list ones) before slugging the rest."""
    body = "## Bar\n\n## Foo {#bar}\n\nPara\n{: #summary }\n\n## Summary\n\n## Foo {#bar}\n"
    headings = parse_structure(body, 1)[0]
    assert [h.slug for h in headings] == _toc_ids(body) == ["bar_1", "bar", "summary_1", "bar"]
    assert [h.text for h in headings] == ["Bar", "Foo", "Summary", "Foo"]


class _RenderedIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids |= {v for k, v in attrs if v and (k == "id" or (k == "name" and tag == "a"))}


ANCHOR_BODY = """\
Intro.

<a id="summary"></a>

## Overview

### <a id="autorecover">Searching for AutoRecover files</a>

### Old name {#azure-ad-account}

Para text
{: #para-anchor }

!!! note
    <a name="Note1"><sup>1</sup></a> A footnote inside an admonition.

<div id="box" markdown="1">
Boxed text.
</div>

<p ID="Upper">Attribute names are case-insensitive.</p>

<span name="not-an-anchor">name counts on a elements only</span>

`<a id="in-code"></a>` in inline code, and <!-- <a id="in-comment"></a> --> in a comment.

```html
<a id="in-fence"></a>
```

## Overview
"""


def test_anchors_are_every_id_the_site_renders(tmp_path: Path) -> None:
    """Heading slugs, attr-list ids and raw HTML ids: exactly the ids Python-Markdown (with the
    site's extensions) puts in the page, as MkDocs' own anchor validation counts them."""
    write_article(tmp_path, "t", ANCHOR_BODY)
    a = load_kb(tmp_path).get("t")
    rendered = _RenderedIds()
    rendered.feed(markdown.markdown(a.body, extensions=["fenced_code", "toc", "attr_list", "md_in_html", "admonition"]))
    assert a.anchors == rendered.ids
    assert {"summary", "autorecover", "searching-for-autorecover-files", "azure-ad-account", "para-anchor", "Note1",
            "box", "Upper", "overview", "overview_1"} == a.anchors
    assert extra_anchors("No HTML here.\n\n## Heading\n") == frozenset()


def test_slugs_match_markdown_across_the_sample_kb(sample_kb_path: Path) -> None:
    kb = load_kb(sample_kb_path)
    mismatched = {a.rel_path: ([h.slug for h in a.headings], _toc_ids(a.body))
                  for a in kb.articles if [h.slug for h in a.headings] != _toc_ids(a.body)}
    assert mismatched == {}


def test_parse_structure_directly() -> None:
    headings, sections, links = parse_structure("## One\ntext [a](b.md)\n## Two\n", body_line=10)
    assert [(h.text, h.line, h.slug) for h in headings] == [("One", 10, "one"), ("Two", 12, "two")]
    assert [(s.title, s.line, s.text) for s in sections] == [("One", 10, "text [a](b.md)"), ("Two", 12, "")]
    assert [(link.target, link.line, link.column) for link in links] == [("b.md", 11, 6)]


def test_plain_text_drops_markup() -> None:
    a_text = plain_text("## Title\n\nSee [the guide](x.md) and **bold** <!-- hidden --> `code`.")
    assert "x.md" not in a_text and "hidden" not in a_text and "the guide" in a_text and "**" not in a_text


def test_iter_prose_lines_skips_fences() -> None:
    # A fence closes only on the same character, at least as long, with no info string.
    body = "a\n````md\nb\n```\n~~~~\n```python\nc\n`````\nd\n~~~\n```\ne\n~~~~\nf\n```\ng\n``` \nh"
    assert [line for _, line in iter_prose_lines(body)] == ["a", "d", "f", "h"]
    body = "x\n```\n```python\n## inside\n```\n## outside"
    assert [line for _, line in iter_prose_lines(body)] == ["x", "## outside"]



# --- fences: CommonMark, checked against markdown-it-py -------------------------------------

_COMMONMARK = MarkdownIt("commonmark")


def _reference_mask(doc: str) -> list[bool]:
    """Per line of `doc`: inside a `fence` token of markdown-it-py (its `.map` is [start, end))."""
    lines = doc.split("\n")
    mask = [False] * len(lines)
    for token in _COMMONMARK.parse(doc):
        if token.type == "fence" and token.map:
            for k in range(token.map[0], min(token.map[1], len(lines))):
                mask[k] = True
    return mask


@st.composite
def _fence_line(draw: st.DrawFn) -> str:
    char = draw(st.sampled_from("`~"))
    info = draw(st.sampled_from(["", "", "python", " bash ", "a`b", "x ~y", "{.c}"]))
    trail = draw(st.sampled_from(["", "", "  ", " x"]))
    return " " * draw(st.integers(0, 4)) + char * draw(st.integers(3, 5)) + info + trail


_TEXT = st.sampled_from([
    "text", "## Heading", "# h", "- item", "* star", "+ plus", "-", "1.", "1)", "1. step", "2) next", "10. ten",
    "1.  two", "-     five", "  - nested", "   indented", "    code", "", ">", "> quoted", "   > deep", "---",
    "***", "para `x`", "``", "lazy line",
])
_PREFIX = st.sampled_from([
    "", "", "", "> ", ">", ">  ", "> > ", "  > ", "- ", "-   ", "1. ", "1) ", "  ", "   ", "    ", "     ",
    "- > ", "> - ",
])
_DOCUMENTS = st.lists(st.builds(lambda p, b: p + b, _PREFIX, st.one_of(_fence_line(), _TEXT, _fence_line())),
                      min_size=1, max_size=14).map("\n".join)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(_DOCUMENTS)
def test_fence_mask_agrees_with_markdown_it(doc: str) -> None:
    """Fences, block quotes, list items, lazy lines, indented code: the same lines are fenced.

    Lines with nothing but `>` marks and spaces are not compared (markdown-it leaves trailing
    blank lines out of an unclosed fence's map; they hold nothing either way). Nor are documents
    where a `>` follows 4+ spaces: markdown-it continues a block quote there, CommonMark does not.
    """
    assume(not re.search(r"(?:^|>) *[ ]{4}>", doc, re.M))
    lines = doc.split("\n")
    ours, reference = fence_mask(lines), _reference_mask(doc)
    compared = [k for k, line in enumerate(lines) if line.strip(" >")]
    assert [ours[k] for k in compared] == [reference[k] for k in compared], repr(doc)


FENCE_CASES = [
    # document, fenced lines (0-based)
    ("a\n```\nb\n```\nc", {1, 2, 3}),
    ("~~~\n```\n~~~", {0, 1, 2}),
    ("````\n```\n````", {0, 1, 2}),  # a shorter run does not close
    ("```\n``` x\n```", {0, 1, 2}),  # a closer has no info string
    ("```a`b\nnot code", set()),  # a backtick fence's info string holds no backtick
    ("~~~a`b\ncode\n~~~", {0, 1, 2}),  # a tilde fence's may
    ("    ```\n    code", set()),  # indented 4: indented code, not a fence
    ("   ```\ncode\n   ```", {0, 1, 2}),
    ("> ```\n> code\n> ```\nafter", {0, 1, 2}),
    ("> ```\n> code\nafter\n```", {0, 1, 3}),  # the quote ends, so does its fence; a new one opens
    ("1. step\n\n   ```\n   code\n   ```\n2. next", {2, 3, 4}),
    ("- item\n  ```\n  code\nnot code", {1, 2}),  # the item ends at the unindented line
    ("- item\n\n      ```\n      code\n      ```", set()),  # 4 beyond the item's column: indented code
    ("1. step\n\n    ```bash\n    # comment\n    ```", {2, 3, 4}),  # 1 beyond `1. `'s column: a fence
    ("```\nnever closed\n\nstill code", {0, 1, 2, 3}),
]


@pytest.mark.parametrize(("doc", "fenced"), FENCE_CASES)
def test_fence_mask_cases(doc: str, fenced: set[int]) -> None:
    lines = doc.split("\n")
    assert {k for k, inside in enumerate(fence_mask(lines)) if inside} == fenced
    assert {k for k in range(len(lines))} - fenced == {k for k, _ in iter_prose_lines(doc)}
    assert fence_mask(lines) == _reference_mask(doc)


def test_fences_and_unclosed_fences() -> None:
    body = "```python\nx = 1\n```\n\n> ~~~~\n> quoted, never closed\n\ntext\n\n````\nopen to the end"
    found = fences(body)
    assert [(f.start, f.end, f.marker, f.info, f.closed) for f in found] == [
        (0, 3, "```", "python", True), (4, 6, "~~~~", "", False), (9, 11, "````", "", False)]
    assert unclosed_fences(body) == [4, 9]
    assert unclosed_fences("no code here") == [] and fences("") == []
    assert unclosed_fences("```\n```") == []


def test_iter_prose_lines_knows_containers() -> None:
    body = "> ```\n> ## not a heading\n> ```\n- item\n  ~~~\n  [x](y.md)\n  ~~~\n## heading"
    assert [i for i, _ in iter_prose_lines(body)] == [3, 7]
    headings, _, links = parse_structure(body, 1)
    assert [h.text for h in headings] == ["heading"] and links == []


# --- headings and slugs ---------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ("# Title", (1, " Title")), ("###### six ##", (6, " six ")), ("####### seven", (6, "# seven")),
    ("#NoSpace", (1, "NoSpace")), ("## a \\# b #", (2, " a \\# b ")), ("## a \\##", (2, " a \\#")),
    ("## trailing \\", None), ("text", None), ("#", (1, "")),
])
def test_parse_atx(line: str, expected: tuple[int, str] | None) -> None:
    assert parse_atx(line) == expected
    rx = re.match(r"^(#{1,6})((?:\\.|[^\\])*?)#*$", line)  # Python-Markdown's own rule
    assert (None if rx is None else (len(rx.group(1)), rx.group(2))) == expected


@pytest.mark.parametrize("raw", [
    "Foo {#bar}", "Baz { #qux .c }", "Quux {: .c }", "Word {x}", "a {#b} ##", "{#only}", "Glued{#a}",
    "Foo {#a} trailing", "Two {#a #b}", "Stray {#a}}", "x {:}", "x  {: #y}  ", "x {} {#z}", "x { }", "x {: }",
    " {a}", "x {:a}", "x {  :a}", "x {#a} {#b}", "no braces",
])
def test_split_heading_attrs_matches_attr_lists_pattern(raw: str) -> None:
    """The hand-written search gives what attr_list's HEADER_RE and its parser give."""
    rx = re.search(r"[ ]+\{:?[ ]*([^}\n ][^\n]*)\}[ ]*$", raw)
    expected: tuple[str, str | None] = (raw, None)
    if rx is not None:
        parsed, remainder = get_attrs_and_remainder(rx.group(1))
        ids = [v for k, v in parsed if k == "id" and v]
        if not remainder:
            expected = (raw[: rx.start()].rstrip("#").rstrip(), ids[-1] if ids else None)
    assert split_heading_attrs(raw) == expected


def test_heading_slug_is_tocs() -> None:
    used: set[str] = set()
    assert [heading_slug(t, used) for t in ("Steps", "Steps", "Café & more", "Steps")] == [
        "steps", "steps_1", "cafe-more", "steps_2"]
    assert heading_slug("Error ERR_X in C#") == "error-err_x-in-c" and used == {"steps", "steps_1", "steps_2",
                                                                                "cafe-more"}


def test_numbered_step_re() -> None:
    assert NUMBERED_STEP_RE.search("Intro\n\n1. Open it\n2) Then") is not None
    assert NUMBERED_STEP_RE.search("   12. indented three") is not None
    for text in ("- bullet", "1.no space", "    1. four spaces is code", "1234. too long", "1. "):
        assert NUMBERED_STEP_RE.search(text) is None, text


# --- links of every kind --------------------------------------------------------------------

LINKS_BODY = """\
Inline [guide](a.md#x "Title") and ![shot](img/s.png) and <https://auto.example>.
A link whose text runs [over two
lines](b.md) and [one](c.md).
Reference [text][Ref One], collapsed [ref two][] and shortcut [Ref Two] and [undefined][nope].

> Quoted [q ref][] and <a href="d.md#top">an HTML link</a> and <img src='e.png' alt="x">.
> [q ref]: quoted-def.md

[ref one]: <f one.md> "title"
[Ref two]: g.md
[^1]: a footnote, not a link
`[in code](h.md)` and <a name="only-an-anchor"></a>

```
[in a fence](i.md) <a href="j.md"></a>
[fenced]: k.md
```
"""


def test_links_of_every_kind() -> None:
    links = parse_structure(LINKS_BODY, 10)[2]
    got = [(link.kind, link.target, link.text, link.line, link.image) for link in links]
    assert got == [
        ("inline", "a.md#x", "guide", 10, False),
        ("image", "img/s.png", "shot", 10, True),
        ("inline", "b.md", "over two\nlines", 11, False),
        ("inline", "c.md", "one", 12, False),
        ("reference", "f one.md", "text", 13, False),
        ("reference", "g.md", "ref two", 13, False),
        ("reference", "g.md", "Ref Two", 13, False),
        ("reference", "quoted-def.md", "q ref", 15, False),
        ("html", "d.md#top", "", 15, False),
        ("html", "e.png", "", 15, True),
    ]
    lines = LINKS_BODY.split("\n")
    for link in links:  # the column points at the link's `[`, `![` or `<`
        assert lines[link.line - 10][link.column - 1:].startswith(("[", "![", "<")), link


def test_link_keeps_its_fields_and_kind_defaults_to_inline() -> None:
    assert Link("a.md", "t", 1, 1, False) == Link("a.md", "t", 1, 1, False, "inline")
    assert list(Link.__dataclass_fields__) == ["target", "text", "line", "column", "image", "kind"]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet="[]()!<>\"' ax\t", max_size=40))
def test_inline_links_are_link_re_finditer(line: str) -> None:
    """The linear scanner finds exactly what the regex finds, also on lines with many `[`."""
    expected = [(m.start(), m.end(), m.group(2), m.group(3)) for m in LINK_RE.finditer(line)]
    for text in (line, "[[[[[[[[[[[[[[[[[[" + line):  # the second takes the scanner path
        found = [(lk.start, lk.end, lk.text, lk.target) for lk in inline_links(text)]
        shift = len(text) - len(line)
        reference = [(m.start(), m.end(), m.group(2), m.group(3)) for m in LINK_RE.finditer(text)]
        assert found == reference
        if not shift:
            assert found == expected


def test_match_link_at_a_column() -> None:
    line = "See [a](x.md) and ![b](y.png)"
    lk = match_link(line, line.index("!["))
    assert lk is not None and (lk.image, lk.text, lk.target, line[lk.start:lk.end]) == (True, "b", "y.png", "![b](y.png)")
    assert match_link(line, 0) is None


# --- plain text, comments, clip ---------------------------------------------------------------


def test_plain_text_keeps_its_output() -> None:
    text = "# T\n\n> q <b>bold</b> ![alt](i.png) [a [b]](c) <!-- x\ny --> *e* `c` | t\n1) one\n- two"
    assert plain_text(text) == "T\nq  bold  alt [a [b]](c)    e   c    t\none\ntwo"
    assert plain_text("[open [x](y) <> <<a> <!-- never closed") == "open [x <>   <!-- never closed"


def test_mask_comments() -> None:
    assert mask_comments("a<!-- b -->c<!-- d") == "a c<!-- d"
    assert mask_comments("<!--> x -->y", "") == "y"


@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    (("short", 10), {}, "short"),
    (("one two three four", 12), {}, "one two…"),
    (("one two three four", 12, " …"), {}, "one two …"),
    (("abcdefghijklmnop", 8), {}, "abcdefg…"),  # no space: a hard cut
    (("a bcdefghijklmnop", 8), {}, "a bcdef…"),  # the space keeps too little: a hard cut
    (("a bcdefghijklmnop", 8), {"at_word": 0}, "a…"),  # any space will do
    (("one two three four", 12), {"at_word": 1}, "one two thr…"),  # never at a word
    (("one two, three", 10), {}, "one two…"),  # dangling punctuation goes
    (("one two, three", 10), {"trim": " "}, "one two,…"),
])
def test_clip(args: tuple, kwargs: dict, expected: str) -> None:
    out = clip(*args, **kwargs)
    assert out == expected and len(out) <= args[1]


# --- hostile input: linear time (results asserted; the old patterns took seconds or hung) ---------


@pytest.mark.parametrize(("body", "n_links"), [
    ("[](" * 30000, 0),  # no `)` anywhere: LINK_RE.finditer was quadratic
    ("[" * 100000, 0),
    ("[a](" * 20000, 0),
    ("![" * 50000, 0),
    ("[](x)" * 20000, 20000),
    ("<a " * 30000, 0),
    ("[x] " * 30000 + "\n\n[x]: y.md", 30000),
])
def test_links_on_hostile_lines(body: str, n_links: int) -> None:
    links = parse_structure(body, 1)[2]
    assert len(links) == n_links


def test_plain_text_on_hostile_lines() -> None:
    assert plain_text("[" * 100000) == "[" * 100000  # hung: `!?\[([^\]]*)\]\([^)]*\)` from every `[`
    assert plain_text("<" * 100000) == "<" * 100000
    assert plain_text("<!--" * 25000) == "<!--" * 25000
    assert plain_text("[](" * 30000 + ")") == ""  # one link: text "", target all the rest
    assert plain_text("[a](" * 20000) == "[a](" * 20000


def test_headings_on_hostile_lines() -> None:
    assert parse_atx("# " + "#" * 100000 + "x") == (1, " " + "#" * 100000 + "x")
    assert parse_atx("#" * 100000) == (6, "")
    assert split_heading_attrs("a" + " {" * 50000 + "}") == ("a", None)  # as attr_list's own regex says
    headings = parse_structure("## " + "x {" * 30000 + "\n", 1)[0]
    assert len(headings) == 1 and headings[0].level == 2


def test_fences_on_hostile_input() -> None:
    body = "> - " * 20000 + "```\n" + "`" * 100000
    assert unclosed_fences(body) == [0, 1]  # the quote ends at line 1, which opens a fence of its own
    assert [i for i, _ in iter_prose_lines("```\n" * 50001)] == []
