"""Memory of `kbtool serve --workers N` at 10,000 and 50,000 real-text articles: forked
workers sharing the engine the supervisor loaded, against spawned workers each loading its
own (`KBTOOL_SERVE_FORK=0`, the peer) in the same run.

    .venv/bin/python bench/bench_serve_memory.py [--sizes 10000,50000] [--workers 2] [--requests 2000]

The KBs are bench_lint.py's (the OfficeDocs corpus in four variants at 10,000; five renamed
copies of that at 50,000), kept in its work folder; each gets a lexical index once. For each
way of starting workers the server comes up on a free 127.0.0.1 port, answers `--requests`
suggestions (tickets made of words of random article titles, a new connection each, so the
kernel spreads them over the workers), and then every process of it is read from
/proc/PID/smaps_rollup: RSS (shared pages counted in every process that maps them) and PSS
(each shared page split between its sharers: what the server costs the machine, summed).
Target (issue 17): the server at 50,000 articles within 800 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_api import _children, free_port  # noqa: E402
from bench_lint import replicated_kb  # noqa: E402
from bench_suggest import OFFICEDOCS, build_big_kb  # noqa: E402

KBTOOL = [sys.executable, "-m", "kbtool"]


def project(work: Path, size: int) -> Path:
    """A project folder (kbtool.toml + lexical index) over bench_lint's KB of `size` articles."""
    ten = build_big_kb(work / "kb10000", 10_000) / "kb"
    kb = ten if size == 10_000 else replicated_kb(ten, work / f"kb{size}", size // 10_000)
    root = work / f"serve{size}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "kbtool.toml").write_text(f'kb = "{kb}"\nindex_dir = ".kbtool/index"\n', encoding="utf-8")
    if not (root / ".kbtool" / "index").is_dir():
        subprocess.run([*KBTOOL, "index", "--no-semantic"], cwd=root, check=True)
    return root


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB."""
    got = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        got[key] = int(value.split()[0])
    return got["Rss"], got["Pss"]


def titles(kb: Path, n: int = 3000) -> list[str]:
    out = []
    for f in sorted((kb / "articles").glob("*.md"))[:n]:
        for line in f.read_text(encoding="utf-8").splitlines()[:8]:
            if line.startswith("title:"):
                out.append(line.split(":", 1)[1].strip().strip('"'))
    return out


def measure(root: Path, workers: int, fork: bool, requests: int, subjects: list[str]) -> None:
    port = free_port()
    env = {**os.environ, "KBTOOL_EVENTS": "off", "KBTOOL_SEMANTIC": "0", "KBTOOL_SERVE_FORK": "1" if fork else "0"}
    env.pop("KBTOOL_API_TOKEN", None)
    log = open(root / "serve.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen([*KBTOOL, "serve", "--port", str(port), "--workers", str(workers)], cwd=root, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"kbtool serve exited: see {root / 'serve.log'}")
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        up = time.perf_counter() - t0
        rng = random.Random(17)
        for _ in range(requests):
            words = rng.choice(subjects).split()
            subject = " ".join(rng.sample(words, max(1, len(words) * 2 // 3)))
            r = httpx.post(f"{url}/v1/suggest", json={"subject": subject}, headers={"Connection": "close"}, timeout=30)
            r.raise_for_status()
        pids = [proc.pid, *_children(proc.pid)]
        mem = [memory(pid) for pid in pids]
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    per = ", ".join(f"{rss // 1024}/{pss // 1024}" for rss, pss in mem)
    print(f"  {'forked' if fork else 'spawned':<8} up in {up:5.1f} s   RSS summed {sum(r for r, _ in mem) // 1024:>5} MB"
          f"   PSS {sum(p for _, p in mem) // 1024:>5} MB   (RSS/PSS MB per process, supervisor first: {per})",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=2000, help="suggestions answered before memory is read")
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "lint", help="bench_lint.py's work folder")
    args = ap.parse_args()
    if not OFFICEDOCS.is_dir():
        sys.exit(f"bench_serve_memory: the OfficeDocs corpus is not at {OFFICEDOCS}")
    print(f"# bench_serve_memory: {os.cpu_count()} CPUs, {args.workers} workers, {args.requests} requests each")
    for size in (int(s) for s in args.sizes.split(",")):
        root = project(args.work, size)
        kb = Path((root / "kbtool.toml").read_text().split('"')[1])
        print(f"{size} articles:")
        subjects = titles(kb)
        for fork in (True, False):
            measure(root, args.workers, fork, args.requests, subjects)


if __name__ == "__main__":
    main()
