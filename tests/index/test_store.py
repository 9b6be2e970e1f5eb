"""The index directory: the writer's lock, foreign and damaged directories, snapshots across
swaps and pruning, killed builds."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from kbfactory import REPO

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import MANIFEST, Index, IndexBusy, IndexProblem, current_build, search, update_index
from kbtool.index.store import KEEP_BUILDS


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


# --- lock, foreign and damaged directories ------------------------------------------------------


def hold_lock(ix: Path):
    fh = open(ix / ".lock", "a+")
    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fh


def test_second_writer_gets_a_clear_message(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    before = current_build(ix)
    fh = hold_lock(ix)
    try:
        with pytest.raises(IndexBusy, match="another `kbtool index` is already updating"):
            Index(ix).build(load_kb(kb), rebuild=True)
    finally:
        fh.close()
    assert current_build(ix) == before and len(list(ix.glob("build-*"))) == 1
    Index(ix).build(load_kb(kb), rebuild=True)  # the lock is free again


def test_search_while_another_process_builds(fresh: tuple[Path, Path, Config], article: Callable[..., Path]) -> None:
    kb, ix, cfg = fresh
    article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    fh = hold_lock(ix)
    try:
        r = search(cfg, "webhook")  # stale, cannot update: searches what is there
    finally:
        fh.close()
    assert r.stale and r.hits and r.updated is None


def test_refuses_foreign_directory(tmp_path: Path, make_kb: Callable[[Path], Path]) -> None:
    kb = make_kb(tmp_path / "kb")
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(IndexProblem, match="not a kbtool index directory.*notes.txt"):
        Index(mine).build(load_kb(kb))
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_refuses_whoosh_index_without_our_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from whoosh import index as windex
    from whoosh.fields import ID, Schema

    ix = tmp_path / "index"
    other = ix / "build-other"
    other.mkdir(parents=True)
    windex.create_in(str(other), Schema(id=ID(stored=True))).close()
    (ix / "current").symlink_to("build-other")
    # Whoosh unpickles its TOC: it must not even be opened
    monkeypatch.setattr(windex, "open_dir", lambda *a, **k: pytest.fail("opened a foreign index"))
    with pytest.raises(IndexProblem, match=r"not a kbtool index .*refusing to open it.*--rebuild"):
        Index(ix).open()


@pytest.mark.parametrize("manifest, message", [
    ({"format": "something-else"}, "was not written by kbtool"),
    ({"format": "kbtool-index", "version": 1}, r"index format 1 is not supported.*--rebuild"),
    ("{not json", "manifest .* is unreadable"),
])
def test_refuses_other_manifests(fresh: tuple[Path, Path, Config], manifest: object, message: str) -> None:
    kb, ix, cfg = fresh
    m = current_build(ix) / MANIFEST
    m.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(IndexProblem, match=message):
        Index(ix).open()
    assert Index(ix).is_stale(kb)
    rep = update_index(cfg)  # an update rebuilds beside it
    assert rep.full and rep.added == 13 and "rebuilt from scratch" in rep.summary()
    assert ids(search(cfg, "SAML-403"))[0] == "saml-403-user-not-assigned"


def corrupt_segments(build: Path) -> None:
    for f in build.iterdir():
        if f.suffix == ".seg":
            f.write_bytes(b"\0garbage" * 1000)


def test_corrupt_index_gives_a_clear_message(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    corrupt_segments(current_build(ix))
    with pytest.raises(IndexProblem, match=r"damaged.*Run `kbtool index --rebuild`"):
        s = Index(ix).open()
        s.search("webhook")
    rep = update_index(cfg, rebuild=True)
    assert rep.full and ids(search(cfg, "SAML-403"))[0] == "saml-403-user-not-assigned"


def test_incremental_over_corrupt_index_rebuilds(fresh: tuple[Path, Path, Config],
                                                 article: Callable[..., Path]) -> None:
    kb, ix, cfg = fresh
    corrupt_segments(current_build(ix))
    article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    rep = update_index(cfg)
    assert rep.full and "unreadable" in rep.note
    assert ids(search(cfg, "zanzibar")) == ["zanzibar-export"]


# --- readers during rebuilds, killed builds --------------------------------------------------------


def test_snapshot_keeps_working_after_swaps_and_prune(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    s = Index(ix).open()
    try:
        old = s.build
        p = kb / "articles" / "invoice-download.md"
        p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice (zanzibar)."))
        Index(ix).build(load_kb(kb))
        assert current_build(ix) != old and not s.is_current(ix)
        assert ids(s.search("zanzibar")) == []  # the snapshot still sees its own build
        for _ in range(KEEP_BUILDS + 1):  # until its directory is pruned
            Index(ix).build(load_kb(kb), rebuild=True)
        assert not old.exists()
        assert ids(s.search("SAML-403"))[0] == "saml-403-user-not-assigned"
        assert ids(Index(ix).open().search("zanzibar")) == ["invoice-download"]
    finally:
        s.close()


BUILDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from kbtool.content import load_kb
    from kbtool.index import Index

    kb = load_kb(Path(sys.argv[1]))
    print("loaded", flush=True)

    def progress(done, total):
        if done % 100 == 0 or done == total:
            print(f"{done}/{total}", flush=True)

    Index(Path(sys.argv[2])).build(kb, rebuild=True, progress=progress)
    print("done", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["300/3000", "3000/3000"])  # adding documents / committing
def test_killed_build_leaves_previous_index_searchable(fresh: tuple[Path, Path, Config], tmp_path: Path, kill_at: str,
                                                        generate_articles: Callable[[Path, int], None]) -> None:
    _, ix, _ = fresh
    old = current_build(ix)
    big = tmp_path / "big-kb"
    generate_articles(big, 3000)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", BUILDER, str(big), str(ix)], stdout=subprocess.PIPE, text=True, env=env)
    seen = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            seen.append(line.strip())
            if line.strip() == kill_at:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and "done" not in seen, seen[-3:]
    partial = [p for p in ix.glob("build-*") if p != old]
    assert partial and not (partial[0] / MANIFEST).exists()  # it really was mid-build
    assert current_build(ix) == old
    s = Index(ix).open()
    try:
        assert s.doc_count == 13
        assert ids(s.search("SAML-403"))[0] == "saml-403-user-not-assigned"
        assert ids(s.search("token42")) == []
    finally:
        s.close()
    # the lock died with the process; the next build cleans up the partial one
    rep = Index(ix).build(load_kb(fresh[0]))
    assert not rep.full and not any(p.exists() for p in partial)
