"""The customer help center: public KB articles in, a static MkDocs + Material site out.

* `plan` decides what the site contains (`plan_site` -> `SitePlan`): only public,
  published articles, with every cross-reference going through the `_Public`
  gatekeeper (`LeakError` if anything else would reach a page), links rewritten to
  public pages, retired articles and `legacy_urls` turned into redirects.
* `pages` renders the Markdown of every page and the trimmed search index entries.
* `sanitize` cleans every rendered page's content (nh3 allow-list, hidden elements and
  comments dropped) with each `href`/`src` through `_Public.href`; article search entries
  are built from the sanitised text, so the index holds only what the pages show.
* `secrets` refuses to publish a public article holding a key or token (lint's KB601/KB602).
* `chrome` is what kbtool adds around the content: "Was this helpful?" (with
  `feedback_url`), "Articles in this section", OpenGraph tags, robots.txt, the 404 page.
* `build` runs MkDocs with kbtool's plugin, swaps the built site in atomically
  (`build_site`, removing what killed builds left) and serves a live-reloading preview (`preview`).
"""

from .build import (
    CSS_DEST,
    CSS_SOURCE,
    DEFAULT_MKDOCS_YML,
    BuildResult,
    KBSitePlugin,
    SiteBuildError,
    build_site,
    preview,
    write_docs,
)
from .build import _check_target as _check_target
from .build import _swap_in as _swap_in
from .pages import SEARCH_KEYWORDS_FIELD, SEARCH_SECTION_CHARS, Product, normalise_list_indent
from .pages import _md as _md
from .plan import ASSET_SUFFIXES, LeakError, SitePlan, plan_site
from .plan import _Public as _Public

# The `x as x` imports keep the old module's private helpers (_check_target, _swap_in, _md, _Public)
# importable from `kbtool.site`; new code imports them from their submodule.
__all__ = [
    "ASSET_SUFFIXES", "CSS_DEST", "CSS_SOURCE", "DEFAULT_MKDOCS_YML", "SEARCH_KEYWORDS_FIELD", "SEARCH_SECTION_CHARS",
    "BuildResult", "KBSitePlugin", "LeakError", "Product", "SiteBuildError", "SitePlan",
    "build_site", "normalise_list_indent", "plan_site", "preview", "write_docs",
]
