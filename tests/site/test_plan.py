"""What the site contains: public articles only, links and related articles through the gatekeeper."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kbfactory import write_article

from kbtool.content import load_kb
from kbtool.site import LeakError, plan_site
from kbtool.site.plan import _Public

TINY_PUBLIC = ["known-csv", "no-product", "sso-login-fails", "sso-setup", "tricky-title"]


def test_public_ref_refuses_non_public(tmp_path: Path, tiny_kb) -> None:
    kb = load_kb(tiny_kb(tmp_path / "kb"))
    pub = _Public(kb, [a for a in kb.articles if a.is_public and a.valid])
    assert pub.resolve(kb.get("old-setup")) is kb.get("sso-setup")  # retired -> public successor
    assert pub.resolve(kb.get("old-orphan")) is None  # successor is a draft
    for hidden in ("internal-notes", "draft-guide", "review-guide", "rb-restart", "old-setup"):
        assert pub.resolve(kb.get(hidden)) in (None, kb.get("sso-setup"))
        with pytest.raises(LeakError):
            pub.ref(kb.get(hidden))


def test_plan_is_public_only_and_nav_compact(tmp_path: Path, tiny_kb) -> None:
    kb = load_kb(tiny_kb(tmp_path / "kb"))
    plan = plan_site(kb, extra={"kbtool": {"products": {"sso": {"name": "Single sign-on", "icon": "material/shield-account"}}}})
    assert sorted(a.id for a in plan.articles) == TINY_PUBLIC
    assert sorted(p for p in plan.pages if p.startswith("articles/")) == [f"articles/{i}.md" for i in TINY_PUBLIC]
    assert plan.redirects == {"articles/old-setup.md": "articles/sso-setup.md", "articles/old-orphan.md": "index.md"}
    assert plan.skipped == [("broken-public", "has errors (run `kbtool lint`)")]
    nav = json.dumps(plan.nav)
    assert "articles/" not in nav and "Single sign-on" in nav and "products/general.md" in nav
    assert plan.assets == {"assets/kb/articles/img/flow.png": (tmp_path / "kb" / "articles" / "img" / "flow.png").resolve()}
    everything = json.dumps([plan.pages, plan.search_docs, plan.nav])
    for title in ("Internal SSO notes", "Draft guide title", "In review guide title", "Old setup page title",
                  "Orphaned retired title", "Broken public title", "Restart runbook title", "internal-only-tag"):
        assert title not in everything


def test_colliding_product_slugs(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write_article(kb_dir, "one", "## Steps\n\n1. x", product="Data")
    write_article(kb_dir, "two", "## Steps\n\n1. x", product="data")
    plan = plan_site(load_kb(kb_dir))
    assert {"products/data.md", "products/data-2.md"} <= set(plan.pages)


# --- the built site ------------------------------------------------------------------------


def test_only_public_articles_get_pages(tiny) -> None:
    result, site, files = tiny
    assert result.articles == 5
    built = {p.split("/")[1] for p in files if re.fullmatch(r"articles/[^/]+/index\.html", p)}
    assert built == {*TINY_PUBLIC, "old-setup", "old-orphan"}
    assert result.skipped == [("broken-public", "has errors (run `kbtool lint`)")]
    assert any("old-orphan" in w and "home page" in w for w in result.warnings)
    assert any("broken-public" in w for w in result.warnings)


def test_links_are_rewritten_or_reduced_to_text(tiny, png: bytes) -> None:
    _, site, files = tiny
    page = files["articles/sso-login-fails/index.html"]
    assert '<a href="../sso-setup/#steps">setup guide</a>' in page
    assert '<a href="../sso-setup/">old setup page</a>' in page  # retired target -> successor
    for text in ("internal notes", "draft guide", "restart runbook"):
        assert re.search(rf"[\s(]{text}[,.\s]", page) and f">{text}</a>" not in page
    assert "See the reference too." in page  # reference-style link to internal content: text only
    assert not re.search(r'href="[^"]*(internal-notes|rb-restart|draft-guide)', page)
    assert '<a href="https://example.com/docs">the vendor docs</a>' in page
    assert "<code>[not a link](internal-notes.md)</code>" in page
    assert 'src="../../assets/kb/articles/img/flow.png"' in page
    assert (site / "assets/kb/articles/img/flow.png").read_bytes() == png
    assert "and the raw notes." in page and not list(site.rglob("*.orig"))  # only media types are copied


def test_related_articles_are_public_only(tiny) -> None:
    _, _, files = tiny
    page = files["articles/sso-login-fails/index.html"]
    related = page[page.index('id="kb-related"'):]
    assert '<a href="../sso-setup/">Set up single sign-on</a>' in related
    assert related.count("<li>") == 1  # internal, draft, missing dropped; retired -> successor (deduplicated)


def test_navigation_stays_compact(tiny) -> None:
    _, _, files = tiny
    page = files["articles/sso-setup/index.html"]
    nav = page[page.index('md-nav--primary'):page.index('md-sidebar--secondary')]
    assert "articles/" not in nav
