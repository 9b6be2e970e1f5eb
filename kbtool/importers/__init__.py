"""Bring an existing knowledge base into kbtool: DocFX Markdown trees and Zendesk Guide exports.

`import_docfx(src, dest)` (`docfx.py`) converts a Microsoft-Docs-style repository (YAML
front-matter with `ms.*` keys, DocFX Markdown extensions) and `import_zendesk(export, dest)`
(`zendesk.py`) a Help Center articles export (HTML bodies). Both write `DEST/articles/<id>.md`
files that follow the content contract (`kbtool.content`), never overwrite an existing file
unless `force=True`, and return an `ImportReport` (`common.py`) listing every file imported,
every file skipped (with the reason), every construct that could not be converted, and the
problems the source itself has (broken links, missing images) that `kbtool lint` will then
report. Each module's docstring lists its mapping decisions (see also the README's import section).

What every import hands over, so a fresh import passes `kbtool lint` and `build --strict`:
heading ids and explicit anchors kept (links into them resolve); copies in another locale
set aside in `ImportReport.translations`; empty bodies skipped with the reason; `error_codes`
from titles, symptoms and code blocks (`codes.py`); `last_reviewed` from the source unless that
is already overdue, then the import date (`common.review_baseline`, the source date kept in
`Imported.source_updated`); HTML sanitised with nh3 before conversion (`html.py`).

This package reads and writes files only; it never imports the index or the site.
"""

from __future__ import annotations

from ..progress import terminal_progress
from .codes import article_codes, find_codes
from .common import (
    DEFAULT_OWNER,
    Finding,
    Imported,
    ImportProblem,
    ImportReport,
    Redirect,
    Skipped,
    Translation,
    choose_type,
    parse_docfx_date,
    render_front_matter,
    slug,
)
from .docfx import DOCFX_BASE_URL, docfx_slug, docfx_tags, import_docfx
from .zendesk import import_zendesk

__all__ = [
    "ImportProblem", "ImportReport", "Imported", "Skipped", "Finding", "Redirect", "Translation",
    "import_docfx", "import_zendesk", "terminal_progress", "slug",
    "DEFAULT_OWNER", "DOCFX_BASE_URL", "choose_type", "docfx_slug", "docfx_tags", "parse_docfx_date",
    "render_front_matter", "article_codes", "find_codes",
]
