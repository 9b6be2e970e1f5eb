"""`kbtool new`: a fresh article or runbook from its type's template.

The template is generated from the same required-sections table lint enforces, so a
scaffolded file is lint-clean by construction (apart from the prose the author adds).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .config import TYPES, Config
from .content import discover, load_kb

# What `kbtool new` writes for the author to replace; lint's KB208 finds any of it left in an
# article that is not a draft (kbtool.lint.authoring reads these names).
PLACEHOLDER_SUMMARY = "One or two sentences on what this article solves."
PLACEHOLDER_INTRO = "Introduce the problem in a sentence or two."
PLACEHOLDER_SECTION = "Write this section."
PLACEHOLDER_SECTIONS = {
    "Symptoms": "What the customer sees: the exact error message, screen or behaviour.",
    "Cause": "Why it happens.",
    "Resolution": "1. First step.\n2. Second step.",
    "Workaround": "1. What to do until the fix ships.",
    "Status": "Open. Fix scheduled for a future release.",
    "Steps": "1. First step.\n2. Second step.",
    "When to use": "The trigger for this runbook.",
    "Prerequisites": "- Access needed before starting.",
    "Verification": "How to confirm the steps worked.",
    "Escalation": "Who to page, and when.",
}


class ScaffoldError(Exception):
    pass


def slug_id(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-") or "article"


def new_article(config: Config, type_: str, title: str, today: date | None = None, owner: str = "support") -> Path:
    """Write a new article (or runbook) for `title`; returns its path.

    The id is derived from the title and made unique against every id in the KB
    (ids are never reused, so retired ones count too). Refuses to overwrite.
    """
    if type_ not in TYPES:
        raise ScaffoldError(f"unknown type {type_!r} (choose from {', '.join(TYPES)})")
    if not title.strip():
        raise ScaffoldError("the title must not be empty")
    today = today or date.today()
    kb = load_kb(config.kb)
    taken = set(kb.by_id) | {a.path.stem for a in kb.articles}
    # Files that failed to load (bad YAML, bad encoding, dangling symlinks) still own their name.
    files, problems = discover(kb.root)
    taken |= {f.stem for f in files} | {d.path.stem for d in problems}
    base = slug_id(title)
    new_id, n = base, 2
    while new_id in taken:
        new_id, n = f"{base}-{n}", n + 1
    folder = config.runbooks_dir if type_ == "runbook" else config.articles_dir
    path = folder / f"{new_id}.md"
    if path.exists():
        raise ScaffoldError(f"{path} already exists; refusing to overwrite")
    meta: dict[str, Any] = {
        "id": new_id, "title": title.strip(), "type": type_, "status": "draft",
        "audience": "internal" if type_ == "runbook" else "public", "owner": owner,
        "summary": PLACEHOLDER_SUMMARY,
        "product": "", "tags": [], "created": today.isoformat(), "last_reviewed": today.isoformat(),
    }
    meta = {k: v for k, v in meta.items() if v != ""}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=None).strip()
    parts = [f"---\n{front}\n---\n", PLACEHOLDER_INTRO + "\n"]
    for heading in config.sections.get(type_, []):
        name = heading.split("|")[0]
        parts.append(f"## {name}\n\n{PLACEHOLDER_SECTIONS.get(name, PLACEHOLDER_SECTION)}\n")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write("\n".join(parts))
    except FileExistsError:
        raise ScaffoldError(f"{path} already exists; refusing to overwrite") from None
    return path
