"""The one place tests write articles, runbooks and KB projects.

Every test package builds its KBs from here, so a change to the content contract (a new
required field, a renamed section) is made once. Front-matter is written as YAML text the way
authors write it (dates unquoted, lists in flow style), not through a YAML dumper, so the
loader under test sees what it sees in real KBs.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

from kbtool.config import DEFAULT_SECTIONS, Config, load_config

REPO = Path(__file__).resolve().parents[1]
SAMPLE_KB = REPO / "kb"
SHARED = REPO.parent / "shared"
MKDOCS_YML = REPO / "mkdocs.yml"
SITE_URL = "https://help.example.com/"

# Field order as authors write it; a value of None drops the field.
DEFAULTS: dict[str, Any] = {
    "id": None, "title": None, "type": "howto", "status": "published", "audience": None,
    "owner": "support-team", "summary": None, "product": None, "component": None, "tags": None,
    "error_codes": None, "aliases": None, "related": None, "replaced_by": None, "legacy_urls": None,
    "created": "2025-03-14", "last_reviewed": "2026-09-02", "review_every": None,
}
_DATES = ("created", "last_reviewed")


def _yaml_value(key: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json.dumps(str(v)) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or key in _DATES:
        return str(value)
    text = str(value)
    if key in ("id", "type", "status", "audience", "owner", "product", "component", "replaced_by"):
        return text  # plain scalars, as authors write them (a bad value stays visible)
    return json.dumps(text)


def front_matter(doc_id: str, **fields: Any) -> str:
    """The `---` block for a valid article: defaults filled in, `None` drops a field.

    Pass `raw="key: value\\n"` to append lines verbatim (malformed YAML, unknown keys).
    """
    raw = fields.pop("raw", "")
    meta = {**DEFAULTS, "id": doc_id, **fields}
    if meta["title"] is None and "title" not in fields:
        meta["title"] = f"Title of {doc_id}"
    if meta["summary"] is None and "summary" not in fields:
        meta["summary"] = f"Summary of {meta['title']}."
    if meta["audience"] is None and "audience" not in fields:
        meta["audience"] = "internal" if meta["type"] == "runbook" else "public"
    lines = [f"{k}: {_yaml_value(k, v)}" for k, v in meta.items() if v is not None]
    return "---\n" + "\n".join(lines) + "\n" + raw + "---\n"


def default_body(doc_type: str, title: str, sections: dict[str, str] | None = None, intro: str | None = None) -> str:
    """An intro line and every section the type requires (numbered steps where `Steps` is one)."""
    parts = [intro if intro is not None else f"This article is about {title.lower()}."]
    required = [s.split("|")[0] for s in DEFAULT_SECTIONS.get(doc_type, [])]
    given = dict(sections or {})
    for heading in required:
        text = given.pop(heading, None) or f"Details for {heading.lower()}."
        if heading == "Steps" and not text.lstrip().startswith("1."):
            text = f"1. {text}\n2. Check the result."
        parts.append(f"## {heading}\n\n{text}")
    parts.extend(f"## {h}\n\n{t}" for h, t in given.items())
    return "\n\n".join(parts)


def article_text(doc_id: str, body: str | None = None, *, sections: dict[str, str] | None = None,
                 intro: str | None = None, **fields: Any) -> str:
    """A whole article file: front-matter, then `body` (dedented) or a default body for its type."""
    fm = front_matter(doc_id, **fields)
    if body is None:
        body = default_body(fields.get("type", DEFAULTS["type"]), fields.get("title") or f"Title of {doc_id}",
                            sections, intro)
    return f"{fm}\n{textwrap.dedent(body).strip()}\n"


def write_article(kb: Path, doc_id: str, body: str | None = None, *, folder: str | None = None,
                  sections: dict[str, str] | None = None, intro: str | None = None, **fields: Any) -> Path:
    """Write `<kb>/<folder>/<doc_id>.md` (folder: runbooks for runbooks, else articles)."""
    if folder is None:
        folder = "runbooks" if fields.get("type") == "runbook" else "articles"
    return write_file(kb, f"{folder}/{doc_id}.md",
                      article_text(doc_id, body, sections=sections, intro=intro, **fields))


def write_file(kb: Path, rel: str, data: str | bytes) -> Path:
    """Write raw text or bytes at `<kb>/<rel>` (no newline translation): for malformed files."""
    path = kb / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def copy_sample_kb(dest: Path) -> Path:
    """A private copy of the repo's sample KB (articles and runbooks) at `dest`."""
    for folder in ("articles", "runbooks"):
        shutil.copytree(SAMPLE_KB / folder, dest / folder)
    return dest


def make_project(root: Path, *, copy_sample: bool = True, toml: str = "") -> Config:
    """A project in `root`: kbtool.toml, a KB (the sample KB's copy, or empty) and its own index dir."""
    root.mkdir(parents=True, exist_ok=True)
    kb = root / "kb"
    if copy_sample:
        copy_sample_kb(kb)
    (kb / "articles").mkdir(parents=True, exist_ok=True)
    (root / "kbtool.toml").write_text(
        f'kb = "kb"\nindex_dir = ".kbtool/index"\nsite_url = "{SITE_URL}"\n{toml}', encoding="utf-8")
    return load_config(cwd=root)


# A small KB with one article of each kind the CLI lists and filters on (a public how-to, a
# troubleshooting article of another owner, an internal draft, a retired one with its successor,
# a runbook), with owner, dates and summary pinned for the assertions.
SMALL_KB: dict[str, dict[str, Any]] = {
    "billing-invoices": {"tags": ["billing", "invoices"]},
    "saml-403": {"type": "troubleshooting", "tags": ["sso"], "owner": "identity-team"},
    "draft-export": {"status": "draft", "audience": "internal", "tags": ["billing"]},
    "old-sso": {"status": "retired", "replaced_by": "saml-403"},
    "sev1-intake": {"type": "runbook", "audience": "internal", "owner": "incident-team"},
}


def write_small_kb(kb: Path) -> Path:
    """`SMALL_KB` written under `kb` (articles/ and runbooks/)."""
    (kb / "articles").mkdir(parents=True, exist_ok=True)
    (kb / "runbooks").mkdir(exist_ok=True)
    for doc_id, fields in SMALL_KB.items():
        write_article(kb, doc_id, **{"owner": "support", "summary": f"Summary of {doc_id}.", "tags": [],
                                     "created": "2024-01-10", "last_reviewed": "2024-05-20", **fields})
    return kb
