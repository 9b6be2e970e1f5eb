"""Forked workers (`kbtool.processes.Forked`) never outlive a parent killed with `kill -9`,
and never hold the index lock it took: the next `kbtool index` must find the index free and
no stray writer still working in the build it is about to clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kbtool.index.store import IndexBusy, Lock

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")

REPO = Path(__file__).resolve().parents[1]

PARENT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from kbtool.index.store import Lock
    from kbtool.processes import Forked

    def work():
        time.sleep(120)
        return os.getpid()

    with Lock(Path(sys.argv[1])):
        child = Forked(work)
        print(child._proc.pid, flush=True)
        child.result()
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_parent_takes_its_workers_and_its_lock_with_it(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child = int(proc.stdout.readline())  # type: ignore[union-attr]
        assert _alive(child)
        with pytest.raises(IndexBusy):  # the parent holds it
            Lock(tmp_path).__enter__()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with Lock(tmp_path):  # free the moment the parent is gone, whatever the child does
        pass
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_lock_taken_again_after_release_works(tmp_path: Path) -> None:
    with Lock(tmp_path):
        pass
    with Lock(tmp_path) as lock:
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
        assert lock.fd >= 0
