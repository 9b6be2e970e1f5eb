"""The leak KB for the security properties: every kind of hidden article, a sentinel in every
field of each, and public articles hiding sentinels in every place a page could leak them
(comments, hidden HTML, links of every form to hidden ids). Built once per session: a
real `mkdocs build` is the expensive part; hypothesis works on the functions directly.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pytest
from kbfactory import MKDOCS_YML, SITE_URL, write_article

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.site import BuildResult, build_site

# hidden article id -> front-matter that hides it
HIDDEN = {
    "internal-zq1x": {"audience": "internal"},
    "draft-zq2x": {"status": "draft"},
    "review-zq3x": {"status": "in-review"},
    "retired-zq4x": {"status": "retired", "replaced_by": "draft-zq2x"},
    "runbook-zq5x": {"type": "runbook", "audience": "internal"},
}
HIDING_PLACES = ("comment", "hidden-attr", "display-none", "visibility", "aria-hidden", "script", "style",
                 "template", "noscript", "iframe")


def sentinel(where: str) -> str:
    """A token nothing else in the KB contains (also matched case-insensitively)."""
    return f"zqsentinel{where.replace('-', '')}zq"


def hidden_body(aid: str) -> str:
    s = sentinel(aid)
    return (f"{s}-intro.\n\n## {s} heading\n\nText {s}-text and `{s}_CODE`.\n\n```\n{s}-block\n```\n\n"
            "## Steps\n\n1. Do it.")


def _place(where: str) -> str:
    s = sentinel(where)
    return {
        "comment": f"<!-- {s} -->",
        "hidden-attr": f'<div hidden markdown>\n\n## {s} section\n\n{s} and `{s}_code`\n\n</div>',
        "display-none": f'<p style="color: red; DISPLAY : none">{s}</p>',
        "visibility": f'<span style="visibility:hidden">{s}</span>',
        "aria-hidden": f'<div aria-hidden="true"><p>{s}</p></div>',
        "script": f"<script>var x = '{s}';</script>",
        "style": f"<style>.{s} {{ color: red }}</style>",
        "template": f"<template><p>{s}</p></template>",
        "noscript": f"<noscript>{s}</noscript>",
        "iframe": f'<iframe src="https://evil.example/{s}"></iframe>',
    }[where]


def _link_forms(aid: str, folder: str) -> str:
    """Every way an article can name another: inline, two-line, image, reference (also quoted),
    raw HTML, absolute help-center URL, old (legacy) URL, `related`."""
    rel = f"../runbooks/{aid}.md" if folder == "runbooks" else f"{aid}.md"
    return (f"Inline [see this]({rel}) and a [link over\ntwo lines]({rel}#steps).\n\n"
            f"![picture]({rel}) and [by reference][r-{aid}].\n\n"
            f"> Quoted [by quoted reference][q-{aid}].\n>\n> [q-{aid}]: {rel}\n\n"
            f'<a href="{rel}">raw anchor</a> <img src="{rel}" alt="raw image"> <a href=\'{rel}#x\'>single</a>\n\n'
            f"[absolute]({SITE_URL}articles/{aid}/) [absolute html]({SITE_URL}articles/{aid}/index.html)\n\n"
            f"[old url](https://old.example/hc/en-us/articles/1-{aid}-old)\n\n"
            f"[r-{aid}]: {rel}\n")


@dataclass
class LeakSite:
    site: Path
    result: BuildResult
    files: dict[str, str]  # every file's text, gzip decompressed
    sentinels: list[str]


def _write_kb(kb: Path) -> list[str]:
    sentinels: list[str] = []
    for aid, fields in HIDDEN.items():
        s = sentinel(aid)
        sentinels.append(s)
        folder = "runbooks" if fields.get("type") == "runbook" else "articles"
        write_article(kb, aid, hidden_body(aid), folder=folder, title=f"{s} title", summary=f"{s} summary.",
                      tags=[f"{s}-tag"], aliases=[f"{s} alias"], error_codes=[f"{s.upper()}-CODE"],
                      product=f"{s}-product", legacy_urls=[f"https://old.example/hc/en-us/articles/1-{aid}-old"],
                      **fields)
        if fields.get("status") != "retired":  # a retired article's old URL was public: it stays, as a redirect
            sentinels.append(aid)  # ids come from titles: an id on the site reveals the subject
    places = "\n\n".join(_place(w) for w in HIDING_PLACES)
    sentinels += [sentinel(w) for w in HIDING_PLACES]
    links = "\n\n".join(_link_forms(aid, "runbooks" if f.get("type") == "runbook" else "articles")
                        for aid, f in HIDDEN.items())
    write_article(kb, "public-hider", f"Public text.\n\n{places}\n\n## Steps\n\n1. Go.\n\n## Links\n\n{links}",
                  title="Public hider", related=list(HIDDEN), tags=["shared"], product="sso")
    write_article(kb, "public-plain", "## Steps\n\n1. Go.", title="Public plain", tags=["shared"], product="sso")
    return sentinels


@pytest.fixture(scope="session")
def leak_site(tmp_path_factory: pytest.TempPathFactory) -> LeakSite:
    root = tmp_path_factory.mktemp("security")
    kb = root / "kb"
    sentinels = _write_kb(kb)
    cfg = Config(root=root, kb=kb.resolve(), index_dir=root / ".kbtool" / "index", site_dir=(root / "site").resolve(),
                 mkdocs_yml=MKDOCS_YML, site_url=SITE_URL)
    result = build_site(load_kb(kb), cfg)
    files: dict[str, str] = {}
    for f in sorted(p for p in (root / "site").rglob("*") if p.is_file()):
        data = f.read_bytes()
        if f.suffix == ".gz":
            data = gzip.decompress(data)
        files[f.relative_to(root / "site").as_posix()] = data.decode("utf-8", errors="replace")
    return LeakSite(root / "site", result, files, sentinels)


@pytest.fixture(scope="session")
def leak_kb_dir(leak_site: LeakSite) -> Path:
    return leak_site.site.parent / "kb"


@pytest.fixture(scope="session")
def hidden_ids() -> list[str]:
    """The hidden articles' ids (runbooks too: they are never on the site)."""
    return list(HIDDEN)
