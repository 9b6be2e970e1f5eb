"""Building: incremental and full builds, the fast update path, the manifest, staleness and `search()`."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import kbtool.index
import kbtool.semantic
from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import MANIFEST, Index, IndexProblem, current_build, search, update_index
from kbtool.index.store import KEEP_BUILDS, kb_files


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


# --- incremental, rebuild, manifest --------------------------------------------------------------


def test_incremental_after_edit_add_delete(fresh: tuple[Path, Path, Config], article: Callable[..., Path]) -> None:
    kb, ix, _ = fresh
    idx = Index(ix)
    first = current_build(ix)
    rep = idx.build(load_kb(kb))
    assert (rep.added, rep.updated, rep.removed, rep.unchanged, rep.full) == (0, 0, 0, 13, False)
    assert current_build(ix) == first  # nothing changed: no new build

    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice and pick zanzibar format."))
    article(kb, "export-audit-log", "Export the audit log", type="howto", product="admin",
            sections={"Steps": "1. Open **Admin console > Audit log**.\n2. Click **Export** (zanzibar)."})
    (kb / "articles" / "attachment-scanning.md").unlink()
    rep = idx.build(load_kb(kb))
    assert (rep.added, rep.updated, rep.removed, rep.unchanged, rep.full) == (1, 1, 1, 11, False)
    assert "1 added, 1 updated, 1 removed, 11 unchanged" in rep.summary()


def test_incremental_results_change(fresh: tuple[Path, Path, Config], article: Callable[..., Path]) -> None:
    kb, ix, _ = fresh
    idx = Index(ix)
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice and pick zanzibar format."))
    article(kb, "export-audit-log", "Export the audit log", type="howto", product="admin",
            sections={"Steps": "1. Open **Admin console > Audit log**.\n2. Click **Export** (zanzibar)."})
    (kb / "articles" / "attachment-scanning.md").unlink()
    idx.build(load_kb(kb))
    s = idx.open()
    try:
        assert set(ids(s.search("zanzibar"))) == {"invoice-download", "export-audit-log"}
        assert ids(s.search("quarantined")) == ["release-quarantined-attachments"]
        assert s.doc_count == 13
        fwd = s.forward()
        assert {d["id"] for d in fwd.docs} >= {"export-audit-log"} and "attachment-scanning" not in {d["id"] for d in fwd.docs}
        assert len(fwd.docs) == fwd.lengths.shape[0] == 13
    finally:
        s.close()


def test_rename_keeps_id_once(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    (kb / "articles" / "invoice-download.md").rename(kb / "articles" / "old-invoice-download.md")
    # file name != id is a lint error, not a load error: it stays valid and indexed under its id
    rep = Index(ix).build(load_kb(kb))
    assert (rep.added, rep.removed) == (1, 1)
    s = Index(ix).open()
    try:
        r = s.search("pdf")
        assert ids(r) == ["invoice-download"] and r.hits[0].path == "articles/old-invoice-download.md"
    finally:
        s.close()


def test_rebuild_is_full(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    rep = Index(ix).build(load_kb(kb), rebuild=True)
    assert rep.full and rep.added == 13 and rep.unchanged == 0


def test_update_index_parses_only_changed_files(fresh: tuple[Path, Path, Config], monkeypatch: pytest.MonkeyPatch) -> None:
    kb, ix, cfg = fresh
    p = kb / "articles" / "invoice-download.md"
    p.write_text(p.read_text().replace("Click the invoice.", "Click the invoice (zanzibar)."))
    parsed = []
    real = kbtool.index.load_article
    monkeypatch.setattr(kbtool.index, "load_article", lambda path, root: parsed.append(path.name) or real(path, root))
    monkeypatch.setattr(kbtool.index, "load_kb", lambda *a, **k: pytest.fail("the fast path loaded the whole KB"))
    rep = update_index(cfg)
    assert parsed == ["invoice-download.md"] and (rep.updated, rep.unchanged) == (1, 12)


def test_update_index_falls_back_to_load_kb_for_duplicate_ids(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    text = (kb / "articles" / "invoice-download.md").read_text()
    (kb / "articles" / "zz-copy.md").write_text(text.replace("Click the invoice.", "Click it (zanzibar)."))
    rep = update_index(cfg)
    assert rep.skipped == ["articles/zz-copy.md"]  # load_kb: the later file loses the id
    s = Index(ix).open()
    try:
        assert ids(s.search("zanzibar")) == []
    finally:
        s.close()


def test_invalid_file_is_skipped_and_does_not_make_the_index_stale(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    (kb / "articles" / "broken.md").write_text("---\nid: broken\ntitle: [unclosed\n---\nbody\n")
    rep = update_index(cfg)
    assert rep.skipped == ["articles/broken.md"]
    assert not Index(ix).is_stale(kb)  # it used to be stale forever, re-indexing on every search
    assert search(cfg, "webhook").updated is None


def test_manifest_records_kb_state(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    m = json.loads((current_build(ix) / MANIFEST).read_text())
    assert m["format"] == "kbtool-index" and m["kb_root"] == str(kb.resolve()) and m["doc_count"] == 13
    entry = m["files"]["articles/invoice-download.md"]
    assert entry["id"] == "invoice-download" and len(entry["hash"]) == 64


def test_builds_are_pruned(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    for _ in range(4):
        Index(ix).build(load_kb(kb), rebuild=True)
    builds = sorted(p.name for p in ix.glob("build-*"))
    assert len(builds) == KEEP_BUILDS and current_build(ix).name in builds


def test_kb_file_listing_matches_content_discover(tmp_path: Path, article: Callable[..., Path],
                                                  make_kb: Callable[[Path], Path]) -> None:
    from kbtool.content import discover

    kb = make_kb(tmp_path / "kb")
    (kb / "articles" / "sub" / "deeper").mkdir(parents=True)
    article(kb / "articles" / "sub" / "deeper", "nested", "Nested article")  # lands in .../deeper/articles
    (kb / "articles" / "notes.txt").write_text("not markdown")
    (kb / "articles" / "linked.md").symlink_to(kb / "articles" / "invoice-download.md")
    (kb / "articles" / "dangling.md").symlink_to(kb / "articles" / "gone.md")
    (kb / "runbooks" / "loop").symlink_to(kb / "runbooks", target_is_directory=True)
    files, _ = discover(kb.resolve())
    assert kb_files(kb.resolve()) == [(p.relative_to(kb.resolve()).as_posix(), str(p)) for p in files]


# --- stale KB and search() ---------------------------------------------------------------------


def test_stale_detection_and_auto_update(fresh: tuple[Path, Path, Config], article: Callable[..., Path]) -> None:
    kb, ix, cfg = fresh
    assert not Index(ix).is_stale(kb)
    article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    assert Index(ix).is_stale(kb)
    r = search(cfg, "zanzibar")
    assert ids(r) == ["zanzibar-export"] and r.updated is not None and r.updated.added == 1 and not r.stale
    assert not Index(ix).is_stale(kb)


def test_touch_only_is_stale_then_cheap(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    p = kb / "articles" / "invoice-download.md"
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    assert Index(ix).is_stale(kb)
    rep = update_index(cfg)
    assert (rep.updated, rep.unchanged) == (0, 13) and not Index(ix).is_stale(kb)


def test_no_update_searches_old_index_and_flags_stale(fresh: tuple[Path, Path, Config],
                                                      article: Callable[..., Path]) -> None:
    kb, ix, cfg = fresh
    article(kb, "zanzibar-export", "Zanzibar export format", type="faq", product="data")
    r = search(cfg, "zanzibar", auto_update=False)
    assert r.stale and r.updated is None and ids(r) == []
    assert Index(ix).is_stale(kb)


def test_deleted_file_is_stale(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, cfg = fresh
    (kb / "articles" / "invoice-download.md").unlink()
    assert Index(ix).is_stale(kb)
    assert search(cfg, "pdf").hits == []


def test_search_missing_index(tmp_path: Path, make_kb: Callable[[Path], Path]) -> None:
    kb = make_kb(tmp_path / "kb")
    cfg = Config(root=tmp_path, kb=kb, index_dir=tmp_path / "nothing", site_dir=tmp_path, mkdocs_yml=tmp_path)
    with pytest.raises(IndexProblem, match=r"no index at .*Run `kbtool index`"):
        search(cfg, "webhook")


# --- what a build tells the analyst ----------------------------------------------------------------


def test_missing_extra_noted_once_a_day_unless_asked(fresh: tuple[Path, Path, Config],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    kb, ix, _ = fresh
    monkeypatch.setattr(kbtool.semantic, "unavailable_reason", lambda: "the semantic extra is not installed")
    kbase = load_kb(kb)
    notes = [Index(ix, semantic="auto").build(kbase, rebuild=True).semantic_note for _ in range(2)]
    assert notes == ["the semantic extra is not installed", ""]
    asked = [Index(ix, semantic=True).build(kbase, rebuild=True).semantic_note for _ in range(2)]
    assert asked == ["the semantic extra is not installed"] * 2  # asked for: said every time
    (ix / kbtool.index.NOTE_SHOWN).write_text("2000-01-01 the semantic extra is not installed")
    assert Index(ix, semantic="auto").build(kbase, rebuild=True).semantic_note  # another day: said again


def test_commit_phase_reports_postings(fresh: tuple[Path, Path, Config]) -> None:
    kb, ix, _ = fresh
    seen: list[tuple[int, int]] = []
    Index(ix, commit_progress=lambda done, total: seen.append((done, total))).build(load_kb(kb), rebuild=True)
    assert seen and seen[-1][0] == seen[-1][1] > 100  # every posting written, the last call at 100%


# --- publishing a build to a shared directory ------------------------------------------------------


def test_publish_switches_current_while_readers_keep_theirs(fresh: tuple[Path, Path, Config],
                                                            article: Callable[..., Path], tmp_path: Path) -> None:
    kb, ix, cfg = fresh
    shared = tmp_path / "shared"
    first = Index(ix).publish(shared)
    old = Index(shared).open()
    assert old.build == first and ids(old.search("webhook"))
    article(kb, "zanzibar-export", "Export to zanzibar format", type="howto", product="admin",
            sections={"Steps": "1. Open **Data > Export**.\n2. Pick zanzibar."})
    update_index(cfg)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:  # a replica answering from the old build all through the publish
        while not stop.is_set():
            try:
                assert ids(old.search("webhook"))
            except BaseException as e:  # noqa: BLE001 - collected for the assertion below
                errors.append(e)
                return

    t = threading.Thread(target=read)
    t.start()
    try:
        second = Index(ix).publish(shared)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert second != first and current_build(shared) == second and not old.is_current(shared)
    assert "zanzibar-export" not in ids(old.search("zanzibar"))
    new = Index(shared).open()
    assert "zanzibar-export" in ids(new.search("zanzibar"))
    old.close()
    new.close()
    with pytest.raises(IndexProblem, match="not a kbtool index directory"):
        (tmp_path / "foreign").mkdir()
        (tmp_path / "foreign" / "notes.txt").write_text("mine")
        Index(ix).publish(tmp_path / "foreign")
