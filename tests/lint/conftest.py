"""Fixtures shared by the lint tests.

The fixture KB (tests/fixtures/lint/kb) plants one defect per rule in its own file,
named `kbNNN-<rule-name>.md`, next to clean files; `expected` lists the code and line of
each defect, and a test taking `planted` runs once per planted file. Lint runs on a fixed
day (2026-11-23) and with the default config unless a test passes its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kbtool.config import Config, load_config
from kbtool.content import KB, load_kb
from kbtool.lint import LintResult, run_lint

FIXTURE_KB = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "kb"
TODAY = date(2026, 11, 23)

# file (relative to the KB) -> (code, line) of its one planted defect
EXPECTED: dict[str, tuple[str, int]] = {
    "articles/kb004-no-front-matter.md": ("KB004", 1),
    "articles/kb005-invalid-yaml.md": ("KB005", 3),
    "articles/kb006-not-mapping.md": ("KB006", 2),
    "articles/kb101-missing-field.md": ("KB101", 1),
    "articles/kb102-wrong-type.md": ("KB102", 12),
    "articles/kb103-invalid-value.md": ("KB103", 5),
    "articles/kb104-invalid-id.md": ("KB104", 2),
    "runbooks/kb105-duplicate-id.md": ("KB105", 2),
    "articles/kb106-unknown-key.md": ("KB106", 12),
    "articles/kb107-invalid-date.md": ("KB107", 10),
    "articles/kb108-duplicate-key.md": ("KB108", 12),
    "articles/kb109-id-filename-mismatch.md": ("KB109", 2),
    "articles/kb110-reviewed-before-created.md": ("KB110", 11),
    "articles/kb111-date-in-future.md": ("KB111", 11),
    "articles/kb112-retired-without-replacement.md": ("KB112", 5),
    "articles/kb113-unknown-reference.md": ("KB113", 12),
    "articles/kb114-related-not-published.md": ("KB114", 12),
    "articles/kb115-invalid-replacement.md": ("KB115", 12),
    "runbooks/kb116-public-runbook.md": ("KB116", 6),
    "articles/kb117-duplicate-legacy-url.md": ("KB117", 12),
    "articles/kb118-comma-separated-list.md": ("KB118", 9),
    "articles/kb201-missing-section.md": ("KB201", 4),
    "articles/kb202-empty-section.md": ("KB202", 20),
    "articles/kb203-steps-not-numbered.md": ("KB203", 16),
    "articles/kb204-multiple-h1.md": ("KB204", 18),
    "articles/kb205-h1-differs-from-title.md": ("KB205", 14),
    "articles/kb206-heading-level-skip.md": ("KB206", 20),
    "articles/kb207-unclosed-code-fence.md": ("KB207", 16),
    "articles/kb208-scaffold-placeholder.md": ("KB208", 18),
    "articles/kb301-review-overdue.md": ("KB301", 11),
    "articles/kb302-review-due-soon.md": ("KB302", 11),
    "articles/kb401-broken-link.md": ("KB401", 14),
    "articles/kb402-broken-anchor.md": ("KB402", 16),
    "articles/kb403-public-links-private.md": ("KB403", 16),
    "articles/kb404-missing-image.md": ("KB404", 16),
    "articles/kb405-link-outside-kb.md": ("KB405", 16),
    "articles/kb406-unsafe-html.md": ("KB406", 16),
    "articles/kb407-html-comment.md": ("KB407", 16),
    "articles/kb501-near-duplicate.md": ("KB501", 3),
    "articles/kb502-duplicate-title.md": ("KB502", 3),
    "articles/kb503-contained-duplicate.md": ("KB503", 3),
    "articles/kb604-password-assignment.md": ("KB604", 16),
    "articles/kb605-email-address.md": ("KB605", 16),
    "articles/kb606-ip-address.md": ("KB606", 16),
    "articles/kb607-card-number.md": ("KB607", 16),
    "articles/kb608-url-credentials.md": ("KB608", 16),
    "articles/kb609-phone-number.md": ("KB609", 16),
    "articles/kb610-iban.md": ("KB610", 16),
    "articles/kb701-summary-too-long.md": ("KB701", 8),
    "articles/kb702-title-too-long.md": ("KB702", 3),
    "articles/kb703-todo-left.md": ("KB703", 16),
    "articles/kb704-trailing-whitespace.md": ("KB704", 16),
    "articles/kb705-tag-format.md": ("KB705", 9),
    "articles/kb707-invalid-suppression.md": ("KB707", 14),
    "articles/kb801-conflicting-error-code.md": ("KB801", 17),
    "articles/kb802-undeclared-error-code.md": ("KB802", 19),
    "articles/kb803-fixed-known-issue-published.md": ("KB803", 28),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`planted`: one (file, (code, line)) of EXPECTED per test run."""
    if "planted" in metafunc.fixturenames:
        metafunc.parametrize("planted", sorted(EXPECTED.items()), ids=[rel for rel in sorted(EXPECTED)])


@pytest.fixture(scope="session")
def expected() -> dict[str, tuple[str, int]]:
    """The planted defects: file (relative to the KB) -> (code, line)."""
    return dict(EXPECTED)


@pytest.fixture(scope="session")
def today() -> date:
    """The day every lint test runs on (freshness depends on it)."""
    return TODAY


@pytest.fixture(scope="session")
def fixture_kb() -> Path:
    """The fixture KB itself: read only (copy it with `fixture_copy` to change files)."""
    return FIXTURE_KB


@pytest.fixture()
def fixture_copy(tmp_path: Path) -> Path:
    """A private copy of the fixture KB at tmp_path/kb (tests may add, break or fix files)."""
    dest = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def config_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Config]:
    """`config_for(kb_dir, toml=None)`: config from `toml` (written as kbtool.toml beside the
    KB), else the defaults, read from an empty folder so the repository's own
    [tool.kbtool] never leaks into tests."""
    empty = tmp_path_factory.mktemp("no-config")

    def make(kb_dir: Path, toml: str | None = None) -> Config:
        if toml is None:
            return load_config(cwd=empty, kb=kb_dir)
        root = kb_dir.parent
        (root / "kbtool.toml").write_text(toml, encoding="utf-8")
        return load_config(cwd=root, kb=kb_dir)

    return make


@pytest.fixture(scope="session")
def lint_dir(config_for: Callable[..., Config]) -> Callable[..., tuple[KB, LintResult]]:
    """`lint_dir(kb_dir, toml=None, **run_lint_options)` -> (KB, LintResult), on `today`."""
    def run(kb_dir: Path, toml: str | None = None, **kw: Any) -> tuple[KB, LintResult]:
        cfg = config_for(kb_dir, toml)
        kb = load_kb(kb_dir)
        kw.setdefault("today", TODAY)
        return kb, run_lint(kb, cfg, **kw)

    return run


@pytest.fixture(scope="session")
def by_file() -> Callable[[LintResult], dict[str, list[tuple[str, int]]]]:
    """`by_file(result)`: KB-relative path -> [(code, line), ...] of its findings."""
    def group(result: LintResult) -> dict[str, list[tuple[str, int]]]:
        out: dict[str, list[tuple[str, int]]] = {}
        for f in result.findings:
            out.setdefault(f.rel_path, []).append((f.code, f.line))
        return out

    return group
