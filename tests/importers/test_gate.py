"""Imported KBs hand over clean content: lint (links, staleness) and `build --strict` pass on a
fresh import, translations and empty bodies are reported, error codes are extracted, and hostile
sources (encoded markup, deep nesting, huge numbers, long lines) end in a reason, never a traceback."""

from __future__ import annotations

import json
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from kbfactory import REPO, make_project

from kbtool.content import load_kb
from kbtool.importers import ImportProblem, article_codes, find_codes, import_docfx, import_zendesk
from kbtool.lint import run_lint
from kbtool.site import build_site

FIXTURES = REPO / "tests" / "fixtures" / "import"
ZENDESK = FIXTURES / "zendesk" / "articles.json"
FRONT = "---\ntitle: {title}\nms.date: 01/10/2026\nms.topic: article\n{extra}---\n"


def _codes(findings: list) -> list[str]:
    return sorted(f.code for f in findings)


@pytest.mark.parametrize("kind", ["zendesk", "docfx"])
def test_fresh_import_passes_link_and_staleness_lint_and_a_strict_build(kind: str, tmp_path: Path) -> None:
    cfg = make_project(tmp_path / "proj", copy_sample=False)
    if kind == "zendesk":  # holds `<h3 id="h_step3">` linked as #h_step3 from itself and from another article
        report = import_zendesk(ZENDESK, cfg.kb)
    else:
        src = tmp_path / "src"
        shutil.copytree(FIXTURES / "docfx", src)
        report = import_docfx(src, cfg.kb)
    kb = load_kb(cfg.kb)
    findings = run_lint(kb, cfg, select=["KB301", "KB401", "KB402"]).findings
    # lint reports exactly the source's own broken links the import report lists, nothing the import made
    expected = {"broken-link": "KB401", "link-to-non-article": "KB401", "broken-anchor": "KB402"}
    assert _codes(findings) == sorted(expected[p.kind] for p in report.problems if p.kind in expected)
    if kind == "zendesk":
        assert findings == []
        result = build_site(kb, cfg, site_dir=tmp_path / "site", strict=True)
        page = (tmp_path / "site" / "articles" / "reset-the-sync-agent" / "index.html").read_text(encoding="utf-8")
        assert 'id="h_step3"' in page and result is not None


def test_review_dates_keep_the_source_date_unless_already_overdue(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"articles": [
        {"id": 1, "title": "Old", "body": "<p>Old text.</p>", "edited_at": "2019-05-01T00:00:00Z",
         "updated_at": "2026-11-30T00:00:00Z", "created_at": "2019-01-01T00:00:00Z"},
        {"id": 2, "title": "Recent", "body": "<p>Recent text.</p>", "edited_at": f"{date.today()}T00:00:00Z",
         "created_at": "2019-01-01T00:00:00Z"},
    ]}), encoding="utf-8")
    report = import_zendesk(export, tmp_path / "kb", review_every=365)
    kb = {a.id: a for a in load_kb(tmp_path / "kb").articles}
    # the overdue one starts its review clock at the import; the source date stays in the report
    assert kb["old"].last_reviewed == date.today() and kb["old"].created == date(2019, 1, 1)
    old = report.imported[0]
    assert old.source_updated == "2019-05-01"
    assert any("edited_at 2019-05-01 is more than 365 days old: last_reviewed set to the import date" in n
               for n in old.notes)
    assert kb["recent"].last_reviewed == date.today() and report.imported[1].notes == []


def _html_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    tags: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, dict(attrs)))

    Collect().feed(html)
    return tags


PAYLOADS = [
    "&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(2)&lt;/script&gt;", "&lt;svg onload=alert(3)&gt;",
    "&lt;a href=\"javascript:alert(4)\"&gt;x&lt;/a&gt;", "&lt;iframe src=\"javascript:alert(5)\"&gt;&lt;/iframe&gt;",
]


def test_zendesk_sanitises_after_decoding_entities(tmp_path: Path) -> None:
    body = "".join(f"<p>{p}</p>" for p in PAYLOADS) + (
        '<p><a href="javascript:alert(6)">js</a> <a href="vbscript:msgbox(7)">vb</a> <a href="data:text/html,x">da</a> '
        '<img src="x.png" onerror="alert(8)"> <span onclick="alert(9)" style="color:red">s</span> <!-- note --></p>'
        "<pre><code>&lt;b&gt;kept as code&lt;/b&gt;</code></pre>")
    export = tmp_path / "x.json"
    export.write_text(json.dumps([{"id": 1, "title": "Payloads", "body": body}]), encoding="utf-8")
    import_zendesk(export, tmp_path / "kb")
    text = (tmp_path / "kb" / "articles" / "payloads.md").read_text(encoding="utf-8")
    html = markdown.markdown(text.split("---\n", 2)[2], extensions=["attr_list", "tables", "fenced_code"])
    tags = _html_tags(html)
    assert {t for t, _ in tags} <= {"p", "img", "pre", "code"}, tags
    assert all(not k.startswith("on") and k != "style" for _, attrs in tags for k in attrs), tags
    assert all(not str(v).lower().startswith(("javascript:", "vbscript:", "data:")) for _, a in tags for v in a.values())
    assert "js vb da" in text and "note" not in text  # unsafe links become their text; comments go
    assert "&lt;img src=x onerror=alert(1)>" in text  # shown as text, exactly as on the old help center
    assert "<b>kept as code</b>" in text  # code is code: never escaped


def test_hostile_zendesk_exports_end_in_a_reason(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"articles": ' + "[" * 200_000 + "]" * 200_000 + "}", encoding="utf-8")
    with pytest.raises(ImportProblem, match="deep.json: JSON nested too deeply"):
        import_zendesk(deep, tmp_path / "kb")
    huge = tmp_path / "huge.json"
    huge.write_text('{"articles": [{"id": ' + "7" * 5000 + ', "title": "Huge", "body": "<p>x</p>"},'
                    '{"id": 5, "title": "Fine", "section_id": ' + "8" * 5000 + ', "body": "<p>ok '
                    '<a href=\\"/hc/en-us/articles/' + "9" * 5000 + '\\">old</a></p>"},'
                    '{"id": 6, "title": "Deep", "body": "' + "<div>" * 1000 + 'x"}]}', encoding="utf-8")
    report = import_zendesk(huge, tmp_path / "kb")
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("zendesk:articles[0]", "'id' is not a Zendesk article id (a number of 5000 characters)"),
        ("zendesk:6", "body HTML nests elements more than 200 deep: not converted"),
    ]
    assert [i.id for i in report.imported] == ["fine"]
    assert load_kb(tmp_path / "kb").articles[0].component is None


def test_hostile_docfx_files_finish(tmp_path: Path) -> None:
    src = tmp_path / "src" / "P" / "C"
    src.mkdir(parents=True)
    hostile = {"quotes": "> " * 20_000 + "x\n", "brackets": "[" * 100_000 + "\n", "includes": "[!INCLUDE [" * 20_000,
               "tags": "<" * 100_000 + "\n"}
    for name, body in hostile.items():
        (src / f"{name}.md").write_text(FRONT.format(title=name, extra="") + "# H\n\n" + body, encoding="utf-8")
    report = import_docfx(tmp_path / "src", tmp_path / "kb")
    assert sorted(i.id for i in report.imported) == sorted(hostile)
    assert ("P/C/quotes.md", "quote") in {(u.source, u.kind) for u in report.unconverted}


def test_docfx_translations_and_title_only_bodies_are_set_aside(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for rel, extra in [("P/C/a.md", ""), ("P/C/b.md", ""), ("de-de/P/C/a.md", ""), ("P/C/a-fr.md", "ms.locale: fr-fr\n")]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(FRONT.format(title=rel, extra=extra) + "Text.\n", encoding="utf-8")
    (src / "P/C/empty.md").write_text(FRONT.format(title="E", extra="") + "# Only a title\n", encoding="utf-8")
    report = import_docfx(src, tmp_path / "kb")
    assert sorted(i.source for i in report.imported) == ["P/C/a.md", "P/C/b.md"]
    assert [(t.source, t.locale, t.original) for t in report.translations] == [
        ("P/C/a-fr.md", "fr-fr", ""), ("de-de/P/C/a.md", "de-de", "a")]
    assert ("P/C/empty.md", "empty body: only a title") in [(s.source, s.reason) for s in report.skipped]


def test_error_codes_found_in_every_documented_form() -> None:
    text = ("Error 0x80070005 and AADSTS50076; error code 30010-45. HTTP error 503, 403 Forbidden, Error 1603, "
            "550 5.7.1 Unable to relay, HCW8078, ERROR_ACCESS_DENIED, SAML-403.")
    assert find_codes(text) == ["0x80070005", "AADSTS50076", "30010-45", "HTTP 503", "HTTP 403", "Error 1603",
                                "550 5.7.1", "HCW8078", "ERROR_ACCESS_DENIED", "SAML-403"]
    # not codes: GUID parts, dates, versions, KB/CVE numbers, short hex, HTTP 200, plain numbers
    assert find_codes("{12345678-1234-5678-1234-567812345678} 2016-09 16.0.1234 KB4462112 CVE-2021-1234 "
                      "0x0000 HTTP 200 port 443 SHA-256 build 12345-6789-00") == []


def test_article_codes_come_from_title_symptoms_and_code_only() -> None:
    body = ("## Symptoms\n\nSetup fails with Error 1935.\n\n## Cause\n\nAlso seen as 0x80070005.\n\n"
            "```\nHRESULT 0x80004005\n```\n")
    assert article_codes("Install fails with 30088-26", body) == ["30088-26", "Error 1935", "0x80004005"]
    table = "## Symptoms\n\n" + "\n".join(f"- 0x8000{n:04d}" for n in range(20)) + "\n"
    assert article_codes("Every HRESULT", table) == []  # a reference table is not one error's article
