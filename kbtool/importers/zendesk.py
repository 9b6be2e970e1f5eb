"""`import_zendesk`: a Zendesk Guide (Help Center) articles export -> `DEST/articles/<id>.md`.

ids come from titles, slugged to `[a-z0-9-]+`; a clash takes the Zendesk id as a suffix,
so ids are stable across re-imports. HTML bodies become Markdown (markdownify); links to
exported articles point at the new files. The old `html_url` becomes the article's
`legacy_urls` front-matter (the help center build writes a redirect page at its path) and
is listed in the report's `redirects`. A URL that cannot be redirected (a query string, no
path) is reported instead of written, so the imported file still loads cleanly.

Bodies go through `html.sanitize` (nh3) before markdownify, and decoded text stays text.
Hostile exports end in a reason: JSON nested too deeply is an `ImportProblem` naming the file;
an id of thousands of digits, or a body nested past `html.MAX_DEPTH`, skips that article.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..config import DEFAULT_SECTIONS
from ..content import (
    PAGE_RELATED_ANCHOR,
    PAGE_TITLE_ANCHOR,
    extra_anchors,
    fence_mask,
    legacy_url_path,
    parse_structure,
)
from ..progress import Progress
from .codes import article_codes
from .common import (
    DEFAULT_OWNER,
    Finding,
    Imported,
    ImportProblem,
    ImportReport,
    Redirect,
    Skipped,
    Translation,
    as_list,
    choose_type,
    claim_id,
    clip,
    existing_ids,
    first_paragraph,
    one_line,
    parse_docfx_date,
    render_front_matter,
    review_baseline,
    slug,
    tidy,
    write_article,
)
from .html import MAX_DEPTH, html_to_markdown, sanitize, too_deep

_ZD_ARTICLE_RE = re.compile(r"/hc/(?:[A-Za-z-]+/)?articles/(\d{1,20})")
MAX_ID_DIGITS = 20  # Zendesk ids are 64-bit integers



@dataclass
class _ZdArticle:
    """An exported article that will be imported: its Zendesk id, the JSON object, the report's source, its id."""

    zid: Any
    data: dict[str, Any]
    source: str
    id: str


def import_zendesk(export_path: Path | str, dest: Path | str, force: bool = False, progress: Progress | None = None, *,
                   owner: str = DEFAULT_OWNER, sections: dict[str, list[str]] | None = None,
                   review_every: int = 365) -> ImportReport:
    """Import a Zendesk Help Center articles export (JSON) into the KB at `dest`.

    The export is the Help Center API's `{"articles": [...]}` (optionally with a sideloaded
    `sections` list, whose names become `component`) or a bare list of articles. `draft`
    -> status draft, a `user_segment_id` -> audience internal, `label_names` -> tags,
    `updated_at` -> last_reviewed (see `review_baseline`: the import date when that is
    already overdue by `review_every` days), `created_at` -> created. The old `html_url`
    goes into `legacy_urls` (the site redirects it to the new page) and the report's
    `redirects`. Copies in another locale are set aside in the report's `translations`.
    """
    t0 = time.perf_counter()
    export_path = Path(export_path).resolve()
    dest = Path(dest).resolve()
    articles, section_names = _load_zendesk(export_path)
    sections = sections or DEFAULT_SECTIONS
    report = ImportReport("zendesk", export_path, dest)
    todo = _claim_ids(articles, dest, report)
    ids = {item.zid: item.id for item in todo}
    converted = _convert_all(todo, ids, report)
    _check_anchors({aid: body for aid, (body, _) in converted.items()}, {i.id: i.source for i in todo}, report)
    today = date.today()
    for n, item in enumerate(todo, 1):
        if item.id in converted:
            body, notes = converted[item.id]
            _write_one(item, body, notes, section_names, sections, owner, (today, review_every), report, force)
        if progress:
            progress(n, len(todo))
    report.seconds = time.perf_counter() - t0
    return report


def _write_one(item: _ZdArticle, body: str, notes: list[str], section_names: dict[Any, str],
               sections: dict[str, list[str]], owner: str, review: tuple[date, int], report: ImportReport,
               force: bool) -> None:
    """Front-matter + body to `articles/<id>.md`, recorded in the report (or skipped if it exists)."""
    fm, url = _front_matter(item, body, notes, section_names, sections, owner, review, report)
    out_rel = f"articles/{item.id}.md"
    if write_article(report.dest / out_rel, render_front_matter(fm) + "\n" + body, force):
        report.imported.append(Imported(item.source, out_rel, item.id, fm["type"], fm["status"], fm["audience"],
                                        notes, source_updated=_source_updated(item.data)))
        if url:
            report.redirects.append(Redirect(url, item.id, out_rel))
    else:
        report.skipped.append(Skipped(item.source, f"exists: {out_rel} (use --force to overwrite)"))


# --- Reading the export and claiming ids ------------------------------------------------------


class _LongInt(str):
    """A JSON integer too long to be an id (Python refuses to convert past 4,300 digits)."""


def _json_int(text: str) -> int | _LongInt:
    return int(text) if len(text) <= MAX_ID_DIGITS else _LongInt(text)


def _load_zendesk(path: Path) -> tuple[list[Any], dict[Any, str]]:
    """(the exported articles, section id -> section name); any unreadable export is an ImportProblem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"), parse_int=_json_int)
    except FileNotFoundError:
        raise ImportProblem(f"export file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ImportProblem(f"cannot read {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise ImportProblem(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from None
    except RecursionError:
        raise ImportProblem(f"{path}: JSON nested too deeply to be a Help Center export") from None
    sections: dict[Any, str] = {}
    if isinstance(data, dict):
        for s in data.get("sections") or []:
            if isinstance(s, dict) and isinstance(s.get("id"), int) and s.get("name"):
                sections[s["id"]] = str(s["name"])
        data = data.get("articles")
    if not isinstance(data, list):
        raise ImportProblem(f"{path}: expected a Help Center export: a JSON object with an 'articles' list, or a list")
    return data, sections


def _claim_ids(articles: list[Any], dest: Path, report: ImportReport) -> list[_ZdArticle]:
    """The articles to import, each with a free id from its title; others are skipped with the
    reason, and copies in another locale than the export's own are set aside as translations."""
    existing = existing_ids(dest)
    taken: set[str] = set()
    seen: set[Any] = set()
    todo: list[_ZdArticle] = []
    main_locale = _main_locale(articles)
    aside: list[tuple[Translation, Any]] = []
    for n, a in enumerate(articles):
        source = f"zendesk:{a.get('id')}" if isinstance(a, dict) and _plain_id(a.get("id")) else f"zendesk:articles[{n}]"
        locale = _translation_locale(a, main_locale)
        if locale:
            aside.append((Translation(source, locale), a.get("id")))
            continue
        reason = _skip_reason(a, seen)
        if reason:
            report.skipped.append(Skipped(source, reason))
            continue
        title = one_line(a.get("title") or a.get("name"))
        aid = claim_id(slug(title) or f"article-{a['id']}", taken, dest, existing,
                       [slug(f"{slug(title, 60)}-{a['id']}")])
        taken.add(aid)
        todo.append(_ZdArticle(a["id"], a, source, aid))
    ids = {item.zid: item.id for item in todo}
    for t, zid in aside:
        t.original = ids.get(zid, "") if _plain_id(zid) else ""
        report.translations.append(t)
    return todo


def _plain_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, (bool, _LongInt)) and len(str(value)) <= 40


def _main_locale(articles: list[Any]) -> str:
    """The export's own locale: the most common `source_locale` (else `locale`); "" if none is given."""
    counts = Counter(str(a.get("source_locale") or a.get("locale")).lower() for a in articles
                     if isinstance(a, dict) and (a.get("source_locale") or a.get("locale")))
    return counts.most_common(1)[0][0] if counts else ""


def _translation_locale(article: Any, main_locale: str) -> str:
    """The article's locale if it is a translation (not its own source locale, or not the export's)."""
    if not isinstance(article, dict) or not article.get("locale"):
        return ""
    locale = str(article["locale"]).lower()
    source = str(article.get("source_locale") or main_locale).lower()
    return one_line(article["locale"])[:20] if source and locale != source else ""


def _skip_reason(article: Any, seen: set[Any]) -> str | None:
    """Why an exported entry is not imported; `seen` collects the article ids met so far."""
    if not isinstance(article, dict):
        return "not a JSON object"
    if article.get("id") is None:
        return "no 'id'"
    if not _plain_id(article["id"]):
        what = "number" if isinstance(article["id"], _LongInt) else type(article["id"]).__name__
        return f"'id' is not a Zendesk article id (a {what} of {len(str(article['id']))} characters)"
    if article["id"] in seen:
        return f"duplicate article id {article['id']}; the first one was imported"
    seen.add(article["id"])
    if not one_line(article.get("title") or article.get("name")):
        return "no title"
    if _empty_html(article.get("body")):
        return "empty body: nothing to import (add the content in the source or here)"
    return None


def _empty_html(body: Any) -> bool:
    """True if an HTML body shows nothing: no text, no image, no embed."""
    from bs4 import BeautifulSoup

    if not isinstance(body, str) or not body.strip():
        return True
    if "<" not in body:
        return False
    soup = BeautifulSoup(body, "html.parser")
    return not soup.get_text().strip() and soup.find(["img", "iframe", "video", "table"]) is None


# --- Front-matter -------------------------------------------------------------------------------


def _front_matter(item: _ZdArticle, body: str, notes: list[str], section_names: dict[Any, str],
                  sections: dict[str, list[str]], owner: str, review: tuple[date, int],
                  report: ImportReport) -> tuple[dict[str, Any], str]:
    """(the article's front-matter, the old URL to redirect or ""); `review` is (today, review_every)."""
    a = item.data
    title = one_line(a.get("title") or a.get("name"))
    created, updated = _dates(a, review, notes)
    url = _legacy_url(a, item.source, report)
    fm = {
        "id": item.id, "title": title, "type": choose_type(body, None, sections),
        "status": "draft" if a.get("draft") is True else "published",
        "audience": "internal" if a.get("user_segment_id") is not None else "public", "owner": owner,
        "summary": clip(first_paragraph(body)) or title, "component": _component(a, section_names),
        "tags": sorted({slug(t, 60) for t in as_list(a.get("label_names")) if slug(t, 60)}),
        "error_codes": article_codes(title, body),
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


def _source_updated(article: dict[str, Any]) -> str:
    """The source's own last-change date (`edited_at`, else `updated_at`), ISO, or ""."""
    d = _zd_date(article.get("edited_at")) or _zd_date(article.get("updated_at"))
    return d.isoformat() if d else ""


def _dates(article: dict[str, Any], review: tuple[date, int], notes: list[str]) -> tuple[date, date]:
    """(created, last_reviewed): the last content edit (`edited_at`, else `updated_at`, `created_at`,
    today) as `review_baseline` takes it."""
    today, review_every = review
    updated = _zd_date(article.get("edited_at")) or _zd_date(article.get("updated_at"))
    created = _zd_date(article.get("created_at"))
    if updated is None:
        updated = created or today
        notes.append(f"no valid edited_at/updated_at: last_reviewed set to {updated}")
    source = min(updated, today)
    reviewed = review_baseline(source, today, review_every, "edited_at", notes)
    return min(created or source, source), reviewed


def _component(article: dict[str, Any], section_names: dict[Any, str]) -> str | None:
    """The section's name as a slug; `section-<id>` when the export has no name for it."""
    section_id = article.get("section_id")
    if section_id is None or not _plain_id(section_id):
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


class _TooDeep(Exception):
    """An article body nested too deeply to sanitise and convert in bounded time."""


def _convert_all(todo: list[_ZdArticle], ids: dict[Any, str], report: ImportReport) -> dict[str, tuple[str, list[str]]]:
    """Every article's (Markdown body, notes) by id; one that cannot be converted is skipped with the reason."""
    out: dict[str, tuple[str, list[str]]] = {}
    for item in todo:
        try:
            out[item.id] = _zd_convert(item.data, ids, item.source, report)
        except _TooDeep:
            report.skipped.append(Skipped(item.source, f"body HTML nests elements more than {MAX_DEPTH} deep: "
                                                       "not converted"))
    return out


def _zd_convert(article: dict[str, Any], ids: dict[Any, str], source: str,
                report: ImportReport) -> tuple[str, list[str]]:
    """Article HTML -> sanitised HTML -> Markdown, with links to exported articles rewritten.

    The embeds and scripts are dealt with (and reported) first, then `html.sanitize` keeps
    only the allow-list, then the converter decodes the text and keeps it inert.
    """
    from bs4 import BeautifulSoup

    base = str(article.get("html_url") or "")
    soup = BeautifulSoup(str(article.get("body") or ""), "html.parser")
    if too_deep(soup):
        raise _TooDeep
    _drop_unconvertible(soup, base, source, report)
    _rewrite_html_links(soup, base, ids, source, report)
    clean = BeautifulSoup(sanitize(str(soup)), "html.parser")
    notes: list[str] = []
    body = _markdown_body(html_to_markdown(clean), notes)
    return tidy(body), notes


def _check_anchors(bodies: dict[str, str], sources: dict[str, str], report: ImportReport) -> None:
    """Report every `#anchor` link (in the article or into another imported one) that matches no
    anchor of its target: a problem of the source that `kbtool lint` (KB402) will show too."""
    anchors: dict[str, frozenset[str]] = {}

    def anchors_of(aid: str) -> frozenset[str]:
        if aid not in anchors:
            heads = parse_structure(bodies[aid], 1)[0]
            anchors[aid] = frozenset(h.slug for h in heads) | extra_anchors(bodies[aid]) | {PAGE_TITLE_ANCHOR, PAGE_RELATED_ANCHOR}
        return anchors[aid]

    for aid, body in bodies.items():
        if "#" not in body:
            continue
        for link in parse_structure(body, 1)[2]:
            page, sep, anchor = link.target.partition("#")
            target = aid if not page else page[:-3] if page.endswith(".md") else ""
            if sep and anchor and target in bodies and anchor not in anchors_of(target):
                report.problems.append(Finding(sources[aid], 0, "broken-anchor",
                                               f"link {link.target!r}: no heading or anchor #{anchor} in {target}"))


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
