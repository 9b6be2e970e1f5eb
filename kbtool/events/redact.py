"""Mask secrets and personal data in ticket text before it is stored.

The issue asks for "the same scanner lint uses", so what lint calls a secret and what the
event store masks cannot drift apart: secrets, tokens, private keys, `password=` values,
email addresses, IP addresses and card numbers come from lint's `SensitiveScanner`. This
module adds what a *ticket* has and an *article* does not, which lint does not look for:
phone numbers, IBANs, credentials inside URLs (`postgres://app:s3cret@db`), `Basic` auth
headers and passwords written as prose ("my password is Hunter2!"). It also masks email
addresses lint lets through on purpose (reserved TLDs such as `jane@corp.internal` are
placeholders in docs but real people in tickets).

Every masked span becomes a `[KIND]` marker (`[EMAIL]`, `[PHONE]`, ...), so the stored text
still reads as a ticket and clusters by meaning. Redaction fails closed: if the scanner
cannot be loaded, `redact` raises `RedactionUnavailable` and the recorder stores no text.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

Span = tuple[int, int, str]  # start, end, marker


class RedactionUnavailable(RuntimeError):
    """The lint scanner could not be imported: refuse rather than store unmasked text."""


# lint code -> marker
_MARKERS = {"KB601": "[PRIVATE KEY]", "KB602": "[TOKEN]", "KB603": "[TOKEN]", "KB604": "[SECRET]",
            "KB605": "[EMAIL]", "KB606": "[IP]", "KB607": "[CARD]"}

_KEY_END_RE = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_TOKEN_RUN_RE = re.compile(r"[A-Za-z0-9_\-./+=~]+")
_ASSIGN_VALUE_RE = re.compile(r"""[A-Za-z0-9_.\-]*["']?[ \t]*[=:][ \t]*(?:(["'])([^"'\n]*)\1|([^\s"'`,;&<>)\]}|]+))""")
_EMAIL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
_IP_RUN_RE = re.compile(r"[0-9A-Fa-f:.]+")
_CARD_RUN_RE = re.compile(r"[0-9](?:[ -]?[0-9]){12,18}")

_URL_CRED_RE = re.compile(r"\b([a-z][a-z0-9+.-]{1,20}://)([^\s:/@]+):([^\s/@]+)@", re.I)
_BASIC_RE = re.compile(r"\b(Basic)\s+([A-Za-z0-9+/]{8,}={0,2})")
_PROSE_SECRET_RE = re.compile(
    r"\b(?:password|passcode|passphrase|pwd|pin|api[ _-]?key|token|secret)\s+(?:is|was|=|:)\s+"
    r"[\"'“]?([^\s\"'”]{4,})", re.I)
_IBAN_RE = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_PHONE_RE = re.compile(
    r"(?<![\w#/.+-])(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,5}\)[ .-]?)?[0-9]{2,12}(?:[ .-][0-9]{2,8}){0,4}(?![\w-]|\.[0-9])")
_PHONE_CONTEXT_RE = re.compile(r"(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text me|reach me)\b\W{0,6}$", re.I)
_IPV4_RE = re.compile(r"(?<![\w.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?!\w|\.[0-9])")
_VERSION_RE = re.compile(r"\b(?:version|ver\.?|v|build|release|[A-Za-z]+/)[\s:=\"']*$", re.I)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}")


def redact(text: str, *, email_allowlist: Iterable[str] = (), ip_allowlist: Iterable[str] = ()) -> str:
    """`text` with every secret and piece of personal data replaced by a `[KIND]` marker.

    The allowlists are lint's (`lint.email_allowlist`, `lint.ip_allowlist`): empty by
    default, because in a ticket even an `@example.com` address may be a customer's.
    """
    if not text:
        return text
    scanner = _scanner(tuple(email_allowlist), tuple(ip_allowlist))
    if "://" in text:  # first: the password in `scheme://user:pass@host` is not an email's local part
        text = _URL_CRED_RE.sub(r"\1\2:[SECRET]@", text)
    spans = _extra_spans(text)
    for code, start, params in scanner.scan(text):
        end = params.get("end") if isinstance(params.get("end"), int) else _scanner_end(code, text, start)
        if code == "KB604":
            start = _assignment_value_start(text, start, end)
        spans.append((start, end, _MARKERS.get(code, "[REDACTED]")))
    spans += _fallback_emails(text)
    return _apply(text, spans)


@functools.lru_cache(maxsize=8)
def _scanner(email_allowlist: tuple[str, ...], ip_allowlist: tuple[str, ...]) -> Any:
    """Lint's scanner, from its new home (kbtool.lint.sensitive) or its old one. It only
    reads `config.lint.email_allowlist` and `.ip_allowlist`, so a stand-in config will do:
    redaction must not need a kbtool.toml."""
    module = None
    for name in ("..lint.sensitive", "..lint_checks"):  # new home first, then the old one
        try:
            module = importlib.import_module(name, __package__)
            break
        except ImportError:
            continue
    scanner_cls = getattr(module, "SensitiveScanner", None)
    if scanner_cls is None:
        raise RedactionUnavailable("lint's SensitiveScanner cannot be imported (kbtool.lint.sensitive, kbtool.lint_checks)")
    config = SimpleNamespace(lint=SimpleNamespace(email_allowlist=list(email_allowlist), ip_allowlist=list(ip_allowlist)))
    return scanner_cls(config)


def _scanner_end(code: str, text: str, start: int) -> int:
    """Where a scanner finding ends: the scanner reports only its start offset."""
    m: re.Match[str] | None
    if code == "KB601":
        m = _KEY_END_RE.search(text, start)
        return m.end() if m else len(text)  # a truncated key block: mask to the end
    if code == "KB604":  # keep the name (`password=[SECRET]`): it says what was there
        m = _ASSIGN_VALUE_RE.match(text, start)
        if m:
            return m.end(2) if m.group(2) is not None else m.end()  # a closing quote stays
    elif code == "KB605":
        m = _EMAIL_RE.match(text, start)
    elif code == "KB606":
        m = _IP_RUN_RE.match(text, start)
        if m:
            return start + len(m.group(0).rstrip(".:"))
    elif code == "KB607":
        m = _CARD_RUN_RE.match(text, start)
    else:  # KB602, KB603: tokens, JWTs, webhook URLs
        m = _TOKEN_RUN_RE.match(text, start)
    return m.end() if m else start + 1


def _assignment_value_start(text: str, start: int, end: int) -> int:
    """`db_password = "x"`: the value starts after the separator (and an opening quote)."""
    m = _ASSIGN_VALUE_RE.match(text, start)
    if m is None or end not in (m.end(), m.end(2)):
        return start
    return m.start(2) if m.group(2) is not None else m.start(3)


def _ip_spans(text: str) -> list[Span]:
    """IPv4 addresses lint misses in prose: its version check reads `server 10.0.0.1` as a
    version (`ver` ends `server`). Loopback, 0.0.0.0 and netmasks say nothing about anyone."""
    spans: list[Span] = []
    for m in _IPV4_RE.finditer(text):
        try:
            ip = ipaddress.IPv4Address(m.group(0))
        except ValueError:
            continue
        if ip.is_loopback or ip.is_unspecified or m.group(0).startswith("255."):
            continue
        if _VERSION_RE.search(text, max(0, m.start() - 24), m.start()):
            continue
        spans.append((m.start(), m.end(), "[IP]"))
    return spans


def _extra_spans(text: str) -> list[Span]:
    """What lint does not look for: phone numbers, IBANs, URL credentials, Basic auth, and
    passwords said in prose."""
    spans: list[Span] = []
    if "Basic" in text:
        spans += [(m.start(2), m.end(2), "[SECRET]") for m in _BASIC_RE.finditer(text)]
    spans += [(m.start(1), m.end(1), "[SECRET]") for m in _PROSE_SECRET_RE.finditer(text)]
    spans += [(m.start(), m.end(), "[IBAN]") for m in _IBAN_RE.finditer(text) if _iban_ok(m.group(0))]
    spans += [(m.start(), m.end(), "[PHONE]") for m in _PHONE_RE.finditer(text) if _phone_ok(text, m)]
    if "." in text:
        spans += _ip_spans(text)
    return spans


def _fallback_emails(text: str) -> list[Span]:
    """Addresses lint skips by design (reserved TLDs, `your...` domains): in a ticket they
    are as personal as any other. File names (`logo@2x.png`) stay."""
    if "@" not in text:
        return []
    return [(m.start(), m.end(), "[EMAIL]") for m in _EMAIL_RE.finditer(text)
            if m.group(0).rsplit(".", 1)[-1].lower() not in {"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf"}]


def _iban_ok(candidate: str) -> bool:
    """ISO 13616 mod-97: random capitals-and-digits (order numbers, SKUs) almost never pass."""
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def _phone_ok(text: str, m: re.Match[str]) -> bool:
    """A phone number, not a date, version, order or ticket number. Separated groups (3+ or
    with a `+`/`(`) are numbers people write as phones; a bare run of digits or two groups
    count only after a word such as "phone" or "call"."""
    s = m.group(0)
    digits = sum(c.isdigit() for c in s)
    if not 7 <= digits <= 15 or _DATE_RE.fullmatch(s):
        return False
    groups = len(re.findall(r"[0-9]+", s))
    if "." in s and not re.fullmatch(r"[0-9]{3}\.[0-9]{3}\.[0-9]{4}", s):
        return False  # dotted: versions and addresses, except the US 415.555.0132 style
    if s.startswith(("+", "(")) or groups >= 3:
        return not _DATE_RE.search(s)
    return bool(_PHONE_CONTEXT_RE.search(text, max(0, m.start() - 24), m.start()))


def _apply(text: str, spans: list[Span]) -> str:
    """Replace spans, earliest first; a span overlapping an earlier one merges into it
    (one marker), so overlapping detectors never leave a fragment unmasked."""
    merged: list[list[Any]] = []
    for start, end, marker in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, marker])
    out: list[str] = []
    pos = 0
    for start, end, marker in merged:
        out += [text[pos:start], marker]
        pos = end
    out.append(text[pos:])
    return "".join(out)


Redactor = Callable[[str], str]

__all__ = ["RedactionUnavailable", "Redactor", "redact"]
