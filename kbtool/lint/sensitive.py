"""The secrets / personal-data scanner behind KB601-KB610: `SensitiveScanner.scan(text)`
returns (code, offset, params) for each private key, access token (AWS secret keys and
Azure account keys included), JWT, password assignment, credentials in a URL, email
address, IP address, card number, phone number and IBAN in `text`. Every hit's params
carry `end`, the offset just past it, so the event-store redactor can cut it out.

Speed matters (every line of every article): patterns start with a literal or a plain
character class so the regex engine can skip ahead, cheap `in` checks gate the rare
ones, and word boundaries are checked by hand on the few matches instead of with
look-behinds (which disable the engine's fast scan).
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..config import Config

Hit = tuple[str, int, dict[str, Any]]  # (rule code, offset in the text, message params)

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[ \t]*\n(?:[A-Za-z-]+: .*\n)*\s*[A-Za-z0-9+/=]{8,}"
)
_KEY_END_RE = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# (kind, pattern, characters of the match that may be shown). Every pattern starts with a
# literal, so a search is a fast substring scan; Stripe's `sk_`/`rk_` is checked by hand.
_TOKEN_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("AWS access key id", re.compile(r"A[KS]IA[0-9A-Z]{16}"), 4),
    ("GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"), 4),
    ("GitHub token", re.compile(r"github_pat_[A-Za-z0-9_]{22,}"), 11),
    ("Slack token", re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"), 5),
    ("Slack webhook URL", re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}"), 26),
    ("Stripe key", re.compile(r"k_(?:live|test)_[A-Za-z0-9]{16,}"), 7),
    ("Stripe webhook secret", re.compile(r"whsec_[A-Za-z0-9]{24,}"), 6),
    ("Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}"), 4),
]
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"Bearer\s+([A-Za-z0-9\-._~+/]{20,}=*)")
# `password` / `api_key` / ... right before an `=` or `:` (optional closing quote, blanks)
_ASSIGN_KEY = (
    r"(?:password|passwd|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"(?:access|auth|refresh|bearer)[_-]?token|token)"
)
# One forward pass finds every key name directly before a separator (a key name holds no
# `=` or `:`, so each match ends at its own separator): no backward search at every `=`/`:`.
# The pass runs case-sensitively over the lowered text (offsets agree while lowering keeps
# the length), a third of the cost of `re.I`; the `re.I` pair is the fallback.
_ASSIGN_TAIL = _ASSIGN_KEY + r"[\"']?[ \t]*$"
_ASSIGN_FWD = _ASSIGN_KEY + r"[\"']?[ \t]*[=:]"
_ASSIGN_TAIL_RE, _ASSIGN_RE = re.compile(_ASSIGN_TAIL), re.compile(_ASSIGN_FWD)
_ASSIGN_TAIL_RE_I, _ASSIGN_RE_I = re.compile(_ASSIGN_TAIL, re.I), re.compile(_ASSIGN_FWD, re.I)
_ASSIGN_ROOTS = ("pass", "pwd", "secret", "key", "token")
_KEY_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz_-")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_VALUE_RE = re.compile(r"""(["'])([^"'\n]*)\1|([^\s"'`,;&<>)\]}|]+)""")
_EMAIL_DOMAIN_RE = re.compile(r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-])")
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*$")
_IPV4_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_SHAPE = bytes.maketrans(b"123456789" + string.ascii_uppercase.encode(), b"0" * 9 + b"A" * 26)
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_CARD_RE = re.compile(r"[0-9]{4}(?:([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}|([ -])[0-9]{6}\2[0-9]{4,5}|[0-9]{9,15})")
_AWS_SECRET_RE = re.compile(r"secret_access_key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])", re.I)
_AZURE_KEY_RE = re.compile(r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{30,}={0,2})")
_URL_CRED_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{1,20})://([^\s:/@'\"<>`]{1,64}):([^\s@/'\"<>`]{1,128})@([A-Za-z0-9.-]+)")
_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+.-")
_ASCII_LETTERS = frozenset(string.ascii_letters)
_PHONE_RE = re.compile(r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,5}|\([0-9]{3}\) ?[0-9]{3}-[0-9]{4}")
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?")
_CARD_IIN_RE = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|22))")

_PLACEHOLDER_WORDS = (
    "your", "example", "placeholder", "redacted", "xxx", "***", "dummy", "sample", "fake", "changeme",
    "hidden", "masked", "<", "...", "…",
)
_PLACEHOLDER_VALUES = {
    "none", "null", "nil", "true", "false", "yes", "no", "required", "optional", "string", "value",
    "here", "token", "secret", "password", "empty", "str", "text", "test", "foo", "bar", "foobar",
}
_DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
_RESERVED_TLDS = {"example", "test", "invalid", "localhost", "local", "internal"}
_FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "md", "js", "css", "html", "htm", "txt"}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask_token(value: str, shown: int) -> str:
    """The public prefix of a token and its length, never the secret part."""
    shown = min(shown, max(len(value) // 4, 0))
    return f"'{value[:shown]}…' ({len(value)} chars)"


def _is_placeholder(value: str) -> bool:
    v = value.strip().lower()
    if not v or v[0] in "<$%{[(*#@.…" or v in _PLACEHOLDER_VALUES:
        return True
    if len(set(v)) == 1:
        return True
    if re.fullmatch(r"[A-Z_]+", value.strip()):
        return True  # SHOUTY_PLACEHOLDER
    return any(w in v for w in _PLACEHOLDER_WORDS)


def _secret_like(value: str) -> bool:
    """A `key: value` value that looks like a credential rather than a word of prose."""
    if len(value) < 6:
        return False
    return bool(re.search(r"\d", value) or re.search(r"[^A-Za-z0-9]", value) or re.search(r"[A-Z]", value[1:]))


_VERSION_BEFORE_RE = re.compile(r"(?:\b(?:version|ver\.?|build|release)|[A-Za-z]/)[\s:=\"']*$", re.I)


def _version_context(text: str, start: int) -> bool:
    """True for a dotted number written as a version: `Version=15.0.0.0`, `version 5.1.24.0`,
    `RTCC/4.0.0.0` (product/version; `http://10.0.0.1` is still an address)."""
    return bool(_VERSION_BEFORE_RE.search(text, max(0, start - 24), start))


def _has_digit(text: str, s: int, e: int) -> bool:
    """IPv6 candidates need a decimal digit: `a::b` or `dead::beef` in prose are C++ and jokes."""
    return any(c.isdigit() for c in text[s:e])


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass
class _Scan:
    """One text being scanned: the hits so far, and the spans they cover (no overlaps)."""

    text: str
    found: list[Hit] = field(default_factory=list)
    taken: list[tuple[int, int]] = field(default_factory=list)

    def add(self, code: str, s: int, e: int, params: dict[str, Any]) -> None:
        """Record a hit on text[s:e] unless an earlier hit already covers part of it."""
        if not any(s < te and ts < e for ts, te in self.taken):
            self.taken.append((s, e))
            self.found.append((code, s, {**params, "end": e}))

    def bounded(self, s: int, e: int, extra: str = "") -> bool:
        """text[s:e] is a whole word: no word character (or one of `extra`) on either side."""
        text = self.text
        before = text[s - 1] if s > 0 else " "
        after = text[e] if e < len(text) else " "
        return not (_word_char(before) or before in extra) and not (_word_char(after) or after in extra)

    def number_edges_ok(self, s: int, e: int, extra: str = "") -> bool:
        """A number token: no word char or '.' before; after, no word char, and a '.'
        only as a full stop (so 1.2.3.4.5 and v1.2.3.4 are not addresses)."""
        text = self.text
        before = text[s - 1] if s > 0 else " "
        after = text[e] if e < len(text) else " "
        if _word_char(before) or before == "." or before in extra or _word_char(after) or after in extra:
            return False
        return not (after == "." and text[e + 1:e + 2].isdigit())


class SensitiveScanner:
    """Finds secrets and personal data in a string: `scan` returns (code, offset, params)."""

    def __init__(self, config: Config) -> None:
        self.allow_domains = [d.lower().lstrip("@.") for d in config.lint.email_allowlist]
        nets = list(_DOC_NETS)
        for n in config.lint.ip_allowlist:
            nets.append(ipaddress.ip_network(n, strict=False))
        self.nets = nets
        self.tokens = _TOKEN_PATTERNS

    def prepare(self, corpus: str) -> None:
        """Skip, for every text, the token patterns that match nowhere in `corpus` (all the
        texts about to be scanned): one fast pass over the KB instead of one per article."""
        self.tokens = [t for t in _TOKEN_PATTERNS if t[1].search(corpus)]

    def scan(self, text: str) -> list[Hit]:
        """Every hit in `text`, by offset. Earlier detectors win overlaps (a key beats the
        token inside it), so the order below matters."""
        s = _Scan(text)
        if "PRIVATE KEY" in text:
            self._private_keys(s)
        self._tokens(s)
        if "ecret_access_key" in text or "ECRET_ACCESS_KEY" in text or "AccessKey=" in text or "AccountKey=" in text:
            self._cloud_keys(s)
        if "://" in text and "@" in text:
            self._url_credentials(s)
        if "eyJ" in text:
            self._jwts(s)
        if "Bearer" in text:
            self._bearer_tokens(s)
        self._assignments(s)
        if "@" in text:
            self._emails(s)
        # Numbers: one cheap pass maps every digit to 0 (and capital to A), then plain
        # substring searches find the few places worth a regex (addresses, cards, IBANs).
        if ":" in text:
            self._ipv6(s)
        digits = shape(text)
        self._ipv4(s, digits)
        if "0000 0000" in digits or "0000-0000" in digits or "0" * 13 in digits:
            self._cards(s)
        if "+0" in digits or "(000)" in digits:  # where `+` and a digit, or `(NNN)`, stand: a phone can start
            self._phones(s)
        self._ibans(s, digits)
        s.found.sort(key=lambda x: x[1])
        return s.found

    # --- KB601-KB603: keys and tokens ---------------------------------------------------

    def _private_keys(self, s: _Scan) -> None:
        """The block from BEGIN to its END line (to the end of the text when it is cut off)."""
        for m in _PRIVATE_KEY_RE.finditer(s.text):
            footer = _KEY_END_RE.search(s.text, m.end())
            end = footer.end() if footer else len(s.text)
            s.add("KB601", m.start(), end, {"kind": (m.group(1).strip() or "PKCS#8") + " private key"})

    def _tokens(self, s: _Scan) -> None:
        text = s.text
        for kind, rx, shown in self.tokens:
            for m in rx.finditer(text):
                start, tok = m.start(), m.group(0)
                if kind == "Stripe key":
                    if start == 0 or text[start - 1] not in "sr":
                        continue
                    start, tok = start - 1, text[start - 1] + tok
                if kind.startswith("AWS") and tok.endswith("EXAMPLE"):
                    continue  # AWS's documentation keys
                if kind.startswith("Slack webhook") or s.bounded(start, m.end(), "-"):
                    masked = mask_token(tok, shown + 1 if kind == "Stripe key" else shown)
                    s.add("KB602", start, m.end(), {"kind": kind, "masked": masked})

    def _jwts(self, s: _Scan) -> None:
        for m in _JWT_RE.finditer(s.text):
            if s.bounded(m.start(), m.end(), "-"):
                s.add("KB603", m.start(), m.end(), {"masked": mask_token(m.group(0), 3)})

    def _bearer_tokens(self, s: _Scan) -> None:
        for m in _BEARER_RE.finditer(s.text):
            tok = m.group(1)
            if re.search(r"\d", tok) and re.search(r"[A-Za-z]", tok) and not _is_placeholder(tok):
                s.add("KB602", m.start(1), m.end(1), {"kind": "bearer token", "masked": mask_token(tok, 0)})

    def _cloud_keys(self, s: _Scan) -> None:
        """`aws_secret_access_key = ...` (40 characters) and Azure `AccountKey=...`."""
        for rx, kind in ((_AWS_SECRET_RE, "AWS secret access key"), (_AZURE_KEY_RE, "Azure account key")):
            for m in rx.finditer(s.text):
                value = m.group(1)
                if not value.endswith(("EXAMPLEKEY", "EXAMPLE")) and not _is_placeholder(value):
                    s.add("KB602", m.start(1), m.end(1), {"kind": kind, "masked": mask_token(value, 0)})

    def _url_credentials(self, s: _Scan) -> None:
        """KB608: `scheme://user:password@host` (before emails: it is a credential, not an address)."""
        for m in _url_credential_matches(s.text):
            password = m.group(3)
            if _is_placeholder(password) or password.startswith(("{", "%")):
                continue
            s.add("KB608", m.start(), m.end(), {"scheme": m.group(1).lower(),
                                                "masked": f"'{m.group(1)}://{m.group(2)[:1]}***:***@{m.group(4)}'"})

    # --- KB604: password = literal --------------------------------------------------------

    def _assignments(self, s: _Scan) -> None:
        text = s.text
        lower = text.lower()
        if not any(root in lower for root in _ASSIGN_ROOTS):
            return
        fwd, tail = _ASSIGN_RE, _ASSIGN_TAIL_RE
        if len(lower) != len(text):  # a character whose lower case is longer: keep offsets
            lower, fwd, tail = text, _ASSIGN_RE_I, _ASSIGN_TAIL_RE_I
        elif not _root_before_separator(lower):
            return
        for m in fwd.finditer(lower):
            sep = m.end() - 1
            # the key as the backward search from the separator finds it (48 characters back)
            km = m if m.start() >= sep - 48 else tail.search(lower, max(0, sep - 48), sep)
            if km is not None:
                self._assignment_at(s, sep, km)

    def _assignment_at(self, s: _Scan, sep: int, km: re.Match[str]) -> None:
        """`password=...` / `client_secret: ...`: key name `km`, the `=` or `:` at `sep`."""
        text = s.text
        start = km.start()
        if start > 0 and text[start - 1].isalnum():
            # Inside a longer word: only `DefaultPassword`-style camelCase counts, never
            # `PublicKeyToken` (.NET assembly identity) or other *Token names.
            camel = (text[start - 1].islower() and text[start].isupper()
                     and km.group(0).lower().startswith(("pass", "pwd", "secret")))
            if not camel:
                return
        # extend to the full key name (db_password, AWS_SECRET_ACCESS_KEY)
        while start > 0 and text[start - 1] in _KEY_CHARS:
            start -= 1
        value = _assigned_value(text, sep)
        if value is not None:
            name = text[start:sep].rstrip("\"' \t")
            v_start, v_text = value
            s.add("KB604", start, v_start + len(v_text), {"name": name, "masked": f"'***' ({len(v_text)} chars)"})

    # --- KB605: email addresses ---------------------------------------------------------------

    def _emails(self, s: _Scan) -> None:
        text = s.text
        for m in _EMAIL_DOMAIN_RE.finditer(text):
            domain, tld = m.group(1).lower(), m.group(2).lower()
            if tld in _FILE_TLDS or tld in _RESERVED_TLDS or domain.startswith("your") or self._domain_allowed(domain):
                continue  # file names, reserved TLDs, placeholders (you@yourcompany.com), allowlist
            lm = _EMAIL_LOCAL_RE.search(text, max(0, m.start() - 64), m.start())
            if lm is None or (lm.start() > 0 and (_word_char(text[lm.start() - 1]) or text[lm.start() - 1] in ".+-")):
                continue
            s.add("KB605", lm.start(), m.end(), {"masked": f"{lm.group(0)[0]}***@{domain}",
                                                 "allow": ", ".join(self.allow_domains)})

    def _domain_allowed(self, domain: str) -> bool:
        return any(domain == d or domain.endswith("." + d) for d in self.allow_domains)

    # --- KB606 / KB607: addresses and card numbers ----------------------------------------

    def _ipv6(self, s: _Scan) -> None:
        """IPv6 candidates: maximal runs of hex digits and colons with at least two colons."""
        text = s.text
        pos = text.find(":")
        n = len(text)
        while pos != -1:
            start, end = pos, pos + 1
            while start > 0 and text[start - 1] in _HEX_COLON:
                start -= 1
            while end < n and text[end] in _HEX_COLON:
                end += 1
            if (end - start >= 3 and text.count(":", start, end) >= 2 and s.bounded(start, end, ".")
                    and _has_digit(text, start, end)):
                masked = self._bad_ip(text[start:end])
                if masked:
                    s.add("KB606", start, end, {"masked": masked})
            pos = text.find(":", end)

    def _ipv4(self, s: _Scan, digits: str) -> None:
        """Dotted quads, found where `digits` (the text with every digit as 0) has `0.0`."""
        text = s.text
        pos = digits.find("0.0")
        while pos != -1:
            start = pos
            while start > 0 and digits[start - 1] == "0" and pos - start < 3:
                start -= 1
            m = _IPV4_RE.match(text, start)
            if m and s.number_edges_ok(m.start(), m.end(), "-") and not _version_context(text, m.start()):
                masked = self._bad_ip(m.group(0))
                if masked:
                    s.add("KB606", m.start(), m.end(), {"masked": masked})
            pos = digits.find("0.0", m.end() if m else pos + 1)

    def _bad_ip(self, text: str) -> str | None:
        """A masked form of the address if it must be reported, else None."""
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
        if ip.is_loopback or ip.is_unspecified or ip.is_link_local or any(ip in n for n in self.nets):
            return None
        if ip.version == 4:
            n = int(ip)
            inv = ~n & 0xFFFFFFFF
            if text.startswith("255.") and (inv + 1) & inv == 0:
                return None  # a netmask such as 255.255.255.0
            parts = text.split(".")
            return f"{parts[0]}.{parts[1]}.x.x"
        return text.split(":")[0] + ":…"

    def _phones(self, s: _Scan) -> None:
        """KB609: `+CC ...` with 8-15 digits, or `(NNN) NNN-NNNN`; 555-01xx is fictional."""
        for m in _PHONE_RE.finditer(s.text):
            digits = re.sub(r"\D", "", m.group(0))
            if not 8 <= len(digits) <= 15 or not s.number_edges_ok(m.start(), m.end(), "-"):
                continue
            if "55501" in digits:
                continue  # 555-0100 to 555-0199: reserved for fiction
            s.add("KB609", m.start(), m.end(), {"masked": f"{m.group(0)[:4]}… ending {digits[-2:]}"})

    def _ibans(self, s: _Scan, shaped: str) -> None:
        """KB610: IBAN-shaped runs (grouped by four or not) that pass the mod-97 check. A
        match can only start at two capitals and two digits, `AA00` in `shaped`: matching
        there, left to right, finds what `finditer` would."""
        pos = shaped.find("AA00")
        while pos != -1:
            m = _IBAN_RE.match(s.text, pos)
            if m is None:
                pos = shaped.find("AA00", pos + 1)
                continue
            if s.bounded(m.start(), m.end()) and iban_ok(m.group(0)):
                s.add("KB610", m.start(), m.end(), {"masked": f"{m.group(0)[:2]}… ending {m.group(0).replace(' ', '')[-4:]}"})
            pos = shaped.find("AA00", m.end())

    def _cards(self, s: _Scan) -> None:
        for m in _CARD_RE.finditer(s.text):
            if not s.number_edges_ok(m.start(), m.end(), "-"):
                continue
            number = re.sub(r"\D", "", m.group(0))
            if 13 <= len(number) <= 19 and _CARD_IIN_RE.match(number) and luhn_ok(number):
                s.add("KB607", m.start(), m.end(), {"last4": number[-4:]})


def shape(text: str) -> str:
    """`text` with every ASCII digit as 0, every ASCII capital as A and every non-ASCII
    character as `?`, offsets kept: plain substring searches on it (`0.0`, `AA00`) find the
    few places worth a regex. It goes through bytes (one per character), whose translate is
    a table lookup: on the 10k KB's 29 MB, 0.03 s against 0.47 s for `str.translate`."""
    return text.encode("ascii", "replace").translate(_SHAPE).decode("ascii")


def _root_before_separator(lower: str) -> bool:
    """False only if no key root (`pass`, `key`, ...) of lowered `lower` is followed by the
    rest of a key name (letters), a quote, blanks and then `=` or `:`, as every KB604 match
    is: "key" and "token" are common words, but rarely right before a separator, and the
    full pattern, tried at every position, costs ten times these few `find`s."""
    n = len(lower)
    for root in _ASSIGN_ROOTS:
        r = lower.find(root)
        while r != -1:
            j = r + len(root)
            stop = min(n, j + 12)
            while j < stop and lower[j] in _KEY_LETTERS:
                j += 1
            if j < n and lower[j] in "\"'":
                j += 1
            while j < n and lower[j] in " \t":
                j += 1
            if j < n and lower[j] in "=:":
                return True
            r = lower.find(root, r + 1)
    return False


def _url_credential_matches(text: str) -> Iterator[re.Match[str]]:
    """`_URL_CRED_RE.finditer(text)`, tried only at each `://`: a match's scheme is the run
    of scheme characters right before one (2 to 21 of them, from a letter), so the leftmost
    letter of that run, within reach and past the last match, is the one start that can
    match. The plain `finditer` tries a 20-character scheme at every letter of the text."""
    done = 0
    p = text.find("://")
    while p != -1:
        start = p
        while start > done and p - start < 21 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        while start < p - 1 and text[start] not in _ASCII_LETTERS:
            start += 1
        m = _URL_CRED_RE.match(text, start) if p - start >= 2 else None
        if m is not None:
            yield m
            done = m.end()
            p = text.find("://", done)
        else:
            p = text.find("://", p + 1)


def iban_ok(candidate: str) -> bool:
    """ISO 13616 mod-97: the country code and check digits moved to the end, letters as
    numbers (A=10 ... Z=35), the whole number mod 97 is 1."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _assigned_value(text: str, sep: int) -> tuple[int, str] | None:
    """(offset, value) of the literal assigned at `sep` (`=` or `:`), if it looks like a real
    credential rather than a placeholder, an expression or a word of prose."""
    pos = sep + 1
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    vm = _VALUE_RE.match(text, pos)
    if vm is None:
        return None
    quoted = vm.group(1) is not None
    value = vm.group(2) if quoted else vm.group(3)
    if value is None or len(value) < 3 or _is_placeholder(value):
        return None
    if re.search(r"[()\[\]]", value) or value.lower().startswith(("os.", "env", "process.", "settings.", "config.")):
        return None
    if text[sep] == ":" and not quoted and not _secret_like(value):
        return None  # `Password: choose a new one` is prose
    if text[sep] == "=" and not quoted and (text[sep - 1:sep] in " \t" or text[sep + 1:sep + 2] in " \t"):
        return None  # `$password = Read-Host ...`: code assigns expressions; its literals are quoted
    return (vm.start(2) if quoted else vm.start(3)), value


__all__ = ["Hit", "SensitiveScanner", "iban_ok", "luhn_ok", "mask_token"]
