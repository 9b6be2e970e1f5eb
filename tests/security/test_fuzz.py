"""Fuzzing the parts that read what users write: the loader and lint (any file in the KB),
ticket clean-up (any ticket text through the API) and the Zendesk importer (any export).

Inputs are built from the fragments that broke things before (unclosed links and tags,
fences, comments, YAML tags and aliases, huge numbers, deep nesting, long names, control
characters) repeated up to tens of kilobytes, where a quadratic regex shows: `[](` at 48 KB
once took 108 s. The properties: no exception escapes, each call stays within a time budget
far below what a quadratic path takes at these sizes, and memory stays bounded (traced
peak). Bounded in count, so the job takes well under a minute.
"""

from __future__ import annotations

import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kbtool.config import load_config
from kbtool.content import load_kb
from kbtool.importers import import_zendesk
from kbtool.lint import run_lint
from kbtool.suggest.ticket import clean_ticket, extract_error_codes, html_to_text

T = TypeVar("T")

SECONDS = 2.5  # per call: the quadratic paths found earlier took 3-108 s at these sizes
PEAK_MB = 300  # traced allocations per call (the YAML alias bomb reached 3.65 GB)
# No shrinking: a slow input is reported as found (shrinking re-runs slow calls for minutes)
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BODY_FRAGMENTS = [
    "[", "](", "[](", "]", "(", ")", "![", "[r]: ", "[x][r]", "<p", "<a href='x.md'>", "</a>", "<img src=x onerror=y>",
    "<!--", "-->", "<div hidden>", "</div>", "<script>", "</script>", "```", "~~~", "`", "**", "_", "*", "{: onclick=x}",
    "\n", "\n\n", "> ", ">>>> ", "- ", "1. ", "    ", "# ", "## ", "|", "| --- |", "&lt;", "&#x3c;", "&amp;", "\\", "\t",
    " ", "x", "word ", "SAML-403: Signature failed", "0x80070005", "AADSTS50011", "password=", "api_key: 'S3cr3t!9x'",
    "postgres://u:p4ss@db.example.net", "a@b.com", "10.0.0.1", "2001:db8::1", "DE89 3704 0044 0532 0130 00",
    "+1 (415) 555-2671", "4111 1111 1111 1111", "eyJhbGciOi.eyJzdWIiOi.sig", "-----BEGIN RSA PRIVATE KEY-----",
    "<kbd>", "é", "\u202e", "\x00", "\r\n", "\ufeff", "TODO", "<!-- kbtool: disable=KB999 -->", "http://", "#anchor",
]
VALUES = [
    "ok", "", "''", '"\\u0000"', "!!timestamp 2001-12-14t21:59:43-05:00", "99999999999999999999999999", "-1", "1e400",
    "&a x", "*a", "[" * 40, "{", "- x", "[a, [b, [c, [d]]]]", "'" + "x" * 300 + "'", "x" * 300, "null", "~", "yes",
    "2026-02-30", "2026-11-23", "[sso, saml]", "sso, saml", "!!binary aGk=", "!!python/object:os.system x", "|\n  x",
]
KEYS = ["title", "type", "status", "audience", "owner", "summary", "tags", "created", "last_reviewed", "review_every",
        "error_codes", "aliases", "related", "replaced_by", "legacy_urls", "product", "id", "unknown_key"]
BASE = {"id": "fuzzed", "title": "Fuzzed article", "type": "troubleshooting", "status": "published",
        "audience": "public", "owner": "support", "summary": "A fuzzed article.", "tags": "[fuzz]",
        "created": "2025-01-10", "last_reviewed": "2026-10-01"}


@st.composite
def repeated(draw: st.DrawFn, fragments: list[str], max_chars: int) -> str:
    """Fragments, each repeated up to thousands of times, to at most `max_chars`."""
    parts = draw(st.lists(st.tuples(st.sampled_from(fragments), st.integers(1, 20_000)), min_size=1, max_size=8))
    return "".join(f * n for f, n in parts)[:max_chars]


@st.composite
def documents(draw: st.DrawFn) -> str:
    meta = dict(BASE)
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=4)):
        meta[key] = draw(st.sampled_from(VALUES))
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    if draw(st.booleans()):
        head += draw(repeated(["- ", "x: ", "  ", "[", "{", "&a ", "*a ", "\n", "'"], 6000))
    body = draw(repeated(BODY_FRAGMENTS, 60_000))
    return draw(st.sampled_from([f"---\n{head}---\n{body}", f"---\n{head}{body}", body, f"\ufeff---\n{head}---\r\n{body}"]))


def bounded(call: Callable[[], T]) -> T:
    """`call()`, which must finish within SECONDS and PEAK_MB of traced allocations."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    assert elapsed < SECONDS, f"{elapsed:.1f} s"
    assert peak < PEAK_MB * 2**20, f"{peak / 2**20:.0f} MB"
    return out


@pytest.fixture(scope="module")
def empty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-config")


@FUZZ
@given(doc=documents(), folder=st.sampled_from(["articles", "runbooks"]))
def test_any_file_is_loaded_and_linted_with_located_findings(doc: str, folder: str, empty_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kb_dir = Path(tmp) / "kb"
        (kb_dir / folder).mkdir(parents=True)
        (kb_dir / "articles").mkdir(exist_ok=True)
        path = kb_dir / folder / "fuzzed.md"
        path.write_text(doc, encoding="utf-8", errors="surrogatepass", newline="")
        (kb_dir / "articles" / "neighbour.md").write_text(
            "---\n" + "".join(f"{k}: {v}\n" for k, v in {**BASE, "id": "neighbour"}.items()) + "---\n# Fuzzed article\n",
            encoding="utf-8")
        cfg = load_config(cwd=empty_dir, kb=kb_dir)
        kb = bounded(lambda: load_kb(kb_dir))
        result = bounded(lambda: run_lint(kb, cfg, today=date(2026, 11, 23), jobs=1))
    for d in kb.diagnostics:
        assert d.path and d.line >= 0 and d.message
    for f in result.findings:
        assert f.line >= 1 and f.column >= 1 and f.rel_path.endswith(".md") and f.message


@FUZZ
@given(subject=repeated(BODY_FRAGMENTS, 2_000), body=repeated([*BODY_FRAGMENTS, "<p<p<p", "<br>", "On Mon wrote:\n> "],
                                                               200_000))
def test_any_ticket_is_cleaned_in_bounded_time(subject: str, body: str) -> None:
    text = bounded(lambda: clean_ticket(subject, body))
    assert isinstance(text, str)
    bounded(lambda: extract_error_codes(text))
    bounded(lambda: html_to_text(body))


HTML_FRAGMENTS = ["<p>", "</p>", "<div>", "<h2 id='h_1'>", "</h2>", "<a href='/hc/articles/1'>", "<a href='javascript:x'>",
                  "</a>", "<img src=x onerror=y>", "&lt;script&gt;", "<script>", "</script>", "<table><tr><td>", "<ul><li>",
                  "<pre><code>", "</code></pre>", "<!--", "-->", "text ", "\n", "<", ">", "&", "&#", "<b><i><u>"]


@st.composite
def exports(draw: st.DrawFn) -> dict[str, Any]:
    articles = []
    for n in range(draw(st.integers(1, 3))):
        article: dict[str, Any] = {
            "id": draw(st.sampled_from([n + 1, 10**40, -1, "x", None])),
            "title": draw(st.sampled_from(["Reset a password", "", "x" * 400, "<b>t</b>", "\x00", "Réinitialiser"])),
            "body": draw(repeated(HTML_FRAGMENTS, 40_000)),
            "locale": draw(st.sampled_from(["en-us", "fr", "", None])),
            "draft": draw(st.booleans()),
            "label_names": draw(st.sampled_from([["sso"], "sso", [1, None], []])),
            "html_url": draw(st.sampled_from(["https://help.example.com/hc/en-us/articles/1-x", "javascript:x", "", None])),
            "updated_at": draw(st.sampled_from(["2024-01-02T03:04:05Z", "yesterday", None, 5])),
        }
        articles.append(article)
    return {"articles": articles}


@FUZZ
@given(export=exports())
def test_any_zendesk_export_imports_or_says_why(export: dict[str, Any], empty_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, dest = Path(tmp) / "export.json", Path(tmp) / "kb"
        src.write_text(json.dumps(export), encoding="utf-8")
        bounded(lambda: import_zendesk(src, dest))
        kb = bounded(lambda: load_kb(dest))
        bounded(lambda: run_lint(kb, load_config(cwd=empty_dir, kb=dest), today=date(2026, 11, 23), jobs=1))
