"""`--changed` checks only the changed files and those pointing at them: its report must be
exactly that of a run checking the whole KB, filtered to findings on or about the changed
files (pair findings sit on the changed member either way)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kbtool.lint import Finding, checks, duplicates
from kbtool.lint.scope import Scope


def _key(f: Finding) -> tuple[object, ...]:
    return (f.rel_path, f.line, f.column, f.code, f.message, f.refs)


@pytest.fixture()
def reference(lint_dir, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, list[Path]], list[tuple[object, ...]]]:
    """`reference(kb_dir, changed)`: the findings of a `--changed` run that checks every
    article and weighs every duplicate pair (the run before the narrowing), which is the full
    run filtered to the changed files with pair findings placed on the changed member."""
    original = duplicates.contained

    def everything(ctx: checks.LintContext) -> set[Path]:
        return {a.path for a in ctx.kb.articles}

    def all_pairs(*args: Any, focus: object = None, **kw: Any) -> list[tuple[int, int, float]]:
        return original(*args, **kw)

    def run(kb_dir: Path, changed: list[Path]) -> list[tuple[object, ...]]:
        with monkeypatch.context() as m:
            m.setattr(checks, "in_focus", everything)
            m.setattr(duplicates, "contained", all_pairs)
            _, full = lint_dir(kb_dir, changed=changed)
        scope = Scope.of(None, changed)
        assert all(scope.contains(f.path, f.refs) for f in full.findings)
        return [_key(f) for f in full.findings]

    return run


def test_change_breaking_another_files_link_reports_it(fixture_copy: Path, lint_dir, reference) -> None:
    """clean-howto.md loses its `## Steps` heading: kb402-broken-anchor.md, unchanged, now
    links to a missing anchor, and `--changed` still reports what the full run does."""
    target = fixture_copy / "articles" / "clean-howto.md"
    target.write_text(target.read_text(encoding="utf-8").replace("## Steps", "## Procedure"), encoding="utf-8")
    _, result = lint_dir(fixture_copy, changed=[target])
    got = [_key(f) for f in result.findings]
    assert got == reference(fixture_copy, [target])
    assert any(f.rel_path != "articles/clean-howto.md" for f in result.findings)


@pytest.mark.parametrize("name", ["kb402-broken-anchor.md", "kb501-near-duplicate.md", "kb502-duplicate-title.md",
                                  "kb503-contained-duplicate.md", "kb114-related-not-published.md",
                                  "kb005-invalid-yaml.md", "clean-howto.md"])
def test_changed_matches_full_run_filtered(fixture_kb: Path, lint_dir, reference, name: str) -> None:
    changed = [fixture_kb / "articles" / name]
    _, result = lint_dir(fixture_kb, changed=changed)
    assert [_key(f) for f in result.findings] == reference(fixture_kb, changed)


def test_deleted_file_reports_links_into_it(fixture_copy: Path, lint_dir, reference) -> None:
    """A deleted file (git still lists it) has no article; links to it are broken now."""
    gone = fixture_copy / "articles" / "clean-howto.md"
    gone.unlink()
    _, result = lint_dir(fixture_copy, changed=[gone])
    got = [_key(f) for f in result.findings]
    assert got == reference(fixture_copy, [gone])
    assert "articles/kb402-broken-anchor.md" in {f.rel_path for f in result.findings}
