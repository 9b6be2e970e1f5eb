"""Project configuration: one validated `Config`, read once, up front.

Read from `[tool.kbtool]` in `pyproject.toml`, or from `kbtool.toml` (top-level
keys) in the working directory or the nearest parent. Every value is checked before
any command runs, MkDocs-style, so a typo fails fast with the key named instead of
surfacing later as odd behaviour.

Keys of the knowledge loop and the API (all optional):

- `db`: where events go: a SQLite path (relative to the project root) or a
  `postgresql://` URL for several API replicas. Default `.kbtool/events.sqlite`. The
  `KBTOOL_DB` environment variable overrides it (`Config.events_target()`), so a URL with
  a password never has to live in a committed file.
- `store_ticket_text` (bool, default true): keep redacted ticket text with each event;
  false keeps ids and scores only.
- `feedback_url`, `search_url` (http(s) URL or a path; default none): where the help
  center's "Was this helpful?" posts and what its search box asks. None: not rendered.
- `request_url` (http(s) webhook or `mailto:`; default none): where the contact form goes.
- `support_email` (default none): shown beside the contact form.
- `site_origins` (list of `scheme://host[:port]`): browser origins the API allows by
  CORS. Default: the origin of `site_url` (none when `site_url` is a bare path).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TYPES = ("howto", "troubleshooting", "known-issue", "faq", "reference", "runbook")
STATUSES = ("draft", "in-review", "published", "retired")
AUDIENCES = ("public", "internal")

# Required `##` sections per article type (the KCS shape). An entry "A|B" is satisfied
# by either heading. Teams override this in config under [tool.kbtool.sections].
DEFAULT_SECTIONS: dict[str, list[str]] = {
    "troubleshooting": ["Symptoms", "Cause", "Resolution"],
    "known-issue": ["Symptoms", "Cause", "Workaround", "Status"],
    "howto": ["Steps"],
    "faq": [],
    "reference": [],
    "runbook": ["When to use", "Prerequisites", "Steps", "Verification", "Escalation|Rollback"],
}


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI turns it into exit code 2."""


@dataclass
class LintConfig:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)
    email_allowlist: list[str] = field(default_factory=lambda: ["example.com", "example.org", "example.net"])
    review_warn_days: int = 14
    max_title: int = 90
    max_summary: int = 240
    duplicate_threshold: float = 0.8
    ip_allowlist: list[str] = field(default_factory=list)  # CIDR networks allowed besides the documentation ranges


def kb_tag(kb: Path) -> str:
    """`name-digest` of a KB folder, for the files kept per KB beside others (its own index
    directory, lint's cache): the name to read, the digest of the full path to tell apart
    two KBs of one name."""
    return f"{kb.name}-{hashlib.sha1(str(kb).encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


@dataclass
class Config:
    root: Path
    kb: Path
    index_dir: Path
    site_dir: Path
    mkdocs_yml: Path
    cache_dir: Path | None = None  # lint's cache (None: `.kbtool/cache` under the root)
    site_url: str = "https://help.example.com/"
    review_every: int = 365
    sections: dict[str, list[str]] = field(default_factory=lambda: {t: list(h) for t, h in DEFAULT_SECTIONS.items()})
    lint: LintConfig = field(default_factory=LintConfig)
    source: Path | None = None
    # semantic matching: "auto" uses the embedding model when the `semantic` extra is installed
    semantic: bool | str = "auto"
    # the knowledge loop (see the module docstring)
    db: str = ".kbtool/events.sqlite"
    store_ticket_text: bool = True
    feedback_url: str | None = None
    search_url: str | None = None
    request_url: str | None = None
    support_email: str | None = None
    site_origins: list[str] = field(default_factory=list)

    def events_target(self, environ: dict[str, str] | None = None) -> str | Path:
        """The event store to open: `KBTOOL_DB` if set, else `db`.

        A `postgresql://` URL is returned as is; a path from the config is resolved against
        the project root, one from the environment against the current directory (as any
        path given on a command line would be)."""
        env = (os.environ if environ is None else environ).get("KBTOOL_DB", "").strip()
        if env:
            return env if _is_db_url(env) else Path(env).resolve()
        return self.db if _is_db_url(self.db) else (self.root / self.db).resolve()

    @property
    def lint_cache_dir(self) -> Path:
        """Where `kbtool lint` keeps what it computed per article (`cache_dir`)."""
        return self.cache_dir if self.cache_dir is not None else (self.root / ".kbtool" / "cache").resolve()

    @property
    def articles_dir(self) -> Path:
        return self.kb / "articles"

    @property
    def runbooks_dir(self) -> Path:
        return self.kb / "runbooks"


_TOP_KEYS = {
    "kb", "index_dir", "site_dir", "mkdocs_yml", "cache_dir", "site_url", "review_every", "sections", "lint", "semantic",
    "db", "store_ticket_text", "feedback_url", "search_url", "request_url", "support_email", "site_origins",
}
_LINT_KEYS = {
    "select", "ignore", "severity", "per_path_ignores", "email_allowlist",
    "review_warn_days", "max_title", "max_summary", "duplicate_threshold", "ip_allowlist",
}


def find_config_file(start: Path) -> Path | None:
    """The nearest `kbtool.toml`, or `pyproject.toml` with a [tool.kbtool] table."""
    for d in [start, *start.parents]:
        kt = d / "kbtool.toml"
        if kt.is_file():
            return kt
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                text = pp.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                if "tool.kbtool" in text:  # ours but broken: report it, never fall back to defaults
                    return pp
                continue
            tool = data.get("tool")
            if isinstance(tool, dict) and "kbtool" in tool:
                return pp
    return None


def _read_table(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("kbtool", {})
        return _expect(f"{path} [tool.kbtool]", table, dict, "a table")
    return data


def _expect(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {what}, got {type(value).__name__} {value!r}")
    return value


def _str_list(where: str, value: Any) -> list[str]:
    _expect(where, value, list, "a list of strings")
    for v in value:
        _expect(where, v, str, "a list of strings")
    return list(value)


def _parse_lint(src: str, table: dict[str, Any]) -> LintConfig:
    lc = LintConfig()
    _expect(f"{src} [lint]", table, dict, "a table")
    for key, value in table.items():
        where = f"{src} lint.{key}"
        if key not in _LINT_KEYS:
            raise ConfigError(f"{src}: unknown key lint.{key!r} (known: {', '.join(sorted(_LINT_KEYS))})")
        if key in ("select", "ignore", "email_allowlist"):
            setattr(lc, key, _str_list(where, value))
        elif key == "severity":
            _expect(where, value, dict, "a table of CODE = 'error'|'warning'|'off'")
            for code, sev in value.items():
                if sev not in ("error", "warning", "off"):
                    raise ConfigError(f"{where}.{code}: expected 'error', 'warning' or 'off', got {sev!r}")
            lc.severity = dict(value)
        elif key == "per_path_ignores":
            _expect(where, value, dict, "a table of GLOB = [CODES]")
            lc.per_path_ignores = {g: _str_list(f"{where}.{g}", v) for g, v in value.items()}
        elif key == "ip_allowlist":
            nets = _str_list(where, value)
            for n in nets:
                try:
                    ipaddress.ip_network(n, strict=False)
                except ValueError:
                    raise ConfigError(f"{where}: {n!r} is not an IP network such as '203.0.113.0/24'") from None
            lc.ip_allowlist = nets
        elif key == "duplicate_threshold":
            _expect(where, value, (int, float), "a number between 0 and 1")
            if not 0 < value <= 1:
                raise ConfigError(f"{where}: expected a number in (0, 1], got {value!r}")
            lc.duplicate_threshold = float(value)
        else:
            _expect(where, value, int, "a whole number")
            if value < 0:
                raise ConfigError(f"{where}: expected a non-negative number, got {value}")
            setattr(lc, key, value)
    return lc


def _is_db_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL, the form browsers send in `Origin`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


def _url(where: str, value: Any, schemes: tuple[str, ...], what: str, *, paths: bool = False) -> str:
    _expect(where, value, str, what)
    if (paths and value.startswith("/")) or (urlsplit(value).scheme in schemes and value.split(":", 1)[1].strip("/")):
        return str(value)
    raise ConfigError(f"{where}: expected {what}, got {value!r}")


def _parse_loop(src: str, table: dict[str, Any], cfg: Config) -> None:
    """The knowledge-loop keys; `site_origins` defaults to the origin of `site_url`."""
    if "db" in table:
        cfg.db = _expect(f"{src} db", table["db"], str, "a SQLite path or a postgresql:// URL")
        if not cfg.db.strip() or ("://" in cfg.db and not _is_db_url(cfg.db)):
            raise ConfigError(f"{src} db: expected a SQLite path or a postgresql:// URL, got {cfg.db!r}")
    if "store_ticket_text" in table:
        cfg.store_ticket_text = _expect(f"{src} store_ticket_text", table["store_ticket_text"], bool, "true or false")
    for key in ("feedback_url", "search_url"):
        if key in table:
            setattr(cfg, key, _url(f"{src} {key}", table[key], ("http", "https"), "an http(s) URL or a path",
                                   paths=True))
    if "request_url" in table:
        cfg.request_url = _url(f"{src} request_url", table["request_url"], ("http", "https", "mailto"),
                               "an http(s) URL or a mailto: address")
    if "support_email" in table:
        email = _expect(f"{src} support_email", table["support_email"], str, "an email address")
        if email.count("@") != 1 or not all(email.split("@")) or any(c.isspace() for c in email):
            raise ConfigError(f"{src} support_email: expected an email address, got {email!r}")
        cfg.support_email = email
    if "site_origins" in table:
        origins = _str_list(f"{src} site_origins", table["site_origins"])
        for o in origins:
            if origin_of(o) != o.lower().rstrip("/") or urlsplit(o).path.strip("/"):
                raise ConfigError(f"{src} site_origins: {o!r} is not an origin such as 'https://help.example.com'")
        cfg.site_origins = [o.lower().rstrip("/") for o in origins]
    else:
        default = origin_of(cfg.site_url)
        cfg.site_origins = [default] if default else []


def load_config(cwd: Path | None = None, kb: Path | None = None) -> Config:
    """Find, read and validate the configuration; `kb` overrides the configured KB dir.

    Relative paths in the file are relative to the file's folder, so commands behave
    the same from any subdirectory of the project.
    """
    cwd = (cwd or Path.cwd()).resolve()
    source = find_config_file(cwd)
    table: dict[str, Any] = _read_table(source) if source else {}
    root = source.parent if source else cwd
    src = str(source) if source else "defaults"

    unknown = set(table) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_TOP_KEYS))})")

    def path_of(key: str, default: str) -> Path:
        value = _expect(f"{src} {key}", table.get(key, default), str, "a path string")
        return (root / value).resolve()

    cfg = Config(
        root=root,
        kb=path_of("kb", "kb"),
        index_dir=path_of("index_dir", ".kbtool/index"),
        site_dir=path_of("site_dir", "site"),
        mkdocs_yml=path_of("mkdocs_yml", "mkdocs.yml"),
        cache_dir=path_of("cache_dir", ".kbtool/cache"),
        source=source,
    )
    if "site_url" in table:
        cfg.site_url = _expect(f"{src} site_url", table["site_url"], str, "a URL string")
        if not cfg.site_url.startswith(("http://", "https://", "/")):
            raise ConfigError(f"{src} site_url: expected an http(s) URL or a path, got {cfg.site_url!r}")
    if not cfg.site_url.endswith("/"):
        cfg.site_url += "/"
    if "review_every" in table:
        cfg.review_every = _expect(f"{src} review_every", table["review_every"], int, "a number of days")
        if cfg.review_every <= 0:
            raise ConfigError(f"{src} review_every: expected a positive number of days, got {cfg.review_every}")
    if "sections" in table:
        sections = _expect(f"{src} sections", table["sections"], dict, "a table of TYPE = [headings]")
        for t, heads in sections.items():
            if t not in TYPES:
                raise ConfigError(f"{src} sections.{t}: unknown article type (known: {', '.join(TYPES)})")
            cfg.sections[t] = _str_list(f"{src} sections.{t}", heads)
    if "lint" in table:
        cfg.lint = _parse_lint(src, table["lint"])
    if "semantic" in table:
        value = table["semantic"]
        if value != "auto" and not isinstance(value, bool):
            raise ConfigError(f"{src} semantic: expected true, false or \"auto\", got {value!r}")
        cfg.semantic = value
    _parse_loop(src, table, cfg)
    if kb is not None and (cwd / kb).resolve() != cfg.kb:
        cfg.kb = (cwd / kb).resolve()  # a relative `kb` is relative to `cwd` (default: the process cwd)
        if "index_dir" not in table:  # another KB gets its own index, never the project's
            cfg.index_dir = (root / ".kbtool" / f"index-{kb_tag(cfg.kb)}").resolve()
    return cfg
