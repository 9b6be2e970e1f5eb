"""The pages' Markdown and HTML: escaping, list re-indenting, metadata, landing pages, search entries."""

from __future__ import annotations

import json
import re

import pytest

from kbtool.site import SEARCH_KEYWORDS_FIELD, SEARCH_SECTION_CHARS, normalise_list_indent
from kbtool.site.pages import _md


def test_md_escapes_markup_and_html() -> None:
    assert _md("a *b* _c_ [d](e) <f> & `g` {h} #i |j") == (
        r"a \*b\* \_c\_ \[d\](e) &lt;f&gt; &amp; \`g\` \{h\} \#i \|j"
    )


@pytest.mark.parametrize("src, want", [
    # CommonMark-style 3-space nesting under "1. " becomes Python-Markdown's 4 spaces
    ("1. a\n   - b\n   - c\n2. d", "1. a\n    - b\n    - c\n2. d"),
    # fenced block inside an item moves as a whole, keeping its inner indentation
    ("1. a\n\n   ```sh\n   x\n     y\n   ```\n\n2. b", "1. a\n\n    ```sh\n    x\n      y\n    ```\n\n2. b"),
    # two levels deep under "- " (content column 2)
    ("- a\n  - b\n    - c", "- a\n    - b\n        - c"),
    # already 4-space: unchanged; plain text and top-level code: unchanged
    ("1. a\n    - b\n\ntext\n\n    code", "1. a\n    - b\n\ntext\n\n    code"),
    # lazy continuation lines stay where they are
    ("1. first line\ncontinued\n2. next", "1. first line\ncontinued\n2. next"),
])
def test_normalise_list_indent(src: str, want: str) -> None:
    assert normalise_list_indent(src) == want


# --- the built site ------------------------------------------------------------------------


def test_article_page_shows_metadata(tiny) -> None:
    _, _, files = tiny
    page = files["articles/sso-login-fails/index.html"]
    assert "<title>SSO sign-in fails with SAML-403 - Orbit Help Center</title>" in page
    assert '<meta name="description" content="Summary of sso-login-fails.">' in page
    assert 'class="kb-summary">Summary of sso-login-fails.' in page
    assert "Last reviewed" in page and "September 1, 2026" in page
    assert "<code>SAML-403</code>" in page and "<code>ERR_TOO_MANY_REDIRECTS</code>" in page
    assert 'href="../../products/sso/"' in page and 'href="../../types/troubleshooting/"' in page
    assert re.search(r'class="md-tag" href="\.\./\.\./tags/#tag:sso"', page)
    # nested lists survive (Python-Markdown needs 4 spaces; the KB uses 3)
    assert re.search(r"<li>\s*<p>Assign the app in your IdP:</p>\s*<ul>", page) or \
        re.search(r"<li>Assign the app in your IdP:\s*<ul>", page)
    assert re.search(r'<li>\s*<p>Test the connection:</p>\s*<div class="[^"]*highlight"><pre>', page)  # fence in item


def test_markup_in_titles_is_shown_literally(tiny) -> None:
    _, _, files = tiny
    page = files["articles/tricky-title/index.html"]
    assert '<h1 id="kb-title">Use *wildcards* &amp; &lt;tags&gt; in [filters] {x}<a class="headerlink"' in page
    assert "<title>Use *wildcards* &amp; &lt;tags&gt; in [filters] {x} - Orbit Help Center</title>" in page
    assert 'content="&quot;Quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt; summary"' in page
    assert "<b>bold</b>" not in page


def test_home_known_issues_tags_and_landing_pages(tiny) -> None:
    _, _, files = tiny
    home = files["index.html"]
    for href in ("products/sso/", "products/data/", "products/general/", "types/troubleshooting/", "known-issues/"):
        assert f'href="{href}"' in home
    known = files["known-issues/index.html"]
    assert "Known issue: CSV dates shift" in known and "Fixed in release 5.2." in known
    tags = files["tags/index.html"]
    assert 'id="tag:sso"' in tags and 'id="tag:csv"' in tags and "internal-only-tag" not in tags
    sso = files["products/sso/index.html"]
    assert sso.index("SSO sign-in fails with SAML-403") < sso.index("Set up single sign-on")  # by type
    assert "Use *wildcards* &amp; &lt;tags&gt;" in sso


def test_search_index_is_curated(tiny) -> None:
    _, _, files = tiny
    index = json.loads(files["search/search_index.json"])
    assert SEARCH_KEYWORDS_FIELD in index["config"]["fields"]
    docs = {d["location"]: d for d in index["docs"]}
    page = docs["articles/sso-login-fails/"]
    assert page["title"] == "SSO sign-in fails with SAML-403"
    for kw in ("SAML-403", "ERR_TOO_MANY_REDIRECTS", "too many redirects", "sso access denied", "not_assigned"):
        assert kw in page[SEARCH_KEYWORDS_FIELD]
    assert page["tags"] == ["sso", "login"]
    assert [loc for loc in docs if loc.startswith("articles/sso-login-fails/#")] == [
        "articles/sso-login-fails/#symptoms", "articles/sso-login-fails/#cause", "articles/sso-login-fails/#resolution"]
    cause = docs["articles/sso-login-fails/#cause"]["text"]
    assert cause.endswith("…") and len(cause) <= SEARCH_SECTION_CHARS + 1
    assert not any(loc.startswith(("articles/internal-notes", "articles/old-", "articles/draft", "index"))
                   for loc in docs)
    assert list(docs).index("articles/sso-login-fails/") < list(docs).index("articles/sso-login-fails/#symptoms")


def test_no_third_party_requests(tiny) -> None:
    _, _, files = tiny
    external = re.compile(r"<(?:script|link(?! rel=\"canonical\")|img|iframe|source)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)
    html_pages = [path for path in files if path.endswith(".html")]
    assert html_pages
    for path in html_pages:
        text = files[path]
        assert not external.search(text), path
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, path
