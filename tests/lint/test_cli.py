"""`kbtool lint` / `kbtool rule` from the command line: output formats, exit codes,
baselines, --changed (a real git repository), --fix and the sample KB."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from kbfactory import REPO, front_matter, write_file

from kbtool.cli import main
from kbtool.lint.rules import RULES

TODAY = date(2026, 11, 23)
DAY = ["--today", TODAY.isoformat()]
# The articles these tests write: front-matter on lines 1-12, a blank line, the body from line 14.
FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}


def front(doc_id: str, **fields: object) -> str:
    return front_matter(doc_id, **{**FAQ, **fields}) + "\n"


def run(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Invoke the CLI in-process from `cwd`; returns (exit code, stdout, stderr)."""
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        r = runner.invoke(main, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture()
def kbdir(fixture_copy: Path) -> Path:
    return fixture_copy


def clean_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_file(kb, "articles/a.md", front("a") + "Body of a.\n")
    write_file(kb, "articles/b.md", front("b") + "See [a](a.md).\n")
    return kb


# --- exit codes ------------------------------------------------------------------------------


def test_exit_0_when_clean(tmp_path: Path) -> None:
    clean_kb(tmp_path)
    code, out, _ = run(["lint", "--kb", "kb", *DAY], tmp_path)
    assert code == 0
    assert out.strip() == "All checks passed: 2 files, no findings."


def test_exit_1_on_errors_and_text_format(kbdir: Path, expected: dict[str, tuple[str, int]]) -> None:
    code, out, _ = run(["lint", "--kb", "kb", *DAY], kbdir.parent)
    assert code == 1
    lines = [line for line in out.splitlines() if line]
    for rel, (rule, line) in expected.items():
        assert any(re.fullmatch(rf"kb/{re.escape(rel)}:{line}:\d+: {rule} .+", x) for x in lines), rel
    assert lines[-1].startswith("Found 39 errors (KB004, ") and "and 18 warnings (KB106, " in lines[-1]
    assert "kb/articles/kb107-invalid-date.md:10:1: KB107 [*] created '2025/03/14'" in out  # fixable marker
    # grouped: a blank line between files
    assert "\n\nkb/articles/kb005-invalid-yaml.md:3:11: KB005 " in out


def test_warnings_alone_exit_0_unless_max_warnings(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_file(kb, "articles/a.md", front("a") + "TODO: finish.\n")
    assert run(["lint", "--kb", "kb", *DAY], tmp_path)[0] == 0
    assert run(["lint", "--kb", "kb", *DAY, "--max-warnings", "1"], tmp_path)[0] == 0
    code, _, err = run(["lint", "--kb", "kb", *DAY, "--max-warnings", "0"], tmp_path)
    assert code == 1 and "more than --max-warnings 0" in err


@pytest.mark.parametrize("args,message", [
    (["--today", "23/11/2026"], "--today: expected YYYY-MM-DD"),
    (["--select", "KB4O1"], "did you mean 'KB401'"),
    (["--ignore", "nonsense"], "unknown rule code or prefix 'nonsense'"),
    (["--format", "xml"], "Invalid value for '--format'"),
    (["kb/articles/does-not-exist.md"], "does not exist"),
    (["--baseline", "missing.json"], "cannot read baseline"),
    (["--changed", "main"], "git"),
    (["--max-warnings", "-1"], "Invalid value"),
])
def test_exit_2_on_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    clean_kb(tmp_path)
    code, out, err = run(["lint", "--kb", "kb", *args], tmp_path)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err + out


def test_exit_2_on_config_errors_and_missing_kb(tmp_path: Path) -> None:
    kb = clean_kb(tmp_path)
    (tmp_path / "kbtool.toml").write_text('kb = "kb"\n[lint]\nselekt = ["KB1"]\n')
    code, _, err = run(["lint", *DAY], tmp_path)
    assert code == 2 and "unknown key lint.'selekt'" in err
    (tmp_path / "kbtool.toml").write_text('kb = "kb"\n[lint]\nseverity = { KB999 = "error" }\n')
    code, _, err = run(["lint", *DAY], tmp_path)
    assert code == 2 and "lint.severity: unknown rule code" in err
    (tmp_path / "kbtool.toml").unlink()
    code, _, err = run(["lint", "--kb", "nope"], tmp_path)
    assert code == 2 and "KB directory not found" in err
    outside = tmp_path / "other.md"
    outside.write_text("x")
    code, _, err = run(["lint", "--kb", "kb", str(outside)], tmp_path)
    assert code == 2 and "not inside the KB directory" in err
    assert kb.is_dir()


def test_real_process_exit_codes(tmp_path: Path) -> None:
    """The installed entry point, in a subprocess: exit codes as the shell sees them."""
    clean_kb(tmp_path)
    cmd = [sys.executable, "-m", "kbtool.cli", "lint", "--kb", "kb", *DAY]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    assert subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True).returncode == 0
    write_file(tmp_path / "kb", "articles/c.md", front("c") + "[x](missing.md)\n")
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert p.returncode == 1 and "KB401" in p.stdout
    p = subprocess.run(cmd + ["--select", "KB9"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr


# --- formats ---------------------------------------------------------------------------------


def test_json_format(kbdir: Path, expected: dict[str, tuple[str, int]]) -> None:
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--format", "json"], kbdir.parent)
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"findings", "summary"}
    assert set(data["summary"]) == {"files", "errors", "warnings"}
    for f in data["findings"]:
        assert set(f) == {"path", "line", "column", "code", "severity", "message"}
        assert f["path"].startswith("kb/") and f["severity"] in ("error", "warning")
    got = {(f["path"], f["code"], f["line"]) for f in data["findings"]}
    assert got == {(f"kb/{rel}", c, line) for rel, (c, line) in expected.items()}
    assert data["summary"]["errors"] == 39 and data["summary"]["warnings"] == 18


def test_json_paths_are_relative_to_the_working_dir(kbdir: Path) -> None:
    code, out, _ = run(["lint", "--kb", ".", *DAY, "--format", "json", "--select", "KB401"], kbdir)
    assert json.loads(out)["findings"][0]["path"] == "articles/kb401-broken-link.md"


def test_github_format(kbdir: Path, expected: dict[str, tuple[str, int]]) -> None:
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--format", "github"], kbdir.parent)
    assert code == 1
    lines = out.splitlines()
    assert any(x.startswith("::error file=kb/articles/kb401-broken-link.md,line=14,col=5,title=KB401 broken-link::broken link 'clean-howtoo.md': no such file") for x in lines)
    assert any(x.startswith("::warning file=kb/articles/kb703-todo-left.md,line=16,col=1,title=KB703 todo-left::") for x in lines)
    annotations = [x for x in lines if x.startswith("::")]
    assert len(annotations) == len(expected)
    assert all(re.fullmatch(r"::(error|warning) file=[^,]+,line=\d+,col=\d+,title=KB\d{3} [a-z0-9-]+::.+", x) for x in annotations)
    assert lines[-1].startswith("Found ")


# SARIF 2.1.0, as far as kbtool emits it: the objects, their required properties and the
# property sets of the OASIS schema (additionalProperties false, as there), so a typo or
# a misplaced property fails. No copy of the full schema is available offline.
_MSG = {"type": "object", "required": ["text"], "additionalProperties": False,
        "properties": {"text": {"type": "string", "minLength": 1}, "markdown": {"type": "string"}}}
SARIF_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool"],
            "additionalProperties": False,
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "additionalProperties": False, "properties": {
                    "driver": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                        "name": {"type": "string"}, "version": {"type": "string"},
                        "semanticVersion": {"type": "string"}, "informationUri": {"type": "string"},
                        "rules": {"type": "array", "items": {
                            "type": "object", "required": ["id"], "additionalProperties": False, "properties": {
                                "id": {"type": "string"}, "name": {"type": "string"},
                                "shortDescription": _MSG, "fullDescription": _MSG, "help": _MSG,
                                "helpUri": {"type": "string"},
                                "defaultConfiguration": {"type": "object", "additionalProperties": False, "properties": {
                                    "enabled": {"type": "boolean"}, "level": {"enum": ["none", "note", "warning", "error"]},
                                    "rank": {"type": "number"}, "parameters": {"type": "object"},
                                    "properties": {"type": "object"}}},
                                "properties": {"type": "object", "properties": {
                                    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                                    "security-severity": {"type": "string"}}},
                            }}},
                    }},
                }},
                "originalUriBaseIds": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"uri": {"type": "string", "pattern": "^file:///.*/$"}, "uriBaseId": {"type": "string"}}}},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message", "ruleId", "locations"], "additionalProperties": False,
                    "properties": {
                        "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": 0},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": _MSG,
                        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                        "locations": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "additionalProperties": False, "properties": {
                                "physicalLocation": {
                                    "type": "object", "required": ["artifactLocation"], "additionalProperties": False,
                                    "properties": {
                                        "artifactLocation": {"type": "object", "required": ["uri"], "additionalProperties": False,
                                                             "properties": {"uri": {"type": "string", "format": "uri-reference"},
                                                                            "uriBaseId": {"type": "string"},
                                                                            "index": {"type": "integer"}}},
                                        "region": {"type": "object", "required": ["startLine"], "additionalProperties": False,
                                                   "properties": {"startLine": {"type": "integer", "minimum": 1},
                                                                  "startColumn": {"type": "integer", "minimum": 1},
                                                                  "endLine": {"type": "integer", "minimum": 1},
                                                                  "endColumn": {"type": "integer", "minimum": 1}}},
                                    }}}}},
                    }}},
            }}},
    },
}


def test_sarif_format_validates(kbdir: Path, expected: dict[str, tuple[str, int]]) -> None:
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--format", "sarif"], kbdir.parent)
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft7Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    run0 = log["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for res in run0["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    got = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run0["results"]}
    assert got == {(f"kb/{rel}", c, line) for rel, (c, line) in expected.items()}
    assert run0["originalUriBaseIds"]["%SRCROOT%"]["uri"] == kbdir.parent.resolve().as_uri() + "/"
    fps = [r["partialFingerprints"]["kbtoolFindingHash/v1"] for r in run0["results"]]
    assert len(set(fps)) == len(fps)


def test_sarif_of_a_clean_kb_and_output_file(tmp_path: Path) -> None:
    clean_kb(tmp_path)
    code, out, err = run(["lint", "--kb", "kb", *DAY, "--format", "sarif", "-o", "lint.sarif"], tmp_path)
    assert code == 0 and out == "" and "All checks passed" in err
    log = json.loads((tmp_path / "lint.sarif").read_text())
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []


# --- rules -------------------------------------------------------------------------------------


def test_list_rules(tmp_path: Path) -> None:
    code, out, _ = run(["lint", "--list-rules"], tmp_path)
    assert code == 0
    for rule in RULES.values():
        assert re.search(rf"^{rule.code}\s+{rule.name}\s", out, re.M)
    assert "KB706  unsorted-tags" in out and "(opt-in)" in out and "error*" in out
    code, out, _ = run(["lint", "--list-rules", "--format", "json"], tmp_path)
    data = json.loads(out)
    assert [d["code"] for d in data] == list(RULES)
    assert {"code", "name", "severity", "fixable", "message"} <= set(data[0])


def test_rule_command(tmp_path: Path) -> None:
    code, out, _ = run(["rule", "KB402"], tmp_path)
    assert code == 0 and out.startswith("# KB402 broken-anchor")
    for section in ("## What it does", "## Why it matters", "## Example", "## Fix"):
        assert section in out
    code, out, _ = run(["rule", "near-duplicate", "--format", "json"], tmp_path)
    assert code == 0 and json.loads(out)["code"] == "KB501"
    code, _, err = run(["rule", "KB4O2"], tmp_path)
    assert code == 2 and "did you mean 'KB402'" in err


# --- baseline, fix, changed ---------------------------------------------------------------------


def test_baseline_cli_round_trip(kbdir: Path, expected: dict[str, tuple[str, int]]) -> None:
    cwd = kbdir.parent
    code, _, err = run(["lint", "--kb", "kb", *DAY, "--write-baseline", "base.json"], cwd)
    assert code == 0 and f"recorded {len(expected)} finding(s)" in err
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--baseline", "base.json"], cwd)
    assert code == 0 and f"({len(expected)} hidden by the baseline)" in out
    write_file(kbdir, "articles/fresh.md", front("fresh") + "[x](nope.md)\n")
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--baseline", "base.json", "--format", "json"], cwd)
    assert code == 1
    assert [(f["path"], f["code"]) for f in json.loads(out)["findings"]] == [("kb/articles/fresh.md", "KB401")]
    (cwd / "bad.json").write_text("[]")
    code, _, err = run(["lint", "--kb", "kb", *DAY, "--baseline", "bad.json"], cwd)
    assert code == 2 and "not a kbtool baseline" in err


def test_fix_cli(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    p = write_file(kb, "articles/a.md", front("a", created="2025/03/14", tags=["sso", "SSO"]) + "Text.   \nTODO later\n")
    code, out, err = run(["lint", "--kb", "kb", *DAY, "--fix"], tmp_path)
    assert code == 0
    assert "kb/articles/a.md:10: KB107 fixed: created: '2025/03/14' -> 2025-03-14" in err
    assert "KB704 fixed" in err and "KB705 fixed" in err
    assert "KB703" in out and "1 fix" not in out  # the TODO is prose: reported, not fixed
    assert "3 fixes applied" in out
    text = p.read_text()
    assert "created: 2025-03-14\n" in text and "tags: [sso]\n" in text and "Text.\nTODO later\n" in text
    code, out, err = run(["lint", "--kb", "kb", *DAY, "--fix"], tmp_path)
    assert err == "" and "fixable" not in out


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def test_changed_reports_changed_files_and_links_into_them(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    kb = repo / "kb"
    write_file(kb, "articles/target.md", front("target") + "Intro.\n\n## Details\n\nText.\n")
    write_file(kb, "articles/linker.md", front("linker") + "See [details](target.md#details).\n")
    write_file(kb, "articles/old-defect.md", front("old-defect") + "TODO: an old warning.\n")
    write_file(kb, "articles/gone.md", front("gone") + "Will be deleted.\n")
    write_file(kb, "articles/uses-gone.md", front("uses-gone") + "See [gone](gone.md).\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "feature")
    # the branch renames the heading (breaking linker.md's anchor), deletes gone.md,
    # and adds a new article with a defect; old-defect.md is untouched
    write_file(kb, "articles/target.md", front("target") + "Intro.\n\n## More details\n\nText.\n")
    (kb / "articles" / "gone.md").unlink()
    write_file(kb, "articles/new.md", front("new") + "Same title soon. [x](nowhere.md)\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    write_file(kb, "articles/untracked.md", front("untracked") + "TODO: new and untracked.\n")

    code, out, err = run(["lint", "--kb", "kb", *DAY, "--changed", "main", "--format", "json"], repo)
    data = json.loads(out)
    got = sorted((f["path"], f["code"]) for f in data["findings"])
    assert got == [
        ("kb/articles/linker.md", "KB402"),  # unchanged file, link into a changed one
        ("kb/articles/new.md", "KB401"),
        ("kb/articles/untracked.md", "KB703"),
        ("kb/articles/uses-gone.md", "KB401"),  # link into a deleted file
    ], (out, err)
    # target, new, untracked (gone.md is deleted), plus linker and uses-gone reported on
    assert code == 1 and data["summary"]["files"] == 5
    code, _, err = run(["lint", "--kb", "kb", *DAY, "--changed", "no-such-ref"], repo)
    assert code == 2 and "unknown git ref 'no-such-ref'" in err


def test_changed_places_duplicate_findings_on_the_changed_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    kb = repo / "kb"
    body = " ".join(f"word{i}" for i in range(80)) + "\n"
    write_file(kb, "articles/a.md", front("a", title="Same title", created="2025-06-01") + body)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    write_file(kb, "articles/b.md", front("b", title="Same title", created="2024-01-01") + body)
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--changed", "HEAD", "--format", "json"], repo)
    got = sorted((f["path"], f["code"]) for f in json.loads(out)["findings"])
    assert got == [("kb/articles/b.md", "KB501"), ("kb/articles/b.md", "KB502")]
    assert code == 0


# --- the sample KB ---------------------------------------------------------------------------------


def test_sample_kb_is_clean_via_cli(sample_kb_path: Path) -> None:
    if not (sample_kb_path / "articles").is_dir():
        pytest.skip("no sample KB")
    code, out, err = run(["lint", "--kb", str(sample_kb_path), *DAY], REPO)
    assert code == 0, out + err
    assert out.startswith("All checks passed:")


# --- reporting options: --statistics, --exit-zero, --quiet; SARIF descriptions and regions -----


def test_statistics_exit_zero_and_quiet(kbdir: Path) -> None:
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--statistics"], kbdir.parent)
    lines = out.strip().splitlines()
    assert code == 1 and lines[-1].startswith("Found 39 errors")
    assert any(re.fullmatch(r"\s+1\s+KB401\s+broken-link", line) for line in lines)
    assert any(re.fullmatch(r"\s+\d+\s+KB704\s+trailing-whitespace \[\*\d+ fixable\]", line) for line in lines)
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--exit-zero", "--quiet"], kbdir.parent)
    assert code == 0 and "KB401" in out and "Found" not in out
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--statistics", "--format", "json"], kbdir.parent)
    assert json.loads(out)["statistics"]["KB401"] == 1


def test_sarif_descriptions_are_plain_language_with_regions(kbdir: Path) -> None:
    code, out, _ = run(["lint", "--kb", "kb", *DAY, "--format", "sarif"], kbdir.parent)
    run_ = json.loads(out)["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["informationUri"].startswith("https://")
    for rule in driver["rules"]:
        assert not re.search(r"\{[a-z_]+(![rs])?\}", rule["shortDescription"]["text"]), rule["id"]  # no templates
        assert rule["fullDescription"]["text"] and "## Why it matters" in rule["help"]["markdown"]
    by_id = {r["id"]: r for r in driver["rules"]}
    assert by_id["KB401"]["shortDescription"]["text"] == (
        "A relative link to a file that does not exist (external URLs are not fetched).")
    regions = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"] for r in run_["results"]}
    assert regions["KB401"]["endLine"] == regions["KB401"]["startLine"] and regions["KB401"]["endColumn"] > 1
    assert regions["KB608"]["endColumn"] - regions["KB608"]["startColumn"] == len(
        "mongodb://admin:S3cret@db1.acme-corp.io")
    assert regions["KB101"] == {"startLine": 1, "startColumn": 1, "endLine": 1}  # no span: the whole line
