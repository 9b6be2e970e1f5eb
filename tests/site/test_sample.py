"""The sample KB builds into a help center with --strict and no warnings, leaking nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kbfactory import REPO

from kbtool.config import load_config
from kbtool.content import load_kb
from kbtool.site import build_site


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, site_files):
    cfg = load_config(cwd=REPO)
    kb = load_kb(cfg.kb)
    site = tmp_path_factory.mktemp("sample") / "site"
    result = build_site(kb, cfg, site_dir=site, strict=True)
    return kb, result, site_files(site)


def test_sample_builds_strict_without_warnings(sample) -> None:
    kb, result, _ = sample
    assert result.warnings == []
    assert result.skipped == []
    assert result.articles == sum(1 for a in kb.articles if a.is_public and a.valid) > 0


def test_sample_non_public_titles_never_appear(sample) -> None:
    kb, _, files = sample
    hidden = [a for a in kb.articles if not a.is_public]
    assert hidden, "the sample KB should contain drafts, internal or retired articles"
    for a in hidden:
        for path, text in files.items():
            assert a.title not in text and a.title.replace("&", "&amp;") not in text, f"{a.id} title in {path}"


def test_sample_retired_urls_redirect(sample) -> None:
    kb, result, files = sample
    retired = [a for a in kb.articles if a.status == "retired" and a.audience == "public"]
    assert retired, "the sample KB should contain retired public articles, so their redirects are checked"
    checked = 0
    for a in retired:
        succ = kb.successor(a)
        assert succ is not None and succ.is_public
        assert result.redirects[f"articles/{a.id}.md"] == f"articles/{succ.id}.md"
        assert f'url=../{succ.id}/"' in files[f"articles/{a.id}/index.html"]
        checked += 1
    assert checked == len(retired) > 0
    assert len(result.redirects) == len(retired)  # and nothing else redirects


def test_sample_known_issues_and_pages(sample) -> None:
    kb, _, files = sample
    known = files["known-issues/index.html"]
    for a in kb.articles:
        if a.is_public:
            assert '<h1 id="kb-title">' in files[f"articles/{a.id}/index.html"]
            assert f"https://help.example.com/articles/{a.id}/" in files["sitemap.xml"]
            assert (f'href="../articles/{a.id}/"' in known) == (a.type == "known-issue")
        else:
            assert f"/articles/{a.id}/" not in files["sitemap.xml"]


def test_sample_search_index_covers_codes_and_aliases(sample) -> None:
    kb, result, files = sample
    index = json.loads(files["search/search_index.json"])
    pages = {d["location"]: d for d in index["docs"] if "#" not in d["location"]}
    for a in kb.articles:
        if a.is_public:
            kw = pages[f"articles/{a.id}/"].get("keywords", "")
            for term in a.error_codes + a.aliases:
                assert term in kw.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&"), (a.id, term)
    per_1000 = result.search_index_bytes * 1000 / result.articles
    assert per_1000 < 2_000_000, f"search index grew to {per_1000 / 1e6:.1f} MB per 1,000 articles"


def test_sample_internal_links_resolve(sample) -> None:
    """Every relative link on every page points at a file that exists in the site."""
    _, _, files = sample
    href = re.compile(r'(?:href|src)="(?!https?:|mailto:|#|data:|//)([^"#?]+)')
    for path, text in files.items():
        if not path.endswith(".html") or "Redirecting..." in text[:400]:
            continue
        base = Path(path).parent
        for target in href.findall(text):
            resolved = (base / target).as_posix()
            parts: list[str] = []
            for part in resolved.split("/"):
                if part == "..":
                    parts.pop()
                elif part not in ("", "."):
                    parts.append(part)
            norm = "/".join(parts)
            assert norm in files or f"{norm}/index.html" in files or norm == "", f"{path}: broken link {target}"
