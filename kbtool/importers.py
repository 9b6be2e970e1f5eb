"""Bring an existing knowledge base into kbtool: DocFX Markdown trees and Zendesk Guide exports.

`import_docfx(src, dest)` converts a Microsoft-Docs-style repository (YAML front-matter with
`ms.*` keys, DocFX Markdown extensions) and `import_zendesk(export, dest)` a Help Center
articles export (HTML bodies). Both write `DEST/articles/<id>.md` files that follow the
content contract (`kbtool.content`), never overwrite an existing file unless `force=True`,
and return an `ImportReport` listing every file imported, every file skipped (with the
reason), every construct that could not be converted, and the problems the source itself
has (broken links, missing images) that `kbtool lint` will then report.

Mapping decisions worth knowing (see the README's import section):

* ids come from file names (DocFX) or titles (Zendesk), slugged to `[a-z0-9-]+`; clashes
  take parent folders (DocFX) or the Zendesk id as a prefix/suffix, so ids are stable
  across re-imports of the same source.
* `type` is the one whose required `##` sections (config `sections`) the converted body
  really has, preferring what `ms.topic` says; otherwise `reference` (no requirements).
* DocFX `product`/`component` come from the first two folders (e.g. Exchange/ExchangeOnline);
  `appliesto` and `ms.custom` become tags.
* DocFX links: `.md` links point at the new file names, site-root links (`/office/...`)
  become absolute links on `base_url` (learn.microsoft.com), images and other files are
  copied under `articles/media/`.
* Zendesk: the old `html_url` becomes the article's `legacy_urls` front-matter (the help
  center build writes a redirect page at its path) and is listed in the report's
  `redirects`. A URL that cannot be redirected (a query string, no path) is reported
  instead of written, so the imported file still loads cleanly.

This module reads and writes files only; it never imports the index or the site.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, unquote, urljoin, urlsplit

import yaml

from .config import DEFAULT_SECTIONS
from .content import Heading, extra_anchors, is_external, legacy_url_path, mask_inline_code, parse_structure
from .progress import Progress, terminal_progress

__all__ = [
    "ImportProblem", "ImportReport", "Imported", "Skipped", "Finding", "Redirect",
    "import_docfx", "import_zendesk", "terminal_progress", "slug",
]


DEFAULT_OWNER = "support"
DOCFX_BASE_URL = "https://learn.microsoft.com"
MAX_ID_LENGTH = 80
MAX_SUMMARY = 200
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ImportProblem(Exception):
    """A problem with the import as a whole (missing source, unreadable export): nothing was written."""


# --- The report -------------------------------------------------------------------------------


@dataclass
class Imported:
    source: str  # DocFX: path relative to SRC; Zendesk: "zendesk:<article id>"
    path: str  # written file, relative to DEST
    id: str
    type: str
    status: str
    audience: str
    notes: list[str] = field(default_factory=list)  # mapping decisions worth checking


@dataclass
class Skipped:
    source: str
    reason: str


@dataclass
class Finding:
    """A construct that was not converted, or a problem carried over from the source."""

    source: str
    line: int  # 1-based line in the source file; 0 when unknown (HTML sources)
    kind: str
    detail: str


@dataclass
class Redirect:
    old_url: str
    id: str
    path: str


@dataclass
class ImportReport:
    kind: str  # "docfx" | "zendesk"
    source: Path
    dest: Path
    imported: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unconverted: list[Finding] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)  # copied files, relative to DEST
    seconds: float = 0.0

    @property
    def conflicts(self) -> list[Skipped]:
        """Files skipped because the destination already exists (re-run with force)."""
        return [s for s in self.skipped if s.reason.startswith("exists:")]

    def counts(self) -> dict[str, Any]:
        return {
            "imported": len(self.imported), "skipped": len(self.skipped), "unconverted": len(self.unconverted),
            "problems": len(self.problems), "redirects": len(self.redirects), "assets": len(self.assets),
            "types": dict(sorted(Counter(i.type for i in self.imported).items())),
        }

    def summary(self) -> str:
        c = self.counts()
        types = ", ".join(f"{t} {n}" for t, n in c["types"].items()) or "none"
        probs = Counter(p.kind for p in self.problems)
        prob_text = ", ".join(f"{k} {n}" for k, n in sorted(probs.items())) or "none"
        return (f"imported {c['imported']} article(s) ({types}); skipped {c['skipped']}; "
                f"{c['unconverted']} construct(s) not converted; source problems: {prob_text}; "
                f"{c['assets']} asset(s) copied; {self.seconds:.1f}s")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "source": str(self.source), "dest": str(self.dest),
            "counts": self.counts(), "seconds": round(self.seconds, 3),
            "imported": [asdict(i) for i in self.imported], "skipped": [asdict(s) for s in self.skipped],
            "unconverted": [asdict(u) for u in self.unconverted], "problems": [asdict(p) for p in self.problems],
            "redirects": [asdict(r) for r in self.redirects], "assets": list(self.assets),
        }


# --- Shared helpers ---------------------------------------------------------------------------


def slug(text: str, max_length: int = MAX_ID_LENGTH) -> str:
    """`[a-z0-9-]+` from any text: accents folded, apostrophes dropped ("can't" -> "cant")."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"['`]", "", text)
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(text) > max_length:
        cut = text[:max_length]
        text = cut.rsplit("-", 1)[0] if "-" in cut[max_length // 2:] else cut
    return text.strip("-")


_PLAIN_OK = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NUMBERISH = re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$", re.I)
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if _PLAIN_OK.match(text) and not _NUMBERISH.match(text) and text not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def render_front_matter(meta: dict[str, Any]) -> str:
    """Deterministic YAML front-matter: slugs plain, other strings double-quoted, lists in flow style."""
    lines = ["---"]
    for key, value in meta.items():
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(_yaml_scalar(v) for v in value)}]")
        else:
            lines.append(f"{key}: {_yaml_scalar(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def _clip(text: str, limit: int = MAX_SUMMARY) -> str:
    text = _one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


_FIRST_PARA_SKIP = re.compile(r"^\s*(?:#|!!!|<!--|>|\||```|~~~|!\[|[-*+]\s|\d+[.)]\s)")


def _first_paragraph(body: str) -> str:
    """Plain text of the body's first prose paragraph (for a summary when the source has none)."""
    para: list[str] = []
    for line in body.split("\n"):
        if not line.strip():
            if para:
                break
            continue
        if not para and _FIRST_PARA_SKIP.match(line):
            continue
        para.append(line.strip())
    text = " ".join(para)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"[*_`]+", "", text).replace("\\", "")
    return _one_line(text)


def _type_meets(t: str, sections: dict[str, list[str]], found: dict[str, str]) -> bool:
    """True if the body has every required `##` section for type `t`, each non-empty."""
    for required in sections.get(t, []):
        names = [n.strip().lower() for n in required.split("|") if n.strip()]
        if not any(found.get(n, "").strip() for n in names):
            return False
    if t in ("howto", "runbook") and "steps" in found:
        if not re.search(r"^\s{0,3}\d{1,3}[.)]\s+\S", found["steps"], re.M):
            return False
    return True


def choose_type(body: str, preferred: str | None, sections: dict[str, list[str]], fallback: str = "reference") -> str:
    """The article type: `preferred` if the body satisfies it, else the first type it satisfies.

    Candidates after `preferred`: troubleshooting, known-issue, howto; then `fallback`
    (reference or faq, which require nothing).
    """
    _, secs, _ = parse_structure(body, 1)
    found: dict[str, str] = {}
    for s in secs:
        found.setdefault(s.title.strip().lower(), s.text)
    for t in [preferred] + ["troubleshooting", "known-issue", "howto"]:
        if t and t not in ("reference", "faq", "runbook") and sections.get(t) and _type_meets(t, sections, found):
            return t
    return fallback


def _fences(lines: list[str], quoted: bool = True) -> list[int]:
    """Per line: 0 prose, 1 fence opener, 2 inside a fenced block, 3 fence closer.

    A closer is the opener's character repeated at least as often, nothing after it, and
    indented less than four columns more than the opener (CommonMark's rule, relative to a
    list item). `quoted`: fences may follow `>` marks.
    """
    opener = re.compile(r"^([ \t>]*)(`{3,}|~{3,})(.*)$" if quoted else r"^([ \t]*)(`{3,}|~{3,})(.*)$")
    kinds: list[int] = []
    fence: tuple[str, int, int] | None = None
    for line in lines:
        m = opener.match(line)
        if fence is None:
            if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                fence = (m.group(2)[0], len(m.group(2)), len(m.group(1)))
                kinds.append(1)
            else:
                kinds.append(0)
        elif (m and m.group(2)[0] == fence[0] and len(m.group(2)) >= fence[1] and not m.group(3).strip()
              and len(m.group(1)) < fence[2] + 4):
            fence = None
            kinds.append(3)
        else:
            kinds.append(2)
    return kinds


def _code_mask(lines: list[str], quoted: bool = True) -> list[bool]:
    """Which lines are inside (or are) fenced code blocks."""
    return [k != 0 for k in _fences(lines, quoted)]


def _tidy(body: str) -> str:
    """Normalise whitespace the way every Markdown reader agrees on.

    Runs of blank lines (outside code) become one; trailing whitespace goes, except two
    spaces that make a hard line break inside a paragraph; a closing code fence gets its
    opener's indentation (CommonMark accepts up to three more columns, Python-Markdown
    and the linter do not).
    """
    lines = body.split("\n")
    kinds = _fences(lines)
    out: list[str] = []
    opener_prefix = ""
    for n, (line, kind) in enumerate(zip(lines, kinds)):
        prefix = line[: len(line) - len(line.lstrip(" \t>"))]
        if kind == 1:
            opener_prefix = prefix
        elif kind == 3 and prefix != opener_prefix and prefix.count(">") == opener_prefix.count(">"):
            line = opener_prefix + line.strip(" \t>")
        stripped = line.rstrip(" \t")
        if kind == 0 and not stripped:
            if out and out[-1] == "":
                continue
            out.append("")
            continue
        if (kind == 0 and line.endswith("  ") and stripped.strip(" \t>") and n + 1 < len(lines)
                and kinds[n + 1] == 0 and lines[n + 1].strip(" \t>")):
            stripped += "  "  # a hard line break inside a paragraph
        out.append(stripped)
    while out and out[0] == "":
        out.pop(0)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _write_article(dest_file: Path, text: str, force: bool) -> bool:
    """Write unless the file exists and `force` is off; True if written."""
    if dest_file.exists() and not force:
        return False
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest_file.with_name(f".{dest_file.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dest_file)
    return True


def _existing_ids(dest: Path) -> dict[str, Path]:
    """Ids (file stems) already used in DEST's articles/ and runbooks/."""
    out: dict[str, Path] = {}
    for sub in ("articles", "runbooks"):
        top = dest / sub
        if top.is_dir():
            for p in sorted(top.rglob("*.md")):
                out.setdefault(p.stem, p)
    return out


def _claim_id(base: str, taken: set[str], dest: Path, existing: dict[str, Path], extra: Iterable[str] = ()) -> str:
    """A free id from `base`: first `base`, then `base` with each of `extra`, then numbered.

    An id is free if no other imported article has it and DEST holds no file with that
    stem anywhere except exactly `articles/<id>.md` (which `force` may overwrite).
    """
    def free(c: str) -> bool:
        hit = existing.get(c)
        return bool(c) and c not in taken and (hit is None or hit == dest / "articles" / f"{c}.md")

    for cand in [base, *extra]:
        if free(cand):
            return cand
    n = 2
    while not free(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


# --- DocFX ------------------------------------------------------------------------------------

ALERT_TYPES = {"note": "note", "tip": "tip", "important": "important", "warning": "warning", "caution": "caution"}
TOPIC_TYPES = {
    "troubleshooting": "troubleshooting", "troubleshooting-general": "troubleshooting",
    "troubleshooting-problem-resolution": "troubleshooting", "troubleshooting-known-issue": "known-issue",
    "how-to": "howto", "howto": "howto", "tutorial": "howto", "quickstart": "howto",
    "faq": "faq", "reference": "reference", "conceptual": "reference", "overview": "reference", "article": "reference",
}
SKIP_TOPICS = {"include", "hub-page", "landing-page", "toc", "redirect"}
NOISE_CUSTOM = re.compile(r"^(?:csstroubleshoot|ci\s*\d+|has-[\w-]+|seo-[\w-]+|[\w-]*-ref)$", re.I)

_INCLUDE_RE = re.compile(r"\[!INCLUDE\s*\[([^\]]*)\]\(\s*<?([^)>\s]+)>?\s*\)\s*\]", re.I)
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
_REF_DEF_RE = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*<?)([^\s>]+)")
_LEFTOVER_RE = re.compile(r":::[a-z]|\[!(?:[A-Za-z-]+)|<xref:|\]\(xref:", re.I)
_DATE_US = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_FRONT_RE = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def _split_docfx(text: str) -> tuple[dict[str, Any] | None, str, int]:
    """(front-matter or None if the file has none, body, 1-based line of the body's start)."""
    m = _FRONT_RE.match(text)
    if not m:
        return None, text, 1
    meta = yaml.load(m.group(1) or "", Loader=_YAML_LOADER)  # noqa: S506 - safe loader
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError(f"front-matter is {type(meta).__name__}, not a mapping")
    return meta, text[m.end():], text[: m.end()].count("\n") + 1


def parse_docfx_date(value: Any) -> date | None:
    """`ms.date` as DocFX writes it (MM/DD/YYYY), or an ISO date; None if neither."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    m = _DATE_US.match(text)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [_one_line(v) for v in value if v is not None and _one_line(v)]
    text = _one_line(value)
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def docfx_tags(meta: dict[str, Any]) -> list[str]:
    """Tags from `appliesto` (product versions) and `ms.custom` (support areas, labels)."""
    tags: set[str] = set()
    for v in _as_list(meta.get("appliesto")):
        tags.add(slug(v, 60))
    for v in _as_list(meta.get("ms.custom")):
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
    body_line: int
    text: str
    id: str = ""


class _DocfxContext:
    """Per-import state shared by the conversion passes of every file."""

    def __init__(self, src: Path, dest: Path, report: ImportReport, base_url: str | None) -> None:
        self.src = src
        self.dest = dest
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
    mask = _code_mask(lines)
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
            meta, body, _ = _split_docfx(_read_text(path))
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

    return [_map_link_targets(line, fix) for line in lines]


def _link_spans(masked: str) -> list[tuple[int, int]]:
    """(start, end) of every inline link/image target: `](target)`, `](<target>)`, balanced parens allowed."""
    spans: list[tuple[int, int]] = []
    i = 0
    while (k := masked.find("](", i)) >= 0:
        j = k + 2
        while j < len(masked) and masked[j] in " \t":
            j += 1
        if masked.startswith("<", j):
            e = masked.find(">", j)
            if e > j:
                spans.append((j + 1, e))
                i = e
            else:
                i = j
            continue
        start, depth = j, 0
        while j < len(masked):
            c = masked[j]
            if c == "\\":
                j += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c in " \t":
                break
            j += 1
        j = min(j, len(masked))
        end = j
        while j < len(masked) and masked[j] in " \t":
            j += 1
        if j < len(masked) and masked[j] in "\"'(" and j > end:  # a title: "..." '...' (...)
            close = ")" if masked[j] == "(" else masked[j]
            q = masked.find(close, j + 1)
            j = q + 1 if q > 0 else len(masked)
            while j < len(masked) and masked[j] in " \t":
                j += 1
        if end > start and j < len(masked) and masked[j] == ")":  # only a complete `(target "title")`
            spans.append((start, end))
        i = max(j, k + 2)
    return spans


def _map_link_targets(line: str, fix: Callable[[str], str]) -> str:
    """`line` with every Markdown link/image target passed through `fix` (inline code untouched)."""
    if "](" not in line and "]:" not in line:
        return line
    masked = mask_inline_code(line)
    spans = _link_spans(masked) if "](" in masked else []
    rd = _REF_DEF_RE.match(masked)
    if rd:
        spans.append((rd.start(2), rd.end(2)))
    for start, end in sorted(spans, reverse=True):
        new = fix(line[start:end])
        if new != line[start:end]:
            line = line[:start] + new + line[end:]
    return line


def _image_md(attrs: dict[str, str]) -> str:
    alt = attrs.get("alt-text", "").replace("[", "\\[").replace("]", "\\]")
    src = attrs.get("source", "").strip().replace(" ", "%20")
    return f"![{alt}]({src})"


def _convert_colons(lines: list[str], ctx: _DocfxContext) -> list[str]:
    """`:::image ...:::` -> Markdown images, `:::no-loc text="x":::` -> x; `:::image-end:::` dropped.

    DocFX tabs (`## [Title](#tab/id)` ... `---`) become plain headings: the tab UI has no
    equivalent in the site's Markdown, so this is reported as a lossy conversion.
    """
    mask = _code_mask(lines)
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


def _convert_quotes(lines: list[str], ctx: _DocfxContext) -> list[str]:
    """Blockquotes: DocFX alerts -> Material admonitions; `[!div]` wrappers and `[!VIDEO]` unwrapped.

    Recursive, so alerts inside quotes (and quotes inside alerts) convert too. Fenced
    code at this level is left alone.
    """
    mask = _code_mask(lines, quoted=False)
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
            body = _convert_quotes(rest, ctx)
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
            for b in _convert_quotes(inner, ctx):
                out.append(f"{indent}> {b}" if b.strip() else f"{indent}>")
        i = j
    return out


def _drop_h1(lines: list[str]) -> tuple[list[str], str | None]:
    """Remove the title `# H1` (the title lives in front-matter) and return its text.

    Only an H1 that comes before any other heading is the title.
    """
    mask = _code_mask(lines)
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
    mask = _code_mask(lines)
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

    return [line if code else _map_link_targets(line, fix) for line, code in zip(lines, mask)]


def _report_leftovers(body: str, ctx: _DocfxContext) -> None:
    """Any DocFX syntax still in the prose after conversion is reported as unconverted."""
    lines = body.split("\n")
    for line, code in zip(lines, _code_mask(lines)):
        if code:
            continue
        masked = mask_inline_code(line)
        masked = re.sub(r"<!--.*?-->", "", masked)
        for m in _LEFTOVER_RE.finditer(masked):
            close = ":::" if masked.startswith(":::", m.start()) else "]"
            end = masked.find(close, m.end())
            snippet = line[m.start(): end + len(close) if end >= 0 else m.start() + 60].strip()
            ctx.unconverted("docfx-extension", f"DocFX syntax left as text: {snippet[:80]}", snippet)


def _fix_anchors(bodies: dict[str, str], files: list[_DocfxFile], h1s: dict[str, str | None], ctx: _DocfxContext,
                 headings_of: Callable[[str], list[Heading]]) -> dict[str, str]:
    """Point anchors at the site's heading slugs.

    DocFX slugs headings GitHub-style (`a---b`, `method-1-use-x`), the site with
    Python-Markdown's toc; a link to the removed H1 goes to the page itself; an
    anchor the page has besides its headings (`<a id=..>`/`<a name=..>`, any HTML `id`,
    `{: #id}`; `content.extra_anchors`) is kept as is. Anything else is a source problem.
    """
    by_id = {v: k for k, v in ctx.ids.items()}
    files_by_id = {f.id: f for f in files}
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
        mask = _code_mask(lines)
        out[aid] = "\n".join(line if code or "#" not in line else _map_link_targets(line, fix)
                             for line, code in zip(lines, mask))
    return out


def _assign_docfx_ids(files: list[_DocfxFile], dest: Path) -> None:
    """Ids from file names; a clash takes parent folders as a prefix until unique."""
    existing = _existing_ids(dest)
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
        f.id = _claim_id(base, taken, dest, existing, extra)
        taken.add(f.id)


def import_docfx(src: Path | str, dest: Path | str, force: bool = False, progress: Progress | None = None, *,
                 owner: str = DEFAULT_OWNER, base_url: str | None = DOCFX_BASE_URL,
                 sections: dict[str, list[str]] | None = None) -> ImportReport:
    """Import a DocFX (Microsoft Docs) Markdown tree from `src` into the KB at `dest`.

    Every `.md` file with front-matter becomes `dest/articles/<id>.md`; files without
    front-matter (includes, fragments) and `ms.topic: include` files are skipped (and
    inlined where `[!INCLUDE]`d). `owner` is used when a file has neither `ms.author` nor
    `author`; `base_url` prefixes site-root links (`/office/...`), None keeps them;
    `sections` is the required-sections table (config `sections`) used to pick types.
    """
    t0 = time.perf_counter()
    src = Path(src).resolve()
    dest = Path(dest).resolve()
    if not src.is_dir():
        raise ImportProblem(f"source directory not found: {src}")
    if dest == src or src in dest.parents:
        raise ImportProblem(f"destination {dest} is inside the source {src}; choose a folder outside it")
    sections = sections or DEFAULT_SECTIONS
    report = ImportReport("docfx", src, dest)
    ctx = _DocfxContext(src, dest, report, base_url)

    # Pass 1: read everything, decide what is an article, assign ids.
    paths = sorted(p for p in src.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts))
    for p in paths:
        rel = p.relative_to(src).as_posix()
        ctx.lower.setdefault(rel.lower(), rel)
    files: list[_DocfxFile] = []
    md_paths = [p for p in paths if p.suffix.lower() == ".md"]
    for p in md_paths:
        rel = p.relative_to(src).as_posix()
        try:
            text = _read_text(p)
        except (OSError, UnicodeDecodeError) as e:
            reason = f"unreadable: {e.strerror}" if isinstance(e, OSError) else "not valid UTF-8"
            report.skipped.append(Skipped(rel, reason))
            ctx.nonarticles[rel] = reason
            continue
        try:
            meta, body, body_line = _split_docfx(text)
        except (ValueError, yaml.YAMLError) as e:
            reason = f"invalid YAML front-matter: {str(e).splitlines()[0]}"
            report.skipped.append(Skipped(rel, reason))
            ctx.nonarticles[rel] = reason
            continue
        reason = None
        if meta is None:
            reason = "no front-matter: not an article (DocFX include or fragment)"
        elif str(meta.get("ms.topic", "")).strip().lower() in SKIP_TOPICS:
            reason = f"ms.topic {meta.get('ms.topic')!s}: not an article"
        elif meta.get("redirect_url"):
            reason = f"redirect stub to {meta.get('redirect_url')}"
        elif not body.strip():
            reason = "empty body"
        if reason:
            report.skipped.append(Skipped(rel, reason))
            ctx.nonarticles[rel] = reason
            continue
        files.append(_DocfxFile(rel, p, meta, body, body_line, text))  # type: ignore[arg-type]
    included: Counter[str] = Counter()
    for f in files:
        if "[!" in f.body:
            for m in _INCLUDE_RE.finditer(f.body):
                rel, exists = ctx.resolve(f.path.parent, m.group(2))
                if rel and exists:
                    included[rel] += 1
    for f in [f for f in files if f.rel in included]:
        reason = f"included by {included[f.rel]} file(s), inlined there: not an article"
        report.skipped.append(Skipped(f.rel, reason))
        ctx.nonarticles[f.rel] = reason
        files.remove(f)
    _assign_docfx_ids(files, dest)
    ctx.ids = {f.rel: f.id for f in files}

    # Pass 2: convert every body (links need every id, anchors every converted body).
    bodies: dict[str, str] = {}
    h1s: dict[str, str | None] = {}
    for f in files:
        ctx.file = f
        lines = f.body.split("\n")
        lines = _inline_includes(lines, f.path.parent, ctx)
        lines = _convert_colons(lines, ctx)
        lines = _convert_quotes(lines, ctx)
        lines, h1s[f.id] = _drop_h1(lines)
        lines = _rewrite_links(lines, ctx)
        body = _tidy("\n".join(lines))
        _report_leftovers(body, ctx)
        bodies[f.id] = body
        if progress:
            progress(len(bodies), 2 * len(files))

    heading_cache: dict[str, list[Heading]] = {}

    def headings_of(aid: str) -> list[Heading]:
        if aid not in heading_cache:
            heading_cache[aid] = parse_structure(bodies[aid], 1)[0]
        return heading_cache[aid]

    bodies = _fix_anchors(bodies, files, h1s, ctx, headings_of)

    # Pass 3: front-matter, type, write.
    today = date.today()
    for n, f in enumerate(files, 1):
        ctx.file = f
        meta, body, notes = f.meta, bodies[f.id], []
        h1 = h1s[f.id]
        title = _one_line(meta.get("title")) or _one_line(h1) or Path(f.rel).stem.replace("-", " ")
        if not _one_line(meta.get("title")):
            notes.append("no title in front-matter: used the H1" if h1 else "no title or H1: used the file name")
        summary = _clip(meta.get("description") or "")
        if not summary:
            summary = _clip(_first_paragraph(body)) or title
            notes.append("no description: summary taken from the first paragraph")
        raw_date = meta.get("ms.date", meta.get("date"))
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
        owner_val = slug(_one_line(meta.get("ms.author") or meta.get("author")), 60) or owner
        parts = Path(f.rel).parts
        product = slug(parts[0], 40) if len(parts) > 1 else None
        component = slug(parts[1], 40) if len(parts) > 2 else None
        if product is None:
            applies = _as_list(meta.get("appliesto"))
            product = slug(applies[0], 40) if applies else None
        topic = str(meta.get("ms.topic") or "").strip().lower()
        preferred = TOPIC_TYPES.get(topic)
        fallback = "faq" if preferred == "faq" else "reference"
        type_ = choose_type(body, preferred, sections, fallback)
        if preferred and preferred != type_ and preferred not in ("reference", "faq"):
            need = ", ".join(f"## {s}" for s in sections.get(preferred, []))
            notes.append(f"ms.topic {topic} but the body lacks non-empty {need}: imported as {type_}")
        aliases = [h1] if h1 and h1.strip().lower() != title.strip().lower() else []
        fm = {
            "id": f.id, "title": title, "type": type_, "status": "published", "audience": "public",
            "owner": owner_val, "summary": summary, "product": product, "component": component,
            "tags": docfx_tags(meta), "created": reviewed, "last_reviewed": reviewed, "aliases": aliases,
        }
        out_rel = f"articles/{f.id}.md"
        if _write_article(dest / out_rel, render_front_matter(fm) + "\n" + body, force):
            report.imported.append(Imported(f.rel, out_rel, f.id, type_, "published", "public", notes))
        else:
            report.skipped.append(Skipped(f.rel, f"exists: {out_rel} (use --force to overwrite)"))
        if progress:
            progress(len(files) + n, 2 * len(files))

    for dest_rel, source_file in sorted(ctx.assets.items()):
        target = dest / dest_rel
        if target.exists() and not force:
            if target.read_bytes() != source_file.read_bytes():
                report.skipped.append(Skipped(source_file.relative_to(src).as_posix(),
                                              f"exists: {dest_rel} (use --force to overwrite)"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_file, target)
        report.assets.append(dest_rel)
    report.seconds = time.perf_counter() - t0
    return report


# --- Zendesk ----------------------------------------------------------------------------------

_ZD_ARTICLE_RE = re.compile(r"/hc/(?:[A-Za-z-]+/)?articles/(\d+)")


def _zd_date(value: Any) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).date()
    except ValueError:
        return parse_docfx_date(text[:10])


def _load_zendesk(path: Path) -> tuple[list[Any], dict[int, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ImportProblem(f"export file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ImportProblem(f"cannot read {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise ImportProblem(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from None
    sections: dict[int, str] = {}
    if isinstance(data, dict):
        for s in data.get("sections") or []:
            if isinstance(s, dict) and s.get("id") is not None and s.get("name"):
                sections[s["id"]] = str(s["name"])
        data = data.get("articles")
    if not isinstance(data, list):
        raise ImportProblem(f"{path}: expected a Help Center export: a JSON object with an 'articles' list, or a list")
    return data, sections


def _zd_convert(article: dict[str, Any], ids: dict[int, str], source: str,
                report: ImportReport) -> tuple[str, list[str]]:
    """Article HTML -> Markdown (markdownify), with links to exported articles rewritten."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    notes: list[str] = []
    base = str(article.get("html_url") or "")
    old_host = urlsplit(base).netloc
    soup = BeautifulSoup(str(article.get("body") or ""), "html.parser")

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

    def language(el: Any) -> str:
        for node in [el, *el.find_all("code", limit=1)]:
            for cls in node.get("class") or []:
                if cls.startswith(("language-", "lang-")):
                    return cls.split("-", 1)[1]
        return ""

    md = MarkdownConverter(heading_style="ATX", bullets="-", escape_underscores=False, escape_asterisks=True,
                           table_infer_header=True, code_language_callback=language).convert_soup(soup)
    # The title is front-matter: the body's top heading level becomes `##`.
    lines = md.split("\n")
    mask = _code_mask(lines)
    levels = [len(m.group(1)) for line, code in zip(lines, mask) if not code and (m := re.match(r"^(#{1,6})\s", line))]
    shift = 2 - min(levels) if levels else 0
    if shift:
        lines = [re.sub(r"^(#{1,6})(?=\s)", lambda m: "#" * min(6, max(1, len(m.group(1)) + shift)), line)
                 if not code else line for line, code in zip(lines, mask)]
        notes.append(f"headings shifted by {shift:+d} level(s) so the top level is ##")
    # Editors' `&nbsp;` runs are layout, not content: plain spaces read and search better.
    body = "\n".join(line.replace("\u00a0", " ") if not code else line for line, code in zip(lines, mask))
    return _tidy(body), notes


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
    existing = _existing_ids(dest)
    taken: set[str] = set()
    ids: dict[int, str] = {}
    todo: list[tuple[int, dict[str, Any], str]] = []
    seen: set[Any] = set()
    for n, a in enumerate(articles):
        source = f"zendesk:{a.get('id')}" if isinstance(a, dict) else f"zendesk:articles[{n}]"
        if not isinstance(a, dict):
            report.skipped.append(Skipped(source, "not a JSON object"))
            continue
        if a.get("id") is None:
            report.skipped.append(Skipped(source, "no 'id'"))
            continue
        if a["id"] in seen:
            report.skipped.append(Skipped(source, f"duplicate article id {a['id']} (another locale?); "
                                                  "the first one was imported"))
            continue
        seen.add(a["id"])
        title = _one_line(a.get("title") or a.get("name"))
        if not title:
            report.skipped.append(Skipped(source, "no title"))
            continue
        aid = _claim_id(slug(title) or f"article-{a['id']}", taken, dest, existing,
                        [slug(f"{slug(title, 60)}-{a['id']}")])
        taken.add(aid)
        ids[a["id"]] = aid
        todo.append((a["id"], a, source))

    today = date.today()
    for n, (zid, a, source) in enumerate(todo, 1):
        aid = ids[zid]
        body, notes = _zd_convert(a, ids, source, report)
        title = _one_line(a.get("title") or a.get("name"))
        summary = _clip(_first_paragraph(body)) or title
        updated = _zd_date(a.get("updated_at")) or _zd_date(a.get("edited_at"))
        created = _zd_date(a.get("created_at"))
        if updated is None:
            updated = created or today
            notes.append(f"no valid updated_at: last_reviewed set to {updated}")
        updated = min(updated, today)
        created = min(created or updated, updated)
        status = "draft" if a.get("draft") is True else "published"
        audience = "internal" if a.get("user_segment_id") is not None else "public"
        comp = section_names.get(a.get("section_id")) if a.get("section_id") is not None else None
        if comp:
            component: str | None = slug(comp, 40)
        else:
            component = f"section-{a['section_id']}" if a.get("section_id") is not None else None
        type_ = choose_type(body, None, sections)
        url = _one_line(a.get("html_url"))
        if url and legacy_url_path(url)[0] is None:
            report.unconverted.append(Finding(source, 0, "legacy-url", f"html_url {url!r} "
                                              f"{legacy_url_path(url)[1]}; not kept in legacy_urls"))
            url = ""
        fm = {
            "id": aid, "title": title, "type": type_, "status": status, "audience": audience, "owner": owner,
            "summary": summary, "component": component,
            "tags": sorted({slug(t, 60) for t in _as_list(a.get("label_names")) if slug(t, 60)}),
            "created": created, "last_reviewed": updated, "legacy_urls": [url] if url else [],
        }
        out_rel = f"articles/{aid}.md"
        if _write_article(dest / out_rel, render_front_matter(fm) + "\n" + body, force):
            report.imported.append(Imported(source, out_rel, aid, type_, status, audience, notes))
            if url:
                report.redirects.append(Redirect(url, aid, out_rel))
        else:
            report.skipped.append(Skipped(source, f"exists: {out_rel} (use --force to overwrite)"))
        if progress:
            progress(n, len(todo))
    report.seconds = time.perf_counter() - t0
    return report
