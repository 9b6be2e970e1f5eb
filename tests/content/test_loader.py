"""The loader and the model: `kbtool.content.load_kb` on real files, good and bad.

Every bad-input case writes a real file next to a known-good article and checks
(1) the located diagnostic (file, line, column, code, message) and (2) that the good
article still loads, valid and diagnostic-free. Loading must never raise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from kbfactory import write_article
from kbfactory import write_file as write

from kbtool import content
from kbtool.content import (
    BAD_DATE,
    BAD_ID,
    BAD_VALUE,
    DUPLICATE_ID,
    DUPLICATE_KEY,
    EMPTY_OR_HUGE,
    ENCODING,
    INVALID_YAML,
    KB,
    MISSING_FIELD,
    NO_FRONT_MATTER,
    NOT_A_MAPPING,
    UNKNOWN_KEY,
    UNREADABLE,
    WRONG_TYPE,
    Article,
    Diagnostic,
    load_kb,
    parse_date,
)

# --- helpers -------------------------------------------------------------------------

LineNo = Callable[[Path, str], int]

FIELDS = {
    "id": "reset-password",
    "title": "Reset your password",
    "type": "howto",
    "status": "published",
    "audience": "public",
    "owner": "support",
    "summary": "How to reset a forgotten password from the sign-in page.",
    "created": "2024-01-15",
    "last_reviewed": "2024-06-01",
}
BODY = "Use this when you cannot sign in.\n\n## Steps\n\n1. Open the sign-in page.\n2. Click **Forgot password**.\n"


def front_matter(**changes: object) -> str:
    """Front-matter lines for a valid how-to; a change of None drops the field."""
    fields = {**FIELDS, **changes}
    return "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)


def doc(body: str = BODY, **changes: object) -> str:
    return f"---\n{front_matter(**changes)}---\n\n{body}"


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A KB with one known-good article (id `good`) beside whatever a test adds."""
    kb = tmp_path / "kb"
    (kb / "runbooks").mkdir(parents=True)
    write_article(kb, "good", title="A good article")
    return kb


def only(kb: KB, name: str) -> list[Diagnostic]:
    return [d for d in kb.diagnostics if d.path.name == name]


def one(kb: KB, name: str, code: str | None = None) -> Diagnostic:
    diags = [d for d in only(kb, name) if code is None or d.code == code]
    assert len(diags) == 1, f"expected one {code or ''} diagnostic for {name}, got {kb.diagnostics}"
    return diags[0]


def assert_good_loads(kb: KB) -> None:
    good = kb.get("good")
    assert good is not None and good.valid, kb.diagnostics
    assert good.title == "A good article"
    assert only(kb, "good.md") == []


# --- the good path -------------------------------------------------------------------


def test_valid_article_loads_with_every_field(kb_dir: Path) -> None:
    path = write(kb_dir, "articles/reset-password.md", doc(
        product="sso", component="login", tags="[password, sign-in]", error_codes='["AUTH-401", HTTP 429]',
        aliases="[forgot password]", related="[good]", review_every=180,
    ))
    kb = load_kb(kb_dir)
    assert kb.diagnostics == []
    a = kb.get("reset-password")
    assert a is not None and a.valid and a.kind == "article"
    assert a.path == path and a.rel_path == "articles/reset-password.md"
    assert (a.title, a.type, a.status, a.audience, a.owner) == ("Reset your password", "howto", "published", "public", "support")
    assert a.created == date(2024, 1, 15) and a.last_reviewed == date(2024, 6, 1)
    assert a.tags == ["password", "sign-in"] and a.error_codes == ["AUTH-401", "HTTP 429"]
    assert a.aliases == ["forgot password"] and a.related == ["good"]
    assert (a.product, a.component, a.review_every, a.replaced_by) == ("sso", "login", 180, None)
    assert a.line_of("id") == 2 and a.line_of("summary") == 8 and a.line_of("nope") == 1
    assert a.meta["created"] == "2024-01-15"  # raw front-matter keeps strings, not datetime.date
    assert a.section("steps") is not None and a.section("Steps").text.startswith("1. Open")
    assert kb.by_path[path.resolve()] is a
    assert len(a.content_hash) == 64
    d = a.to_dict()
    assert d["path"] == "articles/reset-password.md" and d["created"] == "2024-01-15"
    assert set(FIELDS) <= set(d)


def test_load_kb_accepts_str_and_empty_dirs(tmp_path: Path) -> None:
    assert load_kb(str(tmp_path)).articles == []  # no articles/ or runbooks/: empty, no crash
    (tmp_path / "articles").mkdir()
    write(tmp_path, "articles/notes.txt", "not markdown")
    assert load_kb(tmp_path).diagnostics == []


# --- every bad input: located diagnostic + the good file still loads -----------------

BAD_CASES = [
    # name, file content, code, line, column, message fragment
    ("no-front-matter", "# Reset password\n\nJust Markdown.\n", NO_FRONT_MATTER, 1, 1, "no front-matter"),
    ("front-matter-not-first", "\n---\nid: x\n---\nbody\n", NO_FRONT_MATTER, 1, 1, "must start with a '---'"),
    ("unterminated", f"---\n{front_matter()}\n## Steps\n\n1. Do it.\n", NO_FRONT_MATTER, 1, 1, "never closed"),
    ("yaml-colon", "---\nid: bad-yaml\ntitle: Error: SAML-403\n---\nbody\n", INVALID_YAML, 3, 13, "mapping values are not allowed"),
    ("yaml-bracket", "---\nid: bad-yaml\ntags: [a, b\nowner: x\n---\nbody\n", INVALID_YAML, 4, 6, "expected ',' or ']'"),
    ("yaml-indent", "---\nid: bad-yaml\ntitle: x\n  owner: y\n---\nbody\n", INVALID_YAML, 4, 8, "mapping values"),
    ("yaml-control-char", "---\nid: x\ntitle: a\x07b\n---\nbody\n", INVALID_YAML, 3, 9, "U+0007"),
    ("plain-string", "---\nThis is just a sentence\n---\nbody\n", NOT_A_MAPPING, 2, 1, "got a string"),
    ("list", "---\n\n- id: x\n- title: y\n---\nbody\n", NOT_A_MAPPING, 3, 1, "got a list"),
    ("empty", "", EMPTY_OR_HUGE, 1, 1, "empty file"),
    ("whitespace-only", "  \n\n\t\n", EMPTY_OR_HUGE, 1, 1, "empty file"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", ENCODING, 1, 1, "binary file"),
    ("latin-1", "---\nid: cafe\ntitle: Caf\xe9 menu\n---\n".encode("latin-1"), ENCODING, 3, 11, "byte 0xe9"),
    # Multibyte characters before the bad byte: the column counts characters, not bytes.
    ("bad-byte-after-utf8", "---\nid: x\ntitle: Café – \xff\n---\n".encode().replace(b"\xc3\xbf", b"\xff"),
     ENCODING, 3, 15, "byte 0xff"),  # "title: Café – " is 14 characters (18 bytes)
    ("bom-then-bad-byte", b"\xef\xbb\xbf---\nid: x\xfe\n---\n", ENCODING, 2, 6, "byte 0xfe"),
]


@pytest.mark.parametrize(("name", "data", "code", "line", "column", "fragment"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_unloadable_file_is_located_and_good_file_still_loads(
    kb_dir: Path, name: str, data: str | bytes, code: str, line: int, column: int, fragment: str
) -> None:
    bad = write(kb_dir, f"articles/{name}.md", data)
    kb = load_kb(kb_dir)
    d = one(kb, bad.name)
    assert (d.path, d.line, d.column, d.code, d.severity) == (bad, line, column, code, "error"), d
    assert fragment in d.message
    assert all(a.path != bad for a in kb.articles)  # nothing usable came out of it
    assert_good_loads(kb)


def test_invalid_yaml_position_is_the_file_position(kb_dir: Path, line_no: LineNo) -> None:
    # A blank line after the opening --- and one earlier key: still the file's own line/column.
    bad = write(kb_dir, "articles/bad.md", "---\n\nid: bad\nsummary: \"unterminated\n---\n\nbody\n")
    d = one(load_kb(kb_dir), "bad.md", INVALID_YAML)
    assert d.line >= line_no(bad, "summary") and d.column >= 1
    bad.write_text("---\n\nid: bad\ntitle: x\ntitle2: Error: 403\n---\n")
    d = one(load_kb(kb_dir), "bad.md", INVALID_YAML)
    assert (d.line, d.column) == (line_no(bad, "title2"), len("title2: Error") + 1)


def test_file_over_the_size_limit(kb_dir: Path) -> None:
    big = write(kb_dir, "articles/huge.md", doc() + "x" * content.MAX_FILE_BYTES)
    kb = load_kb(kb_dir)
    d = one(kb, "huge.md", EMPTY_OR_HUGE)
    assert (d.path, d.line) == (big, 1) and "limit" in d.message
    assert_good_loads(kb)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loop_and_broken_symlink(kb_dir: Path) -> None:
    arts = kb_dir / "articles"
    (arts / "loop-a.md").symlink_to(arts / "loop-b.md")
    (arts / "loop-b.md").symlink_to(arts / "loop-a.md")
    (arts / "self.md").symlink_to(arts / "self.md")
    (arts / "broken.md").symlink_to(arts / "missing-target.md")
    (arts / "dir-loop").symlink_to(arts)  # a directory loop must not hang the walk
    write(kb_dir, "shared/real.md", doc(id="linked", title="Linked in"))
    (arts / "linked.md").symlink_to(kb_dir / "shared" / "real.md")  # a good symlink just works
    kb = load_kb(kb_dir)
    for name in ("loop-a.md", "loop-b.md", "self.md", "broken.md"):
        d = one(kb, name)
        assert (d.path, d.line, d.code) == (arts / name, 0, UNREADABLE)
        assert "symlink" in d.message
    assert kb.get("linked") is not None and kb.get("linked").valid
    assert_good_loads(kb)


@pytest.mark.skipif(os.name != "posix", reason="chmod 000 needs POSIX permissions")
def test_unreadable_file(kb_dir: Path) -> None:
    bad = write(kb_dir, "articles/secret.md", doc(id="secret"))
    write_article(kb_dir, "beside", title="Beside the secret")
    bad.chmod(0)
    try:
        if os.access(bad, os.R_OK):
            pytest.skip("this user reads chmod 000 files anyway (root)")
        kb = load_kb(kb_dir)
    finally:
        bad.chmod(0o644)
    d = one(kb, "secret.md")
    assert (d.path, d.line, d.column, d.code, d.severity) == (bad, 0, 0, UNREADABLE, "error")
    assert d.message.startswith("cannot read file:") and "Permission denied" in d.message
    assert kb.get("secret") is None and all(a.path != bad for a in kb.articles)
    assert kb.get("beside") is not None and kb.get("beside").valid and only(kb, "beside.md") == []
    assert_good_loads(kb)


def test_read_error_becomes_a_diagnostic(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path as chmod 000, runnable as root: read_bytes raising OSError."""
    bad = write(kb_dir, "articles/secret.md", doc(id="secret"))
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.md":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    kb = load_kb(kb_dir)
    d = one(kb, "secret.md")
    assert (d.path, d.line, d.code) == (bad, 0, UNREADABLE) and "Permission denied" in d.message
    assert_good_loads(kb)


# --- schema problems: the article loads (valid=False) with located messages -----------

SCHEMA_CASES = [
    # name, changes to the good front-matter, key whose line is reported, code, message fragments
    ("tags-number", {"tags": 5}, "tags", WRONG_TYPE, ["'tags' must be a list of strings", "got a number"]),
    ("tags-nested", {"tags": "[a, [b]]"}, "tags", WRONG_TYPE, ["list of strings"]),
    ("owner-boolean", {"owner": "true"}, "owner", WRONG_TYPE, ["'owner' must be a string", "boolean true", "quote"]),
    ("title-mapping", {"title": "{text: Reset}"}, "title", WRONG_TYPE, ["'title' must be a string", "got a mapping"]),
    ("title-list", {"title": "[a, b]"}, "title", WRONG_TYPE, ["got a list"]),
    ("review-every-text", {"review_every": "soon"}, "review_every", WRONG_TYPE, ["positive number of days"]),
    ("review-every-zero", {"review_every": 0}, "review_every", WRONG_TYPE, ["positive number of days"]),
    ("type-typo", {"type": "troubleshoting"}, "type", BAD_VALUE, ["'troubleshoting' is not one of", "did you mean 'troubleshooting'?"]),
    ("status-typo", {"status": "publshed"}, "status", BAD_VALUE, ["did you mean 'published'?"]),
    ("audience-typo", {"audience": "pubilc"}, "audience", BAD_VALUE, ["did you mean 'public'?"]),
    ("audience-unrelated", {"audience": "everyone"}, "audience", BAD_VALUE, ["public, internal"]),
    ("id-uppercase", {"id": "Reset_Password"}, "id", BAD_ID, ["'Reset_Password'", "[a-z0-9-]+"]),
    ("id-double-hyphen", {"id": "reset--password"}, "id", BAD_ID, ["single hyphens"]),
    ("id-trailing-hyphen", {"id": "reset-"}, "id", BAD_ID, ["[a-z0-9-]+"]),
    ("date-impossible", {"created": "2024-02-30"}, "created", BAD_DATE, ["'2024-02-30'", "not a real calendar date"]),
    ("date-not-iso", {"last_reviewed": "15/01/2024"}, "last_reviewed", BAD_DATE, ["not an ISO date (YYYY-MM-DD)"]),
    ("date-short", {"created": "2024-1-5"}, "created", BAD_DATE, ["not an ISO date"]),
    ("date-number", {"created": 20240115}, "created", BAD_DATE, ["not an ISO date"]),
    ("missing-summary", {"summary": None}, None, MISSING_FIELD, ["missing required field 'summary'"]),
    ("blank-title", {"title": '"   "'}, "title", MISSING_FIELD, ["missing required field 'title'"]),
    ("empty-owner", {"owner": ""}, "owner", MISSING_FIELD, ["'owner'"]),
    ("runbook-type-in-runbooks", {"type": "howto"}, "type", BAD_VALUE, ["type 'runbook'"]),
    ("legacy-mapping", {"legacy_urls": "{old: /a}"}, "legacy_urls", WRONG_TYPE, ["'legacy_urls' must be a list of strings"]),
    ("legacy-relative", {"legacy_urls": "[hc/articles/1]"}, "legacy_urls", BAD_VALUE,
     ["legacy_urls entry 'hc/articles/1' must be an http(s):// URL or a path starting with '/'"]),
    ("legacy-ftp", {"legacy_urls": '["ftp://old.example/kb/1"]'}, "legacy_urls", BAD_VALUE, ["http(s)://"]),
    ("legacy-query", {"legacy_urls": '["https://old.example/kb/show?id=7"]'}, "legacy_urls", BAD_VALUE,
     ["has a query string", "cannot redirect by query"]),
    ("legacy-fragment", {"legacy_urls": '["https://old.example/faq#q3"]'}, "legacy_urls", BAD_VALUE, ["'#fragment'"]),
    ("legacy-home", {"legacy_urls": '["https://old.example/"]'}, "legacy_urls", BAD_VALUE, ["has no path"]),
    ("legacy-dotdot", {"legacy_urls": '["/kb/../../etc/passwd"]'}, "legacy_urls", BAD_VALUE, ["'..'"]),
    ("legacy-encoded-dotdot", {"legacy_urls": '["https://old.example/kb/%2e%2e/x"]'}, "legacy_urls", BAD_VALUE, ["'..'"]),
    ("legacy-backslash", {"legacy_urls": '["/kb/a%5Cb"]'}, "legacy_urls", BAD_VALUE, ["backslash"]),
    ("legacy-empty", {"legacy_urls": '[""]'}, "legacy_urls", BAD_VALUE, ["is empty"]),
]


@pytest.mark.parametrize(("name", "changes", "key", "code", "fragments"), SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_schema_problem_is_located_on_its_key(
    kb_dir: Path, name: str, changes: dict[str, object], key: str | None, code: str, fragments: list[str], line_no: LineNo) -> None:
    folder = "runbooks" if name.startswith("runbook") else "articles"
    bad = write(kb_dir, f"{folder}/{name}.md", doc(**{"id": name, **changes}))
    kb = load_kb(kb_dir)
    d = one(kb, bad.name, code)
    expected_line = line_no(bad, f"{key}:") if key else 1
    assert (d.path, d.line, d.column, d.severity) == (bad, expected_line, 1, "error"), d
    for fragment in fragments:
        assert fragment in d.message, d.message
    article = next(a for a in kb.articles if a.path == bad)
    assert article.valid is False  # still loaded, so lint can report more on it
    assert_good_loads(kb)
    assert article not in kb.valid_articles


def test_yaml_1_1_surprises_are_read_as_written(kb_dir: Path) -> None:
    """`NO`/`yes`/`on` stay strings (YAML 1.2), dates stay ISO strings, hex/octal/sexagesimal
    and version-like numbers keep their text instead of turning into other numbers."""
    bad = write(kb_dir, "articles/yaml.md", doc(
        id="yaml", owner="NO", product="yes", component="on", title="3.10",
        error_codes="[0x80070005, 1:30, 010, 403, 1_000]", aliases="[3.10, .inf]", tags="[off, null-route]",
    ))
    kb = load_kb(kb_dir)
    assert only(kb, bad.name) == []
    a = kb.get("yaml")
    assert a is not None and a.valid
    assert (a.owner, a.product, a.component, a.title) == ("NO", "yes", "on", "3.10")
    assert a.error_codes == ["0x80070005", "1:30", "010", "403", "1_000"]
    assert a.aliases == ["3.10", ".inf"] and a.tags == ["off", "null-route"]
    assert a.created == date(2024, 1, 15)


def test_legacy_urls_load_as_written(kb_dir: Path, line_no: LineNo) -> None:
    path = write(kb_dir, "articles/moved.md", doc(id="moved", legacy_urls=(
        "\n  - https://support.example.com/hc/en-us/articles/360001-Reset-your-password"
        "\n  - /kb/reset.html\n  - https://support.example.com/hc/fr/articles/360001-R%C3%A9initialiser/"
        "\n  - /kb/reset.html")))
    kb = load_kb(kb_dir)
    assert kb.diagnostics == []
    a = kb.get("moved")
    assert a.valid and a.legacy_urls == [  # as written, a repeated entry once
        "https://support.example.com/hc/en-us/articles/360001-Reset-your-password", "/kb/reset.html",
        "https://support.example.com/hc/fr/articles/360001-R%C3%A9initialiser/"]
    assert a.to_dict()["legacy_urls"] == a.legacy_urls and a.line_of("legacy_urls") == line_no(path, "legacy_urls:")
    assert [content.legacy_url_path(u)[0] for u in a.legacy_urls] == [
        "hc/en-us/articles/360001-Reset-your-password", "kb/reset.html", "hc/fr/articles/360001-Réinitialiser"]
    assert [content.legacy_page_file(content.legacy_url_path(u)[0]) for u in a.legacy_urls] == [
        "hc/en-us/articles/360001-Reset-your-password/index.html", "kb/reset.html",
        "hc/fr/articles/360001-Réinitialiser/index.html"]
    # a lone string is a list of one, like the other list fields; no key means no URLs
    write(kb_dir, "articles/one-url.md", doc(id="one-url", legacy_urls="/kb/one"))
    kb = load_kb(kb_dir)
    assert kb.get("one-url").legacy_urls == ["/kb/one"] and kb.get("good").legacy_urls == []


def test_bad_legacy_url_is_reported_and_the_good_ones_kept(kb_dir: Path, line_no: LineNo) -> None:
    bad = write(kb_dir, "articles/mixed.md", doc(id="mixed", legacy_urls='["/kb/ok", "/kb/x?y=1", "https://old.example/kb/fine"]'))
    kb = load_kb(kb_dir)
    d = one(kb, bad.name, BAD_VALUE)
    assert d.line == line_no(bad, "legacy_urls:") and "'/kb/x?y=1' has a query string" in d.message
    a = kb.get("mixed")
    assert a.valid is False and a.legacy_urls == ["/kb/ok", "https://old.example/kb/fine"]


def test_lone_string_list_field_is_a_list_of_one(kb_dir: Path) -> None:
    write(kb_dir, "articles/one.md", doc(id="one", tags="billing"))
    kb = load_kb(kb_dir)
    assert kb.diagnostics == [] and kb.get("one").tags == ["billing"]


def test_every_problem_in_one_file_is_reported(kb_dir: Path, line_no: LineNo) -> None:
    bad = write(kb_dir, "articles/many.md", doc(id="Many", type="guide", created="yesterday", summary=None, tags=5))
    kb = load_kb(kb_dir)
    codes = sorted(d.code for d in only(kb, "many.md"))
    assert codes == sorted([BAD_ID, BAD_VALUE, BAD_DATE, MISSING_FIELD, WRONG_TYPE])
    assert {d.line for d in only(kb, "many.md")} == {1, *(line_no(bad, k) for k in ("id:", "type:", "created:", "tags:"))}
    assert_good_loads(kb)


def test_missing_id_falls_back_to_file_name(kb_dir: Path) -> None:
    bad = write(kb_dir, "articles/no-id.md", doc(id=None))
    kb = load_kb(kb_dir)
    d = one(kb, "no-id.md", MISSING_FIELD)
    assert (d.path, d.line) == (bad, 1) and "'id'" in d.message
    assert kb.get("no-id") is not None and kb.get("no-id").valid is False


def test_unknown_key_is_a_warning_with_did_you_mean(kb_dir: Path, line_no: LineNo) -> None:
    bad = write(kb_dir, "articles/typo.md", doc(id="typo").replace("summary:", "summray:", 1))
    write(kb_dir, "articles/extra.md", doc(id="extra", relatd="[good]"))
    kb = load_kb(kb_dir)
    d = one(kb, "extra.md", UNKNOWN_KEY)
    assert (d.line, d.column, d.severity) == (line_no(kb_dir / "articles/extra.md", "relatd:"), 1, "warning")
    assert "unknown front-matter key 'relatd'" in d.message and "did you mean 'related'?" in d.message
    assert kb.get("extra").valid is True  # a warning does not invalidate the article
    d = one(kb, "typo.md", UNKNOWN_KEY)
    assert d.line == line_no(bad, "summray:") and "did you mean 'summary'?" in d.message
    assert one(kb, "typo.md", MISSING_FIELD).message == "missing required field 'summary'"
    assert_good_loads(kb)


def test_duplicate_yaml_keys(kb_dir: Path, line_no: LineNo) -> None:
    text = doc(id="dupkey").replace("owner: support\n", "owner: support\ntitle: Second title\n")
    bad = write(kb_dir, "articles/dupkey.md", text)
    kb = load_kb(kb_dir)
    d = one(kb, "dupkey.md", DUPLICATE_KEY)
    assert (d.path, d.line, d.column) == (bad, line_no(bad, "title: Second"), 1)
    assert "'title' appears twice" in d.message
    assert kb.get("dupkey").title == "Second title"
    assert kb.get("dupkey").line_of("title") == 3  # the first occurrence
    assert_good_loads(kb)


def test_duplicate_ids_across_files(kb_dir: Path) -> None:
    first = write(kb_dir, "articles/a-first.md", doc(id="shared-id", title="First"))
    second = write(kb_dir, "runbooks/z-second.md", doc(id="shared-id", title="Second", type="runbook"))
    kb = load_kb(kb_dir)
    d = one(kb, "z-second.md", DUPLICATE_ID)
    assert (d.path, d.line, d.column) == (second, 2, 1)
    # Both files are named: the diagnostic's own path and the other file in the message.
    assert "duplicate id 'shared-id'" in d.message and "articles/a-first.md" in d.message
    assert f"{d.path.relative_to(kb_dir).as_posix()}" == "runbooks/z-second.md"
    assert kb.get("shared-id").path == first and kb.get("shared-id").valid
    assert kb.by_path[second.resolve()].valid is False
    assert only(kb, "a-first.md") == []
    assert_good_loads(kb)


def test_bom_is_dropped_and_metadata_parsed(kb_dir: Path, line_no: LineNo) -> None:
    path = write(kb_dir, "articles/bom.md", b"\xef\xbb\xbf" + doc(id="bom").encode())
    kb = load_kb(kb_dir)
    assert only(kb, "bom.md") == []
    a = kb.get("bom")
    assert a is not None and a.valid and a.title == FIELDS["title"]
    assert "---" not in a.body and "\ufeff" not in a.body and "id:" not in a.body
    assert a.body.startswith("Use this when")
    assert a.body_line == line_no(path, "Use this when") and a.line_of("id") == 2
    assert_good_loads(kb)


def test_crlf_line_numbers(kb_dir: Path, line_no: LineNo) -> None:
    text = doc(id="crlf", created="2024-02-30").replace("\n", "\r\n")
    path = write(kb_dir, "articles/crlf.md", text)
    kb = load_kb(kb_dir)
    a = kb.get("crlf")
    assert "\r" not in a.body and a.title == FIELDS["title"]
    assert one(kb, "crlf.md", BAD_DATE).line == line_no(path, "created:") == 9
    assert a.body_line == line_no(path, "Use this when")
    assert [h.line for h in a.headings] == [line_no(path, "## Steps")]
    assert_good_loads(kb)


def test_old_mac_cr_line_endings(kb_dir: Path) -> None:
    write(kb_dir, "articles/cr.md", doc(id="cr").replace("\n", "\r"))
    kb = load_kb(kb_dir)
    assert only(kb, "cr.md") == [] and kb.get("cr").section("Steps") is not None


def test_non_utf8_file_with_crlf(kb_dir: Path) -> None:
    bad = write(kb_dir, "articles/w1252.md", "---\r\nid: x\r\ntitle: \u201cquoted\u201d\r\n---\r\n".encode("cp1252"))
    d = one(load_kb(kb_dir), "w1252.md", ENCODING)
    assert (d.path, d.line, d.column) == (bad, 3, 8) and "0x93" in d.message


@pytest.mark.parametrize(("between", "offset"), [("", 0), ("\n", 1), ("\n\n\n", 3), ("\n   \n", 2)])
def test_body_line_after_front_matter(tmp_path: Path, between: str, offset: int, line_no: LineNo) -> None:
    text = f"---\n{front_matter(id='b')}---\n{between}First body line\n## Steps\n"
    path = write(tmp_path, "articles/b.md", text)
    a = load_kb(tmp_path).get("b")
    assert a.body.startswith("First body line")
    assert a.body_line == line_no(path, "First body line") == 12 + offset
    assert a.headings[0].line == a.body_line + 1


def test_body_line_with_blank_line_inside_front_matter(tmp_path: Path, line_no: LineNo) -> None:
    path = write(tmp_path, "articles/b.md", f"---\n\n{front_matter(id='b')}\n---\nBody\n")
    a = load_kb(tmp_path).get("b")
    assert a.line_of("id") == line_no(path, "id: b") == 3
    assert a.body_line == line_no(path, "Body")


def test_horizontal_rule_in_body_is_not_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "articles/hr.md", doc(id="hr", body="Above\n\n---\n\n## Below\n"))
    kb = load_kb(tmp_path)
    assert kb.diagnostics == [] and kb.get("hr").section("Below") is not None
    assert "---" in kb.get("hr").body


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-02-29", date(2024, 2, 29)), (" 2024-01-05 ", date(2024, 1, 5)), ("2024-02-30", None),
    ("2023-02-29", None), ("2024-1-5", None), ("2024/01/05", None), (None, None), (20240105, None),
    (date(2024, 1, 5), date(2024, 1, 5)),
])
def test_parse_date(value: object, expected: date | None) -> None:
    assert parse_date(value) == expected


# --- runbooks, is_public, successor, links --------------------------------------------


def test_runbooks_default_to_internal(tmp_path: Path) -> None:
    write(tmp_path, "runbooks/rb.md", doc(id="rb", type="runbook", audience=None))
    write(tmp_path, "articles/typed-runbook.md", doc(id="typed-runbook", type="runbook", audience=None))
    write(tmp_path, "articles/howto.md", doc(id="howto", audience=None))
    kb = load_kb(tmp_path)
    rb = kb.get("rb")
    assert rb.kind == "runbook" and rb.audience == "internal" and rb.valid
    assert kb.get("typed-runbook").audience == "internal" and kb.get("typed-runbook").valid
    assert only(kb, "rb.md") == [] and only(kb, "typed-runbook.md") == []
    d = one(kb, "howto.md", MISSING_FIELD)  # only runbooks get the default
    assert "'audience'" in d.message and kb.get("howto").audience == ""


def test_runbook_can_declare_public_audience_but_is_never_public(tmp_path: Path) -> None:
    write(tmp_path, "runbooks/rb.md", doc(id="rb", type="runbook", audience="public"))
    rb = load_kb(tmp_path).get("rb")
    assert rb.audience == "public" and rb.is_public is False


@pytest.mark.parametrize(("type_", "status", "audience", "public"), [
    ("howto", "published", "public", True),
    ("faq", "published", "internal", False),
    ("howto", "draft", "public", False),
    ("howto", "in-review", "public", False),
    ("troubleshooting", "retired", "public", False),
    ("runbook", "published", "public", False),
])
def test_is_public(tmp_path: Path, type_: str, status: str, audience: str, public: bool) -> None:
    extra = {"replaced_by": "other"} if status == "retired" else {}
    write(tmp_path, "articles/p.md", doc(id="p", type=type_, status=status, audience=audience, **extra))
    assert load_kb(tmp_path).get("p").is_public is public


def test_successor_chains_cycles_and_dead_ends(tmp_path: Path) -> None:
    def art(id_: str, status: str = "published", replaced_by: str | None = None) -> None:
        write(tmp_path, f"articles/{id_}.md", doc(id=id_, status=status, replaced_by=replaced_by))

    art("v1", "retired", "v2")
    art("v2", "retired", "v3")
    art("v3")
    art("loop-a", "retired", "loop-b")
    art("loop-b", "retired", "loop-a")
    art("self", "retired", "self")
    art("dead-end", "retired", "does-not-exist")
    art("no-successor", "retired")
    art("to-draft", "retired", "draft")
    art("draft", "draft")
    kb = load_kb(tmp_path)
    assert kb.diagnostics == []
    s = kb.successor
    assert s(kb.get("v1")) is kb.get("v3") and s(kb.get("v2")) is kb.get("v3")
    assert s(kb.get("v3")) is None  # live articles have no successor
    assert s(kb.get("loop-a")) is None and s(kb.get("loop-b")) is None and s(kb.get("self")) is None
    assert s(kb.get("dead-end")) is None and s(kb.get("no-successor")) is None
    assert s(kb.get("to-draft")) is kb.get("draft")


def test_resolve_link(tmp_path: Path) -> None:
    write(tmp_path, "articles/a.md", doc(id="a"))
    kb = load_kb(tmp_path)
    a = kb.get("a")
    assert kb.resolve_link(a, "https://example.com/x#y") == (None, "")
    assert kb.resolve_link(a, "mailto:help@example.com") == (None, "")
    assert kb.resolve_link(a, "#steps") == (a.path, "steps")
    assert kb.resolve_link(a, "../runbooks/my%20rb.md#when") == ((tmp_path / "runbooks/my rb.md").resolve(), "when")


def test_loader_never_raises_on_garbage(tmp_path: Path) -> None:
    """A grab-bag of odd but legal YAML: every file loads or is reported, none raises."""
    odd = [
        "---\n---\n", "---\n~\n---\n", "---\n42\n---\n", "---\n[1, 2]\n---\n", "---\n? [a, b]\n: c\n---\n",
        "---\n1: one\n---\n", "---\n!!python/object:os.system x: 1\n---\n", "---\nid: !!binary aGk=\n---\n",
        "---\na: &x 1\nb: *x\n<<: {c: 1}\n---\n", "---\nid: x\n---\n---\n---\n", "---\n\x07: bell\n---\n",
        "---\nid: x\n...\n---\n", "---\nfoo: bar\n--- \nmore: yaml\n---\n", "----\nid: x\n-----\n",
    ]
    for n, text in enumerate(odd):
        write(tmp_path, f"articles/odd-{n}.md", text)
    kb = load_kb(tmp_path)
    names = {d.path.name for d in kb.diagnostics} | {a.path.name for a in kb.articles}
    assert names == {f"odd-{n}.md" for n in range(len(odd))}
    assert all(d.line >= 0 and d.code.startswith("KB") for d in kb.diagnostics)


# --- the sample KB -------------------------------------------------------------------


def test_sample_kb_loads_with_zero_diagnostics(sample_kb_path: Path) -> None:
    kb = load_kb(sample_kb_path)
    assert [f"{d.path.relative_to(sample_kb_path)}:{d.line}: {d.code} {d.message}" for d in kb.diagnostics] == []
    articles = [a for a in kb.articles if a.kind == "article"]
    runbooks = [a for a in kb.articles if a.kind == "runbook"]
    assert len(articles) >= 40 and len(runbooks) >= 12
    assert all(a.valid for a in kb.articles)
    assert all(r.type == "runbook" for r in runbooks)
    assert {a.status for a in kb.articles} >= {"draft", "published", "retired"}
    assert {a.audience for a in kb.articles} == {"public", "internal"}
    retired = [a for a in kb.articles if a.status == "retired"]
    assert retired and all(kb.successor(a) is not None for a in retired), [a.id for a in retired if not kb.successor(a)]


def test_sample_kb_articles_have_their_required_sections(sample_kb_path: Path) -> None:
    from kbtool.config import DEFAULT_SECTIONS

    missing = {}
    for a in load_kb(sample_kb_path).articles:
        titles = {s.title.lower() for s in a.sections}
        lacking = [req for req in DEFAULT_SECTIONS.get(a.type, [])
                   if not any(alt.lower() in titles for alt in req.split("|"))]
        if lacking:
            missing[a.rel_path] = lacking
    assert missing == {}


def test_article_dataclass_public_api() -> None:
    """The attributes other modules build on (ARCHITECTURE.md) exist with these names."""
    names = set(Article.__dataclass_fields__)
    assert {"path", "rel_path", "kind", "id", "title", "type", "status", "audience", "owner", "summary",
            "created", "last_reviewed", "body", "body_line", "content_hash", "product", "component",
            "review_every", "replaced_by", "tags", "error_codes", "aliases", "related", "legacy_urls", "meta",
            "field_lines", "headings", "sections", "links", "valid"} <= names
    for prop in ("is_public", "anchors", "text"):
        assert isinstance(getattr(Article, prop), property)


# --- hostile YAML ----------------------------------------------------------------------

def _billion_laughs() -> str:
    """The classic alias bomb: nine levels of nine aliases, ~1e9 strings once expanded."""
    rows = ['lol0: &lol0 "lol"']
    rows += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(rows) + "\n"


def test_yaml_alias_bomb_is_refused_without_expanding(kb_dir: Path, line_no: LineNo) -> None:
    import tracemalloc

    bomb = _billion_laughs()
    bad = write(kb_dir, "articles/bomb.md", f"---\n{front_matter()}{bomb}---\n\n{BODY}")
    assert len(bomb) < 4096
    tracemalloc.start()
    try:
        kb = load_kb(kb_dir)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    d = one(kb, "bomb.md")
    assert (d.code, d.line, d.severity) == (INVALID_YAML, line_no(bad, "lol1:"), "error")
    assert d.column == len("lol1: &lol1 [") + 1
    assert "YAML aliases are not allowed in front-matter" in d.message
    assert all(a.path != bad for a in kb.articles)
    assert peak < 20_000_000, peak  # bytes: nothing was expanded (a billion strings would be GBs)
    assert_good_loads(kb)


def test_single_alias_is_refused_but_a_star_in_text_is_not(kb_dir: Path, line_no: LineNo) -> None:
    bad = write(kb_dir, "articles/alias.md", doc(owner="&who support-team", reviewer="*who"))
    d = one(load_kb(kb_dir), "alias.md")
    assert (d.code, d.line, d.column) == (INVALID_YAML, line_no(bad, "reviewer:"), len("reviewer: ") + 1)
    write(kb_dir, "articles/star.md", doc(id="star", title='"Certificates for *.example.com"', summary="Use a * wildcard"))
    kb = load_kb(kb_dir)
    assert only(kb, "star.md") == []
    star = kb.get("star")
    assert star is not None and star.title == "Certificates for *.example.com"
