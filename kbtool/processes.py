"""When a big job may share its work with forked processes, and with how many; and how a
long-lived process hands back the memory a big load left free.

Lint's per-article pass and the index's full build fork workers that inherit the loaded
KB (no copy, no re-parsing). That is only safe and cheap on Linux, in a process running
one thread: a fork copies whatever lock another thread holds at that moment (the API
server's threads, a test session's live server), so with threads running both jobs stay
in one process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Generic, TypeVar


def can_fork() -> bool:
    """Whether forking workers is safe here: Linux, and no thread but this one."""
    return sys.platform == "linux" and threading.active_count() == 1


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, as `taskset` or a container
    sets it), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def trim_heap() -> None:
    """Collect garbage and hand the heap's free pages back to the system (glibc's
    `malloc_trim`; nothing elsewhere). Loading an engine decodes every document's JSON line
    into short-lived dicts; once they are gone, the C allocator keeps the freed pages, so a
    server worker at 50,000 articles stayed 110 MB above what it held. Call it after such a
    load in a process that lives on: an API worker, the `serve` supervisor."""
    import gc

    gc.collect()
    if sys.platform != "linux":
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, say): the pages stay with the process
        pass


T = TypeVar("T")


class Forked(Generic[T]):
    """`fn()` run in a forked child process that inherits this one's memory: `result()` is
    its return value (pickled back through a pipe), or None when the child failed or died
    before sending it, so the caller can do that work itself and nothing is lost. The child
    ignores Ctrl-C (the parent handles it and `stop`s the child) and prints nothing."""

    def __init__(self, fn: Callable[[], T]) -> None:
        fork = multiprocessing.get_context("fork")
        self._receive, send = fork.Pipe(duplex=False)
        sys.stdout.flush()  # a child flushes its copy of unwritten output on exit: empty it first
        sys.stderr.flush()
        self._proc = fork.Process(target=_child, args=(send, fn, os.getpid()), daemon=True)
        self._proc.start()
        send.close()

    def result(self) -> T | None:
        """Wait for the child: what `fn` returned, or None."""
        got: T | None = None
        try:
            wait([self._receive, self._proc.sentinel])
            if self._receive.poll():
                got = self._receive.recv()
        except (EOFError, OSError):
            got = None
        finally:
            self._proc.join()  # (it has sent, or died: it ends by itself)
            self._receive.close()
        return got

    def stop(self) -> None:
        """End the child now (the parent failed or was interrupted) and release the pipe."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._receive.close()


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (PR_SET_PDEATHSIG), so a parent
    ended by `kill -9` leaves no child writing into a build the next run will clean up; and
    end now if the parent is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux's libc: the child ends by itself once its work is done
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _child(send: Connection, fn: Callable[[], object], parent: int) -> None:
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        send.send(fn())
    except BaseException:  # noqa: BLE001, S110 (the parent redoes the work: nothing is lost)
        pass
    finally:
        send.close()
