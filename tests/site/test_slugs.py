"""Lint's anchors and the site's rendered heading ids agree, heading by heading.

Both sides read `Article.headings` (the content scanner's `heading_slug`); this checks that
against what MkDocs really renders, on the sample KB and on headings chosen to be awkward:
duplicates, attr_list `{#id}` (taken before other headings are slugged), inline markup,
unicode, a heading that slugs like the site's own `kb-title`."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from kbfactory import REPO, write_article

from kbtool.config import load_config
from kbtool.content import KB, load_kb
from kbtool.lint import run_lint
from kbtool.site import build_site

SITE_IDS = ("kb-title", "kb-related")  # headings the page template adds around the body

TRICKY = """\
Intro with a [link](other.md).

## Symptoms

## Symptoms

## Custom anchor {#symptoms-2}

## Use `kbtool lint` **now**

## Émigré & naïve café — ünïcödé 日本語

## SAML-403: user_not_assigned (Okta/Entra)

### Step 1.2 [see docs](other.md)

## Symptoms

## Kb title

## Moved { #moved .wide }

## Trailing hashes ##
"""


class _HeadingIds(HTMLParser):
    """The ids of h1-h6 inside the page's `<article>` (the rendered Markdown)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.depth += 1
        elif self.depth and tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.ids.append(dict(attrs).get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth -= 1


def _rendered_ids(site: Path, doc_id: str) -> list[str]:
    parser = _HeadingIds()
    parser.feed((site / "articles" / doc_id / "index.html").read_text(encoding="utf-8"))
    return [i for i in parser.ids if i not in SITE_IDS]


def _assert_agree(kb: KB, site: Path) -> int:
    """Every public article: rendered body heading ids == lint's slugs, in order. Returns the count."""
    checked = 0
    for a in kb.valid_articles:
        if a.is_public:
            assert _rendered_ids(site, a.id) == [h.slug for h in a.headings], a.id
            checked += len(a.headings)
    return checked


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, KB, Path]:
    root = tmp_path_factory.mktemp("slugs")
    kb_dir = root / "kb"
    write_article(kb_dir, "tricky", TRICKY, type="reference", title="Tricky headings")
    write_article(kb_dir, "other", "See the tricky one.\n\n## Overview\n\nText.\n", type="reference", title="Other")
    cfg = load_config(cwd=root, kb=kb_dir)
    build_site(load_kb(kb_dir), cfg, site_dir=root / "site")
    return kb_dir, load_kb(kb_dir), root / "site"


def test_sample_kb_rendered_ids_match_lint_slugs(tmp_path: Path) -> None:
    cfg = load_config(cwd=REPO)
    kb = load_kb(cfg.kb)
    build_site(kb, cfg, site_dir=tmp_path / "site", strict=True)
    assert _assert_agree(kb, tmp_path / "site") > 100


def test_tricky_headings_rendered_ids_match_lint_slugs(tricky: tuple[Path, KB, Path]) -> None:
    _, kb, site = tricky
    slugs = [h.slug for h in kb.get("tricky").headings]  # type: ignore[union-attr]
    assert slugs[:3] == ["symptoms", "symptoms_1", "symptoms-2"] and "moved" in slugs
    assert _assert_agree(kb, site) == len(slugs) + 1


def test_lint_and_site_accept_and_reject_the_same_anchors(tricky: tuple[Path, KB, Path]) -> None:
    """A link to every rendered id passes lint's KB402 and the strict build; a near miss fails both."""
    kb_dir, _, site = tricky
    ids = _rendered_ids(site, "tricky")
    links = "\n".join(f"- [to {n}](tricky.md#{i})" for n, i in enumerate(ids))
    write_article(kb_dir, "linker", f"Links:\n\n{links}\n\n- [bad](tricky.md#symptom)\n", type="reference", title="Linker")
    cfg = load_config(cwd=kb_dir.parent, kb=kb_dir)
    kb = load_kb(kb_dir)
    found = [f for f in run_lint(kb, cfg, select=["KB402"]).findings]
    assert [(f.code, "#symptom" in f.message or "'symptom'" in f.message) for f in found] == [("KB402", True)]
    result = build_site(kb, cfg, site_dir=kb_dir.parent / "site2", strict=False)
    anchor_warnings = [w for w in result.warnings if "symptom" in str(w)]
    assert len(anchor_warnings) == 1 and len(result.warnings) == 1, result.warnings
