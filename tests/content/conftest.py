"""Fixtures shared by the content tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kbtool.content import loader


def _line_no(path: Path, needle: str) -> int:
    """1-based line of the first line of `path` containing `needle` (the test's own oracle)."""
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.fixture
def line_no() -> Callable[[Path, str], int]:
    """`line_no(path, needle)`: the 1-based line of `path` that first contains `needle`."""
    return _line_no


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every loader test on libyaml's C loader and on the pure-Python fallback."""
    if "yaml_loader" in metafunc.fixturenames and metafunc.module.__name__.endswith("test_loader"):
        names = ["pure"] + (["libyaml"] if loader.C_LOADER is not None else [])
        metafunc.parametrize("yaml_loader", names, indirect=True)


@pytest.fixture(autouse=True)
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The YAML loader under test ("libyaml" or "pure"); other modules get the default one."""
    name = getattr(request, "param", "default")
    if name != "default":
        monkeypatch.setattr(loader, "_KBLoader", loader.C_LOADER if name == "libyaml" else loader.PURE_LOADER)
    return str(name)
