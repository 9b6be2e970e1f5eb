"""Shared pytest setup: the `--slow` switch, the lexical default, and a real PostgreSQL.

PostgreSQL (for the event store's second backend): `KBTOOL_TEST_PG_URL` (an existing server;
the tests create and drop their own schemas there) or else a private server started for the
session from the Debian package's binaries (/usr/lib/postgresql/*/bin), on 127.0.0.1 and a
free port, data in a temp dir, stopped at the end. Without the binaries the PostgreSQL half
skips — except under CI, where it fails: CI must install `postgresql`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

# Lexical by default, module- and session-scoped fixtures included: embedding every temp KB
# would cost seconds each. Tests marked `semantic` (and their fixtures) lift it explicitly.
os.environ["KBTOOL_SEMANTIC"] = "0"

from kbfactory import SAMPLE_KB, write_small_kb  # noqa: E402

from kbtool.config import load_config  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow") or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with no config file (so the KB is ./kb, kbfactory's SMALL_KB) as the working directory."""
    write_small_kb(tmp_path / "kb")
    monkeypatch.chdir(tmp_path)
    if load_config().source is not None:  # pragma: no cover - a stray config above /tmp
        pytest.skip("a kbtool config exists above the temp dir")
    return tmp_path


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


# --- a real PostgreSQL on loopback ------------------------------------------------------


@dataclass
class PgServer:
    url: str  # of the kbtool_test database
    bindir: Path | None = None  # None: an external server we must not stop
    datadir: Path | None = None
    port: int = 0
    sockdir: Path | None = None

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]  # type: ignore[operator]
        subprocess.run(_as_postgres(cmd), check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.datadir.parent / "server.log"),  # type: ignore[union-attr]
                  "-w", "-t", "60", "-o", opts, "start")


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` OS user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    external = os.environ.get("KBTOOL_TEST_PG_URL")
    if external:
        yield PgServer(external)
        return
    bindir = _bindir()
    if bindir is None:
        msg = "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    root = Path(tempfile.mkdtemp(prefix="kbtool-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        server = PgServer("", bindir, root / "data", _free_port(), root)
        server._run("initdb", "-D", str(server.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-sync", "--no-instructions")
        server.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE kbtool_test")
        server.url = f"postgresql://postgres@127.0.0.1:{server.port}/kbtool_test"
        yield server
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty store location: a SQLite path, or a PostgreSQL URL whose search_path
    is a schema of its own (tests never see each other's rows)."""
    if backend == "sqlite":
        yield str(tmp_path / "events.sqlite3")
        return
    server: PgServer = request.getfixturevalue("pg_server")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in server.url else "?"
    yield f"{server.url}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        with psycopg.connect(server.url, autocommit=True, connect_timeout=5) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
    except psycopg.OperationalError:
        pass
