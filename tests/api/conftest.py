"""Fixtures of the HTTP API tests: the sentinel KB (the sample KB plus hidden articles), indexed once."""

from __future__ import annotations

import pytest
from kbfactory import make_project
from sentinels import add_hidden_articles

from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import Index


@pytest.fixture(scope="session")
def api_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A copy of the sample KB plus the hidden sentinel articles (see tests/sentinels.py), indexed."""
    cfg = make_project(tmp_path_factory.mktemp("api"))
    add_hidden_articles(cfg.kb)
    Index.for_config(cfg).build(load_kb(cfg.kb))
    return cfg
