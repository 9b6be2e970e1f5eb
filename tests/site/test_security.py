"""The help center never publishes non-public content (runs in CI on every push).

A KB holds internal articles, internal runbooks, drafts, in-review and retired
articles, each carrying a unique sentinel in its title, summary, body, aliases, error
codes and tags. Public articles link to all of them (inline, reference-style, in
`related`, by image), and one retired article is replaced by a draft; each has an old
URL (`legacy_urls`) holding its sentinel. The site is
built and *every* file of it is scanned (HTML, search/search_index.json,
sitemap.xml and the decompressed sitemap.xml.gz, 404 page, redirect pages, assets,
any feed), and every file name: no sentinel may appear, in any letter case.
"""

from __future__ import annotations

import json

import pytest
from kbfactory import write_article

from kbtool.content import load_kb
from kbtool.site import build_site

# name -> (folder, fields) for every kind of content that must stay off the site
HIDDEN = {
    "internal-article": ("articles", {"audience": "internal", "type": "troubleshooting"}),
    "internal-faq": ("articles", {"audience": "internal", "type": "faq"}),
    "internal-runbook": ("runbooks", {"audience": "internal", "type": "runbook"}),
    "public-runbook": ("runbooks", {"audience": "public", "type": "runbook"}),  # runbooks never, whatever audience
    "howto-in-runbooks": ("runbooks", {"audience": "public", "type": "howto"}),  # nothing under runbooks/
    "draft-article": ("articles", {"status": "draft"}),
    "in-review-article": ("articles", {"status": "in-review"}),
    "retired-article": ("articles", {"status": "retired", "replaced_by": "public-guide"}),
    "retired-to-draft": ("articles", {"status": "retired", "replaced_by": "draft-article"}),
    "retired-internal": ("articles", {"status": "retired", "audience": "internal", "replaced_by": "public-guide"}),
    "draft-known-issue": ("articles", {"status": "draft", "type": "known-issue"}),
}
PUBLIC_CANARY = "canary-public-7c1e"


def sentinel(name: str) -> str:
    return f"SENTINEL-{name.upper()}-9F3B"


def _body(name: str) -> str:
    s = sentinel(name)
    if HIDDEN[name][0] == "runbooks":
        return "\n\n".join(f"## {h}\n\n1. {s} step." for h in
                           ("When to use", "Prerequisites", "Steps", "Verification", "Escalation"))
    return (f"{s} appears in the intro.\n\n## Symptoms\n\nThe error `{s}-CODE` is shown.\n\n## Cause\n\n{s} cause.\n\n"
            f"## Resolution\n\n1. {s} fix.\n\n## Workaround\n\n{s}.\n\n## Status\n\n{s} status.\n\n## Steps\n\n1. {s}.")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, make_config, site_files) -> tuple[dict[str, str], object]:
    root = tmp_path_factory.mktemp("leak")
    kb = root / "kb"
    for name, (folder, fields) in HIDDEN.items():
        s = sentinel(name)
        write_article(kb, name, _body(name), folder=folder, title=f"{s} title", summary=f"{s} summary.",
                      aliases=[f"{s} alias"], error_codes=[f"{s}-CODE"], tags=[s.lower(), "shared-tag"],
                      product=f"{name}-product", legacy_urls=[f"https://old.example/hc/en-us/articles/1-{s}"],
                      **fields)
    hidden = list(HIDDEN)
    links = "\n".join(f"- See [this page]({n}.md) or [{n} ref][{n}]." if f == "articles" else
                      f"- See [this page](../runbooks/{n}.md) or [{n} ref][{n}]."
                      for n, (f, _) in HIDDEN.items())
    refs = "\n".join(f"[{n}]: {'../runbooks/' if f == 'runbooks' else ''}{n}.md" for n, (f, _) in HIDDEN.items())
    write_article(kb, "public-guide", f"{PUBLIC_CANARY} body.\n\n## Steps\n\n1. Go.\n\n## More\n\n{links}\n\n{refs}\n",
                  title=f"Public guide {PUBLIC_CANARY}", related=hidden, tags=["shared-tag"], product="sso",
                  legacy_urls=[f"/hc/en-us/articles/2-{PUBLIC_CANARY}"])
    write_article(kb, "public-known-issue", "Issue.\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Workaround\n\nz\n\n"
                  "## Status\n\nOpen.\n", type="known-issue", related=hidden, tags=["shared-tag"], product="sso")
    cfg = make_config(root, kb)
    result = build_site(load_kb(kb), cfg)
    return site_files(root / "site"), result


def test_no_sentinel_in_any_file_of_the_site(built) -> None:
    files, _ = built
    names = set(files)
    for required in ("index.html", "404.html", "search/search_index.json", "sitemap.xml", "sitemap.xml.gz",
                     "tags/index.html", "known-issues/index.html", "articles/public-guide/index.html"):
        assert required in names, f"expected {required} in the built site"
    leaks = [(path, name) for path, text in files.items() for name in HIDDEN if sentinel(name).lower() in text.lower()]
    assert not leaks, f"non-public content leaked into the site: {leaks[:10]}"
    # nor in any file or folder name (an old URL of hidden content would be a path)
    named = [path for path in names for name in HIDDEN if sentinel(name).lower() in path.lower()]
    assert not named, f"non-public content named a file of the site: {named[:10]}"
    assert f"hc/en-us/articles/2-{PUBLIC_CANARY}/index.html" in names  # the public article's old URL does redirect
    # the scan is not vacuous: public content is there, in pages, search index and sitemap
    assert PUBLIC_CANARY in files["articles/public-guide/index.html"]
    assert PUBLIC_CANARY in files["search/search_index.json"]
    assert "articles/public-guide/" in files["sitemap.xml"]


def test_non_public_articles_have_no_pages(built) -> None:
    files, result = built
    assert result.articles == 2
    for name in HIDDEN:
        page = files.get(f"articles/{name}/index.html")
        if name in ("retired-article", "retired-to-draft"):  # public once: the URL redirects, nothing else
            assert page is not None and "Redirecting..." in page and len(page) < 600
        else:
            assert page is None, f"{name} has a page"
        assert f"{name}-product" not in json.dumps(files), "a hidden article's product became a category"


def test_links_to_hidden_content_keep_only_their_text(built) -> None:
    files, _ = built
    page = files["articles/public-guide/index.html"]
    for name in HIDDEN:
        assert f'href="../{name}/' not in page or name == "retired-article"
        assert f"{name} ref" in page  # the author's link text survives, as text
    # every related id is hidden (the retired one's successor is this page itself): no section at all
    assert 'id="kb-related"' not in page
    issue = files["articles/public-known-issue/index.html"]
    related = issue[issue.index('id="kb-related"'):]
    assert related.count("<li>") == 1 and 'href="../public-guide/"' in related  # retired -> its public successor


def test_search_index_lists_public_pages_only(built) -> None:
    files, _ = built
    index = json.loads(files["search/search_index.json"])
    pages = {d["location"].split("#")[0] for d in index["docs"]}
    assert pages == {"articles/public-guide/", "articles/public-known-issue/", "products/sso/", "known-issues/"}
