"""KB8xx: what articles say about each other — one error message under two codes (KB801),
codes in the symptoms but not in `error_codes` (KB802), known issues that say they are
fixed and stay published (KB803). One pass over the KB, then a dictionary per concern:
linear in the KB's size."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..content import Article

if TYPE_CHECKING:
    from .checks import LintContext

# Error-code shapes: WORD(-WORD)-NNN (SAML-401, API-RATE-429), AADSTS50105, 0x80070005.
CODE_RE = re.compile(r"\b(?:[A-Z][A-Z0-9]+(?:[-_][A-Z][A-Z0-9]*)*[-_][0-9]{3}|AADSTS[0-9]{5,6}|0x[0-9A-Fa-f]{8})\b")
_NOT_CODES = frozenset({"SHA", "ISO", "RFC", "CVE", "UTF", "AES", "RSA", "TLS", "SSL", "HS", "RS", "ES", "PS",
                        "PKCS", "X", "IEEE", "ECMA", "CP", "WIN", "KB"})
# `CODE: message text` (the message ends at punctuation or a backtick)
_CODE_MESSAGE_RE = re.compile(r"(" + CODE_RE.pattern + r")\s*:\s+([A-Za-z][^`\n.;:()\"]{5,80})")
_COLON_RE = re.compile(r":\s+[A-Za-z]")
_DIGITS, _HEX = frozenset("0123456789"), frozenset("abcdefABCDEF")
SYMPTOM_SECTIONS = ("symptoms", "when to use", "question")
_FIXED_RE = re.compile(r"\b(?:fixed|resolved|shipped the fix|no longer occurs)\b", re.I)
_NOT_FIXED_RE = re.compile(r"\b(?:not (?:yet )?(?:fixed|resolved)|unresolved|until|scheduled|planned|open)\b", re.I)
GRACE_DAYS = 30


def is_code(token: str) -> bool:
    """True for an error-code token (not a standard's name such as SHA-256 or ISO-8601)."""
    return re.split(r"[-_]", token, maxsplit=1)[0] not in _NOT_CODES


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class CodeMessage:
    article: Article
    code: str
    message: str
    line: int
    column: int


def code_messages(a: Article, prose: list[tuple[int, str]]) -> list[CodeMessage]:
    """Every `CODE: message` in the article's prose lines (inline code included)."""
    out = []
    for i, line in prose:
        if ":" not in line:
            continue
        for m in _CODE_MESSAGE_RE.finditer(line):
            if is_code(m.group(1)):
                out.append(CodeMessage(a, m.group(1), m.group(2).strip(), a.body_line + i, m.start() + 1))
    return out


def may_have_code_message(body: str) -> bool:
    """False only if `body` has no `CODE: message` at all. Every match has a colon, then
    space and a letter (a regex with a literal first: fast), and before the colon, past any
    space, a code's last character, a digit (or a hex digit of `0x...`); the full pattern,
    which costs a thousand times that test, then runs on the lines of such colons only. On
    real text one body in seven has such a colon (times, versions, "step 2:"), and the
    prose scan it used to bring cost more than the pattern."""
    for m in _COLON_RE.finditer(body):
        q = m.start()
        while q > 0 and body[q - 1].isspace():
            q -= 1
        last = body[q - 1] if q > 0 else ""
        if last in _DIGITS or (last in _HEX and "0x" in body[max(0, q - 10):q]):
            start, end = body.rfind("\n", 0, q) + 1, body.find("\n", q)
            if any(is_code(c.group(1)) for c in _CODE_MESSAGE_RE.finditer(body, start, end if end >= 0 else len(body))):
                return True
    return False


def collect_code_messages(ctx: LintContext, a: Article) -> None:
    """KB801, during the per-article pass: note the live article's `CODE: message` pairs."""
    if ctx.on("KB801") and a.status != "retired" and ":" in a.body and may_have_code_message(a.body):
        for cm in code_messages(a, ctx.prose(a)):
            add_code_message(ctx, cm)


def add_code_message(ctx: LintContext, cm: CodeMessage) -> None:
    ctx.code_messages.setdefault(_norm(cm.message), []).append(cm)


def check_conflicting_codes(ctx: LintContext) -> None:
    """KB801: one message, several codes; reported where the less used code is written."""
    for uses in ctx.code_messages.values():
        if len({u.code for u in uses}) < 2:
            continue
        uses.sort(key=lambda u: (u.article.created or date.min, u.article.rel_path, u.line))
        weight = Counter(code for code, _ in dict.fromkeys((u.code, u.article.path) for u in uses))
        main = max(weight, key=lambda c: weight[c])  # ties: the code the oldest article uses
        first_main = next(u for u in uses if u.code == main)
        for u in uses:
            if u.code != main:
                ctx.report(u.article, "KB801", u.line, u.column, code=u.code, message=u.message, other_code=main,
                           other=first_main.article.rel_path, refs=(ctx.real(first_main.article),),
                           key=f"{u.code} {_norm(u.message)}")


def _symptom_text(a: Article) -> list[tuple[int, str]]:
    """(line, text) of the title, the summary and each line of the symptom-like sections."""
    out = [(a.line_of("title"), a.title), (a.line_of("summary"), a.summary)]
    lines = a.body.split("\n")
    tops = [h.line for h in a.headings if h.level <= 2]
    for s in a.sections:
        if s.title.strip().lower() in SYMPTOM_SECTIONS:
            end = next((ln for ln in tops if ln > s.line), a.body_line + len(lines))
            out.extend((ln, lines[ln - a.body_line]) for ln in range(s.line + 1, end))
    return out


def undeclared_codes(a: Article) -> list[tuple[str, int, int]]:
    """(code, line, column) of each code in the symptoms that `error_codes` does not list."""
    declared = {c.casefold() for c in a.error_codes}
    declared |= {t.casefold() for c in a.error_codes for t in CODE_RE.findall(c)}
    seen: set[str] = set()
    out = []
    for line, text in _symptom_text(a):
        for m in CODE_RE.finditer(text):
            code = m.group(0)
            if is_code(code) and code.casefold() not in declared and code.casefold() not in seen:
                seen.add(code.casefold())
                out.append((code, line, m.start() + 1))
    return out


def check_undeclared_codes(ctx: LintContext, a: Article) -> None:
    """KB802 (fixable: the fixer appends the code to `error_codes`)."""
    if ctx.on("KB802") and a.status != "retired":
        for code, line, col in undeclared_codes(a):
            ctx.report(a, "KB802", line, col, code=code, key=f"undeclared {code}")


def check_fixed_known_issue(ctx: LintContext, a: Article) -> None:
    """KB803: a published known issue whose Status says fixed, past the grace period."""
    if not ctx.on("KB803") or a.type != "known-issue" or a.status != "published" or a.last_reviewed is None:
        return
    status = a.section("Status")
    if status is None:
        return
    first = next((line.strip() for line in status.text.split("\n") if line.strip()), "")
    if not _FIXED_RE.search(first) or _NOT_FIXED_RE.search(first):
        return
    days = (ctx.today - a.last_reviewed).days
    if days > GRACE_DAYS:
        ctx.report(a, "KB803", status.line, said=first[:60], days=days, key="fixed known issue")
