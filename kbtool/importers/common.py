"""What both importers share: the report, ids, front-matter, summaries, types, Markdown clean-up.

The report dataclasses (`ImportReport` and its rows) are what `kbtool import` prints and
writes as JSON. The helpers here are public within `kbtool.importers` (the DocFX and
Zendesk modules use them); `fence_kinds` labels lines by the shared CommonMark fence
scanner's blocks, and `link_spans`/`map_link_targets` find and rewrite Markdown link targets.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..content import CONTENT_DIRS, NUMBERED_STEP_RE, fence_blocks, mask_inline_code, parse_structure
from ..content import clip as clip_text

DEFAULT_OWNER = "support"
MAX_ID_LENGTH = 80
MAX_SUMMARY = 200


# --- The report -------------------------------------------------------------------------------


class ImportProblem(Exception):
    """A problem with the import as a whole (missing source, unreadable export): nothing was written."""


@dataclass
class Imported:
    source: str  # DocFX: path relative to SRC; Zendesk: "zendesk:<article id>"
    path: str  # written file, relative to DEST
    id: str
    type: str
    status: str
    audience: str
    notes: list[str] = field(default_factory=list)  # mapping decisions worth checking
    source_updated: str = ""  # the source's own last-change date (ISO), kept when last_reviewed is the import's


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
class Translation:
    """A second-locale copy set aside: the KB is one language, so it is reported, not published.

    `original` is the id of the imported article it translates ("" when the source has none).
    """

    source: str
    locale: str
    original: str = ""


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
    translations: list[Translation] = field(default_factory=list)
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
            "translations": len(self.translations),
            "types": dict(sorted(Counter(i.type for i in self.imported).items())),
        }

    def summary(self) -> str:
        c = self.counts()
        types = ", ".join(f"{t} {n}" for t, n in c["types"].items()) or "none"
        probs = Counter(p.kind for p in self.problems)
        prob_text = ", ".join(f"{k} {n}" for k, n in sorted(probs.items())) or "none"
        aside = f"; {c['translations']} translation(s) set aside" if c["translations"] else ""
        return (f"imported {c['imported']} article(s) ({types}); skipped {c['skipped']}{aside}; "
                f"{c['unconverted']} construct(s) not converted; source problems: {prob_text}; "
                f"{c['assets']} asset(s) copied; {self.seconds:.1f}s")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "source": str(self.source), "dest": str(self.dest),
            "counts": self.counts(), "seconds": round(self.seconds, 3),
            "imported": [asdict(i) for i in self.imported], "skipped": [asdict(s) for s in self.skipped],
            "unconverted": [asdict(u) for u in self.unconverted], "problems": [asdict(p) for p in self.problems],
            "redirects": [asdict(r) for r in self.redirects], "assets": list(self.assets),
            "translations": [asdict(t) for t in self.translations],
        }


# --- Ids, front-matter and summaries ----------------------------------------------------------


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
# what a YAML reader would take for a number if written plain: decimals, floats, and YAML 1.1's
# 0x / 0o / 0b forms (`0x8007016a`, a Windows error code, read back as the int 2147942762)
_NUMBERISH = re.compile(r"^[-+]?(?:(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|0[xob][0-9a-f_]*)$", re.I)
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


def one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def clip(text: str, limit: int = MAX_SUMMARY) -> str:
    """`text` on one line, cut at its last word boundary with an ellipsis to fit `limit`
    (imported summaries: a word is never cut while there is a space before the limit)."""
    return clip_text(one_line(text), limit, at_word=0, trim=",;:-")


_FIRST_PARA_SKIP = re.compile(r"^\s*(?:#|!!!|<!--|>|\||```|~~~|!\[|[-*+]\s|\d+[.)]\s)")


# Each consumes a failed attempt whole (possessive runs), so a later start inside it is never
# retried: linear on a line of `[` or `<`, where `!?\[([^\]]*)\]\([^)]*\)` was quadratic.
_LINK_OR_BRACKET_RE = re.compile(r"!?\[([^\]]*+)(?:\]\([^)]*+(\)))?")
_TAG_OR_LT_RE = re.compile(r"<([^>]*+)(>?)")


def first_paragraph(body: str) -> str:
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
    text = _LINK_OR_BRACKET_RE.sub(lambda m: m.group(1) if m.group(2) else m.group(0), text)
    text = _TAG_OR_LT_RE.sub(lambda m: " " if m.group(1) and m.group(2) else m.group(0), text)
    text = re.sub(r"[*_`]+", "", text).replace("\\", "")
    return one_line(text)


def _type_meets(t: str, sections: dict[str, list[str]], found: dict[str, str]) -> bool:
    """True if the body has every required `##` section for type `t`, each non-empty."""
    for required in sections.get(t, []):
        names = [n.strip().lower() for n in required.split("|") if n.strip()]
        if not any(found.get(n, "").strip() for n in names):
            return False
    if t in ("howto", "runbook") and "steps" in found:
        if not NUMBERED_STEP_RE.search(found["steps"]):
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


# --- Dates and lists ------------------------------------------------------------------------

_DATE_US = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


def parse_docfx_date(value: Any) -> date | None:
    """`ms.date` as DocFX writes it (MM/DD/YYYY), or an ISO date; None if neither.

    Zendesk dates that are not ISO timestamps fall back to it too.
    """
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


def review_baseline(source: date, today: date, review_every: int, what: str, notes: list[str]) -> date:
    """`last_reviewed` for an imported article: the import baseline for staleness.

    The source's own date (`ms.date`, `edited_at`) is kept whenever it is still within the
    review period: it is the truth, and due-soon articles come due on their real schedule.
    An article already overdue on import gets the import date instead: migrating it is the
    team taking it over (it was converted, checked by the import and goes through lint), and
    an imported KB that starts with every old article failing KB301 teaches people to ignore
    KB301. Its first review in the KB falls due one review period after the import; the
    source date stays in the report (`Imported.source_updated` and this note).
    """
    if source + timedelta(days=review_every) >= today:
        return source
    notes.append(f"{what} {source} is more than {review_every} days old: last_reviewed set to the import date "
                 f"{today} (the import baseline; first review due {today + timedelta(days=review_every)})")
    return today


def as_list(value: Any) -> list[str]:
    """A front-matter or export value as a list of one-line strings (a string is comma-separated)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [one_line(v) for v in value if v is not None and one_line(v)]
    text = one_line(value)
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


# --- Markdown: fences, whitespace, link targets ----------------------------------------------

_REF_DEF_RE = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*<?)([^\s>]+)")


def fence_kinds(lines: list[str], unquoted_only: bool = False) -> list[int]:
    """Per line: 0 prose, 1 fence opener, 2 inside a fenced block, 3 fence closer (the shared
    CommonMark scanner's blocks; an unclosed block runs to its container's end, no closer).

    `unquoted_only`: only fences with no `>` before them count (the blockquote converter
    leaves a quote's own fences to its recursive pass over the quote's content).
    """
    kinds = [0] * len(lines)
    for f in fence_blocks(lines):
        if unquoted_only and ">" in lines[f.start][: lines[f.start].find(f.marker)]:
            continue
        last = f.end - 1 if f.closed else f.end
        kinds[f.start] = 1
        kinds[f.start + 1 : last] = [2] * (last - f.start - 1)
        if f.closed:
            kinds[last] = 3
    return kinds


def tidy(body: str) -> str:
    """Normalise whitespace the way every Markdown reader agrees on.

    Runs of blank lines (outside code) become one; trailing whitespace goes, except two
    spaces that make a hard line break inside a paragraph; a closing code fence gets its
    opener's indentation (CommonMark accepts up to three more columns, Python-Markdown
    and the linter do not).
    """
    lines = body.split("\n")
    kinds = fence_kinds(lines)
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


def link_spans(masked: str) -> list[tuple[int, int]]:
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


def map_link_targets(line: str, fix: Callable[[str], str]) -> str:
    """`line` with every Markdown link/image target passed through `fix` (inline code untouched)."""
    if "](" not in line and "]:" not in line:
        return line
    masked = mask_inline_code(line)
    spans = link_spans(masked) if "](" in masked else []
    rd = _REF_DEF_RE.match(masked)
    if rd:
        spans.append((rd.start(2), rd.end(2)))
    for start, end in sorted(spans, reverse=True):
        new = fix(line[start:end])
        if new != line[start:end]:
            line = line[:start] + new + line[end:]
    return line


# --- Writing into DEST ----------------------------------------------------------------------


def write_article(dest_file: Path, text: str, force: bool) -> bool:
    """Write unless the file exists and `force` is off; True if written."""
    if dest_file.exists() and not force:
        return False
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest_file.with_name(f".{dest_file.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dest_file)
    return True


def existing_ids(dest: Path) -> dict[str, Path]:
    """Ids (file stems) already used in DEST's articles/ and runbooks/."""
    out: dict[str, Path] = {}
    for sub in CONTENT_DIRS:
        top = dest / sub
        if top.is_dir():
            for p in sorted(top.rglob("*.md")):
                out.setdefault(p.stem, p)
    return out


def claim_id(base: str, taken: set[str], dest: Path, existing: dict[str, Path], extra: Iterable[str] = ()) -> str:
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
