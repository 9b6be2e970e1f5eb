"""Redaction of ticket text: realistic tickets in, nothing personal or secret out."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import pytest

from kbtool.events import FeedbackEvent, Recorder, SuggestedItem, SuggestEvent, redact
from kbtool.events.redact import RedactionUnavailable

redact_module = sys.modules["kbtool.events.redact"]  # `kbtool.events.redact` is also the function

TICKET = """Subject: Can't sync invoices since Monday

Hi team,

I'm Jane Doe (jane.doe@acme-logistics.co.uk, mobile +44 7700 900123, office (415) 555-0132).
Our integration calls the API from 10.20.30.40 and 2a01:4f8:c0c:1234::1 and gets 401 on
every request since we rotated keys. Config:

    KBTOOL_API_KEY=sk_live_51HxQ2eKp0aBcDeFgHiJkLmNo
    DATABASE_URL=postgres://billing:Winter2025!@db.acme-logistics.co.uk:5432/ledger
    Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.dGhpc2lzYXNpZw

Refund to card 4111 1111 1111 1111 or IBAN GB82 WEST 1234 5698 7654 32 please.
Version 4.2.1.0 of the app, order 20931844, ticket #48213, happened on 2025-03-01 at 10:30.
"""


def test_realistic_ticket() -> None:
    out = redact(TICKET)
    for leaked in ("jane.doe@", "7700 900123", "555-0132", "10.20.30.40", "2a01:4f8", "51HxQ2eKp0",
                   "Winter2025", "eyJhbGci", "4111 1111", "GB82", "5698 7654"):
        assert leaked not in out, leaked
    assert "[EMAIL]" in out and "[PHONE]" in out and "[IP]" in out and "[CARD]" in out and "[IBAN]" in out
    assert "postgres://billing:[SECRET]@db.acme-logistics.co.uk:5432/ledger" in out  # host kept: it says which DB
    # what makes the ticket findable stays
    for kept in ("Can't sync invoices", "401", "Version 4.2.1.0", "order 20931844", "#48213", "2025-03-01", "10:30"):
        assert kept in out, kept


@pytest.mark.parametrize(("text", "expected"), [
    ("call me on 020 7946 0958 after 5", "call me on [PHONE] after 5"),
    ("Phone: 5550132999", "Phone: [PHONE]"),
    ("tel. +49 30 901820", "tel. [PHONE]"),
    ("my password is Tr0ub4dor&3 sorry", "my password is [SECRET] sorry"),
    ('db_password = "correct-horse-9"', 'db_password = "[SECRET]"'),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [SECRET]"),
    ("token: ghp_abcdefghijklmnopqrstuvwxyz0123456789", "token: [TOKEN]"),
    ("AWS AKIAIOSFODNN7ABCDEFG leaked", "AWS [TOKEN] leaked"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAxyzxyzxyzxyzxyzxyz\n-----END RSA PRIVATE KEY-----\nthx",
     "[PRIVATE KEY]\nthx"),
    ("from server 192.168.1.20 and 8.8.8.8", "from server [IP] and [IP]"),
    ("mail bob@corp.internal now", "mail [EMAIL] now"),  # reserved TLD: a placeholder in docs, a person here
    ("IBAN DE89 3704 0044 0532 0130 00.", "IBAN [IBAN]."),
])
def test_masks(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "card 4111111111111112 fails",  # not Luhn-valid: an order number, not a card
    "IBAN DE00 3704 0044 0532 0130 00",  # bad checksum
    "between 2019-2023 on 12/03/2024 at 127.0.0.1 with netmask 255.255.255.0",
    "error 0x80070005 in build 10.2.3.4, v2.14.3, price 1,299.00, ticket #12345678",
    "see logo@2x.png",
    "",
])
def test_leaves_alone(text: str) -> None:
    assert redact(text) == text


def test_masks_what_lint_finds_from_the_scanner() -> None:
    """The secrets come from lint's SensitiveScanner: its finding for a Stripe key is ours."""
    assert redact("key rk_test_abcdefghijklmnop1234 here") == "key [TOKEN] here"


def test_fails_closed_without_the_scanner(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str, package: str | None = None) -> Any:
        raise ImportError(name)

    redact_module._scanner.cache_clear()
    monkeypatch.setattr(redact_module.importlib, "import_module", broken)
    try:
        with pytest.raises(RedactionUnavailable):
            redact("jane@acme.com")

        class Mem:
            events: list[SuggestEvent] = []

            def record_suggest(self, e: SuggestEvent) -> bool:
                self.events.append(e)
                return True

        rec = Recorder(Mem())  # type: ignore[arg-type]
        ev = rec.record_suggest({"suggestions": []}, audience="public", ticket_text="jane@acme.com")
        assert ev is not None and ev.ticket_text is None and rec.stats.redaction_failures == 1
    finally:
        monkeypatch.undo()
        redact_module._scanner.cache_clear()


def test_feedback_comment_is_redacted() -> None:
    rec = Recorder(None)  # type: ignore[arg-type]
    fb = rec.feedback_event(article_id="a", outcome="helpful", source="help-center", comment="ring 020 7946 0958")
    assert fb.comment == "ring [PHONE]"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome": "great"}, "outcome: expected one of"),
    ({"article_id": ""}, "article_id: must not be empty"),
    ({"outcome": "linked"}, "suggestion_event_id or ticket_id"),
    ({"suggestion_event_id": "nope"}, "suggestion_event_id: expected 32"),
    ({"time": datetime(2025, 1, 1)}, "time: must be timezone-aware"),
])
def test_feedback_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"article_id": "a", "outcome": "helpful", "source": "agent", **kwargs}
    with pytest.raises(ValueError, match=message):
        FeedbackEvent(**fields)


def test_suggest_validation() -> None:
    with pytest.raises(ValueError, match="confidence"):
        SuggestedItem("a", 1, 1.0, "sure")
    with pytest.raises(ValueError, match="rank"):
        SuggestedItem("a", 0, 1.0, "high")
    with pytest.raises(ValueError, match="audience"):
        SuggestEvent(audience="everyone")
    with pytest.raises(ValueError, match="twice"):
        SuggestEvent(audience="public", suggestions=(SuggestedItem("a", 1, 1, "high"), SuggestedItem("a", 2, 1, "low")))
    with pytest.raises(ValueError, match="abstained"):
        SuggestEvent(audience="public", abstained=True, suggestions=(SuggestedItem("a", 1, 1, "high"),))
    assert Recorder(None).record_suggest({}, audience="everyone") is None  # type: ignore[arg-type]
