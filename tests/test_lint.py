"""kbtool.lint through its Python API: every rule on the fixture KB, the registry,
configuration, suppression, scoping, baselines, autofix and duplicate detection."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from test_lint_support import (
    EXPECTED,
    FIXTURE_KB,
    GENERATED,
    TODAY,
    by_file,
    config_for,
    copy_fixture,
    front,
    lint_dir,
    write,
    write_secret_articles,
)

from kbtool.config import ConfigError
from kbtool.content import load_kb
from kbtool.lint import (
    LintError,
    apply_baseline,
    enabled_rules,
    fix,
    load_baseline,
    run_lint,
    write_baseline,
)
from kbtool.lint_checks import SensitiveScanner, luhn_ok
from kbtool.lint_dupes import choose_bands, near_duplicates
from kbtool.lint_fix import normalise_date
from kbtool.lint_rules import RULES, get_rule

# --- the fixture KB: one planted defect per rule ------------------------------------------


@pytest.fixture(scope="module")
def fixture_result():
    cfg = config_for(FIXTURE_KB)
    kb = load_kb(FIXTURE_KB, cfg)
    return kb, run_lint(kb, cfg, today=TODAY)


def test_every_rule_has_a_planted_defect() -> None:
    planted = {code for code, _ in EXPECTED.values()} | GENERATED
    assert planted == set(RULES), f"rules without a fixture: {sorted(set(RULES) - planted)}"


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_planted_defect_reported_with_code_and_line(fixture_result, rel: str) -> None:
    _, result = fixture_result
    assert by_file(result).get(rel) == [EXPECTED[rel]]


def test_opt_in_rule_on_its_fixture() -> None:
    _, result = lint_dir(FIXTURE_KB, select=["KB706"])
    assert [(f.rel_path, f.code, f.line) for f in result.findings] == [("articles/kb706-unsorted-tags.md", "KB706", 9)]


def test_clean_files_have_no_findings(fixture_result) -> None:
    kb, result = fixture_result
    found = by_file(result)
    clean = sorted({a.rel_path for a in kb.articles} - set(EXPECTED))
    assert len(clean) >= 10 and "articles/clean-troubleshooting.md" in clean
    assert {rel: found[rel] for rel in clean if rel in found} == {}
    assert set(found) == set(EXPECTED)


def test_severities_and_summary(fixture_result) -> None:
    _, result = fixture_result
    for f in result.findings:
        assert f.severity == RULES[f.code].severity, f
    assert result.summary == {"files": result.files, "errors": result.errors, "warnings": result.warnings}
    assert result.errors == sum(1 for c, _ in EXPECTED.values() if RULES[c].severity == "error")


def test_messages_carry_the_specifics(fixture_result) -> None:
    _, result = fixture_result
    msg = {f.rel_path: f.message for f in result.findings}
    assert "did you mean 'clean-howto.md'" in msg["articles/kb401-broken-link.md"]
    assert "did you mean '#steps'" in msg["articles/kb402-broken-anchor.md"]
    assert "did you mean 'owner'" in msg["articles/kb106-unknown-key.md"]
    assert "articles/kb105-duplicate-id.md" in msg["runbooks/kb105-duplicate-id.md"]  # both files named
    assert "articles/clean-original.md" in msg["articles/kb501-near-duplicate.md"]
    assert "threshold 0.8" in msg["articles/kb501-near-duplicate.md"]
    assert "draft" in msg["articles/kb403-public-links-private.md"]
    assert "2026-06-01" in msg["articles/kb301-review-overdue.md"]


# --- sensitive data -------------------------------------------------------------------------


def test_secrets_found_located_and_masked(tmp_path: Path) -> None:
    kb_dir = copy_fixture(tmp_path)
    planted = write_secret_articles(kb_dir)
    _, result = lint_dir(kb_dir)
    found = by_file(result)
    for rel, (code, line, _) in planted.items():
        assert found.get(rel) == [(code, line)], rel
    for f in result.findings:
        for _, _, secret in planted.values():
            assert secret.strip() not in f.message
            assert secret[6:20] not in f.message  # not even a long fragment
    gh = next(f for f in result.findings if f.rel_path == "articles/kb602-github-token.md")
    assert "GitHub token" in gh.message and "ghp_" in gh.message and gh.severity == "error"


def test_sensitive_data_is_a_warning_in_internal_content(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/internal-note.md", front("internal-note", audience="internal")
          + "Ask jane@acme-corp.com. Allow 10.1.2.3.\n")
    write(kb_dir, "runbooks/rb.md", front("rb", type="faq", audience="internal")
          + "Ask jane@acme-corp.com.\n")
    write(kb_dir, "articles/public-note.md", front("public-note") + "Ask jane@acme-corp.com.\n")
    _, result = lint_dir(kb_dir, select=["KB6"])
    sev = {(f.rel_path, f.code): f.severity for f in result.findings}
    assert sev == {
        ("articles/internal-note.md", "KB605"): "warning",
        ("articles/internal-note.md", "KB606"): "warning",
        ("runbooks/rb.md", "KB605"): "warning",
        ("articles/public-note.md", "KB605"): "error",
    }


def test_sensitive_data_in_front_matter(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/a.md", front("a", extra="aliases: [\"mail bob@corp-mail.com\"]\n") + "Body.\n")
    _, result = lint_dir(kb_dir, select=["KB605"])
    assert [(f.code, f.line) for f in result.findings] == [("KB605", 12)]


@pytest.mark.parametrize("text", [
    "Mail support@example.com or help@eu.example.org; the app lives at app.orbit.example.",
    "Write to billing@orbit.example (a reserved test domain) or you@yourcompany.com.",
    "Use 192.0.2.1, 198.51.100.200, 203.0.113.9, 2001:db8::1, 127.0.0.1, ::1, 0.0.0.0 and 169.254.169.254.",
    "Netmask 255.255.255.0; version 1.2.3 and build 10.0.19041.1; v1.2.3.4; at 12:30:45 UTC.",
    "MAC 00:1A:2B:3C:4D:5E and std::vector and C++ a::b are not addresses.",
    "Order 1234567890123 and invoice 2026-11-23-0001, phone +1 555 0100.",
    "Card ending 4242; test with `<CARD_NUMBER>`.",
    "Password: choose a new one. Set password=<YOUR_PASSWORD> and api_key: ${API_KEY}.",
    "token: YOUR_API_TOKEN, secret = os.environ['X'], password: '***', pwd=xxxxxx",
    "curl -H 'Authorization: Bearer <YOUR_API_TOKEN>' and Bearer $TOKEN",
    "The docs key AKIAIOSFODNN7EXAMPLE is AWS's own example. Prefixes like sk_live_ and ghp_ are fine alone.",
    "A JWT starts with eyJhbGciOi... and nothing more.",
    "task_live_0123456789abcdefABCDEF is a variable name, not a Stripe key.",
    "-----BEGIN RSA PRIVATE KEY----- is the first line of a key file.",
    "image@2x.png and icon@3x.svg are file names.",
    "Culture=neutral, PublicKeyToken=31bf3856ad364e35 and impersonateToken=abc123 are identifiers.",
    "Version=15.0.0.0, version 5.1.24.0, USER-AGENT: RTCC/4.0.0.0, see #section-7.4.1.2.",
    '$password = Read-Host "Enter password" -AsSecureString; db.DefaultPassword = strSecurePwd',
])
def test_no_false_positives(text: str) -> None:
    cfg = config_for(Path("/nonexistent/kb"))
    assert SensitiveScanner(cfg).scan(text) == []


@pytest.mark.parametrize("text,code", [
    ("postgres://u:p@h password=hunter2", "KB604"),
    ('{"client_secret": "s3cr3tValue"}', "KB604"),
    ("DB_PASSWORD: Tr0ub4dor&3", "KB604"),
    ("AccessToken=abc123def456", "KB604"),
    ("db.DefaultPassword = 'Secr3t!'", "KB604"),
    ("card 5555-5555-5555-4444 declined", "KB607"),
    ("card 378282246310005", "KB607"),
    ("server fd00:abcd::12 is down", "KB606"),
    ("from 8.8.8.8.", "KB606"),
    ("open http://192.168.5.56:8080 now", "KB606"),
    ('$password = "hunter2"', "KB604"),
    ("xox" + "b-1234567890-abcdefghij", "KB602"),
    ("key " + "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dcQ", "KB602"),
    ("AIza" + "SyD-1234567890abcdefghijKLMNOPQRSTU", "KB602"),
    ("Authorization: Bearer abcdef0123456789abcdef0123", "KB602"),
])
def test_detects(text: str, code: str) -> None:
    cfg = config_for(Path("/nonexistent/kb"))
    assert [c for c, _, _ in SensitiveScanner(cfg).scan(text)] == [code]


def test_email_and_ip_allowlists_from_config(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/a.md", front("a") + "Mail help@orbit-support.io from 100.64.1.2.\n")
    toml = '[lint]\nemail_allowlist = ["example.com", "orbit-support.io"]\nip_allowlist = ["100.64.0.0/10"]\n'
    _, result = lint_dir(kb_dir, toml, select=["KB6"])
    assert result.findings == []
    with pytest.raises(ConfigError, match="ip_allowlist"):
        config_for(kb_dir, '[lint]\nip_allowlist = ["not-a-network"]\n')


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


# --- registry ---------------------------------------------------------------------------------


def test_registry_is_well_formed() -> None:
    names = set()
    for code, rule in RULES.items():
        assert re.fullmatch(r"KB\d{3}", code) and rule.code == code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name) and rule.name not in names
        names.add(rule.name)
        assert rule.severity in ("error", "warning")
        for section in ("## What it does", "## Why it matters", "## Example", "## Fix"):
            assert section in rule.doc, (code, section)
        assert "\n" not in rule.message
    assert get_rule("kb402") is get_rule("broken-anchor") is RULES["KB402"]
    assert {c for c, r in RULES.items() if r.loader} == {f"KB00{i}" for i in range(1, 7)} | {f"KB10{i}" for i in range(1, 9)}


def test_selection_prefixes_names_and_opt_in() -> None:
    cfg = config_for(Path("/nonexistent/kb"))
    lc = cfg.lint
    assert "KB706" not in enabled_rules(lc)
    assert "KB706" not in enabled_rules(lc, select=["KB7"])  # opt-in needs its exact code
    assert "KB706" in enabled_rules(lc, select=["KB706"]) and "KB706" in enabled_rules(lc, select=["ALL"])
    assert enabled_rules(lc, select=["KB4"]) == {"KB401", "KB402", "KB403", "KB404", "KB405"}
    assert enabled_rules(lc, select=["broken-link"]) == {"KB401"}
    assert "KB6" not in "".join(enabled_rules(lc, ignore=["KB6"]))
    with pytest.raises(LintError, match=r"did you mean 'KB401'"):
        enabled_rules(lc, select=["KB4O1"])


def test_config_select_ignore_severity_and_per_path(tmp_path: Path) -> None:
    kb_dir = copy_fixture(tmp_path)
    toml = """
[lint]
ignore = ["KB7"]
severity = { KB301 = "warning", KB4 = "warning", KB402 = "error", KB202 = "off" }
per_path_ignores = { "runbooks/*" = ["KB1"], "articles/kb6*.md" = ["KB606"] }
"""
    _, result = lint_dir(kb_dir, toml)
    codes = {f.code: f.severity for f in result.findings}
    assert not any(c.startswith("KB7") for c in codes)
    assert codes["KB301"] == "warning" and codes["KB401"] == "warning" and codes["KB402"] == "error"
    assert "KB202" not in codes and "KB105" not in codes and "KB116" not in codes and "KB606" not in codes
    assert "KB605" in codes and result.suppressed >= 3


def test_unknown_code_in_config_is_a_lint_error(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "articles").mkdir(parents=True)
    cfg = config_for(kb_dir, '[lint]\nignore = ["KB999"]\n')
    with pytest.raises(LintError, match="lint.ignore"):
        run_lint(load_kb(kb_dir, cfg), cfg, today=TODAY)


def test_inline_suppression_lists_and_prefixes(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/a.md", front("a") + "<!-- kbtool: disable=KB703, KB6 -->\nTODO: mail x@corp.io\n")
    write(kb_dir, "articles/b.md", front("b") + "```\n<!-- kbtool: disable=KB703 -->\n```\nTODO: still reported\n")
    _, result = lint_dir(kb_dir)
    assert by_file(result) == {"articles/b.md": [("KB703", 17)]}
    assert result.suppressed == 2


# --- freshness, dates, structure details --------------------------------------------------------


def test_freshness_uses_per_article_review_every_and_config(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/a.md", front("a", reviewed="2026-06-01", extra="review_every: 90\n") + "Body.\n")
    write(kb_dir, "articles/b.md", front("b", reviewed="2026-06-01") + "Body.\n")
    write(kb_dir, "articles/c.md", front("c", created="2019-01-01", reviewed="2020-01-01", status="draft") + "Body.\n")
    _, result = lint_dir(kb_dir)
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/a.md", "KB301")]
    _, result = lint_dir(kb_dir, "review_every = 180\n[lint]\nreview_warn_days = 30\n")
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/a.md", "KB301"), ("articles/b.md", "KB302")]
    _, result = lint_dir(kb_dir, today=date(2026, 6, 2))
    assert result.findings == []


def test_anchors_use_the_site_slugs(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/t.md", front("t") + "Intro.\n\n## Rate-limit headers (v2)\n\nText.\n\n## Steps\n\n## Steps\n\n"
          "## `ERR_CERT_DATE_INVALID` in Chrome\n")
    write(kb_dir, "articles/s.md", front("s") + "[a](t.md#rate-limit-headers-v2) [b](t.md#steps_1) "
          "[c](t.md#err_cert_date_invalid-in-chrome) [d](#intro) [e](t.md#rate-limit-headers)\n")
    _, result = lint_dir(kb_dir, select=["KB402"])
    assert [(f.code, f.column, f.message) for f in result.findings] == [
        ("KB402", 93, "anchor '#intro' not found in this article"),
        ("KB402", 105, "anchor '#rate-limit-headers' not found in articles/t.md (did you mean '#rate-limit-headers-v2'?)"),
    ]


def test_html_ids_and_attr_lists_are_anchors(tmp_path: Path) -> None:
    """DocFX and Zendesk content links to `<a id>`/`<a name>` and elements with an id; the
    site has those anchors, so KB402 must not report them (68 of 71 findings on OfficeDocs were these)."""
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/t.md", front("t") + "Intro.\n\n<a id=\"summary\"></a>\n\n"
          "### <a id=\"autorecover\">Searching for AutoRecover files</a>\n\n### Old name {#azure-ad}\n\n"
          "!!! note\n    <a name=\"Note1\"><sup>1</sup></a> A footnote.\n\n<td id=\"cell\">x</td>\n\n"
          "<span name=\"span-name\">x</span> `<a id=\"in-code\"></a>` <!-- <a id=\"in-comment\"></a> -->\n\n"
          "```html\n<a id=\"in-fence\"></a>\n```\n")
    good = ["summary", "autorecover", "searching-for-autorecover-files", "azure-ad", "Note1", "cell"]
    bad = ["old-name-azure-ad", "span-name", "in-code", "in-comment", "in-fence"]
    write(kb_dir, "articles/s.md", front("s") + "\n".join(f"- [{x}](t.md#{x})" for x in good + bad) + "\n")
    _, result = lint_dir(kb_dir, select=["KB402"])
    assert [(f.rel_path, f.message.split(" not found")[0]) for f in result.findings] == [
        ("articles/s.md", f"anchor '#{x}'") for x in bad]


def test_duplicate_legacy_url_across_articles(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    old = "https://support.example.com/hc/en-us/articles/360001-Reset"
    write(kb_dir, "articles/first.md", front("first", created="2024-01-01", extra=f'legacy_urls: ["{old}", "{old}"]\n'))
    write(kb_dir, "articles/second.md", front("second", created="2025-01-01",
                                               extra="legacy_urls: [\"https://other.example/hc/en-us/articles/360001-Reset/\"]\n"))
    write(kb_dir, "articles/third.md", front("third", created="2025-02-01", status="retired",
                                              extra="replaced_by: first\nlegacy_urls:\n  - /hc/en-us/articles/360001-Reset/index.html\n"))
    write(kb_dir, "articles/own.md", front("own", extra="legacy_urls: [/hc/en-us/articles/360002-Other, /kb/a.html, /kb/a]\n"))
    _, result = lint_dir(kb_dir, select=["KB117"])
    # host, trailing slash and index.html name one page; an article listing a URL twice is no conflict;
    # /kb/a.html and /kb/a are different files
    assert [(f.rel_path, f.line, f.severity, f.message) for f in result.findings] == [
        ("articles/second.md", 12, "error", "legacy URL 'https://other.example/hc/en-us/articles/360001-Reset/' "
                                            "is also claimed by articles/first.md"),
        ("articles/third.md", 13, "error", "legacy URL '/hc/en-us/articles/360001-Reset/index.html' "
                                           "is also claimed by articles/first.md"),
    ]
    assert result.findings[0].refs == ((kb_dir / "articles" / "first.md").resolve(),)


def test_public_runbook_links_and_retired_successor_hint(tmp_path: Path) -> None:
    kb_dir = copy_fixture(tmp_path)
    write(kb_dir, "articles/pub.md", front("pub") + "[rb](../runbooks/clean-runbook.md) [old](clean-retired.md)\n"
          "[int](clean-internal-faq.md)\n")
    _, result = lint_dir(kb_dir, select=["KB403"], paths=[kb_dir / "articles" / "pub.md"])
    msgs = [f.message for f in result.findings]
    assert len(msgs) == 3
    assert "runbook" in msgs[0] and "retired" in msgs[1] and "'clean-howto.md'" in msgs[1] and "internal" in msgs[2]


# --- scope, baseline ----------------------------------------------------------------------------


def test_paths_limit_the_report(tmp_path: Path) -> None:
    kb_dir = copy_fixture(tmp_path)
    _, result = lint_dir(kb_dir, paths=[kb_dir / "runbooks"])
    assert {f.rel_path for f in result.findings} == {"runbooks/kb105-duplicate-id.md", "runbooks/kb116-public-runbook.md"}
    assert result.files == 3
    with pytest.raises(LintError):
        lint_dir(kb_dir, paths=[kb_dir / "nope"])


def test_baseline_reports_only_new_findings(tmp_path: Path) -> None:
    kb_dir = copy_fixture(tmp_path)
    kb, result = lint_dir(kb_dir)
    base = tmp_path / "baseline.json"
    assert write_baseline(result, base) == len(result.findings)
    # Shift every line of one file and add a new defect elsewhere.
    p = kb_dir / "articles" / "kb703-todo-left.md"
    p.write_text(p.read_text().replace("Intro.", "Intro.\n\nMore text.\n"), encoding="utf-8")
    write(kb_dir, "articles/new-defect.md", front("new-defect") + "See [x](missing.md).\n")
    _, result2 = lint_dir(kb_dir)
    left = apply_baseline(result2, load_baseline(base))
    assert [(f.rel_path, f.code) for f in left.findings] == [("articles/new-defect.md", "KB401")]
    assert left.baselined == len(result.findings)


def test_baseline_counts_duplicates_and_ignores_volatile_numbers(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir, "articles/a.md", front("a", reviewed="2025-01-01") + "TODO one\n\nTODO two\n")
    _, r1 = lint_dir(kb_dir, today=date(2026, 3, 1))
    base = tmp_path / "b.json"
    write_baseline(r1, base)
    _, r2 = lint_dir(kb_dir, today=date(2026, 5, 1))  # "overdue by N days" changed: still baselined
    assert apply_baseline(r2, load_baseline(base)).findings == []
    write(kb_dir, "articles/a.md", front("a", reviewed="2025-01-01") + "TODO one\n\nTODO two\n\nTODO two\n")
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


# --- autofix --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value,iso", [
    ("2025/03/14", "2025-03-14"), ("2025.3.4", "2025-03-04"), ("2025-03-14T10:00:00Z", "2025-03-14"),
    ("14 March 2025", "2025-03-14"), ("March 14, 2025", "2025-03-14"), ("Mar 4 2025", "2025-03-04"),
    ("20250314", "2025-03-14"), ("14/03/2025", "2025-03-14"), ("03/14/2025", "2025-03-14"),
    ("03/04/2025", None), ("2025-02-30", None), ("soon", None), (None, None),
])
def test_normalise_date(value, iso) -> None:
    assert normalise_date(value) == iso


def test_fix_dates_tags_whitespace_keeps_prose_bom_and_crlf(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    body = "Intro line.   \r\nA hard break stays  \r\nline two.\r\n\r\n```\r\ncode keeps trailing   \r\n```\r\n"
    text = front("a", created="14 March 2025", tags="[SSO, sso, Login, login_help]").replace("\n", "\r\n") + body
    p = kb_dir / "articles" / "a.md"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    write(kb_dir, "articles/b.md", front("b", tags="[zeta, alpha]").replace("tags: [zeta, alpha]\n",
          "tags:  # block style\n  - zeta\n  - Alpha\n") + "Body.\n")
    cfg = config_for(kb_dir)
    kb = load_kb(kb_dir, cfg)
    result = run_lint(kb, cfg, today=TODAY, select=["ALL"])
    assert {f.code for f in result.findings if f.fixable} == {"KB107", "KB704", "KB705", "KB706"}
    applied = fix(kb, cfg, result)
    assert {(a.path.name, a.code) for a in applied} >= {("a.md", "KB107"), ("a.md", "KB704"), ("a.md", "KB705"), ("b.md", "KB705")}
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    new = raw.decode("utf-8-sig")
    assert "created: 2025-03-14\r\n" in new and "tags: [login, login-help, sso]\r\n" in new
    assert "Intro line.\r\n" in new and "A hard break stays  \r\n" in new and "code keeps trailing   \r\n" in new
    assert "  - alpha\n  - zeta\n" in (kb_dir / "articles" / "b.md").read_text() and "# block style" in (kb_dir / "articles" / "b.md").read_text()
    kb2 = load_kb(kb_dir, cfg)
    after = run_lint(kb2, cfg, today=TODAY, select=["ALL"])
    assert after.findings == []


def test_fix_skips_files_changed_since_loading(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    p = write(kb_dir, "articles/a.md", front("a") + "Trailing.   \n")
    cfg = config_for(kb_dir)
    kb = load_kb(kb_dir, cfg)
    result = run_lint(kb, cfg, today=TODAY)
    p.write_text(p.read_text() + "Edited meanwhile.\n")
    assert fix(kb, cfg, result) == []
    assert p.read_text().endswith("Edited meanwhile.\n")


# --- duplicates ---------------------------------------------------------------------------------------


def test_choose_bands() -> None:
    assert choose_bands(0.8) == (16, 4)
    assert choose_bands(0.5) == (32, 2)
    for t in (0.3, 0.5, 0.7, 0.8, 0.9, 1.0):
        b, r = choose_bands(t)
        assert b * r == 64 and 1 - (1 - t**r) ** b >= 0.99


def test_near_duplicates_finds_copies_not_strangers() -> None:
    import random

    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(3000)]
    texts = [" ".join(rng.choices(vocab, k=300)) for _ in range(400)]
    words = texts[10].split()
    words[50] = "changed"
    words[200] = "edited"
    texts.append(" ".join(words))  # index 400, near-copy of 10
    texts.append(" ".join(texts[20].split()[:150]))  # half of 20: Jaccard ~0.5
    pairs = near_duplicates(texts, 0.8)
    assert [(i, j) for i, j, _ in pairs] == [(10, 400)]
    assert pairs[0][2] > 0.9
    assert {(i, j) for i, j, _ in near_duplicates(texts, 0.45)} == {(10, 400), (20, 401)}
    assert near_duplicates(["too short", "too short"], 0.8) == []


def test_duplicates_skip_retired_and_their_replacements(tmp_path: Path) -> None:
    kb_dir = copy_fixture(tmp_path)
    text = (kb_dir / "articles" / "clean-original.md").read_text()
    write(kb_dir, "articles/old-original.md", text.replace("id: clean-original", "id: old-original")
          .replace("status: published", "status: retired\nreplaced_by: clean-original"))
    _, result = lint_dir(kb_dir, select=["KB5"])
    assert [(f.rel_path, f.code) for f in result.findings] == [
        ("articles/kb501-near-duplicate.md", "KB501"), ("articles/kb502-duplicate-title.md", "KB502")]


def test_sample_kb_lints_clean(sample_kb_path: Path) -> None:
    """Acceptance: the repository's sample KB has no findings on the reference date."""
    if not (sample_kb_path / "articles").is_dir():
        pytest.skip("no sample KB")
    _, result = lint_dir(sample_kb_path)
    assert [(f.rel_path, f.line, f.code, f.message) for f in result.findings] == []
