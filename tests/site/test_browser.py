"""End to end in headless Chromium: search an error code, open the article, follow a related link.

Needs Debian's `chromium` (/usr/bin/chromium, or $KBTOOL_CHROMIUM) and Playwright's
Python package (it drives the system browser via `executable_path`; no browser
download). Without them the test is skipped, except under CI=true, where it fails.
The site is served from 127.0.0.1 and the page may not request anything else: the
help center works offline.

Screenshots go to the test's tmp dir; set KBTOOL_SCREENSHOTS=DIR to also save the
home and article screenshots used in the README (docs/img).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kbfactory import REPO

from kbtool.config import load_config
from kbtool.content import load_kb
from kbtool.site import build_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true, so the browser test must run (.ci/run installs chromium)")
    pytest.skip(reason)


def _chromium() -> str:
    """$KBTOOL_CHROMIUM if set (and nothing else), else Debian's /usr/bin/chromium or chromium on PATH."""
    explicit = os.environ.get("KBTOOL_CHROMIUM")
    candidates = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    _unavailable(f"chromium is not installed ({explicit or '/usr/bin/chromium'} missing; apt-get install chromium)")
    raise AssertionError("unreachable")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        _unavailable("playwright (python package) is not installed")
    _chromium()
    cfg = load_config(cwd=REPO)
    kb = load_kb(cfg.kb)
    site = tmp_path_factory.mktemp("browser") / "site"
    build_site(kb, cfg, site_dir=site, strict=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", kb
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(served: tuple[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(served: tuple[str, Any], browser: Any) -> Iterator[Any]:
    base, _ = served
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url)
          if not r.url.startswith((base, "data:", "blob:", "about:")) else None)
    pg.outside_requests = outside  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


def _h1(page: Any, selector: str = "h1#kb-title") -> str:
    return page.locator(selector).first.inner_text().rstrip("¶").strip()  # ignore a permalink, if configured


def _pick_article(kb: Any) -> tuple[Any, str, Any]:
    """A public article with a distinctive error code and a public related article."""
    public = {a.id: a for a in kb.articles if a.is_public and a.valid}
    code_owners: dict[str, int] = {}
    for a in public.values():
        for c in a.error_codes:
            code_owners[c.lower()] = code_owners.get(c.lower(), 0) + 1
    candidates = []
    for a in public.values():
        related = [public[r] for r in a.related if r in public and r != a.id]
        codes = [c for c in a.error_codes if " " not in c and code_owners[c.lower()] == 1]
        if related and codes:
            candidates.append((a.id != "saml-403-user-not-assigned", a.id, a, codes[0], related[0]))
    assert candidates, "the sample KB needs an article with an error code and a public related article"
    _, _, article, code, related = min(candidates, key=lambda c: c[:2])
    return article, code, related


def test_search_error_code_open_article_follow_related(served, page, tmp_path: Path) -> None:
    base, kb = served
    article, code, related = _pick_article(kb)

    page.goto(base)
    page.wait_for_load_state("networkidle")
    assert _h1(page, "h1") == "How can we help?"
    page.screenshot(path=str(tmp_path / "home.png"))

    page.click(".kb-hero__search")  # the big button on the home page opens search
    page.keyboard.type(code)
    first = page.locator(".md-search-result__item").first
    first.wait_for()
    page.wait_for_function(
        "t => document.querySelector('.md-search-result__item h1')?.innerText.trim() === t", arg=article.title)
    assert first.locator("h1").inner_text().strip() == article.title
    page.screenshot(path=str(tmp_path / "search.png"))

    first.locator("a").first.click()
    page.wait_for_url(f"{base}articles/{article.id}/**")
    assert _h1(page) == article.title
    assert code in page.locator(".kb-codes").inner_text()
    page.screenshot(path=str(tmp_path / "article.png"), full_page=True)

    link = page.locator(".kb-related a", has_text=related.title).first
    link.scroll_into_view_if_needed()
    link.click()
    page.wait_for_url(f"{base}articles/{related.id}/")
    assert _h1(page) == related.title
    page.screenshot(path=str(tmp_path / "related.png"))

    assert page.outside_requests == [], f"the site requested third-party URLs: {page.outside_requests[:5]}"
    for name in ("home.png", "search.png", "article.png", "related.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_retired_url_redirects_in_browser(served, page) -> None:
    base, kb = served
    retired = [a for a in kb.articles if a.status == "retired" and a.audience == "public" and kb.successor(a)]
    if not retired:
        pytest.skip("the sample KB has no retired public article")
    old = retired[0]
    page.goto(f"{base}articles/{old.id}/")
    page.wait_for_url(f"{base}articles/{kb.successor(old).id}/")
    assert _h1(page) == kb.successor(old).title


def test_readme_screenshots(served, page, tmp_path: Path) -> None:
    """Home and article screenshots; copied to $KBTOOL_SCREENSHOTS (e.g. docs/img) when set."""
    base, kb = served
    article, _, _ = _pick_article(kb)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "home.png"))
    page.goto(f"{base}articles/{article.id}/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "article.png"))
    dest = os.environ.get("KBTOOL_SCREENSHOTS")
    if dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
        for name in ("home.png", "article.png"):
            shutil.copyfile(tmp_path / name, Path(dest) / name)
