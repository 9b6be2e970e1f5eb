"""Issue 15's help-center polish: "Was this helpful?" (only with `feedback_url`), sitemap
`lastmod` from `last_reviewed`, robots.txt, OpenGraph tags, a useful 404 page and the
known-issues status badge. The browser test votes on a real page served on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from kbfactory import SITE_URL, write_article

from kbtool.content import load_kb
from kbtool.site import build_site


def _write_kb(kb: Path) -> Path:
    write_article(kb, "reset-password", "## Steps\n\n1. Open the sign-in page.", title="Reset your password",
                  summary="Get back into your account.", last_reviewed="2026-03-04", product="auth")
    write_article(kb, "csv-dates", "Dates shift.\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Workaround\n\nz\n\n"
                  "## Status\n\nFixed in release 5.2.\n", type="known-issue", title="CSV dates shift",
                  last_reviewed="2026-05-06", product="data")
    return kb


def _build(root: Path, make_config, site_files, **settings: Any) -> dict[str, str]:
    kb = _write_kb(root / "kb")
    cfg = make_config(root, kb)
    for key, value in settings.items():
        setattr(cfg, key, value)
    build_site(load_kb(kb), cfg)
    return site_files(root / "site")


@pytest.fixture(scope="module")
def plain(tmp_path_factory, make_config, site_files) -> dict[str, str]:
    return _build(tmp_path_factory.mktemp("plain"), make_config, site_files)


@pytest.fixture(scope="module")
def with_feedback(tmp_path_factory, make_config, site_files) -> dict[str, str]:
    return _build(tmp_path_factory.mktemp("feedback"), make_config, site_files, feedback_url="/v1/feedback")


def test_nothing_configured_means_no_widget_and_no_script(plain) -> None:
    assert not any('class="kb-feedback"' in text for name, text in plain.items() if name.endswith(".html"))
    assert not any(name.endswith("kbtool-feedback.js") for name in plain)
    assert "/v1/" not in "".join(plain.values())


def test_feedback_widget_on_every_article_when_configured(with_feedback) -> None:
    for aid in ("reset-password", "csv-dates"):
        page = with_feedback[f"articles/{aid}/index.html"]
        assert f'data-kb-feedback="/v1/feedback" data-article="{aid}"' in page
        assert 'data-outcome="helpful"' in page and 'data-outcome="not_helpful"' in page
        assert "assets/kbtool/kbtool-feedback.js" in page
    assert "kb-feedback" not in with_feedback["index.html"]
    assert '"source": "help-center"' in with_feedback["assets/kbtool/kbtool-feedback.js"].replace("source:", '"source":')


def test_sitemap_lastmod_comes_from_last_reviewed(plain) -> None:
    sitemap = plain["sitemap.xml"]
    m = re.search(r"<loc>[^<]*articles/reset-password/</loc>\s*<lastmod>([^<]+)</lastmod>", sitemap)
    assert m and m.group(1) == "2026-03-04"
    assert plain["sitemap.xml.gz"] == sitemap


def test_robots_txt_and_open_graph(plain) -> None:
    assert plain["robots.txt"] == f"User-agent: *\nAllow: /\nSitemap: {SITE_URL}sitemap.xml\n"
    page = plain["articles/reset-password/index.html"]
    head = page[: page.index("</head>")]
    assert '<meta property="og:type" content="article">' in head
    assert '<meta property="og:title" content="Reset your password">' in head
    assert '<meta property="og:description" content="Get back into your account.">' in head
    assert f'<meta property="og:url" content="{SITE_URL}articles/reset-password/">' in head
    assert '<meta property="og:type" content="website">' in plain["index.html"]


def test_404_page_has_search_and_top_articles(plain) -> None:
    page = plain["404.html"]
    assert "404 - Not found" not in page
    assert 'for="__search"' in page
    assert page.index('href="/articles/csv-dates/"') < page.index('href="/articles/reset-password/"')


def test_known_issue_status_badge(plain) -> None:
    assert '<span class="kb-badge kb-badge--fixed">Fixed</span>' in plain["known-issues/index.html"]


# --- in the browser ---------------------------------------------------------------------------


class _SiteAndFeedback(http.server.SimpleHTTPRequestHandler):
    votes: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/feedback":
            self.votes.append(json.loads(body))
            self.send_response(202)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.mark.slow
@pytest.mark.browser
def test_vote_not_helpful_in_the_browser(tmp_path: Path, make_config, site_files) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        pytest.skip("chromium is not installed")
    _build(tmp_path, make_config, site_files, feedback_url="/v1/feedback")
    handler = type("H", (_SiteAndFeedback,), {"votes": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             lambda *a: handler(*a, directory=str(tmp_path / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                        "--disable-background-networking"])
            page = browser.new_page()
            elsewhere: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(origin) else elsewhere.append(r.url))
            page.goto(f"{origin}/articles/reset-password/")
            page.get_by_role("button", name="No").click()
            page.wait_for_function("document.querySelector('.kb-feedback__thanks').textContent.length > 0")
            assert "Thanks" in page.inner_text(".kb-feedback__thanks")
            browser.close()
    finally:
        server.shutdown()
    assert handler.votes == [{"article_id": "reset-password", "outcome": "not_helpful", "source": "help-center"}]
    assert not [u for u in elsewhere if not u.startswith("data:")]


def test_articles_in_this_section_in_the_left_column(tmp_path: Path, make_config, site_files) -> None:
    kb = _write_kb(tmp_path / "kb")
    write_article(kb, "two-factor", "## Steps\n\n1. Scan the code.", title="Set up two-factor", product="auth")
    write_article(kb, "secret-auth", "## Steps\n\n1. x", title="Internal auth notes", product="auth",
                  audience="internal")
    build_site(load_kb(kb), make_config(tmp_path, kb))
    page = site_files(tmp_path / "site")["articles/reset-password/index.html"]
    sidebar = page[page.index("md-sidebar--primary"):]
    nav = sidebar[sidebar.index('<nav class="md-nav kb-section"'): sidebar.index("</nav>")]
    assert 'aria-label="Articles in this section"' in nav
    assert '<a class="md-nav__link" href="../reset-password/" aria-current="page">Reset your password</a>' in nav
    assert 'href="../two-factor/"' in nav and "Internal auth notes" not in page and "CSV dates" not in nav
