"""Fixtures of the suggest tests: the sample KB and the sentinel KB (sample + hidden articles), indexed once;
the sample KB indexed with embeddings (for tests marked `semantic`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kbfactory import SAMPLE_KB, SITE_URL, make_project
from sentinels import add_hidden_articles

from kbtool.config import Config, load_config
from kbtool.content import load_kb
from kbtool.index import Index
from kbtool.suggest import Engine


def _indexed(cfg: Config) -> Config:
    Index.for_config(cfg).build(load_kb(cfg.kb))
    return cfg


def _engine(cfg: Config) -> Engine:
    snap = Index.for_config(cfg).open()
    try:
        return Engine.from_snapshot(snap, cfg.site_url)
    finally:
        snap.close()


@pytest.fixture(scope="session")
def sample_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The repo's sample KB (read in place), indexed into a temporary directory."""
    root = tmp_path_factory.mktemp("sample")
    (root / "kbtool.toml").write_text(f'kb = "{SAMPLE_KB}"\nindex_dir = "index"\nsite_url = "{SITE_URL}"\n')
    return _indexed(load_config(cwd=root))


@pytest.fixture(scope="session")
def sample_engine(sample_cfg: Config) -> Engine:
    return _engine(sample_cfg)


@pytest.fixture(scope="session")
def sentinel_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A copy of the sample KB plus the hidden sentinel articles (see tests/sentinels.py), indexed."""
    cfg = make_project(tmp_path_factory.mktemp("sentinel"))
    add_hidden_articles(cfg.kb)
    return _indexed(cfg)


@pytest.fixture(scope="session")
def sentinel_engine(sentinel_cfg: Config) -> Engine:
    return _engine(sentinel_cfg)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, semantic_model: None) -> Path:
    """The sample KB indexed with embeddings, once per session (embedding costs seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KBTOOL_SEMANTIC", raising=False)
        d = tmp_path_factory.mktemp("semantic") / "ix"
        report = Index(d, semantic=True).build(load_kb(SAMPLE_KB))
        assert report.embedded == report.added
    return d
