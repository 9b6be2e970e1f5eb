"""The suggest HTTP API on a real uvicorn server on 127.0.0.1 (random free port).

Every bad input gets a 4xx with the JSON error shape (never a 5xx, never a hang); auth;
the audience guarantee over HTTP; hot reload under load; `kbtool serve --workers 2`; and
schemathesis against the app's own OpenAPI spec.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kbfactory import make_project, write_article
from liveserver import LiveServer, free_port, kbtool_command, stop, wait_up
from sentinels import (
    HIDDEN,
    OLD_PUBLIC,
    SENTINEL_WORDS,
    assert_public_safe,
    non_public_ids,
    public_codes,
    retired_public_ids,
    sentinel_queries,
)

from kbtool.api import MAX_BODY, create_app
from kbtool.config import Config
from kbtool.content import load_kb
from kbtool.index import Index
from kbtool.suggest import Engine, Ticket

TOKEN = "test-token-6f1d2c9a0b7e4d3f"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "plinketyquoxtext"  # ticket text that must never come back in an error or a log
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


def assert_error(r: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """A 4xx with the stable JSON error shape that does not echo the ticket."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert SECRET not in r.text
    return body["error"]


def build(cfg: Config, rebuild: bool = False) -> Any:
    return Index.for_config(cfg).build(load_kb(cfg.kb), rebuild=rebuild)


# --- servers (api_cfg: tests/api/conftest.py) ------------------------------------------------

@pytest.fixture(scope="module")
def server(api_cfg: Config) -> Iterator[LiveServer]:
    """Requires the bearer token."""
    with LiveServer(create_app(api_cfg, token=TOKEN)) as s:
        yield s


@pytest.fixture(scope="module")
def open_server(api_cfg: Config) -> Iterator[LiveServer]:
    """No token configured (token="" also ignores any $KBTOOL_API_TOKEN)."""
    with LiveServer(create_app(api_cfg, token="")) as s:
        yield s


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT, headers=AUTH) as c:
        yield c


@pytest.fixture
def anon(open_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=open_server.url, timeout=TIMEOUT) as c:
        yield c


# --- the happy path ------------------------------------------------------------------------

def test_healthz_needs_no_token(server: LiveServer, api_cfg: Config) -> None:
    r = httpx.get(f"{server.url}/healthz", timeout=TIMEOUT)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["documents"] > 60


def test_suggest(client: httpx.Client) -> None:
    r = client.post("/v1/suggest", json={"subject": "SSO login fails with SAML-403", "body": "<p>Okta user</p>",
                                         "product": "sso", "limit": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert set(data) == {"suggestions", "reason", "error_codes", "semantic", "event_id"}
    assert len(data["event_id"]) == 32  # recorded: feedback can refer to it
    assert data["error_codes"] == ["SAML-403"] and data["reason"] is None and data["semantic"] is False
    first = data["suggestions"][0]
    assert first["id"] == "saml-403-user-not-assigned" and first["confidence"] == "high"
    assert first["url"] == "https://help.example.com/articles/saml-403-user-not-assigned/"
    assert first["why"]["error_codes"] == ["SAML-403"] and first["why"]["product"] == "sso"
    assert "saml" in first["why"]["terms"]["title"] and "**" in first["snippet"]
    assert len(data["suggestions"]) <= 3


def test_no_match_and_empty_ticket(client: httpx.Client) -> None:
    for ticket in ({"subject": "my printer is out of toner"}, {"subject": "", "body": "  "}, {"body": "zzqx"}):
        r = client.post("/v1/suggest", json=ticket)
        assert r.status_code == 200
        assert r.json()["suggestions"] == [] and r.json()["reason"]


def test_internal_results_with_a_valid_token(client: httpx.Client) -> None:
    r = client.post("/v1/suggest", json={"subject": f"{HIDDEN['hidden-runbook']['word']} failed", "audience": "internal"})
    assert r.status_code == 200
    first = r.json()["suggestions"][0]
    assert first["id"] == "hidden-runbook" and first["url"] is None
    r = client.post("/v1/suggest", json={"subject": f"{HIDDEN['hidden-runbook']['word']} failed"})
    assert all(s["id"] not in HIDDEN for s in r.json()["suggestions"])


def _ordered(value: Any) -> Any:
    """`value` with every object as a list of (key, value) pairs: comparing these compares key order too."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


# tickets whose answers cover every shape: codes, product, succession, internal (url null), no match (reason)
SHAPES: list[dict[str, Any]] = [
    {"subject": "SSO login fails with SAML-403", "body": "<p>Okta user</p>", "product": "sso", "limit": 3},
    {"subject": f"{OLD_PUBLIC['word']} webhook failures", "limit": 5},
    {"subject": f"{HIDDEN['hidden-runbook']['word']} failed", "audience": "internal"},
    {"subject": "customer wants a postmortem rca", "audience": "internal", "limit": 20},
    {"subject": "v1 api key in the x-orbit-key header stopped working", "limit": 20},
    {"subject": "my printer is out of toner"},
    {"body": "zzqx"},
]


def test_the_json_sent_is_the_engines_result(client: httpx.Client, api_cfg: Config) -> None:
    """Through the declared response model, the payload is exactly `SuggestResult.to_dict()` (what the API
    sent before it had one, and what `kbtool suggest --format json` prints): names, order, nulls, omissions."""
    snap = Index.for_config(api_cfg).open()
    try:
        engine = Engine.from_snapshot(snap, api_cfg.site_url)
    finally:
        snap.close()
    seen: set[str] = set()
    for req in SHAPES:
        r = client.post("/v1/suggest", json=req)
        assert r.status_code == 200, r.text
        want = engine.suggest(Ticket(req.get("subject", ""), req.get("body", ""), req.get("product"),
                                     req.get("audience", "public"), req.get("limit", 5))).to_dict()
        data = r.json()
        assert list(data) == ["suggestions", "reason", "error_codes", "semantic", "event_id"]
        data.pop("event_id")  # the recording's id: the rest is the engine's result
        assert _ordered(data) == _ordered(want), req
        for s in data["suggestions"]:
            assert list(s) == ["id", "title", "url", "score", "confidence", "snippet", "why"]
            order = ["error_codes", "terms", "semantic", "product", "replaces"]
            assert list(s["why"]) == [k for k in order if k in s["why"]]
            assert None not in s["why"].values()  # what does not apply is left out, never null
            seen |= set(s["why"]) | ({"url-null"} if s["url"] is None else set())
        seen |= {"reason"} if data["reason"] is not None else set()
    assert seen >= {"error_codes", "terms", "product", "replaces", "url-null", "reason"}


def _schema_validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema validator for one schema of `spec`, its `$ref`s resolved against the spec's components."""
    import jsonschema

    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


def _response_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    return spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_responses_match_the_served_openapi_schema(client: httpx.Client, anon: httpx.Client) -> None:
    import jsonschema

    spec = client.get("/openapi.json").json()
    suggest_ok = _schema_validator(spec, _response_schema(spec, "/v1/suggest", "post", "200"))
    article_ok = _schema_validator(spec, _response_schema(spec, "/v1/articles/{article_id}", "get", "200"))
    health_ok = _schema_validator(spec, _response_schema(spec, "/healthz", "get", "200"))
    error = _schema_validator(spec, _response_schema(spec, "/v1/suggest", "post", "401"))
    for req in SHAPES + [{"subject": "", "body": "  "}]:
        r = client.post("/v1/suggest", json=req)
        assert r.status_code == 200
        suggest_ok.validate(r.json())
    for c, doc_id in ((anon, "reset-password"), (client, "reset-password"), (client, "hidden-internal"),
                      (client, "internal-api-debug-headers")):
        r = c.get(f"/v1/articles/{doc_id}")
        assert r.status_code == 200, doc_id
        article_ok.validate(r.json())
    health_ok.validate(anon.get("/healthz").json())
    error_404 = _schema_validator(spec, _response_schema(spec, "/v1/articles/{article_id}", "get", "404"))
    error_404.validate(client.get("/v1/articles/no-such-article").json())
    for r, status in ((client.post("/v1/suggest", json={"subject": "x"}, headers={"Authorization": "Bearer no"}), 401),
                      (client.post("/v1/suggest", json={"subject": 5}), 422),
                      (anon.post("/v1/suggest", json={"subject": "x", "audience": "internal"}), 403)):
        assert r.status_code == status
        error.validate(r.json())
    # and the schemas do reject what the API must never send
    good = client.post("/v1/suggest", json=SHAPES[0]).json()
    for bad in ({**good, "suggestions": [{**good["suggestions"][0], "confidence": "certain"}]},
                {**good, "suggestions": [{**good["suggestions"][0], "why": {"semantic": "high"}}]},
                {k: v for k, v in good.items() if k != "suggestions"}):
        with pytest.raises(jsonschema.ValidationError):
            suggest_ok.validate(bad)


# --- bad input: always a 4xx JSON error --------------------------------------------------------

JSON = {"content-type": "application/json"}
BAD_BODIES = [
    ("malformed json", b'{"subject": "' + SECRET.encode() + b'",', JSON, 422),
    ("not json at all", SECRET.encode(), JSON, 422),
    ("truncated", b'{"subject"', JSON, 422),
    ("trailing garbage", b'{"subject": "x"} x', JSON, 422),
    ("empty body", b"", JSON, 422),
    ("null", b"null", JSON, 422),
    ("array", b'["subject"]', JSON, 422),
    ("string", b'"SAML-403"', JSON, 422),
    ("number", b"42", JSON, 422),
    ("invalid utf-8", b'{"subject": "\xff\xfe\xfd"}', JSON, 422),
    ("lone surrogate", b'{"subject": "\\ud800 ' + SECRET.encode() + b'"}', JSON, 422),
    ("nested 100k deep", b"[" * 100_000 + b"]" * 100_000, JSON, 422),
    ("nested object deep", b'{"subject": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}", JSON, 422),
    ("NaN", b'{"subject": NaN}', JSON, 422),
    ("subject number", b'{"subject": 403}', JSON, 422),
    ("subject list", b'{"subject": ["SAML-403"]}', JSON, 422),
    ("body object", b'{"body": {"text": "x"}}', JSON, 422),
    ("subject null", b'{"subject": null}', JSON, 422),
    ("product number", b'{"subject": "x", "product": 5}', JSON, 422),
    ("audience unknown", b'{"subject": "x", "audience": "admin"}', JSON, 422),
    ("audience case", b'{"subject": "x", "audience": "Internal"}', JSON, 422),
    ("limit string", b'{"subject": "x", "limit": "5"}', JSON, 422),
    ("limit float", b'{"subject": "x", "limit": 5.5}', JSON, 422),
    ("limit bool", b'{"subject": "x", "limit": true}', JSON, 422),
    ("limit zero", b'{"subject": "x", "limit": 0}', JSON, 422),
    ("limit negative", b'{"subject": "x", "limit": -1}', JSON, 422),
    ("limit 21", b'{"subject": "x", "limit": 21}', JSON, 422),
    ("limit absurd", b'{"subject": "x", "limit": 99999999999999999999999999999}', JSON, 422),
    ("limit huge exponent", b'{"subject": "x", "limit": 1e400}', JSON, 422),
    ("limit infinity", b'{"subject": "x", "limit": Infinity}', JSON, 422),
    ("missing subject and body", b'{"product": "sso"}', JSON, 422),
    ("empty object", b"{}", JSON, 422),
    ("extra field", b'{"subject": "x", "priority": "high"}', JSON, 422),
    ("extra field only", b'{"tags": ["a"]}', JSON, 422),
    ("subject too long", json.dumps({"subject": SECRET + "x" * 2_001}).encode(), JSON, 422),
    ("product too long", json.dumps({"subject": "x", "product": "p" * 101}).encode(), JSON, 422),
    ("body too long", json.dumps({"body": "y" * 200_001}).encode(), JSON, 422),
    ("duplicate keys", b'{"subject": "x", "subject": 5}', JSON, 422),
    ("no content type", b'{"subject": "x"}', {}, 415),
    ("text/plain", b'{"subject": "x"}', {"content-type": "text/plain"}, 415),
    ("form", b"subject=x", {"content-type": "application/x-www-form-urlencoded"}, 415),
    ("multipart", b"--b\r\n\r\nx\r\n--b--", {"content-type": "multipart/form-data; boundary=b"}, 415),
    ("json lookalike", b'{"subject": "x"}', {"content-type": "application/jsonx"}, 415),
    ("xml", b"<ticket/>", {"content-type": "application/xml"}, 415),
]


@pytest.mark.parametrize("name, content, headers, status", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_is_a_4xx_json_error(client: httpx.Client, name: str, content: bytes, headers: dict[str, str],
                                       status: int) -> None:
    r = client.post("/v1/suggest", content=content, headers=headers)
    err = assert_error(r, status)
    assert err["code"] == {422: "invalid_request", 415: "unsupported_media_type"}[status]


def test_limit_is_a_json_schema_integer(client: httpx.Client) -> None:
    """3.0 is an integer in JSON Schema (the spec's language), so it is accepted like 3."""
    r = client.post("/v1/suggest", content=b'{"subject": "webhook token export invoice sso", "limit": 2.0}', headers=JSON)
    assert r.status_code == 200 and len(r.json()["suggestions"]) == 2


def test_json_content_type_with_charset_is_fine(client: httpx.Client) -> None:
    r = client.post("/v1/suggest", content=b'{"subject": "SAML-403"}',
                    headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_body_over_256_kib_with_content_length(client: httpx.Client) -> None:
    content = json.dumps({"body": SECRET + "x" * MAX_BODY}).encode()
    r = client.post("/v1/suggest", content=content, headers=JSON)
    assert assert_error(r, 413)["code"] == "too_large"


def test_body_over_256_kib_chunked_without_content_length(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"body": "' + SECRET.encode()
        for _ in range(40):
            yield b"x" * 8192
        yield b'"}'

    r = client.post("/v1/suggest", content=chunks(), headers=JSON)
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert assert_error(r, 413)["code"] == "too_large"


def test_chunked_body_under_the_limit_works(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"subject": "webhooks", "body": "'
        for _ in range(10):
            yield b"WEBHOOK-TIMEOUT deliveries fail. " * 100
        yield b'"}'

    r = client.post("/v1/suggest", content=chunks(), headers=JSON)
    assert r.status_code == 200 and r.json()["suggestions"][0]["id"] == "webhook-delivery-failures"


def test_huge_declared_body_is_refused_before_it_is_sent(server: LiveServer) -> None:
    """Content-Length of 1 GB: the 413 arrives at once, without the server waiting for the body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 1000000000\r\n\r\n{\"body\": \"")
        t0 = time.monotonic()
        data = b""
        while b'"too_large"' not in data and time.monotonic() - t0 < 3:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        assert time.monotonic() - t0 < 3
    assert data.startswith(b"HTTP/1.1 413 ")
    assert b'"too_large"' in data


def test_slow_incomplete_body_does_not_hang_the_server(server: LiveServer, client: httpx.Client) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"subj")
        # other clients are served meanwhile
        assert client.post("/v1/suggest", json={"subject": "SAML-403"}).status_code == 200


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/v1/suggest", 405), ("PUT", "/v1/suggest", 405), ("DELETE", "/v1/suggest", 405),
    ("PATCH", "/v1/suggest", 405), ("POST", "/healthz", 405), ("POST", "/v1/articles/reset-password", 405),
    ("GET", "/v1/nothing", 404), ("GET", "/", 404), ("POST", "/v1/suggest/extra", 404),
])
def test_wrong_method_or_path(client: httpx.Client, method: str, path: str, status: int) -> None:
    r = client.request(method, path, json={"subject": "x"})
    assert_error(r, status)
    if status == 405:
        assert "allow" in r.headers


@pytest.mark.parametrize("article_id", [
    "no-such-article", "../../etc/passwd", "reset-password%00", "RESET-PASSWORD", "reset-password ", "x" * 2000,
    "%2e%2e%2fkb", "\u00e9t\u00e9", "reset-password.md",
])
def test_odd_article_ids_are_404(client: httpx.Client, article_id: str) -> None:
    assert_error(client.get(f"/v1/articles/{article_id}"), 404)


def test_random_garbage_never_5xx(client: httpx.Client) -> None:
    import random

    rng = random.Random(3)
    for _ in range(150):
        n = rng.choice([0, 1, 5, 50, 500, 5000])
        raw = bytes(rng.getrandbits(8) for _ in range(n))
        pieces = [b'{"subject": ', raw, b"}"] if rng.random() < 0.5 else [raw]
        r = client.post("/v1/suggest", content=b"".join(pieces), headers=JSON)
        assert 400 <= r.status_code < 500, r.status_code
    for _ in range(100):
        obj = {rng.choice(["subject", "body", "product", "audience", "limit", "x"]): rng.choice(
            [None, True, 1, -5, 3.5, "", "SAML-403", [], {}, "internal", 10**30]) for _ in range(rng.randint(0, 4))}
        r = client.post("/v1/suggest", json=obj)
        assert r.status_code in (200, 403, 422), (obj, r.status_code)


# --- auth ------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
    {"Authorization": "Bearer"}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": "Bearer \u00e9\u00e9".encode()}, {"X-Api-Key": TOKEN},
])
def test_token_required(server: LiveServer, headers: dict[str, Any]) -> None:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
        for r in (c.post("/v1/suggest", json={"subject": SECRET}, headers=headers),
                  c.post("/v1/suggest", json={"subject": "x", "audience": "internal"}, headers=headers),
                  c.get("/v1/articles/reset-password", headers=headers),
                  c.get(f"/v1/articles/{next(iter(HIDDEN))}", headers=headers)):
            assert assert_error(r, 401)["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"


def test_valid_token_variants(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
        for auth in (f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER  {TOKEN}"):
            assert c.post("/v1/suggest", json={"subject": "x"}, headers={"Authorization": auth}).status_code == 200


def test_internal_needs_a_token_when_none_is_configured(anon: httpx.Client) -> None:
    r = anon.post("/v1/suggest", json={"subject": "SAML-403", "audience": "internal"})
    assert assert_error(r, 403)["code"] == "forbidden"
    assert anon.post("/v1/suggest", json={"subject": "SAML-403"}).status_code == 200
    # a token sent to a server that has none gives no extra rights
    r = anon.post("/v1/suggest", json={"subject": "SAML-403", "audience": "internal"}, headers=AUTH)
    assert_error(r, 403)


# --- the audience guarantee over HTTP ------------------------------------------------------------

def test_hidden_articles_are_404_for_public_callers(anon: httpx.Client, client: httpx.Client, api_cfg: Config) -> None:
    hidden = non_public_ids(api_cfg.kb)
    replaceable = retired_public_ids(api_cfg.kb)
    moved = 0
    for doc_id in sorted(hidden):
        r = anon.get(f"/v1/articles/{doc_id}")
        if r.status_code == 308:  # a retired public article leads to its public successor, nothing else
            assert doc_id in replaceable and r.json()["replaced_by"] not in hidden
            assert r.headers["location"] == r.json()["url"] == f"/v1/articles/{r.json()['replaced_by']}"
            moved += 1
            continue
        assert_error(r, 404)
    assert moved >= 1
    # with the token: live internal content is there; drafts, in-review and retired never
    for doc_id in ("hidden-internal", "hidden-runbook", "hidden-public-runbook", "internal-api-debug-headers"):
        r = client.get(f"/v1/articles/{doc_id}")
        assert r.status_code == 200 and r.json()["url"] is None
    for doc_id in ("hidden-draft", "hidden-in-review", "hidden-retired", "draft-audit-log-export",
                   "account-deletion"):
        assert_error(client.get(f"/v1/articles/{doc_id}"), 404)
    for doc_id in ("api-v1-keys", OLD_PUBLIC["id"]):  # retired with a live successor: 308, not a dead end
        assert client.get(f"/v1/articles/{doc_id}").status_code == 308
    # and a public article is the same for everyone
    a, b = anon.get("/v1/articles/reset-password"), client.get("/v1/articles/reset-password")
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert a.json()["url"] == "https://help.example.com/articles/reset-password/"


def test_audience_guarantee_api(anon: httpx.Client, client: httpx.Client, api_cfg: Config) -> None:
    """Hundreds of public requests aimed at hidden content, to both servers: nothing hidden comes back."""
    forbidden = non_public_ids(api_cfg.kb)
    replaceable = retired_public_ids(api_cfg.kb)
    pub_codes = public_codes(api_cfg.kb)
    queries = sentinel_queries(api_cfg.kb, n_random=120, seed=9)
    assert len(queries) >= 300
    for k, t in enumerate(queries):
        req = {"subject": t.subject, "body": t.body, "limit": min(t.limit, 20)}
        if t.product:
            req["product"] = t.product
        c = client if k % 3 == 0 else anon
        r = c.post("/v1/suggest", json={**req, **({"audience": "public"} if k % 2 else {})})
        assert r.status_code == 200, r.text
        assert_public_safe(r.json(), t, forbidden, replaceable, pub_codes)
        assert not any(w in r.text for w in SENTINEL_WORDS if w not in (t.subject + t.body))


# --- hot reload ------------------------------------------------------------------------------------

def test_hot_reload_under_load(tmp_path: Path) -> None:
    """Index builds swap in while requests are in flight: every request succeeds, new content shows up."""
    cfg = make_project(tmp_path)
    build(cfg)
    errors: list[str] = []
    done = {"n": 0}
    stop = threading.Event()
    with LiveServer(create_app(cfg, token="")) as srv:
        def hammer(k: int) -> None:
            with httpx.Client(base_url=srv.url, timeout=TIMEOUT) as c:
                tickets = [{"subject": "webhook deliveries time out"}, {"subject": "SAML-403"},
                           {"subject": "export tasks to csv", "body": "dates wrong"}]
                while not stop.is_set():
                    try:
                        r = c.post("/v1/suggest", json=tickets[done["n"] % 3]) if k % 4 else c.get("/healthz")
                        if r.status_code != 200:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                        done["n"] += 1
                    except httpx.HTTPError as e:
                        errors.append(repr(e))

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        try:
            with httpx.Client(base_url=srv.url, timeout=TIMEOUT) as c:
                docs0 = c.get("/healthz").json()["documents"]
                for k in range(3):
                    word = f"hotswapword{k}"
                    write_article(cfg.kb, f"hot-{k}", title=f"Hot article {word}", type="troubleshooting",
                                  body=f"## Symptoms\n\n{word} fails.\n\n## Cause\n\nx\n\n## Resolution\n\ny")
                    assert c.post("/v1/suggest", json={"subject": word}).json()["suggestions"] == []
                    build(cfg, rebuild=(k == 1))  # incremental, full, incremental
                    deadline = time.monotonic() + 15
                    while True:
                        ids = [s["id"] for s in c.post("/v1/suggest", json={"subject": word}).json()["suggestions"]]
                        if ids[:1] == [f"hot-{k}"]:
                            break
                        assert time.monotonic() < deadline, f"build {k} not picked up"
                        time.sleep(0.05)
                    assert c.get(f"/v1/articles/hot-{k}").status_code == 200
                assert c.get("/healthz").json()["documents"] == docs0 + 3
        finally:
            stop.set()
            for t in threads:
                t.join(20)
    assert not errors, errors[:5]
    assert done["n"] > 50


# --- several workers -------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _connections_held(port: int, pids: list[int]) -> dict[int, int]:
    """How many established connections to 127.0.0.1:`port` each process holds (/proc/net/tcp
    socket inodes, matched against each process's open files)."""
    local = f"0100007F:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == local and f[3] == "01":  # (01: ESTABLISHED)
            inodes.add(f[9])
    held = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        held[pid] = sum(1 for fd in fds.iterdir() if os.readlink(fd) in {f"socket:[{i}]" for i in inodes})
    return held


def _memory(pid: int) -> dict[str, int]:
    """A process's memory in KiB by kind (/proc/PID/smaps_rollup: Rss, Pss, Private_*, Shared_*)."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        out[key] = int(value.split()[0])
    return out


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").is_file(), reason="needs /proc to find the worker processes")
def test_serve_with_two_workers(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    port = free_port()
    cmd = kbtool_command()
    env = {**os.environ, "KBTOOL_API_TOKEN": TOKEN}
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*cmd, "serve", "--port", str(port), "--workers", "2"], cwd=cfg.root, env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    workers: list[int] = []
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url, proc, log)
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = _children(proc.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, workers

        def ask(subject: str, headers: dict[str, str] | None = None) -> httpx.Response:
            # a new connection each time, so the kernel spreads them over the workers
            return httpx.post(f"{url}/v1/suggest", json={"subject": subject}, timeout=TIMEOUT,
                              headers={**AUTH, "Connection": "close", **(headers or {})})

        for _ in range(20):
            r = ask(f"{SECRET} SAML-403")
            assert r.status_code == 200 and r.json()["suggestions"][0]["id"] == "saml-403-user-not-assigned"
        assert ask("SAML-403", {"Authorization": "Bearer nope"}).status_code == 401
        # the workers are forked from the supervisor, which loaded the engine: most of each
        # worker's memory is pages it shares (spawned, each held its own copy: 530 MB at 50k)
        for pid in workers:
            mem = _memory(pid)
            assert mem["Private_Clean"] + mem["Private_Dirty"] < mem["Rss"] / 2, (pid, mem)
        # keep-alive connections opened together are spread over the workers (a listening
        # socket each): with one shared socket, one worker accepted all 24 and the other idled
        # (opened at once, as a load balancer or wrk opens its pool, before any is used)
        conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(24)]
        try:
            for c in conns:
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            for c in conns:
                assert c.recv(64).startswith(b"HTTP/1.1 200")
            held = _connections_held(port, workers)
        finally:
            for c in conns:
                c.close()
        counts = sorted(n for n in held.values() if n)  # (the supervisor's other child holds none)
        assert len(counts) == 2 and sum(counts) == 24 and counts[0] >= 3, held
        # keep-alive requests are not held back by Nagle + delayed ACK (~40 ms each before TCP_NODELAY)
        with httpx.Client(base_url=url, timeout=TIMEOUT, headers=AUTH) as c:
            c.post("/v1/suggest", json={"subject": "warm up"})
            lat = []
            for _ in range(15):
                t0 = time.perf_counter()
                assert c.post("/v1/suggest", json={"subject": "SAML-403"}).status_code == 200
                lat.append(time.perf_counter() - t0)
            assert sorted(lat)[len(lat) // 2] < 0.035, lat
        # one index for all workers: a rebuild reaches every one of them
        write_article(cfg.kb, "workers-new", title="Multiworkerzap failures", type="troubleshooting",
                      body="## Symptoms\n\nmultiworkerzap fails.\n\n## Cause\n\nx\n\n## Resolution\n\ny")
        build(cfg)
        deadline = time.monotonic() + 20
        seen = 0
        while seen < 20:
            ids = [s["id"] for s in ask("multiworkerzap").json()["suggestions"]]
            seen = seen + 1 if ids[:1] == ["workers-new"] else 0
            assert time.monotonic() < deadline, "not every worker picked up the new build"
        assert proc.poll() is None
    finally:
        stop(proc)
        for pid in workers:  # only our own worker processes, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    text = log.read_text(errors="replace")
    assert "POST /v1/suggest" in text  # the access log is on ...
    assert SECRET not in text  # ... and never holds ticket text
    assert "Traceback" not in text


def test_serve_on_a_busy_port_says_so(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([*kbtool_command(), "serve", "--port", str(port), "--workers", "2"], cwd=cfg.root,
                             env={**os.environ, "KBTOOL_API_TOKEN": TOKEN}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


# --- schemathesis ---------------------------------------------------------------------------------

@pytest.mark.slow  # ~15 s
def test_openapi_conformance(api_cfg: Config) -> None:
    """schemathesis against the app's own spec (in-process ASGI): valid and invalid requests for every
    operation, with the token (its ignored_auth check also retries without it). Every default check:
    no 5xx, no undocumented status, responses and headers as the spec says, invalid data rejected."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.config._checks import (
        NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES as NEGATIVE,
    )
    from schemathesis.config._checks import (
        POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES as POSITIVE,
    )

    # JSON Schema limits characters, the server limits bytes: a request within every maxLength can
    # still be over 256 KiB once encoded, and the documented answer to that is 413 (for valid and
    # invalid data alike). Everything else is schemathesis's defaults.
    config = schemathesis.Config.from_dict({"checks": {
        "negative_data_rejection": {"expected-statuses": [*NEGATIVE, "413"]},
        "positive_data_acceptance": {"expected-statuses": [*POSITIVE, "413"]},
    }})
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(api_cfg, token=TOKEN), config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "POST /v1/suggest", "GET /v1/articles/{article_id}", "GET /healthz", "POST /v1/feedback",
        "POST /v1/deflection"}
    for op in operations:
        has_input = len(op.body) > 0 or any(True for _ in op.iter_parameters())
        for mode in schemathesis.GenerationMode if has_input else [schemathesis.GenerationMode.POSITIVE]:
            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=50, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                case.call_and_validate(headers=AUTH)

            check()


def test_openapi_documents_every_error(api_cfg: Config) -> None:
    from fastapi.testclient import TestClient

    spec = TestClient(create_app(api_cfg, token=TOKEN)).get("/openapi.json").json()
    post = spec["paths"]["/v1/suggest"]["post"]
    assert {"200", "401", "403", "413", "415", "422", "503"} <= set(post["responses"])
    assert post["security"] == [{"HTTPBearer": []}]
    assert set(spec["paths"]["/v1/articles/{article_id}"]["get"]["responses"]) >= {"200", "401", "404"}
    req = spec["components"]["schemas"]["SuggestRequest"]
    assert req["additionalProperties"] is False and req["properties"]["limit"]["maximum"] == 20
    assert req["anyOf"] == [{"required": ["subject"]}, {"required": ["body"]}]
    # keys can be created while the server runs, so the scheme is declared even when none exists yet
    open_spec = TestClient(create_app(api_cfg, token="")).get("/openapi.json").json()
    assert open_spec["paths"]["/v1/suggest"]["post"]["security"] == [{"HTTPBearer": []}]
    assert set(spec["paths"]["/v1/feedback"]["post"]["responses"]) >= {"202", "404", "422", "429"}


# --- `kbtool serve --site`: the help center and the API on one origin --------------------------

def test_serves_a_built_site_behind_the_api(api_cfg: Config, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "guide").mkdir(parents=True)
    (site / "index.html").write_text("<h1>Help center</h1>", encoding="utf-8")
    (site / "guide" / "index.html").write_text("<h1>Guide</h1>", encoding="utf-8")
    (tmp_path / "outside.txt").write_text(SECRET, encoding="utf-8")
    with LiveServer(create_app(api_cfg, token="", record=False, site_dir=site)) as s, \
            httpx.Client(base_url=s.url, timeout=TIMEOUT) as c:
        assert "Help center" in c.get("/").text
        assert "Guide" in c.get("/guide/").text
        assert c.get("/healthz").status_code == 200  # the API routes still match first
        r = c.post("/v1/suggest", json={"subject": "SAML-403"})
        assert r.status_code == 200 and r.json()["suggestions"], r.text
        assert c.get("/no-such-page/").status_code == 404
        traversal = c.get("/%2e%2e/outside.txt")
        assert traversal.status_code == 404 and SECRET not in traversal.text


def test_serve_site_needs_a_built_site(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kbtool.cli import main

    cfg = make_project(tmp_path / "p")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(main, ["serve", "--kb", str(cfg.kb), "--site", str(empty)])
    assert r.exit_code != 0 and "build the help center first" in r.output, r.output
