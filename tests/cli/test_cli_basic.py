"""The foundation commands through the CLI: `kbtool list`, `--version`, `--help`.

Mostly click's CliRunner (fast, in-process); one test runs the real `kbtool` console
script in a subprocess, as a user or CI would. `kbtool new` is tested with the scaffold,
in tests/test_scaffold.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version as dist_version
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import kbtool
from kbtool.cli import main
from kbtool.content import load_kb

FRONT_MATTER_FIELDS = {
    "id", "title", "type", "status", "audience", "owner", "summary", "product", "component", "tags",
    "created", "last_reviewed", "review_every", "error_codes", "aliases", "related", "replaced_by", "legacy_urls",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def list_json(*args: str) -> list[dict]:
    result = run("list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- kbtool list ----------------------------------------------------------------------


def test_list_text_table(project: Path) -> None:
    result = run("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "AUDIENCE", "OWNER", "REVIEWED", "PATH"]
    rows = [line.split() for line in lines[1:]]
    assert [r[0] for r in rows] == ["billing-invoices", "draft-export", "old-sso", "saml-403", "sev1-intake"]
    assert rows[3] == ["saml-403", "troubleshooting", "published", "public", "identity-team", "2024-05-20",
                       "articles/saml-403.md"]
    assert rows[4] == ["sev1-intake", "runbook", "published", "internal", "incident-team", "2024-05-20",
                       "runbooks/sev1-intake.md"]
    # Columns line up: every PATH starts at the header's PATH column.
    col = lines[0].index("PATH")
    assert all(line[col:].startswith(("articles/", "runbooks/")) for line in lines[1:])
    assert result.stderr.strip() == "4 articles, 1 runbook" and "articles," not in result.stdout


def test_list_json_objects_are_front_matter_plus_path(project: Path) -> None:
    data = list_json()
    assert len(data) == 5
    for obj in data:
        assert set(obj) == FRONT_MATTER_FIELDS | {"path"}
        assert (project / "kb" / obj["path"]).is_file()
    saml = next(o for o in data if o["id"] == "saml-403")
    assert saml == {
        "id": "saml-403", "title": "Title of saml-403", "type": "troubleshooting", "status": "published",
        "audience": "public", "owner": "identity-team", "summary": "Summary of saml-403.", "product": None,
        "component": None, "tags": ["sso"], "created": "2024-01-10", "last_reviewed": "2024-05-20",
        "review_every": None, "error_codes": [], "aliases": [], "related": [], "replaced_by": None,
        "legacy_urls": [], "path": "articles/saml-403.md",
    }
    assert next(o for o in data if o["id"] == "old-sso")["replaced_by"] == "saml-403"


@pytest.mark.parametrize(("args", "ids"), [
    (["--type", "runbook"], ["sev1-intake"]),
    (["--type", "troubleshooting"], ["saml-403"]),
    (["--status", "draft"], ["draft-export"]),
    (["--status", "retired"], ["old-sso"]),
    (["--audience", "internal"], ["draft-export", "sev1-intake"]),
    (["--tag", "billing"], ["billing-invoices", "draft-export"]),
    (["--tag", "billing", "--status", "published"], ["billing-invoices"]),
    (["--tag", "bill"], []),  # tags match exactly
    (["--type", "faq"], []),
])
def test_list_filters(project: Path, args: list[str], ids: list[str]) -> None:
    assert [o["id"] for o in list_json(*args)] == ids
    text = run("list", *args)
    assert [line.split()[0] for line in text.stdout.splitlines()[1:]] == ids


@pytest.mark.parametrize("args", [["--type", "guide"], ["--status", "live"], ["--audience", "all"], ["--format", "csv"]])
def test_list_rejects_unknown_filter_values(project: Path, args: list[str]) -> None:
    result = run("list", *args)
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_list_with_kb_option_from_another_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("list").exit_code == 2  # ./kb does not exist here
    assert len(list_json("--kb", str(project / "kb"))) == 5
    assert len(list_json("--kb", "../kb")) == 5


def test_list_missing_kb_is_a_usage_error(project: Path) -> None:
    result = run("list", "--kb", "nope")
    assert result.exit_code == 2 and "KB directory not found" in result.output


def test_list_config_error_exits_2_with_the_message(project: Path) -> None:
    (project / "kbtool.toml").write_text("review_every = \"often\"\n")
    result = run("list")
    assert result.exit_code == 2
    assert "review_every: expected a number of days" in result.output and "kbtool.toml" in result.output


def test_list_still_lists_the_good_files_beside_a_bad_one(project: Path) -> None:
    (project / "kb" / "articles" / "broken.md").write_bytes(b"---\ntitle: [\n---\n")
    assert len(list_json()) == 5


def test_list_sample_kb_matches_the_python_api(sample_kb_path: Path) -> None:
    kb = load_kb(sample_kb_path)
    data = list_json("--kb", str(sample_kb_path))
    assert [o["id"] for o in data] == [a.id for a in kb.articles]
    assert [o["path"] for o in data] == [a.rel_path for a in kb.articles]
    runbooks = list_json("--kb", str(sample_kb_path), "--type", "runbook")
    assert len(runbooks) >= 12 and all(o["path"].startswith("runbooks/") for o in runbooks)
    assert len(data) - len(runbooks) >= 40


# --- --version / --help ------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"kbtool, version {kbtool.__version__}"
    assert kbtool.__version__ == dist_version("kbtool")


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_help_has_an_example(command: str | None, flag: str) -> None:
    result = run(*([command] if command else []), flag)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and "Example" in result.stdout, result.stdout
    assert "kbtool " in result.stdout.split("Example", 1)[1]  # the example is a real command line


def test_main_help_lists_the_foundation_commands() -> None:
    out = run("--help").stdout
    assert "list" in out and "new" in out and "--version" in out


# --- the real console script ---------------------------------------------------------------


def test_console_script_in_a_subprocess(sample_kb_path: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("kbtool")
    if not exe.exists():  # pragma: no cover - not installed into this interpreter's environment
        pytest.skip(f"{exe} is not installed")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([str(exe), "list", "--kb", str(sample_kb_path), "--format", "json", "--status", "published"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    kb = load_kb(sample_kb_path)
    assert [o["id"] for o in data] == [a.id for a in kb.articles if a.status == "published"]
    assert all(set(o) == FRONT_MATTER_FIELDS | {"path"} for o in data)
