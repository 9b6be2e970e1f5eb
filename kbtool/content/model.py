"""The content model: typed `Article`s and `KB`s, located `Diagnostic`s, and the codes and
front-matter field lists the loader checks against."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..config import AUDIENCES, STATUSES, TYPES

MAX_FILE_BYTES = 2 * 1024 * 1024
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

REQUIRED_FIELDS = ("id", "title", "type", "status", "audience", "owner", "summary", "created", "last_reviewed")
STRING_FIELDS = ("id", "title", "type", "status", "audience", "owner", "summary", "product", "component", "replaced_by")
LIST_FIELDS = ("tags", "error_codes", "aliases", "related", "legacy_urls")
DATE_FIELDS = ("created", "last_reviewed")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + STRING_FIELDS + LIST_FIELDS + DATE_FIELDS + ("review_every",))
ALLOWED = {"type": TYPES, "status": STATUSES, "audience": AUDIENCES}

# Diagnostic codes the loader emits; `lint` documents them in its rule registry.
UNREADABLE = "KB001"
ENCODING = "KB002"
EMPTY_OR_HUGE = "KB003"
NO_FRONT_MATTER = "KB004"
INVALID_YAML = "KB005"
NOT_A_MAPPING = "KB006"
MISSING_FIELD = "KB101"
WRONG_TYPE = "KB102"
BAD_VALUE = "KB103"
BAD_ID = "KB104"
DUPLICATE_ID = "KB105"
UNKNOWN_KEY = "KB106"
BAD_DATE = "KB107"
DUPLICATE_KEY = "KB108"


@dataclass(frozen=True)
class Diagnostic:
    """A located problem. `line`/`column` are 1-based; 0 means "the whole file"."""

    path: Path
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int
    slug: str


@dataclass(frozen=True)
class Section:
    """A `##` section: its heading and the text up to the next heading of level <= 2."""

    title: str
    line: int
    text: str


@dataclass(frozen=True)
class Link:
    """A link or image in a body. `line`/`column` (1-based) point at its `[`, `![` or `<`;
    `text` is its raw Markdown text ("" for HTML); `kind` is "inline" (`[t](u)`), "image"
    (`![a](u)`), "reference" (`[t][r]`, `[r][]` or `[r]`, with the target of definition `r`)
    or "html" (`<a href>`, `<img src>`)."""

    target: str
    text: str
    line: int
    column: int
    image: bool
    kind: str = "inline"


@dataclass
class Article:
    path: Path
    rel_path: str
    kind: str  # "article" or "runbook", from the folder
    id: str
    title: str
    type: str
    status: str
    audience: str
    owner: str
    summary: str
    created: date | None
    last_reviewed: date | None
    body: str
    body_line: int
    content_hash: str
    product: str | None = None
    component: str | None = None
    review_every: int | None = None
    replaced_by: str | None = None
    tags: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    legacy_urls: list[str] = field(default_factory=list)  # old URLs of this article (a former help center)
    meta: dict[str, Any] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)
    headings: list[Heading] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    valid: bool = True

    @property
    def is_public(self) -> bool:
        """True only for content customers may see: published *and* public, never a runbook."""
        return self.status == "published" and self.audience == "public" and self.type != "runbook"

    def section(self, title: str) -> Section | None:
        want = title.strip().lower()
        return next((s for s in self.sections if s.title.strip().lower() == want), None)

    def line_of(self, key: str) -> int:
        return self.field_lines.get(key, 1)

    @property
    def anchors(self) -> set[str]:
        """Every `#fragment` the article's page has: heading ids (toc slugs or attr-list
        `{#id}`), `{: #id}` attribute lists on blocks, and `id`/`<a name>` of raw HTML."""
        from .markdown import extra_anchors

        return {h.slug for h in self.headings} | extra_anchors(self.body)

    @property
    def text(self) -> str:
        """The body as plain-ish text (no link targets, markup or comments), for matching."""
        from .markdown import plain_text

        return plain_text(self.body)

    def to_dict(self) -> dict[str, Any]:
        """Front-matter fields (normalised) plus `path`, for JSON output."""
        out: dict[str, Any] = {
            "id": self.id, "title": self.title, "type": self.type, "status": self.status,
            "audience": self.audience, "owner": self.owner, "summary": self.summary,
            "product": self.product, "component": self.component, "tags": self.tags,
            "created": self.created.isoformat() if self.created else None,
            "last_reviewed": self.last_reviewed.isoformat() if self.last_reviewed else None,
            "review_every": self.review_every, "error_codes": self.error_codes,
            "aliases": self.aliases, "related": self.related, "replaced_by": self.replaced_by,
            "legacy_urls": self.legacy_urls, "path": self.rel_path,
        }
        return out


@dataclass
class KB:
    root: Path
    articles: list[Article]
    diagnostics: list[Diagnostic]
    by_id: dict[str, Article] = field(default_factory=dict)
    by_path: dict[Path, Article] = field(default_factory=dict)

    def get(self, article_id: str) -> Article | None:
        return self.by_id.get(article_id)

    @property
    def valid_articles(self) -> list[Article]:
        return [a for a in self.articles if a.valid]

    def resolve_link(self, source: Article, target: str) -> tuple[Path | None, str]:
        """The file a relative link points at (None for external links) and its anchor."""
        from .markdown import is_external

        if is_external(target):
            return None, ""
        path_part, _, anchor = target.partition("#")
        if not path_part:
            return source.path, anchor
        return (source.path.parent / unquote(path_part)).resolve(), anchor

    def successor(self, article: Article) -> Article | None:
        """Follow `replaced_by` to the live article (cycles and dead ends give None)."""
        seen = {article.id}
        cur = article
        while cur.status == "retired" and cur.replaced_by:
            nxt = self.by_id.get(cur.replaced_by)
            if nxt is None or nxt.id in seen:
                return None
            seen.add(nxt.id)
            cur = nxt
        return cur if cur is not article and cur.status != "retired" else None
