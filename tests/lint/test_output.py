"""Output formats and baselines (kbtool.lint.output) through the Python API."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from kbfactory import front_matter, write_file

from kbtool.lint import (
    LintError,
    LintResult,
    apply_baseline,
    format_result,
    load_baseline,
    summary_line,
    write_baseline,
)
from kbtool.lint.output import format_github, format_sarif, format_text, gh_escape
from kbtool.lint.result import AppliedFix, Finding, display_path

FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}


def article(doc_id: str, body: str = "", **fields: object) -> str:
    return front_matter(doc_id, **{**FAQ, **fields}) + "\n" + body


def finding(tmp_path: Path, rel: str, line: int, code: str, severity: str, message: str, **kw: object) -> Finding:
    return Finding(tmp_path / "kb" / rel, line, 1, code, severity, message, rel, **kw)  # type: ignore[arg-type]


@pytest.fixture()
def sample_result(tmp_path: Path) -> LintResult:
    return LintResult([
        finding(tmp_path, "articles/a.md", 3, "KB401", "error", "broken link 'x.md': no such file"),
        finding(tmp_path, "articles/a.md", 9, "KB704", "warning", "trailing whitespace", fixable=True),
        finding(tmp_path, "articles/b.md", 2, "KB999", "warning", "from a plug-in"),
    ], files=4)


# --- formats --------------------------------------------------------------------------------


def test_text_format_groups_by_file(tmp_path: Path, sample_result: LintResult) -> None:
    assert format_text(sample_result, tmp_path) == (
        "kb/articles/a.md:3:1: KB401 broken link 'x.md': no such file\n"
        "kb/articles/a.md:9:1: KB704 [*] trailing whitespace\n"
        "\n"
        "kb/articles/b.md:2:1: KB999 from a plug-in\n"
        "\n"
        "Found 1 error (KB401) and 2 warnings (KB704, KB999) in 2 of 4 files (1 fixable with --fix)."
    )
    assert format_result(sample_result, "text", cwd=tmp_path) == format_text(sample_result, tmp_path)
    coloured = format_text(sample_result, tmp_path, color=True)
    assert "\x1b[" in coloured and "KB401" in coloured


def test_summary_line_variants(tmp_path: Path, sample_result: LintResult) -> None:
    assert summary_line(LintResult([], files=1)) == "All checks passed: 1 file, no findings."
    clean = LintResult([], files=3, baselined=2, fixed=[AppliedFix(tmp_path, 1, "KB704", "x")] * 2)
    assert summary_line(clean) == "All checks passed: 3 files, no findings (2 hidden by the baseline; 2 fixes applied)."
    one_fix = LintResult([], files=3, fixed=[AppliedFix(tmp_path, 1, "KB704", "x")])
    assert summary_line(one_fix).endswith("(1 fix applied).")


def test_json_format(tmp_path: Path, sample_result: LintResult) -> None:
    data = json.loads(format_result(sample_result, "json", cwd=tmp_path))
    assert data == sample_result.to_dict(tmp_path)
    assert data["summary"] == {"files": 4, "errors": 1, "warnings": 2}
    assert data["findings"][0] == {"path": "kb/articles/a.md", "line": 3, "column": 1, "code": "KB401",
                                   "severity": "error", "message": "broken link 'x.md': no such file"}


def test_github_escaping() -> None:
    assert gh_escape("a%b\nc:d,e") == "a%25b%0Ac:d,e"
    assert gh_escape("a%b\nc:d,e", prop=True) == "a%25b%0Ac%3Ad%2Ce"
    assert gh_escape("a\r\nb") == "a%0D%0Ab"


def test_github_format(tmp_path: Path, sample_result: LintResult) -> None:
    lines = format_github(sample_result, tmp_path).splitlines()
    assert lines == [
        "::error file=kb/articles/a.md,line=3,col=1,title=KB401 broken-link::broken link 'x.md': no such file",
        "::warning file=kb/articles/a.md,line=9,col=1,title=KB704 trailing-whitespace::trailing whitespace",
        "::warning file=kb/articles/b.md,line=2,col=1,title=KB999::from a plug-in",  # not a registry rule
        summary_line(sample_result),
    ]


def test_sarif_lists_every_rule_and_unknown_codes(tmp_path: Path, sample_result: LintResult) -> None:
    log = format_sarif(sample_result, tmp_path)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert rules[-1] == {"id": "KB999", "shortDescription": {"text": "KB999"}}
    by_id = {r["id"]: r for r in rules}
    assert by_id["KB601"]["properties"] == {"tags": ["sensitive-data", "security"], "security-severity": "8.0"}
    assert by_id["KB706"]["defaultConfiguration"] == {"level": "warning", "enabled": False}
    assert [rules[r["ruleIndex"]]["id"] for r in run["results"]] == ["KB401", "KB704", "KB999"]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "kb/articles/a.md"
    assert json.loads(format_result(sample_result, "sarif", cwd=tmp_path)) == log


def test_unknown_format_is_a_lint_error(sample_result: LintResult) -> None:
    with pytest.raises(LintError, match="unknown format 'xml'"):
        format_result(sample_result, "xml")


def test_display_path_is_relative_to_the_working_dir(tmp_path: Path) -> None:
    assert display_path(tmp_path / "kb" / "a.md", tmp_path) == "kb/a.md"
    assert display_path(tmp_path / "a.md", tmp_path / "sub") == "../a.md"


# --- baselines --------------------------------------------------------------------------------


def test_baseline_reports_only_new_findings(tmp_path: Path, fixture_copy: Path, lint_dir) -> None:
    kb_dir = fixture_copy
    kb, result = lint_dir(kb_dir)
    base = tmp_path / "baseline.json"
    assert write_baseline(result, base) == len(result.findings) > 0
    data = json.loads(base.read_text())
    assert data["kbtool_baseline"] == 1 and len(data["findings"]) == len(result.findings)
    # Shift every line of one file and add a new defect elsewhere.
    p = kb_dir / "articles" / "kb703-todo-left.md"
    p.write_text(p.read_text().replace("Intro.", "Intro.\n\nMore text.\n"), encoding="utf-8")
    write_file(kb_dir, "articles/new-defect.md", article("new-defect", "See [x](missing.md).\n"))
    _, result2 = lint_dir(kb_dir)
    left = apply_baseline(result2, load_baseline(base))
    assert [(f.rel_path, f.code) for f in left.findings] == [("articles/new-defect.md", "KB401")]
    assert left.baselined == len(result.findings)


def test_baseline_counts_duplicates_and_ignores_volatile_numbers(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "TODO one\n\nTODO two\n", last_reviewed="2025-01-01"))
    _, r1 = lint_dir(kb_dir, today=date(2026, 3, 1))
    assert {f.code for f in r1.findings} >= {"KB301", "KB703"}
    base = tmp_path / "b.json"
    write_baseline(r1, base)
    _, r2 = lint_dir(kb_dir, today=date(2026, 5, 1))  # "overdue by N days" changed: still baselined
    assert apply_baseline(r2, load_baseline(base)).findings == []
    write_file(kb_dir, "articles/a.md", article("a", "TODO one\n\nTODO two\n\nTODO two\n", last_reviewed="2025-01-01"))
    _, r3 = lint_dir(kb_dir, today=date(2026, 5, 1))
    assert [(f.code, f.line) for f in apply_baseline(r3, load_baseline(base)).findings] == [("KB703", 18)]


@pytest.mark.parametrize("content", ["not json", '{"kbtool_baseline": 99, "findings": []}', '{"kbtool_baseline": 1, "findings": [1]}'])
def test_bad_baseline_is_a_lint_error(tmp_path: Path, content: str) -> None:
    p = tmp_path / "b.json"
    p.write_text(content)
    with pytest.raises(LintError):
        load_baseline(p)
    with pytest.raises(LintError):
        load_baseline(tmp_path / "missing.json")


def test_unwritable_baseline_is_a_lint_error(tmp_path: Path) -> None:
    with pytest.raises(LintError, match="cannot write baseline"):
        write_baseline(LintResult([], files=0), tmp_path / "no" / "such" / "dir.json")
