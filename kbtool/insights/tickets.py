"""Offline insights: a ticket export in, the events the API would have recorded out.

Two formats, told apart by content, not by name:
- JSON Lines, one ticket a line: `{"subject", "body", "id"?, "created_at"?, "product"?}`;
- a Zendesk tickets export, `{"tickets": [{"id", "subject", "description", "created_at", ...}]}`
  (the Tickets API / incremental export shape; `description` is the first comment).

A bad line or ticket is a located problem (`file:line: why`, or `file: tickets[3]: why`) and
the others go on. Each ticket is run through the suggest engine and recorded through the
events `Recorder`, so its text is redacted exactly as the API would store it; a ticket
without `created_at` is placed at the time of the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..content import KB
from ..events import Recorder, SuggestEvent
from ..events.model import MAX_ID
from ..index import Index, update_index
from ..suggest import Engine, EngineHolder, Ticket


@dataclass(frozen=True)
class TicketProblem:
    path: str
    where: str  # "3" (a line) or "tickets[3]"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.where}: {self.message}"


@dataclass(frozen=True)
class ExportTicket:
    id: str | None
    subject: str
    body: str
    created_at: datetime | None = None
    product: str | None = None


@dataclass(frozen=True)
class TicketFile:
    tickets: list[ExportTicket]
    problems: list[TicketProblem]
    format: str  # "jsonl" or "zendesk"


class TicketFileError(Exception):
    """The file cannot be read at all (missing, unreadable, not UTF-8)."""


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"created_at: expected an ISO 8601 string, got {type(value).__name__}")
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"created_at: not an ISO 8601 time: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _ticket(obj: Any, body_key: str) -> ExportTicket:
    """One ticket from its JSON object; ValueError names the field."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    subject, body = obj.get("subject") or "", obj.get(body_key) or ""
    if not isinstance(subject, str) or not isinstance(body, str):
        raise ValueError(f"'subject' and '{body_key}' must be strings")
    if not (subject.strip() or body.strip()):
        raise ValueError(f"empty ticket: no 'subject' or '{body_key}'")
    tid = obj.get("id")
    if tid is not None and (isinstance(tid, bool) or not isinstance(tid, str | int)):
        raise ValueError(f"id: expected a string or a number, got {type(tid).__name__}")
    product = obj.get("product") or None
    if product is not None and not isinstance(product, str):
        raise ValueError(f"product: expected a string, got {type(product).__name__}")
    for name, value in (("id", tid), ("product", product)):
        if value is not None and (len(str(value)) > MAX_ID or any(c in str(value) for c in "\n\r\t\x00")):
            raise ValueError(f"{name}: expected one line of at most {MAX_ID} characters")
    return ExportTicket(None if tid is None else str(tid), subject, body, _time(obj.get("created_at")), product)


def read_tickets(path: Path) -> TicketFile:
    """Read a JSONL or Zendesk export; raises TicketFileError only when nothing can be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise TicketFileError(f"{path}: cannot read the ticket file ({type(e).__name__}: {e})") from None
    tickets, problems = [], []
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("tickets"), list):
        for i, obj in enumerate(whole["tickets"]):
            try:
                tickets.append(_ticket(obj, "description"))
            except ValueError as e:
                problems.append(TicketProblem(str(path), f" tickets[{i}]", str(e)))
        return TicketFile(tickets, problems, "zendesk")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            tickets.append(_ticket(json.loads(line), "body"))
        except json.JSONDecodeError as e:
            problems.append(TicketProblem(str(path), f"{n}:{e.colno}", f"not valid JSON: {e.msg}"))
        except ValueError as e:
            problems.append(TicketProblem(str(path), str(n), str(e)))
    return TicketFile(tickets, problems, "jsonl")


def open_engine(config: Config, kb: KB) -> Engine:
    """The suggest engine over the configured index, brought up to date with `kb` first
    (the library-side twin of the CLI's `engine_for`; raises `index.IndexProblem`)."""
    idx = Index.for_config(config)
    if not idx.exists() or idx.is_stale(config.kb):
        update_index(config, kb=kb, start_embedding=False)
    return EngineHolder(config).get()


def suggest_events(tickets: list[ExportTicket], engine: Engine, recorder: Recorder, *,
                   audience: str = "public") -> Iterator[SuggestEvent]:
    """The events the API would record for these tickets (text redacted by `recorder`)."""
    now = datetime.now(UTC)
    for t in tickets:
        result = engine.suggest(Ticket(t.subject, t.body, t.product, audience), snippets=False)
        yield recorder.suggest_event(result, audience=audience, ticket_text=f"{t.subject}\n\n{t.body}".strip(),
                                     ticket_id=t.id, channel="export", product=t.product,
                                     time=t.created_at or now)


__all__ = ["ExportTicket", "TicketFile", "TicketFileError", "TicketProblem", "open_engine", "read_tickets",
           "suggest_events"]
