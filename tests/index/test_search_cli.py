"""`kbtool index` and `kbtool search` through click's CliRunner: output, JSON, exit codes."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from kbtool.cli import main


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_kb: Callable[[Path], Path]) -> tuple[Path, Path]:
    """A KB in a project without config (so nothing reads the repo's pyproject), and an index dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    return make_kb(tmp_path / "kb"), tmp_path / "index"


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def index(kb: Path, ix: Path, *extra: str) -> object:
    return run("index", "--kb", str(kb), "--index-dir", str(ix), *extra)


def find(kb: Path, ix: Path, query: str, *extra: str) -> object:
    return run("search", query, "--kb", str(kb), "--index-dir", str(ix), *extra)


def test_index_full_then_incremental(env: tuple[Path, Path]) -> None:
    kb, ix = env
    r = index(kb, ix)
    assert r.exit_code == 0 and r.stdout.startswith("indexed (full build): 13 added, 0 updated, 0 removed, 0 unchanged in ")
    r = index(kb, ix)
    assert r.exit_code == 0 and r.stdout.startswith("indexed (incremental): 0 added, 0 updated, 0 removed, 13 unchanged")
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice (zanzibar)."))
    r = index(kb, ix)
    assert r.stdout.startswith("indexed (incremental): 0 added, 1 updated, 0 removed, 12 unchanged")
    r = index(kb, ix, "--rebuild")
    assert r.exit_code == 0 and r.stdout.startswith("indexed (full build): 13 added")
    assert r.stderr == ""  # no progress bar when not on a terminal


def test_index_warns_about_invalid_files(env: tuple[Path, Path]) -> None:
    kb, ix = env
    (kb / "articles" / "broken.md").write_text("---\nid: broken\ntitle: [unclosed\n---\nbody\n")
    r = index(kb, ix)
    assert r.exit_code == 0
    assert "warning: articles/broken.md has errors and was not indexed (run `kbtool lint`)" in r.stderr
    assert "13 added" in r.stdout and "1 invalid skipped" in r.stdout


def test_index_missing_kb_is_a_usage_error(env: tuple[Path, Path], tmp_path: Path) -> None:
    _, ix = env
    r = index(tmp_path / "nope", ix)
    assert r.exit_code == 2 and "KB directory not found" in r.output


def test_index_while_locked(env: tuple[Path, Path]) -> None:
    kb, ix = env
    index(kb, ix)
    with open(ix / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = index(kb, ix, "--rebuild")
    assert r.exit_code == 1 and "another `kbtool index` is already updating" in r.stderr


def test_index_refuses_foreign_dir(env: tuple[Path, Path], tmp_path: Path) -> None:
    kb, _ = env
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "cat.jpg").write_bytes(b"\xff\xd8")
    r = index(kb, mine)
    assert r.exit_code == 1 and "is not a kbtool index directory" in r.stderr and "cat.jpg" in r.stderr


def test_search_text_output(env: tuple[Path, Path]) -> None:
    kb, ix = env
    index(kb, ix)
    r = find(kb, ix, "SAML-403")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == (" 1. saml-403-user-not-assigned  [troubleshooting, published, public]  "
                        "SSO sign-in fails with SAML-403: user not assigned")
    assert lines[1] == "    articles/saml-403-user-not-assigned.md"
    assert "**SAML**-**403**" in lines[2]


def test_search_json_output(env: tuple[Path, Path]) -> None:
    kb, ix = env
    index(kb, ix)
    r = find(kb, ix, "webhook", "--format", "json", "--limit", "2")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["query"] == "webhook" and data["total"] == 3 and data["did_you_mean"] is None
    assert len(data["hits"]) == 2
    hit = data["hits"][0]
    assert set(hit) == {"id", "title", "type", "status", "audience", "path", "score", "fragment", "replaced_by", "product"}
    assert hit["score"] > data["hits"][1]["score"] > 0 and "**" in hit["fragment"]


@pytest.mark.parametrize("words", ["quarantined", "webhook", "invoice pdf", "cert date invalid", "receiver payload"])
@pytest.mark.parametrize("options", [(), ("--all",), ("--type", "runbook"), ("--tag", "invoices"), ("--limit", "1")])
def test_plain_words_print_what_whoosh_would(env: tuple[Path, Path], words: str, options: tuple[str, ...]) -> None:
    """Plain words are scored by the compiled scorer; "(words)" parses to the same query but
    is query syntax, so Whoosh scores it: the output is the same."""
    kb, ix = env
    index(kb, ix)
    plain = json.loads(find(kb, ix, words, "--format", "json", *options).stdout)
    grouped = json.loads(find(kb, ix, f"({words})", "--format", "json", *options).stdout)
    assert plain.pop("query") == words and grouped.pop("query") == f"({words})"
    assert plain == grouped
    assert find(kb, ix, words, *options).stdout == find(kb, ix, f"({words})", *options).stdout


@pytest.mark.parametrize("options, expected", [
    ((), {"invoice-download", "invoice-refund-internal", "billing-dispute-handling"}),
    (("--type", "runbook"), {"billing-dispute-handling"}),
    (("--status", "draft"), {"invoice-numbering-draft"}),
    (("--status", "draft", "--status", "in-review"), {"invoice-numbering-draft", "invoice-refund-internal"}),
    (("--audience", "public"), {"invoice-download"}),
    (("--product", "billing", "--tag", "invoices"), {"invoice-download"}),
    (("--all",), {"invoice-download", "invoice-refund-internal", "billing-dispute-handling",
                  "invoice-numbering-draft", "invoice-legacy-portal"}),
])
def test_search_filters(env: tuple[Path, Path], options: tuple[str, ...], expected: set[str]) -> None:
    kb, ix = env
    index(kb, ix)
    r = find(kb, ix, "invoice", "--format", "json", *options)
    assert {h["id"] for h in json.loads(r.stdout)["hits"]} == expected


def test_search_all_shows_replacement_of_retired(env: tuple[Path, Path]) -> None:
    kb, ix = env
    index(kb, ix)
    r = find(kb, ix, "legacy portal", "--all")
    assert "invoice-legacy-portal  [howto, retired, public]  Download invoices from the legacy portal  " \
           "(retired, see invoice-download)" in r.stdout
    assert "invoice-legacy-portal" not in find(kb, ix, "legacy portal").stdout


def test_search_no_results_and_did_you_mean(env: tuple[Path, Path]) -> None:
    kb, ix = env
    index(kb, ix)
    r = find(kb, ix, "databse")
    assert r.exit_code == 0 and r.stdout.splitlines() == ["no results", "did you mean: database"]
    data = json.loads(find(kb, ix, "webhok", "--format", "json").stdout)
    assert data["hits"] == [] and data["total"] == 0 and data["did_you_mean"] == "webhook"


def test_search_missing_index(env: tuple[Path, Path]) -> None:
    kb, ix = env
    r = find(kb, ix, "webhook")
    assert r.exit_code == 1
    assert f"no index at {ix.resolve()}. Run `kbtool index` to build it." in r.stderr


@pytest.mark.parametrize("query", ["created:notadate", "last_reviewed:[soon TO later]"])
def test_search_bad_query(env: tuple[Path, Path], query: str) -> None:
    kb, ix = env
    index(kb, ix)
    r = find(kb, ix, query)
    assert r.exit_code == 2 and "bad query:" in r.stderr


def test_search_reindexes_a_changed_kb(env: tuple[Path, Path], article: Callable[..., Path]) -> None:
    kb, ix = env
    index(kb, ix)
    article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    r = find(kb, ix, "zanzibar", "--no-update")
    assert r.stdout.strip() == "no results"
    assert "warning: the KB changed since the index was built (run `kbtool index`)" in r.stderr
    r = find(kb, ix, "zanzibar")
    assert r.exit_code == 0 and "zanzibar-export" in r.stdout
    assert "KB changed since the index was built; indexed (incremental): 1 added" in r.stderr
    r = find(kb, ix, "zanzibar")
    assert r.stderr == ""  # up to date now


def test_search_corrupt_index(env: tuple[Path, Path]) -> None:
    kb, ix = env
    index(kb, ix)
    for f in (ix / "current").iterdir():
        if f.suffix == ".seg":
            f.write_bytes(b"garbage")
    r = find(kb, ix, "webhook")
    assert r.exit_code == 1 and "damaged" in r.stderr and "Run `kbtool index --rebuild`" in r.stderr
    assert index(kb, ix, "--rebuild").exit_code == 0
    assert find(kb, ix, "webhook").exit_code == 0


def test_index_publish_then_search_the_published_dir(env: tuple[Path, Path], tmp_path: Path) -> None:
    """`--publish DIR` copies the build to a shared directory that readers (replicas) open as their index."""
    kb, ix = env
    shared = tmp_path / "shared-index"
    r = index(kb, ix, "--publish", str(shared))
    assert r.exit_code == 0, r.output
    published = Path(r.stdout.strip().splitlines()[-1].removeprefix("published "))
    assert published.parent == shared.resolve() and (shared / "current").resolve() == published
    hits = json.loads(find(kb, shared, "invoice", "--format", "json", "--no-update").stdout)
    direct = json.loads(find(kb, ix, "invoice", "--format", "json", "--no-update").stdout)
    assert hits["hits"] and [h["id"] for h in hits["hits"]] == [h["id"] for h in direct["hits"]]
    r = index(kb, ix, "--publish", str(kb / "articles" / "invoice-download.md"))
    assert r.exit_code != 0 and "Traceback" not in r.output
