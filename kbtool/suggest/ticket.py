"""A support ticket, and what the engine reads in it: the new text, and its error codes.

`clean_ticket` keeps the part of an email that describes the problem (no quoted history,
signatures, greetings, closings or disclaimers; HTML becomes text); `extract_error_codes`
finds error signatures in it, normalised by `norm_code` to one spelling; `code_key` and
`code_sep` are how the engine finds a KB's own codes in a ticket whatever their case.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass
class Ticket:
    subject: str
    body: str = ""
    product: str | None = None
    audience: str = "public"
    limit: int = 5
    semantic: bool = True  # use the embedding model when the index has embeddings


# A quote header ends the part of an email that is new. Gmail wraps long "On … wrote:"
# lines, so the header may span two lines. "From:" counts only when it looks like a
# mail header (an address, or a Sent:/Date:/To: line right below it).
_QUOTE_HEADER = re.compile(
    r"^[ \t]*(?:"
    r"(?:On|Am|Le|El|Op)\s[^\n]{3,200}?(?:\n[^\n]{0,120}?)?(?:wrote|schrieb|a écrit|escribió|schreef)\s?:"
    r"|-{2,}\s*(?:Original Message|Forwarded message)\s*-{2,}"
    r"|Begin forwarded message:"
    r"|From:[ \t]+[^\n]*(?:[\w.+-]+@[\w-]+\.[\w.-]+|\n[ \t]*(?:Sent|Date|To)[ \t]*:[^\n]*)"
    r"|_{10,}"
    r")[ \t]*$", re.I | re.M)
_FORWARD_HEADER = re.compile(r"-{2,}\s*Forwarded|Begin forwarded", re.I)
_FORWARD_SUBJECT = re.compile(r"^[ \t]*Subject:[ \t]*(?:fwd?|wg|tr)[ \t]*:", re.I | re.M)
_HEADER_LINE = re.compile(r"[ \t]*(?:From|Sent|Date|To|Cc|Bcc|Subject|Reply-To)[ \t]*:[^\n]*", re.I)
_SIGNATURE = re.compile(r"^(?:--[ \t]*|Sent from my [^\n]*|Sent from (?:Mail|Outlook|Yahoo Mail|Gmail)\b[^\n]*|"
                        r"Get Outlook for [^\n]*)$", re.I | re.M)
_CLOSING = re.compile(
    r"^\s*(?i:(?:many\s+)?thanks|thank\s+you|thx|cheers|regards|best(?:\s+regards|\s+wishes)?|kind\s+regards|"
    r"warm\s+regards|with\s+regards|sincerely|yours\s+(?:truly|sincerely))"
    r"(?i:\s+(?:in\s+advance|so\s+much|a\s+lot|again))?"
    r"(?i:\s+for\s+(?:your|the|any)\s+(?:help|support|time|assistance|patience))?"
    r"\s*[,.!]*(?:\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?\s*$")
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|greetings|good\s+(?:morning|afternoon|evening)|hallo|bonjour)"
                       r"(?:\s+[\w.'&-]+){0,3}\s*[,!.:;-]*\s*$", re.I)
_DISCLAIMER = re.compile(r"(confidentiality notice|this e-?mail (and any attachments )?(is|are|may be) confidential|"
                         r"the information contained in this (e-?mail|message)|disclaimer:)", re.I)
_HTMLISH = re.compile(r"<(?:html|head|body|div|p|br|table|tr|td|span|a|b|i|u|em|strong|font|ul|ol|li|blockquote|"
                      r"pre|h[1-6]|img|hr|style)\b[^>]*>", re.I)
_BLOCK_TAGS = ["p", "div", "li", "tr", "table", "ul", "ol", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6"]
_WORD = re.compile(r"[^\W\d_]{2,}")

ERROR_PATTERNS = [
    re.compile(r"\b(?:[A-Z][A-Za-z0-9]*::)?[A-Z][A-Z0-9]+(?:[-_][A-Z0-9]+)+\b"),   # SAML-403, ERR_CERT_DATE_INVALID
    re.compile(r"\bHTTP[ /]?(?:1\.[01] |2 )?([1-5]\d\d)\b", re.I),                  # HTTP 429, HTTP/1.1 403
    re.compile(r"\b([45]\d\d) (?:Too Many Requests|Forbidden|Unauthorized|Not Found|Bad Request|"
               r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Conflict|Gone)\b", re.I),
    re.compile(r"\b[A-Z][A-Za-z]+(?:Exception|Error)\b"),                             # NullPointerException
    re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"),                                            # insufficient_funds
]


def html_to_text(text: str) -> str:
    """Plain text of an HTML ticket body (BeautifulSoup, which markdownify brings along).

    Quoted history (`<blockquote>`) and non-content (`<style>`, `<script>`, `<head>`) go;
    block elements become line breaks, inline ones don't, so a `<b>From:</b> x` header
    stays one line for the text rules that follow.
    """
    if not _HTMLISH.search(text):
        return html.unescape(text)
    from bs4 import BeautifulSoup

    def convert(drop_quotes: bool) -> str:
        soup = BeautifulSoup(text, "html.parser")
        for tag in soup.find_all(["style", "script", "head", "title"] + (["blockquote"] if drop_quotes else [])):
            tag.decompose()
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for tag in soup.find_all(_BLOCK_TAGS):
            tag.insert_before("\n")
            tag.insert_after("\n")
        return soup.get_text()

    out = convert(drop_quotes=True)
    if len(_WORD.findall(out)) < 3:  # everything was quoted (e.g. a forward): the quote is the ticket
        out = convert(drop_quotes=False)
    return out


def _strip_quoted(text: str) -> str:
    """Cut quoted history at the first quote header, unless the text above it is not the ticket.

    For a forwarded ticket, or a reply typed below the quote (fewer than 4 words above the
    header), the header lines are dropped and the text after them is kept instead.
    """
    for _ in range(10):
        m = _QUOTE_HEADER.search(text)
        if not m:
            break
        head, rest = text[: m.start()], text[m.end():]
        above = [ln for ln in head.split("\n") if ln.strip() and not _GREETING.match(ln)]
        block = rest.lstrip("\n").split("\n\n", 1)[0]
        forward = bool(_FORWARD_HEADER.match(m.group().strip()) or _FORWARD_SUBJECT.search(block))
        if not forward and len(_WORD.findall("\n".join(above))) >= 4:
            return head
        lines = rest.split("\n")
        while lines and (not lines[0].strip() or _HEADER_LINE.fullmatch(lines[0])):
            lines.pop(0)
        text = head + "\n" + "\n".join(lines)
    return text


def clean_ticket(subject: str, body: str) -> str:
    """The part of a ticket that describes the problem: no quotes, signatures, greetings, disclaimers."""
    text = html_to_text(body or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _strip_quoted(text)
    m = _SIGNATURE.search(text)
    if m:
        text = text[: m.start()]
    text = "\n\n".join(p for p in re.split(r"\n\s*\n", text) if not _DISCLAIMER.search(p))
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    while lines and (not lines[0].strip() or _GREETING.match(lines[0])):
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    for i, ln in enumerate(lines):  # a closing line with at most a few short lines (a signature) after it
        if _CLOSING.match(ln) and all(len(x) < 60 for x in lines[i + 1:]) and len(lines) - i <= 8:
            lines = lines[:i]
            break
    return "\n".join(x for x in [(subject or "").strip(), "\n".join(lines).strip()] if x)


def norm_code(code: str) -> str:
    """One spelling per error code: upper case, `-` between parts, `HTTP-429` for any HTTP status form."""
    code = " ".join(code.upper().split())
    code = code.rsplit("::", 1)[-1]
    m = ERROR_PATTERNS[2].fullmatch(code)
    if m:
        code = f"HTTP {m.group(1)}"
    code = re.sub(r"^HTTP[ /]?(?:1\.[01] |2 )?", "HTTP ", code)
    return re.sub(r"[\s_-]+", "-", code)


CODE_TOKEN = re.compile(r"([A-Za-z0-9]+)([^A-Za-z0-9]*)")


def code_sep(sep: str) -> str | None:
    """How a separator inside an error code is compared: `-`/`_` alike, any whitespace alike, `::`; else no code."""
    if sep and set(sep) <= {"-", "_"}:
        return "-"
    if sep and sep.isspace():
        return " "
    return "::" if sep == "::" else None


def code_key(code: str) -> str | None:
    """The case-insensitive, separator-aware form an article's code is looked up by (None: not scannable)."""
    parts = CODE_TOKEN.findall(code.strip())
    if not parts or not re.fullmatch(r"[A-Za-z0-9]", code.strip()[:1]):
        return None
    key = ""
    for k, (tok, sep) in enumerate(parts):
        key += tok.upper()
        if k < len(parts) - 1:
            s = code_sep(sep)
            if s is None:
                return None
            key += s
        elif sep.strip():
            return None  # trailing punctuation: not a plain code
    return key


def extract_error_codes(text: str) -> list[str]:
    """Error signatures in ticket text, normalised (`SAML-403`, `HTTP-429`, `ERR-CERT-DATE-INVALID`)."""
    found: list[str] = []
    for rx in ERROR_PATTERNS:
        for m in rx.finditer(text):
            raw = m.group(0)
            if rx.groups and m.group(1) and not raw.upper().startswith("HTTP"):
                raw = f"HTTP {m.group(1)}"
            code = norm_code(raw)
            if code not in found:
                found.append(code)
    return found
