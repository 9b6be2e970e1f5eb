"""Shared helpers for the lint tests (this module holds no tests itself).

The fixture KB (tests/fixtures/lint/kb) plants one defect per rule in its own file,
named `kbNNN-<rule-name>.md`, next to clean files. Secrets are not stored in the
repository (secret scanners would rightly flag them): `write_secret_articles` builds
them at test time from fragments.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from datetime import date
from pathlib import Path

from kbtool.config import Config, load_config
from kbtool.content import KB, load_kb
from kbtool.lint import LintResult, run_lint

FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "lint" / "kb"
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
    "articles/kb201-missing-section.md": ("KB201", 4),
    "articles/kb202-empty-section.md": ("KB202", 20),
    "articles/kb203-steps-not-numbered.md": ("KB203", 16),
    "articles/kb204-multiple-h1.md": ("KB204", 18),
    "articles/kb205-h1-differs-from-title.md": ("KB205", 14),
    "articles/kb206-heading-level-skip.md": ("KB206", 20),
    "articles/kb207-unclosed-code-fence.md": ("KB207", 16),
    "articles/kb301-review-overdue.md": ("KB301", 11),
    "articles/kb302-review-due-soon.md": ("KB302", 11),
    "articles/kb401-broken-link.md": ("KB401", 14),
    "articles/kb402-broken-anchor.md": ("KB402", 16),
    "articles/kb403-public-links-private.md": ("KB403", 16),
    "articles/kb404-missing-image.md": ("KB404", 16),
    "articles/kb405-link-outside-kb.md": ("KB405", 16),
    "articles/kb501-near-duplicate.md": ("KB501", 3),
    "articles/kb502-duplicate-title.md": ("KB502", 3),
    "articles/kb604-password-assignment.md": ("KB604", 16),
    "articles/kb605-email-address.md": ("KB605", 16),
    "articles/kb606-ip-address.md": ("KB606", 16),
    "articles/kb607-card-number.md": ("KB607", 16),
    "articles/kb701-summary-too-long.md": ("KB701", 8),
    "articles/kb702-title-too-long.md": ("KB702", 3),
    "articles/kb703-todo-left.md": ("KB703", 16),
    "articles/kb704-trailing-whitespace.md": ("KB704", 16),
    "articles/kb705-tag-format.md": ("KB705", 9),
    "articles/kb707-invalid-suppression.md": ("KB707", 14),
}
# Planted at test time (bad bytes, symlinks, secrets) or opt-in: see the tests using them.
GENERATED = {"KB001", "KB002", "KB003", "KB601", "KB602", "KB603", "KB706"}

# Secrets assembled from fragments so the repository never contains one.
AWS_KEY = "AKIA" + "Q3EGTZ7" + "XN4KWB2PL"  # 20 chars, not AWS's EXAMPLE key
GITHUB_TOKEN = "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8"  # 36 after the prefix
JWT = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98R2Xk0w1t4jZ1s8bXyZq\n-----END RSA " + "PRIVATE KEY-----\n"


def front(aid: str, *, title: str | None = None, type: str = "faq", status: str = "published",
          audience: str = "public", created: str = "2025-01-10", reviewed: str = "2026-10-01",
          tags: str = "[fixture]", extra: str = "") -> str:
    return (
        f"---\nid: {aid}\ntitle: \"{title or 'Test article ' + aid}\"\ntype: {type}\nstatus: {status}\n"
        f"audience: {audience}\nowner: support-team\nsummary: \"A test article ({aid}).\"\ntags: {tags}\n"
        f"created: {created}\nlast_reviewed: {reviewed}\n{extra}---\n\n"
    )


def copy_fixture(tmp_path: Path) -> Path:
    """A private copy of the fixture KB (tests may add, break or fix files)."""
    dest = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, dest, symlinks=True)
    return dest


def write(kb_dir: Path, rel: str, text: str) -> Path:
    path = kb_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_secret_articles(kb_dir: Path) -> dict[str, tuple[str, int, str]]:
    """Articles with one secret each; returns rel -> (code, line, secret)."""
    out = {}
    for code, name, secret in (
        ("KB601", "private-key", PEM),
        ("KB602", "access-token", AWS_KEY),
        ("KB603", "jwt", JWT),
    ):
        rel = f"articles/{code.lower()}-{name}.md"
        write(kb_dir, rel, front(f"{code.lower()}-{name}") + f"Intro.\n\nValue:\n\n{secret}\n")
        out[rel] = (code, 18, secret)
    rel = "articles/kb602-github-token.md"
    write(kb_dir, rel, front("kb602-github-token") + f"Intro.\n\n    export GITHUB_TOKEN={GITHUB_TOKEN}\n")
    out[rel] = ("KB602", 16, GITHUB_TOKEN)
    return out


@functools.cache
def _empty_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="kbtool-lint-tests-"))
    atexit.register(path.rmdir)
    return path


def config_for(kb_dir: Path, toml: str | None = None) -> Config:
    """Config from `toml` (written as kbtool.toml beside the KB), else the defaults: read
    from an empty folder, so the repository's own [tool.kbtool] never leaks into tests."""
    if toml is None:
        return load_config(cwd=_empty_dir(), kb=kb_dir)
    root = kb_dir.parent
    (root / "kbtool.toml").write_text(toml, encoding="utf-8")
    return load_config(cwd=root, kb=kb_dir)


def lint_dir(kb_dir: Path, toml: str | None = None, **kw: object) -> tuple[KB, LintResult]:
    cfg = config_for(kb_dir, toml)
    kb = load_kb(kb_dir, cfg)
    kw.setdefault("today", TODAY)
    return kb, run_lint(kb, cfg, **kw)  # type: ignore[arg-type]


def by_file(result: LintResult) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for f in result.findings:
        out.setdefault(f.rel_path, []).append((f.code, f.line))
    return out
