"""Beyond one machine: two stateless `kbtool serve --read-only` replicas behind nginx (the shipped
deploy/nginx.conf, pointed at loopback ports), one shared published index, events in PostgreSQL.
A build published mid-load reaches both replicas within 5 s and not one request fails.

Real processes on 127.0.0.1 only (two replicas, nginx, the test's PostgreSQL), bounded: ~10 s of
load from four client threads."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from kbfactory import make_project, write_article
from liveserver import free_port, kbtool_command, stop, wait_up

from kbtool.index import Index, current_build, update_index

pytest.importorskip("fastapi")

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TOKEN = "replica-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLIENTS = 4
SWAP_DEADLINE = 5.0  # seconds from publish until both replicas answer from the new build


def _need_nginx() -> str:
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("nginx not installed (apt-get install nginx); .ci/run installs it")
        pytest.skip("nginx not installed")
    return NGINX


def _nginx_conf(root: Path, port: int, replicas: list[int]) -> Path:
    """deploy/nginx.conf as shipped, with its upstreams and listen address moved to loopback and its
    files under `root` (so the test checks the config teams deploy, not a copy of it)."""
    conf = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    servers = re.findall(r"^\s*server replica\d+:8000[^;]*;\n", conf, flags=re.M)
    assert len(servers) == len(replicas), "deploy/nginx.conf names one upstream per replica"
    for line, p in zip(servers, replicas, strict=True):
        conf = conf.replace(line, re.sub(r"replica\d+:8000", f"127.0.0.1:{p}", line))
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {root}/nginx.pid;")
    temp = "".join(f"    {d}_temp_path {root}/{d};\n" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = conf.replace("http {\n", "http {\n" + temp, 1)
    if os.geteuid() == 0:  # workers would drop to `nobody`, who cannot write the temp dirs under `root`
        conf = "user root;\n" + conf
    path = root / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


def _schema_url(base: str) -> str:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


class Load:
    """CLIENTS threads posting suggestions through the balancer until stopped; every answer counted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.event_ids: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(CLIENTS)]

    def _run(self, i: int) -> None:
        subjects = ["SAML-403 after login", "zanzibar export", "webhook deliveries failing", "reset my password"]
        with httpx.Client(base_url=self.url, headers=AUTH, timeout=10) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                try:
                    r = c.post("/v1/suggest", json={"subject": subjects[(i + n) % len(subjects)],
                                                    "ticket_id": f"LB-{i}-{n}"})
                    with self.lock:
                        self.statuses[r.status_code] += 1
                        if r.status_code == 200 and r.json().get("event_id"):
                            self.event_ids.append(r.json()["event_id"])
                except httpx.HTTPError as e:  # a reset or refused connection is a failed request too
                    with self.lock:
                        self.errors.append(repr(e))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)


def _builds(ports: list[int]) -> list[str]:
    return [httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=5).json()["build"] for p in ports]


def test_read_only_serve_refuses_a_directory_with_nothing_published_and_writes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kbtool.cli import main

    cfg = make_project(tmp_path / "authoring")  # a KB right there that a normal serve would index
    shared = tmp_path / "shared-index"
    r = CliRunner().invoke(main, ["serve", "--kb", str(cfg.kb), "--index-dir", str(shared), "--read-only"])
    assert r.exit_code == 1, r.output
    assert f"no published index at {shared}" in r.output and "kbtool index --publish" in r.output
    assert "Traceback" not in r.output
    assert not shared.exists() or not any(shared.iterdir())  # a replica never builds into the shared dir


@pytest.mark.slow
def test_a_build_published_mid_load_reaches_both_replicas_with_no_failed_request(tmp_path: Path,
                                                                                 pg_server: object) -> None:
    nginx = _need_nginx()
    cfg = make_project(tmp_path / "authoring")
    update_index(cfg)
    shared = tmp_path / "shared-index"
    first = Index.for_config(cfg).publish(shared)
    db = _schema_url(pg_server.url)  # type: ignore[attr-defined]

    cmd = kbtool_command()
    ports = [free_port(), free_port()]
    replica_dir = tmp_path / "replica"  # no KB here: a replica needs only the published index
    replica_dir.mkdir()
    env = {**os.environ, "KBTOOL_API_TOKEN": TOKEN, "KBTOOL_DB": db}
    procs: list[subprocess.Popen[bytes]] = []
    nginx_proc: subprocess.Popen[bytes] | None = None
    try:
        for i, port in enumerate(ports):
            log = tmp_path / f"replica{i}.log"
            with open(log, "wb") as fh:
                procs.append(subprocess.Popen([*cmd, "serve", "--index-dir", str(shared), "--read-only",
                                               "--port", str(port)], cwd=replica_dir, env=env,
                                              stdout=fh, stderr=subprocess.STDOUT))
        for i, port in enumerate(ports):
            wait_up(f"http://127.0.0.1:{port}", procs[i], tmp_path / f"replica{i}.log")
        assert _builds(ports) == [first.name, first.name]

        lb_root = tmp_path / "nginx"
        lb_root.mkdir()
        lb_port = free_port()
        conf = _nginx_conf(lb_root, lb_port, ports)
        with open(lb_root / "nginx.log", "wb") as fh:
            nginx_proc = subprocess.Popen([nginx, "-p", str(lb_root), "-c", str(conf), "-g", "daemon off;"],
                                          stdout=fh, stderr=subprocess.STDOUT)
        lb = f"http://127.0.0.1:{lb_port}"
        wait_up(lb, nginx_proc, lb_root / "nginx.log", timeout=15)

        write_article(cfg.kb, "zanzibar-export", title="Export to zanzibar format", type="howto",
                      body="## Steps\n\n1. Open **Data > Export**.\n2. Pick zanzibar and download the file.")
        update_index(cfg)
        with Load(lb) as load:
            time.sleep(2.0)  # both replicas under load on the first build
            second = Index.for_config(cfg).publish(shared)
            published = time.monotonic()
            assert current_build(shared) == second != first
            while _builds(ports) != [second.name, second.name]:
                assert time.monotonic() - published < SWAP_DEADLINE, f"replicas still on {_builds(ports)}"
                time.sleep(0.05)
            swapped = time.monotonic() - published
            time.sleep(1.5)  # and keep answering from it under load
        assert not load.errors, load.errors[:5]
        assert set(load.statuses) == {200}, load.statuses
        served = sum(load.statuses.values())
        assert served >= 100, served
        # through the balancer, both replicas now answer from the new build (round robin: 6 asks hit each)
        for _ in range(6):
            r = httpx.post(f"{lb}/v1/suggest", json={"subject": "zanzibar export"}, headers=AUTH, timeout=10)
            assert r.status_code == 200 and r.json()["suggestions"][0]["id"] == "zanzibar-export"
        print(f"\n{served} requests through nginx, 0 failed; both replicas on the new build {swapped:.2f} s "
              f"after the publish")
    finally:
        if nginx_proc is not None:
            stop(nginx_proc, signal.SIGQUIT)
        for p in procs:
            stop(p)
    # events of both replicas went to the one PostgreSQL database: every answer with an event id is there
    import psycopg

    with psycopg.connect(db, autocommit=True) as c:
        rows = dict(c.execute("SELECT index_build, count(*) FROM suggest_events GROUP BY index_build").fetchall())
        stored = {r[0] for r in c.execute("SELECT event_id FROM suggest_events").fetchall()}
    assert set(load.event_ids) <= stored, len(set(load.event_ids) - stored)
    assert rows.get(first.name, 0) > 0 and rows.get(second.name, 0) > 0, rows
