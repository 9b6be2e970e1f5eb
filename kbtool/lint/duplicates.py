"""Near-duplicate detection for KB501: word 3-shingles, MinHash and LSH banding.

Comparing every pair of articles is O(n²); on 10,000 articles that is 50 million
pairs. Instead each article's shingle set is summarised by a MinHash signature of
`NUM_PERM` hashes (the chance two signatures agree in one position equals the Jaccard
index of the two sets); signatures are cut into bands, and only articles that share a
whole band become *candidates*. Candidates are then verified with the exact Jaccard
index, so the LSH step can only cost recall, never precision. Bands are chosen so a
pair at the threshold becomes a candidate with probability >= 99%.

Everything is vectorised with numpy; hashing is deterministic (no `hash()` of str,
which changes between runs). Exact copies are folded first (`Copies`): a text repeated
k times is hashed and compared once, and its k(k-1)/2 pairs come back at Jaccard 1.
"""

from __future__ import annotations

import string
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from itertools import combinations, count, product

import numpy as np

NUM_PERM = 64
SHINGLE = 3
MIN_SHINGLES = 10  # shorter texts (about a dozen words) are never compared
MAX_BUCKET_PAIRS = 64  # a bucket larger than this pairs each member with its first few only
SAMPLE_EVERY = 8  # containment: the shingles whose hash is 0 mod 8, the same ones in every text
MIN_PART = 48  # a part of fewer shingles (about 50 words) is not reported as contained
MAX_DF = 48  # a sampled shingle in more texts than this is boilerplate, not evidence

# One pass: ASCII upper case to lower case, ASCII punctuation to spaces.
_FOLD = bytes.maketrans(
    string.ascii_uppercase.encode() + string.punctuation.encode(),
    string.ascii_lowercase.encode() + b" " * len(string.punctuation),
)
_C1, _C2, _C3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_F1, _F2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads structured ids over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * _F1
    x = x ^ (x >> np.uint64(27))
    x = x * _F2
    return x ^ (x >> np.uint64(31))


def distinct(x: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D array: `np.unique` by sort and mask, which numpy
    2's hash-based `np.unique` is ~50x slower than on millions of well-mixed uint64 keys.
    An array already in order (a cache's shingle sets) skips the sort: one linear check.
    The sort is numpy's stable one (timsort for 64-bit keys): the keys lint sorts come in
    runs (a text's shingles, each text's number above them), which it merges in linear time,
    twice as fast as the default introsort on 10,000 texts' shingle sets."""
    s = x if x.size < 2 or bool((x[1:] >= x[:-1]).all()) else np.sort(x, kind="stable")
    return s[np.r_[True, s[1:] != s[:-1]]] if s.size else s


def distinct_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, how often each occurs), like `np.unique(x, return_counts=True)`."""
    s = np.sort(x, kind="stable")  # as in `distinct`
    starts, counts = _runs(s)
    return s[starts], counts


def choose_bands(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) with the most rows per band that still catches a pair at `threshold`
    with probability >= 0.99 (more rows = fewer false candidates)."""
    for rows in (8, 4, 2, 1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= 0.99:
            return bands, rows
    return num_perm, 1


def words(text: str) -> list[bytes]:
    """Words, ASCII-lower-cased: ASCII punctuation splits, other bytes are kept (no regex;
    non-ASCII letters keep their case, which only matters for exotic near-copies)."""
    return text.encode("utf-8", "surrogatepass").translate(_FOLD).split()


def word_hash(word: bytes) -> int:
    """A word's 64-bit hash: its own content only (not the order words were first seen), so a
    text's shingle hashes are the same in every run and every KB, and can be cached."""
    return int.from_bytes(blake2b(word, digest_size=8).digest(), "little")


def shingle_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All word 3-shingle hashes (uint64), concatenated, and each text's [start, end) bounds.
    Each text's hashes depend on that text alone."""
    vocab: defaultdict[bytes, int] = defaultdict(count().__next__)
    ids = array("Q")  # word ids, straight into a C array (no list of Python ints)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        ws = words(text)
        lengths[i] = len(ws)
        ids.extend(map(vocab.__getitem__, ws))
    # ids number the distinct words (a dict lookup each); each distinct word is hashed once
    hashed = np.fromiter(map(word_hash, vocab), dtype=np.uint64, count=len(vocab))
    arr = hashed[np.frombuffer(ids, dtype=np.uint64)] if len(ids) else np.zeros(0, dtype=np.uint64)
    n_sh = np.maximum(lengths - (SHINGLE - 1), 0)
    sh_end = np.cumsum(n_sh)
    sh_start = sh_end - n_sh
    if arr.size < SHINGLE:
        return np.zeros(0, dtype=np.uint64), np.stack([sh_start, sh_end], axis=1)
    h = arr[:-2] * _C1 + arr[1:-1] * _C2 + arr[2:] * _C3
    # keep positions whose shingle lies inside one text
    doc_of = np.repeat(np.arange(len(texts)), lengths)
    valid = doc_of[:-2] == doc_of[2:]
    return _mix(h[valid]), np.stack([sh_start, sh_end], axis=1)


def minhash_signatures(hashes: np.ndarray, bounds: np.ndarray, num_perm: int = NUM_PERM, seed: int = 0x6B62) -> np.ndarray:
    """(len(bounds) x num_perm) uint32 MinHash signatures; rows of empty texts are all 0xFFFFFFFF.

    Hash family: h_k(x) = ((x ^ b_k) * a_k) mod 2^32 with a_k odd, on the top 32 bits of
    the (already well mixed) shingle hash: a bijection of 32-bit values per k, in 32-bit
    arithmetic so each of the `num_perm` passes moves half the memory of 64-bit hashing.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    sig = np.full((len(bounds), num_perm), 0xFFFFFFFF, dtype=np.uint32)
    nonempty = np.flatnonzero(bounds[:, 1] > bounds[:, 0])
    if nonempty.size == 0:
        return sig
    starts = bounds[nonempty, 0]
    x = (hashes >> np.uint64(32)).astype(np.uint32)
    buf = np.empty_like(x)
    with np.errstate(over="ignore"):
        for k in range(num_perm):
            np.bitwise_xor(x, b[k], out=buf)
            np.multiply(buf, a[k], out=buf)
            sig[nonempty, k] = np.minimum.reduceat(buf, starts)
    return sig


def _bucket_pairs(members: np.ndarray, keys: np.ndarray) -> list[np.ndarray]:
    """Pairs of `members` with equal (sorted) `keys`, vectorised by offset: member k pairs
    with k+d while the key is the same, d < MAX_BUCKET_PAIRS. A bigger bucket (boilerplate,
    or many copies) also pairs its first 4 members with every other one, so each copy still
    meets the original while the cost stays linear in the bucket's size."""
    out = []
    for d in range(1, min(MAX_BUCKET_PAIRS, keys.size)):
        hit = np.flatnonzero(keys[d:] == keys[:-d])
        if hit.size == 0:
            break
        out.append(np.stack([members[hit], members[hit + d]], axis=1))
    if len(out) == MAX_BUCKET_PAIRS - 1:  # some bucket is at least that big
        starts, lengths = _runs(keys)
        for s, n in zip(starts[lengths > MAX_BUCKET_PAIRS].tolist(), lengths[lengths > MAX_BUCKET_PAIRS].tolist()):
            group = members[s:s + n]
            for h in group[:4]:
                others = group[group != h]
                out.append(np.stack([np.full(others.size, h), others], axis=1))
    return out


def lsh_candidates(sig: np.ndarray, bands: int, rows: int, eligible: np.ndarray) -> np.ndarray:
    """Candidate pairs (i < j) sharing at least one band, as an (m x 2) array."""
    idx = np.flatnonzero(eligible)
    pairs: list[np.ndarray] = []
    if idx.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            cols = sig[idx, band * rows:(band + 1) * rows].astype(np.uint64)
            key = cols[:, 0].copy()
            for c in range(1, rows):
                key = _mix(key * _C1 + cols[:, c])
            order = np.argsort(key, kind="stable")
            sk = key[order]
            same = np.flatnonzero(sk[1:] == sk[:-1])
            if same.size == 0:
                continue
            pairs.extend(_bucket_pairs(idx[order], sk))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    allp = np.concatenate(pairs).astype(np.int64)
    allp.sort(axis=1)
    n = int(sig.shape[0])
    return _pairs(distinct(_pair_keys(allp[:, 0], allp[:, 1], n)), n)


def _pair_keys(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """One int64 per pair of text numbers below `n` (which sorts as the pairs do)."""
    return i * n + j


def _pairs(keys: np.ndarray, n: int) -> np.ndarray:
    """The (m x 2) pairs back from `_pair_keys`."""
    return np.stack([keys // n, keys % n], axis=1)


def near_duplicates(texts: Sequence[str], threshold: float, num_perm: int = NUM_PERM,
                    shingles: tuple[np.ndarray, np.ndarray] | None = None,
                    sets: ShingleSets | None = None, signatures: np.ndarray | None = None,
                    focus: Collection[int] | None = None) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of texts whose word 3-shingle sets have Jaccard >= threshold.

    Sub-quadratic: MinHash + LSH proposes candidates, the exact Jaccard index decides.
    `shingles` is `shingle_hashes(texts)`, `sets` its `ShingleSets` and `signatures` its
    `minhash_signatures` when the caller already has them. `focus` keeps the pairs with a
    member among those indexes (decided before the exact check, the costly part).
    """
    if len(texts) < 2:
        return []
    hashes, bounds = shingles if shingles is not None else shingle_hashes(texts)
    sizes = bounds[:, 1] - bounds[:, 0]
    eligible = sizes >= MIN_SHINGLES
    sig = signatures if signatures is not None else minhash_signatures(hashes, bounds, num_perm)
    bands, rows = choose_bands(threshold, sig.shape[1])
    cand = lsh_candidates(sig, bands, rows, eligible)
    if focus is not None and cand.size:
        marked = _marks(len(texts), focus)
        cand = cand[marked[cand[:, 0]] | marked[cand[:, 1]]]
    if cand.size == 0:
        return []
    if sets is None:
        sets = ShingleSets(hashes, bounds, distinct(cand.ravel()) if focus is not None else None)
    i, j = cand[:, 0], cand[:, 1]
    si, sj = sets.size[i], sets.size[j]
    # quick bound: Jaccard <= min/max of the set sizes
    ok = np.minimum(si, sj) >= threshold * np.maximum(si, sj)
    i, j, si, sj = i[ok], j[ok], si[ok], sj[ok]
    small = si <= sj
    inter = sets.intersections(np.where(small, i, j), np.where(small, j, i))
    jac = inter / (si + sj - inter)
    hit = jac >= threshold
    return list(zip(i[hit].tolist(), j[hit].tolist(), jac[hit].tolist()))


DOC_BITS = 24  # keys pack a text's number in 24 bits above a shingle hash's top 40
_DOC_SHIFT = np.uint64(64 - DOC_BITS)  # a set key: the text's number above, the shingle's top 40 bits below
_LOW = np.uint64((1 << (64 - DOC_BITS)) - 1)
_BATCH = 1 << 22  # set elements looked up per vectorised pass (bounded memory)


def _check_count(n: int) -> None:
    if n >= 1 << DOC_BITS:
        raise ValueError(f"more than {1 << DOC_BITS:,} texts: too many to compare for near-duplicates")


def set_order(hashes: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Each text's hashes in the order `ShingleSets` keeps them (by their top bits, ties as
    they came): stored so in the lint cache, every later run builds its sets without a sort."""
    doc = np.repeat(np.arange(len(bounds), dtype=np.uint64), bounds[:, 1] - bounds[:, 0])
    return hashes[np.argsort((doc << _DOC_SHIFT) | (hashes >> np.uint64(DOC_BITS)), kind="stable")]


class ShingleSets:
    """Every text's distinct shingles in one sorted array, so the exact overlap of thousands
    of candidate pairs is counted in a few vectorised passes rather than a set and an
    `intersect1d` per pair (the cost of KB501/KB503 on KBs with many near-copies).

    A key holds the text's number in its top 24 bits and the shingle hash's top 40 bits
    below: a chance collision between two different shingles of two texts needs ~10^12
    shingle pairs, so the counts are those of the 64-bit hashes for any KB size lint meets.
    """

    def __init__(self, hashes: np.ndarray, bounds: np.ndarray, only: np.ndarray | None = None) -> None:
        """`only`: the (ascending, distinct) numbers of the texts to hold, the others left
        empty (size 0): `--changed` weighs the few texts near its focus, and sorting every
        text's shingles for them would be most of its time."""
        n = len(bounds)
        _check_count(n)
        if only is None:
            doc = np.repeat(np.arange(n, dtype=np.uint64), bounds[:, 1] - bounds[:, 0])
        else:
            lengths = bounds[only, 1] - bounds[only, 0]
            doc = np.repeat(only.astype(np.uint64), lengths)
            hashes = hashes[np.repeat(bounds[only, 0] - (np.cumsum(lengths) - lengths), lengths)
                            + np.arange(int(lengths.sum()))]
        self.keys = distinct((doc << _DOC_SHIFT) | (hashes >> np.uint64(DOC_BITS)))
        owner = (self.keys >> _DOC_SHIFT).astype(np.int64)
        self.size = np.bincount(owner, minlength=n)
        self.start = np.cumsum(self.size) - self.size

    def intersections(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """|set(a[k]) & set(b[k])| for each k (pass the smaller set as `a`: the work is its size)."""
        out = np.zeros(len(a), dtype=np.int64)
        sa = self.size[a]
        cum = np.cumsum(sa)
        k = 0
        while k < len(a):
            stop = max(int(np.searchsorted(cum, (cum[k - 1] if k else 0) + _BATCH, side="right")), k + 1)
            n = sa[k:stop]
            pair = np.repeat(np.arange(k, stop), n)
            within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            elems = self.keys[self.start[a[pair]] + within] & _LOW
            q = (b[pair].astype(np.uint64) << _DOC_SHIFT) | elems
            pos = np.minimum(np.searchsorted(self.keys, q), self.keys.size - 1)
            out[k:stop] = np.bincount(pair - k, weights=self.keys[pos] == q, minlength=stop - k).astype(np.int64)
            k = stop
        return out


@dataclass
class Samples:
    """The texts' informative sampled shingles as an inverted index: `h` the shingles, in
    runs of equal ones, `d` the text of each (ascending within a run), `sizes` each text's
    count. The sample is content-defined (hash mod SAMPLE_EVERY), so a text copied into
    another brings its whole sample along; a shingle in more than MAX_DF texts is
    boilerplate, no evidence either way, and left out. `weights[t]` is how many texts text
    t stands for (its folded copies): a shingle's document frequency counts them, so
    folding copies does not change what is boilerplate."""

    h: np.ndarray
    d: np.ndarray
    sizes: np.ndarray

    @classmethod
    def of(cls, hashes: np.ndarray, bounds: np.ndarray, weights: np.ndarray | None = None) -> Samples:
        n = len(bounds)
        _check_count(n)
        doc = np.repeat(np.arange(n), bounds[:, 1] - bounds[:, 0])
        keep = (hashes % np.uint64(SAMPLE_EVERY)) == 0
        # (hash, doc) pairs, distinct, sorted by hash then doc: one key, the hash's top 40 bits
        # above the doc's 24
        low = np.uint64((1 << DOC_BITS) - 1)
        hd = distinct((hashes[keep] & ~low) | doc[keep].astype(np.uint64))
        h, d = hd >> np.uint64(DOC_BITS), (hd & low).astype(np.int64)
        run_start, run_len = _runs(h)
        df = run_len if weights is None or h.size == 0 else np.add.reduceat(weights[d], run_start)
        ok = np.repeat(df <= MAX_DF, run_len)
        return cls(h[ok], d[ok], np.bincount(d[ok], minlength=n))

    def pairs(self, touching: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(pairs (i < j) sharing sampled shingles, how many they share), from the index
        shingle by shingle, vectorised by offset within each run. `touching` (a mask of the
        texts) keeps the pairs with a member there, read from the runs that hold one: exact
        counts still, since every shingle such a pair shares is in such a run."""
        h, d, n = self.h, self.d, len(self.sizes)
        if touching is not None and h.size:
            start, length = _runs(h)
            run = np.repeat(np.arange(start.size), length)
            hit = np.zeros(start.size, dtype=bool)
            hit[run[touching[d]]] = True
            h, d = h[hit[run]], d[hit[run]]
        found = []
        for off in range(1, MAX_DF):
            same = np.flatnonzero(h[off:] == h[:-off])
            if same.size == 0:
                break
            found.append(_pair_keys(d[same], d[same + off], n))  # d is sorted within a run: d[same] < d[same+off]
        if not found:
            return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
        keys, counts = distinct_counts(np.concatenate(found))
        pairs = _pairs(keys, n)
        if touching is not None:
            near = touching[pairs[:, 0]] | touching[pairs[:, 1]]
            pairs, counts = pairs[near], counts[near]
        return pairs, counts


def _runs(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of each run of equal values in sorted `h`."""
    start = np.r_[0, np.flatnonzero(h[1:] != h[:-1]) + 1] if h.size else np.zeros(0, dtype=np.int64)
    return start, np.diff(np.r_[start, h.size])


def _marks(n: int, members: Collection[int]) -> np.ndarray:
    """A boolean mask of length `n`, True at `members`."""
    marked = np.zeros(n, dtype=bool)
    marked[np.fromiter(members, dtype=np.int64, count=len(members))] = True
    return marked


def contained(texts: Sequence[str], threshold: float, skip: Collection[tuple[int, int]] = (),
              shingles: tuple[np.ndarray, np.ndarray] | None = None,
              focus: Collection[int] | None = None, sets: ShingleSets | None = None,
              weights: np.ndarray | None = None) -> list[tuple[int, int, float]]:
    """(part, whole, containment): texts most of whose word 3-shingles (>= threshold) are
    in a longer text (the best such whole for each part), at most 3/4 its size (closer sizes are near-duplicates, KB501), and
    not a pair in `skip`. Sub-quadratic: a content-defined sample proposes, exact sets decide.
    `focus` keeps the results with a member among those indexes: every pair of a part that
    is in focus or is proposed with a whole in focus is still weighed, so its best is the same.
    `weights`: as in `Samples`, for texts that stand for folded copies."""
    if len(texts) < 2:
        return []
    hashes, bounds = shingles if shingles is not None else shingle_hashes(texts)
    index = Samples.of(hashes, bounds, weights)
    samples = index.sizes
    if focus is None:
        pairs, counts = index.pairs()
    else:
        # the parts weighed: the focus, and the smaller text of a pair with a focused whole;
        # only the texts of their pairs need exact sets (when the caller has none for all)
        marked = _marks(len(texts), focus)
        first, _ = index.pairs(marked)
        part, whole = _part_whole(first, (sets or ShingleSets(hashes, bounds, distinct(first.ravel()))).size)
        parts = marked.copy()
        parts[part[marked[whole]]] = True
        pairs, counts = index.pairs(parts)
        sets = sets or ShingleSets(hashes, bounds, distinct(pairs.ravel()))
        keep = parts[_part_whole(pairs, sets.size)[0]]
        pairs, counts = pairs[keep], counts[keep]
    if len(pairs) == 0:
        return []
    sets = sets or ShingleSets(hashes, bounds)
    size = sets.size  # the part is the smaller set (exact, unlike the samples' sizes)
    i, j = pairs[:, 0], pairs[:, 1]
    part, whole = _part_whole(pairs, size)
    ok = (size[part] >= MIN_PART) & (counts >= threshold * 0.8 * samples[part])
    if skip:
        n = len(texts)
        skipped = np.fromiter((x * n + y for x, y in skip), dtype=np.int64, count=len(skip))
        ok &= ~np.isin(_pair_keys(i, j, n), skipped)
    order = np.flatnonzero(ok)  # the pairs in their (sorted) order: ties go to the first
    part, whole = part[order], whole[order]
    ok = size[part] <= 0.75 * size[whole]
    order, part, whole = order[ok], part[ok], whole[ok]
    score = sets.intersections(part, whole) / np.maximum(sets.size[part], 1)
    ok = score >= threshold
    order, part, whole, score = order[ok], part[ok], whole[ok], score[ok]
    pick = np.lexsort((order, -score, part))  # per part: the best score, then the first pair
    first = np.r_[True, part[pick][1:] != part[pick][:-1]] if pick.size else np.zeros(0, dtype=bool)
    best = {int(p): (int(w), float(sc)) for p, w, sc in zip(part[pick][first], whole[pick][first], score[pick][first])}
    return touching([(part, whole, score) for part, (whole, score) in sorted(best.items())], focus)


def _part_whole(pairs: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(part, whole) of each pair: the smaller set is the part, the first text on a tie."""
    i, j = pairs[:, 0], pairs[:, 1]
    part = np.where(size[i] <= size[j], i, j)
    return part, i + j - part


def touching(found: list[tuple[int, int, float]], focus: Collection[int] | None) -> list[tuple[int, int, float]]:
    """The pairs of `found` with a member in `focus` (all of them with no focus), in order."""
    if focus is None:
        return found
    wanted = set(focus)
    return [t for t in found if t[0] in wanted or t[1] in wanted]


@dataclass
class Copies:
    """Texts with their exact repeats folded: `texts` the distinct ones in first-seen order,
    `members[u]` the (ascending) numbers of the texts equal to distinct text u. Shingling,
    signatures and the exact checks then run once per distinct text: a KB of renamed copies,
    or an article pasted into several folders, costs what its distinct texts cost. Distinct
    numbers follow each group's first member, so pair order and ties are those of the
    unfolded texts."""

    texts: list[str]
    members: list[list[int]]

    @classmethod
    def fold(cls, texts: Iterable[str]) -> Copies:
        first: dict[str, int] = {}
        members: list[list[int]] = []
        for i, text in enumerate(texts):
            u = first.setdefault(text, len(first))
            if u == len(members):
                members.append([])
            members[u].append(i)
        return cls(list(first), members)

    @property
    def weights(self) -> np.ndarray:
        return np.fromiter(map(len, self.members), dtype=np.int64, count=len(self.members))

    def focus(self, focus: Collection[int] | None) -> list[int] | None:
        """The distinct texts with a member in `focus` (None: no focus)."""
        if focus is None:
            return None
        wanted = set(focus)
        return [u for u, m in enumerate(self.members) if not wanted.isdisjoint(m)]

    def near(self, pairs: Iterable[tuple[int, int, float]], eligible: np.ndarray,
             focus: Collection[int] | None = None) -> list[tuple[int, int, float]]:
        """Near pairs of distinct texts as pairs of texts, sorted as `near_duplicates` sorts
        them: every member of one with every member of the other, and the members of each
        `eligible` group with each other at Jaccard 1. `focus` keeps the pairs touching it."""
        out = [(min(x, y), max(x, y), score) for u, v, score in pairs
               for x, y in product(self.members[u], self.members[v])]
        out += [(x, y, 1.0) for u, m in enumerate(self.members) if len(m) > 1 and eligible[u]
                for x, y in combinations(m, 2)]
        out.sort()
        return touching(out, focus)

    def contained(self, found: Iterable[tuple[int, int, float]],
                  focus: Collection[int] | None = None) -> list[tuple[int, int, float]]:
        """(part, whole, score) of distinct texts for each text: every member of a part is
        contained in the whole's first member (the whole an unfolded run would pick, ties
        going to the first pair). `focus` keeps the results touching it."""
        out = [(p, self.members[w][0], score) for u, w, score in found for p in self.members[u]]
        out.sort()
        return touching(out, focus)
