#!/usr/bin/env python3
"""Lexical vs semantic vs hybrid suggest: quality and latency side by side, in one run (issues 8, 13).

Needs the `semantic` extra (`pip install torch==2.13.0 -e '.[semantic]'` on this machine).

Quality (default), on the REPORT halves of the blind dev sets (`--half tune` to look at the
other half; only the tune halves may inform a change): the sample-KB tickets and (with
`--officedocs DIR`, the output of `kbtool import docfx ../shared/data/officedocs-support DIR`)
the OfficeDocs tickets of tests/fixtures/tickets, StackFAQ dev (never fitted) and the golden set.
Each is ranked three ways by the same engine on the same index: `lexical` (BM25F + codes:
Ticket.semantic=False), `semantic` (the model alone: engine.MODEL_ALONE, codes still decisive),
`hybrid` (what kbtool ships); with P@1, MRR, Recall@5, no-answer abstention, the calibration of
the top suggestion per confidence, and per kind. Latency is per ticket, in-process, query
embedding included.

Scale (`--scale 10000`): the generated KB of bench_suggest.py (OfficeDocs-based variants),
indexed with embeddings; prints the index-time embedding cost (seconds, rows/s, per 1,000
articles), the memory (vectors in RAM, file size, peak RSS) and suggest p50/p95 lexical vs
hybrid over generated tickets.

    .venv/bin/python bench/bench_semantic.py --officedocs /tmp/officedocs-kb   # quality, every set
    .venv/bin/python bench/bench_semantic.py --no-quality --scale 10000         # the 10k KB
    (indexes go to bench/out/, or --index-root DIR, and are reused by content hash)
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import kbtool.suggest as S  # noqa: E402
from kbtool import semantic  # noqa: E402
from kbtool.content import load_kb  # noqa: E402
from kbtool.index import Index  # noqa: E402

OUT = REPO / "bench" / "out"
SHARED = REPO.parent / "shared"
MODES = ("lexical", "semantic", "hybrid")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def index_with_embeddings(kb: Path, index_dir: Path) -> tuple[Index, Any, float]:
    """Build (or bring up to date) an index with embeddings; returns the build's report and seconds."""
    idx = Index(index_dir, semantic=True, embed_progress=_progress("embedding"))
    t0 = time.perf_counter()
    report = idx.build(load_kb(kb))
    return idx, report, time.perf_counter() - t0


def _progress(label: str) -> Any:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] > 30:
            last[0] = now
            print(f"#   {label}: {done:,}/{total:,}", file=sys.stderr, flush=True)

    return show


def engine_of(idx: Index) -> S.Engine:
    snap = idx.open()
    try:
        eng = S.Engine.from_snapshot(snap)
    finally:
        snap.close()
    if not eng.semantic:
        sys.exit(f"no semantic engine: {eng.semantic_note}")
    return eng


def run_mode(eng: S.Engine, cases: list[dict[str, Any]], mode: str, audience: str = "public") -> dict[str, Any]:
    """Quality and per-ticket latency of one ranking mode (`semantic`: the model alone, codes still decisive)."""
    old = S.engine.SEMANTIC_WEIGHT  # (read by the engine module: set there)
    S.engine.SEMANTIC_WEIGHT = 1.0 if mode == "semantic" else old
    alone = getattr(S.engine, "MODEL_ALONE", None)
    if alone is not None:
        S.engine.MODEL_ALONE = mode == "semantic"
    try:
        times: list[float] = []
        real = eng.suggest

        def timed(ticket: S.Ticket, snippets: bool = True) -> S.SuggestResult:
            t0 = time.perf_counter()
            r = real(ticket, snippets)
            times.append(time.perf_counter() - t0)
            return r

        eng.suggest = timed  # type: ignore[method-assign]
        try:
            rep = S.evaluate(eng, cases, audience, semantic=mode != "lexical")
        finally:
            del eng.suggest
    finally:
        S.engine.SEMANTIC_WEIGHT = old
        if alone is not None:
            S.engine.MODEL_ALONE = False
    return {"rep": rep, "p50": pct(times, 50) * 1000, "p95": pct(times, 95) * 1000}


def _abst(s: Any) -> str:
    return f"{s.abstained}/{s.no_answer}" if s.no_answer else "-"


def _calib(rep: Any) -> str:
    return ", ".join(f"{c} {ok}/{n}" for c, (n, ok) in rep.calibration.items() if n)


def table(name: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n## {name}\n")
    print("| mode | P@1 | MRR | Recall@5 | no-answer abstained | calibration (right/top) | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, r in rows.items():
        o = r["rep"].overall
        print(f"| {mode} | {o.p_at_1:.3f} | {o.mrr:.3f} | {o.recall_at_5:.3f} | {_abst(o)} | {_calib(r['rep'])} "
              f"| {r['p50']:.1f} | {r['p95']:.1f} |")
    kinds = list(rows["hybrid"]["rep"].by_kind)
    if len(kinds) > 1:
        print("\n| kind | n | " + " | ".join(f"{m} P@1 / MRR / abst." for m in rows) + " |")
        print("|---|---|" + "---|" * len(rows))
        for k in kinds:
            cells = []
            for r in rows.values():
                s = r["rep"].by_kind[k]
                cells.append(f"{s.p_at_1:.3f} / {s.mrr:.3f} / {_abst(s)}" if s.answerable else f"- / - / {_abst(s)}")
            print(f"| {k} | {rows['hybrid']['rep'].by_kind[k].n} | " + " | ".join(cells) + " |")
    if rows["hybrid"]["rep"].unknown:
        print(f"\nunknown expected ids (not scored): {'; '.join(rows['hybrid']['rep'].unknown)}")
    h = rows["hybrid"]["rep"].overall
    verdict = all(h.p_at_1 >= rows[m]["rep"].overall.p_at_1 and h.mrr >= rows[m]["rep"].overall.mrr
                  for m in ("lexical", "semantic") if m in rows)
    print(f"\nhybrid >= lexical and >= semantic alone on P@1 and MRR: {'yes' if verdict else 'NO'}")


def dev_sets(officedocs: Path | None) -> list[tuple[str, Path, Path, str]]:
    """(name, KB, golden file, key) of every dev set found: the blind sets of tests/fixtures/tickets,
    StackFAQ dev (never fitted), and kb/golden.jsonl."""
    tickets = REPO / "tests" / "fixtures" / "tickets"
    sets = [("sample KB blind tickets", REPO / "kb", tickets / "sample-kb.jsonl", "sample-kb")]
    if officedocs is not None:
        sets.append(("OfficeDocs blind tickets (2,448 articles)", officedocs, tickets / "officedocs.jsonl", "officedocs"))
    stack = SHARED / "data" / "stackfaq"
    if stack.is_dir():
        sets.append(("StackFAQ dev (125 articles, 625 questions)", stack / "kb", stack / "dev.jsonl", "stackfaq"))
    else:
        print("# ../shared/data/stackfaq absent: skipping StackFAQ", file=sys.stderr)
    sets.append(("sample KB golden set (written from the articles)", REPO / "kb", REPO / "kb" / "golden.jsonl", "golden"))
    return sets


def quality(officedocs: Path | None, half: str, index_root: Path) -> None:
    built: dict[Path, Index] = {}
    for name, kb, golden, key in dev_sets(officedocs):
        if kb not in built:
            built[kb], report, secs = index_with_embeddings(kb, index_root / f"semantic-{kb.parent.name}-{kb.name}")
            print(f"# {key}: {report.summary()}; {report.semantic_note} ({secs:.1f}s)", file=sys.stderr)
        eng = engine_of(built[kb])
        cases = S.read_golden(golden)
        if any("half" in c for c in cases):
            cases = [c for c in cases if c.get("half") == half]
            name += f", {half} half"
        # the golden and StackFAQ files predate per-ticket audiences: their tickets are agents' (internal)
        audience = "public" if key in ("sample-kb", "officedocs") else "internal"
        rows = {m: run_mode(eng, cases, m, audience) for m in MODES}
        table(f"{name} ({len(cases)} tickets)", rows)


def scale(n: int) -> None:
    import json

    from bench_suggest import build_big_kb, make_tickets

    os.environ.pop("KBTOOL_SEMANTIC", None)  # (bench_suggest turns the model off for its lexical figures)

    root = build_big_kb(OUT / f"kb{n}", n)
    fams = json.loads((root / "families.json").read_text())
    idx_dir = OUT / f"semantic-kb{n}"
    t0 = time.perf_counter()
    idx, report, secs = index_with_embeddings(root / "kb", idx_dir)
    emb_path = idx.open().build / semantic.EMBEDDINGS
    if not emb_path.exists():
        sys.exit(f"no embeddings were built: {report.semantic_note}")
    emb = semantic.Embeddings.load(emb_path)
    print(f"\n## generated {n:,}-article KB\n")
    print(f"- index build: {report.summary()}")
    print(f"- embeddings: {report.semantic_note}")
    if report.embedded:
        rows = len(emb.vectors)
        emb_secs = report.embed_seconds
        print(f"- embedding cost: {rows:,} rows for {report.embedded:,} documents in {emb_secs:.0f} s = "
              f"{rows / emb_secs:.1f} rows/s, {emb_secs / report.embedded * 1000:.0f} s per 1,000 articles "
              f"(total build {time.perf_counter() - t0:.0f} s)")
    print(f"- vectors: {len(emb.vectors):,} rows x {emb.dim} in RAM {emb.vectors.nbytes / 2**20:.1f} MiB (float32); "
          f"{emb_path.stat().st_size / 2**20:.1f} MiB on disk (float16)")
    eng = engine_of(idx)
    cases = make_tickets(root / "kb", fams, 300, 100)
    rows = {m: run_mode(eng, cases, m, "public") for m in MODES}
    table(f"generated {n:,}-article KB: 300 short + 100 long generated tickets, public audience", rows)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (model + engine + vectors): {rss:.0f} MiB")
    print("targets (issue 8): suggest p95 <= 30 ms in-process with the extra at 10,000 articles")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=0, help="also run on a generated KB of this many articles")
    ap.add_argument("--no-quality", action="store_true", help="skip the dev-set quality tables")
    ap.add_argument("--officedocs", type=Path, help="the OfficeDocs corpus imported with `kbtool import docfx`")
    ap.add_argument("--half", choices=("report", "tune"), default="report", help="dev-set half to score")
    ap.add_argument("--index-root", type=Path, default=OUT, help="where the indexes are built (reused)")
    args = ap.parse_args()
    os.environ.pop("KBTOOL_SEMANTIC", None)
    reason = semantic.unavailable_reason()
    if reason:
        sys.exit(f"bench_semantic needs the semantic extra: {reason}")
    print(f"# bench_semantic: python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}, model {semantic.MODEL_NAME}, "
          f"fusion weight {S.SEMANTIC_WEIGHT}")
    t0 = time.perf_counter()
    semantic.model()
    print(f"# model load {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if not args.no_quality:
        quality(args.officedocs, args.half, args.index_root)
    if args.scale:
        scale(args.scale)
    print(f"\n# load average at the end {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
