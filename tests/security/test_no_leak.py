"""Security properties of the public site, tested with real builds and hypothesis.

1. One real build of the leak KB (conftest): no built file (HTML, search index, sitemap and
   its .gz, redirect pages, assets) and no file name carries any sentinel of a hidden
   article or of a hiding place, in any letter case.
2. Hypothesis generates hostile markup for the sanitiser and hostile URLs for the
   gatekeeper (`_Public.href`), bounded to a few seconds.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kbfactory import SITE_URL

from kbtool.content import load_kb
from kbtool.site import plan_site
from kbtool.site.sanitize import sanitize_html

BOUNDED = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_no_public_file_or_file_name_carries_a_sentinel(leak_site) -> None:
    assert leak_site.result.articles == 2
    assert "public-hider" in leak_site.files["articles/public-hider/index.html"]
    leaks = []
    for name, text in leak_site.files.items():
        low, low_name = text.lower(), name.lower()
        leaks += [(name, s) for s in leak_site.sentinels if s.lower() in low or s.lower() in low_name]
    assert not leaks


def test_search_index_holds_only_what_the_pages_show(leak_site) -> None:
    docs = json.loads(leak_site.files["search/search_index.json"])["docs"]
    ours = [d for d in docs if d["location"].startswith("articles/public-hider/")]
    assert [d["title"] for d in ours] == ["Public hider", "Steps", "Links"]
    assert all(not d["location"].startswith("articles/") or d["location"].split("/")[1] in
               ("public-hider", "public-plain") for d in docs)


def test_hidden_articles_link_text_stays_but_links_go(leak_site) -> None:
    page = leak_site.files["articles/public-hider/index.html"]
    for text in ("see this", "two lines", "by reference", "by quoted reference", "raw anchor", "absolute html",
                 "old url"):
        assert text in page, text


# --- hypothesis: the sanitiser ---------------------------------------------------------------

SECRET = "zqhiddenzq"
_DANGEROUS_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
                   "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "vbscript:msgbox(1)",
                   "data:text/html;base64,PHNjcmlwdD4=", "javascript&colon;alert(1)", "\x01javascript:alert(1)"]
_HIDERS = [f"<!-- {SECRET} -->", f"<script>{SECRET}</script>", f"<style>{SECRET}</style>",
           f"<div hidden>{SECRET}</div>", f"<p hidden=hidden><b>{SECRET}</b></p>",
           f'<span style="display:none">{SECRET}</span>', f"<div style='DISPLAY: NONE ; color:red'>{SECRET}</div>",
           f'<div style="visibility: hidden">{SECRET}</div>', f'<section aria-hidden="true"><p>{SECRET}</p></section>',
           f"<template>{SECRET}</template>", f"<noscript>{SECRET}</noscript>", f"<textarea>{SECRET}</textarea>",
           f"<![CDATA[{SECRET}]]>", f"<img hidden alt='{SECRET}'>", f"<!-- a -- {SECRET} -- b -->"]
_WRAPPERS = ["<div>{}</div>", "<p>{}</p>", "<table><tr><td>{}</td></tr></table>", "<ul><li>{}</li></ul>",
             "<details><summary>s</summary>{}</details>", "<blockquote>{}</blockquote>", "{}", "<b>{}", "{}</i></div>"]
_ATTRS = st.sampled_from(['onclick="alert(1)"', "onerror=alert(1)", 'OnMouseOver="x()"', 'style="background:url(x)"',
                          'class="ok"', 'id="ok"', 'formaction="javascript:alert(1)"', "srcdoc='<script>x</script>'"])


@st.composite
def hostile_markup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            parts.append(draw(st.sampled_from(_HIDERS)))
        elif kind == 1:
            url = draw(st.sampled_from(_DANGEROUS_URLS))
            tag = draw(st.sampled_from(["a href", "img src", "a HREF", "iframe src", "form action", "svg href"]))
            parts.append(f'<{tag}="{url}">x</{tag.split()[0]}>')
        elif kind == 2:
            parts.append(f"<{draw(st.sampled_from(['p', 'div', 'img', 'a', 'span', 'table']))} {draw(_ATTRS)}>t")
        else:
            parts.append(draw(st.text(alphabet=">/=\"' abcpx&#;", max_size=20)))  # no `<`: it would open a tag
    wrapper = draw(st.sampled_from(_WRAPPERS))
    return wrapper.format("".join(parts))


def _urls(html: str) -> list[str]:
    return re.findall(r"""(?:href|src|action|formaction)\s*=\s*["']?([^"' >]*)""", html, re.I)


@BOUNDED
@given(hostile_markup())
def test_sanitiser_leaves_no_script_no_handler_no_dangerous_url_no_hidden_text(markup: str) -> None:
    out = sanitize_html(markup)
    assert SECRET not in out
    assert not re.search(r"<\s*(script|style|iframe|template|form|object|embed|textarea)\b", out, re.I)
    assert not re.search(r"\son[a-z]+\s*=", out, re.I)
    assert not re.search(r"\sstyle\s*=", out, re.I)
    for url in _urls(out):
        assert not re.match(r"\s*(javascript|vbscript|data)\s*:", url, re.I), url
    assert sanitize_html(out) == out  # a fixed point: nothing left to remove


@BOUNDED
@given(st.text(max_size=200))
def test_sanitiser_never_raises_and_keeps_plain_text(text: str) -> None:
    out = sanitize_html(text)
    if not re.search(r"[<>&\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text) and text.strip():
        assert " ".join(html.unescape(out).split()) == " ".join(text.split())


# --- hypothesis: the link gatekeeper -------------------------------------------------------------


@pytest.fixture(scope="module")
def gate(leak_kb_dir: Path, hidden_ids: list[str]):
    kb = load_kb(leak_kb_dir)
    plan = plan_site(kb, site_url=SITE_URL)
    assert plan.gate is not None
    return plan.gate, kb.get("public-hider"), hidden_ids


@st.composite
def url_to_hidden(draw: st.DrawFn) -> tuple[int, str]:
    """(which hidden id, a URL form with `{id}` in it)."""
    which = draw(st.integers(0, 99))
    form = draw(st.sampled_from([
        "{id}.md", "./{id}.md", "../articles/{id}.md", "{id}.md#steps", "../{id}/", "../{id}/index.html",
        "../../articles/{id}/", "/articles/{id}/", "{site}articles/{id}/", "{site}articles/{id}/index.html",
        "{site}articles/{id}/#steps", "https://HELP.EXAMPLE.COM/articles/{id}/", "{site}articles/{id}.html",
        "../{id}/?utm=1", "{pct}.md", "https://old.example/hc/en-us/articles/1-{id}-old",
        "/hc/en-us/articles/1-{id}-old/", "../../hc/en-us/articles/1-{id}-old/",
    ]))
    return which, form


@BOUNDED
@given(url_to_hidden(), st.sampled_from(["articles/public-hider.md", "index.md", "products/sso.md"]))
def test_gatekeeper_never_hands_out_a_hidden_article(gate, drawn: tuple[int, str], doc: str) -> None:
    pub, source, hidden = gate
    aid = hidden[drawn[0] % len(hidden)]
    pct = "".join(f"%{ord(c):02X}" if c == "-" else c for c in aid)
    url = drawn[1].format(id=aid, site=SITE_URL, pct=pct)
    out = pub.href(doc, source if doc.startswith("articles/") else None, url)
    assert out is None or not any(h in out.lower() for h in hidden), (url, out)


@BOUNDED
@given(st.sampled_from(["../public-plain/", "public-plain.md", f"{SITE_URL}articles/public-plain/",
                        "#steps", "https://example.org/x", "mailto:help@example.com", "../../products/sso/"]))
def test_gatekeeper_keeps_public_and_external_links(gate, url: str) -> None:
    pub, source, _ = gate
    assert pub.href("articles/public-hider.md", source, url) is not None
