"""The request and response bodies of the HTTP API, with the descriptions and examples that
/docs and /redoc show (and that schemathesis generates requests from).

Every request model forbids unknown fields: a misspelled `subjct` is a 422 naming it, not a
ticket silently suggested on its body alone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_ID = 200  # ticket, channel, session and article ids (the event store's limit)

ID_PATTERN = r"^[^\n\r\t\x00]+$"  # one line, no control characters


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_request`, `not_found`.",
                      examples=["invalid_request"])
    message: str = Field(description="What was wrong, naming the field; never echoes the submitted text.",
                         examples=["subjct: Extra inputs are not permitted"])


class ErrorBody(BaseModel):
    error: ErrorDetail = Field(description="The one error of this response.")


class SuggestRequest(BaseModel):
    # strict: a string is not an integer, true is not 1; and a ticket has a subject or a body
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "anyOf": [{"required": ["subject"]}, {"required": ["body"]}],
        "examples": [{"subject": "SSO login fails with SAML-403", "body": "<p>Okta says the user is not assigned</p>",
                      "product": "sso", "limit": 3, "ticket_id": "ZD-48213", "channel": "zendesk"}]})
    subject: str = Field("", max_length=2_000, description="Ticket subject.",
                         examples=["SSO login fails with SAML-403"])
    body: str = Field("", max_length=200_000, description="Ticket body, plain text or HTML (quoted replies and "
                      "signatures are dropped).", examples=["<p>Okta says the user is not assigned</p>"])
    product: str | None = Field(None, max_length=100, description="Product area, if known; boosts matching articles.",
                                examples=["sso"])
    audience: Literal["public", "internal"] = Field(
        "public", description="'internal' includes internal articles and runbooks; needs an agent key.")
    limit: int = Field(5, ge=1, le=20, description="Most suggestions to return.", examples=[3])
    semantic: bool = Field(True, description="Use semantic matching where the server has it (false: lexical only).")
    ticket_id: str | None = Field(None, max_length=MAX_ID, pattern=ID_PATTERN,
                                  description="The ticket's id in your help desk: recorded with the "
                                  "answer so later feedback by ticket id joins it.", examples=["ZD-48213"])
    channel: str | None = Field(None, max_length=MAX_ID, pattern=ID_PATTERN,
                                  description="Where the ticket came from (recorded).",
                                examples=["zendesk"])

    @field_validator("limit", mode="before")
    @classmethod
    def _whole_number(cls, v: Any) -> Any:
        """JSON Schema counts 3.0 as an integer; so do we (but not 3.5, "3" or true)."""
        return int(v) if isinstance(v, float) and v.is_integer() else v

    @model_validator(mode="before")
    @classmethod
    def _subject_or_body(cls, data: Any) -> Any:
        if isinstance(data, dict) and "subject" not in data and "body" not in data:
            raise ValueError("a ticket needs a subject or a body")
        return data


def _is_none(value: Any) -> bool:
    return value is None


class Why(BaseModel):
    """The evidence for a suggestion: a field that does not apply is left out."""

    error_codes: list[str] = Field(default=[], description="Error codes of the ticket that the article lists.",
                                   examples=[["SAML-403"]])
    terms: dict[str, list[str]] = Field(default={}, description="Words of the ticket found in each field of the "
                                        "article.", examples=[{"title": ["saml", "login"]}])
    semantic: float | None = Field(default=None, exclude_if=_is_none,
                                   description="Cosine similarity to the ticket, when semantic matching took part.")
    product: str | None = Field(default=None, exclude_if=_is_none,
                                description="The ticket's product, when it is the article's.")
    replaces: str | None = Field(default=None, exclude_if=_is_none,
                                 description="The retired article this one replaces, when the match came through it.")


class SuggestionOut(BaseModel):
    id: str = Field(description="Article id (stable; the file name).", examples=["saml-403-user-not-assigned"])
    title: str = Field(description="Article title.", examples=["SAML-403: user not assigned to the app"])
    url: str | None = Field(description="The help-center page; null for internal articles and runbooks.",
                            examples=["https://help.example.com/articles/saml-403-user-not-assigned/"])
    score: float = Field(description="Relevance score (higher is better; comparable within one answer).",
                         examples=[14.8])
    confidence: Literal["high", "medium", "low"] = Field(description="How sure the match is: 'high' is safe to "
                                                         "show a customer as is.")
    snippet: str = Field(description="A passage of the article with the ticket's words in **bold**.",
                         examples=["Assign the **user** to the **SAML** app in Okta"])
    why: Why = Field(description="The evidence for this suggestion.")


class SuggestResponse(BaseModel):
    suggestions: list[SuggestionOut] = Field(description="Best first; empty when nothing matched well enough.")
    reason: str | None = Field(default=None, description="Why nothing was suggested, when the list is empty.",
                               examples=[None])
    error_codes: list[str] = Field(default=[], description="Error signatures found in the ticket.",
                                   examples=[["SAML-403"]])
    semantic: bool = Field(default=False, description="Whether semantic matching took part.")
    event_id: str | None = Field(default=None, description="Id of the recorded answer, for `POST /v1/feedback` "
                                 "(null when recording is off).", examples=["3f2a9c0e8b7d4e6f9a1b2c3d4e5f6a7b"])


class ArticleOut(BaseModel):
    id: str = Field(description="Article id.", examples=["reset-password"])
    title: str = Field(description="Title.", examples=["Reset your password"])
    type: str = Field(description="howto, troubleshooting, known-issue, faq, reference or runbook.",
                      examples=["howto"])
    status: str = Field(description="Always 'published' here (drafts and retired articles are never served).",
                        examples=["published"])
    audience: str = Field(description="'public' or 'internal'.", examples=["public"])
    product: str | None = Field(description="Product area.", examples=["accounts"])
    summary: str = Field(description="One-paragraph summary.", examples=["How to reset a forgotten password."])
    url: str | None = Field(description="The help-center page; null for internal content.",
                            examples=["https://help.example.com/articles/reset-password/"])
    error_codes: list[str] = Field(description="Error codes the article covers.", examples=[[]])


class EventsHealth(BaseModel):
    backend: str = Field(description="'sqlite', 'postgres' or 'off'.", examples=["sqlite"])
    recorded: int = Field(description="Events written by this worker since it started.", examples=[1200])
    dropped: int = Field(description="Events lost for good (store down too long, queue full).", examples=[0])
    buffered: int = Field(description="Events waiting in memory for the store (queue and retry buffer).",
                          examples=[0])


class Health(BaseModel):
    status: Literal["ok"] = Field(description="Always 'ok' when the server answers.")
    version: str = Field(description="kbtool version.", examples=["0.1.0"])
    documents: int = Field(description="Documents in the current index build.", examples=[84])
    build: str = Field(default="", description="The index build this worker answers from (replicas behind a load "
                       "balancer show the same one once a published build has reached them).",
                       examples=["build-20261203T071500-4f2a"])
    semantic: bool = Field(default=False, description="Whether suggestions use the embedding model.")
    semantic_note: str | None = Field(default=None, description="Why not, when they do not.")
    events: EventsHealth = Field(description="The event store, as seen by this worker.")


Outcome = Literal["linked", "resolved", "helpful", "not_helpful"]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"event_id": "3f2a9c0e8b7d4e6f9a1b2c3d4e5f6a7b", "article_id": "saml-403-user-not-assigned",
         "outcome": "linked", "source": "zendesk-app"},
        {"article_id": "reset-password", "outcome": "helpful", "source": "help-center"}]})
    event_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$", description="The `event_id` of the suggestion "
                                 "answered (from `/v1/suggest`).", examples=["3f2a9c0e8b7d4e6f9a1b2c3d4e5f6a7b"])
    ticket_id: str | None = Field(None, max_length=MAX_ID, pattern=ID_PATTERN,
                                  description="The ticket, when the event id is not known; joins its "
                                  "latest suggestion.", examples=["ZD-48213"])
    article_id: str = Field(max_length=MAX_ID, description="The article the outcome is about.",
                            examples=["saml-403-user-not-assigned"])
    outcome: Outcome = Field(description="linked (an agent attached it), resolved (it solved the ticket), helpful / "
                             "not_helpful (a reader said so). linked and resolved need an event or ticket id.")
    source: str = Field("api", max_length=MAX_ID, pattern=ID_PATTERN, description="Who reports it.",
                        examples=["help-center"])
    comment: str | None = Field(None, max_length=2_000, description="Free text; redacted before it is stored.")


class DeflectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"session_id": "b1946ac9", "article_id": "reset-password", "query": "forgot password"}]})
    session_id: str = Field(max_length=MAX_ID, pattern=ID_PATTERN,
                            description="The help-center session (random, per browser tab).",
                            examples=["b1946ac9"])
    article_id: str = Field(max_length=MAX_ID, description="The article the reader found before not filing a "
                            "ticket.", examples=["reset-password"])
    query: str | None = Field(None, max_length=2_000, description="What they searched for; redacted before it is "
                              "stored.", examples=["forgot password"])


class Accepted(BaseModel):
    event_id: str = Field(description="Id of the recorded event.", examples=["9e107d9d372bb6826bd81d3542a419d6"])
    queued: bool = Field(description="False when the event could not even be queued (the server is "
                         "overloaded; /healthz counts it as dropped).")
