"""kill -9 never leaves a broken or half-written result (issue #18).

For each command that writes something others read — `kbtool index --rebuild` (the index
directory's `current`), `kbtool index --publish DIR` (the shared directory replicas open)
and `kbtool build` (the help center) — the real CLI runs once to completion on a generated
KB, then again and again, each time killed with SIGKILL at another point of its measured
run (and, for publish, as soon as its copy directory appears). After every kill:

- the previous result is intact and usable: the index still opens and finds the known
  article, the published `current` is a complete copy of the source build, the site is
  byte for byte the site built before;
- nothing temporary or partial is served (`current` names a complete build, the site
  directory is the one built);
- the next normal run succeeds and leaves none of what the killed one left behind.

Kills at a time are blind to the few microseconds that matter most (the manifest being
written, the link being swapped), so the same CLI also runs with a SIGKILL of its own at
exactly those points (`_INJECT`): a manifest half written (a kill during its write), a
`.current-*` link made but not renamed, a site exchanged but the old one not removed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kbfactory import REPO, make_project, write_article

from kbtool.config import Config
from kbtool.index import KEEP_BUILDS, MANIFEST, Index, IndexProblem, current_build
from kbtool.index.store import PREVIOUS, Manifest

pytestmark = pytest.mark.slow

INDEX_ARTICLES = 200  # ~2 s for `kbtool index --rebuild` (2 shared cores)
SITE_ARTICLES = 60  # ~3 s for `kbtool build`
SMALL = 50  # the kills at exact points need no long run
SMALL_SITE = 10
KILL_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)  # of the measured run: 5 kills spread over it
KNOWN_ID, KNOWN_WORD = "gen-0042", "token42"  # a word only that article holds
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango").split()


def _kbtool() -> list[str]:
    exe = Path(sys.executable).with_name("kbtool")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kbtool.cli"]


def _project(tmp_path: Path, n: int) -> tuple[Config, dict[str, str]]:
    """A project of `n` generated how-tos (`token<i>` unique to each), and the environment
    its commands run in (lexical, and a private TMPDIR so the site's temp folders are seen)."""
    cfg = make_project(tmp_path / "proj", copy_sample=False)
    for i in range(n):
        w = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(10)]
        write_article(cfg.kb, f"gen-{i:04d}", title=f"Generated {w[0]} {w[1]} {i}", tags=[w[2]],
                      sections={"Steps": "1. " + " ".join(w * 20) + f" token{i}.\n2. Check the result."})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return cfg, {**os.environ, "KBTOOL_SEMANTIC": "0", "TMPDIR": str(tmp)}


def _run(cmd: list[str], cfg: Config, env: dict[str, str]) -> float:
    """Run `cmd` to completion (it must succeed); returns its wall time."""
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=cfg.root, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return time.monotonic() - t0


def _run_killed(cmd: list[str], cfg: Config, env: dict[str, str], at: float | None = None,
                when: Callable[[], bool] | None = None) -> bool:
    """Start `cmd` and SIGKILL it `at` seconds in, or as soon as `when()` holds. Returns whether
    the kill landed (False: the run had already finished, successfully)."""
    proc = subprocess.Popen(cmd, cwd=cfg.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    deadline = t0 + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if (at is not None and time.monotonic() - t0 >= at) or (when is not None and when()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0005 if when is not None else 0.005)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGKILL), err.decode(errors="replace")
    return proc.returncode == -signal.SIGKILL


def _files(build: Path) -> dict[str, str]:
    """File name -> sha1 of a build directory (flat), without Whoosh's and our lock files."""
    return {f.name: hashlib.sha1(f.read_bytes()).hexdigest() for f in sorted(build.iterdir())
            if f.is_file() and not f.name.endswith(("WRITELOCK", ".lock"))}


def _tree(root: Path) -> str:
    """One digest of every file's path and bytes under `root`."""
    h = hashlib.sha1()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha1(f.read_bytes()).digest())
    return h.hexdigest()


def _assert_serves_complete_build(index_dir: Path, n: int = INDEX_ARTICLES) -> Path:
    """`current` is a symlink to a complete kbtool build in `index_dir` that opens and finds
    the known article; returns the build."""
    link = index_dir / "current"
    assert link.is_symlink(), sorted(p.name for p in index_dir.iterdir())
    build = current_build(index_dir)
    assert build is not None and build.parent == index_dir.resolve() and build.name.startswith("build-"), \
        os.readlink(link)
    manifest = Manifest.read(build)  # complete: a build gets its manifest last, before the swap
    assert manifest.doc_count == n
    snap = Index(index_dir).open()
    try:
        assert snap.build == build and snap.doc_count == n
        assert [h.id for h in snap.search(KNOWN_WORD).hits][:1] == [KNOWN_ID]
    finally:
        snap.close()
    return build


def _assert_clean(index_dir: Path) -> None:
    """What a normal run leaves: only complete builds (at most KEEP_BUILDS), no half-swapped link."""
    names = sorted(p.name for p in index_dir.iterdir())
    assert not [n for n in names if n.startswith(".current-")], names
    builds = [index_dir / n for n in names if n.startswith("build-")]
    assert 1 <= len(builds) <= KEEP_BUILDS, names
    for b in builds:
        assert (b / MANIFEST).is_file(), f"partial build {b.name} left behind: {sorted(os.listdir(b))}"
        Manifest.read(b)
    assert set(names) <= {"current", PREVIOUS, ".lock", ".semantic-note", *(b.name for b in builds)}, names


# --- kbtool index --rebuild -------------------------------------------------------------------


def test_killed_rebuild_keeps_the_previous_index_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    cfg, env = _project(tmp_path, INDEX_ARTICLES)
    ix = cfg.index_dir
    cmd = [*_kbtool(), "index", "--rebuild"]
    duration = _run(cmd, cfg, env)
    _assert_clean(ix)
    killed = []
    for frac in KILL_FRACTIONS:
        prev = _assert_serves_complete_build(ix)
        prev_files = _files(prev)
        before = set(os.listdir(ix))
        killed.append(_run_killed(cmd, cfg, env, at=frac * duration))
        cur = _assert_serves_complete_build(ix)
        if cur == prev:  # the killed run never swapped: the previous build, untouched
            assert _files(cur) == prev_files
        # (else it was killed after its swap, pruning: its build is complete, checked above)
        left = set(os.listdir(ix)) - before - {PREVIOUS}
        _run(cmd, cfg, env)
        _assert_serves_complete_build(ix)
        _assert_clean(ix)
        assert not [n for n in left if (ix / n).exists() and not (ix / n / MANIFEST).is_file()], left
    assert sum(killed) >= 3, f"only {sum(killed)} of {len(killed)} runs were killed (measured {duration:.2f}s)"
    p = subprocess.run([*_kbtool(), "search", KNOWN_WORD], cwd=cfg.root, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and KNOWN_ID in p.stdout, p.stdout + p.stderr


# --- kbtool index --publish DIR ---------------------------------------------------------------


def test_killed_publish_keeps_the_published_build_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    cfg, env = _project(tmp_path, INDEX_ARTICLES)
    _run([*_kbtool(), "index"], cfg, env)
    source = current_build(cfg.index_dir)
    assert source is not None
    source_files = _files(source)
    dest = tmp_path / "published"
    cmd = [*_kbtool(), "index", "--publish", str(dest)]
    duration = _run(cmd, cfg, env)

    def check_published() -> None:
        build = _assert_serves_complete_build(dest)
        assert _files(build) == source_files  # a whole copy, never a partial one

    check_published()
    _assert_clean(dest)

    def new_copy_started(before: set[str]) -> Callable[[], bool]:
        return lambda: any(n.startswith("build-") and n not in before for n in os.listdir(dest))

    killed, mid_copy = [], 0
    plans: list[float | None] = [f * duration for f in KILL_FRACTIONS] + [None] * 3  # None: once the copy began
    for at in plans:
        before = set(os.listdir(dest))
        prev = current_build(dest)
        killed.append(_run_killed(cmd, cfg, env, at=at, when=None if at is not None else new_copy_started(before)))
        check_published()
        left = set(os.listdir(dest)) - before - {PREVIOUS}
        if current_build(dest) == prev and any(n.startswith("build-") for n in left):
            mid_copy += 1  # (killed between the copy's mkdir and its swap)
        _run(cmd, cfg, env)
        check_published()
        _assert_clean(dest)
        assert not [n for n in left if (dest / n).exists() and not (dest / n / MANIFEST).is_file()], left
    assert sum(killed) >= 3, f"only {sum(killed)} of {len(killed)} runs were killed (measured {duration:.2f}s)"
    assert current_build(cfg.index_dir) == source and _files(source) == source_files  # publishing never wrote there
    assert mid_copy >= 1, "no kill landed between the copy's start and its swap"


# --- kbtool build -----------------------------------------------------------------------------


def test_killed_site_build_keeps_the_previous_site_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    cfg, env = _project(tmp_path, SITE_ARTICLES)
    site, tmp = cfg.site_dir, Path(env["TMPDIR"])
    cmd = [*_kbtool(), "build"]
    duration = _run(cmd, cfg, env)
    built = _tree(site)  # the build is deterministic: every complete site of this KB is this one

    def beside_site() -> list[str]:
        return sorted(n for n in os.listdir(site.parent) if n.startswith(f".{site.name}."))

    def check_site() -> None:
        assert site.is_dir() and not site.is_symlink()
        assert (site / "index.html").is_file()
        assert (site / "articles" / KNOWN_ID / "index.html").is_file()
        assert KNOWN_WORD in (site / "articles" / KNOWN_ID / "index.html").read_text(encoding="utf-8")
        assert _tree(site) == built, "the site directory changed: a partial or mixed site is served"

    killed = []
    for frac in KILL_FRACTIONS:
        killed.append(_run_killed(cmd, cfg, env, at=frac * duration))
        check_site()
        _run(cmd, cfg, env)
        check_site()
        assert beside_site() == [], "a killed build's staging folder is still beside the site"
        assert not [n for n in os.listdir(tmp) if n.startswith("kbtool-site-")], os.listdir(tmp)
    assert sum(killed) >= 3, f"only {sum(killed)} of {len(killed)} runs were killed (measured {duration:.2f}s)"


# --- kills at the exact critical points -------------------------------------------------------

# Runs the CLI (`kbtool ARGS...`) in this process, which SIGKILLs itself at POINT:
#   manifest:  the new build's manifest written, then cut to half (= killed while writing it)
#   published: the publish's copy of the manifest made, then cut to half (= killed while copying it)
#   swap:      the `.current-<pid>` link made, before it is renamed over `current`
#   exchange:  the new site exchanged with the old, before the old one (now in staging) is removed
_INJECT = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path

    from kbtool.index import store
    from kbtool.site import build as site_build

    point, args = sys.argv[1], sys.argv[2:]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)

    def cut(path):
        os.truncate(path, os.path.getsize(path) // 2)
        die()

    if point == "manifest":
        write = store.Manifest.write
        store.Manifest.write = lambda self, build: (write(self, build), cut(build / store.MANIFEST))
    elif point == "published":
        copy2 = shutil.copy2
        shutil.copy2 = lambda src, dst: (copy2(src, dst), Path(src).name == store.MANIFEST and cut(dst))[0]
    elif point == "swap":
        replace = os.replace
        os.replace = lambda src, dst: (die() if Path(str(src)).name.startswith(".current-")
                                       and Path(str(dst)).name == "current" else replace(src, dst))
    elif point == "exchange":
        exchange = site_build._rename_exchange
        site_build._rename_exchange = lambda a, b: exchange(a, b) and die()
    else:
        raise SystemExit(f"unknown point {point}")
    sys.argv = ["kbtool", *args]
    from kbtool.cli import main
    main()
    raise SystemExit("not killed: the point was never reached")
""")


def _run_injected(point: str, args: list[str], cfg: Config, env: dict[str, str]) -> None:
    env = {**env, "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", _INJECT, point, *args], cwd=cfg.root, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, f"{point}: exit {p.returncode}\n{p.stdout}{p.stderr}"


def _assert_next_run_cleaned(index_dir: Path, left: list[str], prev: Path) -> None:
    """After the normal run that followed a kill: nothing the killed run made is left, and the
    build served before the kill is still there (prune keeps it: readers may hold it)."""
    problems = []
    still = [n for n in left if (index_dir / n).exists()]
    if still:
        state = {n: "no manifest" if not (index_dir / n / MANIFEST).is_file() else
                 f"manifest of {(index_dir / n / MANIFEST).stat().st_size} bytes" for n in still if n.startswith("build-")}
        problems.append(f"left by the killed run and still there after the next run: {still} {state}")
    if not prev.exists():
        problems.append(f"the build served before the kill ({prev.name}, readers may hold it) was pruned instead")
    try:
        _assert_clean(index_dir)
    except (AssertionError, IndexProblem) as e:
        problems.append(f"not clean: {str(e).splitlines()[0]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("point", ["manifest", "swap"])
def test_rebuild_killed_at_a_critical_point(tmp_path: Path, point: str) -> None:
    cfg, env = _project(tmp_path, SMALL)
    ix, cmd = cfg.index_dir, [*_kbtool(), "index", "--rebuild"]
    _run(cmd, cfg, env)
    prev = _assert_serves_complete_build(ix, SMALL)
    prev_files, before = _files(prev), set(os.listdir(ix))
    _run_injected(point, ["index", "--rebuild"], cfg, env)
    assert _assert_serves_complete_build(ix, SMALL) == prev and _files(prev) == prev_files
    left = sorted(set(os.listdir(ix)) - before - {PREVIOUS})
    assert left, "the killed run left nothing: the point was not reached"
    _run(cmd, cfg, env)
    _assert_serves_complete_build(ix, SMALL)
    _assert_next_run_cleaned(ix, left, prev)


@pytest.mark.parametrize("point", ["published"])  # (its swap is the index's `swap`, killed above)
def test_publish_killed_at_a_critical_point(tmp_path: Path, point: str) -> None:
    cfg, env = _project(tmp_path, SMALL)
    _run([*_kbtool(), "index"], cfg, env)
    source = current_build(cfg.index_dir)
    assert source is not None
    source_files, dest = _files(source), tmp_path / "published"
    args = ["index", "--publish", str(dest)]
    _run([*_kbtool(), *args], cfg, env)
    prev = _assert_serves_complete_build(dest, SMALL)
    before = set(os.listdir(dest))
    _run_injected(point, args, cfg, env)
    assert _assert_serves_complete_build(dest, SMALL) == prev and _files(prev) == source_files
    left = sorted(set(os.listdir(dest)) - before - {PREVIOUS})
    assert left, "the killed run left nothing: the point was not reached"
    _run([*_kbtool(), *args], cfg, env)
    assert _files(_assert_serves_complete_build(dest, SMALL)) == source_files
    _assert_next_run_cleaned(dest, left, prev)


def test_site_build_killed_between_exchange_and_cleanup(tmp_path: Path) -> None:
    cfg, env = _project(tmp_path, SMALL_SITE)
    site, cmd = cfg.site_dir, [*_kbtool(), "build"]
    _run(cmd, cfg, env)
    built = _tree(site)
    _run_injected("exchange", ["build"], cfg, env)
    assert _tree(site) == built and (site / "articles" / "gen-0007" / "index.html").is_file()  # the new site, whole
    left = sorted(n for n in os.listdir(site.parent) if n.startswith(f".{site.name}."))
    assert left, "the killed run left no staging folder: the point was not reached"
    _run(cmd, cfg, env)
    assert _tree(site) == built
    assert sorted(n for n in os.listdir(site.parent) if n.startswith(f".{site.name}.")) == [], left
    assert not [n for n in os.listdir(env["TMPDIR"]) if n.startswith("kbtool-site-")]
