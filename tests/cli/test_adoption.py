"""Adopting kbtool in a team's CI: the pre-commit hook (`.pre-commit-hooks.yaml`) through the
real `pre-commit try-repo` on a sample repository, and the GitHub Action (`action.yml`) by
running its steps' scripts the way the runner does (same env mapping, same commands).

No network: the fast hook test runs the hook as `language: system` (this venv's kbtool); the
slow one installs the real `language: python` hook with pip from a local package mirror only,
and skips when the machine has none.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbtool.config import load_config

REPO = Path(__file__).resolve().parents[2]
BROKEN = "---\nid: broken\ntitle: Broken\n---\nNo front-matter to speak of.\n"


def hook_repo(src: Path, git: Any, language: str | None = None) -> Path:
    """`src` (holding .pre-commit-hooks.yaml) as a git repository publishing kbtool's hook, with
    `language` swapped in when given (the rest of the hook definition is the real one)."""
    if language:
        hooks, n = re.subn(r"^  language: python$", f"  language: {language}",
                           (src / ".pre-commit-hooks.yaml").read_text(), flags=re.M)
        assert n == 1
        (src / ".pre-commit-hooks.yaml").write_text(hooks)
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "hooks")
    return src


def try_repo(team: Path, hooks: Path, env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "kbtool-lint", "--color=never",
                           *args], cwd=team, env=env, capture_output=True, text=True, timeout=timeout)


# --- pre-commit ------------------------------------------------------------------------------


def test_hook_definition_is_what_the_readme_promises() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "kbtool-lint" and hook["entry"] == "kbtool lint" and hook["language"] == "python"
    assert hook["pass_filenames"] is True and hook["require_serial"] is True
    files = re.compile(hook["files"])
    assert files.search("kb/articles/a.md") and files.search("kb/runbooks/b.md")
    assert not files.search("README.md") and not files.search("docs/kb/a.md") and not files.search("kb/a.txt")


def test_pre_commit_hook_on_staged_markdown(tmp_path: Path, team_repo: Path, git: Any,
                                            clean_env: dict[str, str]) -> None:
    hooks = tmp_path / "hooks"  # a system hook installs nothing: the hooks file is all it needs
    hooks.mkdir()
    shutil.copy2(REPO / ".pre-commit-hooks.yaml", hooks)
    hook_repo(hooks, git, language="system")
    (team_repo / "notes.md").write_text("not KB content, never linted\n")
    (team_repo / "kb" / "articles" / "reset-password.md").write_text(
        (team_repo / "kb" / "articles" / "reset-password.md").read_text() + "\nOne more line.\n")
    git(team_repo, "add", "-A")
    ok = try_repo(team_repo, hooks, clean_env)  # the staged files: one clean article, notes.md
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"kbtool lint\.+Passed", ok.stdout), ok.stdout

    (team_repo / "kb" / "articles" / "broken.md").write_text(BROKEN)
    git(team_repo, "add", "-A")
    bad = try_repo(team_repo, hooks, clean_env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(r"kbtool lint\.+Failed", bad.stdout)
    assert "kb/articles/broken.md:1:1: KB101" in bad.stdout
    assert "reset-password" not in bad.stdout and "notes.md" not in bad.stdout  # only findings, only in kb/


@pytest.mark.slow
def test_pre_commit_hook_installs_the_core_and_lints(source_tree: Path, team_repo: Path, git: Any,
                                                     clean_env: dict[str, str], installed_wheelhouse: Path) -> None:
    """The real hook (`language: python`): pre-commit makes a virtualenv and pip-installs the hook
    repository into it, offline, from a wheelhouse holding only the core's dependencies, so the
    install fails if the lint-only core needs anything more."""
    env = {**clean_env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(installed_wheelhouse),
           "VIRTUALENV_NO_PERIODIC_UPDATE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env["PATH"] = env["PATH"].split(os.pathsep, 1)[1]  # not this venv's kbtool: the hook's own
    hooks = hook_repo(source_tree, git)
    (team_repo / "kb" / "articles" / "broken.md").write_text(BROKEN)
    git(team_repo, "add", "-A")
    result = try_repo(team_repo, hooks, env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"kbtool lint\.+Failed", result.stdout)
    assert "kb/articles/broken.md:1:1: KB101" in result.stdout


# --- the GitHub Action ----------------------------------------------------------------------


def action() -> dict[str, Any]:
    return yaml.safe_load((REPO / "action.yml").read_text())


def step(name_or_id: str) -> dict[str, Any]:
    return next(s for s in action()["runs"]["steps"] if name_or_id in (s.get("id"), s.get("name"), s.get("uses")))


def step_env(s: dict[str, Any], **inputs: str) -> dict[str, str]:
    """The step's `env:` with `${{ inputs.X }}` resolved as the runner would (defaults from action.yml)."""
    values = {k: v.get("default", "") for k, v in action()["inputs"].items()} | {k.replace("_", "-"): v for k, v in inputs.items()}
    return {k: re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], str(v))
            for k, v in s.get("env", {}).items()}


def run_lint_step(repo: Path, env: dict[str, str], **inputs: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    lint = step("lint")
    out = repo / "github-output.txt"
    out.write_text("")
    command = lint["run"].split()
    assert command[:3] == ["python", "-m", "kbtool.ci"]
    proc = subprocess.run([sys.executable, *command[1:]], cwd=repo, capture_output=True, text=True, timeout=120,
                          env={**env, **step_env(lint, **inputs), "GITHUB_OUTPUT": str(out)})
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    return proc, outputs


def test_action_annotates_and_writes_sarif(team_repo: Path, clean_env: dict[str, str]) -> None:
    (team_repo / "kb" / "articles" / "broken.md").write_text(BROKEN)
    proc, outputs = run_lint_step(team_repo, clean_env)
    assert proc.returncode == 1, proc.stderr
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert annotations and all(a.startswith("::error file=kb/articles/broken.md,line=1,") for a in annotations)
    assert outputs == {"exit-code": "1", "sarif-file": "kbtool.sarif"}
    sarif = json.loads((team_repo / "kbtool.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == len(annotations)
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {"kb/articles/broken.md"}


def test_action_changed_since_reports_only_the_pr_files(team_repo: Path, git: Any, clean_env: dict[str, str]) -> None:
    (team_repo / "kb" / "articles" / "broken.md").write_text(BROKEN)
    git(team_repo, "add", "-A")
    git(team_repo, "commit", "-q", "-m", "an old broken article")
    git(team_repo, "checkout", "-q", "-b", "pr")
    (team_repo / "kb" / "articles" / "also-broken.md").write_text(BROKEN.replace("broken", "also-broken"))
    proc, outputs = run_lint_step(team_repo, clean_env, changed_since="main", sarif="false")
    assert proc.returncode == 1 and outputs == {"exit-code": "1"}
    files = {re.search(r"file=([^,]+)", a).group(1) for a in proc.stdout.splitlines() if a.startswith("::")}  # type: ignore[union-attr]
    assert files == {"kb/articles/also-broken.md"}
    assert not (team_repo / "kbtool.sarif").exists()


def test_action_clean_kb_and_kb_input(team_repo: Path, clean_env: dict[str, str]) -> None:
    proc, outputs = run_lint_step(team_repo, clean_env, kb="kb")
    assert proc.returncode == 0 and outputs["exit-code"] == "0", proc.stderr
    assert json.loads((team_repo / "kbtool.sarif").read_text())["runs"][0]["results"] == []
    bad, outputs = run_lint_step(team_repo, clean_env, kb="no-such-kb")
    assert bad.returncode == 2 and outputs == {"exit-code": "2"}  # the usage error once, no SARIF run
    assert bad.stderr.count("KB directory not found: no-such-kb") == 1


@pytest.mark.parametrize(("version", "spec"), [
    ("", "kbtool"), ("0.1.0", "kbtool==0.1.0"), ("kbtool>=0.1", "kbtool>=0.1"), (".", "."),
    ("git+https://github.com/kbtool/kbtool@main", "git+https://github.com/kbtool/kbtool@main"),
])
def test_action_install_step_installs_the_core_only(tmp_path: Path, version: str, spec: str) -> None:
    """The install step's shell, with `python` a stub that prints its arguments."""
    stub = tmp_path / "bin" / "python"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\necho "$@"\n')
    stub.chmod(0o755)
    install = step("Install kbtool (core only, what lint needs)")
    env = {"PATH": f"{stub.parent}:/usr/bin:/bin", **step_env(install, version=version)}
    out = subprocess.run(["bash", "-e", "-c", install["run"]], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["-m", "pip", "install", "--disable-pip-version-check", "-q", spec]


def test_action_uploads_the_sarif_it_wrote() -> None:
    upload = step("github/codeql-action/upload-sarif@v3")
    assert upload["with"]["sarif_file"] == "${{ steps.lint.outputs.sarif-file }}"
    assert "inputs.sarif == 'true'" in upload["if"] and "!cancelled()" in upload["if"]
    assert step("actions/setup-python@v5")["with"]["python-version"] == "${{ inputs.python-version }}"
    assert set(action()["inputs"]) == {"kb", "changed-since", "sarif", "version", "python-version", "cache"}


def test_action_keeps_the_lint_cache_where_lint_writes_it() -> None:
    """actions/cache restores `.kbtool/cache` (the default `cache_dir`) before lint runs;
    any earlier run's cache is safe to restore, its entries being keyed by content."""
    names = [s.get("uses") or s.get("name") for s in action()["runs"]["steps"]]
    assert names.index("actions/cache@v4") < names.index("kbtool lint")
    cache = step("actions/cache@v4")
    assert cache["with"]["path"] == ".kbtool/cache" and cache["if"] == "${{ inputs.cache == 'true' }}"
    assert cache["with"]["key"].startswith(cache["with"]["restore-keys"])
    assert load_config(cwd=REPO).lint_cache_dir == (REPO / ".kbtool" / "cache").resolve()
