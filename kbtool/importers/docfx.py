"""`import_docfx`: a DocFX (Microsoft Docs) Markdown tree -> `DEST/articles/<id>.md`.

Mapping decisions worth knowing (see the README's import section):

* ids come from file names, slugged to `[a-z0-9-]+`; a clash takes parent folders as a
  prefix, so ids are stable across re-imports of the same source.
* `type` is the one whose required `##` sections (config `sections`) the converted body
  really has, preferring what `ms.topic` says; otherwise `reference` (no requirements).
* `product`/`component` come from the first two folders (e.g. Exchange/ExchangeOnline);
  `appliesto` and `ms.custom` become tags.
* links: `.md` links point at the new file names, site-root links (`/office/...`) become
  absolute links on `base_url` (learn.microsoft.com), images and other files are copied
  under `articles/media/`.

The import runs in passes: collect the files (what is an article, ids), convert every body
(includes, `:::` extensions, alerts, the H1, links), fix anchors (they need every converted
body), then map the front-matter, write, and copy the linked assets.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from ..config import DEFAULT_SECTIONS
from ..content import Heading, extra_anchors, fence_mask, is_external, mask_inline_code, parse_structure
from ..progress import Progress
from .codes import article_codes
from .common import (
    DEFAULT_OWNER,
    MAX_ID_LENGTH,
    Finding,
    Imported,
    ImportProblem,
    ImportReport,
    Skipped,
    Translation,
    as_list,
    choose_type,
    claim_id,
    clip,
    existing_ids,
    fence_kinds,
    first_paragraph,
    map_link_targets,
    one_line,
    parse_docfx_date,
    render_front_matter,
    review_baseline,
    slug,
    tidy,
    write_article,
)

DOCFX_BASE_URL = "https://learn.microsoft.com"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ALERT_TYPES = {"note": "note", "tip": "tip", "important": "important", "warning": "warning", "caution": "caution"}
TOPIC_TYPES = {
    "troubleshooting": "troubleshooting", "troubleshooting-general": "troubleshooting",
    "troubleshooting-problem-resolution": "troubleshooting", "troubleshooting-known-issue": "known-issue",
    "how-to": "howto", "howto": "howto", "tutorial": "howto", "quickstart": "howto",
    "faq": "faq", "reference": "reference", "conceptual": "reference", "overview": "reference", "article": "reference",
}
SKIP_TOPICS = {"include", "hub-page", "landing-page", "toc", "redirect"}
NOISE_CUSTOM = re.compile(r"^(?:csstroubleshoot|ci\s*\d+|has-[\w-]+|seo-[\w-]+|[\w-]*-ref)$", re.I)

# The title never holds `[` (so a run of `[!INCLUDE [` costs one pass, not one per start).
_INCLUDE_RE = re.compile(r"\[!INCLUDE\s*\[([^\[\]]*)\]\(\s*<?([^)>\s]+)>?\s*\)\s*\]", re.I)
_IMAGE_RE = re.compile(r':::image((?:\s+[\w-]+\s*=\s*"[^"]*")*)\s*:::')
_TAB_RE = re.compile(r"^(\s*#{1,6})\s*\[([^\]]+)\]\(#tab/[^)]*\)\s*$")
_IMAGE_END_RE = re.compile(r"^\s*:::image-end:::\s*$")
_NOLOC_RE = re.compile(r':::no-loc\s+text\s*=\s*"([^"]*)"\s*:::')
_ATTR_RE = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')
_ALERT_RE = re.compile(r"^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*(.*)$", re.I)
_DIV_RE = re.compile(r'^\[!div\s+class\s*=\s*"([^"]*)"\s*\]\s*$', re.I)
_VIDEO_RE = re.compile(r"\[!VIDEO\s+(\S+?)\]", re.I)
_H1_RE = re.compile(r"^#(?!#)\s*(.*?)\s*#*\s*$")
_OPEN_TARGET_RE = re.compile(r"\]\([^()\s]+$")
_LEFTOVER_RE = re.compile(r":::[a-z]|\[!(?:[A-Za-z-]+)|<xref:|\]\(xref:", re.I)
MAX_QUOTE_DEPTH = 20  # DocFX alerts nest two or three deep; past this a file is hostile, not content
_LOCALE_DIR_RE = re.compile(r"[a-z]{2}-(?:[a-z]{2}|hans|hant|latn|cyrl)", re.I)
_FRONT_RE = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def _split_docfx(text: str) -> tuple[dict[str, Any] | None, str]:
    """(front-matter or None if the file has none, body)."""
    m = _FRONT_RE.match(text)
    if not m:
        return None, text
    meta = yaml.load(m.group(1) or "", Loader=_YAML_LOADER)  # noqa: S506 - safe loader
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError(f"front-matter is {type(meta).__name__}, not a mapping")
    return meta, text[m.end():]


def docfx_tags(meta: dict[str, Any]) -> list[str]:
    """Tags from `appliesto` (product versions) and `ms.custom` (support areas, labels)."""
    tags: set[str] = set()
    for v in as_list(meta.get("appliesto")):
        tags.add(slug(v, 60))
    for v in as_list(meta.get("ms.custom")):
        if v.lower().startswith("sap:"):
            area = v[4:].split("\\")[0]
            tags.add(slug(area, 60))
        elif not NOISE_CUSTOM.match(v):
            tags.add(slug(v, 60))
    return sorted(t for t in tags if t)


def docfx_slug(text: str) -> str:
    """The anchor DocFX (markdig's GitHub-style auto identifiers) gives a heading."""
    text = unicodedata.normalize("NFKD", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.strip().replace(" ", "-")


@dataclass
class _DocfxFile:
    rel: str
    path: Path
    meta: dict[str, Any]
    body: str
    text: str
    id: str = ""


class _DocfxContext:
    """Per-import state shared by the conversion passes of every file."""

    def __init__(self, src: Path, report: ImportReport, base_url: str | None, review_every: int = 365) -> None:
        self.src = src
        self.review_every = review_every
        self.report = report
        self.base_url = base_url.rstrip("/") if base_url else None
        self.ids: dict[str, str] = {}  # source rel path -> id
        self.lower: dict[str, str] = {}  # lowercased rel path -> rel path (case-insensitive fallback)
        self.nonarticles: dict[str, str] = {}  # rel path -> why it is not an article
        self.assets: dict[str, Path] = {}  # dest rel -> source file
        self.file: _DocfxFile | None = None
        self.seen: set[tuple[str, str, str]] = set()

    def rel_of(self, p: Path) -> str | None:
        try:
            return Path(os.path.normpath(p)).relative_to(self.src).as_posix()
        except ValueError:
            return None

    def line_of(self, snippet: str) -> int:
        assert self.file is not None
        text = self.file.text
        pos = text.find(snippet) if snippet else -1
        if pos < 0 and snippet:
            pos = text.find(snippet.strip()[:60])
        return text.count("\n", 0, pos) + 1 if pos >= 0 else 0

    def _add(self, where: list[Finding], kind: str, detail: str, snippet: str) -> None:
        assert self.file is not None
        key = (self.file.rel, kind, detail)
        if key in self.seen:
            return
        self.seen.add(key)
        where.append(Finding(self.file.rel, self.line_of(snippet), kind, detail))

    def skip(self, rel: str, reason: str) -> None:
        """`rel` is not imported (an article links to it in vain: `nonarticles` says why)."""
        self.report.skipped.append(Skipped(rel, reason))
        self.nonarticles[rel] = reason

    def unconverted(self, kind: str, detail: str, snippet: str) -> None:
        self._add(self.report.unconverted, kind, detail, snippet)

    def problem(self, kind: str, detail: str, snippet: str) -> None:
        self._add(self.report.problems, kind, detail, snippet)

    def resolve(self, from_dir: Path, target: str) -> tuple[str | None, bool]:
        """A relative link's source rel path (case-insensitive fallback) and whether it exists."""
        target = unquote(target).replace("\\", "/")
        rel = self.rel_of(from_dir / target)
        if rel is None:
            return None, False
        if (self.src / rel).exists():
            return rel, True
        alt = self.lower.get(rel.lower())
        return (alt, True) if alt else (rel, False)


def _strip_quote_level(line: str) -> str:
    rest = line.lstrip(" \t")[1:]
    return rest[1:] if rest.startswith((" ", "\t")) else rest


def _inline_includes(lines: list[str], base_dir: Path, ctx: _DocfxContext, depth: int = 0) -> list[str]:
    """Replace `[!INCLUDE [..](path)]` with the include's body, keeping list indents and `>` marks."""
    mask = fence_mask(lines)
    out: list[str] = []

    def content_of(m: re.Match[str]) -> list[str] | None:
        target = m.group(2)
        rel, exists = ctx.resolve(base_dir, target)
        if rel is None or not exists or not (ctx.src / rel).is_file():
            ctx.unconverted("include", f"include file not found: {target}", m.group(0))
            return None
        if depth >= 5:
            ctx.unconverted("include", f"includes nested more than 5 deep: {target}", m.group(0))
            return None
        path = ctx.src / rel
        try:
            _, body = _split_docfx(_read_text(path))
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
            ctx.unconverted("include", f"include file {target} unreadable: {e}", m.group(0))
            return None
        inc = body.strip("\n").split("\n")
        inc = _rebase_links(inc, path.parent, ctx)
        return _inline_includes(inc, path.parent, ctx, depth + 1)

    for line, code in zip(lines, mask):
        m = _INCLUDE_RE.search(line) if not code and "[!" in line else None
        if m is None:
            out.append(line)
            continue
        prefix = line[: m.start()]
        if not prefix.strip(" \t>") and not line[m.end():].strip() and len(_INCLUDE_RE.findall(line)) == 1:
            inc = content_of(m)
            if inc is None:
                out.append(f"{prefix}<!-- include not converted: {m.group(2)} -->")
                continue
            blank = prefix.rstrip()
            out.extend((prefix + il) if il.strip() else blank for il in inc)
        else:
            def inline(mm: re.Match[str]) -> str:
                inc = content_of(mm)
                if inc is None:
                    return f"<!-- include not converted: {mm.group(2)} -->"
                return " ".join(il.strip() for il in inc if il.strip())

            out.append(_INCLUDE_RE.sub(inline, line))
    return out


def _rebase_links(lines: list[str], from_dir: Path, ctx: _DocfxContext) -> list[str]:
    """Relative link targets in an include, rewritten relative to the article that includes it."""
    assert ctx.file is not None
    to_dir = ctx.file.path.parent
    if from_dir == to_dir:
        return lines

    def fix(target: str) -> str:
        if not target or target.startswith(("#", "/")) or is_external(target):
            return target
        path, sep, frag = target.partition("#")
        new = os.path.relpath(os.path.normpath(from_dir / unquote(path)), to_dir).replace(os.sep, "/")
        return quote(new, safe="/:@!$&'()*+,;=-._~%") + sep + frag

    return [map_link_targets(line, fix) for line in lines]




def _image_md(attrs: dict[str, str]) -> str:
    alt = attrs.get("alt-text", "").replace("[", "\\[").replace("]", "\\]")
    src = attrs.get("source", "").strip().replace(" ", "%20")
    return f"![{alt}]({src})"


def _convert_colons(lines: list[str], ctx: _DocfxContext) -> list[str]:
    """`:::image ...:::` -> Markdown images, `:::no-loc text="x":::` -> x; `:::image-end:::` dropped.

    DocFX tabs (`## [Title](#tab/id)` ... `---`) become plain headings: the tab UI has no
    equivalent in the site's Markdown, so this is reported as a lossy conversion.
    """
    mask = fence_mask(lines)
    out: list[str] = []
    in_tabs = False
    for line, code in zip(lines, mask):
        if not code and "(#tab/" in line:
            m = _TAB_RE.match(line)
            if m:
                if not in_tabs:
                    ctx.unconverted("tabs", "DocFX tabs flattened into headings (one heading per tab)", line.strip())
                in_tabs = True
                out.append(f"{m.group(1)} {m.group(2).strip()}")
                continue
        if in_tabs and not code and line.strip() == "---":
            in_tabs = False
            out.append("")
            continue
        if code or ":::" not in line:
            out.append(line)
            continue
        if _IMAGE_END_RE.match(line):
            continue

        def image(m: re.Match[str]) -> str:
            attrs = {k.lower(): v for k, v in _ATTR_RE.findall(m.group(1))}
            if not attrs.get("source"):
                ctx.unconverted("image", "`:::image` without a source attribute", m.group(0))
                return m.group(0)
            return _image_md(attrs)

        line = _IMAGE_RE.sub(image, line)
        line = _NOLOC_RE.sub(lambda m: m.group(1), line)
        out.append(line)
    return out


def _convert_quotes(lines: list[str], ctx: _DocfxContext, depth: int = 0) -> list[str]:
    """Blockquotes: DocFX alerts -> Material admonitions; `[!div]` wrappers and `[!VIDEO]` unwrapped.

    Recursive, so alerts inside quotes (and quotes inside alerts) convert too; quotes nested
    deeper than `MAX_QUOTE_DEPTH` stay as written (reported), which bounds both the stack and
    the work (each level rescans its lines). Fenced code at this level is left alone.
    """
    if depth > MAX_QUOTE_DEPTH:
        ctx.unconverted("quote", f"blockquotes nested more than {MAX_QUOTE_DEPTH} deep left as written", "")
        return lines
    mask = [k != 0 for k in fence_kinds(lines, unquoted_only=True)]
    out: list[str] = []
    button = False  # the last line was a `[!div class="nextstepaction"]` marker
    i = 0
    while i < len(lines):
        line = lines[i]
        if mask[i] or not line.lstrip(" \t").startswith(">"):
            if not mask[i] and "[!" in line:
                div = _DIV_RE.match(line.strip())
                if div:
                    button = "nextstepaction" in div.group(1).split()
                    i += 1
                    continue
                line = _VIDEO_RE.sub(lambda m: f"[Watch the video]({m.group(1)})", line)
            if button and line.strip():
                if re.fullmatch(r"\s*\[[^\]]+\]\([^)\s]+\)\s*", line):
                    line = line.rstrip() + "{ .md-button }"
                button = False
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        j = i
        inner: list[str] = []
        while j < len(lines) and lines[j].lstrip(" \t").startswith(">") and not mask[j]:
            inner.append(_strip_quote_level(lines[j]))
            j += 1
        first = next((k for k, s in enumerate(inner) if s.strip()), None)
        head = inner[first].strip() if first is not None else ""
        alert = _ALERT_RE.match(head)
        div = _DIV_RE.match(head)
        video = _VIDEO_RE.fullmatch(head)
        if alert or div or (video and all(not s.strip() for s in inner[first + 1:])):  # type: ignore[operator]
            assert first is not None
            rest = ([alert.group(2)] if alert and alert.group(2) else []) + inner[first + 1:]
            body = _convert_quotes(rest, ctx, depth + 1)
            while body and not body[0].strip():
                body.pop(0)
            while body and not body[-1].strip():
                body.pop()
            if out and out[-1].strip():
                out.append("")
            if alert:
                out.append(f"{indent}!!! {ALERT_TYPES[alert.group(1).lower()]}")
                out.extend(f"{indent}    {b}" if b.strip() else "" for b in body)
            elif div:
                button = "nextstepaction" in div.group(1).split()
                for b in body:
                    if button and re.fullmatch(r"\s*\[[^\]]+\]\([^)\s]+\)\s*", b):
                        b = b.rstrip() + "{ .md-button }"
                    out.append(f"{indent}{b}" if b.strip() else "")
            else:
                assert video is not None
                out.append(f"{indent}[Watch the video]({video.group(1)})")
            if j < len(lines) and lines[j].strip():
                out.append("")
        else:
            for b in _convert_quotes(inner, ctx, depth + 1):
                out.append(f"{indent}> {b}" if b.strip() else f"{indent}>")
        i = j
    return out


def _drop_h1(lines: list[str]) -> tuple[list[str], str | None]:
    """Remove the title `# H1` (the title lives in front-matter) and return its text.

    Only an H1 that comes before any other heading is the title.
    """
    mask = fence_mask(lines)
    for i, (line, code) in enumerate(zip(lines, mask)):
        if code:
            continue
        m = _H1_RE.match(line)
        if m and m.group(1).strip():
            rest = lines[:i] + lines[i + 1:]
            return rest, m.group(1).strip()
        if line.startswith("##"):
            break
    return lines, None


def _rewrite_links(lines: list[str], ctx: _DocfxContext) -> list[str]:
    """Point links at the new files: articles by id, assets under media/, site-root links at base_url."""
    assert ctx.file is not None
    here = ctx.file.path.parent
    mask = fence_mask(lines)
    for i in range(len(lines) - 2, -1, -1):  # a link target split over two lines becomes one line
        if mask[i] or mask[i + 1] or not lines[i + 1].strip():
            continue
        head, nxt = lines[i].rstrip(), lines[i + 1].strip()
        if head.endswith("](") or (_OPEN_TARGET_RE.search(head) and nxt.startswith(")")):
            lines[i:i + 2] = [head + nxt]
            del mask[i + 1]

    def fix(target: str) -> str:
        if not target or target.startswith("#") or is_external(target):
            return target
        if target.startswith("/"):
            return f"{ctx.base_url}{target}" if ctx.base_url else target
        path, sep, anchor = target.partition("#")
        path = path.split("?", 1)[0]
        rel, exists = ctx.resolve(here, path)
        if rel is None:
            ctx.problem("link-outside-source", f"link {target!r} points outside the source tree", target)
            return target
        if rel in ctx.ids:
            return f"{ctx.ids[rel]}.md{sep}{anchor}"
        if rel in ctx.nonarticles:
            ctx.problem("link-to-non-article", f"link {target!r} points at {rel}, which was not imported "
                                               f"({ctx.nonarticles[rel]})", target)
            return target
        if rel.lower().endswith(".md") or (exists and (ctx.src / rel).is_dir()) or not Path(rel).suffix:
            ctx.problem("broken-link", f"link {target!r}: {rel} does not exist in the source", target)
            return target
        dest_rel = f"articles/media/{rel}"
        if exists and (ctx.src / rel).is_file():
            ctx.assets[dest_rel] = ctx.src / rel
        else:
            ctx.problem("missing-file", f"{rel} (linked as {target!r}) does not exist in the source; "
                                        f"expected at {dest_rel}", target)
        return quote(f"media/{rel}", safe="/-._~") + sep + anchor

    return [line if code else map_link_targets(line, fix) for line, code in zip(lines, mask)]


def _report_leftovers(body: str, ctx: _DocfxContext) -> None:
    """Any DocFX syntax still in the prose after conversion is reported as unconverted."""
    lines = body.split("\n")
    for line, code in zip(lines, fence_mask(lines)):
        if code:
            continue
        masked = mask_inline_code(line)
        masked = re.sub(r"<!--.*?-->", "", masked)
        for m in _LEFTOVER_RE.finditer(masked):
            close = ":::" if masked.startswith(":::", m.start()) else "]"
            end = masked.find(close, m.end())
            snippet = line[m.start(): end + len(close) if end >= 0 else m.start() + 60].strip()
            ctx.unconverted("docfx-extension", f"DocFX syntax left as text: {snippet[:80]}", snippet)


def _fix_anchors(bodies: dict[str, str], files: list[_DocfxFile], h1s: dict[str, str | None],
                 ctx: _DocfxContext) -> dict[str, str]:
    """Point anchors at the site's heading slugs.

    DocFX slugs headings GitHub-style (`a---b`, `method-1-use-x`), the site with
    Python-Markdown's toc; a link to the removed H1 goes to the page itself; an
    anchor the page has besides its headings (`<a id=..>`/`<a name=..>`, any HTML `id`,
    `{: #id}`; `content.extra_anchors`) is kept as is. Anything else is a source problem.
    """
    by_id = {v: k for k, v in ctx.ids.items()}
    files_by_id = {f.id: f for f in files}
    heading_cache: dict[str, list[Heading]] = {}

    def headings_of(aid: str) -> list[Heading]:
        if aid not in heading_cache:
            heading_cache[aid] = parse_structure(bodies[aid], 1)[0]
        return heading_cache[aid]

    def fixer(aid: str) -> Callable[[str], str]:
        def fix(target: str) -> str:
            if target.startswith("#"):
                tid, anchor, page = aid, target[1:], ""
            else:
                m = re.fullmatch(r"([a-z0-9-]+)\.md#(.+)", target)
                if not m or m.group(1) not in by_id:
                    return target
                tid, anchor, page = m.group(1), m.group(2), f"{m.group(1)}.md"
            heads = headings_of(tid)
            if not anchor or anchor in {h.slug for h in heads}:
                return target
            extras = extra_anchors(bodies[tid])
            if anchor in extras or unquote(anchor) in extras:
                return target
            want = unquote(anchor).lower()
            squeezed = re.sub(r"-+", "-", want).strip("-")
            for h in heads:
                if want in (h.slug, docfx_slug(h.text)) or squeezed == h.slug:
                    return f"{page}#{h.slug}"
            h1 = h1s.get(tid)
            if h1 and want in (docfx_slug(h1), slug(h1, 1000)):
                return page or "#"
            ctx.file = files_by_id[aid]
            ctx.problem("broken-anchor", f"anchor {target!r} matches no heading in {by_id[tid]}", f"#{anchor}")
            return target
        return fix

    out: dict[str, str] = {}
    for aid, body in bodies.items():
        if "#" not in body:
            out[aid] = body
            continue
        fix = fixer(aid)
        lines = body.split("\n")
        mask = fence_mask(lines)
        out[aid] = "\n".join(line if code or "#" not in line else map_link_targets(line, fix)
                             for line, code in zip(lines, mask))
    return out


def _assign_docfx_ids(files: list[_DocfxFile], dest: Path) -> None:
    """Ids from file names; a clash takes parent folders as a prefix until unique."""
    existing = existing_ids(dest)
    taken: set[str] = set()
    stems = Counter(slug(Path(f.rel).stem) or "article" for f in files)
    for f in sorted(files, key=lambda f: f.rel):
        parts = [slug(p) for p in Path(f.rel).parent.parts] + [slug(Path(f.rel).stem)]
        base = parts[-1] or "article"
        extra: list[str] = []
        for k in range(2, len(parts) + 1):
            cand = "-".join(p for p in parts[-k:] if p)
            if len(cand) > MAX_ID_LENGTH:
                cand = slug(cand)
            extra.append(cand)
        if stems[base] > 1:  # a clash inside the source: every member gets its parent folder
            base, extra = (extra[0], extra[1:]) if extra else (base, extra)
        f.id = claim_id(base, taken, dest, existing, extra)
        taken.add(f.id)


# --- The import: collect, convert, fix anchors, write ---------------------------------------


def import_docfx(src: Path | str, dest: Path | str, force: bool = False, progress: Progress | None = None, *,
                 owner: str = DEFAULT_OWNER, base_url: str | None = DOCFX_BASE_URL,
                 sections: dict[str, list[str]] | None = None, review_every: int = 365) -> ImportReport:
    """Import a DocFX (Microsoft Docs) Markdown tree from `src` into the KB at `dest`.

    Every `.md` file with front-matter becomes `dest/articles/<id>.md`; files without
    front-matter (includes, fragments) and `ms.topic: include` files are skipped (and
    inlined where `[!INCLUDE]`d). `owner` is used when a file has neither `ms.author` nor
    `author`; `base_url` prefixes site-root links (`/office/...`), None keeps them;
    `sections` is the required-sections table (config `sections`) used to pick types;
    `review_every` (config) decides which `ms.date`s are already overdue (`review_baseline`).
    Copies in another locale (`ms.locale`, a `de-de/` folder) are set aside as translations.
    """
    t0 = time.perf_counter()
    src, dest = _check_paths(Path(src).resolve(), Path(dest).resolve())
    sections = sections or DEFAULT_SECTIONS
    report = ImportReport("docfx", src, dest)
    ctx = _DocfxContext(src, report, base_url, review_every)

    # Pass 1: read everything, decide what is an article, assign ids.
    files = _collect_articles(ctx)
    _assign_docfx_ids(files, dest)
    ctx.ids = {f.rel: f.id for f in files}
    for t in report.translations:
        t.original = ctx.ids.get(t.original, "")
    # Pass 2: convert every body (links need every id, anchors every converted body).
    bodies, h1s = _convert_bodies(files, ctx, progress)
    bodies = _fix_anchors(bodies, files, h1s, ctx)
    # Pass 3: front-matter, type, write; then the assets the articles link to.
    _write_articles(files, bodies, h1s, ctx, dest, force, progress, owner, sections)
    _copy_assets(ctx, dest, force)
    report.seconds = time.perf_counter() - t0
    return report


def _check_paths(src: Path, dest: Path) -> tuple[Path, Path]:
    if not src.is_dir():
        raise ImportProblem(f"source directory not found: {src}")
    if dest == src or src in dest.parents:
        raise ImportProblem(f"destination {dest} is inside the source {src}; choose a folder outside it")
    return src, dest


def _collect_articles(ctx: _DocfxContext) -> list[_DocfxFile]:
    """Every file under SRC (hidden ones aside) for link resolution; the `.md` files that are articles."""
    src = ctx.src
    paths = sorted(p for p in src.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts))
    for p in paths:
        rel = p.relative_to(src).as_posix()
        ctx.lower.setdefault(rel.lower(), rel)
    files = [f for p in paths if p.suffix.lower() == ".md" and (f := _read_article(p, ctx)) is not None]
    return _set_aside_translations(_drop_included(files, ctx), ctx)


def _locale_of(f: _DocfxFile) -> str:
    """The file's locale: `ms.locale`, else a locale folder (`de-de/`) on its path, else DocFX's `en-us`."""
    loc = one_line(f.meta.get("ms.locale")).lower()
    if loc:
        return loc[:20]
    return next((p.lower() for p in Path(f.rel).parts[:-1] if _LOCALE_DIR_RE.fullmatch(p)), "en-us")


def _set_aside_translations(files: list[_DocfxFile], ctx: _DocfxContext) -> list[_DocfxFile]:
    """The files in the tree's main locale (the most common one); the others are reported as
    translations, with the article they translate when it is the same path in the main locale."""
    locales = {f.rel: _locale_of(f) for f in files}
    main = Counter(locales.values()).most_common(1)[0][0] if files else "en-us"
    kept = [f for f in files if locales[f.rel] == main]
    by_rel = {f.rel.lower(): f.rel for f in kept}
    for f in files:
        loc = locales[f.rel]
        if loc == main:
            continue
        parts = list(Path(f.rel).parts)
        at = [k for k, p in enumerate(parts[:-1]) if p.lower() == loc]
        cands = ["/".join(parts[:k] + [main] + parts[k + 1:]) for k in at] + ["/".join(parts[:k] + parts[k + 1:])
                                                                             for k in at]
        original = next((by_rel[c.lower()] for c in cands if c.lower() in by_rel), "")
        ctx.report.translations.append(Translation(f.rel, loc, original))  # `original` a rel path until ids exist
        ctx.nonarticles[f.rel] = f"a translation ({loc}), set aside"
    return kept


def _read_article(path: Path, ctx: _DocfxContext) -> _DocfxFile | None:
    """The file as an article, or None (skipped, with the reason) if it is not one."""
    rel = path.relative_to(ctx.src).as_posix()
    try:
        text = _read_text(path)
    except (OSError, UnicodeDecodeError) as e:
        ctx.skip(rel, f"unreadable: {e.strerror}" if isinstance(e, OSError) else "not valid UTF-8")
        return None
    try:
        meta, body = _split_docfx(text)
    except (ValueError, yaml.YAMLError) as e:
        ctx.skip(rel, f"invalid YAML front-matter: {str(e).splitlines()[0]}")
        return None
    if meta is None:
        ctx.skip(rel, "no front-matter: not an article (DocFX include or fragment)")
        return None
    reason = _not_an_article(meta, body)
    if reason:
        ctx.skip(rel, reason)
        return None
    return _DocfxFile(rel, path, meta, body, text)


def _not_an_article(meta: dict[str, Any], body: str) -> str | None:
    """Why a file with front-matter is still not an article (an include, a redirect stub, empty)."""
    if str(meta.get("ms.topic", "")).strip().lower() in SKIP_TOPICS:
        return f"ms.topic {meta.get('ms.topic')!s}: not an article"
    if meta.get("redirect_url"):
        return f"redirect stub to {meta.get('redirect_url')}"
    if not body.strip():
        return "empty body"
    if not "\n".join(_drop_h1(body.split("\n"))[0]).strip():
        return "empty body: only a title"
    return None


def _drop_included(files: list[_DocfxFile], ctx: _DocfxContext) -> list[_DocfxFile]:
    """Files another article `[!INCLUDE]`s are inlined there, not imported on their own."""
    included: Counter[str] = Counter()
    for f in files:
        if "[!" in f.body:
            for m in _INCLUDE_RE.finditer(f.body):
                rel, exists = ctx.resolve(f.path.parent, m.group(2))
                if rel and exists:
                    included[rel] += 1
    kept: list[_DocfxFile] = []
    for f in files:
        if f.rel in included:
            ctx.skip(f.rel, f"included by {included[f.rel]} file(s), inlined there: not an article")
        else:
            kept.append(f)
    return kept


def _convert_bodies(files: list[_DocfxFile], ctx: _DocfxContext,
                    progress: Progress | None) -> tuple[dict[str, str], dict[str, str | None]]:
    """Every article's converted body and its dropped H1, by id (the first half of the progress)."""
    bodies: dict[str, str] = {}
    h1s: dict[str, str | None] = {}
    for n, f in enumerate(files, 1):
        bodies[f.id], h1s[f.id] = _convert_body(f, ctx)
        if progress:
            progress(n, 2 * len(files))
    return bodies, h1s


def _convert_body(f: _DocfxFile, ctx: _DocfxContext) -> tuple[str, str | None]:
    """(Markdown body, the H1 it started with): includes, `:::` extensions, alerts, links converted."""
    ctx.file = f
    lines = f.body.split("\n")
    lines = _inline_includes(lines, f.path.parent, ctx)
    lines = _convert_colons(lines, ctx)
    lines = _convert_quotes(lines, ctx)
    lines, h1 = _drop_h1(lines)
    lines = _rewrite_links(lines, ctx)
    body = tidy("\n".join(lines))
    _report_leftovers(body, ctx)
    return body, h1


def _write_articles(files: list[_DocfxFile], bodies: dict[str, str], h1s: dict[str, str | None],
                    ctx: _DocfxContext, dest: Path, force: bool, progress: Progress | None, owner: str,
                    sections: dict[str, list[str]]) -> None:
    """Front-matter + body to `articles/<id>.md` (the second half of the progress)."""
    today = date.today()
    for n, f in enumerate(files, 1):
        ctx.file = f
        body = bodies[f.id]
        fm, notes = _front_matter(f, body, h1s[f.id], ctx, today, owner, sections)
        out_rel = f"articles/{f.id}.md"
        if write_article(dest / out_rel, render_front_matter(fm) + "\n" + body, force):
            ctx.report.imported.append(Imported(f.rel, out_rel, f.id, fm["type"], "published", "public", notes,
                                                source_updated=fm["created"].isoformat()))
        else:
            ctx.report.skipped.append(Skipped(f.rel, f"exists: {out_rel} (use --force to overwrite)"))
        if progress:
            progress(len(files) + n, 2 * len(files))


def _front_matter(f: _DocfxFile, body: str, h1: str | None, ctx: _DocfxContext, today: date, owner: str,
                  sections: dict[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """The article's front-matter (in the order authors write it) and the mapping notes for the report."""
    meta = f.meta
    notes: list[str] = []
    title, summary = _title_and_summary(meta, body, h1, f.rel, notes)
    source_date = _reviewed_date(f, ctx, today, notes)
    reviewed = review_baseline(source_date, today, ctx.review_every, "ms.date", notes)
    product, component = _product_component(f.rel, meta)
    type_ = _docfx_type(meta, body, sections, notes)
    aliases = [h1] if h1 and h1.strip().lower() != title.strip().lower() else []
    fm = {
        "id": f.id, "title": title, "type": type_, "status": "published", "audience": "public",
        "owner": slug(one_line(meta.get("ms.author") or meta.get("author")), 60) or owner,
        "summary": summary, "product": product, "component": component, "tags": docfx_tags(meta),
        "error_codes": article_codes(title, body), "created": source_date, "last_reviewed": reviewed,
        "aliases": aliases,
    }
    return fm, notes


def _title_and_summary(meta: dict[str, Any], body: str, h1: str | None, rel: str,
                       notes: list[str]) -> tuple[str, str]:
    """`title` (else the H1, else the file name) and `description` (else the first paragraph)."""
    title = one_line(meta.get("title")) or one_line(h1) or Path(rel).stem.replace("-", " ")
    if not one_line(meta.get("title")):
        notes.append("no title in front-matter: used the H1" if h1 else "no title or H1: used the file name")
    summary = clip(meta.get("description") or "")
    if not summary:
        summary = clip(first_paragraph(body)) or title
        notes.append("no description: summary taken from the first paragraph")
    return title, summary


def _reviewed_date(f: _DocfxFile, ctx: _DocfxContext, today: date, notes: list[str]) -> date:
    """`ms.date` (never after today); the file's modification date when it is not a date (a problem)."""
    raw_date = f.meta.get("ms.date", f.meta.get("date"))
    reviewed = parse_docfx_date(raw_date)
    if reviewed is None:
        reviewed = min(date.fromtimestamp(f.path.stat().st_mtime), today)
        what = f"ms.date {raw_date!s:.40}" if raw_date not in (None, "") else "no ms.date"
        notes.append(f"{what} is not a MM/DD/YYYY date: last_reviewed set to the file's modification date "
                     f"{reviewed}")
        ctx.problem("bad-date", f"{what} is not a MM/DD/YYYY date; used the file date {reviewed}",
                    str(raw_date or "---"))
    elif reviewed > today:
        notes.append(f"ms.date {reviewed} is in the future: last_reviewed set to today")
        reviewed = today
    return reviewed


def _product_component(rel: str, meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """The first two folders (Exchange/ExchangeOnline/...); a top-level file's product from `appliesto`."""
    parts = Path(rel).parts
    product = slug(parts[0], 40) if len(parts) > 1 else None
    component = slug(parts[1], 40) if len(parts) > 2 else None
    if product is None:
        applies = as_list(meta.get("appliesto"))
        product = slug(applies[0], 40) if applies else None
    return product, component


def _docfx_type(meta: dict[str, Any], body: str, sections: dict[str, list[str]], notes: list[str]) -> str:
    """The type `ms.topic` names if the body has its sections, else what the body satisfies."""
    topic = str(meta.get("ms.topic") or "").strip().lower()
    preferred = TOPIC_TYPES.get(topic)
    fallback = "faq" if preferred == "faq" else "reference"
    type_ = choose_type(body, preferred, sections, fallback)
    if preferred and preferred != type_ and preferred not in ("reference", "faq"):
        need = ", ".join(f"## {s}" for s in sections.get(preferred, []))
        notes.append(f"ms.topic {topic} but the body lacks non-empty {need}: imported as {type_}")
    return type_


def _copy_assets(ctx: _DocfxContext, dest: Path, force: bool) -> None:
    """Copy the images and files the articles link to (an existing, different file is a conflict)."""
    for dest_rel, source_file in sorted(ctx.assets.items()):
        target = dest / dest_rel
        if target.exists() and not force:
            if target.read_bytes() != source_file.read_bytes():
                ctx.report.skipped.append(Skipped(source_file.relative_to(ctx.src).as_posix(),
                                                  f"exists: {dest_rel} (use --force to overwrite)"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_file, target)
        ctx.report.assets.append(dest_rel)
