"""Benchmark `kbtool lint` on real text: the OfficeDocs corpus, and 10,000 (and, with
`--50k`, 50,000) articles made of it, in one run.

    .venv/bin/python bench/bench_lint.py [--50k] [--work DIR] [--repeat 2] [--no-changed]

- OfficeDocs: `kbtool import docfx ../shared/data/officedocs-support` (2,448 articles) once
  into the work folder, then linted (target: <= 2 s).
- 10k: `bench_suggest.build_big_kb` (four variants of each OfficeDocs article, the KB the
  issue measured at 9,800 articles; cached in the work folder); 50k: five renamed copies of
  it. Linted with every default rule (targets: <= 3 s at 10k, <= 15 s at 50k).
- `--changed` at 10k: one file edited, lint reporting on that file only (target: <= 1 s of
  lint; loading the KB is the loader's cost and is printed apart): with no cache
  (`--no-cache`), with none yet but writing it (a fresh checkout's first run), and warm.

Each is linted three ways: as `kbtool lint` runs it on a fresh checkout (the per-article
checks shared with forked workers on a big KB, no lint cache yet: the targets are for
this, in wall-clock seconds); the same with a warm lint cache (`cache_dir`: a second run,
as in an author's checkout or a CI job that keeps `.kbtool/cache`); and, as the peer in
the same run, in one process with no cache (`jobs=1`). Wall-clock and CPU seconds (the
workers' included) are printed for each, best of `--repeat` by wall-clock, with the
findings per rule. Every way must give the same findings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_suggest import OFFICEDOCS, build_big_kb  # noqa: E402

from kbtool.config import Config, load_config  # noqa: E402
from kbtool.content import KB, load_kb  # noqa: E402
from kbtool.importers import import_docfx  # noqa: E402
from kbtool.lint import LintResult, gc_paused, run_lint  # noqa: E402

TODAY = date(2026, 11, 23)


def _cpu() -> float:
    """CPU seconds of this process and of its finished (waited-for) children: lint's forked
    workers are joined before it returns."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Timer:
    """Wall-clock and CPU seconds of a block."""

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = _cpu() - self._c

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall {self.cpu:6.2f} s cpu"


def officedocs_kb(work: Path) -> Path:
    """The DocFX import of the corpus (once; reused while the folder exists)."""
    dest = work / "officedocs" / "kb"
    if not (dest / "articles").is_dir():
        import_docfx(OFFICEDOCS, dest)
    return dest


def replicated_kb(src: Path, dest: Path, copies: int) -> Path:
    """`copies` renamed copies of the 10k KB (ids, links and references prefixed `rN-`):
    real text at 50k with the 10k's findings in five copies (`build_big_kb` at 50,000 would
    be twenty variants of each OfficeDocs article, a KB of a different shape)."""
    kb = dest / "kb"
    marker = dest / "copies.txt"
    if marker.is_file() and marker.read_text() == f"{src} {copies}":
        return kb
    for n in range(copies):
        for folder in ("articles", "runbooks"):
            out = kb / folder
            out.mkdir(parents=True, exist_ok=True)
            for f in (src / folder).glob("*.md"):
                text = f.read_text(encoding="utf-8").replace("od-", f"r{n}-od-")
                (out / f"r{n}-{f.name}").write_text(text, encoding="utf-8")
    marker.write_text(f"{src} {copies}")
    return kb


def best_lint(kb: KB, cfg: Config, repeat: int, **kw: object) -> tuple[Timer, LintResult]:
    best: tuple[Timer, LintResult] | None = None
    for _ in range(repeat):
        with gc_paused(), Timer() as t:
            result = run_lint(kb, cfg, today=TODAY, **kw)  # type: ignore[arg-type]
        if best is None or t.wall < best[0].wall:
            best = (t, result)
    assert best is not None
    return best


def measure(name: str, kb_dir: Path, repeat: int, cache: Path) -> tuple[KB, Config]:
    cfg = load_config(cwd=kb_dir.parent, kb=kb_dir)
    with gc_paused(), Timer() as t_load:
        kb = load_kb(kb_dir)
    t, result = best_lint(kb, cfg, repeat)
    run_lint(kb, cfg, today=TODAY, cache_dir=cache)  # fills the cache
    tw, warm = best_lint(kb, cfg, repeat, cache_dir=cache)
    t1, serial = best_lint(kb, cfg, repeat, jobs=1)
    assert serial.findings == result.findings == warm.findings, "the workers or the cache changed the findings"
    top = dict(Counter(f.code for f in result.findings).most_common(8))
    print(f"{name:<11} {len(kb.articles):>6} articles  load {t_load}   lint {t}   {top}", flush=True)
    print(f"{'':<11} {'':>6}            warm cache: lint {tw}", flush=True)
    print(f"{'':<11} {'':>6}           one process: lint {t1}", flush=True)
    return kb, cfg


def measure_changed(kb: KB, cfg: Config, repeat: int, cache: Path) -> None:
    """`--changed` on one edited file: lint time with the report focused on it (the cache
    is warm from `measure`: the one file's text is new to it, as after an edit)."""
    one = kb.articles[len(kb.articles) // 2]
    t, result = best_lint(kb, cfg, repeat, changed=[one.path])
    fresh = cache.with_name("fresh-cache")  # a fresh checkout's `kbtool lint --changed`: it writes the cache
    tc: Timer | None = None
    for _ in range(repeat):
        shutil.rmtree(fresh, ignore_errors=True)
        t1, cold = best_lint(kb, cfg, 1, changed=[one.path], cache_dir=fresh)
        tc = t1 if tc is None or t1.wall < tc.wall else tc
    shutil.rmtree(fresh, ignore_errors=True)
    one.body += "\nOne more line, as an author's edit would add.\n"
    tw, warm = best_lint(kb, cfg, 1, changed=[one.path], cache_dir=cache)  # one run: the edit is new once
    assert cold.findings == result.findings, "the cache changed the findings"
    print(f"{'--changed':<11} {'1':>6} file      lint {t}   findings on or about it: {len(result.findings)}")
    print(f"{'':<11} {'':>6}  no cache, writing it: lint {tc}")
    print(f"{'':<11} {'':>6}            warm cache: lint {tw}   findings: {len(warm.findings)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "lint", help="where the KBs are kept")
    ap.add_argument("--50k", dest="fifty", action="store_true", help="also lint 50,000 articles (slow to generate)")
    ap.add_argument("--repeat", type=int, default=2, help="best of N lint runs (default 2)")
    ap.add_argument("--no-changed", action="store_true", help="skip the --changed measurement")
    args = ap.parse_args()
    if not OFFICEDOCS.is_dir():
        sys.exit(f"bench_lint: the OfficeDocs corpus is not at {OFFICEDOCS}")
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.2f} (other processes compete for the cores)")
    cache = args.work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    measure("OfficeDocs", officedocs_kb(args.work), args.repeat, cache)
    ten = build_big_kb(args.work / "kb10000", 10_000) / "kb"
    kb, cfg = measure("10k", ten, args.repeat, cache)
    if not args.no_changed:
        measure_changed(kb, cfg, args.repeat, cache)
    del kb
    if args.fifty:
        measure("50k", replicated_kb(ten, args.work / "kb50000", 5), 1, cache)


if __name__ == "__main__":
    main()
