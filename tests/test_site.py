"""The help center build: pages, links, redirects, search entries, atomic swap, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from kbtool.cli import main
from kbtool.content import load_kb
from kbtool.site import (
    SEARCH_KEYWORDS_FIELD, SEARCH_SECTION_CHARS, LeakError, SiteBuildError, _Public, _check_target, _md, _swap_in,
    build_site, normalise_list_indent, plan_site,
)
from test_site_kbgen import PNG, make_config, site_files, write_article

RUNBOOK_BODY = ("## When to use\n\nx\n\n## Prerequisites\n\nx\n\n## Steps\n\n1. x\n\n"
                "## Verification\n\nx\n\n## Escalation\n\nx")


def _built(tmp_path_factory: pytest.TempPathFactory, name: str, make_kb: Callable[[Path], Path]):
    """A KB made by `make_kb`, built into a site once per module: (result, site dir, files)."""
    root = tmp_path_factory.mktemp(name)
    kb = make_kb(root / "kb")
    cfg = make_config(root, kb)
    result = build_site(load_kb(kb, cfg), cfg)
    return result, root / "site", site_files(root / "site")


# --- a small KB exercising every rule ------------------------------------------------------

MAIN_BODY = """\
Sign-in stops with an error. Follow the [setup guide](sso-setup.md#steps) first, read the
[internal notes](internal-notes.md), the [draft guide](draft-guide.md), the
[old setup page](old-setup.md), the [restart runbook](../runbooks/rb-restart.md),
or [the vendor docs](https://example.com/docs). In code, `[not a link](internal-notes.md)` stays.
See [the reference][ref] too.

![Sign-in flow](img/flow.png) and [the raw notes](internal-notes.md.orig).

[ref]: internal-notes.md

## Symptoms

The page shows `SAML-403: user not_assigned` or `ERR_TOO_MANY_REDIRECTS`.

## Cause

The identity provider does not send the user. This paragraph is long enough to be clipped in the
search index because it keeps going with more words about assertions, groups, attributes, domains,
certificates and everything else a long section would contain in a real knowledge base article.

## Resolution

1. Open **Admin console > Security > SSO**.
2. Assign the app in your IdP:
   - **Okta:** Applications > Orbit > Assignments.
   - **Entra ID:** Enterprise applications > Orbit.
3. Test the connection:

   ```bash
   curl -sI https://app.orbit.example/login
   ```

4. Sign in again.
"""


def _tiny_kb(kb: Path) -> Path:
    write_article(kb, "sso-login-fails", MAIN_BODY, type="troubleshooting", product="sso",
                  title="SSO sign-in fails with SAML-403", error_codes=["SAML-403", "ERR_TOO_MANY_REDIRECTS"],
                  aliases=["sso access denied"], tags=["sso", "login"],
                  related=["sso-setup", "internal-notes", "draft-guide", "old-setup", "no-such-id"])
    write_article(kb, "sso-setup", "Set it up.\n\n## Steps\n\n1. Open the console.\n2. Save.", product="sso",
                  title="Set up single sign-on", tags=["sso"], related=["sso-login-fails"])
    write_article(kb, "known-csv", "Dates shift.\n\n## Symptoms\n\nWrong dates.\n\n## Cause\n\nUTC.\n\n"
                  "## Workaround\n\nUse the API.\n\n## Status\n\nFixed in release 5.2. Update the app.\n",
                  type="known-issue", product="data", title="Known issue: CSV dates shift", tags=["csv"])
    write_article(kb, "no-product", "## Answer\n\nYes.", type="faq", title="Is it free?")
    write_article(kb, "tricky-title", "## Steps\n\n1. Do it.", product="sso",
                  title="Use *wildcards* & <tags> in [filters] {x}", summary='"Quoted" & <b>bold</b> summary')
    write_article(kb, "internal-notes", "## Notes\n\nInternal.", audience="internal", title="Internal SSO notes",
                  tags=["internal-only-tag"])
    write_article(kb, "draft-guide", "## Steps\n\n1. Later.", status="draft", title="Draft guide title")
    write_article(kb, "review-guide", "## Steps\n\n1. Soon.", status="in-review", title="In review guide title")
    write_article(kb, "old-setup", "## Steps\n\n1. Old.", status="retired", replaced_by="sso-setup",
                  title="Old setup page title")
    write_article(kb, "old-orphan", "## Steps\n\n1. Old.", status="retired", replaced_by="draft-guide",
                  title="Orphaned retired title")
    write_article(kb, "broken-public", "## Steps\n\n1. Broken.", summary=None, title="Broken public title")
    write_article(kb, "rb-restart", RUNBOOK_BODY, folder="runbooks", type="runbook",
                  audience="internal", title="Restart runbook title")
    (kb / "articles" / "img").mkdir()
    (kb / "articles" / "img" / "flow.png").write_bytes(PNG)
    (kb / "articles" / "internal-notes.md.orig").write_text("Internal SSO notes, raw copy", encoding="utf-8")
    return kb


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    return _built(tmp_path_factory, "tiny", _tiny_kb)


def _page(files: dict[str, str], article_id: str) -> str:
    return files[f"articles/{article_id}/index.html"]


# --- pure helpers --------------------------------------------------------------------------


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


def test_public_ref_refuses_non_public(tmp_path: Path) -> None:
    kb = load_kb(_tiny_kb(tmp_path / "kb"))
    pub = _Public(kb, [a for a in kb.articles if a.is_public and a.valid])
    assert pub.resolve(kb.get("old-setup")) is kb.get("sso-setup")  # retired -> public successor
    assert pub.resolve(kb.get("old-orphan")) is None  # successor is a draft
    for hidden in ("internal-notes", "draft-guide", "review-guide", "rb-restart", "old-setup"):
        assert pub.resolve(kb.get(hidden)) in (None, kb.get("sso-setup"))
        with pytest.raises(LeakError):
            pub.ref(kb.get(hidden))


def test_plan_is_public_only_and_nav_compact(tmp_path: Path) -> None:
    kb = load_kb(_tiny_kb(tmp_path / "kb"))
    plan = plan_site(kb, extra={"kbtool": {"products": {"sso": {"name": "Single sign-on", "icon": "material/shield-account"}}}})
    assert sorted(a.id for a in plan.articles) == ["known-csv", "no-product", "sso-login-fails", "sso-setup", "tricky-title"]
    assert sorted(p for p in plan.pages if p.startswith("articles/")) == [
        f"articles/{i}.md" for i in ["known-csv", "no-product", "sso-login-fails", "sso-setup", "tricky-title"]]
    assert plan.redirects == {"articles/old-setup.md": "articles/sso-setup.md", "articles/old-orphan.md": "index.md"}
    assert plan.skipped == [("broken-public", "has errors (run `kbtool lint`)")]
    nav = json.dumps(plan.nav)
    assert "articles/" not in nav and "Single sign-on" in nav and "products/general.md" in nav
    assert plan.assets == {"assets/kb/articles/img/flow.png": (tmp_path / "kb" / "articles" / "img" / "flow.png").resolve()}
    everything = json.dumps([plan.pages, plan.search_docs, plan.nav])
    for title in ("Internal SSO notes", "Draft guide title", "In review guide title", "Old setup page title",
                  "Orphaned retired title", "Broken public title", "Restart runbook title", "internal-only-tag"):
        assert title not in everything


# --- the built site ------------------------------------------------------------------------


def test_only_public_articles_get_pages(tiny) -> None:
    result, site, files = tiny
    assert result.articles == 5
    built = {p.split("/")[1] for p in files if re.fullmatch(r"articles/[^/]+/index\.html", p)}
    assert built == {"known-csv", "no-product", "sso-login-fails", "sso-setup", "tricky-title", "old-setup", "old-orphan"}
    assert result.skipped == [("broken-public", "has errors (run `kbtool lint`)")]
    assert any("old-orphan" in w and "home page" in w for w in result.warnings)
    assert any("broken-public" in w for w in result.warnings)


def test_retired_article_url_redirects_without_its_content(tiny) -> None:
    _, _, files = tiny
    old = _page(files, "old-setup")
    assert 'content="0; url=../sso-setup/"' in old and "Old setup page title" not in old and "Old." not in old
    assert "url=../../" in _page(files, "old-orphan")
    assert "articles/old-setup/" not in files["sitemap.xml"]


def test_article_page_shows_metadata(tiny) -> None:
    _, _, files = tiny
    page = _page(files, "sso-login-fails")
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


def test_links_are_rewritten_or_reduced_to_text(tiny) -> None:
    _, site, files = tiny
    page = _page(files, "sso-login-fails")
    assert '<a href="../sso-setup/#steps">setup guide</a>' in page
    assert '<a href="../sso-setup/">old setup page</a>' in page  # retired target -> successor
    for text in ("internal notes", "draft guide", "restart runbook"):
        assert re.search(rf"[\s(]{text}[,.\s]", page) and f">{text}</a>" not in page
    assert "See the reference too." in page  # reference-style link to internal content: text only
    assert not re.search(r'href="[^"]*(internal-notes|rb-restart|draft-guide)', page)
    assert '<a href="https://example.com/docs">the vendor docs</a>' in page
    assert "<code>[not a link](internal-notes.md)</code>" in page
    assert 'src="../../assets/kb/articles/img/flow.png"' in page
    assert (site / "assets/kb/articles/img/flow.png").read_bytes() == PNG
    assert "and the raw notes." in page and not list(site.rglob("*.orig"))  # only media types are copied


def test_related_articles_are_public_only(tiny) -> None:
    _, _, files = tiny
    page = _page(files, "sso-login-fails")
    related = page[page.index('id="kb-related"'):]
    assert '<a href="../sso-setup/">Set up single sign-on</a>' in related
    assert related.count("<li>") == 1  # internal, draft, missing dropped; retired -> successor (deduplicated)


def test_markup_in_titles_is_shown_literally(tiny) -> None:
    _, _, files = tiny
    page = _page(files, "tricky-title")
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


def test_navigation_stays_compact(tiny) -> None:
    _, _, files = tiny
    page = _page(files, "sso-setup")
    nav = page[page.index('md-nav--primary'):page.index('md-sidebar--secondary')]
    assert "articles/" not in nav


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
    for path, text in files.items():
        if path.endswith(".html"):
            assert not external.search(text), path
            assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, path


# --- atomic build, failures and safety -------------------------------------------------------


def test_failed_build_keeps_previous_site(tmp_path: Path) -> None:
    kb = _tiny_kb(tmp_path / "kb")
    cfg = make_config(tmp_path, kb)
    runner = CliRunner()
    ok = runner.invoke(main, ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "out"), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["articles"] == 5 and data["search_index_bytes"] > 0 and data["redirects"]
    before = {p: (tmp_path / "out" / p).read_bytes() for p in ("index.html", "search/search_index.json")}

    bad = runner.invoke(main, ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "out"), "--strict"])
    assert bad.exit_code == 1
    assert "error: MkDocs build failed: Aborted with" in bad.stderr and "in strict mode" in bad.stderr
    assert "old-orphan" in bad.stderr  # the warning that failed it is shown
    assert {p: (tmp_path / "out" / p).read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "out"]  # no staging folders left

    broken_yml = tmp_path / "mkdocs.yml"
    broken_yml.write_text("site_name: x\ntheme:\n  name: no-such-theme\n", encoding="utf-8")
    cfg.mkdocs_yml = broken_yml
    cfg.site_dir = tmp_path / "out"
    with pytest.raises(SiteBuildError, match="no-such-theme"):
        build_site(load_kb(kb), cfg)
    assert {p: (tmp_path / "out" / p).read_bytes() for p in before} == before


def test_build_without_mkdocs_yml_uses_default_look(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "only-one", "## Steps\n\n1. Go.", title="The only article")
    cfg = make_config(tmp_path, kb, mkdocs_yml=None)
    result = build_site(load_kb(kb), cfg, strict=True)
    assert result.articles == 1 and result.warnings == []
    page = (tmp_path / "site" / "articles" / "only-one" / "index.html").read_text(encoding="utf-8")
    assert "The only article" in page and "fonts.googleapis" not in page


def test_swap_replaces_the_directory(tmp_path: Path) -> None:
    old, new = tmp_path / "site", tmp_path / ".site.new"
    old.mkdir()
    (old / "index.html").write_text("old")
    new.mkdir()
    (new / "index.html").write_text("new")
    _swap_in(new, old)
    assert (old / "index.html").read_text() == "new" and not new.exists()
    newer = tmp_path / ".site.newer"
    newer.mkdir()
    _swap_in(newer, tmp_path / "fresh")
    assert (tmp_path / "fresh").is_dir()


def test_refuses_dangerous_site_dirs(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write_article(kb_dir, "a", "## Steps\n\n1. x")
    kb = load_kb(kb_dir)
    cfg = make_config(tmp_path, kb_dir)
    for target in (tmp_path, kb_dir, Path("/")):
        with pytest.raises(SiteBuildError, match="refusing"):
            _check_target(target.resolve(), cfg, kb)
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.txt").write_text("do not delete")
    with pytest.raises(SiteBuildError, match="does not look like a built site"):
        build_site(kb, cfg, site_dir=other)
    assert (other / "thesis.txt").read_text() == "do not delete"


# --- legacy URLs (an old help center's addresses) ----------------------------------------------

OLD = "https://support.example.com/hc/en-us/articles/360001-Reset-your-password"


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
    write_article(kb, "hidden-runbook", RUNBOOK_BODY, folder="runbooks", type="runbook", audience="internal",
                  legacy_urls=["/hc/en-us/articles/9-Secret-runbook"])
    return kb


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory):
    return _built(tmp_path_factory, "legacy", _legacy_kb)


def _target_of(site: Path, page: str, html: str) -> Path:
    """Where a redirect page sends the browser: its meta refresh URL, resolved like a browser does."""
    url = re.search(r'content="0; url=([^"]+)"', html).group(1)
    return (site / page).parent.joinpath(url, "index.html").resolve()


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


def test_legacy_conflict_fails_a_strict_build_and_keeps_the_old_site(legacy, tmp_path: Path) -> None:
    _, site, _ = legacy
    root = site.parent
    cfg = make_config(root, root / "kb", site_dir=tmp_path / "strict-site")
    with pytest.raises(SiteBuildError) as e:
        build_site(load_kb(root / "kb", cfg), cfg, strict=True)
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


def test_cli_text_output(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "only-one", "## Steps\n\n1. Go.")
    r = CliRunner().invoke(main, ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "public")])
    assert r.exit_code == 0, r.output
    assert re.match(r"built 1 articles \(\d+ pages, 0 redirects\) into .*public/ in [\d.]+s\n"
                    r"site [\d.]+ [KM]B in \d+ files; search index \d+ KB", r.stdout)


def test_cli_preview_help() -> None:
    r = CliRunner().invoke(main, ["preview", "--help"])
    assert r.exit_code == 0 and "live reload" in r.output


def test_empty_kb_and_colliding_product_slugs(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "articles").mkdir(parents=True)
    cfg = make_config(tmp_path, kb_dir)
    result = build_site(load_kb(kb_dir), cfg, strict=True)
    assert result.articles == 0 and result.warnings == []
    assert "No articles are published yet." in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    write_article(kb_dir, "one", "## Steps\n\n1. x", product="Data")
    write_article(kb_dir, "two", "## Steps\n\n1. x", product="data")
    plan = plan_site(load_kb(kb_dir))
    assert {"products/data.md", "products/data-2.md"} <= set(plan.pages)


@pytest.mark.slow
def test_preview_serves_and_rebuilds_on_edit(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    kb = tmp_path / "kb"
    article = write_article(kb, "live-one", "## Steps\n\n1. Go.", title="Before the edit")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kbtool.cli", "preview", "--kb", str(kb), "-a", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def fetch_title(deadline: float) -> str:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/articles/live-one/", timeout=2) as r:
                    m = re.search(r'<h1 id="kb-title">([^<]*)', r.read().decode())
                    if m:
                        return m.group(1)
            except OSError:
                pass
            time.sleep(0.3)
        return ""

    try:
        assert fetch_title(time.monotonic() + 60) == "Before the edit"
        article.write_text(article.read_text().replace("Before the edit", "After the edit"))
        deadline = time.monotonic() + 60
        while fetch_title(deadline) != "After the edit" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert fetch_title(time.monotonic() + 5) == "After the edit"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Shutting down" in out
    assert not re.search(r"Traceback", out), out
