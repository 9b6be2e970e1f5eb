"""`kbtool suggest` / `kbtool eval` command-line conventions: --index-dir, hints that keep the user's
--kb, a small KB embedded on first use, and the audience guarantee on the CLI's own paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from kbfactory import make_project, write_article

from kbtool import semantic
from kbtool.cli import main
from kbtool.cli.suggest import _hint
from kbtool.index import current_build


def test_suggest_and_eval_take_index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_project(tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    ix = tmp_path / "elsewhere"
    r = CliRunner().invoke(main, ["suggest", "--kb", str(cfg.kb), "--index-dir", str(ix), "--subject", "SAML-403",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["suggestions"][0]["id"] == "saml-403-user-not-assigned"
    assert current_build(ix) is not None and not cfg.index_dir.exists()  # built where asked, not the default
    golden = tmp_path / "g.jsonl"
    golden.write_text(json.dumps({"id": "a", "subject": "saml403", "expected": ["saml-403-user-not-assigned"]}) + "\n")
    r = CliRunner().invoke(main, ["eval", str(golden), "--kb", str(cfg.kb), "--index-dir", str(ix), "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout.splitlines()[-1])["p@1"] == 1.0


def test_index_hints_keep_the_users_kb_and_index_dir() -> None:
    msg = "the index has no embeddings (run `kbtool index`)"
    assert _hint(msg, None, None) == msg
    assert _hint(msg, Path("my kb"), Path("/tmp/ix")) == \
        "the index has no embeddings (run `kbtool index --kb 'my kb' --index-dir /tmp/ix`)"
    assert _hint("Run `kbtool index --rebuild`.", Path("kb2"), None) == "Run `kbtool index --kb kb2 --rebuild`."


def test_retired_code_leads_to_the_public_successor_on_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ticket with the code of a retired article gets its live successor, on every CLI path (text,
    JSON, batch), and never the retired or an internal article."""
    cfg = make_project(tmp_path, copy_sample=False)
    monkeypatch.chdir(tmp_path)  # (the project's config: its index goes under tmp_path)
    write_article(cfg.kb, "new-export", title="Export your data", error_codes=["EXPORT-500"])
    write_article(cfg.kb, "old-export", title="Export data (old)", status="retired", replaced_by="new-export",
                  error_codes=["EXPORT-OLD-1"])
    write_article(cfg.kb, "internal-export", title="Export internals for agents", audience="internal",
                  error_codes=["EXPORT-INT-9"])
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps({"id": "r", "subject": "export old 1 failed"}) + "\n"
                     + json.dumps({"id": "i", "subject": "export int 9 failed"}) + "\n")
    r = CliRunner().invoke(main, ["suggest", "--kb", str(cfg.kb), "--batch", str(batch)])
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert out[0]["suggestions"][0]["id"] == "new-export" and out[0]["suggestions"][0]["why"]["replaces"] == "old-export"
    assert "EXPORT-INT-9" not in r.stdout and "internal-export" not in r.stdout
    text = CliRunner().invoke(main, ["suggest", "--kb", str(cfg.kb), "--subject", "EXPORT-INT-9 export"]).stdout
    assert "internal-export" not in text and "EXPORT-INT-9" not in text.replace("EXPORT-INT-9 export", "")


@pytest.mark.semantic
def test_a_small_kb_is_embedded_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_project(tmp_path, copy_sample=False)
    monkeypatch.chdir(tmp_path)
    for i, topic in enumerate(["reset your password", "download invoices", "rotate api keys"]):
        write_article(cfg.kb, f"a{i}", title=topic.capitalize())
    r = CliRunner().invoke(main, ["suggest", "--kb", str(cfg.kb), "--subject", "I forgot my login secret",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    build = current_build(cfg.index_dir)
    assert build is not None and (build / semantic.EMBEDDINGS).exists()
    assert json.loads(r.stdout)["semantic"] is True
