"""The rule registry (kbtool.lint.rules): the one place a rule is declared, its docs, the
fixable set the fixers must match, unknown codes, and rule selection."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from kbfactory import front_matter, write_file

from kbtool.content import Article, load_kb
from kbtool.lint import LintError, enabled_rules
from kbtool.lint.checks import LintContext
from kbtool.lint.fix import FIXERS, STEPS
from kbtool.lint.output import format_rule_doc, format_rules, unknown_rule_message
from kbtool.lint.rules import BY_NAME, FIXABLE, RULES, RuleDoc, did_you_mean, get_rule, matches, rule_for
from kbtool.lint.selection import severity_fn

TODAY = date(2026, 11, 23)


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
    assert len(names) == len(RULES) == len(BY_NAME) >= 50
    assert get_rule("kb402") is get_rule("broken-anchor") is RULES["KB402"]
    assert get_rule(" KB402 ") is RULES["KB402"] and get_rule("KB999") is None
    assert {c for c, r in RULES.items() if r.loader} == {f"KB00{i}" for i in range(1, 7)} | {f"KB10{i}" for i in range(1, 9)}


def test_every_rule_has_all_four_doc_sections_filled() -> None:
    for code, rule in RULES.items():
        assert isinstance(rule.docs, RuleDoc), code
        for part in (rule.docs.what, rule.docs.why, rule.docs.example, rule.docs.fix):
            assert part.strip(), code
        assert rule.doc == (f"## What it does\n{rule.docs.what.strip()}\n\n## Why it matters\n{rule.docs.why.strip()}"
                            f"\n\n## Example\n{rule.docs.example.strip()}\n\n## Fix\n{rule.docs.fix.strip()}\n")


def test_categories_follow_the_code_blocks() -> None:
    assert {r.category for r in RULES.values()} == {
        "file", "schema", "structure", "freshness", "links", "duplicates", "sensitive-data", "style", "consistency"}
    assert RULES["KB601"].category == "sensitive-data" and RULES["KB001"].category == "file"
    assert RULES["KB601"].severity_label == "error (public) / warning (internal)"
    assert RULES["KB401"].severity_label == "error"


# --- fixable: declared once, in the registry ------------------------------------------------


def test_fixable_set_is_derived_from_the_registry() -> None:
    assert FIXABLE == {c for c, r in RULES.items() if r.fixable} == {"KB107", "KB118", "KB704", "KB705", "KB706", "KB802"}


def test_every_fixable_rule_has_a_fixer_and_every_fixer_a_fixable_rule() -> None:
    assert set(FIXERS) == FIXABLE
    assert set(FIXERS.values()) <= set(STEPS)  # every fixer runs, in the fixed order


def test_fixable_flag_follows_the_rule_unless_a_finding_opts_out(tmp_path: Path, config_for) -> None:
    a, ctx = _article_and_context(tmp_path / "kb", config_for, {"KB704", "KB703", "KB705"})
    ctx.report(a, "KB704", 3)
    ctx.report(a, "KB703", 4, marker="TODO")
    ctx.report(a, "KB705", 5, tag="Ü", problem="is not a lowercase slug", fixable=False)
    assert [f.fixable for f in ctx.findings] == [True, False, False]
    with pytest.raises(ValueError, match="KB703 is not fixable"):
        ctx.report(a, "KB703", 4, marker="TODO", fixable=True)


# --- unknown codes ---------------------------------------------------------------------------


def test_report_with_an_unknown_code_raises(tmp_path: Path, config_for) -> None:
    """`KB4O1` (letter O) used to produce nothing at all; now it is a programming error."""
    a, ctx = _article_and_context(tmp_path / "kb", config_for, set(RULES))
    with pytest.raises(KeyError, match="KB4O1"):
        ctx.report(a, "KB4O1", 1, target="x", problem="y", hint="")
    ctx_off = LintContext(ctx.kb, ctx.config, TODAY, set(), ctx.severity_of)  # not even when nothing is enabled
    with pytest.raises(KeyError, match="KB4O1"):
        ctx_off.report(a, "KB4O1", 1)
    assert ctx.findings == [] and ctx_off.findings == []
    with pytest.raises(KeyError):
        rule_for("kb401")  # exact codes only
    assert rule_for("KB401") is RULES["KB401"]


def test_unknown_rule_messages_suggest_a_close_match() -> None:
    assert did_you_mean("KB4O1") == " (did you mean 'KB401'?)"
    assert did_you_mean("brokn-link") == " (did you mean 'broken-link'?)"
    assert did_you_mean("brokn-link", names=False) == ""
    assert did_you_mean("zzzz") == ""
    assert unknown_rule_message("KB4O2") == "unknown rule 'KB4O2' (did you mean 'KB402'?); `kbtool lint --list-rules` lists them"


# --- printed ---------------------------------------------------------------------------------


def test_format_rules_and_rule_doc() -> None:
    table = format_rules()
    assert table.splitlines()[0].split() == ["CODE", "NAME", "SEVERITY", "FIX", "MESSAGE"]
    assert re.search(r"^KB704\s+trailing-whitespace\s+warning\s+yes\s+trailing whitespace$", table, re.M)
    assert re.search(r"^KB706\s+unsorted-tags\s+warning \(opt-in\)\s+yes\s", table, re.M)
    doc = format_rule_doc(RULES["KB107"])
    assert doc.startswith("# KB107 invalid-date\n\nCategory: schema\nDefault severity: error\n")
    assert "Fix: available with `kbtool lint --fix`" in doc and "Checked while loading the KB" in doc
    assert doc.endswith(RULES["KB107"].doc)
    assert "Opt-in: enable with `--select KB706`" in format_rule_doc(RULES["KB706"])


# --- selection --------------------------------------------------------------------------------


def test_selection_prefixes_names_and_opt_in(config_for) -> None:
    lc = config_for(Path("/nonexistent/kb")).lint
    assert "KB706" not in enabled_rules(lc)
    assert "KB706" not in enabled_rules(lc, select=["KB7"])  # opt-in needs its exact code
    assert "KB706" in enabled_rules(lc, select=["KB706"]) and "KB706" in enabled_rules(lc, select=["ALL"])
    assert "KB706" in enabled_rules(lc, select=["unsorted-tags"])
    assert enabled_rules(lc, select=["KB4"]) == {"KB401", "KB402", "KB403", "KB404", "KB405", "KB406", "KB407"}
    assert enabled_rules(lc, select=["broken-link"]) == {"KB401"}
    assert "KB6" not in "".join(enabled_rules(lc, ignore=["KB6"]))
    assert enabled_rules(lc) == {c for c, r in RULES.items() if r.default}
    with pytest.raises(LintError, match=r"did you mean 'KB401'"):
        enabled_rules(lc, select=["KB4O1"])


def test_matches() -> None:
    assert matches("KB401", "ALL") and matches("KB401", "kb4") and matches("KB401", "broken-link")
    assert not matches("KB402", "broken-link") and not matches("KB501", "KB4")


def test_severity_overrides_most_specific_wins(tmp_path: Path, config_for) -> None:
    kb_dir = tmp_path / "kb"
    cfg = config_for(kb_dir, '[lint]\nseverity = { KB4 = "warning", KB402 = "error", broken-link = "warning" }\n')
    severity_of = severity_fn(cfg.lint)
    assert severity_of("KB401", None) == "warning" and severity_of("KB402", None) == "error"
    assert severity_of("KB403", None) == "warning" and severity_of("KB301", None) == "error"
    assert severity_of("KB999", None, "warning") == "warning"  # not a rule: the caller's default


def _article_and_context(kb_dir: Path, config_for, enabled: set[str]) -> tuple[Article, LintContext]:
    write_file(kb_dir, "articles/a.md", front_matter("a", type="faq") + "\nBody.\n")
    cfg = config_for(kb_dir)
    kb = load_kb(kb_dir)
    return kb.articles[0], LintContext(kb, cfg, TODAY, enabled, severity_fn(cfg.lint))
