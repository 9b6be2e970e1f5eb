"""`import_zendesk`: a Zendesk Guide (Help Center) articles export -> `DEST/articles/<id>.md`.

ids come from titles, slugged to `[a-z0-9-]+`; a clash takes the Zendesk id as a suffix,
so ids are stable across re-imports. HTML bodies become Markdown (markdownify); links to
exported articles point at the new files. The old `html_url` becomes the article's
`legacy_urls` front-matter (the help center build writes a redirect page at its path) and
is listed in the report's `redirects`. A URL that cannot be redirected (a query string, no
path) is reported instead of written, so the imported file still loads cleanly.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..config import DEFAULT_SECTIONS
from ..content import fence_mask, legacy_url_path
from ..progress import Progress
from .common import (
    DEFAULT_OWNER,
    Finding,
    Imported,
    ImportProblem,
    ImportReport,
    Redirect,
    Skipped,
    as_list,
    choose_type,
    claim_id,
    clip,
    existing_ids,
    first_paragraph,
    one_line,
    parse_docfx_date,
    render_front_matter,
    slug,
    tidy,
    write_article,
)

_ZD_ARTICLE_RE = re.compile(r"/hc/(?:[A-Za-z-]+/)?articles/(\d+)")


@dataclass
class _ZdArticle:
    """An exported article that will be imported: its Zendesk id, the JSON object, the report's source, its id."""

    zid: Any
    data: dict[str, Any]
    source: str
    id: str


def import_zendesk(export_path: Path | str, dest: Path | str, force: bool = False, progress: Progress | None = None, *,
                   owner: str = DEFAULT_OWNER, sections: dict[str, list[str]] | None = None) -> ImportReport:
    """Import a Zendesk Help Center articles export (JSON) into the KB at `dest`.

    The export is the Help Center API's `{"articles": [...]}` (optionally with a sideloaded
    `sections` list, whose names become `component`) or a bare list of articles. `draft`
    -> status draft, a `user_segment_id` -> audience internal, `label_names` -> tags,
    `updated_at` -> last_reviewed, `created_at` -> created. The old `html_url` goes into
    `legacy_urls` (the site redirects it to the new page) and the report's `redirects`.
    """
    t0 = time.perf_counter()
    export_path = Path(export_path).resolve()
    dest = Path(dest).resolve()
    articles, section_names = _load_zendesk(export_path)
    sections = sections or DEFAULT_SECTIONS
    report = ImportReport("zendesk", export_path, dest)
    todo = _claim_ids(articles, dest, report)
    ids = {item.zid: item.id for item in todo}
    today = date.today()
    for n, item in enumerate(todo, 1):
        body, notes = _zd_convert(item.data, ids, item.source, report)
        fm, url = _front_matter(item, body, notes, section_names, sections, owner, today, report)
        out_rel = f"articles/{item.id}.md"
        if write_article(dest / out_rel, render_front_matter(fm) + "\n" + body, force):
            report.imported.append(Imported(item.source, out_rel, item.id, fm["type"], fm["status"], fm["audience"],
                                            notes))
            if url:
                report.redirects.append(Redirect(url, item.id, out_rel))
        else:
            report.skipped.append(Skipped(item.source, f"exists: {out_rel} (use --force to overwrite)"))
        if progress:
            progress(n, len(todo))
    report.seconds = time.perf_counter() - t0
    return report


# --- Reading the export and claiming ids ------------------------------------------------------


def _load_zendesk(path: Path) -> tuple[list[Any], dict[Any, str]]:
    """(the exported articles, section id -> section name)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ImportProblem(f"export file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ImportProblem(f"cannot read {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise ImportProblem(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from None
    sections: dict[Any, str] = {}
    if isinstance(data, dict):
        for s in data.get("sections") or []:
            if isinstance(s, dict) and s.get("id") is not None and s.get("name"):
                sections[s["id"]] = str(s["name"])
        data = data.get("articles")
    if not isinstance(data, list):
        raise ImportProblem(f"{path}: expected a Help Center export: a JSON object with an 'articles' list, or a list")
    return data, sections


def _claim_ids(articles: list[Any], dest: Path, report: ImportReport) -> list[_ZdArticle]:
    """The articles to import, each with a free id from its title (else skipped, with the reason)."""
    existing = existing_ids(dest)
    taken: set[str] = set()
    seen: set[Any] = set()
    todo: list[_ZdArticle] = []
    for n, a in enumerate(articles):
        source = f"zendesk:{a.get('id')}" if isinstance(a, dict) else f"zendesk:articles[{n}]"
        reason = _skip_reason(a, seen)
        if reason:
            report.skipped.append(Skipped(source, reason))
            continue
        title = one_line(a.get("title") or a.get("name"))
        aid = claim_id(slug(title) or f"article-{a['id']}", taken, dest, existing,
                       [slug(f"{slug(title, 60)}-{a['id']}")])
        taken.add(aid)
        todo.append(_ZdArticle(a["id"], a, source, aid))
    return todo


def _skip_reason(article: Any, seen: set[Any]) -> str | None:
    """Why an exported entry is not imported; `seen` collects the article ids met so far."""
    if not isinstance(article, dict):
        return "not a JSON object"
    if article.get("id") is None:
        return "no 'id'"
    if article["id"] in seen:
        return f"duplicate article id {article['id']} (another locale?); the first one was imported"
    seen.add(article["id"])
    if not one_line(article.get("title") or article.get("name")):
        return "no title"
    return None


# --- Front-matter -------------------------------------------------------------------------------


def _front_matter(item: _ZdArticle, body: str, notes: list[str], section_names: dict[Any, str],
                  sections: dict[str, list[str]], owner: str, today: date,
                  report: ImportReport) -> tuple[dict[str, Any], str]:
    """(the article's front-matter, the old URL to redirect or "")."""
    a = item.data
    title = one_line(a.get("title") or a.get("name"))
    created, updated = _dates(a, today, notes)
    url = _legacy_url(a, item.source, report)
    fm = {
        "id": item.id, "title": title, "type": choose_type(body, None, sections),
        "status": "draft" if a.get("draft") is True else "published",
        "audience": "internal" if a.get("user_segment_id") is not None else "public", "owner": owner,
        "summary": clip(first_paragraph(body)) or title, "component": _component(a, section_names),
        "tags": sorted({slug(t, 60) for t in as_list(a.get("label_names")) if slug(t, 60)}),
        "created": created, "last_reviewed": updated, "legacy_urls": [url] if url else [],
    }
    return fm, url


def _zd_date(value: Any) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        return parse_docfx_date(text[:10])


def _dates(article: dict[str, Any], today: date, notes: list[str]) -> tuple[date, date]:
    """(created, last_reviewed): `updated_at` (else `edited_at`, `created_at`, today), never after today."""
    updated = _zd_date(article.get("updated_at")) or _zd_date(article.get("edited_at"))
    created = _zd_date(article.get("created_at"))
    if updated is None:
        updated = created or today
        notes.append(f"no valid updated_at: last_reviewed set to {updated}")
    updated = min(updated, today)
    return min(created or updated, updated), updated


def _component(article: dict[str, Any], section_names: dict[Any, str]) -> str | None:
    """The section's name as a slug; `section-<id>` when the export has no name for it."""
    section_id = article.get("section_id")
    if section_id is None:
        return None
    name = section_names.get(section_id)
    return slug(name, 40) if name else f"section-{section_id}"


def _legacy_url(article: dict[str, Any], source: str, report: ImportReport) -> str:
    """The `html_url` to keep in `legacy_urls`; "" (reported) when a static site cannot redirect it."""
    url = one_line(article.get("html_url"))
    if url and legacy_url_path(url)[0] is None:
        report.unconverted.append(Finding(source, 0, "legacy-url", f"html_url {url!r} "
                                          f"{legacy_url_path(url)[1]}; not kept in legacy_urls"))
        return ""
    return url


# --- HTML -> Markdown ---------------------------------------------------------------------------


def _zd_convert(article: dict[str, Any], ids: dict[Any, str], source: str,
                report: ImportReport) -> tuple[str, list[str]]:
    """Article HTML -> Markdown (markdownify), with links to exported articles rewritten."""
    from bs4 import BeautifulSoup

    base = str(article.get("html_url") or "")
    soup = BeautifulSoup(str(article.get("body") or ""), "html.parser")
    _drop_unconvertible(soup, base, source, report)
    _rewrite_html_links(soup, base, ids, source, report)
    notes: list[str] = []
    body = _markdown_body(_html_to_markdown(soup), notes)
    return tidy(body), notes


def _drop_unconvertible(soup: Any, base: str, source: str, report: ImportReport) -> None:
    """Scripts and forms removed, embeds replaced by links, spanning/nested tables reported."""
    def unconverted(kind: str, detail: str) -> None:
        report.unconverted.append(Finding(source, 0, kind, detail))

    for tag in soup.find_all(["script", "style", "form", "object", "embed", "noscript"]):
        unconverted(f"html-{tag.name}", f"<{tag.name}> removed: it has no Markdown equivalent")
        tag.decompose()
    for tag in soup.find_all(["iframe", "video"]):
        src = tag.get("src")
        if not src and tag.name == "video" and tag.find("source") is not None:
            src = tag.find("source").get("src")
        if src:
            a = soup.new_tag("a", href=urljoin(base, str(src)))
            is_video = tag.name == "video" or any(w in str(src) for w in ("video", "youtube", "vimeo"))
            a.string = "Watch the video" if is_video else "Open the embedded content"
            p = soup.new_tag("p")
            p.append(a)
            tag.replace_with(p)
            unconverted(f"html-{tag.name}", f"<{tag.name} src={src!r}> replaced by a link (embeds are not kept)")
        else:
            tag.decompose()
            unconverted(f"html-{tag.name}", f"<{tag.name}> without a src removed")
    for table in soup.find_all("table"):
        if table.find(["td", "th"], attrs={"rowspan": True}) or table.find(["td", "th"], attrs={"colspan": True}):
            unconverted("html-table", "table cells spanning rows/columns flattened into a simple Markdown table")
        if table.find("table"):
            unconverted("html-table", "nested table flattened")


def _rewrite_html_links(soup: Any, base: str, ids: dict[Any, str], source: str, report: ImportReport) -> None:
    """Links to exported articles -> `<id>.md`, site-root links and images made absolute on the old host.

    An image still hosted on the old help center is a source problem (it goes when the site closes).
    """
    old_host = urlsplit(base).netloc
    for a in soup.find_all("a", href=True):
        href = str(a["href"]).strip()
        full = urljoin(base, href) if base else href
        parts = urlsplit(full)
        m = _ZD_ARTICLE_RE.search(parts.path)
        if m and (not old_host or parts.netloc == old_host) and int(m.group(1)) in ids:
            a["href"] = f"{ids[int(m.group(1))]}.md" + (f"#{parts.fragment}" if parts.fragment else "")
        elif href.startswith("/") and base:
            a["href"] = full
    for img in soup.find_all("img"):
        src = str(img.get("src") or "").strip()
        if not src:
            img.decompose()
            continue
        full = urljoin(base, src) if base else src
        img["src"] = full
        if old_host and urlsplit(full).netloc == old_host:
            report.problems.append(Finding(source, 0, "remote-image", f"image hosted on the old help center: {full} "
                                                                      "(copy it before the old site closes)"))


def _code_language(el: Any) -> str:
    """A `<pre>`'s language from a `language-x`/`lang-x` class on it or its `<code>`."""
    for node in [el, *el.find_all("code", limit=1)]:
        for cls in node.get("class") or []:
            if cls.startswith(("language-", "lang-")):
                return str(cls.split("-", 1)[1])
    return ""


def _html_to_markdown(soup: Any) -> str:
    from markdownify import MarkdownConverter

    converter = MarkdownConverter(heading_style="ATX", bullets="-", escape_underscores=False, escape_asterisks=True,
                                  table_infer_header=True, code_language_callback=_code_language)
    return str(converter.convert_soup(soup))


def _markdown_body(md: str, notes: list[str]) -> str:
    """The title is front-matter: the body's top heading level becomes `##`; `&nbsp;` outside code -> spaces."""
    lines = md.split("\n")
    mask = fence_mask(lines)
    levels = [len(m.group(1)) for line, code in zip(lines, mask) if not code and (m := re.match(r"^(#{1,6})\s", line))]
    shift = 2 - min(levels) if levels else 0
    if shift:
        lines = [re.sub(r"^(#{1,6})(?=\s)", lambda m: "#" * min(6, max(1, len(m.group(1)) + shift)), line)
                 if not code else line for line, code in zip(lines, mask)]
        notes.append(f"headings shifted by {shift:+d} level(s) so the top level is ##")
    # Editors' `&nbsp;` runs are layout, not content: plain spaces read and search better.
    return "\n".join(line.replace("\u00a0", " ") if not code else line for line, code in zip(lines, mask))
