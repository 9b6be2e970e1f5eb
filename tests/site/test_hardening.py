"""Issue 18's site reproducers: stored XSS, comments and hidden HTML, links that slipped past
the rewriter, secrets, one bad article failing the build, leftovers of killed builds.

One KB holds every hostile article and is built once (a real `mkdocs build`); each test
reads the built files back.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kbfactory import SITE_URL, article_text, write_article, write_file

from kbtool.content import load_kb
from kbtool.site import SiteBuildError, build_site

XSS_BODY = """\
Intro paragraph.

<script>alert('XSS-SCRIPT')</script>

<img src="x" onerror="alert('XSS-ONERROR')">

A paragraph with an attribute list.
{: onclick="alert('XSS-ATTRLIST')" style="background:url(XSS-STYLE)" }

[click me](javascript:alert%28'XSS-JSLINK'%29) and [vb](vbscript:msgbox) and [data](data:text/html,XSS-DATA)

<a href="&#106;avascript:alert('XSS-ENTITY')">entity</a>

<!-- internal note: COMMENT-SENTINEL-1 -->
<!-- kbtool: disable=KB401 -->

<div hidden>HIDDEN-SENTINEL-1</div>

<div style="display:none">HIDDEN-SENTINEL-2</div>

<span aria-hidden="true">HIDDEN-SENTINEL-3</span>

## Steps <span hidden>HIDDEN-SENTINEL-6</span>

1. Open **Settings**.

<div hidden markdown>

## Secret section

HIDDEN-SENTINEL-4 and `HIDDEN_CODE_SENTINEL5`

</div>

| a | b |
|:--|--:|
| 1 | 2 |

??? note "More"
    Details stay.
"""

LINKS_BODY = f"""\
Read the [two line
text](secret-subject.md) here.

> A quote with a [quoted ref][qref].
>
> [qref]: secret-subject.md

<a href="secret-subject.md">raw anchor</a> and <img src="secret-subject.md" alt="raw image">

[absolute]({SITE_URL}articles/secret-subject/) and [absolute public]({SITE_URL}articles/public-target/)

[old address](https://old.example/hc/en-us/articles/99-secret-subject-old) and
[old public address](https://old.example/hc/en-us/articles/98-public-target-old) and
[retired](old-public.md)

## Steps

1. Go.
"""


def _write_kb(kb: Path) -> Path:
    write_article(kb, "xss-article", XSS_BODY, title="Hostile markup", product="sso")
    write_article(kb, "links-article", LINKS_BODY, title="Links of every form", product="sso")
    write_article(kb, "public-target", "## Steps\n\n1. Go.", title="Public target",
                  legacy_urls=["https://old.example/hc/en-us/articles/98-public-target-old"])
    write_article(kb, "secret-subject", "## Steps\n\n1. Hidden.", audience="internal", title="Secret subject",
                  legacy_urls=["https://old.example/hc/en-us/articles/99-secret-subject-old"])
    write_article(kb, "old-public", "## Steps\n\n1. Old.", status="retired", replaced_by="public-target",
                  title="Old public")
    write_article(kb, "deep-list", "- " * 1000 + "x", title="Deep list")
    write_article(kb, "long-product", "## Steps\n\n1. Go.", title="Long product", product="p" * 300)
    write_article(kb, "deep-legacy", "## Steps\n\n1. Go.", title="Deep legacy",
                  legacy_urls=["/" + "/".join(["s"] * 1000)])
    write_file(kb, "articles/long-id.md", article_text("a" * 300, "## Steps\n\n1. Go.", title="Long id"))
    return kb


@pytest.fixture(scope="module")
def hostile(built_site):
    return built_site("hostile", _write_kb)


def _content(html: str) -> str:
    """The article's own content (inside Material's `<article>`), theme chrome excluded."""
    m = re.search(r'<article class="md-content__inner md-typeset">(.*?)</article>', html, re.S)
    assert m, "no article element"
    return m.group(1)


def test_one_bad_article_never_fails_the_build(hostile) -> None:
    skipped = dict(hostile.result.skipped)
    assert "deep-list" in skipped and "nested" in skipped["deep-list"]
    assert any(k.startswith("aaaa") for k in skipped)
    assert "articles/long-product/index.html" in hostile.files  # its product page name is bounded
    assert "articles/deep-legacy/index.html" in hostile.files
    assert any("legacy URL has more than" in w for w in hostile.result.warnings)
    assert "articles/public-target/index.html" in hostile.files


def test_no_script_event_or_dangerous_url_reaches_a_page(hostile) -> None:
    page = _content(hostile.files["articles/xss-article/index.html"])
    for marker in ("XSS-SCRIPT", "XSS-ONERROR", "XSS-ATTRLIST", "XSS-STYLE", "XSS-JSLINK", "XSS-ENTITY", "XSS-DATA"):
        assert marker not in page, marker
    assert not re.search(r"<script|\son\w+=|javascript:|vbscript:|data:", page, re.I)
    assert "click me" in page and "Details stay." in page  # the text stays
    assert re.search(r'<th style="text-align:\s*left;?">', page)  # table alignment survives


def test_comments_and_hidden_html_are_not_published_or_indexed(hostile) -> None:
    page = hostile.files["articles/xss-article/index.html"]
    index = hostile.files["search/search_index.json"]
    for marker in ("COMMENT-SENTINEL-1", "kbtool: disable", "HIDDEN-SENTINEL-1", "HIDDEN-SENTINEL-2",
                   "HIDDEN-SENTINEL-3", "HIDDEN-SENTINEL-4", "HIDDEN-SENTINEL-6", "HIDDEN_CODE_SENTINEL5", "Secret section"):
        assert marker not in _content(page), marker
        assert marker not in index, marker
    entries = [d for d in json.loads(index)["docs"] if d["location"].startswith("articles/xss-article/")]
    assert [d["title"] for d in entries] == ["Hostile markup", "Steps"]


def test_every_link_form_to_hidden_content_loses_its_target(hostile) -> None:
    page = _content(hostile.files["articles/links-article/index.html"])
    assert "secret-subject" not in page
    assert "secret-subject" not in hostile.files["search/search_index.json"]
    for text in ("two line", "quoted ref", "raw anchor", "absolute", "old address"):
        assert text in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert "../public-target/" in hrefs  # absolute help-center URL, legacy URL and the retired one's successor
    assert hrefs.count("../public-target/") >= 2
    assert not any(h.endswith(".md") for h in hrefs)
    # the Markdown rewriter already took the two-line and the quoted reference link: MkDocs saw no broken link
    assert not [w for w in hostile.result.warnings if "links-article" in w and "not found among" in w]


def test_public_site_urls_and_theme_chrome_survive(hostile) -> None:
    page = hostile.files["articles/links-article/index.html"]
    assert "assets/javascripts/bundle" in page  # Material's own scripts are untouched
    assert f'href="{SITE_URL}articles/public-target/"' in page or "../public-target/" in page


# --- secrets --------------------------------------------------------------------------------

AWS = "AKIA" + "QWERTYUIOPASDFGH"


def test_a_secret_in_a_public_article_blocks_the_build(tmp_path: Path, make_config) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "ok-one", "## Steps\n\n1. Fine.", title="Fine")
    write_article(kb, "leaky", f"## Steps\n\n1. Use the key `{AWS}`.", title="Leaky")
    cfg = make_config(tmp_path, kb)
    with pytest.raises(SiteBuildError) as e:
        build_site(load_kb(kb), cfg)
    msg = str(e.value)
    assert "articles/leaky.md:" in msg and "KB602" in msg and AWS not in msg and AWS[:8] not in msg
    assert not (tmp_path / "site").exists()


def test_secrets_in_hidden_articles_do_not_block_and_a_suppression_lets_one_through(tmp_path: Path,
                                                                                    make_config) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "internal-key", f"## Steps\n\n1. `{AWS}`.", audience="internal", title="Internal")
    write_article(kb, "silenced", f"<!-- kbtool: disable=KB602 -->\n\n## Steps\n\n1. `{AWS}`.", title="Silenced")
    result = build_site(load_kb(kb), make_config(tmp_path, kb))
    assert result.articles == 1


def test_cli_build_exits_1_naming_file_line_and_rule(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "leaky", f"## Steps\n\n1. Key `{AWS}`.", title="Leaky")
    r = subprocess.run([sys.executable, "-m", "kbtool.cli", "build", "--kb", str(kb), "--site-dir",
                        str(tmp_path / "site")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 1
    assert re.search(r"articles/leaky\.md:\d+: KB602", r.stderr), r.stderr
    assert AWS not in r.stderr + r.stdout and "Traceback" not in r.stderr


# --- killed builds ------------------------------------------------------------------------------


def _build_cmd(kb: Path, site: Path) -> list[str]:
    return [sys.executable, "-m", "kbtool.cli", "build", "--kb", str(kb), "--site-dir", str(site)]


@pytest.mark.slow
def test_kill_9_leaves_nothing_behind_after_the_next_build(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    for i in range(30):
        write_article(kb, f"article-{i}", "## Steps\n\n1. Go.", title=f"Article {i}")
    site, tmp = tmp_path / "out" / "site", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    subprocess.run(_build_cmd(kb, site), check=True, env=env, cwd=tmp_path, capture_output=True, timeout=300)
    before = (site / "index.html").read_bytes()
    rng = random.Random(18)
    killed = 0
    for _ in range(3):
        proc = subprocess.Popen(_build_cmd(kb, site), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # kill at a random point of the build proper (staging exists)
        while proc.poll() is None and time.monotonic() < deadline and \
                not any(p.name.startswith(".site.building-") for p in site.parent.iterdir()):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        assert (site / "index.html").read_bytes() == before  # the old site is intact after every kill
    assert killed, "no build was killed: raise the sleep range"
    subprocess.run(_build_cmd(kb, site), check=True, env=env, cwd=tmp_path, capture_output=True, timeout=300)
    assert sorted(p.name for p in site.parent.iterdir()) == ["site"]
    assert not [p for p in tmp.iterdir() if p.name.startswith("kbtool-site-")]
    assert (site / "articles" / "article-0" / "index.html").is_file()
