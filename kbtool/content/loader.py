"""The loader: KB files in, typed `Article`s and located `Diagnostic`s out.

Every other module (lint, index, suggest, site, api) reads the KB through `load_kb`,
so there is exactly one interpretation of a file. Loading is strict — every problem
becomes a diagnostic with file and line — but never stops at one bad file.

python-frontmatter does the splitting; its YAML step gets our own safe loader because
the stock one fails silently in ways that matter for a KB: YAML 1.1 reads `NO`/`on`
as booleans and turns dates into `datetime.date` (or raises on `2024-02-30`). Ours
follows YAML 1.2's core schema for booleans, keeps dates as strings for us to
validate with a located message, and records the line of every key.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from frontmatter.default_handlers import YAMLHandler

from .markdown import parse_structure
from .model import (
    ALLOWED,
    BAD_DATE,
    BAD_ID,
    BAD_VALUE,
    DATE_FIELDS,
    DUPLICATE_ID,
    DUPLICATE_KEY,
    EMPTY_OR_HUGE,
    ENCODING,
    ID_RE,
    INVALID_YAML,
    ISO_DATE_RE,
    KB,
    KNOWN_FIELDS,
    LIST_FIELDS,
    MAX_FILE_BYTES,
    MISSING_FIELD,
    NO_FRONT_MATTER,
    NOT_A_MAPPING,
    REQUIRED_FIELDS,
    STRING_FIELDS,
    UNKNOWN_KEY,
    UNREADABLE,
    WRONG_TYPE,
    Article,
    Diagnostic,
)

# --- Legacy URLs -------------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\\]")
_HTML_SUFFIXES = (".html", ".htm")


def legacy_url_path(url: str) -> tuple[str | None, str]:
    """The site path a `legacy_urls` entry names, or (None, why not).

    An entry is an absolute `http(s)://host/path` URL (where the article used to live, e.g.
    a Zendesk `html_url`) or a site-absolute `/path`. The path is returned percent-decoded,
    without leading or trailing slashes: `https://help.example.com/hc/en-us/articles/1-Foo/`
    -> `hc/en-us/articles/1-Foo`. Hosts are not compared: a redirect page is written at the
    path, for whichever host serves the new site. Query strings and `#fragments` are
    refused, because a static page cannot redirect by them.
    """
    text = url.strip()
    if not text:
        return None, "is empty"
    parts = urlsplit(text)
    if parts.scheme or text.startswith("//"):
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return None, "must be an http(s):// URL or a path starting with '/'"
    elif not text.startswith("/"):
        return None, "must be an http(s):// URL or a path starting with '/'"
    if parts.query:
        return None, "has a query string ('?…'): a static site cannot redirect by query"
    if parts.fragment:
        return None, "has a '#fragment': a static site cannot redirect by fragment"
    path = unquote(parts.path)
    if _CONTROL_RE.search(path):
        return None, "has a control character or backslash in its path"
    segments = [seg for seg in path.split("/") if seg]
    if any(seg in (".", "..") for seg in segments):
        return None, "has '.' or '..' in its path"
    if any(len(seg.encode("utf-8")) > 255 for seg in segments):
        return None, "has a path segment over 255 bytes, too long for a file name"
    if not segments:
        return None, "has no path: the site's home page cannot redirect to an article"
    return "/".join(segments), ""


def legacy_page_file(path: str) -> str:
    """The file that answers a legacy path on a static host: `a/b.html` as is, else `a/b/index.html`."""
    return path if path.lower().endswith(_HTML_SUFFIXES) else f"{path}/index.html"


# --- YAML -------------------------------------------------------------------------

# YAML 1.1's int/float resolvers are dropped too: they silently rewrite values such as
# `0x80070005` (-> 2147942405), `1:30` (-> 90), `010` (-> 8) or `3.10` (-> 3.1). Only
# canonical decimal integers stay numbers, so `str(value)` always gives back the text.
_DROPPED_TAGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _kb_loader(base: type) -> Any:
    """`base` (libyaml's `CSafeLoader` or the pure-Python `SafeLoader`) with YAML 1.2 booleans
    (true/false only), canonical decimal ints and no implicit timestamps. The C loader scans,
    parses and composes in C but still resolves and constructs through these Python tables,
    so both read a document the same way; the C one loads a 10k KB in about a third of the CPU time."""
    cls: Any = type(f"_KB{base.__name__}", (base,), {"__doc__": _kb_loader.__doc__})
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    cls.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:0|-?[1-9][0-9]*)$"), list("-0123456789"))
    return cls


PURE_LOADER = _kb_loader(yaml.SafeLoader)
C_LOADER = _kb_loader(yaml.CSafeLoader) if getattr(yaml, "__with_libyaml__", False) else None
_KBLoader = C_LOADER or PURE_LOADER

ALIAS_MESSAGE = "YAML aliases are not allowed in front-matter"


def _first_alias(fm: str) -> Any:
    """Where (a YAML mark) the first `*alias` of `fm` is, else None. Aliases are refused outright: a few
    KB of nested aliases (a "billion laughs") expand to gigabytes in whatever walks the
    values, and front-matter never needs them. Events are read in one linear pass, and only
    when the text has a `*` at all."""
    if "*" not in fm:
        return None
    loader = _KBLoader(fm)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                return event.start_mark
        return None
    finally:
        loader.dispose()


class _Handler(YAMLHandler):
    """python-frontmatter's YAML handler, loading with `_KBLoader` and noting key lines."""

    def __init__(self) -> None:
        self.key_lines: dict[str, int] = {}
        self.duplicate_keys: list[tuple[str, int]] = []

    def load(self, fm: str, **kwargs: object) -> Any:
        alias = _first_alias(fm)
        if alias is not None:
            raise yaml.MarkedYAMLError(problem=ALIAS_MESSAGE, problem_mark=alias)
        loader = _KBLoader(fm)
        try:
            node = loader.get_single_node()
            if isinstance(node, yaml.MappingNode):
                for key_node, _ in node.value:
                    key = str(key_node.value)
                    line = key_node.start_mark.line
                    if key in self.key_lines:
                        self.duplicate_keys.append((key, line))
                    else:
                        self.key_lines[key] = line
            return loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()


# --- Loading ----------------------------------------------------------------------


class _Problems:
    """Collects a file's diagnostics so each check is one short line."""

    def __init__(self, path: Path, lines: dict[str, int] | None = None) -> None:
        self.path = path
        self.lines = lines or {}
        self.items: list[Diagnostic] = []

    def add(self, code: str, message: str, line: int = 0, column: int = 0, severity: str = "error") -> None:
        self.items.append(Diagnostic(self.path, line, column, code, message, severity))

    def at(self, key: str, code: str, message: str, severity: str = "error") -> None:
        self.add(code, message, self.lines.get(key, 1), 1, severity)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "an empty value"
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__
    )


def _did_you_mean(value: str, options: tuple[str, ...] | frozenset[str]) -> str:
    close = get_close_matches(value, sorted(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_date(value: Any) -> date | None:
    """An ISO `YYYY-MM-DD` date, or None. YAML dates arrive as strings from our loader."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DATE_RE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def decode(raw: bytes, problems: _Problems) -> str | None:
    """UTF-8 text (BOM dropped, CRLF/CR normalised), or None with a located diagnostic."""
    if not raw.strip():
        problems.add(EMPTY_OR_HUGE, "empty file: an article needs front-matter and a body", 1, 1)
        return None
    if b"\x00" in raw[:8192]:
        problems.add(ENCODING, "binary file (NUL bytes): not a Markdown article", 1, 1)
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # e.start counts from after a BOM (utf-8-sig strips it first); columns are
        # characters, as editors show them, not bytes.
        bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        pos = e.start + bom
        line_start = max(raw.rfind(b"\n", 0, pos) + 1, bom)
        line = raw[:pos].count(b"\n") + 1
        col = len(raw[line_start:pos].decode("utf-8", errors="replace")) + 1
        problems.add(ENCODING, f"not valid UTF-8: byte 0x{raw[pos]:02x} cannot be decoded; save the file as UTF-8", line, col)
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, problems: _Problems) -> tuple[dict[str, Any], _Handler, int, str] | None:
    handler = _Handler()
    if not handler.detect(text):
        problems.add(NO_FRONT_MATTER, "no front-matter: the file must start with a '---' line and a YAML block", 1, 1)
        return None
    try:
        fm, content = handler.split(text)
    except ValueError:
        problems.add(NO_FRONT_MATTER, "front-matter opened with '---' on line 1 is never closed with a '---' line", 1, 1)
        return None
    # Line number (1-based) of the first character of `fm`, wherever the split put it.
    opening = handler.FM_BOUNDARY.match(text)
    fm_first_line = text[: opening.end() if opening else 0].count("\n") + 1
    try:
        data = handler.load(fm)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = fm_first_line + (mark.line if mark else 0)
        col = (mark.column + 1) if mark else 1
        problems.add(INVALID_YAML, f"invalid YAML in front-matter: {e.problem or e.context}", line, col)
        return None
    except yaml.reader.ReaderError as e:  # e.g. a control character; `position` indexes `fm`
        before = fm[: e.position]
        line, col = fm_first_line + before.count("\n"), len(before) - (before.rfind("\n") + 1) + 1
        ch = e.character if isinstance(e.character, int) else ord(e.character[:1] or "\0")
        problems.add(INVALID_YAML, f"invalid YAML in front-matter: character U+{ch:04X} is not allowed ({e.reason})", line, col)
        return None
    except yaml.YAMLError as e:
        problems.add(INVALID_YAML, f"invalid YAML in front-matter: {e}", fm_first_line, 1)
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        first = fm_first_line + fm[: len(fm) - len(fm.lstrip())].count("\n")  # its first non-blank line
        problems.add(NOT_A_MAPPING, f"front-matter must be a mapping of 'key: value' lines, got {_type_name(data)}", first, 1)
        return None
    handler.key_lines = {k: fm_first_line + v for k, v in handler.key_lines.items()}
    for key, line in handler.duplicate_keys:
        problems.add(DUPLICATE_KEY, f"key {key!r} appears twice in front-matter; the later value wins", fm_first_line + line, 1)
    body_line = text[: len(text) - len(content)].count("\n") + 1
    body = content[1:] if content.startswith("\n") else content
    if content.startswith("\n"):
        body_line += 1
    return data, handler, body_line, body


def _validate_fields(meta: dict[str, Any], kind: str, stem: str, p: _Problems) -> dict[str, Any]:
    """Check types and allowed values; return normalised values (fallbacks on error)."""
    out: dict[str, Any] = {}
    for key in meta:
        if not isinstance(key, str):
            p.add(WRONG_TYPE, f"front-matter key {key!r} must be a string", 1, 1)
        elif key not in KNOWN_FIELDS:
            p.at(key, UNKNOWN_KEY, f"unknown front-matter key {key!r}{_did_you_mean(key, KNOWN_FIELDS)}", "warning")
    if kind == "runbook" or meta.get("type") == "runbook":
        meta.setdefault("audience", "internal")
    for key in REQUIRED_FIELDS:
        value = meta.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            p.at(key, MISSING_FIELD, f"missing required field {key!r}")
    for key in STRING_FIELDS:
        value = meta.get(key)
        if value is None:
            out[key] = None
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key in ("title", "summary", "owner"):
            value = str(value)
        if not isinstance(value, str):
            hint = " (quote the value if you meant the text)" if isinstance(value, bool) else ""
            p.at(key, WRONG_TYPE, f"field {key!r} must be a string, got {_type_name(value)}{hint}")
            out[key] = None
            continue
        value = value.strip()
        if key in ALLOWED and value and value not in ALLOWED[key]:
            p.at(key, BAD_VALUE, f"{key} {value!r} is not one of {', '.join(ALLOWED[key])}{_did_you_mean(value, ALLOWED[key])}")
            value = None
        out[key] = value
    for key in LIST_FIELDS:
        value = meta.get(key)
        if value is None:
            out[key] = []
        elif isinstance(value, str):
            out[key] = [value]  # a lone string is a list of one; common and harmless
        elif isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            out[key] = [str(v).strip() for v in value]
        else:
            p.at(key, WRONG_TYPE, f"field {key!r} must be a list of strings, got {_type_name(value)}")
            out[key] = []
    valid_urls: list[str] = []
    for url in out["legacy_urls"]:
        path, why = legacy_url_path(url)
        if path is None:
            p.at("legacy_urls", BAD_VALUE, f"legacy_urls entry {url!r} {why}")
        elif url not in valid_urls:
            valid_urls.append(url)
    out["legacy_urls"] = valid_urls
    for key in DATE_FIELDS:
        value = meta.get(key)
        parsed = parse_date(value)
        if value not in (None, "") and parsed is None:
            shaped = isinstance(value, str) and ISO_DATE_RE.match(value.strip())
            why = "is not a real calendar date" if shaped else "is not an ISO date (YYYY-MM-DD)"
            p.at(key, BAD_DATE, f"{key} {str(value)!r} {why}")
        out[key] = parsed
    every = meta.get("review_every")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every <= 0):
        p.at("review_every", WRONG_TYPE, f"review_every must be a positive number of days, got {_type_name(every)} {every!r}")
        every = None
    out["review_every"] = every
    if out.get("id") and not ID_RE.match(out["id"]):
        p.at("id", BAD_ID, f"id {out['id']!r} must be lowercase letters, digits and single hyphens ([a-z0-9-]+)")
    if kind == "runbook" and out.get("type") and out["type"] != "runbook":
        p.at("type", BAD_VALUE, f"files under runbooks/ must have type 'runbook', got {out['type']!r}")
    out["id"] = out.get("id") or stem
    return out


def load_article(path: Path, kb_root: Path) -> tuple[Article | None, list[Diagnostic]]:
    """Parse one file. Returns the article (None if unusable) and its diagnostics."""
    try:
        rel = path.relative_to(kb_root).as_posix()
    except ValueError:
        rel = path.as_posix()
    kind = "runbook" if rel.startswith("runbooks/") else "article"
    p = _Problems(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device named *.md would block the read forever
            p.add(UNREADABLE, "not a regular file (FIFO, socket or device); an article must be a file", 0, 0)
            return None, p.items
        size = st.st_size
        if size > MAX_FILE_BYTES:
            p.add(EMPTY_OR_HUGE, f"file is {size // 1024} KiB, over the {MAX_FILE_BYTES // 1024} KiB limit for an article", 1, 1)
            return None, p.items
        raw = path.read_bytes()
    except OSError as e:
        p.add(UNREADABLE, f"cannot read file: {e.strerror or e}", 0, 0)
        return None, p.items
    text = decode(raw, p)
    if text is None:
        return None, p.items
    split = _split_front_matter(text, p)
    if split is None:
        return None, p.items
    meta, handler, body_line, body = split
    p.lines = handler.key_lines
    v = _validate_fields(meta, kind, path.stem, p)
    headings, sections, links = parse_structure(body, body_line)
    article = Article(
        path=path, rel_path=rel, kind=kind, id=v["id"], title=v["title"] or "", type=v["type"] or "",
        status=v["status"] or "", audience=v["audience"] or "", owner=v["owner"] or "",
        summary=v["summary"] or "", created=v["created"], last_reviewed=v["last_reviewed"],
        body=body, body_line=body_line, content_hash=hashlib.sha256(raw).hexdigest(),
        product=v["product"], component=v["component"], review_every=v["review_every"],
        replaced_by=v["replaced_by"], tags=v["tags"], error_codes=v["error_codes"],
        aliases=v["aliases"], related=v["related"], legacy_urls=v["legacy_urls"], meta=meta,
        field_lines=handler.key_lines, headings=headings, sections=sections, links=links, valid=not p.has_errors,
    )
    return article, p.items


CONTENT_DIRS = ("articles", "runbooks")  # the folders of a KB that hold its Markdown files


def discover(kb_root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """Markdown files under `articles/` and `runbooks/`, sorted; broken and looping symlinks reported.

    Walks with plain strings (os.walk, os.path) and makes a Path only per result: at
    10,000 files the pathlib version was a third of a one-file index update.
    """
    found: list[str] = []
    problems: list[Diagnostic] = []
    for sub in CONTENT_DIRS:
        top = os.path.join(str(kb_root), sub)
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames.sort()
            for name in filenames:
                if not name.endswith(".md"):
                    continue
                full = os.path.join(dirpath, name)
                if os.path.islink(full):
                    try:
                        Path(full).resolve(strict=True)
                    except (OSError, RuntimeError) as e:
                        problems.append(Diagnostic(Path(full), 0, 0, UNREADABLE, f"broken or looping symlink: {e}"))
                        continue
                found.append(full)
    found.sort(key=lambda f: f.split(os.sep))
    return [Path(f) for f in found], problems


def load_kb(root: Path | str) -> KB:
    """Load every article and runbook under `root`.

    Returns all parseable articles (invalid ones flagged `valid=False`, so lint can
    still check them) and every diagnostic. Consumers that publish or index content use
    `KB.valid_articles`.
    """
    root = Path(root).resolve()
    files, diagnostics = discover(root)
    articles: list[Article] = []
    for f in files:
        article, diags = load_article(f, root)
        diagnostics.extend(diags)
        if article is not None:
            articles.append(article)
    kb = KB(root=root, articles=articles, diagnostics=diagnostics)
    for a in articles:
        kb.by_path[a.path.resolve() if a.path.is_symlink() else a.path] = a  # discover() gives absolute paths
        first = kb.by_id.get(a.id)
        if first is None:
            kb.by_id[a.id] = a
        else:
            a.valid = False
            kb.diagnostics.append(
                Diagnostic(a.path, a.line_of("id"), 1, DUPLICATE_ID, f"duplicate id {a.id!r}: also used by {first.rel_path}")
            )
    return kb
