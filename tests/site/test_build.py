"""Building the site: atomic swap, failures keep the old site, unsafe targets, the CLI, the preview server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from kbfactory import write_article

from kbtool.cli import main
from kbtool.content import load_kb
from kbtool.site import SiteBuildError, build_site
from kbtool.site.build import _check_target, _swap_in


def test_failed_build_keeps_previous_site(tmp_path: Path, tiny_kb, make_config) -> None:
    kb = tiny_kb(tmp_path / "kb")
    cfg = make_config(tmp_path, kb)
    runner = CliRunner()
    ok = runner.invoke(main, ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "out"), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["articles"] == 5 and data["search_index_bytes"] > 0 and data["redirects"]
    before = {p: (tmp_path / "out" / p).read_bytes() for p in ("index.html", "search/search_index.json")}

    bad = runner.invoke(main, ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "out"), "--strict"])
    assert bad.exit_code == 1
    assert "error: MkDocs build failed: Aborted with" in bad.stderr and "in strict mode" in bad.stderr
    assert "old-orphan" in bad.stderr  # the warning that failed it is shown
    assert {p: (tmp_path / "out" / p).read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "out"]  # no staging folders left

    broken_yml = tmp_path / "mkdocs.yml"
    broken_yml.write_text("site_name: x\ntheme:\n  name: no-such-theme\n", encoding="utf-8")
    cfg.mkdocs_yml = broken_yml
    cfg.site_dir = tmp_path / "out"
    with pytest.raises(SiteBuildError, match="no-such-theme"):
        build_site(load_kb(kb), cfg)
    assert {p: (tmp_path / "out" / p).read_bytes() for p in before} == before


def test_build_without_mkdocs_yml_uses_default_look(tmp_path: Path, make_config) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "only-one", "## Steps\n\n1. Go.", title="The only article")
    cfg = make_config(tmp_path, kb, mkdocs_yml=None)
    result = build_site(load_kb(kb), cfg, strict=True)
    assert result.articles == 1 and result.warnings == []
    page = (tmp_path / "site" / "articles" / "only-one" / "index.html").read_text(encoding="utf-8")
    assert "The only article" in page and "fonts.googleapis" not in page


def test_empty_kb_builds_strict(tmp_path: Path, make_config) -> None:
    kb_dir = tmp_path / "kb"
    (kb_dir / "articles").mkdir(parents=True)
    cfg = make_config(tmp_path, kb_dir)
    result = build_site(load_kb(kb_dir), cfg, strict=True)
    assert result.articles == 0 and result.warnings == []
    assert "No articles are published yet." in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_swap_replaces_the_directory(tmp_path: Path) -> None:
    old, new = tmp_path / "site", tmp_path / ".site.new"
    old.mkdir()
    (old / "index.html").write_text("old")
    new.mkdir()
    (new / "index.html").write_text("new")
    _swap_in(new, old)
    assert (old / "index.html").read_text() == "new" and not new.exists()
    newer = tmp_path / ".site.newer"
    newer.mkdir()
    _swap_in(newer, tmp_path / "fresh")
    assert (tmp_path / "fresh").is_dir()


def test_refuses_dangerous_site_dirs(tmp_path: Path, make_config) -> None:
    kb_dir = tmp_path / "kb"
    write_article(kb_dir, "a", "## Steps\n\n1. x")
    kb = load_kb(kb_dir)
    cfg = make_config(tmp_path, kb_dir)
    for target in (tmp_path, kb_dir, Path("/")):
        with pytest.raises(SiteBuildError, match="refusing"):
            _check_target(target.resolve(), cfg, kb)
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.txt").write_text("do not delete")
    with pytest.raises(SiteBuildError, match="does not look like a built site"):
        build_site(kb, cfg, site_dir=other)
    assert (other / "thesis.txt").read_text() == "do not delete"


def test_cli_text_output(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "only-one", "## Steps\n\n1. Go.")
    r = CliRunner().invoke(main, ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "public")])
    assert r.exit_code == 0, r.output
    assert re.match(r"built 1 articles \(\d+ pages, 0 redirects\) into .*public/ in [\d.]+s\n"
                    r"site [\d.]+ [KM]B in \d+ files; search index \d+ KB", r.stdout)


def test_cli_preview_help() -> None:
    r = CliRunner().invoke(main, ["preview", "--help"])
    assert r.exit_code == 0 and "live reload" in r.output


@pytest.mark.slow
def test_preview_serves_and_rebuilds_on_edit(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    kb = tmp_path / "kb"
    article = write_article(kb, "live-one", "## Steps\n\n1. Go.", title="Before the edit")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kbtool.cli", "preview", "--kb", str(kb), "-a", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def fetch_title(deadline: float) -> str:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/articles/live-one/", timeout=2) as r:
                    m = re.search(r'<h1 id="kb-title">([^<]*)', r.read().decode())
                    if m:
                        return m.group(1)
            except OSError:
                pass
            time.sleep(0.3)
        return ""

    try:
        assert fetch_title(time.monotonic() + 60) == "Before the edit"
        article.write_text(article.read_text().replace("Before the edit", "After the edit"))
        deadline = time.monotonic() + 60
        while fetch_title(deadline) != "After the edit" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert fetch_title(time.monotonic() + 5) == "After the edit"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Shutting down" in out
    assert not re.search(r"Traceback", out), out
