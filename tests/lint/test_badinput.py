"""Bad input never produces a traceback: each bad file becomes a located finding (or a
clear exit-2 message) and the other files are still checked."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from kbfactory import front_matter, write_file

from kbtool.cli import main
from kbtool.content import MAX_FILE_BYTES

GOOD = "articles/good.md"
TODAY = date(2026, 11, 23)
# The articles these tests write: front-matter on lines 1-12, a blank line, the body from line 14.
FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}


def front(doc_id: str) -> str:
    return front_matter(doc_id, **FAQ) + "\n"


def _kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_file(kb, GOOD, front("good") + "TODO: a warning that must still be reported.\n")
    return kb


def _cli(tmp_path: Path) -> tuple[int, dict, str]:
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        r = runner.invoke(main, ["lint", "--kb", "kb", "--today", TODAY.isoformat(), "--format", "json"])
    finally:
        os.chdir(old)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.stdout + r.stderr
    return r.exit_code, json.loads(r.stdout), r.stderr


def _assert_reported(tmp_path: Path, rel: str, code: str, line: int = 1) -> None:
    exit_code, data, _ = _cli(tmp_path)
    got = {(f["path"], f["code"], f["line"]) for f in data["findings"]}
    assert (f"kb/{rel}", code, line) in got, got
    assert ("kb/" + GOOD, "KB703", 14) in got  # the other file was still checked
    assert exit_code == 1


def test_binary_file(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    (kb / "articles" / "logo.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _assert_reported(tmp_path, "articles/logo.md", "KB002")


def test_non_utf8_file_located_at_the_bad_byte(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    (kb / "articles" / "latin1.md").write_bytes((front("latin1") + "Caf").encode() + b"\xe9 au lait.\n")
    _assert_reported(tmp_path, "articles/latin1.md", "KB002", 14)


def test_bom_and_crlf_are_fine_and_lines_stay_right(tmp_path: Path, lint_dir, by_file) -> None:
    kb = _kb(tmp_path)
    text = (front("crlf") + "Line one.\n\nSee [x](missing.md).\n").replace("\n", "\r\n")
    (kb / "articles" / "crlf.md").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (kb / "articles" / "cr.md").write_bytes((front("cr") + "Old Mac line endings.\n").replace("\n", "\r").encode())
    _, result = lint_dir(kb)
    assert by_file(result) == {"articles/crlf.md": [("KB401", 16)], GOOD: [("KB703", 14)]}


def test_empty_and_whitespace_only_files(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    (kb / "articles" / "empty.md").write_bytes(b"")
    (kb / "articles" / "blank.md").write_bytes(b"  \n\n")
    _assert_reported(tmp_path, "articles/empty.md", "KB003")
    _assert_reported(tmp_path, "articles/blank.md", "KB003")


def test_huge_file(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    (kb / "articles" / "dump.md").write_bytes((front("dump") + "x" * 100 + "\n").encode() * (MAX_FILE_BYTES // 300))
    _assert_reported(tmp_path, "articles/dump.md", "KB003")


def test_symlink_loop_and_dangling_symlink(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    a, b = kb / "articles" / "loop-a.md", kb / "articles" / "loop-b.md"
    a.symlink_to(b)
    b.symlink_to(a)
    (kb / "articles" / "dangling.md").symlink_to(kb / "articles" / "nowhere.md")
    (kb / "articles" / "dirloop").symlink_to(kb / "articles", target_is_directory=True)  # not followed
    _assert_reported(tmp_path, "articles/loop-a.md", "KB001")
    _assert_reported(tmp_path, "articles/dangling.md", "KB001")


def test_symlinked_article_is_linted_once(tmp_path: Path, lint_dir, by_file) -> None:
    kb = _kb(tmp_path)
    real = write_file(tmp_path, "elsewhere/real.md", front("alias") + "See [good](good.md).\n")
    (kb / "articles" / "alias.md").symlink_to(real)
    _, result = lint_dir(kb)
    assert by_file(result) == {GOOD: [("KB703", 14)]}


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = _kb(tmp_path)
    locked = write_file(kb, "articles/locked.md", front("locked") + "Secret plans.\n")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.md":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    _assert_reported(tmp_path, "articles/locked.md", "KB001")
    assert locked.exists()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can read any file")
def test_unreadable_file_by_permissions(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    locked = write_file(kb, "articles/locked.md", front("locked") + "Secret plans.\n")
    locked.chmod(0)
    try:
        _assert_reported(tmp_path, "articles/locked.md", "KB001")
    finally:
        locked.chmod(0o644)


@pytest.mark.parametrize("content,code,line", [
    ("---\ntitle: [unclosed\n---\nBody\n", "KB005", 3),
    ("---\nid: x\n", "KB004", 1),
    ("---\n- a\n---\nBody\n", "KB006", 2),
    ("---\nid: bad\x07bell\n---\nBody\n", "KB005", 2),
    ("---\n---\nBody\n", "KB101", 1),
    ("\n\n---\nid: late\n---\n", "KB004", 1),
])
def test_broken_front_matter(tmp_path: Path, content: str, code: str, line: int) -> None:
    kb = _kb(tmp_path)
    (kb / "articles" / "broken.md").write_text(content, encoding="utf-8")
    _assert_reported(tmp_path, "articles/broken.md", code, line)


def test_weird_markdown_does_not_crash(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    body = (
        "[](  ) [x](<> \"t\") ![](#) [a](%zz.md) [b](..) [c](./) [d](mailto:someone@example.com)\n"
        "[e](http://[::1]:80/x) [f](file.md#%E2%9C%93)\n"
        "######## not a heading\n# \n" + "`" * 10 + "\n~~~\n" + "x" * 20000 + "\n"
        + "\u202e\u200b RTL and zero-width \U0001F600\n"
    )
    write_file(kb, "articles/weird.md", front("weird") + body)
    exit_code, data, _ = _cli(tmp_path)
    assert exit_code == 1
    assert {f["code"] for f in data["findings"] if f["path"] == "kb/articles/weird.md"} <= {
        "KB401", "KB402", "KB404", "KB405", "KB204", "KB205", "KB207", "KB206", "KB704"}
