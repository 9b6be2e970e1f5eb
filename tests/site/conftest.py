"""Fixtures shared by the help-center tests: configs, a built site read back as text, the tiny KB."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from kbfactory import MKDOCS_YML, SITE_URL, write_article, write_file

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.site import BuildResult, build_site

# 1x1 transparent PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)

MakeConfig = Callable[..., Config]
SiteFiles = Callable[[Path], dict[str, str]]


class BuiltSite(NamedTuple):
    result: BuildResult
    site: Path
    files: dict[str, str]  # every file of the site as text (site_files)


def _make_config(root: Path, kb: Path, *, mkdocs_yml: Path | None = MKDOCS_YML, site_dir: Path | None = None) -> Config:
    """A Config for `kb` with the repo's mkdocs.yml (None: a missing one) and `root/site` as the site."""
    return Config(
        root=root, kb=kb.resolve(), index_dir=root / ".kbtool" / "index", site_dir=(site_dir or root / "site").resolve(),
        mkdocs_yml=(mkdocs_yml or root / "no-such-mkdocs.yml"), site_url=SITE_URL,
    )


def _site_files(site: Path) -> dict[str, str]:
    """Every file of a built site as text (gzip decompressed, binary decoded leniently)."""
    out: dict[str, str] = {}
    for f in sorted(p for p in site.rglob("*") if p.is_file()):
        data = f.read_bytes()
        if f.suffix == ".gz":
            data = gzip.decompress(data)
        out[f.relative_to(site).as_posix()] = data.decode("utf-8", errors="replace")
    return out


@pytest.fixture(scope="session")
def png() -> bytes:
    return PNG


@pytest.fixture(scope="session")
def make_config() -> MakeConfig:
    return _make_config


@pytest.fixture(scope="session")
def site_files() -> SiteFiles:
    return _site_files


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], Path]], BuiltSite]:
    """`built_site(name, make_kb)`: the KB `make_kb(dir)` writes, built into `<tmp>/<name>/site`."""
    def build(name: str, make_kb: Callable[[Path], Path]) -> BuiltSite:
        root = tmp_path_factory.mktemp(name)
        kb = make_kb(root / "kb")
        cfg = _make_config(root, kb)
        result = build_site(load_kb(kb), cfg)
        return BuiltSite(result, root / "site", _site_files(root / "site"))

    return build


# --- the tiny KB: a small KB exercising every rule ---------------------------------------------

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


def _write_tiny_kb(kb: Path) -> Path:
    """Public articles (one per type, one with markup in its title), and every kind of hidden one."""
    write_article(kb, "sso-login-fails", MAIN_BODY, type="troubleshooting", product="sso",
                  title="SSO sign-in fails with SAML-403", summary="Summary of sso-login-fails.",
                  last_reviewed="2026-09-01", error_codes=["SAML-403", "ERR_TOO_MANY_REDIRECTS"],
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
    write_article(kb, "rb-restart", folder="runbooks", type="runbook", audience="internal",
                  title="Restart runbook title")
    write_file(kb, "articles/img/flow.png", PNG)
    write_file(kb, "articles/internal-notes.md.orig", "Internal SSO notes, raw copy")
    return kb


@pytest.fixture(scope="session")
def tiny_kb() -> Callable[[Path], Path]:
    """`tiny_kb(dir)` writes the tiny KB into `dir` and returns it."""
    return _write_tiny_kb


@pytest.fixture(scope="session")
def tiny(built_site: Callable[[str, Callable[[Path], Path]], BuiltSite]) -> BuiltSite:
    """The tiny KB, built once: (result, site dir, files)."""
    return built_site("tiny", _write_tiny_kb)
