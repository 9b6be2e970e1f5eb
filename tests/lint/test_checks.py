"""The checks (kbtool.lint.checks) through `run_lint`: every rule on the fixture KB,
configuration, suppression, scoping, and the details of front-matter, structure,
freshness and link checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from kbfactory import front_matter, write_file

from kbtool.content import load_kb
from kbtool.lint import LintError, run_lint
from kbtool.lint.rules import RULES

TODAY = date(2026, 11, 23)
# The articles these tests write: front-matter on lines 1-12, a blank line, the body from line 14.
FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}
# Planted at test time (bad bytes, symlinks, secrets: test_badinput, test_sensitive) or opt-in.
GENERATED = {"KB001", "KB002", "KB003", "KB601", "KB602", "KB603", "KB706"}


def article(doc_id: str, body: str = "", **fields: object) -> str:
    return front_matter(doc_id, **{**FAQ, **fields}) + "\n" + body


# --- the fixture KB: one planted defect per rule ------------------------------------------


@pytest.fixture(scope="module")
def fixture_result(fixture_kb: Path, config_for):
    cfg = config_for(fixture_kb)
    kb = load_kb(fixture_kb)
    return kb, run_lint(kb, cfg, today=TODAY)


def test_every_rule_has_a_planted_defect(expected) -> None:
    planted = {code for code, _ in expected.values()} | GENERATED
    assert planted == set(RULES), f"rules without a fixture: {sorted(set(RULES) - planted)}"


def test_planted_defect_reported_with_code_and_line(fixture_result, by_file, planted) -> None:
    rel, code_line = planted
    _, result = fixture_result
    assert by_file(result).get(rel) == [code_line]


def test_opt_in_rule_on_its_fixture(fixture_kb: Path, lint_dir) -> None:
    _, result = lint_dir(fixture_kb, select=["KB706"])
    assert [(f.rel_path, f.code, f.line) for f in result.findings] == [("articles/kb706-unsorted-tags.md", "KB706", 9)]


def test_clean_files_have_no_findings(fixture_result, by_file, expected) -> None:
    kb, result = fixture_result
    found = by_file(result)
    clean = sorted({a.rel_path for a in kb.articles} - set(expected))
    assert len(clean) >= 10 and "articles/clean-troubleshooting.md" in clean
    assert {rel: found[rel] for rel in clean if rel in found} == {}
    assert set(found) == set(expected)


def test_severities_and_summary(fixture_result, expected) -> None:
    _, result = fixture_result
    assert len(result.findings) == len(expected)
    for f in result.findings:
        assert f.severity == RULES[f.code].severity, f
    assert result.summary == {"files": result.files, "errors": result.errors, "warnings": result.warnings}
    assert result.errors == sum(1 for c, _ in expected.values() if RULES[c].severity == "error")
    assert result.errors + result.warnings == len(expected)


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


def test_fixable_findings_on_the_fixture(fixture_result) -> None:
    _, result = fixture_result
    assert {f.code for f in result.findings if f.fixable} == {"KB107", "KB118", "KB704", "KB705", "KB802"}
    assert result.fixable == 5


# --- configuration and suppression ---------------------------------------------------------------


def test_config_select_ignore_severity_and_per_path(fixture_copy: Path, lint_dir) -> None:
    toml = """
[lint]
ignore = ["KB7"]
severity = { KB301 = "warning", KB4 = "warning", KB402 = "error", KB202 = "off" }
per_path_ignores = { "runbooks/*" = ["KB1"], "articles/kb6*.md" = ["KB606"] }
"""
    _, result = lint_dir(fixture_copy, toml)
    codes = {f.code: f.severity for f in result.findings}
    assert not any(c.startswith("KB7") for c in codes)
    assert codes["KB301"] == "warning" and codes["KB401"] == "warning" and codes["KB402"] == "error"
    assert "KB202" not in codes and "KB105" not in codes and "KB116" not in codes and "KB606" not in codes
    assert "KB605" in codes and result.suppressed >= 3


def test_per_path_ignores_match_project_relative_paths(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "TODO: later\n"))
    _, result = lint_dir(kb_dir, '[lint]\nper_path_ignores = { "kb/articles/*.md" = ["todo-left"] }\n')
    assert result.findings == [] and result.suppressed == 1


def test_unknown_code_in_config_is_a_lint_error(tmp_path: Path, config_for) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "articles").mkdir(parents=True)
    cfg = config_for(kb_dir, '[lint]\nignore = ["KB999"]\n')
    with pytest.raises(LintError, match="lint.ignore"):
        run_lint(load_kb(kb_dir), cfg, today=TODAY)


def test_inline_suppression_lists_and_prefixes(tmp_path: Path, lint_dir, by_file) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "<!-- kbtool: disable=KB703, KB6 -->\nTODO: mail x@corp.io\n"))
    write_file(kb_dir, "articles/b.md", article("b", "```\n<!-- kbtool: disable=KB703 -->\n```\nTODO: still reported\n"))
    _, result = lint_dir(kb_dir)
    assert by_file(result) == {"articles/b.md": [("KB703", 17)]}
    assert result.suppressed == 2


def test_invalid_suppression_suggests_a_code(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "Text <!-- kbtool: disable=KB4O1,broken-lnk -->\n"))
    _, result = lint_dir(kb_dir)
    assert [(f.code, f.line, f.column, f.message) for f in result.findings] == [
        ("KB707", 14, 6, "suppression comment names unknown rule 'KB4O1' (did you mean 'KB401'?)"),
        ("KB707", 14, 6, "suppression comment names unknown rule 'broken-lnk'"),
    ]


# --- front-matter, structure, freshness --------------------------------------------------------


def test_freshness_uses_per_article_review_every_and_config(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "Body.\n", last_reviewed="2026-06-01", raw="review_every: 90\n"))
    write_file(kb_dir, "articles/b.md", article("b", "Body.\n", last_reviewed="2026-06-01"))
    write_file(kb_dir, "articles/c.md", article("c", "Body.\n", created="2019-01-01", last_reviewed="2020-01-01",
                                                status="draft"))
    _, result = lint_dir(kb_dir)
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/a.md", "KB301")]
    _, result = lint_dir(kb_dir, "review_every = 180\n[lint]\nreview_warn_days = 30\n")
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/a.md", "KB301"), ("articles/b.md", "KB302")]
    _, result = lint_dir(kb_dir, today=date(2026, 6, 2))
    assert result.findings == []


def test_related_and_replacement_problems(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/live.md", article("live", "Body.\n"))
    write_file(kb_dir, "articles/draft-one.md", article("draft-one", "Body.\n", status="draft"))
    write_file(kb_dir, "articles/inner.md", article("inner", "Body.\n", audience="internal"))
    write_file(kb_dir, "articles/old.md", article("old", "Body.\n", status="retired", replaced_by="live"))
    write_file(kb_dir, "articles/pub.md", article("pub", "Body.\n", related=["draft-one", "inner", "old", "liv"]))
    write_file(kb_dir, "articles/self.md", article("self", "Body.\n", status="retired", replaced_by="self"))
    write_file(kb_dir, "articles/not-retired.md", article("not-retired", "Body.\n", replaced_by="live"))
    _, result = lint_dir(kb_dir, select=["KB113", "KB114", "KB115"])
    assert [(f.rel_path, f.code, f.message) for f in result.findings] == [
        ("articles/not-retired.md", "KB115", "replaced_by 'live' is set but status is 'published', not 'retired'"),
        ("articles/pub.md", "KB113", "related names unknown id 'liv' (did you mean 'live'?)"),
        ("articles/pub.md", "KB114", "related article 'draft-one' is a draft"),
        ("articles/pub.md", "KB114", "related article 'inner' is internal: public articles must not point at "
                                     "internal content"),
        ("articles/pub.md", "KB114", "related article 'old' is retired (replaced by 'live')"),
        ("articles/self.md", "KB115", "replaced_by 'self' is the article itself"),
    ]


def test_headings_and_sections(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/h.md", article("h", "# Another title\n\nIntro.\n\n#### Deep\n", title="The title"))
    write_file(kb_dir, "articles/s.md", article("s", "Intro.\n\n## Steps\n\n- Open it.\n", type="howto"))
    _, result = lint_dir(kb_dir, select=["KB2"])
    assert [(f.rel_path, f.code, f.line) for f in result.findings] == [
        ("articles/h.md", "KB205", 14), ("articles/h.md", "KB206", 18), ("articles/s.md", "KB203", 16)]


@pytest.mark.parametrize(("body", "expected"), [
    ("a\n```bash\nx\n```\n", None),
    ("a\n````\nx\n```\n", (1, "````")),  # a shorter marker does not close
    ("~~~\n```\n~~~ info\n", (0, "~~~")),  # a closing fence has no info string
    ("    ```\n", None),  # indented 4: code, not a fence
    ("> ```\n> x\n\nafter\n", (0, "```")),  # a fence in a quote ends with the quote
])
def test_unclosed_fence_matches_the_prose_scanner(tmp_path: Path, lint_dir, body: str,
                                                  expected: tuple[int, str] | None) -> None:
    kb_dir = tmp_path / "kb"
    path = write_file(kb_dir, "articles/f.md", article("f", body))
    kb, result = lint_dir(kb_dir, select=["KB207"])
    found = [(f.line, f.message) for f in result.findings]
    if expected is None:
        assert found == []
    else:
        body_line = kb.get("f").body_line  # type: ignore[union-attr]
        assert found == [(body_line + expected[0], f"code fence {expected[1]!r} opened here is never closed")]
        assert path.read_text().split("\n")[body_line - 1 + expected[0]].lstrip("> ").startswith(expected[1])


# --- links -----------------------------------------------------------------------------------


def test_anchors_use_the_site_slugs(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/t.md", article("t", "Intro.\n\n## Rate-limit headers (v2)\n\nText.\n\n## Steps\n\n## Steps\n\n"
                                                "## `ERR_CERT_DATE_INVALID` in Chrome\n"))
    write_file(kb_dir, "articles/s.md", article("s", "[a](t.md#rate-limit-headers-v2) [b](t.md#steps_1) "
                                                "[c](t.md#err_cert_date_invalid-in-chrome) [d](#intro) [e](t.md#rate-limit-headers)\n"))
    _, result = lint_dir(kb_dir, select=["KB402"])
    assert [(f.code, f.column, f.message) for f in result.findings] == [
        ("KB402", 93, "anchor '#intro' not found in this article"),
        ("KB402", 105, "anchor '#rate-limit-headers' not found in articles/t.md (did you mean '#rate-limit-headers-v2'?)"),
    ]


def test_html_ids_and_attr_lists_are_anchors(tmp_path: Path, lint_dir) -> None:
    """DocFX and Zendesk content links to `<a id>`/`<a name>` and elements with an id; the
    site has those anchors, so KB402 must not report them (68 of 71 findings on OfficeDocs were these)."""
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/t.md", article("t", "Intro.\n\n<a id=\"summary\"></a>\n\n"
               "### <a id=\"autorecover\">Searching for AutoRecover files</a>\n\n### Old name {#azure-ad}\n\n"
               "!!! note\n    <a name=\"Note1\"><sup>1</sup></a> A footnote.\n\n<td id=\"cell\">x</td>\n\n"
               "<span name=\"span-name\">x</span> `<a id=\"in-code\"></a>` <!-- <a id=\"in-comment\"></a> -->\n\n"
               "```html\n<a id=\"in-fence\"></a>\n```\n"))
    good = ["summary", "autorecover", "searching-for-autorecover-files", "azure-ad", "Note1", "cell"]
    bad = ["old-name-azure-ad", "span-name", "in-code", "in-comment", "in-fence"]
    write_file(kb_dir, "articles/s.md", article("s", "\n".join(f"- [{x}](t.md#{x})" for x in good + bad) + "\n"))
    _, result = lint_dir(kb_dir, select=["KB402"])
    assert [(f.rel_path, f.message.split(" not found")[0]) for f in result.findings] == [
        ("articles/s.md", f"anchor '#{x}'") for x in bad]


def test_broken_links_images_and_outside_links(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "articles" / "images").mkdir(parents=True)
    (kb_dir / "articles" / "images" / "ok.png").write_bytes(b"png")
    write_file(kb_dir, "articles/target.md", article("target", "Body.\n"))
    write_file(kb_dir, "articles/l.md", article("l", "[a](target) [b](images) ![c](images/ok.png) ![d](images/no.png) "
                                                "[e](../../x.md) [f](/login) [g](https://example.com/x) []()\n"))
    _, result = lint_dir(kb_dir, select=["KB4"])
    assert [(f.code, f.message) for f in result.findings] == [
        ("KB401", "broken link 'target': no such file (did you mean 'target.md'?)"),
        ("KB401", "broken link 'images': is a folder, not a file"),
        ("KB404", "missing image 'images/no.png': does not exist"),
        ("KB405", "link '../../x.md' points outside the KB directory, so it breaks on the published site"),
        ("KB405", "link '/login' is a site-absolute path; link to the .md file with a relative path"),
        ("KB401", "broken link '': empty link target"),
    ]


def test_duplicate_legacy_url_across_articles(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    old = "https://support.example.com/hc/en-us/articles/360001-Reset"
    write_file(kb_dir, "articles/first.md", article("first", created="2024-01-01", raw=f'legacy_urls: ["{old}", "{old}"]\n'))
    write_file(kb_dir, "articles/second.md", article("second", created="2025-01-01",
               raw="legacy_urls: [\"https://other.example/hc/en-us/articles/360001-Reset/\"]\n"))
    write_file(kb_dir, "articles/third.md", article("third", created="2025-02-01", status="retired",
               raw="replaced_by: first\nlegacy_urls:\n  - /hc/en-us/articles/360001-Reset/index.html\n"))
    write_file(kb_dir, "articles/own.md", article("own", raw="legacy_urls: [/hc/en-us/articles/360002-Other, /kb/a.html, /kb/a]\n"))
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


def test_public_runbook_links_and_retired_successor_hint(fixture_copy: Path, lint_dir) -> None:
    kb_dir = fixture_copy
    write_file(kb_dir, "articles/pub.md", article("pub", "[rb](../runbooks/clean-runbook.md) [old](clean-retired.md)\n"
                                                  "[int](clean-internal-faq.md)\n"))
    _, result = lint_dir(kb_dir, select=["KB403"], paths=[kb_dir / "articles" / "pub.md"])
    msgs = [f.message for f in result.findings]
    assert len(msgs) == 3
    assert "runbook" in msgs[0] and "retired" in msgs[1] and "'clean-howto.md'" in msgs[1] and "internal" in msgs[2]


# --- scope -------------------------------------------------------------------------------------


def test_paths_limit_the_report(fixture_copy: Path, lint_dir) -> None:
    kb_dir = fixture_copy
    _, result = lint_dir(kb_dir, paths=[kb_dir / "runbooks"])
    assert {f.rel_path for f in result.findings} == {"runbooks/kb105-duplicate-id.md", "runbooks/kb116-public-runbook.md"}
    assert result.files == 3
    with pytest.raises(LintError):
        lint_dir(kb_dir, paths=[kb_dir / "nope"])


def test_changed_keeps_findings_about_changed_files(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    target = write_file(kb_dir, "articles/target.md", article("target", "Intro.\n"))
    write_file(kb_dir, "articles/linker.md", article("linker", "[x](target.md#gone)\n"))
    write_file(kb_dir, "articles/other.md", article("other", "TODO: unrelated\n"))
    _, result = lint_dir(kb_dir, changed=[target])
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/linker.md", "KB402")]
    assert result.files == 2  # the changed file, and the one linking into it


def test_changed_follows_a_symlinked_article_to_its_file(tmp_path: Path, lint_dir) -> None:
    """A changed file that the KB holds through a symlink of another name: the symlinked
    article is the changed one (its findings are reported), and no other file is."""
    kb_dir = tmp_path / "kb"
    real = write_file(tmp_path, "elsewhere/real.md", article("alias", "[x](missing-page.md)\n"))
    (kb_dir / "articles").mkdir(parents=True)
    (kb_dir / "articles" / "alias.md").symlink_to(real)
    write_file(kb_dir, "articles/other.md", article("other", "[y](also-missing.md)\n"))
    _, result = lint_dir(kb_dir, changed=[real])
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/alias.md", "KB401")]
    _, result = lint_dir(kb_dir, changed=[kb_dir / "articles" / "other.md"])
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/other.md", "KB401")]


def test_sample_kb_lints_clean(sample_kb_path: Path, lint_dir) -> None:
    """Acceptance: the repository's sample KB has no findings on the reference date."""
    if not (sample_kb_path / "articles").is_dir():
        pytest.skip("no sample KB")
    kb, result = lint_dir(sample_kb_path)
    assert len(kb.articles) >= 10
    assert [(f.rel_path, f.line, f.code, f.message) for f in result.findings] == []
