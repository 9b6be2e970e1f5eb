"""`kbtool.config`: where the config is found, what it means, and every validation error."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbtool.config import (
    AUDIENCES,
    DEFAULT_SECTIONS,
    STATUSES,
    TYPES,
    Config,
    ConfigError,
    find_config_file,
    load_config,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with no config of its own (and none above it)."""
    proj = tmp_path / "proj"
    proj.mkdir()
    if find_config_file(tmp_path) is not None:  # pragma: no cover - a stray config above /tmp
        pytest.skip("a kbtool config exists above the temp dir")
    return proj


def kbtool_toml(proj: Path, text: str) -> Path:
    path = proj / "kbtool.toml"
    path.write_text(text, encoding="utf-8")
    return path


def pyproject(proj: Path, text: str) -> Path:
    path = proj / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n' + text, encoding="utf-8")
    return path


def error_of(proj: Path, text: str) -> str:
    kbtool_toml(proj, text)
    with pytest.raises(ConfigError) as exc:
        load_config(proj)
    return str(exc.value)


# --- lookup ---------------------------------------------------------------------------


def test_defaults_without_a_config_file(project: Path) -> None:
    cfg = load_config(project)
    assert isinstance(cfg, Config) and cfg.source is None and cfg.root == project.resolve()
    assert cfg.kb == project.resolve() / "kb"
    assert cfg.articles_dir == cfg.kb / "articles" and cfg.runbooks_dir == cfg.kb / "runbooks"
    assert cfg.index_dir == project.resolve() / ".kbtool" / "index"
    assert cfg.site_dir == project.resolve() / "site" and cfg.mkdocs_yml == project.resolve() / "mkdocs.yml"
    assert cfg.review_every == 365 and cfg.site_url == "https://help.example.com/"
    assert cfg.sections == DEFAULT_SECTIONS
    assert cfg.lint.review_warn_days == 14 and cfg.lint.duplicate_threshold == 0.8 and cfg.lint.select == []


def test_constants() -> None:
    assert TYPES == ("howto", "troubleshooting", "known-issue", "faq", "reference", "runbook")
    assert STATUSES == ("draft", "in-review", "published", "retired")
    assert AUDIENCES == ("public", "internal")
    assert set(DEFAULT_SECTIONS) == set(TYPES)
    assert DEFAULT_SECTIONS["troubleshooting"] == ["Symptoms", "Cause", "Resolution"]
    assert DEFAULT_SECTIONS["known-issue"] == ["Symptoms", "Cause", "Workaround", "Status"]
    assert DEFAULT_SECTIONS["howto"] == ["Steps"]
    assert DEFAULT_SECTIONS["runbook"] == ["When to use", "Prerequisites", "Steps", "Verification", "Escalation|Rollback"]


def test_kbtool_toml_found_from_a_subdirectory(project: Path) -> None:
    src = kbtool_toml(project, 'kb = "content/kb"\nreview_every = 90\nsite_url = "https://docs.example.com/help"\n')
    sub = project / "content" / "deep"
    sub.mkdir(parents=True)
    cfg = load_config(sub)
    assert cfg.source == src and cfg.root == project
    assert cfg.kb == project / "content" / "kb"  # relative to the file, not to the cwd
    assert cfg.review_every == 90 and cfg.site_url == "https://docs.example.com/help/"


def test_pyproject_tool_table(project: Path) -> None:
    src = pyproject(project, '[tool.kbtool]\nkb = "docs/kb"\n\n[tool.kbtool.lint]\nmax_title = 70\n')
    cfg = load_config(project)
    assert cfg.source == src and cfg.kb == project / "docs" / "kb" and cfg.lint.max_title == 70


def test_pyproject_without_our_table_is_skipped_for_a_parent_config(project: Path) -> None:
    src = kbtool_toml(project, 'kb = "kb2"\n')
    sub = project / "pkg"
    sub.mkdir()
    pyproject(sub, '[tool.black]\nline-length = 100\n')
    assert find_config_file(sub) == src
    assert load_config(sub).kb == project / "kb2"


def test_kbtool_toml_wins_over_pyproject_in_the_same_folder(project: Path) -> None:
    pyproject(project, '[tool.kbtool]\nkb = "from-pyproject"\n')
    kbtool_toml(project, 'kb = "from-kbtool-toml"\n')
    assert load_config(project).kb.name == "from-kbtool-toml"


def test_nearest_config_wins(project: Path) -> None:
    pyproject(project, '[tool.kbtool]\nkb = "outer"\n')
    inner = project / "inner"
    inner.mkdir()
    pyproject(inner, '[tool.kbtool]\nkb = "inner-kb"\n')
    assert load_config(inner).kb == inner / "inner-kb"


def test_empty_tool_table_is_a_config(project: Path) -> None:
    src = pyproject(project, "[tool.kbtool]\n")
    cfg = load_config(project)
    assert cfg.source == src and cfg.kb == project / "kb"


def test_kb_argument_overrides_and_is_relative_to_cwd(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kbtool_toml(project, 'kb = "configured"\n')
    other = project / "elsewhere"
    other.mkdir()
    assert load_config(project, kb=other).kb == other.resolve()
    assert load_config(project, kb=Path("rel-kb")).kb == project / "rel-kb"
    monkeypatch.chdir(other)
    assert load_config(kb=Path("rel-kb")).kb == other / "rel-kb"


def test_the_repos_own_config(sample_kb_path: Path) -> None:
    cfg = load_config(sample_kb_path.parent)
    assert cfg.source == sample_kb_path.parent / "pyproject.toml"
    assert cfg.kb == sample_kb_path


def test_sections_override_replaces_one_type_only(project: Path) -> None:
    kbtool_toml(project, '[sections]\nhowto = ["Before you start", "Steps"]\nfaq = ["Answer"]\n')
    cfg = load_config(project)
    assert cfg.sections["howto"] == ["Before you start", "Steps"] and cfg.sections["faq"] == ["Answer"]
    assert cfg.sections["troubleshooting"] == DEFAULT_SECTIONS["troubleshooting"]
    assert DEFAULT_SECTIONS["howto"] == ["Steps"]  # the module default is untouched


def test_configs_do_not_share_section_lists(project: Path) -> None:
    a, b = load_config(project), load_config(project)
    a.sections["howto"].append("Extra")
    assert b.sections["howto"] == ["Steps"] and DEFAULT_SECTIONS["howto"] == ["Steps"]


def test_lint_table(project: Path) -> None:
    kbtool_toml(project, """
[lint]
select = ["KB1", "KB2"]
ignore = ["KB210"]
severity = { KB201 = "warning", KB202 = "off", KB203 = "error" }
per_path_ignores = { "runbooks/*" = ["KB301"] }
email_allowlist = ["acme.test"]
review_warn_days = 30
max_title = 80
max_summary = 200
duplicate_threshold = 1
""")
    lint = load_config(project).lint
    assert lint.select == ["KB1", "KB2"] and lint.ignore == ["KB210"]
    assert lint.severity == {"KB201": "warning", "KB202": "off", "KB203": "error"}
    assert lint.per_path_ignores == {"runbooks/*": ["KB301"]} and lint.email_allowlist == ["acme.test"]
    assert (lint.review_warn_days, lint.max_title, lint.max_summary) == (30, 80, 200)
    assert lint.duplicate_threshold == 1.0 and isinstance(lint.duplicate_threshold, float)


# --- validation errors: ConfigError naming the file, the key and the problem ----------

ERRORS = [
    # name, kbtool.toml text, fragments of the message
    ("unknown-key", 'kb = "kb"\nreveiw_every = 30\n', ["unknown key(s) reveiw_every", "review_every"]),
    ("unknown-lint-key", "[lint]\nmax_titel = 3\n", ["unknown key lint.'max_titel'", "max_title"]),
    ("kb-not-string", "kb = 5\n", ["kb: expected a path string, got int 5"]),
    ("index-dir-list", 'index_dir = ["a"]\n', ["index_dir: expected a path string"]),
    ("review-every-string", 'review_every = "yearly"\n', ["review_every: expected a number of days, got str 'yearly'"]),
    ("review-every-bool", "review_every = true\n", ["review_every: expected a number of days, got bool True"]),
    ("review-every-float", "review_every = 1.5\n", ["review_every: expected a number of days"]),
    ("review-every-zero", "review_every = 0\n", ["positive number of days, got 0"]),
    ("site-url-type", "site_url = 3\n", ["site_url: expected a URL string"]),
    ("site-url-scheme", 'site_url = "help.example.com"\n', ["site_url: expected an http(s) URL or a path"]),
    ("sections-not-table", 'sections = ["Steps"]\n', ["sections: expected a table of TYPE = [headings]"]),
    ("sections-unknown-type", '[sections]\nguide = ["Steps"]\n', ["sections.guide: unknown article type", "howto"]),
    ("sections-not-list", '[sections]\nhowto = "Steps"\n', ["sections.howto: expected a list of strings"]),
    ("sections-not-strings", "[sections]\nhowto = [1, 2]\n", ["sections.howto: expected a list of strings, got int 1"]),
    ("lint-not-table", 'lint = "strict"\n', ["[lint]: expected a table"]),
    ("bad-severity", '[lint]\nseverity = { KB201 = "fatal" }\n', ["lint.severity.KB201", "'error', 'warning' or 'off'", "'fatal'"]),
    ("severity-not-table", '[lint]\nseverity = "error"\n', ["lint.severity: expected a table"]),
    ("select-not-list", '[lint]\nselect = "KB1"\n', ["lint.select: expected a list of strings, got str 'KB1'"]),
    ("ignore-numbers", "[lint]\nignore = [101]\n", ["lint.ignore: expected a list of strings"]),
    ("per-path-not-list", '[lint]\nper_path_ignores = { "a/*" = "KB1" }\n', ["lint.per_path_ignores.a/*"]),
    ("max-title-string", '[lint]\nmax_title = "90"\n', ["lint.max_title: expected a whole number"]),
    ("max-title-negative", "[lint]\nmax_title = -1\n", ["lint.max_title: expected a non-negative number"]),
    ("threshold-range", "[lint]\nduplicate_threshold = 1.5\n", ["duplicate_threshold: expected a number in (0, 1]"]),
    ("threshold-bool", "[lint]\nduplicate_threshold = true\n", ["duplicate_threshold: expected a number between 0 and 1"]),
    ("invalid-toml", 'kb = "unclosed\n', ["invalid TOML"]),
    ("db-not-string", "db = 3\n", ["db: expected a SQLite path or a postgresql:// URL, got int 3"]),
    ("db-other-url", 'db = "mysql://h/db"\n', ["db: expected a SQLite path or a postgresql:// URL, got 'mysql://h/db'"]),
    ("db-empty", 'db = " "\n', ["db: expected a SQLite path"]),
    ("store-ticket-text-string", 'store_ticket_text = "no"\n', ["store_ticket_text: expected true or false"]),
    ("feedback-url-scheme", 'feedback_url = "ftp://x/y"\n', ["feedback_url: expected an http(s) URL or a path"]),
    ("search-url-bare", 'search_url = "search"\n', ["search_url: expected an http(s) URL or a path"]),
    ("request-url-path", 'request_url = "/contact"\n', ["request_url: expected an http(s) URL or a mailto: address"]),
    ("request-url-empty-mailto", 'request_url = "mailto:"\n', ["request_url: expected an http(s) URL or a mailto:"]),
    ("support-email", 'support_email = "support"\n', ["support_email: expected an email address, got 'support'"]),
    ("site-origins-string", 'site_origins = "https://a.test"\n', ["site_origins: expected a list of strings"]),
    ("site-origins-path", 'site_origins = ["https://a.test/help"]\n', ["site_origins: 'https://a.test/help' is not an origin"]),
    ("site-origins-star", 'site_origins = ["*"]\n', ["site_origins: '*' is not an origin"]),
]


@pytest.mark.parametrize(("name", "text", "fragments"), ERRORS, ids=[e[0] for e in ERRORS])
def test_validation_errors(project: Path, name: str, text: str, fragments: list[str]) -> None:
    message = error_of(project, text)
    assert str(project / "kbtool.toml") in message  # the file is always named
    for fragment in fragments:
        assert fragment in message, message


def test_non_utf8_config_is_a_config_error(project: Path) -> None:
    (project / "kbtool.toml").write_bytes(b'kb = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(project)


def test_broken_pyproject_with_our_table_is_reported_not_ignored(project: Path) -> None:
    """A syntax error must not silently drop the team's settings for the defaults."""
    pyproject(project, '[tool.kbtool]\nkb = "docs/kb"\nreview_every = \n')
    with pytest.raises(ConfigError, match="invalid TOML") as exc:
        load_config(project)
    assert str(project / "pyproject.toml") in str(exc.value)


def test_broken_unrelated_pyproject_is_skipped(project: Path) -> None:
    pyproject(project, "[tool.black\n")
    assert load_config(project).source is None


def test_tool_kbtool_must_be_a_table(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool]\nkbtool = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[tool.kbtool\]: expected a table"):
        load_config(project)


def test_pyproject_errors_name_the_pyproject(project: Path) -> None:
    pyproject(project, "[tool.kbtool]\nkb = 1\n")
    with pytest.raises(ConfigError) as exc:
        load_config(project)
    assert f"{project / 'pyproject.toml'} kb: expected a path string" in str(exc.value)


# --- the knowledge loop and the API ---------------------------------------------------


def test_loop_defaults(project: Path) -> None:
    cfg = load_config(project)
    assert cfg.db == ".kbtool/events.sqlite" and cfg.store_ticket_text is True
    assert (cfg.feedback_url, cfg.search_url, cfg.request_url, cfg.support_email) == (None, None, None, None)
    assert cfg.site_origins == ["https://help.example.com"]  # the origin of the default site_url
    assert cfg.events_target({}) == project.resolve() / ".kbtool" / "events.sqlite"


def test_loop_keys(project: Path) -> None:
    kbtool_toml(project, """
site_url = "https://Docs.Example.com:8443/help/"
db = "var/events.db"
store_ticket_text = false
feedback_url = "https://api.example.com/v1/feedback"
search_url = "/v1/search"
request_url = "mailto:help@example.com"
support_email = "help@example.com"
""")
    cfg = load_config(project / ".")
    assert cfg.store_ticket_text is False and cfg.search_url == "/v1/search"
    assert cfg.feedback_url == "https://api.example.com/v1/feedback" and cfg.request_url == "mailto:help@example.com"
    assert cfg.support_email == "help@example.com"
    assert cfg.site_origins == ["https://docs.example.com:8443"]
    assert cfg.events_target({}) == project / "var" / "events.db"


def test_site_origins_explicit_and_none_for_a_path_site_url(project: Path) -> None:
    kbtool_toml(project, 'site_url = "/"\nsite_origins = ["https://A.test/", "http://127.0.0.1:8000"]\n')
    assert load_config(project).site_origins == ["https://a.test", "http://127.0.0.1:8000"]
    kbtool_toml(project, 'site_url = "/kb/"\n')
    assert load_config(project).site_origins == []


def test_kbtool_db_env_overrides_db(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kbtool_toml(project, 'db = "postgresql://kb@db.internal/kb"\n')
    cfg = load_config(project)
    assert cfg.events_target({}) == "postgresql://kb@db.internal/kb"
    assert cfg.events_target({"KBTOOL_DB": "postgres://u:pw@h/x"}) == "postgres://u:pw@h/x"
    monkeypatch.chdir(project)
    monkeypatch.setenv("KBTOOL_DB", "elsewhere.sqlite")
    assert cfg.events_target() == project / "elsewhere.sqlite"  # relative to the cwd, like a CLI path
    monkeypatch.setenv("KBTOOL_DB", "  ")
    assert cfg.events_target() == "postgresql://kb@db.internal/kb"  # blank means unset
