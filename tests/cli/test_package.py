"""The package as a user gets it: `pip wheel .`, the wheel's contents (templates, py.typed,
LICENSE, core dependencies and extras), and `kbtool lint`, `build` and `serve` run from the
wheel installed in a fresh venv, not from this checkout.

Offline: the wheel is built with `--no-index` from a wheelhouse of this venv's build
requirements; the fresh venv gets the installed wheel plus this venv's site-packages (appended
after its own, through a .pth file) for the dependencies, so `import kbtool` is the wheel's.
"""

from __future__ import annotations

import email.parser
import json
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from kbfactory import make_project
from liveserver import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_venv(tmp_path: Path, built_wheel: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "zz-dev-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(built_wheel)], check=True,
                   timeout=300)
    return venv


def test_wheel_contents(built_wheel: Path) -> None:
    names = zipfile.ZipFile(built_wheel).namelist()
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert "kbtool/py.typed" in names and f"{info}/licenses/LICENSE" in names
    assert any(n.startswith("kbtool/templates/site/") for n in names), names
    meta = email.parser.Parser().parsestr(zipfile.ZipFile(built_wheel).read(f"{info}/METADATA").decode())
    assert meta["License-Expression"] == "MIT"
    core = sorted(r.split(">")[0].split("=")[0].split("<")[0] for r in meta.get_all("Requires-Dist") if "extra ==" not in r)
    assert core == ["click", "markdown", "numpy", "python-frontmatter", "pyyaml"]
    assert {"search", "site", "api", "import", "all", "dev"} <= set(meta.get_all("Provides-Extra"))


def test_lint_build_and_serve_from_the_wheel(fresh_venv: Path, tmp_path: Path) -> None:
    bin_ = fresh_venv / "bin"
    where = subprocess.run([str(bin_ / "python"), "-c", "import kbtool; print(kbtool.__file__)"], capture_output=True,
                           text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(fresh_venv)), where
    cfg = make_project(tmp_path / "project")
    root = cfg.kb.parent

    lint = subprocess.run([str(bin_ / "kbtool"), "lint"], cwd=root, capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    build = subprocess.run([str(bin_ / "kbtool"), "build", "--site-dir", "site"], cwd=root, capture_output=True,
                           text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    assert (root / "site" / "index.html").is_file() and "built " in build.stdout

    port = free_port()
    server = subprocess.Popen([str(bin_ / "kbtool"), "serve", "--port", str(port)], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        health = json.loads(_get_when_up(f"http://127.0.0.1:{port}/healthz", server))
        assert health["status"] == "ok" and health["documents"] == len(list(cfg.kb.rglob("*.md")))
    finally:
        server.terminate()
        server.wait(30)


def _get_when_up(url: str, server: subprocess.Popen) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"kbtool serve exited {server.returncode}: {server.stderr.read() if server.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                assert resp.status == 200
                return resp.read().decode()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 120 s")
