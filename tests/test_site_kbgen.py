"""Helpers shared by the help-center tests: write small KBs, configs, and read a built site.

(A test module so pytest collects it and the other test_site* modules can import it.)
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import yaml

from kbtool.config import Config

REPO = Path(__file__).resolve().parents[1]
MKDOCS_YML = REPO / "mkdocs.yml"

# 1x1 transparent PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def write_article(kb: Path, id: str, body: str, *, folder: str = "articles", **fields: Any) -> Path:
    meta: dict[str, Any] = {
        "id": id, "title": f"Title of {id}", "type": "howto", "status": "published", "audience": "public",
        "owner": "support", "summary": f"Summary of {id}.", "created": "2025-01-10", "last_reviewed": "2026-09-01",
    }
    meta.update(fields)
    meta = {k: v for k, v in meta.items() if v is not None}
    path = kb / folder / f"{id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    text = text.replace("created: '2025-01-10'", "created: 2025-01-10")
    for key in ("created", "last_reviewed"):
        text = text.replace(f"{key}: '{meta.get(key)}'", f"{key}: {meta.get(key)}")
    path.write_text(f"---\n{text}---\n\n{body.strip()}\n", encoding="utf-8")
    return path


def make_config(root: Path, kb: Path, *, mkdocs_yml: Path | None = MKDOCS_YML, site_dir: Path | None = None) -> Config:
    return Config(
        root=root, kb=kb.resolve(), index_dir=root / ".kbtool" / "index", site_dir=(site_dir or root / "site").resolve(),
        mkdocs_yml=(mkdocs_yml or root / "no-such-mkdocs.yml"), site_url="https://help.example.com/",
    )


def site_files(site: Path) -> dict[str, str]:
    """Every file of a built site as text (gzip decompressed, binary decoded leniently)."""
    out: dict[str, str] = {}
    for f in sorted(p for p in site.rglob("*") if p.is_file()):
        data = f.read_bytes()
        if f.suffix == ".gz":
            data = gzip.decompress(data)
        out[f.relative_to(site).as_posix()] = data.decode("utf-8", errors="replace")
    return out


def test_write_article_round_trips(tmp_path: Path) -> None:
    from kbtool.content import load_kb

    write_article(tmp_path, "a-b", "## Steps\n\n1. One.", tags=["x"], related=["c"])
    kb = load_kb(tmp_path)
    a = kb.get("a-b")
    assert a is not None and a.valid and a.is_public and a.tags == ["x"] and a.last_reviewed is not None
