"""The foundation commands through the CLI: `kbtool list`, `kbtool new`, `--version`, `--help`.

Mostly click's CliRunner (fast, in-process); one test runs the real `kbtool` console
script in a subprocess, as a user or CI would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from importlib.metadata import version as dist_version
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import kbtool
from kbtool import scaffold
from kbtool.cli import main
from kbtool.config import DEFAULT_SECTIONS, TYPES, load_config
from kbtool.content import KB, load_kb

FRONT_MATTER_FIELDS = {
    "id", "title", "type", "status", "audience", "owner", "summary", "product", "component", "tags",
    "created", "last_reviewed", "review_every", "error_codes", "aliases", "related", "replaced_by", "legacy_urls",
}


def article(id_: str, *, type_: str = "howto", status: str = "published", audience: str = "public",
            owner: str = "support", tags: str = "[]", extra: str = "") -> str:
    sections = "".join(f"## {s.split('|')[0]}\n\nText.\n\n" for s in DEFAULT_SECTIONS[type_])
    return (
        f"---\nid: {id_}\ntitle: Title of {id_}\ntype: {type_}\nstatus: {status}\naudience: {audience}\n"
        f"owner: {owner}\nsummary: Summary of {id_}.\ntags: {tags}\ncreated: 2024-01-10\n"
        f"last_reviewed: 2024-05-20\n{extra}---\n\nIntro.\n\n{sections}"
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with no config file (so the KB is ./kb) as the working directory."""
    kb = tmp_path / "kb"
    (kb / "articles").mkdir(parents=True)
    (kb / "runbooks").mkdir()
    files = {
        "articles/billing-invoices.md": article("billing-invoices", tags="[billing, invoices]"),
        "articles/saml-403.md": article("saml-403", type_="troubleshooting", tags="[sso]", owner="identity-team"),
        "articles/draft-export.md": article("draft-export", status="draft", audience="internal", tags="[billing]"),
        "articles/old-sso.md": article("old-sso", status="retired", extra="replaced_by: saml-403\n"),
        "runbooks/sev1-intake.md": article("sev1-intake", type_="runbook", audience="internal", owner="incident-team"),
    }
    for rel, text in files.items():
        (kb / rel).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    if load_config().source is not None:  # pragma: no cover - a stray config above /tmp
        pytest.skip("a kbtool config exists above the temp dir")
    return tmp_path


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
    assert "5 article(s)" in result.stderr and "article(s)" not in result.stdout


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
