"""`kbtool lint --fix`: safe, mechanical fixes that never touch prose.

- KB107 invalid-date: unambiguous date formats become ISO `YYYY-MM-DD`.
- KB704 trailing-whitespace: removed (outside code blocks; hard breaks are not reported).
- KB705 tag-format / KB706 unsorted-tags: tags lower-cased, de-duplicated (and sorted
  when KB706 is selected), in the list style the file already uses.
- KB118 comma-separated-list: `tags: sso, saml` becomes `tags: [sso, saml]`.
- KB802 undeclared-error-code: the code is appended to a flow-style `error_codes` (or the
  key is added before the closing `---`).

Which rules are fixable is declared in the registry (`Rule.fixable`); `FIXERS` maps each
of those codes to the step that fixes it (a test holds the two sets equal).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..content import DATE_FIELDS, KB, Article, Diagnostic
from .authoring import COMMA_LIST_FIELDS, comma_items
from .consistency import undeclared_codes
from .result import AppliedFix, LintResult
from .rules import RULES
from .tags import TAG_RE, normalise_tag

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9


# --- dates --------------------------------------------------------------------------------


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


def _date_fixable(article: Article, d: Diagnostic) -> bool:
    for key in DATE_FIELDS:
        if article.field_lines.get(key) == d.line:
            return normalise_date(article.meta.get(key)) is not None
    return False


# Loader diagnostics of fixable rules: can this one be fixed? (codes not listed: no)
_DIAGNOSTIC_FIXABLE: dict[str, Callable[[Article, Diagnostic], bool]] = {"KB107": _date_fixable}


def diagnostic_fixable(article: Article | None, d: Diagnostic) -> bool:
    """True if `--fix` can fix this loader diagnostic (KB107 with an unambiguous date)."""
    rule = RULES.get(d.code)
    check = _DIAGNOSTIC_FIXABLE.get(d.code)
    return bool(rule and rule.fixable and article is not None and check and check(article, d))


# --- line edits ---------------------------------------------------------------------------------

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


def _fix_date(lines: list[str], article: Article, line: int, at: int) -> tuple[str, str] | None:
    """Rewrite the date field on `line` of the loaded file, now at line `at` of `lines`."""
    key = next((k for k in DATE_FIELDS if article.field_lines.get(k) == line), None)
    if key is None or not 0 < at <= len(lines):
        return None
    parts = _split_key_line(lines[at - 1])
    if not parts or parts[1] != key:
        return None
    iso = normalise_date(article.meta.get(key))
    if iso is None:
        return None
    indent, _, sep, _, comment = parts
    lines[at - 1] = f"{indent}{key}{sep}{iso}{comment}"
    return key, iso


def _yaml_item(tag: str) -> str:
    return tag if TAG_RE.match(tag) else json.dumps(tag, ensure_ascii=False)


def fixed_tags(tags: list[str], sort: bool, normalise: bool) -> list[str]:
    """The tag list after the fix: normalised (when KB705 runs), de-duplicated, sorted (KB706)."""
    new: list[str] = []
    seen: set[str] = set()
    for t in tags:
        n = t
        if normalise and TAG_RE.match(normalise_tag(t)):
            n = normalise_tag(t)  # (a tag that cannot become a slug is kept as written)
        same = normalise_tag(n) if normalise else n
        if same not in seen:
            seen.add(same)
            new.append(n)
    if sort:
        new.sort()
    return new


def _fix_tags(lines: list[str], article: Article, sort: bool, normalise: bool) -> tuple[list[str], list[str]] | None:
    line = article.field_lines.get("tags")
    raw = article.meta.get("tags")
    if not line or not isinstance(raw, list) or not 0 < line <= len(lines):
        return None
    new = fixed_tags(article.tags, sort, normalise)
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


def _fix_comma_list(lines: list[str], article: Article, key: str) -> list[str] | None:
    """KB118: `key: a, b` -> `key: [a, b]` on the field's own line."""
    line = article.field_lines.get(key)
    raw = article.meta.get(key)
    if not line or not isinstance(raw, str) or not 0 < line <= len(lines):
        return None
    parts = _split_key_line(lines[line - 1])
    if not parts or parts[1] != key:
        return None
    items = comma_items(raw)
    indent, _, sep, _, comment = parts
    lines[line - 1] = f"{indent}{key}{sep}[{', '.join(map(_yaml_item, items))}]{comment}"
    return items


def _add_error_codes(lines: list[str], article: Article, codes: list[str]) -> bool:
    """KB802: append codes to a flow-style `error_codes`, or add the key before the closing `---`.
    A block-style list gets no edit (its items may carry comments)."""
    line = article.field_lines.get("error_codes")
    if line:
        parts = _split_key_line(lines[line - 1]) if 0 < line <= len(lines) else None
        if not parts or parts[1] != "error_codes" or not isinstance(article.meta.get("error_codes"), list):
            return False
        indent, key, sep, value, comment = parts
        value = value.strip()
        if not (value.startswith("[") and value.endswith("]")):
            return False
        items = [*article.error_codes, *codes]
        lines[line - 1] = f"{indent}{key}{sep}[{', '.join(json.dumps(c, ensure_ascii=False) for c in items)}]{comment}"
        return True
    close = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if close is None:
        return False
    lines.insert(close, f"error_codes: [{', '.join(json.dumps(c, ensure_ascii=False) for c in codes)}]")
    return True


def _fix_whitespace(lines: list[str], line: int) -> bool:
    if not 0 < line <= len(lines):
        return False
    stripped = lines[line - 1].rstrip(" \t")
    if stripped == lines[line - 1]:
        return False
    lines[line - 1] = stripped
    return True


# --- the fixers, one step per concern, run in this order --------------------------------------


@dataclass
class FileEdit:
    """One file being fixed: its lines, the fixable findings' lines by code, what was done."""

    article: Article
    lines: list[str]
    codes_by_line: dict[str, list[int]]  # lines of the file as loaded
    applied: list[AppliedFix] = field(default_factory=list)
    shift_after: int = 0  # lines below this one moved by `shift` (a tag list rewritten in block style)
    shift: int = 0

    def now(self, line: int) -> int:
        """Where a line of the file as loaded is now."""
        return line + self.shift if line > self.shift_after else line

    def done(self, line: int, code: str, description: str) -> None:
        self.applied.append(AppliedFix(self.article.path, line, code, description))


def fix_tags_step(edit: FileEdit) -> None:
    """KB705/KB706. Runs first: a block-style list rewrite can move the lines below it
    (the later steps find them with `edit.now`)."""
    codes = edit.codes_by_line
    if "KB705" not in codes and "KB706" not in codes:
        return
    a = edit.article
    before = len(edit.lines)
    res = _fix_tags(edit.lines, a, sort="KB706" in codes, normalise="KB705" in codes)
    if res is None:
        return
    old, new = res
    edit.done(a.line_of("tags"), "KB705" if "KB705" in codes else "KB706", f"tags {old} -> {new}")
    edit.shift_after, edit.shift = a.line_of("tags"), len(edit.lines) - before


def fix_dates_step(edit: FileEdit) -> None:
    """KB107: unambiguous dates to ISO."""
    for line in edit.codes_by_line.get("KB107", []):
        res = _fix_date(edit.lines, edit.article, line, edit.now(line))
        if res:
            edit.done(edit.now(line), "KB107", f"{res[0]}: {edit.article.meta.get(res[0])!r} -> {res[1]}")


def fix_whitespace_step(edit: FileEdit) -> None:
    """KB704: trailing blanks removed."""
    for line in sorted(set(edit.codes_by_line.get("KB704", []))):
        if _fix_whitespace(edit.lines, edit.now(line)):
            edit.done(edit.now(line), "KB704", "removed trailing whitespace")


def fix_front_matter_lists_step(edit: FileEdit) -> None:
    """KB118: comma strings split into lists; KB802: undeclared codes added to `error_codes`.
    Runs after the steps that use `edit.now` (adding a key moves the body down a line)."""
    a = edit.article
    for line in edit.codes_by_line.get("KB118", []):
        key = next((k for k in COMMA_LIST_FIELDS if a.field_lines.get(k) == line), None)
        if key is not None and (items := _fix_comma_list(edit.lines, a, key)) is not None:
            edit.done(line, "KB118", f"{key}: {a.meta.get(key)!r} -> {items}")
    if "KB802" in edit.codes_by_line:
        codes = [code for code, _, _ in undeclared_codes(a)]
        if codes and _add_error_codes(edit.lines, a, codes):
            edit.done(a.line_of("error_codes"), "KB802", f"error_codes += {codes}")


FixStep = Callable[[FileEdit], None]
STEPS: tuple[FixStep, ...] = (fix_tags_step, fix_dates_step, fix_whitespace_step, fix_front_matter_lists_step)
FIXERS: dict[str, FixStep] = {
    "KB107": fix_dates_step, "KB704": fix_whitespace_step, "KB705": fix_tags_step, "KB706": fix_tags_step,
    "KB118": fix_front_matter_lists_step, "KB802": fix_front_matter_lists_step,
}


# --- files ------------------------------------------------------------------------------------


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
    edit = FileEdit(article, text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), codes_by_line)
    wanted = {FIXERS[c] for c in codes_by_line if c in FIXERS}
    for step in STEPS:
        if step in wanted:
            step(edit)
    if not edit.applied:
        return []
    out = newline.join(edit.lines).encode("utf-8")
    if bom:
        out = b"\xef\xbb\xbf" + out
    return edit.applied if _write_atomic(path, out) else []


def _write_atomic(path: Path, data: bytes) -> bool:
    """Replace the file's contents (through symlinks, keeping its mode) by a rename."""
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True


def fix(kb: KB, result: LintResult) -> list[AppliedFix]:
    """Apply every safe fix for the fixable findings in `result`; returns the fixes made.

    Reload the KB and lint again afterwards to see what is left.
    """
    by_file: dict[Path, dict[str, list[int]]] = {}
    for f in result.findings:
        if f.fixable and f.code in FIXERS:
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
