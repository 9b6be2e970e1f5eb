"""Scoped API keys, checked in constant time, reloaded when the keys file changes, rate limited.

Scopes, each including the ones before it: `public` (widgets, the help center: public
content only), `agent` (internal articles and runbooks), `admin` (the event counters; keys
themselves are managed with `kbtool keys` on the server). The keys file holds no secret:
each key is `kbt_<id>_<secret>`, stored as its id, scope and `sha256(salt + secret)` (the
secret has 256 random bits, so a fast hash is as safe as a slow one and costs the request
microseconds); the id finds the entry, `hmac.compare_digest` compares the digest.

With no key and no `KBTOOL_API_TOKEN`, the API is open and every caller is public (as
before keys existed). Once there is one, `/v1/suggest` and `/v1/articles` need a key, while
a caller without one may still post help-center feedback and deflections (public
articles only, rate limited per client address): the help center posts from readers'
browsers, where no secret can be kept. `KBTOOL_API_TOKEN` stays valid as an admin key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("kbtool.api")

SCOPES = ("public", "agent", "admin")
KEYS_FILE = ".api-keys.json"  # in the index directory (its dot-name is one the index keeps)
DEFAULT_RATES = {"public": 300, "agent": 1200, "admin": 1200}  # requests per minute
ANONYMOUS_RATE = 60  # per client address per minute, when keys are required


class KeyProblem(ValueError):
    """A keys-file operation the user must fix (unknown key, bad scope); the CLI shows the message."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scope: str
    salt: str
    digest: str
    created: str
    rate: int  # requests per minute; 0: unlimited
    revoked: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who is asking: `scope` None is a caller without a key on a server that has keys."""

    scope: str | None
    key_id: str | None = None
    rate: int = 0

    @property
    def internal(self) -> bool:
        return self.scope in ("agent", "admin")

    @property
    def admin(self) -> bool:
        return self.scope == "admin"


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def keys_path(index_dir: Path) -> Path:
    return index_dir / KEYS_FILE


class KeyFile:
    """The keys file: read, create, revoke; written atomically with mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[ApiKey]:
        """The keys; raises KeyProblem (naming the file) when it is unreadable or malformed."""
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [ApiKey(**k) for k in data["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise KeyProblem(f"{self.path}: not a kbtool keys file ({type(e).__name__}: {e})") from None

    def _save(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".api-keys-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "keys": [asdict(k) for k in keys]}, fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def create(self, scope: str, name: str, rate: int | None = None) -> tuple[ApiKey, str]:
        """A new key and its full secret (shown once; only its digest is kept)."""
        if scope not in SCOPES:
            raise KeyProblem(f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
        keys = self.load()
        if not name.strip() or any(k.name == name and not k.revoked for k in keys):
            raise KeyProblem(f"name: {name!r} is empty or already names an active key")
        key_id, secret, salt = secrets.token_hex(4), secrets.token_urlsafe(32), secrets.token_hex(16)
        key = ApiKey(key_id, name, scope, salt, _digest(salt, secret), _now(),
                     DEFAULT_RATES[scope] if rate is None else rate)
        self._save([*keys, key])
        return key, f"kbt_{key_id}_{secret}"

    def revoke(self, ref: str) -> ApiKey:
        """Revoke the active key with this id or name."""
        keys = self.load()
        hits = [k for k in keys if ref in (k.id, k.name) and not k.revoked]
        if not hits:
            raise KeyProblem(f"no active key with id or name {ref!r} (see `kbtool keys list`)")
        revoked = ApiKey(**{**asdict(hits[0]), "revoked": _now()})
        self._save([revoked if k is hits[0] else k for k in keys])
        return revoked


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token buckets in memory (per worker): `rate` per minute, bursts of a quarter of it."""

    buckets: dict[str, _Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, who: str, rate: int) -> float:
        """0 when the request may go on, else the seconds to wait before retrying."""
        if rate <= 0:
            return 0.0
        capacity, per_second = max(1.0, rate / 4), rate / 60
        now = time.monotonic()
        with self.lock:
            b = self.buckets.setdefault(who, _Bucket(capacity, now))
            b.tokens = min(capacity, b.tokens + (now - b.stamp) * per_second)
            b.stamp = now
            if b.tokens >= 1:
                b.tokens -= 1
                return 0.0
            if len(self.buckets) > 50_000:  # a flood of client addresses must not grow memory without bound
                self.buckets = {who: b}
            return (1 - b.tokens) / per_second


class KeyRing:
    """The keys the server accepts, reloaded when the file's mtime or size changes (rotation
    without restart). A file that stops parsing keeps the previous keys, with a warning."""

    def __init__(self, path: Path, token: str | None) -> None:
        self.file = KeyFile(path)
        self.token = token.encode() if token else None
        self._keys: dict[str, ApiKey] = {}
        self._seen: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        try:
            st = self.file.path.stat()
            seen: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        if seen == self._seen:
            return
        with self._lock:
            try:
                keys = self.file.load() if seen else []
            except KeyProblem as e:
                log.warning("kbtool: keeping the previous API keys: %s", e)
                return
            self._keys = {k.id: k for k in keys if not k.revoked}
            self._seen = seen

    @property
    def required(self) -> bool:
        return self.token is not None or bool(self._keys)

    def authenticate(self, presented: str) -> Caller | None:
        """The caller this key belongs to, or None for a key that is not valid."""
        value = presented.strip()
        if self.token is not None and hmac.compare_digest(value.encode(), self.token):
            return Caller("admin", "token")
        parts = value.split("_", 2)
        key = self._keys.get(parts[1]) if len(parts) == 3 and parts[0] == "kbt" else None
        if key is None:
            hmac.compare_digest(_digest("00", value), "0" * 64)  # the same work for an unknown id
            return None
        if not hmac.compare_digest(_digest(key.salt, parts[2]), key.digest):
            return None
        return Caller(key.scope, key.id, key.rate)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
