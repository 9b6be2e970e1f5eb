"""The Whoosh schema, its analysers, and the Whoosh document (and search-field terms) of an Article.

Plain words search `title`, `error_code`, `error_parts` and `text`, a combined field in
which aliases, summary and the weighted sections repeat (see TEXT_WEIGHTS); each part is
also its own field for `field:value` queries. Every text field is analysed once per build
(`tokens`), and the token lists feed both the Whoosh document and the forward index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from whoosh.analysis import (
    CompositeAnalyzer,
    IntraWordFilter,
    LowercaseFilter,
    RegexTokenizer,
    StandardAnalyzer,
    StemmingAnalyzer,
    StripFilter,
)
from whoosh.analysis.acore import Token
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from ..content import Article
from .forward import SEARCH_FIELDS

# Sections kept as their own fields so they can be weighted.
SECTION_FIELDS = {"symptoms": ("Symptoms",), "cause": ("Cause",), "resolution": ("Resolution", "Workaround"),
                  "steps": ("Steps",)}
# Search-time boosts of the fields plain words go to, keyed in SEARCH_FIELDS order (the forward
# index keeps their terms in that order): title and error codes above the rest.
BOOSTS = {"title": 4.0, "error_code": 6.0, "error_parts": 3.0, "text": 1.0}
# `text` holds aliases, summary, the weighted sections and the body in one field, each part
# repeated this many times: a weighted term frequency, as BM25F proper does (a word in
# Symptoms counts twice: once there, once in the body). Whoosh scores every posting in
# Python, so one posting list per word instead of eight makes plain-word search several
# times faster on a large KB. Each part is still its own field for `field:value` queries.
TEXT_WEIGHTS = {"aliases": 3, "summary": 2, "symptoms": 1, "cause": 1, "resolution": 1, "steps": 1, "body": 1}
# Fields analysed with the stemming analyser (the body's): their terms can be highlighted.
STEMMED_FIELDS = frozenset({"title", "aliases", "summary", "body", "text", *SECTION_FIELDS})


def stem() -> CompositeAnalyzer:
    """A fresh stemming analyser (the one every stemmed field uses; each has its own cache)."""
    return StemmingAnalyzer(cachesize=100_000)


CODE_EXACT = RegexTokenizer(r"[^\n]+") | StripFilter() | LowercaseFilter()
CODE_PARTS = RegexTokenizer(r"[^\n]+") | LowercaseFilter() | IntraWordFilter(mergewords=True, mergenums=True)
QUERY_ANALYZER = stem()
TAGS_ANALYZER = KEYWORD(commas=True, lowercase=True).analyzer  # the schema's `tags` field


def analyze(text: str) -> list[str]:
    """Terms of `text` exactly as the index analyses title and body (for suggest queries)."""
    return [t.text for t in QUERY_ANALYZER(text)]


def make_schema() -> Schema:
    analyzer = stem()
    fields = dict(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        title=TEXT(analyzer=analyzer, stored=True),
        aliases=TEXT(analyzer=analyzer, stored=True),
        summary=TEXT(analyzer=analyzer, stored=True),
        body=TEXT(analyzer=analyzer, stored=True),
        text=TEXT(analyzer=analyzer),
        error_code=TEXT(analyzer=CODE_EXACT, stored=True, phrase=False),
        error_parts=TEXT(analyzer=CODE_PARTS, phrase=False),
        spell=TEXT(analyzer=StandardAnalyzer(stoplist=None), spelling=True, phrase=False),
        type=ID(stored=True), status=ID(stored=True), audience=ID(stored=True),
        product=ID(stored=True), component=ID(stored=True), owner=ID(stored=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        created=DATETIME(stored=True), last_reviewed=DATETIME(stored=True),
        replaced_by=STORED, kind=STORED,
    )
    for name in SECTION_FIELDS:
        fields[name] = TEXT(analyzer=analyzer)
    return Schema(**fields)


def _date(d: object) -> datetime | None:
    return datetime(d.year, d.month, d.day) if d else None  # type: ignore[attr-defined]


def _tags_value(a: Article) -> str:
    return ",".join(t.lower() for t in a.tags)


def _text_tokens(toks: dict[str, list[str]]) -> list[str]:
    """The combined `text` field: each part's tokens repeated TEXT_WEIGHTS times."""
    return [t for name, times in TEXT_WEIGHTS.items() for _ in range(times) for t in toks[name]]


def _section_text(a: Article, titles: tuple[str, ...]) -> str:
    return "\n".join(s.text for t in titles if (s := a.section(t)))


def texts(a: Article) -> dict[str, str]:
    """The article's text fields as plain text."""
    out = {"title": a.title, "aliases": "\n".join(a.aliases), "summary": a.summary, "body": a.text}
    for name, titles in SECTION_FIELDS.items():
        out[name] = _section_text(a, titles)
    return out


class TermMemo:
    """The terms a stemming analyser makes of a text, each distinct word through Whoosh's
    filters once.

    `[t.text for t in analyzer(text)]` runs a chain of generators per token (lower case,
    stop words, stemming): a fifth of a full build. Those filters act on one token at a
    time (and only the texts of the tokens are kept, not their positions), so a word's
    term, or None for a stop word, is remembered: the same terms, from the tokenizer's
    own expression and Whoosh's own filters (tests/index/test_writer.py compares them).
    """

    def __init__(self, analyzer: CompositeAnalyzer, size: int = 500_000) -> None:
        tokenizer = analyzer.items[0]
        if not isinstance(tokenizer, RegexTokenizer) or tokenizer.gaps:
            raise ValueError("TermMemo needs a RegexTokenizer that matches tokens")
        self.expression, self.filters = tokenizer.expression, analyzer.items[1:]
        self.size = size
        self.memo: dict[str, str | None] = {}

    def _term(self, word: str) -> str | None:
        token = Token()  # (as RegexTokenizer makes them for `analyzer(text)`)
        token.text = word
        gen: Iterator[Token] = iter((token,))
        for f in self.filters:
            gen = f(gen)
        term = next((t.text for t in gen), None)
        if len(self.memo) >= self.size:
            self.memo.clear()
        self.memo[word] = term
        return term

    def __call__(self, text: str) -> list[str]:
        memo, out = self.memo, []
        for m in self.expression.finditer(text):
            word = m.group(0)
            term = memo[word] if word in memo else self._term(word)
            if term is not None:
                out.append(term)
        return out


def tokens(text_fields: dict[str, str], terms: TermMemo) -> dict[str, list[str]]:
    """Each text field analysed once (Whoosh's stemming analyser, through `terms`), shared
    by the Whoosh document and the forward index."""
    return {name: terms(text) if text else [] for name, text in text_fields.items()}


def document(a: Article, toks: dict[str, list[str]] | None = None) -> dict[str, object]:
    """The Whoosh document for an article: text fields, filters and stored display data.

    Stemmed text fields are passed as token lists (analysed by `tokens` with the
    schema's analyser; Whoosh indexes a list as given) with the original text stored.
    """
    text_fields = texts(a)
    toks = toks if toks is not None else tokens(text_fields, TermMemo(QUERY_ANALYZER))
    doc: dict[str, object] = {
        "id": a.id, "path": a.rel_path, "error_code": "\n".join(a.error_codes),
        "error_parts": "\n".join(a.error_codes),
        "spell": " ".join([a.title, " ".join(a.aliases), a.summary, text_fields["body"]]),
        "text": _text_tokens(toks),
        "type": a.type, "status": a.status, "audience": a.audience, "product": a.product or "",
        "component": a.component or "", "owner": a.owner, "tags": _tags_value(a),
        "replaced_by": a.replaced_by or "", "kind": a.kind,
    }
    for name in ("title", "aliases", "summary", "body", *SECTION_FIELDS):
        doc[name] = toks[name]
    for name in ("title", "aliases", "summary", "body"):
        doc["_stored_" + name] = text_fields[name]
    for key in ("created", "last_reviewed"):
        value = _date(getattr(a, key))
        if value:
            doc[key] = value
    return doc


def search_line(a: Article) -> bytes:
    """What the search filters test, as the Whoosh document indexes it (see `query.filter_query`):
    one short JSON line per document in the forward index."""
    tags = [t.text for t in TAGS_ANALYZER(_tags_value(a))]
    return json.dumps([a.id, a.type, a.status, a.audience, a.product or "", tags], ensure_ascii=False).encode("utf-8")


def search_tokens(a: Article, toks: dict[str, list[str]]) -> list[list[str]]:
    """The terms of SEARCH_FIELDS, in that order, as Whoosh indexes `document(a, toks)`."""
    codes = "\n".join(a.error_codes)
    by_name = {"title": toks["title"], "text": _text_tokens(toks),
               "error_code": [t.text for t in CODE_EXACT(codes, mode="index") if not t.stopped],
               "error_parts": [t.text for t in CODE_PARTS(codes, mode="index") if not t.stopped]}
    return [by_name[name] for name in SEARCH_FIELDS]
