"""The authors'-gate rules: scaffold placeholders (KB208), comma lists (KB118), every link
form (KB401-KB403 through reference, HTML and help-center links), unsafe HTML (KB406),
comments (KB407), containment duplicates (KB503), URL credentials, phones and IBANs
(KB608-KB610), consistency (KB801-KB803), one finding per root cause, and the hint index.
Each rule: a test that it fires and one that it stays quiet on clean content."""

from __future__ import annotations

import random
from datetime import date
from difflib import get_close_matches
from pathlib import Path

import pytest
from kbfactory import write_article, write_file

from kbtool.config import load_config
from kbtool.lint.hints import CloseNames
from kbtool.scaffold import new_article


def codes(result, code: str) -> list[tuple[str, int]]:
    return [(f.rel_path, f.line) for f in result.findings if f.code == code]


# --- KB208 scaffold placeholders ---------------------------------------------------------------


def test_unedited_scaffold_fires_once_published_and_not_as_draft(tmp_path: Path, lint_dir) -> None:
    kb = tmp_path / "kb"
    (kb / "articles").mkdir(parents=True)
    cfg = load_config(cwd=tmp_path, kb=kb)
    path = new_article(cfg, "troubleshooting", "Exports fail", today=date(2026, 11, 1))
    _, draft = lint_dir(kb, select=["KB208"])
    assert draft.findings == []  # a draft may hold placeholders
    path.write_text(path.read_text().replace("status: draft", "status: published"))
    _, published = lint_dir(kb, select=["KB208"])
    texts = {f.message.split("placeholder ", 1)[1] for f in published.findings}
    assert {"'One or two sentences on what this article solves.'", "'1. First step.'",
            "'Introduce the problem in a sentence or two.'", "'Why it happens.'"} <= texts


def test_written_articles_have_no_placeholder(tmp_path: Path, lint_dir) -> None:
    write_article(tmp_path, "steps", type="howto", sections={"Steps": "1. First open the console.\n2. Click Save."})
    assert lint_dir(tmp_path, select=["KB208"])[1].findings == []


# --- KB118 comma lists (and its fix) -----------------------------------------------------------


def test_comma_string_tags_fire_and_fix_splits(tmp_path: Path, lint_dir) -> None:
    from kbtool.lint import fix

    path = write_article(tmp_path, "tagged", raw="tags: sso, saml\nrelated: one-id\n", tags=None)
    kb, result = lint_dir(tmp_path, select=["KB118"])
    assert [f.message for f in result.findings] == ["tags is one string 'sso, saml'; it must be a list"]
    assert [a.code for a in fix(kb, result)] == ["KB118"]
    assert "tags: [sso, saml]\n" in path.read_text() and "related: one-id\n" in path.read_text()
    assert lint_dir(tmp_path, select=["KB118"])[1].findings == []


# --- KB401-KB403 in every link form ------------------------------------------------------------


def test_every_link_form_reaches_hidden_content_and_broken_targets(tmp_path: Path, lint_dir) -> None:
    write_article(tmp_path, "secret-plan", audience="internal")
    write_article(tmp_path, "public-page", body="""
        Intro.

        See [the plan
        notes](secret-plan.md) here.

        > Quoted [ref][r1] link.
        >
        > [r1]: secret-plan.md

        <a href="secret-plan.md">raw</a> and <img src="missing.png" alt="x">

        Full URL: [plan](https://help.example.com/articles/secret-plan/) and
        [gone](https://help.example.com/articles/secret-plann/#x).

        [r2]: nosuch-article.md
        Use [r2].
        """)
    _, result = lint_dir(tmp_path, select=["KB4"])
    assert [line for _, line in codes(result, "KB403")] == [15, 18, 22, 24]
    assert codes(result, "KB404") == [("articles/public-page.md", 22)]
    broken = [f.message for f in result.findings if f.code == "KB401"]
    assert broken[0].startswith("broken link 'https://help.example.com/articles/secret-plann/#x': no article")
    assert "(did you mean 'secret-plan'?)" in broken[0]
    assert broken[1].startswith("broken link 'nosuch-article.md': no such file")


def test_links_to_visible_content_in_every_form_are_fine(tmp_path: Path, lint_dir) -> None:
    write_article(tmp_path, "other")
    write_article(tmp_path, "page", body="""
        [a][r] and <a href="other.md">b</a> and [c](https://help.example.com/articles/other/).

        > [r]: other.md
        """)
    assert lint_dir(tmp_path, select=["KB4"])[1].findings == []


# --- KB406 unsafe HTML / KB407 comments ---------------------------------------------------------


@pytest.mark.parametrize("line, what", [
    ("<script>alert(1)</script>", "<script> element"),
    ('<img src="a.svg" onerror="x()">', "onerror= attribute on <img>"),
    ("Text {: onclick=\"x()\" }", "onclick= in an attribute list"),
    ('<p style="display:none">hidden</p>', "style= attribute on <p>"),
    ("[run](javascript:alert(1))", "javascript: URL in a link"),
    ('<a href="vbscript:x">v</a>', "vbscript: URL in <a>"),
    ("[d](data:text/html;base64,PHNjcmlwdD4=)", "data: URL in a link"),
])
def test_unsafe_html_fires(tmp_path: Path, lint_dir, line: str, what: str) -> None:
    write_article(tmp_path, "html", body=f"Intro.\n\n{line}\n")
    messages = [f.message for f in lint_dir(tmp_path, select=["KB406"])[1].findings]
    assert f"raw HTML the site will drop: {what}" in messages


def test_safe_html_and_code_are_quiet(tmp_path: Path, lint_dir) -> None:
    write_article(tmp_path, "html", body="""
        <details><summary>More</summary><img src="data:image/png;base64,iVBORw0KGgo=" alt="dot"></details>

        `<script>` in inline code and `onclick="x"` too.

        ```html
        <script>alert(1)</script>
        ```
        """)
    assert lint_dir(tmp_path, select=["KB406"])[1].findings == []


def test_comments_in_public_articles_but_not_suppressions_or_internal(tmp_path: Path, lint_dir) -> None:
    body = "Intro.\n\n<!-- kbtool: disable=KB704 -->\n<!-- ask legal\nbefore Friday -->\n\n`<!-- code -->`\n"
    write_article(tmp_path, "pub", body=body)
    write_article(tmp_path, "inner", body=body, audience="internal")
    _, result = lint_dir(tmp_path, select=["KB407"])
    assert [(f.rel_path, f.line, f.message) for f in result.findings] == [
        ("articles/pub.md", 16, "HTML comment in a public article: 'ask legal before Friday'")]


# --- KB503 containment ------------------------------------------------------------------------


def _prose(rng: random.Random, n: int) -> str:
    words = "account admin api billing cache card client config data delete domain email error export".split()
    words += "file filter group import invoice key limit login owner page payment plan policy role rule".split()
    return "\n\n".join(" ".join(rng.choice(words) for _ in range(40)) + "." for _ in range(n))


def test_half_of_another_article_is_contained(tmp_path: Path, lint_dir) -> None:
    rng = random.Random(3)
    paras = _prose(rng, 8).split("\n\n")
    write_article(tmp_path, "whole", body="\n\n".join(paras), type="faq", created="2025-01-01")
    write_article(tmp_path, "half", body="\n\n".join(paras[:4]), type="faq", created="2025-06-01")
    write_article(tmp_path, "stranger", body=_prose(rng, 4), type="faq")
    _, result = lint_dir(tmp_path, select=["KB501", "KB503"])
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/half.md", "KB503")]
    assert "of this article's word 3-shingles are in articles/whole.md" in result.findings[0].message


def test_unrelated_articles_are_not_contained(tmp_path: Path, lint_dir) -> None:
    rng = random.Random(5)
    for i in range(30):
        write_article(tmp_path, f"a{i}", body=_prose(rng, rng.randint(1, 6)), type="faq")
    assert lint_dir(tmp_path, select=["KB503"])[1].findings == []


# --- KB801-KB803 consistency ------------------------------------------------------------------


def test_one_message_two_codes_is_reported_on_the_minority(tmp_path: Path, lint_dir) -> None:
    write_article(tmp_path, "a", body="Fails with `SAML-400: Signature validation failed`.", created="2025-01-01")
    for name in ("b", "c"):
        write_article(tmp_path, name, body="Log shows `SAML-401: Signature validation failed`.", audience="internal")
    _, result = lint_dir(tmp_path, select=["KB801"])
    assert [f.rel_path for f in result.findings] == ["articles/a.md"]
    assert result.findings[0].message.startswith("SAML-400: 'Signature validation failed' is given as SAML-401")


def test_the_code_message_prefilter_misses_no_message() -> None:
    """`may_have_code_message` runs the full pattern only on the lines of a colon after a
    digit: times and steps are no message, a message on any line is found."""
    from kbtool.lint.consistency import _CODE_MESSAGE_RE, is_code, may_have_code_message

    assert not may_have_code_message("Restarted at 10:30 and at 11: noon.\nStep 2: open Settings.")
    assert not may_have_code_message("SHA-256: the digest used here")  # a standard's name, no code
    bodies = ["At 10:30 it failed.\nThen `SAML-401: Signature validation failed` came.",
              "Error 0x80070005:  Access is denied\r\nnext line", "AADSTS50105 : The user is not assigned"]
    for body in bodies:
        assert may_have_code_message(body)
        assert any(is_code(m.group(1)) for line in body.split("\n") for m in _CODE_MESSAGE_RE.finditer(line))
    rng = random.Random(8)
    pieces = ["SAML-401", "0x8007000E", "x", "12", ": ", ":", " ", "\n", "Signature failed", "`", "10:30", "AB-123"]
    for _ in range(3000):
        body = "".join(rng.choices(pieces, k=rng.randint(1, 12)))
        full = any(is_code(m.group(1)) for line in body.split("\n") for m in _CODE_MESSAGE_RE.finditer(line))
        assert may_have_code_message(body) or not full, body


def test_consistent_codes_are_quiet(tmp_path: Path, lint_dir) -> None:
    write_article(tmp_path, "a", body="`SAML-401: Response is not yet valid` and `SAML-401: Assertion has expired`.")
    write_article(tmp_path, "b", body="`SAML-401: Response is not yet valid` again, SHA-256 and ISO-8601 too.")
    assert lint_dir(tmp_path, select=["KB801", "KB802"])[1].findings == []


def test_undeclared_code_fires_and_fix_declares_it(tmp_path: Path, lint_dir) -> None:
    from kbtool.lint import fix

    flow = write_article(tmp_path, "flow", type="troubleshooting", error_codes=["HTTP 429"],
                         sections={"Symptoms": '`{"code":"API-RATE-429"}` and AADSTS50105, ticket OPS-1842.'})
    none = write_article(tmp_path, "none", title="Error 0x80070005 on sync")
    kb, result = lint_dir(tmp_path, select=["KB802"])
    assert sorted(f.message for f in result.findings) == [
        "error code '0x80070005' is mentioned but not in error_codes",
        "error code 'AADSTS50105' is mentioned but not in error_codes",
        "error code 'API-RATE-429' is mentioned but not in error_codes"]
    fix(kb, result)
    assert 'error_codes: ["HTTP 429", "API-RATE-429", "AADSTS50105"]' in flow.read_text()
    assert 'error_codes: ["0x80070005"]\n---\n' in none.read_text()
    assert lint_dir(tmp_path)[1].findings == []


def test_fixed_known_issue_after_grace_period(tmp_path: Path, lint_dir) -> None:
    sections = {"Status": "Fixed in 4.2, released in March."}
    write_article(tmp_path, "old", type="known-issue", sections=sections, last_reviewed="2026-09-01")
    write_article(tmp_path, "recent", type="known-issue", sections=sections, last_reviewed="2026-11-10")
    write_article(tmp_path, "open", type="known-issue", last_reviewed="2026-01-10",
                  sections={"Status": "Not fixed yet; a fix is scheduled for 4.3."})
    _, result = lint_dir(tmp_path, select=["KB803"])
    assert [f.rel_path for f in result.findings] == ["articles/old.md"]
    assert "83 day(s)" in result.findings[0].message


# --- one root cause, one finding ------------------------------------------------------------


def test_references_to_an_unparsable_file_fold_into_its_error(tmp_path: Path, lint_dir) -> None:
    write_file(tmp_path, "articles/broken.md", "---\nid: broken\ntitle: [unclosed\n---\nBody.\n")
    for i in range(7):
        write_article(tmp_path, f"r{i}", related=["broken"])
    write_article(tmp_path, "typo", related=["brokn-id"])
    _, result = lint_dir(tmp_path)
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/broken.md", "KB005"),
                                                               ("articles/typo.md", "KB113")]
    assert result.findings[0].message.endswith("(7 reference(s) to it from other files are not reported separately)")


# --- the hint index ---------------------------------------------------------------------------


def test_hint_index_agrees_with_difflib_on_near_misses() -> None:
    rng = random.Random(11)
    names = [f"{rng.choice(['od', 'saml', 'scim'])}-{rng.randrange(10**5):05d}-{rng.choice('abc')}.md"
             for _ in range(3000)]
    close = CloseNames(names)
    agree = 0
    for name in rng.sample(names, 100):
        typo = name.replace("-", "_", 1)
        expected = get_close_matches(typo, names, n=1, cutoff=0.7)
        got = close.best(typo, 0.7)
        assert got is not None
        agree += got == (expected[0] if expected else None)
    assert agree >= 95
    assert close.best("zzzzzzzzzzzz", 0.7) is None and CloseNames([]).best("x") is None


# --- the scanner's new patterns ------------------------------------------------------------------

_AWS_SECRET = "wJalrXUtnFEMI" + "/K7MDENG/bPxRfiCY" + "zzzzz1234a"  # 40 characters, assembled
_AZURE_KEY = "Zb9+/Q" * 10 + "=="


@pytest.mark.parametrize("text, code, kind", [
    (f"aws_secret_access_key = {_AWS_SECRET}", "KB602", "AWS secret access key"),
    (f"AccountName=acme;AccountKey={_AZURE_KEY};EndpointSuffix=core.windows.net", "KB602", "Azure account key"),
    ("mongo mongodb://admin:S3cret@db1.acme-corp.io:27017/prod", "KB608", None),
    ("-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBg\n-----END PRIVATE KEY-----", "KB601", None),
    ("Call +44 20 7946 0123 today", "KB609", None),
    ("or (415) 555-2671.", "KB609", None),
    ("Refund to DE89 3704 0044 0532 0130 00.", "KB610", None),
    ("the server 10.20.30.40 is down", "KB606", None),
])
def test_scanner_finds_the_new_patterns(config_for, text: str, code: str, kind: str | None) -> None:
    from kbtool.lint import SensitiveScanner

    ((got, offset, params),) = SensitiveScanner(config_for(Path("/nonexistent"))).scan(text)
    assert got == code and offset < params["end"] <= len(text)
    if kind:
        assert params["kind"] == kind
    if code == "KB608":
        assert "S3cret" not in params["masked"]


@pytest.mark.parametrize("text", [
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "mongodb://<user>:<password>@db.example.com and https://${USER}:${PASS}@host",
    "-----BEGIN PRIVATE KEY-----\n<your key>\n-----END PRIVATE KEY-----",
    "Fictional (415) 555-0123 and +1 555 0100; build 10.0.19041.1; version 10.0.0.1.",
    "DE89 3704 0044 0532 0130 01 fails the check; order 2026-11-23.",
])
def test_scanner_stays_quiet_on_placeholders(config_for, text: str) -> None:
    from kbtool.lint import SensitiveScanner

    assert SensitiveScanner(config_for(Path("/nonexistent"))).scan(text) == []
