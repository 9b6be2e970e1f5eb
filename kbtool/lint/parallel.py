"""The per-article pass over a big KB, shared with forked worker processes.

Most of lint's time goes on checks that read one article at a time (secrets, links,
lines, structure), and each article's findings depend only on the loaded KB. On a machine
with more than one core, a big run forks workers that inherit the loaded KB (no copy, no
re-parsing) and take chunks of articles from a shared counter, so a slow chunk on one side
does not leave the other idle; the parent meanwhile runs the cross-file checks, then takes
chunks too. Each chunk's output travels back as plain data and is merged in article order,
so the result is the same finding for finding, in the same order, as a serial run.

A worker that fails or dies only costs time: the parent runs the chunks that did not come
back itself. Workers are forked only where forking is safe and cheap: Linux, one thread in
the process, and enough articles for the fork to pay off.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..processes import Forked, can_fork, usable_cores
from .result import Finding

if TYPE_CHECKING:
    from ..content import Article
    from .checks import LintContext

CHUNK = 48  # articles per claim: small enough to balance, big enough that claims are rare
MIN_ARTICLES = 2000  # below this a fork (about 10 ms, plus the merge) does not pay off

WireMessage = tuple[Path, str, str, int, int]  # a CodeMessage with its article as a path
Begin = Callable[[Sequence["Article"]], None]


@dataclass
class Part:
    """What the per-article checks of one chunk left in the context. A worker sends its
    findings as tuples (`wire`): a frozen dataclass pickles several times slower."""

    findings: list[Finding] = field(default_factory=list)
    suppressions: dict[Path, list[str]] = field(default_factory=dict)
    folded: dict[Path, int] = field(default_factory=dict)
    code_messages: list[WireMessage] = field(default_factory=list)
    wire: list[tuple[Any, ...]] = field(default_factory=list)

    def packed(self, index: dict[Path, int]) -> Part:
        """Findings as tuples, their paths as numbers in `index` where they are there (a
        Path unpickles slowly: 50 us each, a third of a second for 10,000 articles)."""
        def enc(p: Path) -> Path | int:
            return index.get(p, p)
        self.wire = [(enc(f.path), f.line, f.column, f.code, f.severity, f.message, f.rel_path,
                      tuple(map(enc, f.refs)), f.key, f.fixable, f.end_line, f.end_column) for f in self.findings]
        self.findings = []
        return self

    def unpacked(self, paths: Sequence[Path]) -> Part:
        def dec(p: Path | int) -> Path:
            return paths[p] if isinstance(p, int) else p
        self.findings.extend(
            Finding(dec(path), line, col, code, sev, msg, rel, tuple(map(dec, refs)), key, fixable, end_line, end_col)
            for path, line, col, code, sev, msg, rel, refs, key, fixable, end_line, end_col in self.wire)
        self.wire = []
        return self


def workers(jobs: int | None, articles: int) -> int:
    """How many processes the pass uses: `jobs` if given (1 = serial), else every usable
    core (at most 4) when `MIN_ARTICLES` or more are checked in full. Never more than one
    where forking is unsafe (not Linux, or threads running)."""
    if (jobs is not None and jobs <= 1) or not can_fork():
        return 1
    cores = usable_cores()
    if jobs is None:
        return min(cores, 4) if articles >= MIN_ARTICLES else 1
    return max(1, min(jobs, cores, max(1, articles // CHUNK)))


def each_article(ctx: LintContext, articles: Sequence[Article], check: Callable[[Article], None],
                 meanwhile: Callable[[], None], *, begin: Begin | None = None, jobs: int | None = None,
                 work: int | None = None) -> None:
    """`check(a)` for every article, then `meanwhile()`, into `ctx` as a serial run leaves
    them; with more than one process, `meanwhile` runs in the parent while workers start.
    `begin(articles)`, if given, readies the checks for the articles about to be checked
    (all, or each chunk); `work` is how many of them are checked in full (default: all)."""
    n = workers(jobs, len(articles) if work is None else work)
    if n < 2:
        if begin is not None:
            begin(articles)
        for a in articles:
            check(a)
        meanwhile()
        return
    chunks = [articles[i:i + CHUNK] for i in range(0, len(articles), CHUNK)]
    before = _take(ctx)
    counter = multiprocessing.get_context("fork").Value("i", 0)

    def claim() -> int | None:
        with counter.get_lock():
            k = int(counter.value)
            if k >= len(chunks):
                return None
            counter.value = k + 1
        return k

    children = [Forked(partial(_worker, ctx, chunks, check, begin, claim)) for _ in range(n - 1)]
    parts: dict[int, Part] = {}
    try:
        meanwhile()
        after = _take(ctx)
        while (k := claim()) is not None:
            parts[k] = _run_chunk(ctx, chunks[k], check, begin)
    except BaseException:  # a bug or Ctrl-C here: no worker may outlive the run, blocked on its send
        for child in children:
            child.stop()
        raise
    paths = [a.path for a in ctx.kb.articles]
    for child in children:
        parts.update({k: part.unpacked(paths) for k, part in (child.result() or {}).items()})
    for k, chunk in enumerate(chunks):
        if k not in parts:  # a worker failed: its chunks are done here
            parts[k] = _run_chunk(ctx, chunk, check, begin)
    by_path = {a.path: a for a in articles}
    for part in (before, *(parts[k] for k in range(len(chunks))), after):
        _merge(ctx, part, by_path)


def _worker(ctx: LintContext, chunks: list[Sequence[Article]], check: Callable[[Article], None],
            begin: Begin | None, claim: Callable[[], int | None]) -> dict[int, Part]:
    """A forked worker: chunks until none is left, then every chunk's part, packed. If it
    fails, nothing comes back: the parent redoes what this worker claimed and meets a real
    error itself, as a serial run would."""
    index = {a.path: i for i, a in enumerate(ctx.kb.articles)}
    done = {}
    while (k := claim()) is not None:
        done[k] = _run_chunk(ctx, chunks[k], check, begin).packed(index)
    return done


def _run_chunk(ctx: LintContext, chunk: Sequence[Article], check: Callable[[Article], None],
               begin: Begin | None) -> Part:
    if begin is not None:
        begin(chunk)
    for a in chunk:
        check(a)
    return _take(ctx)


def _take(ctx: LintContext) -> Part:
    """Move what the checks left in `ctx` into a `Part` (code messages by article path, so
    a part pickles without its articles), leaving `ctx` empty."""
    wire = [(m.article.path, m.code, m.message, m.line, m.column)
            for uses in ctx.code_messages.values() for m in uses]
    part = Part(ctx.findings, ctx.suppressions, ctx.folded, wire)
    ctx.findings, ctx.suppressions, ctx.folded, ctx.code_messages = [], {}, {}, {}
    return part


def _merge(ctx: LintContext, part: Part, by_path: dict[Path, Article]) -> None:
    from .consistency import CodeMessage, add_code_message

    ctx.findings.extend(part.findings)
    ctx.suppressions.update(part.suppressions)
    for path, count in part.folded.items():
        ctx.folded[path] = ctx.folded.get(path, 0) + count
    for path, code, message, line, column in part.code_messages:
        add_code_message(ctx, CodeMessage(by_path[path], code, message, line, column))
