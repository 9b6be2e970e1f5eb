"""Secrets and personal data (kbtool.lint.sensitive, KB601-KB607): what is found, where,
how it is masked, what is not a finding, and the severity by audience.

Secrets are not stored in the repository (secret scanners would rightly flag them): the
tests assemble them from fragments."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from kbfactory import front_matter, write_file

from kbtool.config import ConfigError
from kbtool.lint.sensitive import _URL_CRED_RE, SensitiveScanner, _url_credential_matches, luhn_ok, mask_token, shape

# The articles these tests write: front-matter on lines 1-12, a blank line, the body from line 14.
FAQ = {"type": "faq", "tags": ["fixture"], "created": "2025-01-10", "last_reviewed": "2026-10-01"}

# Secrets assembled from fragments so the repository never contains one.
AWS_KEY = "AKIA" + "Q3EGTZ7" + "XN4KWB2PL"  # 20 chars, not AWS's EXAMPLE key
GITHUB_TOKEN = "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8"  # 36 after the prefix
JWT = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98R2Xk0w1t4jZ1s8bXyZq\n-----END RSA " + "PRIVATE KEY-----\n"


def article(doc_id: str, body: str = "", **fields: object) -> str:
    return front_matter(doc_id, **{**FAQ, **fields}) + "\n" + body


@pytest.fixture(scope="module")
def scanner(config_for) -> SensitiveScanner:
    return SensitiveScanner(config_for(Path("/nonexistent/kb")))


def write_secret_articles(kb_dir: Path) -> dict[str, tuple[str, int, str]]:
    """Articles with one secret each; returns rel -> (code, line, secret)."""
    out = {}
    for code, name, secret in (
        ("KB601", "private-key", PEM),
        ("KB602", "access-token", AWS_KEY),
        ("KB603", "jwt", JWT),
    ):
        rel = f"articles/{code.lower()}-{name}.md"
        write_file(kb_dir, rel, article(f"{code.lower()}-{name}", f"Intro.\n\nValue:\n\n{secret}\n"))
        out[rel] = (code, 18, secret)
    rel = "articles/kb602-github-token.md"
    write_file(kb_dir, rel, article("kb602-github-token", f"Intro.\n\n    export GITHUB_TOKEN={GITHUB_TOKEN}\n"))
    out[rel] = ("KB602", 16, GITHUB_TOKEN)
    return out


def test_secrets_found_located_and_masked(fixture_copy: Path, lint_dir, by_file) -> None:
    planted = write_secret_articles(fixture_copy)
    _, result = lint_dir(fixture_copy)
    found = by_file(result)
    for rel, (code, line, _) in planted.items():
        assert found.get(rel) == [(code, line)], rel
    assert len(result.findings) > len(planted)  # the fixture's own findings too
    for f in result.findings:
        for _, _, secret in planted.values():
            assert secret.strip() not in f.message
            assert secret[6:20] not in f.message  # not even a long fragment
    gh = next(f for f in result.findings if f.rel_path == "articles/kb602-github-token.md")
    assert "GitHub token" in gh.message and "ghp_" in gh.message and gh.severity == "error"


def test_sensitive_data_is_a_warning_in_internal_content(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/internal-note.md", article("internal-note", "Ask jane@acme-corp.com. Allow 10.1.2.3.\n",
                                                            audience="internal"))
    write_file(kb_dir, "runbooks/rb.md", article("rb", "Ask jane@acme-corp.com.\n", type="faq", audience="internal"))
    write_file(kb_dir, "articles/public-note.md", article("public-note", "Ask jane@acme-corp.com.\n"))
    _, result = lint_dir(kb_dir, select=["KB6"])
    sev = {(f.rel_path, f.code): f.severity for f in result.findings}
    assert sev == {
        ("articles/internal-note.md", "KB605"): "warning",
        ("articles/internal-note.md", "KB606"): "warning",
        ("runbooks/rb.md", "KB605"): "warning",
        ("articles/public-note.md", "KB605"): "error",
    }


def test_sensitive_data_in_front_matter(tmp_path: Path, lint_dir) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "Body.\n", raw="aliases: [\"mail bob@corp-mail.com\"]\n"))
    _, result = lint_dir(kb_dir, select=["KB605"])
    assert [(f.code, f.line) for f in result.findings] == [("KB605", 12)]


@pytest.mark.parametrize("text", [
    "Mail support@example.com or help@eu.example.org; the app lives at app.orbit.example.",
    "Write to billing@orbit.example (a reserved test domain) or you@yourcompany.com.",
    "Use 192.0.2.1, 198.51.100.200, 203.0.113.9, 2001:db8::1, 127.0.0.1, ::1, 0.0.0.0 and 169.254.169.254.",
    "Netmask 255.255.255.0; version 1.2.3 and build 10.0.19041.1; v1.2.3.4; at 12:30:45 UTC.",
    "MAC 00:1A:2B:3C:4D:5E and std::vector and C++ a::b are not addresses.",
    "Order 1234567890123 and invoice 2026-11-23-0001, phone +1 555 0100.",
    "Card ending 4242; test with `<CARD_NUMBER>`.",
    "Password: choose a new one. Set password=<YOUR_PASSWORD> and api_key: ${API_KEY}.",
    "token: YOUR_API_TOKEN, secret = os.environ['X'], password: '***', pwd=xxxxxx",
    "curl -H 'Authorization: Bearer <YOUR_API_TOKEN>' and Bearer $TOKEN",
    "The docs key AKIAIOSFODNN7EXAMPLE is AWS's own example. Prefixes like sk_live_ and ghp_ are fine alone.",
    "A JWT starts with eyJhbGciOi... and nothing more.",
    "task_live_0123456789abcdefABCDEF is a variable name, not a Stripe key.",
    "-----BEGIN RSA PRIVATE KEY----- is the first line of a key file.",
    "image@2x.png and icon@3x.svg are file names.",
    "Culture=neutral, PublicKeyToken=31bf3856ad364e35 and impersonateToken=abc123 are identifiers.",
    "Version=15.0.0.0, version 5.1.24.0, USER-AGENT: RTCC/4.0.0.0, see #section-7.4.1.2.",
    '$password = Read-Host "Enter password" -AsSecureString; db.DefaultPassword = strSecurePwd',
])
def test_no_false_positives(scanner: SensitiveScanner, text: str) -> None:
    assert scanner.scan(text) == []


@pytest.mark.parametrize("text,code", [
    ("postgres://u:p@h password=hunter2", "KB604"),
    ('{"client_secret": "s3cr3tValue"}', "KB604"),
    ("DB_PASSWORD: Tr0ub4dor&3", "KB604"),
    ("AccessToken=abc123def456", "KB604"),
    ("db.DefaultPassword = 'Secr3t!'", "KB604"),
    ("card 5555-5555-5555-4444 declined", "KB607"),
    ("card 378282246310005", "KB607"),
    ("server fd00:abcd::12 is down", "KB606"),
    ("from 8.8.8.8.", "KB606"),
    ("open http://192.168.5.56:8080 now", "KB606"),
    ('$password = "hunter2"', "KB604"),
    ("xox" + "b-1234567890-abcdefghij", "KB602"),
    ("key " + "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dcQ", "KB602"),
    ("AIza" + "SyD-1234567890abcdefghijKLMNOPQRSTU", "KB602"),
    ("Authorization: Bearer abcdef0123456789abcdef0123", "KB602"),
])
def test_detects(scanner: SensitiveScanner, text: str, code: str) -> None:
    assert [c for c, _, _ in scanner.scan(text)] == [code]


def test_hits_are_located_masked_and_never_overlap(scanner: SensitiveScanner) -> None:
    text = f"key:\n{PEM}\nmail jane.doe@acme-corp.com from 10.20.30.40, card 4111 1111 1111 1111, aws {AWS_KEY}"
    hits = scanner.scan(text)
    assert [c for c, _, _ in hits] == ["KB601", "KB605", "KB606", "KB607", "KB602"]
    assert [o for _, o, _ in hits] == sorted(o for _, o, _ in hits)
    offsets = {c: o for c, o, _ in hits}
    assert text[offsets["KB605"]:].startswith("jane.doe@") and text[offsets["KB606"]:].startswith("10.20")
    params = {c: p for c, _, p in hits}
    ends = {c: p.pop("end") for c, _, p in hits}  # every hit says where it stops (the redactor cuts there)
    assert text[offsets["KB606"]:ends["KB606"]] == "10.20.30.40" and text[ends["KB602"] - 1] == AWS_KEY[-1]
    assert params["KB601"] == {"kind": "RSA private key"}
    assert params["KB605"]["masked"] == "j***@acme-corp.com"
    assert params["KB606"] == {"masked": "10.20.x.x"}
    assert params["KB607"] == {"last4": "1111"}
    assert params["KB602"] == {"kind": "AWS access key id", "masked": "'AKIA…' (20 chars)"}


def test_password_assignment_names_the_key(scanner: SensitiveScanner) -> None:
    text = "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"
    ((code, offset, params),) = scanner.scan(text)
    assert code == "KB604" and offset == len("export ")
    assert params == {"name": "AWS_SECRET_ACCESS_KEY", "masked": "'***' (21 chars)", "end": len(text)}


def test_prepare_skips_token_patterns_absent_from_the_corpus(config_for) -> None:
    s = SensitiveScanner(config_for(Path("/nonexistent/kb")))
    s.prepare("nothing secret here")
    assert s.tokens == []
    assert [c for c, _, _ in s.scan(AWS_KEY)] == []  # only texts from the prepared corpus are scanned
    s.prepare(f"x {AWS_KEY}")
    assert [kind for kind, _, _ in s.tokens] == ["AWS access key id"]
    assert [c for c, _, _ in s.scan(AWS_KEY)] == ["KB602"]


def test_email_and_ip_allowlists_from_config(tmp_path: Path, lint_dir, config_for) -> None:
    kb_dir = tmp_path / "kb"
    write_file(kb_dir, "articles/a.md", article("a", "Mail help@orbit-support.io from 100.64.1.2.\n"))
    toml = '[lint]\nemail_allowlist = ["example.com", "orbit-support.io"]\nip_allowlist = ["100.64.0.0/10"]\n'
    _, result = lint_dir(kb_dir, select=["KB6"])
    assert {f.code for f in result.findings} == {"KB605", "KB606"}  # reported without the allowlists
    _, result = lint_dir(kb_dir, toml, select=["KB6"])
    assert result.findings == []
    with pytest.raises(ConfigError, match="ip_allowlist"):
        config_for(kb_dir, '[lint]\nip_allowlist = ["not-a-network"]\n')


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


def test_mask_token_shows_at_most_a_quarter() -> None:
    assert mask_token("ghp_" + "x" * 36, 4) == "'ghp_…' (40 chars)"
    assert mask_token("abcdefgh", 4) == "'ab…' (8 chars)"
    assert mask_token("abc", 3) == "'…' (3 chars)"


def test_url_credentials_found_as_the_plain_regex_finds_them() -> None:
    """The scan tries the credential pattern only at each `://`; on random text full of
    scheme runs of every length, separators and near-misses it must find exactly what
    `finditer` over every position finds."""
    rng = random.Random(7)
    tails = ["://u:p@h", "://:x@y", ":/", "://u@h", " ", "://u:p@", "://a:b@c://d:e@f", "\n"]
    for _ in range(20_000):
        text = "".join("".join(rng.choice("ab1+.-Z") for _ in range(rng.randint(0, 30))) + rng.choice(tails)
                       for _ in range(rng.randint(1, 4)))
        expected = [(m.start(), m.end()) for m in _URL_CRED_RE.finditer(text)]
        assert [(m.start(), m.end()) for m in _url_credential_matches(text)] == expected, text


def test_shape_keeps_offsets_on_any_text() -> None:
    text = "Ünïcode 10.0.0.1 DE89 3704 ✓ \U0001F600 ab"
    shaped = shape(text)
    assert len(shaped) == len(text)
    assert shaped.index("00.0.0.0") == text.index("10.0.0.1")
    assert shaped.index("AA00") == text.index("DE89")


def test_assignment_prefilter_never_hides_a_finding(scanner: SensitiveScanner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts the key-root prefilter waves through get the full scan; on random texts made of
    key names, quotes, blanks, separators and values, skipping the others loses nothing."""
    import kbtool.lint.sensitive as sensitive

    rng = random.Random(11)
    pieces = ["password", "Passphrase", "api_key", "API-KEY", "pwd", "auth_token", "token", "secret", "key",
              "'", '"', " ", "\t", "=", ":", "x", "Hunter2!z9", "ok", "\n", "my", "PASSWORD"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    filtered = [[h for h in scanner.scan(t) if h[0] == "KB604"] for t in texts]
    assert sum(not sensitive._root_before_separator(t.lower()) for t in texts) > 500  # it does skip
    monkeypatch.setattr(sensitive, "_root_before_separator", lambda lower: True)
    assert [[h for h in scanner.scan(t) if h[0] == "KB604"] for t in texts] == filtered
    assert sum(map(bool, filtered)) > 100  # the texts do hold findings


def test_the_phone_gate_skips_no_phone() -> None:
    """`scan` runs the phone pattern only where the shaped text has `+0` or `(000)`: every
    place the pattern can match has one."""
    from kbtool.lint.sensitive import _PHONE_RE

    rng = random.Random(4)
    pieces = ["+", "(", ")", "1", "0", "555", "-", " ", ".", "4", "(415)", "+44", "x", "é", "\n", "123-4567"]
    for _ in range(5000):
        body = "".join(rng.choices(pieces, k=rng.randint(1, 14)))
        if _PHONE_RE.search(body):
            shaped = shape(body)
            assert "+0" in shaped or "(000)" in shaped, body
