"""Shared pytest setup: the `--slow` switch, and paths to the repo's sample KB and ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Lexical by default, module- and session-scoped fixtures included: embedding every temp KB
# would cost seconds each. Tests marked `semantic` (and their fixtures) lift it explicitly.
os.environ["KBTOOL_SEMANTIC"] = "0"

from kbfactory import SAMPLE_KB  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow") or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sample_kb_path() -> Path:
    return SAMPLE_KB


@pytest.fixture(autouse=True)
def _lexical_unless_semantic(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run lexically (KBTOOL_SEMANTIC=0, inherited by subprocesses) unless marked
    `semantic`: embedding every temp KB would cost seconds per test. Semantic tests need the
    extra; without it they skip, except under CI=true, where the extra must be installed."""
    if request.node.get_closest_marker("semantic") is None:
        monkeypatch.setenv("KBTOOL_SEMANTIC", "0")
        return
    monkeypatch.delenv("KBTOOL_SEMANTIC", raising=False)
    require_semantic()


def require_semantic() -> None:
    """Skip unless the model can run (KBTOOL_SEMANTIC lifted by the caller); under CI=true, fail."""
    from kbtool import semantic

    reason = semantic.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"semantic test under CI=true, but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def semantic_model() -> None:
    """For module- and session-scoped fixtures that embed: skip (fail under CI=true) without the model."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KBTOOL_SEMANTIC", raising=False)
        require_semantic()
