"""Redirects: a retired article's URL goes to its successor; `legacy_urls` of public articles only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kbfactory import write_article

from kbtool.content import load_kb
from kbtool.site import SiteBuildError, build_site, plan_site

OLD = "https://support.example.com/hc/en-us/articles/360001-Reset-your-password"


def test_retired_article_url_redirects_without_its_content(tiny) -> None:
    _, _, files = tiny
    old = files["articles/old-setup/index.html"]
    assert 'content="0; url=../sso-setup/"' in old and "Old setup page title" not in old and "Old." not in old
    assert "url=../../" in files["articles/old-orphan/index.html"]
    assert "articles/old-setup/" not in files["sitemap.xml"]


# --- legacy URLs (an old help center's addresses) ----------------------------------------------


def _legacy_kb(kb: Path) -> Path:
    write_article(kb, "reset-password", "## Steps\n\n1. Reset it.", title="Reset your password", legacy_urls=[
        OLD, "/kb/reset.html", "https://support.example.com/hc/fr/articles/360001-R%C3%A9initialiser/",
        "/articles/reset-password/",        # the article's own new address: the page stays the article
        "/404.html",                         # a file the theme writes: never replaced
        "/sitemap.xml/old",                  # a path through a file of the site: cannot be written
    ])
    write_article(kb, "z-second", "## Steps\n\n1. Go.", legacy_urls=[OLD + "/", "/kb/second"])  # first claim (by id) wins
    hidden = {"draft": {"status": "draft"}, "internal": {"audience": "internal"}, "review": {"status": "in-review"},
              "retired": {"status": "retired", "replaced_by": "reset-password"}}
    for name, fields in hidden.items():
        write_article(kb, f"hidden-{name}", "## Steps\n\n1. Hidden.", legacy_urls=[f"/hc/en-us/articles/9-Secret-{name}"],
                      **fields)
    write_article(kb, "hidden-runbook", folder="runbooks", type="runbook", audience="internal",
                  legacy_urls=["/hc/en-us/articles/9-Secret-runbook"])
    return kb


@pytest.fixture(scope="module")
def legacy(built_site):
    return built_site("legacy", _legacy_kb)


def _target_of(site: Path, page: str, html: str) -> Path:
    """Where a redirect page sends the browser: its meta refresh URL, resolved like a browser does."""
    m = re.search(r'content="0; url=([^"]+)"', html)
    assert m is not None, f"{page} is not a redirect page"
    return (site / page).parent.joinpath(m.group(1), "index.html").resolve()


def test_legacy_urls_become_redirect_pages(legacy) -> None:
    result, site, files = legacy
    assert result.legacy_redirects == {
        "hc/en-us/articles/360001-Reset-your-password/index.html": "articles/reset-password.md",
        "kb/reset.html": "articles/reset-password.md",
        "hc/fr/articles/360001-Réinitialiser/index.html": "articles/reset-password.md",
        "kb/second/index.html": "articles/z-second.md",
    }
    article = (site / "articles" / "reset-password" / "index.html").resolve()
    for page in ("hc/en-us/articles/360001-Reset-your-password/index.html", "kb/reset.html",
                 "hc/fr/articles/360001-Réinitialiser/index.html"):
        html = files[page]
        assert "Redirecting..." in html and "Reset your password" not in html and len(html) < 600
        assert _target_of(site, page, html) == article  # the relative URL lands on the article
    assert _target_of(site, "kb/second/index.html", files["kb/second/index.html"]) == \
        (site / "articles" / "z-second" / "index.html").resolve()
    # the site's own files are never replaced by a redirect
    assert "Reset it." in files["articles/reset-password/index.html"]
    assert "Redirecting" not in files["404.html"] and files["sitemap.xml"].startswith("<?xml")
    assert "hc/en-us/articles/360001-Reset-your-password/" not in files["sitemap.xml"]
    warned = "\n".join(result.warnings)
    assert f"legacy URL '{OLD}/' is also claimed by 'reset-password'" in warned
    assert "legacy URL '/articles/reset-password/' is the address of the site's own page articles/reset-password/index.html" in warned
    assert "legacy URL page 404.html (for articles/reset-password.md) would replace a file of the site" in warned
    assert "legacy URL page sitemap.xml/old/index.html (for articles/reset-password.md) cannot be written" in warned


def test_legacy_urls_of_non_public_content_get_no_page(legacy) -> None:
    result, site, files = legacy
    assert not any("Secret" in path or "secret" in path for path in files), [p for p in files if "ecret" in p]
    assert not (site / "hc" / "en-us" / "articles").joinpath("9-Secret-draft").exists()
    assert all(doc in ("articles/reset-password.md", "articles/z-second.md") for doc in result.legacy_redirects.values())
    # the retired article's own URL still redirects to its successor, as before
    assert "url=../reset-password/" in files["articles/hidden-retired/index.html"]


def test_legacy_conflict_fails_a_strict_build_and_keeps_the_old_site(legacy, tmp_path: Path, make_config) -> None:
    _, site, _ = legacy
    root = site.parent
    cfg = make_config(root, root / "kb", site_dir=tmp_path / "strict-site")
    with pytest.raises(SiteBuildError) as e:
        build_site(load_kb(root / "kb"), cfg, strict=True)
    assert "strict mode" in str(e.value) and any("legacy URL" in w for w in e.value.warnings)
    assert not (tmp_path / "strict-site").exists()


def test_legacy_plan_under_a_site_path_and_gatekeeper(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write_article(kb_dir, "moved", "## Steps\n\n1. x", legacy_urls=["https://example.com/help/old/moved", "/other/moved",
                                                                       "https://example.com/help/"])
    kb = load_kb(kb_dir)
    assert kb.diagnostics == []
    plan = plan_site(kb, site_url="https://example.com/help/")
    assert plan.legacy_redirects == {"old/moved/index.html": "articles/moved.md"}
    msgs = [m for level, m in plan.messages]
    assert any("'/other/moved' is outside the site's path /help/" in m for m in msgs)
    assert any("'https://example.com/help/' is the site's home page" in m for m in msgs)
    assert plan_site(kb, directory_urls=False).legacy_redirects == {  # served at the host's root: every path
        "help/old/moved/index.html": "articles/moved.md", "other/moved/index.html": "articles/moved.md",
        "help/index.html": "articles/moved.md"}
    # the gatekeeper: a non-public article's old URLs are never planned, whatever the caller passes
    write_article(kb_dir, "moved", "## Steps\n\n1. x", status="draft", legacy_urls=["/old/moved"])
    plan = plan_site(load_kb(kb_dir))
    assert plan.legacy_redirects == {}
    assert any("not on the site" in m for _, m in plan.messages)
