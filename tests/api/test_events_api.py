"""Issue 14 over real HTTP: every answer recorded off the request path, feedback and deflection,
CORS for the help center, and a store that is down never failing a suggestion."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from liveserver import LiveServer, free_port

from kbtool.api import create_app
from kbtool.config import Config
from kbtool.events import open_store
from kbtool.index import current_build

TOKEN = "events-token-4b1e9d"
AGENT = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@contextmanager
def serving(cfg: Config, target: str, token: str = "", **changes: Any) -> Iterator[tuple[httpx.Client, Any]]:
    """A live server recording into `target`; yields a client and the app's services."""
    app = create_app(dataclasses.replace(cfg, db=target, **changes), token=token)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=TIMEOUT) as c:
        yield c, app.state.services
        app.state.services.writer.drain()


def _recorded(services: Any, target: str) -> Any:
    assert services.writer.drain(), "the writer did not catch up"
    return open_store(target)


def test_every_answer_is_recorded(api_cfg: Config, target: str) -> None:
    with serving(api_cfg, target, TOKEN) as (c, services):
        r = c.post("/v1/suggest", headers=AGENT, json={
            "subject": "SSO login fails with SAML-403", "body": "user jane.doe@customer.io cannot log in",
            "product": "sso", "ticket_id": "ZD-1", "channel": "zendesk", "limit": 3})
        miss = c.post("/v1/suggest", headers=AGENT, json={"subject": "printer out of toner", "audience": "internal"})
        assert r.status_code == miss.status_code == 200
        with _recorded(services, target) as store:
            events = {e.event_id: e for e in store.suggest_events()}
            health = c.get("/healthz").json()["events"]
    answer = r.json()
    ev = events[answer["event_id"]]
    assert (ev.ticket_id, ev.channel, ev.audience, ev.product) == ("ZD-1", "zendesk", "public", "sso")
    assert [(s.article_id, s.rank, s.score, s.confidence) for s in ev.suggestions] == [
        (s["id"], k, s["score"], s["confidence"]) for k, s in enumerate(answer["suggestions"], 1)]
    assert not ev.abstained and ev.semantic is answer["semantic"]
    assert ev.index_build == current_build(api_cfg.index_dir).name  # type: ignore[union-attr]
    assert "SAML-403" in ev.ticket_text and "jane.doe@customer.io" not in ev.ticket_text  # redacted
    gap = events[miss.json()["event_id"]]
    assert gap.abstained and gap.abstain_reason == miss.json()["reason"] and gap.audience == "internal"
    assert health["recorded"] >= 2 and health["dropped"] == 0
    assert health["backend"] == ("postgres" if target.startswith("postgresql") else "sqlite")


def test_feedback_and_deflection_are_recorded(api_cfg: Config, target: str) -> None:
    with serving(api_cfg, target, TOKEN) as (c, services):
        eid = c.post("/v1/suggest", headers=AGENT, json={"subject": "SAML-403", "ticket_id": "ZD-2"}).json()["event_id"]
        a = c.post("/v1/feedback", headers=AGENT, json={"event_id": eid, "article_id": "saml-403-user-not-assigned",
                                                        "outcome": "linked", "source": "zendesk-app"})
        b = c.post("/v1/feedback", json={"ticket_id": "ZD-2", "article_id": "reset-password",
                                         "outcome": "resolved", "comment": "call me on +1 415 555 0100"},
                   headers=AGENT)
        h = c.post("/v1/feedback", json={"article_id": "reset-password", "outcome": "helpful",
                                         "source": "help-center"})  # no key: the help center's button
        d = c.post("/v1/deflection", json={"session_id": "s-1", "article_id": "reset-password", "query": "pw"})
        assert [x.status_code for x in (a, b, h, d)] == [202] * 4, [x.text for x in (a, b, h, d)]
        with _recorded(services, target) as store:
            fb = {e.event_id: e for e in store.feedback_events()}
            defl = list(store.deflection_events())
    assert fb[a.json()["event_id"]].suggestion_event_id == eid and fb[a.json()["event_id"]].outcome == "linked"
    assert fb[b.json()["event_id"]].ticket_id == "ZD-2" and "555 0100" not in (fb[b.json()["event_id"]].comment or "")
    assert fb[h.json()["event_id"]].source == "help-center"
    assert [(x.session_id, x.article_id) for x in defl] == [("s-1", "reset-password")]


FEEDBACK_422 = [
    ({"article_id": "reset-password", "outcome": "great"}, "outcome"),
    ({"outcome": "helpful"}, "article_id"),
    ({"article_id": "reset-password", "outcome": "helpful", "comentt": "x"}, "comentt"),
    ({"article_id": "reset-password", "outcome": "linked"}, "suggestion_event_id or ticket_id"),
    ({"article_id": "reset-password", "outcome": "helpful", "event_id": "not-hex"}, "event_id"),
    ({"article_id": "reset-password", "outcome": "helpful", "ticket_id": "a\nb"}, "ticket_id"),
    ({"article_id": 5, "outcome": "helpful"}, "article_id"),
]


def test_feedback_errors(api_cfg: Config, tmp_path: Path) -> None:
    with serving(api_cfg, str(tmp_path / "e.sqlite"), TOKEN) as (c, _):
        for body, field in FEEDBACK_422:
            r = c.post("/v1/feedback", json=body, headers=AGENT)
            assert r.status_code == 422 and field in r.json()["error"]["message"], (body, r.text)
        unknown = c.post("/v1/feedback", json={"article_id": "no-such-article", "outcome": "helpful"})
        internal = c.post("/v1/feedback", json={"article_id": "hidden-internal", "outcome": "helpful"})
        assert unknown.status_code == internal.status_code == 404
        assert unknown.json() == internal.json()  # no existence leak
        assert c.post("/v1/feedback", json={"article_id": "hidden-internal", "outcome": "not_helpful"},
                      headers=AGENT).status_code == 202
        assert c.post("/v1/deflection", json={"session_id": "s", "article_id": "hidden-internal"},
                      headers=AGENT).status_code == 404  # the help center shows public articles only
        assert c.post("/v1/deflection", json={"session_id": "s"}).status_code == 422


def test_cors_only_for_the_site_origins(api_cfg: Config, tmp_path: Path) -> None:
    with serving(api_cfg, str(tmp_path / "e.sqlite"), site_origins=["https://help.acme.test"]) as (c, _):
        pre = c.options("/v1/feedback", headers={"Origin": "https://help.acme.test",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://help.acme.test"
        ok = c.post("/v1/feedback", json={"article_id": "reset-password", "outcome": "helpful"},
                    headers={"Origin": "https://help.acme.test"})
        assert ok.status_code == 202 and ok.headers["access-control-allow-origin"] == "https://help.acme.test"
        evil = c.options("/v1/feedback", headers={"Origin": "https://evil.test",
                                                  "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in evil.headers
        other = c.post("/v1/suggest", json={"subject": "x"}, headers={"Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers


def test_ticket_text_not_stored_when_off(api_cfg: Config, tmp_path: Path) -> None:
    target = str(tmp_path / "e.sqlite")
    with serving(api_cfg, target, store_ticket_text=False) as (c, services):
        eid = c.post("/v1/suggest", json={"subject": "SAML-403 for bob@customer.io"}).json()["event_id"]
        with _recorded(services, target) as store:
            (ev,) = [e for e in store.suggest_events() if e.event_id == eid]
    assert ev.ticket_text is None and ev.suggestions


@pytest.mark.parametrize("kind", ["sqlite-unwritable", "postgres-down"])
def test_store_down_never_fails_a_suggestion(api_cfg: Config, tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    target = str(blocker / "events.sqlite") if kind.startswith("sqlite") else \
        f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=1"
    with serving(api_cfg, target) as (c, services):
        t0 = time.monotonic()
        for _ in range(20):
            r = c.post("/v1/suggest", json={"subject": "SAML-403"})
            assert r.status_code == 200 and r.json()["suggestions"]
        assert time.monotonic() - t0 < 10
        services.writer.drain()
        events = c.get("/healthz").json()["events"]
    assert events["recorded"] == 0 and events["dropped"] + events["buffered"] == 20
