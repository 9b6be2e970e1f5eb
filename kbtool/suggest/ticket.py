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
# Closings and greetings in the languages customers write in (a sign-off is not the problem).
_CLOSING = re.compile(
    r"^\s*(?i:(?:many\s+)?thanks|thank\s+you|thx|cheers|regards|best(?:\s+regards|\s+wishes)?|kind\s+regards|"
    r"warm\s+regards|with\s+regards|sincerely|yours\s+(?:truly|sincerely)|thanks\s+(?:and|&)\s+regards|br|mfg|lg|"
    r"mit\s+freundlichen\s+grü(?:ß|ss)en|(?:viele|beste|liebe|freundliche)\s+grü(?:ß|ss)e|(?:vielen\s+)?dank|danke|"
    r"merci(?:\s+d'avance|\s+beaucoup)?|(?:bien\s+)?cordialement|salutations|bien\s+à\s+vous|(?:un\s+)?saludos?|"
    r"atentamente|(?:muchas\s+)?gracias|grazie(?:\s+mille)?|cordiali\s+saluti|distinti\s+saluti|obrigad[oa]|"
    r"atenciosamente|met\s+vriendelijke\s+groet(?:en)?|groeten|mvh|med\s+vänliga\s+hälsningar|pozdrawiam|"
    r"saluti|abraços|tack)"
    r"(?i:\s+(?:in\s+advance|so\s+much|a\s+lot|again))?"
    r"(?i:\s+for\s+(?:your|the|any)\s+(?:help|support|time|assistance|patience))?"
    r"\s*[,.!]*(?:\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})?\s*$")
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|greetings|good\s+(?:morning|afternoon|evening)|hallo|bonjour|bonsoir|"
                       r"salut|hola|buenos\s+d[ií]as|buenas(?:\s+tardes)?|buongiorno|ciao|salve|guten\s+(?:tag|morgen)|"
                       r"servus|moin|grü(?:ß|ss)\s+gott|sehr\s+geehrte[rs]?|liebe[rs]?|ol[áa]|oi|bom\s+dia|hej|hei|"
                       r"goedemorgen|beste|witam|dzień\s+dobry|namaste|to\s+whom\s+it\s+may\s+concern)"
                       r"(?:\s+[\w.'&-]+){0,3}\s*[,!.:;-]*\s*$", re.I)
_DISCLAIMER = re.compile(r"(confidentiality notice|this e-?mail (and any attachments )?(is|are|may be) confidential|"
                         r"the information contained in this (e-?mail|message)|disclaimer:)", re.I)
# A tag: `<`, a name, then anything but `<`/`>` up to `>`. Excluding `<` keeps every scan
# inside the stretch up to the next `<`, so one pass over the body is linear (a body of
# `<p<p<p…` is text, not 95,000 unfinished tags).
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*>|<!--|<!\[CDATA\[|<![^<>]*>|<\?[^<>]*>")
_HTMLISH = re.compile(r"<(?:html|head|body|div|p|br|table|tr|td|span|a|b|i|u|em|strong|font|ul|ol|li|blockquote|"
                      r"pre|h[1-6]|img|hr|style)\b[^<>]*>", re.I)
_BLOCK_TAGS = frozenset({"p", "div", "li", "tr", "table", "ul", "ol", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "br"})
_RAW_TAGS = frozenset({"style", "script"})  # their content is not text, and holds no tags
_SKIP_TAGS = frozenset({"head", "title"})
_WORD = re.compile(r"[^\W\d_]{2,}")
# Mail and help-desk noise in a subject: reply/forward prefixes in several languages
# (RE:, FW:, AW:, WG:, SV:, TR:, Antw:), and ticket references ([Ticket #4821], (Case 00123)).
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|rv|antw|ref)\s*(?:\[\d+\]|\(\d+\))?\s*:"
                             r"|\[[^\[\]\n]{0,40}\]|\([^()\n]{0,30}\d{3,}[^()\n]{0,10}\)))+", re.I)
# A ticket or case number anywhere: its digits are no evidence (and must not match a code).
_TICKET_REF = re.compile(r"[\[(]?\b(?:ticket|case|incident|request|req|ref|sr|inc)\s*(?:no\.?|nr\.?|number|id)?\s*[#:]?\s*"
                         r"#?\d{3,}\b[\])]?|#\d{3,}\b", re.I)

ERROR_PATTERNS = [
    re.compile(r"\b(?:[A-Z][A-Za-z0-9]*::)?[A-Z][A-Z0-9]+(?:[-_][A-Z0-9]+)+\b"),   # SAML-403, ERR_CERT_DATE_INVALID
    re.compile(r"\bHTTP[ /]?(?:1\.[01] |2 )?([1-5]\d\d)\b", re.I),                  # HTTP 429, HTTP/1.1 403
    re.compile(r"\b([45]\d\d) (?:Too Many Requests|Forbidden|Unauthorized|Not Found|Bad Request|"
               r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Conflict|Gone)\b", re.I),
    re.compile(r"\b[A-Z][A-Za-z]+(?:Exception|Error)\b"),                             # NullPointerException
    re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"),                                            # insufficient_funds
]


def html_to_text(text: str) -> str:
    """Plain text of an HTML ticket body, in one linear pass (hostile bodies cost what long ones do).

    Quoted history (`<blockquote>`) and non-content (`<style>`, `<script>`, `<head>`, comments)
    go; block elements become line breaks, inline ones don't, so a `<b>From:</b> x` header
    stays one line for the text rules that follow. When dropping the quotes leaves almost
    nothing (a forward), the quoted text is the ticket and is kept.
    """
    if not _HTMLISH.search(text):
        return html.unescape(text)
    out = _convert(text, drop_quotes=True)
    if len(_WORD.findall(out)) < 3:  # everything was quoted (e.g. a forward): the quote is the ticket
        out = _convert(text, drop_quotes=False)
    return out


def _convert(text: str, drop_quotes: bool) -> str:
    """`html_to_text`'s pass: text outside tags kept (entities decoded) unless inside a dropped element."""
    parts: list[str] = []
    low = text.lower()
    pos, dropped = 0, 0  # dropped: open elements whose content is skipped
    for m in _TAG.finditer(text):
        if m.start() < pos:  # inside a comment or raw element already skipped
            continue
        if not dropped:
            parts.append(html.unescape(text[pos:m.start()]))
        pos = m.end()
        tok = m.group()
        if tok in ("<!--", "<![CDATA["):
            close = low.find("-->" if tok == "<!--" else "]]>", pos)
            pos = len(text) if close < 0 else close + 3
            continue
        closing, name = m.group(1) == "/", (m.group(2) or "").lower()
        if name in _RAW_TAGS and not closing:
            close = low.find(f"</{name}", pos)
            pos = len(text) if close < 0 else close
        elif name in _SKIP_TAGS or (drop_quotes and name == "blockquote"):
            dropped = max(0, dropped - 1) if closing else dropped + (not tok.endswith("/>"))
        if name in _BLOCK_TAGS and not dropped:
            parts.append("\n")
    if not dropped:
        parts.append(html.unescape(text[pos:]))
    return "".join(parts)


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


def clean_subject(subject: str) -> str:
    """A subject without reply/forward prefixes and ticket references: `RE: [Ticket #4821] SSO` -> `SSO`."""
    return _TICKET_REF.sub(" ", _SUBJECT_PREFIX.sub("", subject or "")).strip()


def clean_ticket(subject: str, body: str) -> str:
    """The part of a ticket that describes the problem: no quotes, signatures, greetings, disclaimers,
    reply prefixes or ticket numbers. A forward whose whole content is quoted keeps the quote."""
    text = _TICKET_REF.sub(" ", html_to_text(body or "")).replace("\r\n", "\n").replace("\r", "\n")
    text = _strip_quoted(text)
    m = _SIGNATURE.search(text)
    if m:
        text = text[: m.start()]
    text = "\n\n".join(p for p in re.split(r"\n\s*\n", text) if not _DISCLAIMER.search(p))
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    quoted = [ln.lstrip().lstrip(">").strip() for ln in text.split("\n") if ln.lstrip().startswith(">")]
    if len(_WORD.findall("\n".join(lines))) < 3 <= len(_WORD.findall("\n".join(quoted))) - 1:
        lines = [ln.lstrip().lstrip(">").strip() for ln in text.split("\n")]  # a forward: the quote is the problem
    while lines and (not lines[0].strip() or _GREETING.match(lines[0])):
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    for i, ln in enumerate(lines):  # a closing line with at most a few short lines (a signature) after it
        if _CLOSING.match(ln) and all(len(x) < 60 for x in lines[i + 1:]) and len(lines) - i <= 8:
            lines = lines[:i]
            break
    return "\n".join(x for x in [clean_subject(subject), "\n".join(lines).strip()] if x)


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


def canonical_code(code: str) -> str:
    """The key two spellings of one code share: letters and digits only, upper case (`saml_403` -> SAML403)."""
    return re.sub(r"[^A-Za-z0-9]+", "", code.rsplit("::", 1)[-1]).upper()


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
