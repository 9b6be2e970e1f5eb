"""`kbtool lint --fix`: safe, mechanical fixes that never touch prose.

- KB107 invalid-date: unambiguous date formats become ISO `YYYY-MM-DD`.
- KB704 trailing-whitespace: removed (outside code blocks; hard breaks are not reported).
- KB705 tag-format / KB706 unsorted-tags: tags lower-cased, de-duplicated (and sorted
  when KB706 is selected), in the list style the file already uses.

Edits are line-based on the original file: comments, key order, quoting of other
fields, the BOM and CRLF line endings all survive. A file that changed since it was
loaded is left alone. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .content import KB, Article
from .lint_checks import _TAG_RE, normalise_tag

if TYPE_CHECKING:
    from .config import Config
    from .lint import LintResult

FIXABLE = ("KB107", "KB704", "KB705", "KB706")

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9


@dataclass(frozen=True)
class AppliedFix:
    path: Path
    line: int
    code: str
    description: str


def _mk(y: int, m: int, d: int) -> str | None:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def normalise_date(value: Any) -> str | None:
    """The ISO form of an unambiguous non-ISO date, else None (never guesses D/M vs M/D)."""
    if isinstance(value, (date, datetime)):
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    v = value.strip()
    if m := re.fullmatch(r"(\d{4})[-/._](\d{1,2})[-/._](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?", v):
        return _mk(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", v):
        return _mk(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", v):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        if a > 12 >= b:
            return _mk(y, b, a)  # day first
        if b > 12 >= a:
            return _mk(y, a, b)  # month first
        return None  # 03/04/2025: ambiguous
    if m := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})", v):
        mon = _MONTHS.get(m[2].lower())
        return _mk(int(m[3]), mon, int(m[1])) if mon else None
    if m := re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", v):
        mon = _MONTHS.get(m[1].lower())
        return _mk(int(m[3]), mon, int(m[2])) if mon else None
    return None


_KEY_LINE_RE = re.compile(r"^(\s*)([A-Za-z_][\w-]*)(\s*:[ \t]*)(.*)$")


def _split_key_line(line: str) -> tuple[str, str, str, str, str] | None:
    """(indent, key, separator, value, comment) of a `key: value  # comment` line."""
    m = _KEY_LINE_RE.match(line)
    if not m:
        return None
    rest = m.group(4)
    if rest.startswith("#"):
        value, comment = "", rest
    else:
        cut = re.search(r"[ \t]+#", rest)
        value, comment = (rest[: cut.start()], rest[cut.start():]) if cut else (rest.rstrip(), rest[len(rest.rstrip()):])
    return m.group(1), m.group(2), m.group(3), value, comment


def _fix_date(lines: list[str], article: Article, line: int) -> tuple[str, str] | None:
    key = next((k for k in ("created", "last_reviewed") if article.field_lines.get(k) == line), None)
    if key is None or not 0 < line <= len(lines):
        return None
    parts = _split_key_line(lines[line - 1])
    if not parts or parts[1] != key:
        return None
    iso = normalise_date(article.meta.get(key))
    if iso is None:
        return None
    indent, _, sep, _, comment = parts
    lines[line - 1] = f"{indent}{key}{sep}{iso}{comment}"
    return key, iso


def _yaml_item(tag: str) -> str:
    return tag if _TAG_RE.match(tag) else json.dumps(tag, ensure_ascii=False)


def _fix_tags(lines: list[str], article: Article, sort: bool, normalise: bool) -> tuple[list[str], list[str]] | None:
    line = article.field_lines.get("tags")
    raw = article.meta.get("tags")
    if not line or not isinstance(raw, list) or not 0 < line <= len(lines):
        return None
    new: list[str] = []
    seen: set[str] = set()
    for t in article.tags:
        n = t
        if normalise and _TAG_RE.match(normalise_tag(t)):
            n = normalise_tag(t)  # (a tag that cannot become a slug is kept as written)
        same = normalise_tag(n) if normalise else n
        if same not in seen:
            seen.add(same)
            new.append(n)
    if sort:
        new.sort()
    if new == article.tags:
        return None
    parts = _split_key_line(lines[line - 1])
    if not parts or parts[1] != "tags":
        return None
    indent, _, sep, value, comment = parts
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        lines[line - 1] = f"{indent}tags{sep}[{', '.join(map(_yaml_item, new))}]{comment}"
        return article.tags, new
    if value == "":
        items = []
        i = line
        while i < len(lines) and (im := re.match(r"^(\s*)-\s+(.*?)\s*$", lines[i])):
            items.append(im)
            i += 1
        if len(items) != len(raw) or any("#" in im.group(2) for im in items):
            return None
        indent = items[0].group(1) if items else "  "
        lines[line:line + len(items)] = [f"{indent}- {_yaml_item(t)}" for t in new]
        return article.tags, new
    return None


def _fix_whitespace(lines: list[str], line: int) -> bool:
    if not 0 < line <= len(lines):
        return False
    stripped = lines[line - 1].rstrip(" \t")
    if stripped == lines[line - 1]:
        return False
    lines[line - 1] = stripped
    return True


def fix_article(article: Article, codes_by_line: dict[str, list[int]]) -> list[AppliedFix]:
    """Apply the fixes for the given codes/lines to one file; returns what was changed."""
    path = article.path
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    if hashlib.sha256(raw).hexdigest() != article.content_hash:
        return []  # edited since it was loaded: do not clobber
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text else "\n")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    applied: list[AppliedFix] = []
    # Tags first: a block-style list rewrite can change the line count below it.
    if "KB705" in codes_by_line or "KB706" in codes_by_line:
        before = len(lines)
        res = _fix_tags(lines, article, sort="KB706" in codes_by_line, normalise="KB705" in codes_by_line)
        if res is not None:
            old, new = res
            code = "KB705" if "KB705" in codes_by_line else "KB706"
            applied.append(AppliedFix(path, article.line_of("tags"), code, f"tags {old} -> {new}"))
            shift = len(lines) - before
            if shift:
                tag_line = article.line_of("tags")
                codes_by_line = {c: [ln + shift if ln > tag_line else ln for ln in lns] for c, lns in codes_by_line.items()}
    for line in codes_by_line.get("KB107", []):
        res = _fix_date(lines, article, line)
        if res:
            applied.append(AppliedFix(path, line, "KB107", f"{res[0]}: {article.meta.get(res[0])!r} -> {res[1]}"))
    for line in sorted(set(codes_by_line.get("KB704", []))):
        if _fix_whitespace(lines, line):
            applied.append(AppliedFix(path, line, "KB704", "removed trailing whitespace"))
    if not applied:
        return []
    out = newline.join(lines).encode("utf-8")
    if bom:
        out = b"\xef\xbb\xbf" + out
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(out)
        os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return []
    return applied


def fix(kb: KB, config: Config, result: LintResult) -> list[AppliedFix]:
    """Apply every safe fix for the fixable findings in `result`; returns the fixes made.

    Reload the KB and lint again afterwards to see what is left.
    """
    # `config` is unused today (fixes follow the findings) but part of the stable API.
    by_file: dict[Path, dict[str, list[int]]] = {}
    for f in result.findings:
        if f.fixable and f.code in FIXABLE:
            by_file.setdefault(f.path, {}).setdefault(f.code, []).append(f.line)
    applied: list[AppliedFix] = []
    for path, codes in sorted(by_file.items()):
        article = _article_for(kb, path)
        if article is not None:
            applied.extend(fix_article(article, codes))
    return applied


def _article_for(kb: KB, path: Path) -> Article | None:
    try:
        return kb.by_path.get(path.resolve())
    except (OSError, RuntimeError):
        return None
