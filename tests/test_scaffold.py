"""`kbtool.scaffold` / `kbtool new`: ids from titles, per-type sections, never overwriting, errors.

The library function (`new_article`) directly, and the command through click's CliRunner.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from kbfactory import make_project

from kbtool import scaffold
from kbtool.cli import main
from kbtool.config import DEFAULT_SECTIONS, TYPES, Config, load_config
from kbtool.content import KB, load_kb


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """An empty KB project (its own kbtool.toml) for the library function; the cwd is left alone."""
    return make_project(tmp_path / "lib", copy_sample=False)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def split_file(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"\A---\n(.*?)\n---\n(.*)\Z", text, re.S)
    assert m, text
    return yaml.safe_load(m.group(1)), m.group(2)


# --- the library function ---------------------------------------------------------------


@pytest.mark.parametrize(("title", "expected"), [
    ("Billing & Invoices!", "billing-invoices"),
    ("Café au lait: über", "cafe-au-lait-uber"),
    ("!!!", "article"),
    ("ÅÅÅ", "aaa"),
    ("word " * 20, ("word-" * 12).rstrip("-")),  # 60 characters at most, no trailing hyphen
])
def test_slug_id(title: str, expected: str) -> None:
    assert scaffold.slug_id(title) == expected
    assert len(scaffold.slug_id(title)) <= 60


@pytest.mark.parametrize("type_", TYPES)
def test_new_article_writes_the_types_sections(config: Config, type_: str) -> None:
    path = scaffold.new_article(config, type_, f"Printer jams ({type_})", today=date(2025, 1, 2))
    folder = config.runbooks_dir if type_ == "runbook" else config.articles_dir
    assert path == folder / f"printer-jams-{type_}.md"
    meta, body = split_file(path)
    assert meta == {
        "id": f"printer-jams-{type_}", "title": f"Printer jams ({type_})", "type": type_, "status": "draft",
        "audience": "internal" if type_ == "runbook" else "public", "owner": "support",
        "summary": "One or two sentences on what this article solves.", "tags": [],
        "created": "2025-01-02", "last_reviewed": "2025-01-02",  # written as quoted ISO strings
    }
    headings = re.findall(r"^## (.+)$", body, re.M)
    assert headings == [s.split("|")[0] for s in DEFAULT_SECTIONS.get(type_, [])]
    assert body.startswith("\nIntroduce the problem in a sentence or two.\n")
    kb = load_kb(config.kb)
    assert [d for d in kb.diagnostics if d.path == path] == []
    assert kb.get(f"printer-jams-{type_}").valid


def test_new_article_never_reuses_an_id(config: Config) -> None:
    first = scaffold.new_article(config, "howto", "Reset a password")
    original = first.read_text(encoding="utf-8")
    second = scaffold.new_article(config, "faq", "Reset a password")
    third = scaffold.new_article(config, "runbook", "Reset a password")  # ids are unique across folders
    assert [first.stem, second.stem, third.stem] == ["reset-a-password", "reset-a-password-2", "reset-a-password-3"]
    assert first.read_text(encoding="utf-8") == original


@pytest.mark.parametrize(("type_", "title", "message"), [
    ("guide", "Anything", "unknown type 'guide' (choose from howto, troubleshooting"),
    ("howto", "  ", "the title must not be empty"),
])
def test_new_article_rejects_bad_input(config: Config, type_: str, title: str, message: str) -> None:
    with pytest.raises(scaffold.ScaffoldError, match=re.escape(message)):
        scaffold.new_article(config, type_, title)
    assert list(config.kb.rglob("*.md")) == []


def test_new_article_refuses_an_existing_path(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file at the target path the id check did not see is never overwritten."""
    target = config.articles_dir / "brand-new.md"
    target.write_text("precious", encoding="utf-8")
    monkeypatch.setattr(scaffold, "load_kb", lambda root, cfg=None: KB(root=Path(root), articles=[], diagnostics=[]))
    monkeypatch.setattr(scaffold, "discover", lambda root: ([], []))
    with pytest.raises(scaffold.ScaffoldError, match="already exists; refusing to overwrite"):
        scaffold.new_article(config, "howto", "Brand new")
    assert target.read_text(encoding="utf-8") == "precious"


# --- kbtool new -----------------------------------------------------------------------


def _loaded(path: Path, kb_root: Path) -> tuple[KB, object]:
    kb = load_kb(kb_root)
    return kb, kb.by_path[path.resolve()]


@pytest.mark.parametrize("type_", TYPES)
def test_new_scaffolds_every_type(project: Path, type_: str) -> None:
    result = run("new", type_, "--title", f"Export fails with EXPORT-504 ({type_})")
    assert result.exit_code == 0, result.output
    expected_id = f"export-fails-with-export-504-{type_}"
    folder = "runbooks" if type_ == "runbook" else "articles"
    path = project / "kb" / folder / f"{expected_id}.md"
    assert result.stdout.strip() == f"created kb/{folder}/{expected_id}.md"
    kb, a = _loaded(path, project / "kb")
    assert [d for d in kb.diagnostics if d.path == path] == []  # loads clean: no errors, no warnings
    assert a.valid and a.id == expected_id and a.type == type_ and a.status == "draft"
    assert a.title == f"Export fails with EXPORT-504 ({type_})"
    assert a.created == a.last_reviewed == date.today()
    assert a.audience == ("internal" if type_ == "runbook" else "public") and a.owner == "support"
    titles = {s.title for s in a.sections}
    for required in DEFAULT_SECTIONS[type_]:
        assert any(alt in titles for alt in required.split("|")), (required, titles)
    if type_ == "runbook":
        assert a.section("Steps").text.startswith("1. ")  # runbook steps are numbered


def test_new_ids_are_fresh_and_unique(project: Path) -> None:
    kb_dir = project / "kb" / "articles"
    # The title's slug is taken by an existing id, and its -2 by a file that does not even load.
    (kb_dir / "billing-invoices-2.md").write_bytes(b"\xff\xfe not utf-8")
    result = run("new", "howto", "--title", "Billing & Invoices!")
    assert result.exit_code == 0, result.output
    assert (kb_dir / "billing-invoices-3.md").is_file()
    result = run("new", "faq", "--title", "Billing & Invoices!")
    assert (kb_dir / "billing-invoices-4.md").is_file(), result.output
    # A retired article's id is never reused either, nor a runbook's.
    assert run("new", "howto", "--title", "Old SSO").exit_code == 0
    assert (kb_dir / "old-sso-2.md").is_file()
    assert run("new", "howto", "--title", "SEV1 intake").exit_code == 0
    assert (kb_dir / "sev1-intake-2.md").is_file()
    # A dangling symlink owns its name too (writing through it would fail or clobber its target).
    (kb_dir / "dangling.md").symlink_to(kb_dir / "nowhere.md")
    result = run("new", "howto", "--title", "Dangling")
    assert result.exit_code == 0, result.output
    assert (kb_dir / "dangling-2.md").is_file() and not (kb_dir / "nowhere.md").exists()
    kb = load_kb(project / "kb")
    assert len(kb.by_id) == len({a.id for a in kb.articles}) == len(kb.articles)


def test_new_keeps_awkward_titles_intact(project: Path) -> None:
    title = 'Export: "quoted" #1 — Café & NO: yes [beta]'
    result = run("new", "howto", "--title", title, "--owner", "NO")
    assert result.exit_code == 0, result.output
    path = project / "kb" / "articles" / "export-quoted-1-cafe-no-yes-beta.md"
    kb, a = _loaded(path, project / "kb")
    assert a.title == title and a.owner == "NO" and a.valid
    assert [d for d in kb.diagnostics if d.path == path] == []


def test_new_uses_the_configured_sections(project: Path) -> None:
    (project / "kbtool.toml").write_text('[sections]\nhowto = ["Before you start", "Steps", "Verify|Check"]\n')
    assert run("new", "howto", "--title", "Custom").exit_code == 0
    a = load_kb(project / "kb").get("custom")
    assert [s.title for s in a.sections] == ["Before you start", "Steps", "Verify"]


def test_new_with_the_python_api(project: Path) -> None:
    cfg = load_config()
    path = scaffold.new_article(cfg, "known-issue", "Safari 18 upload stalls", today=date(2025, 3, 4), owner="web")
    assert path == cfg.articles_dir / "safari-18-upload-stalls.md"
    a = load_kb(cfg.kb).get("safari-18-upload-stalls")
    assert a.created == a.last_reviewed == date(2025, 3, 4) and a.owner == "web"
    assert [s.title for s in a.sections] == ["Symptoms", "Cause", "Workaround", "Status"]


def test_new_refuses_to_overwrite(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the id check misses a file (a race, an odd folder), nothing is overwritten."""
    target = project / "kb" / "articles" / "brand-new.md"

    def kb_without_that_file(root: Path, config: object = None) -> KB:
        target.write_text("precious")  # appears between the id check and the write
        return KB(root=Path(root), articles=[], diagnostics=[])

    monkeypatch.setattr(scaffold, "load_kb", kb_without_that_file)
    monkeypatch.setattr(scaffold, "discover", lambda root: ([], []))
    result = run("new", "howto", "--title", "Brand new")
    assert result.exit_code == 2
    assert "already exists; refusing to overwrite" in result.output
    assert target.read_text() == "precious"


def test_new_refuses_to_overwrite_in_a_race(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final write uses O_EXCL: a file created after the exists() check survives too,
    and the clash is the same ScaffoldError (CLI exit 2), not a traceback."""
    target = project / "kb" / "articles" / "racy.md"
    real_exists = Path.exists

    def exists(self: Path, **kw: object) -> bool:
        result = real_exists(self, **kw)
        if self == target:
            target.write_text("precious")
        return result

    monkeypatch.setattr(Path, "exists", exists)
    with pytest.raises(scaffold.ScaffoldError, match="refusing to overwrite"):
        scaffold.new_article(load_config(), "howto", "Racy")
    assert target.read_text() == "precious"


@pytest.mark.parametrize(("args", "message"), [
    (["new", "guide", "--title", "X"], "Invalid value"),
    (["new", "howto"], "Missing option '--title'"),
    (["new", "howto", "--title", "   "], "the title must not be empty"),
])
def test_new_usage_errors(project: Path, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and message in result.output
    assert list((project / "kb" / "articles").glob("x*.md")) == []
