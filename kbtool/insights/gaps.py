"""Content gaps: tickets that found no answer, grouped by what they are about.

Which tickets: `usage.unanswered_reason` (no answer, only rejected answers, or only
low-confidence ones nobody confirmed), one text per ticket (its redacted stored text;
tickets stored without text are counted, not clustered).

How they are compared: by meaning when the `semantic` extra can run (the index's model,
`semantic.embed`, unit vectors, cosine), else lexically: TF-IDF over the tickets' words
(stemmed like the index, `1 + log tf`, smooth idf; terms in fewer than 2 tickets dropped,
and terms in more than half of them once there are `MAX_DF_FROM` tickets; rows
L2-normalised), cosine as a sparse dot product. Both are computed in row blocks, so 10,000
tickets never need a 10,000² matrix at once.

How they are grouped (deterministic, no k to choose): every ticket's neighbours are those
at cosine >= the method's threshold. The densest ungrouped ticket leads a cluster of its
ungrouped neighbours; kept if it has `MIN_SIZE` tickets. Clusters whose centres are that
close merge, then leftover tickets join the nearest centre within the threshold. A leader
only takes its own neighbours, so one generic ticket cannot chain two topics together (the
weakness of connected components / single linkage).

Each cluster is then described: size and trend (first vs second half of the window), its
top terms (centre weights, shown as the tickets' most common spelling), 3 representative
tickets (nearest the centre), the nearest live article and its cosine, and a suggested title.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import semantic
from ..content import Article
from ..index import analyze
from ..suggest import clean_ticket
from .model import GapAnalysis, GapCluster, GapTicket, NearestArticle, Window
from .usage import Ledger, unanswered_reason

MIN_SIZE = 3
# Measured on the gap test (3 removed sample-KB topics among the golden tickets): lexical
# 0.30-0.35 and semantic 0.55 find all three; lexical 0.25 adds noise clusters, 0.40 splits topics.
THRESHOLD = {"lexical": 0.30, "semantic": 0.55}
BLOCK = 512  # rows per similarity block: 512 x 10,000 float32 is 20 MB
REPRESENTATIVES = 3
MAX_DF_FROM = 20  # fewer tickets: a word they all share is what they share, not noise
TOP_TERMS = 6
_MARKER = re.compile(r"\[[A-Z][A-Z ]*\]")  # redaction markers: [EMAIL], [PHONE], ...
_WORD = re.compile(r"[a-z][a-z0-9]+")
# Words the index keeps (a search for "how do I" should not miss) but that say nothing about
# what a ticket is about; without them, "how do I ..." tickets would cluster by phrasing.
FILLER = frozenset("""
about after again all also am any anyone anything because been before being but could did do does doing done
don dont every get gets getting got had has hello help hi how i im into its just keep keeps know like me my
need needs now our ours please same should since so some still than thanks their them then there these they
thing those too trying very want wants was were what whats where which while who why would yes yesterday
""".split())


def gap_tickets(led: Ledger) -> tuple[list[GapTicket], int]:
    """The unanswered tickets with text, oldest first, and how many had no text."""
    out, without = [], 0
    for t in led.tickets.values():
        reason = unanswered_reason(t)
        if reason is None:
            continue
        subject, _, body = (t.last.ticket_text or "").strip().partition("\n")
        text = clean_ticket(subject, body).strip()  # no HTML, quotes, signatures or disclaimers
        if not text:
            without += 1
            continue
        out.append(GapTicket(t.key, subject.strip() or text.split("\n", 1)[0], text, t.first, reason))
    return out, without


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str | None:
    terms = analyze(word)
    return terms[0] if terms else None


def words(text: str) -> list[tuple[str, str]]:
    """(stem, spelling) of each content word: stop words and redaction markers dropped."""
    out = []
    for w in _WORD.findall(_MARKER.sub(" ", text).lower()):
        s = None if w in FILLER else _stem(w)
        if s is not None:
            out.append((s, w))
    return out


@dataclass
class Lexical:
    """The TF-IDF space of one set of tickets."""

    vocab: dict[str, int]
    idf: np.ndarray
    spelling: list[str]  # per term: its most common spelling in the tickets

    @classmethod
    def fit(cls, texts: list[list[tuple[str, str]]]) -> Lexical:
        df: Counter[str] = Counter()
        spell: dict[str, Counter[str]] = {}
        for ws in texts:
            df.update({s for s, _ in ws})
            for s, w in ws:
                spell.setdefault(s, Counter())[w] += 1
        n = len(texts)
        kept = sorted(s for s, d in df.items() if d >= 2 and (d <= n // 2 or n < MAX_DF_FROM))
        idf = np.array([np.log((1 + n) / (1 + df[s])) + 1.0 for s in kept], dtype=np.float32)
        return cls({s: i for i, s in enumerate(kept)}, idf, [spell[s].most_common(1)[0][0] for s in kept])

    def transform(self, texts: list[list[tuple[str, str]]]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for r, ws in enumerate(texts):
            tf = Counter(self.vocab[s] for s, _ in ws if s in self.vocab)
            for c, k in tf.items():
                rows.append(r)
                cols.append(c)
                vals.append((1.0 + np.log(k)) * self.idf[c])
        m = sp.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(len(texts), len(self.vocab)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m)


def neighbours(x: sp.csr_matrix | np.ndarray, threshold: float, block: int = BLOCK) -> list[np.ndarray]:
    """For each row, the other rows at cosine >= threshold (rows are unit length)."""
    xt = sp.csr_matrix(x.T) if sp.issparse(x) else x.T
    out: list[np.ndarray] = []
    for start in range(0, x.shape[0], block):
        sims = x[start:start + block] @ xt
        sims = sims.toarray() if sp.issparse(sims) else np.asarray(sims)
        for r in range(sims.shape[0]):
            row = np.flatnonzero(sims[r] >= threshold)
            out.append(row[row != start + r])
    return out


def leader_clusters(neigh: list[np.ndarray], min_size: int = MIN_SIZE) -> np.ndarray:
    """Cluster label per row (-1: none), densest leaders first (see the module docstring)."""
    density = np.array([len(n) for n in neigh])
    label = np.full(len(neigh), -1)
    k = 0
    for i in np.lexsort((np.arange(len(neigh)), -density)).tolist():
        if label[i] >= 0 or density[i] < min_size - 1:
            continue
        members = [i, *(j for j in neigh[i].tolist() if label[j] < 0)]
        if len(members) >= min_size:
            label[members] = k
            k += 1
    return label


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def centres(x: sp.csr_matrix | np.ndarray, label: np.ndarray) -> np.ndarray:
    """Unit mean vector of each cluster, one row per label 0..k-1."""
    k = int(label.max()) + 1 if len(label) and label.max() >= 0 else 0
    out = np.zeros((k, x.shape[1]), dtype=np.float32)
    for c in range(k):
        rows = x[np.flatnonzero(label == c)]
        out[c] = _unit(np.asarray(rows.mean(axis=0)).ravel())
    return out


def refine(x: sp.csr_matrix | np.ndarray, label: np.ndarray, threshold: float) -> np.ndarray:
    """Merge clusters whose centres are within `threshold`, then let leftover rows join the
    nearest centre within it; labels renumbered by size (largest first)."""
    c = centres(x, label)
    if not len(c):
        return label
    sim = c @ c.T
    merged = np.arange(len(c))
    for a in range(len(c)):  # greedy, in label order: deterministic
        for b in range(a + 1, len(c)):
            if sim[a, b] >= threshold and merged[b] == b:
                merged[b] = merged[a]
    label = _renumber(np.where(label >= 0, merged[np.maximum(label, 0)], -1))
    c = centres(x, label)
    loose = np.flatnonzero(label < 0)
    if len(loose) and len(c):
        s = x[loose] @ c.T
        s = np.asarray(s.toarray() if sp.issparse(s) else s)
        best = s.argmax(axis=1)
        ok = s[np.arange(len(loose)), best] >= threshold
        label[loose[ok]] = best[ok]
    return _renumber(label)


def _renumber(label: np.ndarray) -> np.ndarray:
    sizes = Counter(label[label >= 0].tolist())
    order = {old: new for new, (old, _) in enumerate(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))}
    return np.array([order.get(v, -1) for v in label.tolist()], dtype=np.int64)


def _article_text(a: Article) -> str:
    return " ".join([a.title, a.title, " ".join(a.aliases), a.summary, a.body])


def _method(wanted: str) -> tuple[str, str | None]:
    if wanted == "lexical":
        return "lexical", None
    reason = semantic.unavailable_reason()
    if reason is None:
        return "semantic", None
    if wanted == "semantic":
        raise ValueError(f"semantic clustering unavailable: {reason}")
    return "lexical", f"lexical clustering: {reason}"


def cluster_gaps(tickets: list[GapTicket], articles: list[Article], window: Window, *, method: str = "auto",
                 threshold: float | None = None, min_size: int = MIN_SIZE, without_text: int = 0) -> GapAnalysis:
    """Cluster unanswered tickets; see the module docstring. `articles`: the live articles a
    cluster may be nearest to. `method`: "auto" (semantic if available), "semantic", "lexical"."""
    used, note = _method(method)
    if len(tickets) < min_size:
        return GapAnalysis(used, note, len(tickets), without_text, 0, [])
    toks = [words(t.text) for t in tickets]
    lex = Lexical.fit(toks)
    x_lex = lex.transform(toks)
    if used == "semantic":
        try:
            x: sp.csr_matrix | np.ndarray = semantic.embed([t.text for t in tickets])
            art = semantic.embed([f"{a.title}. {a.summary}" for a in articles]) if articles else None
        except semantic.SemanticUnavailable as e:
            used, note = "lexical", f"lexical clustering: {e}"
    if used == "lexical":
        x = x_lex
        art = lex.transform([words(_article_text(a)) for a in articles]) if articles else None
    tau = THRESHOLD[used] if threshold is None else threshold
    label = refine(x, leader_clusters(neighbours(x, tau), min_size), tau)
    c = centres(x, label)
    c_lex = centres(x_lex, label)
    clusters = [_describe(tickets, np.flatnonzero(label == k), x, c[k], c_lex[k], lex, articles, art, window)
                for k in range(len(c))]
    clusters = [g for g in clusters if g.size >= min_size]
    return GapAnalysis(used, note, len(tickets), without_text, sum(g.size for g in clusters), clusters)


def _describe(tickets: list[GapTicket], members: np.ndarray, x: sp.csr_matrix | np.ndarray, centre: np.ndarray,
              centre_lex: np.ndarray, lex: Lexical, articles: list[Article],
              art: sp.csr_matrix | np.ndarray | None, window: Window) -> GapCluster:
    sims = x[members] @ centre
    near = members[np.argsort(-np.asarray(sims).ravel(), kind="stable")][:REPRESENTATIVES]
    reps = [tickets[i] for i in near.tolist()]
    terms = [lex.spelling[t] for t in np.argsort(-centre_lex, kind="stable")[:TOP_TERMS].tolist() if centre_lex[t] > 0]
    nearest = None
    if art is not None and articles:
        a_sims = np.asarray(art @ centre).ravel()
        best = int(a_sims.argmax())
        nearest = NearestArticle(articles[best].id, articles[best].title, round(float(a_sims[best]), 3))
    mid = window.since + (window.until - window.since) / 2
    first = sum(tickets[i].time < mid for i in members.tolist())
    second = len(members) - first
    trend = ("rising" if second >= 1.5 * first + 2 else "falling" if first >= 1.5 * second + 2 else "steady")
    return GapCluster(size=len(members), first_half=first, second_half=second, trend=trend, top_terms=terms,
                      suggested_title=suggested_title(reps[0].subject if reps else "", terms), representatives=reps,
                      nearest=nearest, ticket_keys=[tickets[i].key for i in members.tolist()])


def suggested_title(subject: str, terms: list[str]) -> str:
    """The most central ticket's subject when it says something (3+ words), sentence-cased;
    else its top terms. A starting point for the writer, not a finished title."""
    clean = " ".join(_MARKER.sub("", subject).split()).strip(" ?!.:-")
    if len(clean.split()) >= 3:
        return clean[0].upper() + clean[1:]
    return (" ".join(terms[:3]) or clean or "Untitled gap").capitalize()


__all__ = ["MIN_SIZE", "THRESHOLD", "Lexical", "cluster_gaps", "gap_tickets", "leader_clusters", "neighbours",
           "refine", "suggested_title", "words"]
