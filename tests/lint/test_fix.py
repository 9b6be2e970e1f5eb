"""`kbtool lint --fix` (kbtool.lint.fix): each fixer on a temporary KB, what survives a
fix (BOM, CRLF, comments, prose), idempotence, and files left alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from kbfactory import front_matter, write_file

from kbtool.content import load_kb
from kbtool.lint import fix, run_lint
from kbtool.lint.fix import fixed_tags, normalise_date

TODAY = date(2026, 11, 23)
# The articles these tests write: front-matter on lines 1-12, a blank line, the body from line 14.
FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}


def article(doc_id: str, body: str = "Body.\n", **fields: object) -> str:
    return front_matter(doc_id, **{**FAQ, **fields}) + "\n" + body


@pytest.fixture()
def lint_and_fix(config_for):
    """`lint_and_fix(kb_dir, select=None)` -> (fixes applied, findings left after a reload)."""
    def run(kb_dir: Path, select: list[str] | None = None):
        cfg = config_for(kb_dir)
        kb = load_kb(kb_dir)
        applied = fix(kb, run_lint(kb, cfg, today=TODAY, select=select))
        left = run_lint(load_kb(kb_dir), cfg, today=TODAY, select=select)
        return applied, left.findings

    return run


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value,iso", [
    ("2025/03/14", "2025-03-14"), ("2025.3.4", "2025-03-04"), ("2025-03-14T10:00:00Z", "2025-03-14"),
    ("14 March 2025", "2025-03-14"), ("March 14, 2025", "2025-03-14"), ("Mar 4 2025", "2025-03-04"),
    ("20250314", "2025-03-14"), ("14/03/2025", "2025-03-14"), ("03/14/2025", "2025-03-14"),
    ("03/04/2025", None), ("2025-02-30", None), ("soon", None), (None, None),
    ("4th Sept 2025", "2025-09-04"), (date(2025, 3, 14), "2025-03-14"), (20250314, "2025-03-14"), (True, None),
])
def test_normalise_date(value, iso) -> None:
    assert normalise_date(value) == iso


def test_fix_dates(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", created="2025/03/14", last_reviewed="October 1, 2026"))
    applied, left = lint_and_fix(kb_dir)
    assert [(a.line, a.code, a.description) for a in applied] == [
        (10, "KB107", "created: '2025/03/14' -> 2025-03-14"),
        (11, "KB107", "last_reviewed: 'October 1, 2026' -> 2026-10-01"),
    ]
    assert "created: 2025-03-14\nlast_reviewed: 2026-10-01\n" in p.read_text() and left == []


def test_ambiguous_date_is_reported_but_not_fixed(tmp_path: Path, lint_and_fix, config_for) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", created="03/04/2025"))
    before = p.read_bytes()
    cfg = config_for(kb_dir)
    result = run_lint(load_kb(kb_dir), cfg, today=TODAY)
    assert [(f.code, f.fixable) for f in result.findings] == [("KB107", False)]
    applied, left = lint_and_fix(kb_dir)
    assert applied == [] and [f.code for f in left] == ["KB107"] and p.read_bytes() == before


def test_fix_keeps_a_comment_after_the_date(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", created=None, raw="created: 2025/03/14  # first draft\n"))
    applied, left = lint_and_fix(kb_dir)
    assert [a.code for a in applied] == ["KB107"] and left == []
    assert "created: 2025-03-14  # first draft\n" in p.read_text()


# --- trailing whitespace ---------------------------------------------------------------------


def test_fix_trailing_whitespace_outside_code_and_hard_breaks(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    body = "One.   \nHard break  \nnext.\n\t\n```\ncode   \n```\n"
    p = write_file(kb_dir, "articles/a.md", article("a", body))
    applied, left = lint_and_fix(kb_dir)
    assert [(a.line, a.code) for a in applied] == [(14, "KB704"), (17, "KB704")]
    assert p.read_text().endswith("\nOne.\nHard break  \nnext.\n\n```\ncode   \n```\n") and left == []


# --- tags ---------------------------------------------------------------------------------------


def test_fixed_tags() -> None:
    assert fixed_tags(["SSO", "sso", "Login", "login_help"], sort=False, normalise=True) == ["sso", "login", "login-help"]
    assert fixed_tags(["b", "a", "b"], sort=True, normalise=False) == ["a", "b"]
    assert fixed_tags(["Ünïcode", "ok"], sort=False, normalise=True) == ["Ünïcode", "ok"]  # cannot become a slug


def test_fix_tag_format_keeps_order_without_kb706(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", tags=["Zeta", "alpha", "zeta", "Single Sign-On"]))
    applied, left = lint_and_fix(kb_dir)
    assert [(a.line, a.code) for a in applied] == [(9, "KB705")]
    assert applied[0].description == "tags ['Zeta', 'alpha', 'zeta', 'Single Sign-On'] -> ['zeta', 'alpha', 'single-sign-on']"
    assert "tags: [zeta, alpha, single-sign-on]\n" in p.read_text() and left == []


def test_fix_unsorted_tags_when_selected(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", tags=["zeta", "alpha"]))
    assert lint_and_fix(kb_dir) == ([], [])  # KB706 is opt-in
    applied, left = lint_and_fix(kb_dir, select=["ALL"])
    assert [(a.line, a.code) for a in applied] == [(9, "KB706")] and left == []
    assert "tags: [alpha, zeta]\n" in p.read_text()


def test_unfixable_tag_is_kept_as_written(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", tags=["Ünïcode", "ok", "ok"]))
    applied, left = lint_and_fix(kb_dir)
    assert [a.code for a in applied] == ["KB705"]
    assert 'tags: ["Ünïcode", ok]\n' in p.read_text()
    assert [(f.code, f.fixable) for f in left] == [("KB705", False)]


def test_block_style_tags_shift_the_lines_below(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    text = article("a", "Text.   \n", tags=None, created=None, raw="tags:\n  - b\n  - B\n  - a\ncreated: 2025/01/10\n")
    p = write_file(kb_dir, "articles/a.md", text)
    applied, left = lint_and_fix(kb_dir)
    assert {a.code for a in applied} == {"KB705", "KB107", "KB704"} and left == []
    new = p.read_text()
    assert "tags:\n  - b\n  - a\ncreated: 2025-01-10\n" in new and new.endswith("\nText.\n")


# --- files -----------------------------------------------------------------------------------------


def test_fix_dates_tags_whitespace_keeps_prose_bom_and_crlf(tmp_path: Path, config_for) -> None:
    kb_dir = tmp_path / "kb"
    body = "Intro line.   \r\nA hard break stays  \r\nline two.\r\n\r\n```\r\ncode keeps trailing   \r\n```\r\n"
    text = (front_matter("a", **{**FAQ, "created": "14 March 2025", "tags": ["SSO", "sso", "Login", "login_help"]})
            + "\n").replace("\n", "\r\n") + body
    p = kb_dir / "articles" / "a.md"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    write_file(kb_dir, "articles/b.md", article("b", tags=["zeta", "alpha"]).replace(
        'tags: ["zeta", "alpha"]\n', "tags:  # block style\n  - zeta\n  - Alpha\n"))
    cfg = config_for(kb_dir)
    kb = load_kb(kb_dir)
    result = run_lint(kb, cfg, today=TODAY, select=["ALL"])
    assert {f.code for f in result.findings if f.fixable} == {"KB107", "KB704", "KB705", "KB706"}
    applied = fix(kb, result)
    assert {(a.path.name, a.code) for a in applied} >= {("a.md", "KB107"), ("a.md", "KB704"), ("a.md", "KB705"), ("b.md", "KB705")}
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    new = raw.decode("utf-8-sig")
    assert "created: 2025-03-14\r\n" in new and "tags: [login, login-help, sso]\r\n" in new
    assert "Intro line.\r\n" in new and "A hard break stays  \r\n" in new and "code keeps trailing   \r\n" in new
    b_text = (kb_dir / "articles" / "b.md").read_text()
    assert "  - alpha\n  - zeta\n" in b_text and "# block style" in b_text
    kb2 = load_kb(kb_dir)
    after = run_lint(kb2, cfg, today=TODAY, select=["ALL"])
    assert after.findings == []


def test_fix_is_idempotent(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", "Text.  \t\nTODO later\n", created="2025/03/14", tags=["sso", "SSO"]))
    applied, left = lint_and_fix(kb_dir, select=["ALL"])
    assert {a.code for a in applied} == {"KB107", "KB704", "KB705"}
    assert [f.code for f in left] == ["KB703"] and not left[0].fixable  # prose: reported, never fixed
    once = p.read_bytes()
    mtime = p.stat().st_mtime_ns
    assert lint_and_fix(kb_dir, select=["ALL"]) == ([], left)
    assert p.read_bytes() == once and p.stat().st_mtime_ns == mtime


def test_files_with_nothing_to_fix_are_not_touched(fixture_copy: Path, lint_and_fix) -> None:
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in fixture_copy.rglob("*.md")}
    fixable = {"kb107-invalid-date.md", "kb704-trailing-whitespace.md", "kb705-tag-format.md",
               "kb118-comma-separated-list.md", "kb802-undeclared-error-code.md"}
    applied, left = lint_and_fix(fixture_copy)
    assert {a.path.name for a in applied} == fixable
    assert not any(f.fixable for f in left)
    changed = {p.name for p, (data, mtime) in files.items() if p.read_bytes() != data or p.stat().st_mtime_ns != mtime}
    assert changed == fixable
    assert not list(fixture_copy.rglob("*.tmp"))  # no temp file left behind


def test_fix_skips_files_changed_since_loading(tmp_path: Path, config_for) -> None:
    kb_dir = tmp_path / "kb"
    p = write_file(kb_dir, "articles/a.md", article("a", "Trailing.   \n"))
    cfg = config_for(kb_dir)
    kb = load_kb(kb_dir)
    result = run_lint(kb, cfg, today=TODAY)
    assert [f.code for f in result.findings if f.fixable] == ["KB704"]
    p.write_text(p.read_text() + "Edited meanwhile.\n")
    assert fix(kb, result) == []
    assert p.read_text().endswith("Trailing.   \nEdited meanwhile.\n")


def test_fix_keeps_the_file_mode(tmp_path: Path, lint_and_fix) -> None:
    kb_dir = tmp_path / "kb"
    real = write_file(kb_dir, "articles/real.md", article("real", "Trailing.   \n"))
    real.chmod(0o640)
    applied, left = lint_and_fix(kb_dir)
    assert [a.code for a in applied] == ["KB704"] and left == []
    assert real.read_text().endswith("\nTrailing.\n") and real.stat().st_mode & 0o777 == 0o640
