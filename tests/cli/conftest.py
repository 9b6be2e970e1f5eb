"""Fixtures for the adoption tests: a team's repository (git, a KB under kb/) in a temp dir, and
the environment that runs `git` there without touching the user's git or pre-commit config."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from kbfactory import write_article
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

Git = Callable[..., str]


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """os.environ with a private HOME (no ~/.gitconfig, no ~/.cache/pre-commit), a fixed git
    identity, this venv's bin first on PATH, and no colour or CI switches inherited."""
    home = tmp_path / "home"
    home.mkdir()
    drop = ("NO_COLOR", "FORCE_COLOR", "CI", "GITHUB_OUTPUT", "GITHUB_ACTIONS")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("KBTOOL_")}
    env.update(HOME=str(home), PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", KBTOOL_SEMANTIC="0",
               PRE_COMMIT_HOME=str(tmp_path / "pre-commit-cache"), GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    return env


@pytest.fixture
def git(clean_env: dict[str, str]) -> Git:
    def run(cwd: Path, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, env=clean_env, check=True, capture_output=True,
                              text=True, timeout=60).stdout
    return run


def copy_sources(dest: Path) -> Path:
    """Copy what the package is built from (sources, pyproject, README, LICENSE, hooks file) to
    `dest`, so builds leave no build/ or egg-info in the checkout other sessions work in."""
    shutil.copytree(REPO / "kbtool", dest / "kbtool", ignore=shutil.ignore_patterns("__pycache__"))
    for rel in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO / rel, dest / rel)
    return dest


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    return copy_sources(tmp_path / "kbtool-src")


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory, installed_wheelhouse: Path) -> Path:
    """`pip wheel . --no-deps` of the project, offline (build requirements from the wheelhouse)."""
    src = copy_sources(tmp_path_factory.mktemp("wheel-src"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "-w", str(out), "--no-deps", "-q",
                    "--no-index", "--find-links", str(installed_wheelhouse)], check=True, timeout=300)
    (wheel,) = out.glob("kbtool-*.whl")
    return wheel


@pytest.fixture
def team_repo(tmp_path: Path, git: Git) -> Path:
    """A team's repository: two valid articles under kb/ and a README, committed on `main`."""
    repo = tmp_path / "team"
    write_article(repo / "kb", "reset-password", last_reviewed="2026-09-02")
    write_article(repo / "kb", "saml-403", type="troubleshooting", last_reviewed="2026-09-02")
    (repo / "README.md").write_text("# Team docs\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "kb")
    return repo


def _closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions `names` need, with their runtime requirements (no extras)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(n) for n in names]
    while todo:
        req = todo.pop()
        key = canonicalize_name(req.name)
        if key in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        dist = importlib.metadata.distribution(req.name)  # PackageNotFoundError: not in this venv
        seen[key] = dist
        todo += [Requirement(r) for r in dist.requires or []]
    return list(seen.values())


def _repack(dist: importlib.metadata.Distribution, dest: Path) -> Path:
    """A wheel of an installed distribution, from the files its RECORD lists (scripts outside
    site-packages left out: pip writes them again from entry_points.txt)."""
    tags = [line.split(": ", 1)[1] for line in (dist.read_text("WHEEL") or "").splitlines() if line.startswith("Tag: ")]
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    wheel = dest / f"{name}-{dist.version}-{tags[0] if tags else 'py3-none-any'}.whl"
    files = [f for f in dist.files or [] if not str(f).startswith("..") and "__pycache__" not in str(f)]
    info = next(str(f).split("/")[0] for f in files if str(f).endswith(".dist-info/METADATA"))
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        record = []
        for f in files:
            if str(f) == f"{info}/RECORD":
                continue
            data = Path(str(f.locate())).read_bytes()
            zf.writestr(str(f), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{f},sha256={digest},{len(data)}")
        zf.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return wheel


@pytest.fixture(scope="session")
def installed_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A find-links folder with wheels of what kbtool's core install needs (its build requirements
    and core dependencies), repacked from this venv: `pip install --no-index` of the project then
    works offline, and fails if the core needs anything more."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    names = [*project["build-system"]["requires"], *project["project"]["dependencies"]]
    dest = tmp_path_factory.mktemp("wheelhouse")
    try:
        dists = _closure(names)
    except importlib.metadata.PackageNotFoundError as e:
        pytest.skip(f"{e} is not installed in this venv, so it cannot be offered offline")
    for dist in dists:
        _repack(dist, dest)
    return dest
