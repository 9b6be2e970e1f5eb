"""Issues 16 and 18 over real HTTP: offline API docs, strict requests, scoped keys with
rotation and rate limits, and ranking off the event loop."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from liveserver import LiveServer

from kbtool.api import create_app
from kbtool.api.auth import KeyFile, KeyProblem
from kbtool.api.routes import INLINE_CHARS
from kbtool.config import Config

TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@pytest.fixture
def keyed(api_cfg: Config, tmp_path: Path) -> Iterator[tuple[str, KeyFile]]:
    """A server whose keys come from a fresh keys file (no token)."""
    kf = KeyFile(tmp_path / ".api-keys.json")
    with LiveServer(create_app(api_cfg, token="", record=False, keys_file=kf.path)) as srv:
        yield srv.url, kf


def test_docs_render_from_local_assets_only(api_cfg: Config) -> None:
    with LiveServer(create_app(api_cfg, token="", record=False)) as srv, \
            httpx.Client(base_url=srv.url, timeout=TIMEOUT) as c:
        for page, must in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = c.get(page).text
            refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""", html)
            urls = [a or b for a, b in refs]
            assert any(must in u for u in urls), urls
            assert "fonts.googleapis" not in html and "cdn." not in html
            for u in urls:
                full = urljoin(srv.url + page, u)
                assert urlsplit(full).hostname == "127.0.0.1", full
                r = c.get(full)
                assert r.status_code == 200 and len(r.content) > 100, full
        assert "SuggestRequest" in c.get("/openapi.json").text


def test_every_request_and_response_field_is_documented(api_cfg: Config) -> None:
    with LiveServer(create_app(api_cfg, token="", record=False)) as srv:
        spec = httpx.get(f"{srv.url}/openapi.json", timeout=TIMEOUT).json()
    schemas = spec["components"]["schemas"]
    for name in ("SuggestRequest", "SuggestResponse", "SuggestionOut", "Why", "ArticleOut", "Health",
                 "EventsHealth", "FeedbackRequest", "DeflectionRequest", "Accepted", "ErrorDetail", "Moved"):
        for field, prop in schemas[name]["properties"].items():
            assert prop.get("description"), f"{name}.{field} has no description"
    for name in ("SuggestRequest", "FeedbackRequest", "DeflectionRequest"):
        assert schemas[name]["additionalProperties"] is False and schemas[name]["examples"]


def test_misspelled_field_is_a_422_naming_it(api_cfg: Config) -> None:
    with LiveServer(create_app(api_cfg, token="", record=False)) as srv:
        r = httpx.post(f"{srv.url}/v1/suggest", json={"subjct": "SAML-403", "body": "x"}, timeout=TIMEOUT)
    assert r.status_code == 422 and "subjct" in r.json()["error"]["message"]


def test_scoped_keys(keyed: tuple[str, KeyFile]) -> None:
    url, kf = keyed
    _, public = kf.create("public", "widget")
    _, agent = kf.create("agent", "zendesk")
    internal = {"subject": "x", "audience": "internal"}
    with httpx.Client(base_url=url, timeout=TIMEOUT) as c:
        assert c.post("/v1/suggest", json={"subject": "SAML-403"}).status_code == 401  # keys exist now
        pub = {"Authorization": f"Bearer {public}"}
        assert c.post("/v1/suggest", json={"subject": "SAML-403"}, headers=pub).status_code == 200
        assert c.post("/v1/suggest", json=internal, headers=pub).status_code == 403
        assert c.get("/v1/articles/hidden-internal", headers=pub).status_code == 404
        ag = {"Authorization": f"Bearer {agent}"}
        assert c.post("/v1/suggest", json=internal, headers=ag).status_code == 200
        assert c.get("/v1/articles/hidden-internal", headers=ag).status_code == 200
        for bad in (agent[:-1] + ("x" if agent[-1] != "x" else "y"), "kbt_00000000_nope", agent + "x", "kbt_"):
            assert c.post("/v1/suggest", json={"subject": "x"},
                          headers={"Authorization": f"Bearer {bad}"}).status_code == 401
        # rotation without restart: revoke the old agent key, create a new one
        time.sleep(0.01)
        kf.revoke("zendesk")
        _, agent2 = kf.create("agent", "zendesk")
        assert c.post("/v1/suggest", json=internal, headers=ag).status_code == 401
        assert c.post("/v1/suggest", json=internal, headers={"Authorization": f"Bearer {agent2}"}).status_code == 200
    stored = kf.path.read_text()
    assert public not in stored and agent2.split("_", 2)[2] not in stored  # only digests are kept (the secret may hold "_")
    assert kf.path.stat().st_mode & 0o077 == 0


def test_key_file_errors(tmp_path: Path) -> None:
    kf = KeyFile(tmp_path / "k.json")
    with pytest.raises(KeyProblem, match="scope"):
        kf.create("root", "x")
    kf.create("public", "w")
    with pytest.raises(KeyProblem, match="already names"):
        kf.create("agent", "w")
    with pytest.raises(KeyProblem, match="no active key"):
        kf.revoke("nope")
    kf.path.write_text("{oops")
    with pytest.raises(KeyProblem, match="not a kbtool keys file"):
        kf.load()


def test_rate_limit_429_with_retry_after(keyed: tuple[str, KeyFile]) -> None:
    url, kf = keyed
    _, key = kf.create("public", "tiny", rate=8)  # 8 a minute: bursts of 2
    with httpx.Client(base_url=url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {key}"}) as c:
        codes = [c.post("/v1/suggest", json={"subject": "SAML-403"}) for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 429, 429]
    assert int(codes[2].headers["retry-after"]) >= 1 and codes[2].json()["error"]["code"] == "rate_limited"


def test_token_stays_an_admin_key(api_cfg: Config, tmp_path: Path) -> None:
    kf = KeyFile(tmp_path / "k.json")
    kf.create("public", "widget")
    with LiveServer(create_app(api_cfg, token="legacy-token", record=False, keys_file=kf.path)) as srv:
        r = httpx.post(f"{srv.url}/v1/suggest", json={"subject": "x", "audience": "internal"}, timeout=TIMEOUT,
                       headers={"Authorization": "Bearer legacy-token"})
    assert r.status_code == 200


def test_costly_ticket_never_stalls_the_event_loop(api_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long ticket is ranked in a thread under a time budget: /healthz answers meanwhile, and
    the slow request ends in a 503 when the budget is spent. (A short one ranks on the event
    loop: milliseconds, less than the hop to a thread.)"""
    from kbtool.suggest import Engine

    real = Engine.suggest

    def slow(self: Engine, ticket: object, *a: object, **k: object) -> object:
        if "slowpoke" in getattr(ticket, "subject", ""):
            time.sleep(1.5)
        return real(self, ticket, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "suggest", slow)
    with LiveServer(create_app(api_cfg, token="", record=False, budget=0.5)) as srv:
        result: dict[str, httpx.Response] = {}
        t = threading.Thread(target=lambda: result.setdefault(
            "r", httpx.post(f"{srv.url}/v1/suggest", json={"subject": "slowpoke", "body": "long " * INLINE_CHARS},
                            timeout=TIMEOUT)))
        t.start()
        time.sleep(0.1)
        t0 = time.monotonic()
        assert httpx.get(f"{srv.url}/healthz", timeout=TIMEOUT).status_code == 200
        assert time.monotonic() - t0 < 1.0  # not queued behind the 1.5 s request
        t.join(10)
    assert result["r"].status_code == 503 and "time budget" in result["r"].json()["error"]["message"]


def test_short_tickets_rank_on_the_event_loop_long_ones_in_a_thread(api_cfg: Config,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from kbtool.suggest import Engine

    real = Engine.suggest
    threads: dict[str, str] = {}

    def spy(self: Engine, ticket: object, *a: object, **k: object) -> object:
        threads[getattr(ticket, "subject", "")] = threading.current_thread().name
        return real(self, ticket, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "suggest", spy)
    with LiveServer(create_app(api_cfg, token="", record=False)) as srv:
        for subject, body in (("short", "SAML-403 on sign-in"), ("at the limit", "x" * (INLINE_CHARS - 12)),
                              ("long", "SAML-403 on sign-in " * (INLINE_CHARS // 10))):
            r = httpx.post(f"{srv.url}/v1/suggest", json={"subject": subject, "body": body}, timeout=TIMEOUT)
            assert r.status_code == 200
    assert threads["short"] == threads["at the limit"]  # the server's own (event loop) thread
    assert threads["long"] != threads["short"] and "worker" in threads["long"].lower()
