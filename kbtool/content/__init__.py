"""The content model: KB files in, typed `Article`s and located `Diagnostic`s out.

Every other package (lint, index, suggest, site, api) reads the KB through `load_kb`, so
there is exactly one interpretation of a file, and asks `content.markdown` (the one
Markdown scanner) about fences, headings, slugs, links and plain text.

- `model`: `Article`, `KB`, `Diagnostic`, `Heading`, `Section`, `Link`, diagnostic codes, field lists.
- `loader`: `load_kb`, `load_article`, `discover`, the YAML front-matter loader, `legacy_url_path`.
- `markdown`: `fence_mask`, `iter_prose_lines`, `parse_structure`, `heading_slug`, `plain_text`, `clip`, ...
"""

from .loader import CONTENT_DIRS, decode, discover, legacy_page_file, legacy_url_path, load_article, load_kb, parse_date
from .markdown import (
    INLINE_CODE_RE,
    LINK_RE,
    NUMBERED_STEP_RE,
    PAGE_RELATED_ANCHOR,
    PAGE_TITLE_ANCHOR,
    Fence,
    InlineLink,
    clip,
    extra_anchors,
    fence_blocks,
    fence_mask,
    fences,
    heading_slug,
    heading_text,
    inline_links,
    is_external,
    iter_prose_lines,
    mask_comments,
    mask_inline_code,
    match_link,
    parse_atx,
    parse_structure,
    plain_text,
    split_heading_attrs,
    unclosed_fences,
)
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
    Heading,
    Link,
    Section,
)

__all__ = [
    "CONTENT_DIRS",
    "ALLOWED", "BAD_DATE", "BAD_ID", "BAD_VALUE", "DATE_FIELDS", "DUPLICATE_ID", "DUPLICATE_KEY", "EMPTY_OR_HUGE",
    "ENCODING", "ID_RE", "INLINE_CODE_RE", "INVALID_YAML", "ISO_DATE_RE", "KB", "KNOWN_FIELDS", "LINK_RE",
    "LIST_FIELDS", "MAX_FILE_BYTES", "MISSING_FIELD", "NOT_A_MAPPING", "NO_FRONT_MATTER", "NUMBERED_STEP_RE", "PAGE_RELATED_ANCHOR", "PAGE_TITLE_ANCHOR",
    "REQUIRED_FIELDS", "STRING_FIELDS", "UNKNOWN_KEY", "UNREADABLE", "WRONG_TYPE", "Article", "Diagnostic", "Fence",
    "Heading", "InlineLink", "Link", "Section", "clip", "decode", "discover", "extra_anchors",
    "fence_blocks", "fence_mask", "fences", "heading_slug", "heading_text", "inline_links", "is_external",
    "iter_prose_lines", "legacy_page_file", "legacy_url_path", "load_article", "load_kb", "mask_comments",
    "mask_inline_code", "match_link", "parse_atx", "parse_date", "parse_structure", "plain_text",
    "split_heading_attrs", "unclosed_fences",
]
