"""The lint cache (kbtool.lint.cache): per-text shingle hashes and signatures kept between
runs. It may change what a run costs, never what it finds, and a bad cache file is only
ever a cold start."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from kbtool.cli import main
from kbtool.lint import LintResult
from kbtool.lint.cache import FORMAT, cache_file, shingled
from kbtool.lint.duplicates import ShingleSets, minhash_signatures, set_order, shingle_hashes


def texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(2000)]
    return [" ".join(rng.choices(vocab, k=rng.randint(0, 200))) for _ in range(n)]


def same_as_fresh(got: Any, ts: list[str]) -> None:
    """The cache's hashes are each text's fresh ones in set order (so its shingle sets need
    no sort), with the same signatures and the same sets."""
    hashes, bounds = shingle_hashes(ts)
    assert got.bounds.tolist() == bounds.tolist()
    assert (got.hashes == set_order(hashes, bounds)).all()
    for (start, end) in bounds.tolist():
        assert sorted(got.hashes[start:end].tolist()) == sorted(hashes[start:end].tolist())
    assert (got.signatures == minhash_signatures(hashes, bounds)).all()
    fresh, cached = ShingleSets(hashes, bounds), ShingleSets(got.hashes, got.bounds)
    assert (fresh.keys == cached.keys).all() and (fresh.size == cached.size).all()
    keys = (np.repeat(np.arange(len(bounds), dtype=np.uint64), bounds[:, 1] - bounds[:, 0]) << np.uint64(40)) \
        | (got.hashes >> np.uint64(24))
    assert bool((keys[1:] >= keys[:-1]).all())  # already in ShingleSets' order


def test_a_warm_cache_gives_what_a_cold_one_computes(tmp_path: Path) -> None:
    file = tmp_path / "c.npz"
    ts = texts(40)
    cold = shingled(ts, file)
    assert cold.cached == 0 and file.is_file()
    assert (tmp_path / ".gitignore").read_text().splitlines()[-1] == "*"  # never committed by accident
    assert (tmp_path / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    warm = shingled(ts, file)
    assert warm.cached == 40
    same_as_fresh(warm, ts)


def test_only_new_and_edited_texts_are_computed(tmp_path: Path) -> None:
    file = tmp_path / "c.npz"
    ts = texts(30)
    shingled(ts, file)
    edited = [*ts[:10], ts[10] + " an edit", *ts[11:], "a brand new text with several words in it"]
    got = shingled(edited, file)
    assert got.cached == 29  # 30 known, one of them edited, one new
    same_as_fresh(got, edited)
    assert shingled(edited, file).cached == 31


def test_the_cache_holds_the_last_run_only(tmp_path: Path) -> None:
    file = tmp_path / "c.npz"
    shingled(texts(50), file)
    big = file.stat().st_size
    kept = texts(50)[:5]
    shingled(kept, file)
    assert file.stat().st_size < big / 4
    assert shingled(kept, file).cached == 5


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04 truncated"])
def test_a_corrupt_cache_is_a_cold_start(tmp_path: Path, content: bytes) -> None:
    file = tmp_path / "c.npz"
    file.write_bytes(content)
    ts = texts(10)
    got = shingled(ts, file)
    assert got.cached == 0
    same_as_fresh(got, ts)
    assert shingled(ts, file).cached == 10  # and it was rewritten


def test_a_cache_of_another_format_or_shape_is_ignored(tmp_path: Path) -> None:
    file = tmp_path / "c.npz"
    ts = texts(8)
    shingled(ts, file)
    with np.load(file) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(file, **{**arrays, "format": np.array(FORMAT.replace(" 2 ", " 1 ", 1))})  # an older one
    assert shingled(ts, file).cached == 0
    np.savez(file, **{**arrays, "bounds": arrays["bounds"] + 10**9})  # points past its hashes
    assert shingled(ts, file).cached == 0


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    ts = texts(6)
    got = shingled(ts, blocker / "cache" / "c.npz")
    same_as_fresh(got, ts)
    assert list(tmp_path.iterdir()) == [blocker]  # no temporary file left behind


def test_each_kb_has_its_own_file(tmp_path: Path) -> None:
    a, b = cache_file(tmp_path, Path("/x/kb")), cache_file(tmp_path, Path("/y/kb"))
    assert a != b and a.parent == b.parent == tmp_path and a.name.startswith("lint-shingles-kb-")


def test_lint_with_a_cache_finds_what_lint_without_one_finds(fixture_copy: Path, tmp_path: Path,
                                                             lint_dir: Callable[..., tuple[Any, LintResult]]) -> None:
    cache = tmp_path / "cache"
    _, plain = lint_dir(fixture_copy)
    _, cold = lint_dir(fixture_copy, cache_dir=cache)
    _, warm = lint_dir(fixture_copy, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1
    assert {"KB501", "KB503"} <= {f.code for f in plain.findings}
    assert cold.findings == plain.findings == warm.findings
    # an edit that makes a new near-copy is seen through the warm cache
    src = next(p for p in (fixture_copy / "articles").glob("*.md") if "kb501" in p.name)
    shutil.copy(src, fixture_copy / "articles" / "kb501-another-copy.md")
    _, again = lint_dir(fixture_copy, cache_dir=cache)
    _, fresh = lint_dir(fixture_copy)
    assert again.findings == fresh.findings
    assert any(f.code in ("KB501", "KB105") and "another-copy" in f.rel_path for f in again.findings)


def test_cli_keeps_the_cache_in_cache_dir_unless_told_not_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             fixture_kb: Path) -> None:
    shutil.copytree(fixture_kb, tmp_path / "kb", symlinks=True)
    (tmp_path / "kbtool.toml").write_text('kb = "kb"\ncache_dir = "var/lint-cache"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["lint", "--today", "2026-11-23", "--no-cache", "--format", "json"])
    assert first.exit_code == 1, first.output
    assert not (tmp_path / "var").exists()
    second = runner.invoke(main, ["lint", "--today", "2026-11-23", "--format", "json"])
    assert second.exit_code == 1 and second.stdout == first.stdout
    assert sorted(p.suffix or p.name for p in (tmp_path / "var" / "lint-cache").iterdir()) == [".TAG", ".gitignore", ".npz"]
