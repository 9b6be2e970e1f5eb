"""Error codes of an imported article, for its `error_codes` (exact-code matching of tickets).

Only the places where a support article *states* the error are read: the title, the
Symptoms section (also "Error", "Issue", "Problem") and fenced code blocks (logs, error
output). Prose elsewhere mentions codes in passing (a cause that lists ten HRESULTs, a
table of every SMTP status) and would make every article match every ticket.

The forms are chosen for precision on real Microsoft support text (`bench/check_codes.py`
samples the codes extracted from the OfficeDocs corpus for a reader to judge): each needs a shape no ordinary
number has (`0x` + 8 hex digits, `AADSTS` + digits, Office's `30010-45`) or the word that
makes a number a code (`Error 1603`, `HTTP 503`, `550 5.7.1`). Codes are written as the
source spells them, so the suggest engine finds them in a ticket whatever the case or
separator.
"""

from __future__ import annotations

import re

from ..content import fence_blocks, parse_structure

MAX_CODES = 12  # an article listing more is a reference table, not one error's article

_HTTP_REASON = (r"Bad Request|Unauthorized|Forbidden|Not Found|Method Not Allowed|Request Timeout|Conflict|Gone|"
                r"Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout")
# (pattern, how a match is written): every pattern is linear (no nested quantifiers).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\w-])0x[89A-Fa-f][0-9A-Fa-f]{7}(?![\w-])"), "{0}"),              # 0x80070005 (failure bit)
    # 0x0000007B: without the failure bit only after a word that makes it a code, no number in between
    # (else time stamps, offsets, registry values)
    (re.compile(r"(?i:error|code|bugcheck|status|hresult)[^\n\d]{0,40}?(?<![\w-])(0x[0-7][0-9A-Fa-f]{7})(?![\w-])"),
     "{1}"),
    (re.compile(r"(?<![\w-])AADSTS\d{4,9}(?![\w-])"), "{0}"),                         # AADSTS50076
    (re.compile(r"(?<![\w.-])(?:HCW|CAA)[0-9A-F]{4,5}(?![\w-])"), "{0}"),               # HCW8078, CAA50021
    (re.compile(r"(?<![\w.:/-])[1-9]\d{4}-\d{1,5}(?![\w-]|\.\d)"), "{0}"),               # 30010-45 (Office C2R)
    (re.compile(r"(?<![\w-])(?!(?:CVE|KB|MS\d\d|SHA|AES|ISO|RFC|UTF|TLS|SSL|IEC|RSA|DES|MD|CP|X|WIN|IPV)-)"
                r"[A-Z][A-Z0-9]{1,15}(?:-[A-Z][A-Z0-9]{0,15}){0,3}-\d{3,6}(?![\w-])"), "{0}"),   # SAML-403, API-RATE-429
    (re.compile(r"(?<![\w-])ERROR_[A-Z][A-Z0-9_]{2,60}(?![\w-])"), "{0}"),              # ERROR_ACCESS_DENIED
    (re.compile(r"\b(?:error|error code|errorcode)[ ]?(?:#|:)?[ ]?(\d{3,6})(?![\w-]|\.\d)", re.I), "Error {1}"),
    (re.compile(r"\bHTTP(?:/1\.[01]|/2)?[ ](?:(?:error|status)(?: code)?[ ])?([45]\d\d)(?![\w-]|\.\d)", re.I),
     "HTTP {1}"),
    (re.compile(rf"(?<![\w.-])([45]\d\d)[ ](?:{_HTTP_REASON})\b"), "HTTP {1}"),         # 403 Forbidden
    (re.compile(r"(?<![\w.-])([45][0-5]\d)[ -]([45]\.\d{1,2}\.\d{1,3})(?![\w-]|\.\d)"), "{1} {2}"),  # 550 5.7.1 (SMTP)
]
_SYMPTOM_SECTIONS = {"symptom", "symptoms", "error", "errors", "error message", "issue", "problem"}


def find_codes(text: str) -> list[str]:
    """Every error code in `text`, in order of appearance, each once (written as matched).

    Where two forms overlap the longer wins (`error 550 5.7.1` is `550 5.7.1`, not `Error 550`),
    and at a tie the one starting first (`HTTP error 403` is `HTTP 403`).
    """
    hits: list[tuple[int, int, str]] = []
    for rx, shape in _PATTERNS:
        for m in rx.finditer(text):
            hits.append((m.start(), -m.end(), shape.format(m.group(0), *m.groups())))
    kept: list[tuple[int, int, str]] = []
    for start, neg_end, code in sorted(hits):
        if kept and start < kept[-1][1]:
            if -neg_end > kept[-1][1]:
                kept[-1] = (kept[-1][0], -neg_end, code)  # `error 550 5.7.1`: the SMTP form, not `Error 550`
            continue
        kept.append((start, -neg_end, code))
    seen: dict[str, str] = {}
    for _, _, code in kept:
        seen.setdefault(code.upper(), code)
    return list(seen.values())


def code_sources(title: str, body: str) -> list[str]:
    """The texts an article states its errors in: title, Symptoms-like `##` sections, fenced code."""
    parts = [title]
    _, sections, _ = parse_structure(body, 1)
    parts += [s.text for s in sections if s.title.strip().lower().rstrip(":") in _SYMPTOM_SECTIONS]
    lines = body.split("\n")
    for f in fence_blocks(lines):
        parts.append("\n".join(lines[f.start + 1: f.end]))
    return parts


def article_codes(title: str, body: str) -> list[str]:
    """The article's `error_codes`: codes in its title, symptoms and code blocks ([] past `MAX_CODES`)."""
    codes = find_codes("\n".join(code_sources(title, body)))
    return codes if len(codes) <= MAX_CODES else []
