"""CLI conventions every command follows: bad paths are one-line errors (exit 2, no traceback),
NO_COLOR / FORCE_COLOR, a missing extra names its `pip install`, shell completion, labelled
progress phases, `kbtool new --help` lists the types, `kbtool list` counts and filters.

In-process through click's CliRunner (fast); the bad-path test enumerates `main.commands`, so
a new command is covered (or fails here until its required arguments are listed).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from kbfactory import write_article

from kbtool.cli import common, main
from kbtool.config import TYPES
from kbtool.progress import ProgressLine

ANSI = "\x1b["


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no config, holding a small KB in ./kb and nothing else."""
    kb = tmp_path / "kb"
    write_article(kb, "saml-403", type="troubleshooting", owner="identity-team", product="sso",
                  last_reviewed="2026-01-10", error_codes=["SAML-403"])
    write_article(kb, "billing-invoices", owner="billing-team", product="billing", last_reviewed="2026-09-01")
    write_article(kb, "draft-export", status="draft", owner="billing-team", last_reviewed="2025-01-01")
    write_article(kb, "sev1-intake", type="runbook", owner="incident-team", last_reviewed="2026-02-01")
    monkeypatch.chdir(tmp_path)
    for var in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


# --- every command: bad paths --------------------------------------------------------------

# The required parameters of each command (by parameter name), with good values ({dir} and {file}
# are filled in); the test swaps one path for a bad one at a time.
REQUIRED: dict[str, dict[str, str]] = {
    "search": {"query": "SAML"}, "rule": {"code": "KB101"}, "new": {"type_": "howto", "title": "New one"},
    "completion": {"shell": "bash"}, "suggest": {"subject": "SAML-403"}, "eval": {"golden": "{file}"},
    "import docfx": {"src": "{dir}", "dest": "{dir}/out"}, "import zendesk": {"export": "{file}", "dest": "{dir}/out"},
    "events prune": {"keep_days": "30"}, "keys create": {"scope": "agent", "name": "ci"}, "keys revoke": {"key": "k"},
}


def leaf_commands(group: click.Group = main, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from leaf_commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def bad_values(param: click.Parameter, tmp: Path) -> list[tuple[str, str]]:
    """(case, value) for a path parameter: where the OS says no, a missing path, the wrong kind."""
    kind = param.type
    assert isinstance(kind, click.Path)
    cases = [("odd", "/proc/kbtool-x")]
    if param.callback is not common.writable_dir:  # an output dir that is missing is created
        cases.append(("missing", str(tmp / "missing" / "x")))
    if not kind.file_okay:
        cases.append(("file-for-dir", str(tmp / "a-file.txt")))
    if not kind.dir_okay:
        cases.append(("dir-for-file", str(tmp / "a-dir")))
    return cases


def bad_path_cases() -> Iterator[tuple[str, str, str]]:
    for name, cmd in leaf_commands():
        for param in cmd.params:
            if isinstance(param.type, click.Path):
                for case, _ in bad_values(param, Path("/tmp")):
                    yield name, param.name or "", case


def test_every_command_is_listed_or_needs_no_arguments() -> None:
    for name, cmd in leaf_commands():
        required = [p for p in cmd.params if p.required]
        assert not required or name in REQUIRED, f"add {name!r}'s required arguments to REQUIRED"


@pytest.mark.parametrize(("command", "param_name", "case"), list(bad_path_cases()))
def test_bad_path_is_one_line_and_exit_2_or_1(project: Path, command: str, param_name: str, case: str) -> None:
    (project / "a-file.txt").write_text("[]\n")
    (project / "a-dir").mkdir()
    cmd = dict(leaf_commands())[command]
    param = next(p for p in cmd.params if p.name == param_name)
    bad = dict(bad_values(param, project))[case]
    good = {"dir": str(project / "a-dir"), "file": str(project / "a-file.txt")}
    values = {k: v.format_map(good) for k, v in REQUIRED.get(command, {}).items()}
    values[param_name] = bad
    args: list[str] = []
    for p in cmd.params:
        if p.name in values:
            args += [values[p.name or ""]] if isinstance(p, click.Argument) else [p.opts[-1], values[p.name or ""]]
    result = run(*command.split(), *args)
    assert result.exit_code in (1, 2), (args, result.output, result.exception)  # 2 usage, 1 failure
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr


def test_oserror_escaping_a_command_is_path_colon_reason(project: Path) -> None:
    (project / "export.json").write_text("[]")
    report = "/proc/kbtool-x/report.json"
    result = run("import", "zendesk", "export.json", "out", "--report", report)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {report}: No such file or directory\n"


def test_path_error_names_the_path_and_reason() -> None:
    err = common.path_error(FileNotFoundError(2, "No such file or directory", "/proc/x"))
    assert err.format_message() == "/proc/x: No such file or directory" and err.exit_code == 2
    assert common.path_error(OSError("disk on fire")).format_message() == "disk on fire"


def test_output_dir_is_checked_before_any_work(project: Path) -> None:
    result = run("index", "--index-dir", "/proc/kbtool-x")
    assert result.exit_code == 2
    assert "'--index-dir': cannot write /proc/kbtool-x" in result.stderr
    assert not list(Path("/proc").glob(".kbtool-probe-*"))


# --- colour ------------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "tty", "expected"), [
    ({}, False, False), ({}, True, True),
    ({"NO_COLOR": "1"}, True, False), ({"NO_COLOR": ""}, True, True),  # set but empty: no effect
    ({"FORCE_COLOR": "1"}, False, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
])
def test_use_color(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, expected: bool) -> None:
    for var in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    stream = Tty() if tty else io.StringIO()
    assert common.use_color(stream) is expected
    assert (ANSI in common.style("x", stream, bold=True)) is expected


def test_search_highlights_with_force_color_and_never_with_no_color(project: Path) -> None:
    assert run("index", "--index-dir", str(project / "idx")).exit_code == 0
    args = ["search", "symptoms", "--index-dir", str(project / "idx")]
    forced = run(*args, env={"FORCE_COLOR": "1"})
    assert forced.exit_code == 0 and ANSI in forced.stdout, forced.output
    plain = run(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.exit_code == 0 and "saml-403" in plain.stdout and ANSI not in plain.output
    assert run("list", env={"FORCE_COLOR": "1"}).stdout.startswith(ANSI)  # the bold header
    assert ANSI not in run("list", env={"NO_COLOR": "1", "FORCE_COLOR": "1"}).output


# --- missing extras ----------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "extra", "module"), [
    (["build"], "site", "mkdocs"), (["preview"], "site", "material"), (["index"], "search", "whoosh"),
    (["search", "x"], "search", "scipy"), (["import", "zendesk", "{file}", "out"], "import", "markdownify"),
])
def test_missing_extra_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], extra: str,
                                   module: str) -> None:
    (project / "export.json").write_text("[]")
    find_spec = common.importlib.util.find_spec
    monkeypatch.setattr(common.importlib.util, "find_spec", lambda name, *a: None if name == module else find_spec(name, *a))
    result = run(*[a.replace("{file}", str(project / "export.json")) for a in argv])
    command = " ".join(argv[:2]) if argv[0] == "import" else argv[0]
    assert result.exit_code == 2
    assert result.stderr == f"Error: kbtool {command} needs the {extra} extra: pip install 'kbtool[{extra}]'\n"


def test_an_import_of_a_missing_extra_anywhere_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: a command that does not call `require_extra` still fails in one line."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` -> ModuleNotFoundError
    result = run("serve")
    assert result.exit_code == 2, result.output
    assert result.stderr == "Error: kbtool serve needs the api extra: pip install 'kbtool[api]'\n"


# --- completion --------------------------------------------------------------------------


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _kbtool_completion kbtool"), ("zsh", "#compdef kbtool"),
    ("fish", "complete --no-files --command kbtool"),
])
def test_completion_script(shell: str, marker: str) -> None:
    result = run("completion", shell)
    assert result.exit_code == 0 and marker in result.stdout and "_KBTOOL_COMPLETE" in result.stdout


def test_bash_completion_completes_commands_and_choices(project: Path) -> None:
    exe = Path(sys.executable).with_name("kbtool")
    script = run("completion", "bash").stdout
    if shutil.which("bash") is None or not exe.exists():  # pragma: no cover
        pytest.skip("needs bash and the kbtool console script")
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0
    env = {**os.environ, "PATH": f"{exe.parent}:{os.environ['PATH']}"}
    probe = script + '\nCOMP_WORDS=(kbtool li); COMP_CWORD=1; COMPREPLY=(); _kbtool_completion kbtool; echo "${COMPREPLY[@]}"' \
                     '\nCOMP_WORDS=(kbtool new ""); COMP_CWORD=2; COMPREPLY=(); _kbtool_completion kbtool; echo "${COMPREPLY[@]}"'
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60).stdout
    commands, types = out.splitlines()[-2:]
    assert commands.split() == ["lint", "list"]
    assert types.split() == list(TYPES)


# --- help, list ----------------------------------------------------------------------------


def test_new_help_lists_every_type_with_its_sections() -> None:
    out = run("new", "--help").stdout
    for t in TYPES:
        assert f"\n    {t} " in out, out
    assert "Symptoms, Cause, Resolution" in out


def test_list_counts_articles_and_runbooks(project: Path) -> None:
    assert run("list").stderr == "3 articles, 1 runbook\n"
    assert run("list", "--type", "runbook").stderr == "0 articles, 1 runbook\n"


@pytest.mark.parametrize(("args", "ids"), [
    (["--owner", "billing-team"], ["billing-invoices", "draft-export"]),
    (["--product", "sso"], ["saml-403"]),
    (["--owner", "billing-team", "--status", "published"], ["billing-invoices"]),
    # review_every 365: saml-403 due 2027-01-10, sev1-intake 2027-02-01, billing 2027-09-01; drafts never due
    (["--due", "0", "--today", "2027-01-11"], ["saml-403"]),
    (["--due", "30", "--today", "2027-01-05"], ["saml-403", "sev1-intake"]),
    (["--due", "30", "--today", "2026-06-01"], []),
    (["--due", "400", "--today", "2026-10-01", "--type", "runbook"], ["sev1-intake"]),
])
def test_list_filters_owner_product_due(project: Path, args: list[str], ids: list[str]) -> None:
    result = run("list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    assert [o["id"] for o in json.loads(result.stdout)] == ids


def test_list_due_rejects_a_bad_today(project: Path) -> None:
    result = run("list", "--due", "5", "--today", "tomorrow")
    assert result.exit_code == 2 and "--today: expected YYYY-MM-DD" in result.stderr


# --- progress phases -----------------------------------------------------------------------


def test_progress_labels_the_work_after_100_percent() -> None:
    out = Tty()
    with ProgressLine(out, enabled=True) as line:
        indexing = line.phase("indexing", then="committing segments")
        embedding = line.phase("embedding", "texts")
        assert indexing is not None and embedding is not None
        indexing(1, 2)
        indexing(2, 2)
        assert out.getvalue().endswith("indexing: 2/2 files (100%, " + out.getvalue().rsplit("(100%, ", 1)[1])
        assert out.getvalue().rstrip("\x1b[K").endswith(": committing segments...")
        assert "\n" not in out.getvalue()  # still on the one line while it commits
        embedding(3, 3)
    lines = out.getvalue().split("\n")
    assert "committing segments took " in lines[0] and lines[0].rstrip("\x1b[K").endswith("s")
    assert lines[1].split("\r")[-1].startswith("embedding: 3/3 texts (100%")
    assert lines[2] == ""  # the last phase ended its own line; close() added nothing


def test_progress_is_off_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProgressLine(io.StringIO()).phase("indexing") is None
    monkeypatch.setenv("CI", "true")
    assert ProgressLine(Tty()).phase("indexing") is None
