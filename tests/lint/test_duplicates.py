"""Near-duplicates (kbtool.lint.duplicates: shingles, MinHash, LSH bands, exact Jaccard)
and the KB501/KB502 checks built on them."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from kbfactory import front_matter, write_file

from kbtool.lint.duplicates import (
    MAX_DF,
    MIN_SHINGLES,
    NUM_PERM,
    Copies,
    choose_bands,
    contained,
    lsh_candidates,
    minhash_signatures,
    near_duplicates,
    shingle_hashes,
    words,
)

FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}
TODAY = date(2026, 11, 23)


def random_texts(n: int, k: int = 300, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    return [" ".join(rng.choices(vocab, k=k)) for _ in range(n)]


def jaccard(a: str, b: str) -> float:
    def sh(t: str) -> set[tuple[bytes, ...]]:
        ws = words(t)
        return {tuple(ws[i:i + 3]) for i in range(len(ws) - 2)}

    x, y = sh(a), sh(b)
    return len(x & y) / len(x | y)


# --- bands ------------------------------------------------------------------------------------


def test_choose_bands() -> None:
    assert choose_bands(0.8) == (16, 4)
    assert choose_bands(0.5) == (32, 2)
    for t in (0.3, 0.5, 0.7, 0.8, 0.9, 1.0):
        b, r = choose_bands(t)
        assert b * r == 64 and 1 - (1 - t**r) ** b >= 0.99


def test_choose_bands_prefers_more_rows_as_the_threshold_rises() -> None:
    rows = [choose_bands(t)[1] for t in (0.1, 0.3, 0.5, 0.8, 0.95)]
    assert rows == sorted(rows) and rows[0] == 1 and rows[-1] == 8
    assert choose_bands(0.05) == (NUM_PERM, 1)  # nothing catches it at 99%: every hash its own band
    assert choose_bands(0.8, num_perm=32) == (16, 2)  # 8 x 4 would catch it with p = 0.985 only


def test_lsh_candidates_share_a_band() -> None:
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [5, 6, 7, 8]], dtype=np.uint32)
    eligible = np.ones(4, dtype=bool)
    assert lsh_candidates(sig, bands=2, rows=2, eligible=eligible).tolist() == [[0, 1], [0, 2]]
    assert lsh_candidates(sig, bands=1, rows=4, eligible=eligible).tolist() == []
    eligible[0] = False
    assert lsh_candidates(sig, bands=2, rows=2, eligible=eligible).tolist() == []


# --- signatures ----------------------------------------------------------------------------------


def test_words_fold_ascii_case_and_punctuation() -> None:
    assert words("Reset, your PASSWORD! (now)") == [b"reset", b"your", b"password", b"now"]


def test_shingles_and_signatures_are_deterministic() -> None:
    texts = ["one two three four five", "", "alpha beta"]
    hashes, bounds = shingle_hashes(texts)
    assert bounds.tolist() == [[0, 3], [3, 3], [3, 3]]  # 5 words: 3 shingles; fewer than 3 words: none
    sig = minhash_signatures(hashes, bounds)
    assert sig.shape == (3, NUM_PERM) and (sig[1] == 0xFFFFFFFF).all() and (sig[2] == 0xFFFFFFFF).all()
    again = minhash_signatures(*shingle_hashes(texts))
    assert (sig == again).all()
    other = minhash_signatures(*shingle_hashes(["x y z w", "one two three four five", "one two three four five"]))
    assert (other[1] == other[2]).all() and not (other[0] == other[1]).all()
    assert (other[1] == sig[0]).all()  # a text's signature does not depend on the texts beside it


def test_a_texts_shingle_hashes_depend_on_it_alone() -> None:
    """Content-defined hashes (not word ids in order of first sight), so a text's hashes and
    signature can be kept between runs while other texts change."""
    texts = random_texts(6, k=120, seed=3)
    hashes, bounds = shingle_hashes(texts)
    for i, text in enumerate(texts):
        alone, _ = shingle_hashes([text])
        assert (hashes[bounds[i, 0]:bounds[i, 1]] == alone).all()
    assert shingle_hashes(["Hello, world again"])[0].tolist() == shingle_hashes(["hello world AGAIN"])[0].tolist()


def test_containment_looks_past_boilerplate_samples() -> None:
    """A short part mostly made of a KB-wide boilerplate paragraph plus a passage of one
    article: the boilerplate's sampled shingles (in more than MAX_DF texts) are no evidence
    either way, so the passage's samples alone propose the pair, and the exact sets decide."""
    rng = random.Random(5)
    vocab = [f"v{i}" for i in range(20000)]
    boiler = " ".join(rng.choices(vocab, k=90))
    others = [boiler + " " + " ".join(rng.choices(vocab, k=220)) for _ in range(MAX_DF + 10)]
    passage = " ".join(rng.choices(vocab, k=320))
    whole = boiler + " " + passage
    part = boiler + " " + " ".join(passage.split()[:70])
    texts = [*others, whole, part]
    found = contained(texts, 0.8)
    w, p = len(others), len(others) + 1
    assert [(i, j) for i, j, _ in found] == [(p, w)]
    assert found[0][2] >= 0.95


# --- near_duplicates ---------------------------------------------------------------------------


def test_near_duplicates_finds_copies_not_strangers() -> None:
    texts = random_texts(400)
    words_ = texts[10].split()
    words_[50] = "changed"
    words_[200] = "edited"
    texts.append(" ".join(words_))  # index 400, near-copy of 10
    texts.append(" ".join(texts[20].split()[:150]))  # half of 20: Jaccard ~0.5
    pairs = near_duplicates(texts, 0.8)
    assert [(i, j) for i, j, _ in pairs] == [(10, 400)]
    assert pairs[0][2] > 0.9
    assert {(i, j) for i, j, _ in near_duplicates(texts, 0.45)} == {(10, 400), (20, 401)}
    assert near_duplicates(["too short", "too short"], 0.8) == []


def test_no_near_duplicates_among_unrelated_texts() -> None:
    assert near_duplicates(random_texts(200, seed=7), 0.5) == []
    assert near_duplicates([], 0.8) == [] and near_duplicates(["only one " * 20], 0.8) == []


def test_reported_score_is_the_exact_jaccard_index() -> None:
    base = random_texts(1, seed=3)[0].split()
    texts = [" ".join(base), " ".join(base[:-12])]
    ((i, j, score),) = near_duplicates(texts, 0.8)
    assert (i, j) == (0, 1) and score == pytest.approx(jaccard(texts[0], texts[1]))


def test_threshold_is_inclusive_and_a_lower_one_finds_more() -> None:
    base = random_texts(1, seed=5)[0].split()
    texts = [" ".join(base), " ".join(base[:200])]
    exact = jaccard(texts[0], texts[1])
    assert 0.6 < exact < 0.7
    assert near_duplicates(texts, 0.7) == []
    assert [(i, j) for i, j, _ in near_duplicates(texts, round(exact - 0.005, 3))] == [(0, 1)]


def test_texts_below_the_minimum_size_are_never_compared() -> None:
    short = " ".join(f"w{i}" for i in range(MIN_SHINGLES + 1))  # MIN_SHINGLES - 1 shingles
    assert near_duplicates([short, short], 0.5) == []
    longer = short + " more"  # exactly MIN_SHINGLES shingles
    assert [(i, j) for i, j, _ in near_duplicates([longer, longer], 0.5)] == [(0, 1)]


def test_large_buckets_still_pair_every_copy() -> None:
    """More identical texts than MAX_BUCKET_PAIRS: each still pairs with the first few."""
    text = random_texts(1, seed=9)[0]
    pairs = near_duplicates([text] * 70, 0.8)
    assert {j for i, j, _ in pairs if i == 0} == set(range(1, 70))


def _copied_texts() -> list[str]:
    """Texts with exact copies in several places: near pairs between copy groups, copies of a
    contained part and of its whole, a short text copied (never compared), and a boilerplate
    passage in more texts than MAX_DF only once its copies are counted."""
    rng = random.Random(21)
    vocab = [f"c{i}" for i in range(20000)]
    base = random_texts(30, seed=13)
    near = base[3].split()
    near[100] = "edited"
    whole = " ".join(rng.choices(vocab, k=400))
    part = " ".join(whole.split()[:150])
    boiler = " ".join(rng.choices(vocab, k=90))
    boilerplated = [boiler + " " + " ".join(rng.choices(vocab, k=220)) for _ in range(MAX_DF // 4 + 2)]
    mostly_boiler = boiler + " " + " ".join(rng.choices(vocab, k=10))  # contained in nothing but boilerplate
    texts = [*base, " ".join(near), whole, part, "too short to compare", boiler + " " + whole[:300], mostly_boiler]
    picks = [3, 3, 30, 31, 31, 32, 32, 32, 33, 33, 5, 34, 35]
    texts += [texts[i] for i in picks]
    for b in boilerplated:
        texts += [b] * 4
    return texts


def test_folding_exact_copies_changes_no_pair() -> None:
    """Comparing each distinct text once, then unfolding, finds what comparing every text
    finds: the same near pairs with the same scores, the same contained parts and wholes."""
    texts = _copied_texts()
    copies = Copies.fold(texts)
    assert len(copies.texts) < len(texts) and sorted(sum(copies.members, [])) == list(range(len(texts)))
    hashes, bounds = shingle_hashes(copies.texts)
    eligible = (bounds[:, 1] - bounds[:, 0]) >= MIN_SHINGLES
    folded_near = near_duplicates(copies.texts, 0.8)
    expected = near_duplicates(texts, 0.8)
    assert copies.near(folded_near, eligible) == [(i, j, pytest.approx(s)) for i, j, s in expected]
    assert any(s == 1.0 for _, _, s in expected) and any(s < 1.0 for _, _, s in expected)
    skip = {(u, v) for u, v, _ in folded_near}
    found = copies.contained(contained(copies.texts, 0.8, skip, weights=copies.weights))
    want = contained(texts, 0.8, {(i, j) for i, j, _ in expected})
    assert want and found == [(p, w, pytest.approx(s)) for p, w, s in want]
    for focus in ([31], [len(texts) - 1], [34, 2]):
        assert copies.near(near_duplicates(copies.texts, 0.8, focus=copies.focus(focus)), eligible, focus) == \
            [t for t in copies.near(folded_near, eligible) if t[0] in focus or t[1] in focus]
        assert copies.contained(contained(copies.texts, 0.8, skip, focus=copies.focus(focus), weights=copies.weights),
                                focus) == [t for t in found if t[0] in focus or t[1] in focus]


# --- KB501 / KB502 through run_lint --------------------------------------------------------------


def test_duplicates_skip_retired_and_their_replacements(fixture_copy: Path, lint_dir) -> None:
    text = (fixture_copy / "articles" / "clean-original.md").read_text()
    write_file(fixture_copy, "articles/old-original.md", text.replace("id: clean-original", "id: old-original")
               .replace("status: published", "status: retired\nreplaced_by: clean-original"))
    _, result = lint_dir(fixture_copy, select=["KB5"])
    assert [(f.rel_path, f.code) for f in result.findings] == [
        ("articles/kb501-near-duplicate.md", "KB501"), ("articles/kb502-duplicate-title.md", "KB502"),
        ("articles/kb503-contained-duplicate.md", "KB503")]


def test_pair_findings_sit_on_the_newer_article(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    body = random_texts(1, seed=11)[0] + "\n"
    write_file(kb_dir, "articles/new.md", front_matter("new", **{**FAQ, "created": "2025-06-01"}, title="Same") + "\n" + body)
    write_file(kb_dir, "articles/old.md", front_matter("old", **{**FAQ, "created": "2024-06-01"}, title="Same") + "\n" + body)
    _, result = lint_dir(kb_dir, select=["KB5"])
    assert [(f.rel_path, f.code, f.line) for f in result.findings] == [
        ("articles/new.md", "KB501", 3), ("articles/new.md", "KB502", 3)]
    assert result.findings[0].message == ("near-duplicate of articles/old.md: 100% of word 3-shingles shared "
                                          "(title + body Jaccard 1.00, threshold 0.8)")
    assert result.findings[0].refs == ((kb_dir / "articles" / "old.md").resolve(),)


def test_duplicate_threshold_from_config(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    base = random_texts(1, seed=13)[0].split()
    write_file(kb_dir, "articles/a.md", front_matter("a", **FAQ) + "\n" + " ".join(base) + "\n")
    write_file(kb_dir, "articles/b.md", front_matter("b", **FAQ) + "\n" + " ".join(base[:200]) + "\n")
    _, result = lint_dir(kb_dir, select=["KB501"])
    assert result.findings == []
    _, result = lint_dir(kb_dir, "[lint]\nduplicate_threshold = 0.5\n", select=["KB501"])
    assert [(f.rel_path, f.code) for f in result.findings] == [("articles/b.md", "KB501")]
