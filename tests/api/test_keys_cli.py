"""`kbtool keys` and the `kbtool serve` exposure warning, through the real click commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from kbfactory import make_project

from kbtool.api.auth import KeyRing, keys_path
from kbtool.cli import main
from kbtool.cli.serve import warn_if_exposed


def test_keys_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_project(tmp_path)
    monkeypatch.chdir(cfg.root)
    run = CliRunner().invoke
    created = run(main, ["keys", "create", "--scope", "agent", "--name", "zendesk"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("kbt_") and "shown only this once" in created.stderr
    ring = KeyRing(keys_path(cfg.index_dir), None)
    assert ring.authenticate(secret).scope == "agent"  # type: ignore[union-attr]
    listed = run(main, ["keys", "list", "--format", "json"])
    assert [k["name"] for k in json.loads(listed.stdout)] == ["zendesk"] and secret not in listed.output
    assert run(main, ["keys", "revoke", "zendesk"]).exit_code == 0
    ring.refresh()
    assert ring.authenticate(secret) is None
    again = run(main, ["keys", "revoke", "zendesk"])
    assert again.exit_code == 1 and "no active key" in again.output and "Traceback" not in again.output
    bad = run(main, ["keys", "create", "--scope", "root", "--name", "x"])
    assert bad.exit_code == 2


def test_serve_warns_beyond_loopback_without_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KBTOOL_API_TOKEN", raising=False)
    cfg = make_project(tmp_path)
    for host in ("127.0.0.1", "::1", "localhost"):
        warn_if_exposed(cfg, host)
    assert capsys.readouterr().err == ""
    warn_if_exposed(cfg, "0.0.0.0")
    assert "warning: serving on 0.0.0.0 with no API key" in capsys.readouterr().err
    CliRunner().invoke(main, ["keys", "create", "--scope", "public", "--name", "w", "--index-dir",
                              str(cfg.index_dir)])
    warn_if_exposed(cfg, "0.0.0.0")
    assert capsys.readouterr().err == ""
