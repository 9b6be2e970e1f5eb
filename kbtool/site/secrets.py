"""Secrets block publishing: `kbtool build` refuses a public article holding a private key
or an access token (lint's KB601/KB602, the very same scanner), unless the author silenced
that finding explicitly with `<!-- kbtool: disable=KB602 -->` in the file, as lint honours it.

A finding names the file, the line and the rule, never the secret (not even masked):
build logs are often public (CI).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..content import Article
from ..lint.checks import SUPPRESS_RE
from ..lint.rules import matches
from ..lint.sensitive import SensitiveScanner

BLOCKING_CODES = ("KB601", "KB602")


@dataclass(frozen=True)
class SecretFinding:
    rel_path: str
    line: int
    code: str
    kind: str  # "AWS access key id", "RSA private key", ...

    def __str__(self) -> str:
        return f"{self.rel_path}:{self.line}: {self.code} {self.kind}: remove it (and rotate it) before publishing"


def _suppressed(a: Article) -> list[str]:
    return [code for m in SUPPRESS_RE.finditer(a.body) for code in m.group(1).replace(",", " ").split()]


def _texts(a: Article) -> list[tuple[int, str]]:
    """(first line, text) of the body and of every string front-matter value."""
    out = [(a.body_line, a.body)]
    for key, value in a.meta.items():
        values = value if isinstance(value, list) else [value]
        out += [(a.line_of(str(key)), v) for v in values if isinstance(v, str)]
    return out


def find_secrets(config: Config, articles: list[Article]) -> list[SecretFinding]:
    """KB601/KB602 findings in `articles` (those about to be published) not silenced in their file."""
    scanner = SensitiveScanner(config)
    found: list[SecretFinding] = []
    for a in articles:
        selectors = _suppressed(a) if "kbtool:" in a.body else []
        for first, text in _texts(a):
            for code, offset, params in scanner.scan(text):
                if code not in BLOCKING_CODES or any(matches(code, s) for s in selectors):
                    continue
                line = first + text.count("\n", 0, offset) if text is a.body else first
                found.append(SecretFinding(a.rel_path, line, code, str(params.get("kind", "secret"))))
    return found
