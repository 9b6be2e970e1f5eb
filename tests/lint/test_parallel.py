"""The per-article pass shared with forked workers (`run_lint(jobs=...)`): the same findings,
in the same order, as one process, however the chunks fall, and when a worker fails or dies."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kbtool.lint import Finding, LintResult, checks, parallel

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")


def _rows(result: LintResult) -> list[tuple[Any, ...]]:
    return [tuple(f.__dict__.values()) for f in result.findings]


@pytest.fixture()
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of two articles, so the fixture KB (about 90 files) spreads over both processes."""
    monkeypatch.setattr(parallel, "CHUNK", 2)


@pytest.fixture()
def serial(fixture_kb: Path, lint_dir: Callable[..., Any]) -> LintResult:
    _, result = lint_dir(fixture_kb, jobs=1)
    return result


def test_workers_give_the_serial_findings_in_order(fixture_kb: Path, lint_dir: Callable[..., Any],
                                                   serial: LintResult, small_chunks: None, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "pids"
    real_chunk = parallel._run_chunk

    def chunk(*args: Any) -> parallel.Part:
        with log.open("a") as fh:  # each process appends its pid, once per chunk it runs
            fh.write(f"{os.getpid()}\n")
        return real_chunk(*args)

    monkeypatch.setattr(parallel, "_run_chunk", chunk)
    _, result = lint_dir(fixture_kb, jobs=2)
    pids = log.read_text().split()
    assert len(set(pids)) == 2 and str(os.getpid()) in pids  # both processes took chunks
    assert len(result.findings) > 50
    assert {"KB005", "KB401", "KB501", "KB604", "KB801"} <= {f.code for f in result.findings}
    assert _rows(result) == _rows(serial)
    assert (result.files, result.suppressed) == (serial.files, serial.suppressed)


def test_findings_from_the_worker_keep_their_paths(fixture_kb: Path, lint_dir: Callable[..., Any],
                                                   serial: LintResult, small_chunks: None) -> None:
    """Paths travel as article numbers and come back as the KB's own Path objects; refs to
    files that are not articles (a missing link target) travel as paths."""
    kb, result = lint_dir(fixture_kb, jobs=2)
    paths = {a.path for a in kb.articles}
    assert all(f.path in paths or f.code.startswith("KB0") for f in result.findings)
    missing = [r for f in result.findings if f.code == "KB401" for r in f.refs]
    assert missing and all(isinstance(r, Path) and not r.exists() for r in missing)


def test_a_failing_worker_costs_time_not_findings(fixture_kb: Path, lint_dir: Callable[..., Any],
                                                  serial: LintResult, small_chunks: None,
                                                  monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    parent = os.getpid()
    real_style = checks.check_style

    def style(ctx: checks.LintContext, a: Any) -> None:
        if os.getpid() != parent:
            raise RuntimeError("a bug that only bites in the worker")
        real_style(ctx, a)

    monkeypatch.setattr(checks, "check_style", style)
    capfd.readouterr()
    _, result = lint_dir(fixture_kb, jobs=2)
    assert _rows(result) == _rows(serial)
    assert "Traceback" not in capfd.readouterr().err  # the worker's failure is not the user's


def test_a_worker_that_dies_costs_time_not_findings(fixture_kb: Path, lint_dir: Callable[..., Any],
                                                    serial: LintResult, small_chunks: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    real_lines = checks.check_lines
    seen: list[int] = []

    def lines(ctx: checks.LintContext, a: Any) -> None:
        seen.append(1)
        if os.getpid() != parent and len(seen) > 3:
            os._exit(9)  # killed mid-run: no message, no cleanup
        real_lines(ctx, a)

    monkeypatch.setattr(checks, "check_lines", lines)
    _, result = lint_dir(fixture_kb, jobs=2)
    assert _rows(result) == _rows(serial)


def test_a_bug_in_a_check_still_surfaces(fixture_kb: Path, lint_dir: Callable[..., Any], small_chunks: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent redoes a failed worker's chunks, so an error every process hits is raised
    as in a serial run, not swallowed."""
    def broken(ctx: checks.LintContext, a: Any) -> None:
        raise RuntimeError("broken check")

    monkeypatch.setattr(checks, "check_style", broken)
    with pytest.raises(RuntimeError, match="broken check"):
        lint_dir(fixture_kb, jobs=2)


def test_no_worker_outlives_a_failing_parent(fixture_kb: Path, lint_dir: Callable[..., Any], small_chunks: None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent fails in its own part (a bug only it hits, or Ctrl-C): the workers are
    stopped, not left blocked on sending what no one will read."""
    parent = os.getpid()

    def near(ctx: checks.LintContext, live: Any) -> None:
        if os.getpid() == parent:
            raise KeyboardInterrupt

    monkeypatch.setattr(checks, "check_near_duplicates", near)
    with pytest.raises(KeyboardInterrupt):
        lint_dir(fixture_kb, jobs=2)
    assert parallel.multiprocessing.active_children() == []


def test_worker_count() -> None:
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
