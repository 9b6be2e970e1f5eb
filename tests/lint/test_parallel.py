"""The per-article pass shared with forked workers (`run_lint(jobs=...)`): the same findings,
in the same order, as one process, however the chunks fall, and when a worker fails or dies.

Lint never forks while other threads run (a fork copies whatever lock another thread holds),
and a test session has some (the API tests' live server), so each scenario runs in a fresh
Python process of its own: the real fork, the real pipe, the real merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from kbtool import processes
from kbtool.lint import Finding, parallel

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")

REPO = Path(__file__).resolve().parents[2]

# Lints the fixture KB once in one process, then runs the scenario's code; `out` is printed
# as JSON. Chunks of two articles spread the fixture KB (about 90 files) over both processes.
_HEAD = """
import json, multiprocessing, os, sys, threading
from datetime import date
from pathlib import Path
from kbtool.config import load_config
from kbtool.content import load_kb
from kbtool.lint import checks, parallel, run_lint

parallel.CHUNK = 2
kb_dir, empty, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
cfg = load_config(cwd=empty, kb=kb_dir)
parent = os.getpid()


def lint(jobs):
    return run_lint(load_kb(kb_dir), cfg, today=date(2026, 11, 23), jobs=jobs)


def rows(result):
    return [[str(v) for v in f.__dict__.values()] for f in result.findings]


real_chunk = parallel._run_chunk


def logged_chunk(*args):
    with log.open("a") as fh:  # each process appends its pid, once per chunk it runs
        fh.write(f"{os.getpid()}\\n")
    return real_chunk(*args)


parallel._run_chunk = logged_chunk
serial = lint(1)
log.unlink(missing_ok=True)
out = {"threads": threading.active_count()}
"""


def scenario(code: str, fixture_kb: Path, tmp_path: Path) -> tuple[dict[str, Any], str, list[str]]:
    """(the scenario's `out`, its stderr, the pids that ran chunks)."""
    (tmp_path / "empty").mkdir()
    log = tmp_path / "pids"
    script = _HEAD + textwrap.dedent(code) + "\nprint(json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", script, str(fixture_kb), str(tmp_path / "empty"), str(log)],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    pids = log.read_text().split() if log.exists() else []
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, pids


def test_workers_give_the_serial_findings_in_order(fixture_kb: Path, tmp_path: Path) -> None:
    out, _, pids = scenario("""
        r = lint(2)
        out.update(same=rows(r) == rows(serial), n=len(r.findings), codes=sorted({f.code for f in r.findings}),
                   counts=[r.files, r.suppressed, serial.files, serial.suppressed], parent=parent)
    """, fixture_kb, tmp_path)
    assert out["threads"] == 1
    assert len(set(pids)) == 2 and str(out["parent"]) in pids  # both processes took chunks
    assert out["n"] > 50 and {"KB005", "KB401", "KB501", "KB604", "KB801"} <= set(out["codes"])
    assert out["same"]
    assert out["counts"][:2] == out["counts"][2:]


def test_findings_from_the_worker_keep_their_paths(fixture_kb: Path, tmp_path: Path) -> None:
    """Paths travel as article numbers and come back as the KB's own Path objects; refs to
    files that are not articles (a missing link target) travel as paths."""
    out, _, pids = scenario("""
        kb = load_kb(kb_dir)
        r = run_lint(kb, cfg, today=date(2026, 11, 23), jobs=2)
        paths = {a.path for a in kb.articles}
        missing = [ref for f in r.findings if f.code == "KB401" for ref in f.refs]
        out.update(on_articles=all(f.path in paths or f.code.startswith("KB0") for f in r.findings),
                   missing=len(missing), missing_ok=all(isinstance(m, Path) and not m.exists() for m in missing))
    """, fixture_kb, tmp_path)
    assert len(set(pids)) == 2
    assert out["on_articles"] and out["missing"] and out["missing_ok"]


def test_a_failing_worker_costs_time_not_findings(fixture_kb: Path, tmp_path: Path) -> None:
    out, err, pids = scenario("""
        real_style = checks.check_style

        def style(ctx, a):
            if os.getpid() != parent:
                raise RuntimeError("a bug that only bites in the worker")
            real_style(ctx, a)

        checks.check_style = style
        out.update(same=rows(lint(2)) == rows(serial))
    """, fixture_kb, tmp_path)
    assert len(set(pids)) == 2 and out["same"]
    assert "Traceback" not in err  # the worker's failure is not the user's


def test_a_worker_that_dies_costs_time_not_findings(fixture_kb: Path, tmp_path: Path) -> None:
    out, _, pids = scenario("""
        real_lines = checks.check_lines
        seen = []

        def lines(ctx, a):
            seen.append(1)
            if os.getpid() != parent and len(seen) > 3:
                os._exit(9)  # killed mid-run: no message, no cleanup
            real_lines(ctx, a)

        checks.check_lines = lines
        out.update(same=rows(lint(2)) == rows(serial))
    """, fixture_kb, tmp_path)
    assert len(set(pids)) == 2 and out["same"]


def test_a_bug_in_a_check_still_surfaces(fixture_kb: Path, tmp_path: Path) -> None:
    """The parent redoes a failed worker's chunks, so an error every process hits is raised
    as in a serial run, not swallowed."""
    out, _, _ = scenario("""
        def broken(ctx, a):
            raise RuntimeError("broken check")

        checks.check_style = broken
        try:
            lint(2)
            out["raised"] = None
        except RuntimeError as e:
            out["raised"] = str(e)
    """, fixture_kb, tmp_path)
    assert out["raised"] == "broken check"


def test_no_worker_outlives_a_failing_parent(fixture_kb: Path, tmp_path: Path) -> None:
    """The parent fails in its own part (a bug only it hits, or Ctrl-C): the workers are
    stopped, not left blocked on sending what no one will read."""
    out, _, pids = scenario("""
        import time

        real_lines = checks.check_lines

        def lines(ctx, a):  # a slow worker: still busy when the parent fails
            if os.getpid() != parent:
                time.sleep(0.05)
            real_lines(ctx, a)

        def near(self):
            if os.getpid() == parent:
                time.sleep(0.3)
                raise KeyboardInterrupt

        checks.check_lines = lines
        checks.NearDuplicates.check = near
        try:
            lint(2)
            out["interrupted"] = False
        except KeyboardInterrupt:
            out["interrupted"] = True
        out["children"] = len(multiprocessing.active_children())
    """, fixture_kb, tmp_path)
    assert out["interrupted"] and out["children"] == 0
    assert pids  # the worker had started on its chunks


def test_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.threading, "active_count", lambda: 1)  # as in a CLI run
    cores = len(os.sched_getaffinity(0))
    assert parallel.workers(1, 50_000) == 1
    assert parallel.workers(None, parallel.MIN_ARTICLES - 1) == 1  # too small to pay for a fork
    assert parallel.workers(None, 50_000) == min(cores, 4)
    assert parallel.workers(8, 50_000) == min(8, cores)
    assert parallel.workers(2, 10) == 1  # fewer articles than one chunk


def test_no_fork_while_other_threads_run() -> None:
    """Forking a process with threads can copy a lock another thread holds: serial instead."""
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert parallel.workers(2, 50_000) == 1
    finally:
        stop.set()
        t.join()


def test_findings_are_plain_data_on_the_wire() -> None:
    f = Finding(Path("/kb/a.md"), 3, 4, "KB401", "error", "msg", "a.md", (Path("/kb/b.md"), Path("/x")), "k",
                True, 3, 9)
    part = parallel.Part(findings=[f]).packed({Path("/kb/a.md"): 0, Path("/kb/b.md"): 1})
    assert part.findings == [] and part.wire[0][0] == 0 and part.wire[0][7] == (1, Path("/x"))
    back = part.unpacked([Path("/kb/a.md"), Path("/kb/b.md")]).findings
    assert back == [f]


_SHARED_SHINGLING = """
from kbtool.lint import cache

parallel.MIN_ARTICLES = 10  # the fixture KB counts as big: a full per-article pass would fork
cache.MIN_SPLIT = 10
real_compute = cache._compute
shingled_by = log.with_name("shingled")


def logged_compute(texts, ordered):
    with shingled_by.open("a") as fh:
        fh.write(f"{os.getpid()} {len(texts)}\\n")
    return real_compute(texts, ordered)


cache._compute = logged_compute
kb = load_kb(kb_dir)
changed = [a.path for a in kb.articles if "kb501" in a.path.name][:1]
"""


def test_changed_shares_the_shingling_with_a_forked_child(fixture_kb: Path, tmp_path: Path) -> None:
    """`--changed` checks a few files, so a free core shingles most of the KB's texts
    meanwhile: the same findings, with or without a cache, as shingling in one process."""
    out, _, _ = scenario(_SHARED_SHINGLING + textwrap.dedent("""
    out["same"] = []
    for cache_dir in (None, empty / "cache", empty / "cache"):  # none, a cold cache, a warm one
        shingled_by.unlink(missing_ok=True)
        one = run_lint(kb, cfg, today=date(2026, 11, 23), changed=changed, jobs=1)
        alone = shingled_by.read_text().split()
        shingled_by.unlink()
        two = run_lint(kb, cfg, today=date(2026, 11, 23), changed=changed, cache_dir=cache_dir)
        out["same"].append(rows(one) == rows(two) and bool(two.findings))
        out.setdefault("pids", []).append(sorted({line.split()[0] for line in shingled_by.read_text().splitlines()}))
        out.setdefault("alone", []).append(len(set(alone[0::2])))
    """), fixture_kb, tmp_path)
    assert out["same"] == [True, True, True]
    assert [len(p) for p in out["pids"][:2]] == [2, 2] and out["alone"] == [1, 1, 1]
    assert len(out["pids"][2]) == 1  # warm: nothing new to shingle, no child


def test_a_failed_changed_run_leaves_no_shingling_child(fixture_kb: Path, tmp_path: Path) -> None:
    out, _, _ = scenario(_SHARED_SHINGLING + textwrap.dedent("""
    import time

    def slow_compute(texts, ordered):
        got = logged_compute(texts, ordered)
        if os.getpid() != parent:
            time.sleep(2)  # still at it when the parent fails
        return got

    def failing(ctx, a):
        time.sleep(0.5)  # the child is under way
        raise KeyboardInterrupt

    cache._compute = slow_compute
    checks.check_lines = failing
    try:
        run_lint(kb, cfg, today=date(2026, 11, 23), changed=changed)
        out["interrupted"] = False
    except KeyboardInterrupt:
        out["interrupted"] = True
    out["children"] = len(multiprocessing.active_children())
    out["forked"] = len({line.split()[0] for line in shingled_by.read_text().splitlines()}) == 1
    """), fixture_kb, tmp_path)
    assert out == {"threads": 1, "interrupted": True, "children": 0, "forked": True}
