"""Building the help center: the docs tree, the MkDocs plugin, the atomic swap, the preview server.

`build_site` generates a MkDocs docs tree from the KB (`plan.plan_site`) into a fresh
temporary folder and builds it with the project's `mkdocs.yml` (which holds only the
look), then swaps the result into place atomically. `preview` serves the same site with
live reload.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape as html_unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mkdocs.plugins import BasePlugin, event_priority

from ..config import Config
from ..content import KB, Article, load_kb
from .chrome import (
    FEEDBACK_JS_DEST,
    FEEDBACK_JS_SOURCE,
    feedback_widget,
    insert_into_head,
    insert_section_nav,
    name_search_dialog,
    not_found_content,
    open_graph,
    robots_txt,
    section_nav,
)
from .pages import SEARCH_KEYWORDS_BOOST, SEARCH_KEYWORDS_FIELD, by_type_then_title, search_entries
from .plan import SitePlan, doc_url, plan_site, relative_href
from .sanitize import page_text, sanitize_html
from .secrets import find_secrets

log = logging.getLogger("mkdocs.plugins.kbtool")

CSS_SOURCE = Path(__file__).parents[1] / "templates" / "site" / "kbtool.css"
CSS_DEST = "assets/kbtool/kbtool.css"

# --- Results and errors ----------------------------------------------------------------


class SiteBuildError(Exception):
    """The site could not be built; the previous site (if any) is untouched."""

    def __init__(self, message: str, warnings: list[str] | None = None) -> None:
        super().__init__(message)
        self.warnings = list(warnings or [])


@dataclass
class BuildResult:
    site_dir: Path
    articles: int  # article pages built
    pages: int  # all HTML pages built (articles, landing pages, home, ...)
    redirects: dict[str, str]  # old page -> new page (docs paths)
    skipped: list[tuple[str, str]]  # (article id, reason): public articles not built
    warnings: list[str]  # MkDocs and kbtool warnings, in order
    files: int
    site_bytes: int
    search_index_bytes: int
    seconds: float
    legacy_redirects: dict[str, str] = field(default_factory=dict)  # written page (site path) -> article (docs path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_dir": str(self.site_dir), "articles": self.articles, "pages": self.pages,
            "redirects": dict(self.redirects), "legacy_redirects": dict(self.legacy_redirects),
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
            "warnings": list(self.warnings), "files": self.files, "site_bytes": self.site_bytes,
            "search_index_bytes": self.search_index_bytes, "seconds": round(self.seconds, 3),
        }


# --- Writing the docs tree -------------------------------------------------------------------


def write_docs(plan: SitePlan, docs_dir: Path) -> None:
    """Replace `docs_dir`'s contents with the plan's pages, assets and the site CSS."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    for child in docs_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for rel, text in plan.pages.items():
        dest = docs_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    for rel, src in plan.assets.items():
        dest = docs_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    if CSS_SOURCE.is_file():
        css = docs_dir / CSS_DEST
        css.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CSS_SOURCE, css)


# --- The MkDocs plugin ----------------------------------------------------------------------

_REQUIRED_EXTENSIONS = ("toc", "tables", "attr_list", "md_in_html", "admonition", "pymdownx.emoji")


def _ensure_markdown(config: Any) -> None:
    exts = config.markdown_extensions
    names = {e if isinstance(e, str) else type(e).__module__ for e in exts}
    for name in _REQUIRED_EXTENSIONS:
        if name not in names:
            exts.append(name)
    if "pymdownx.emoji" not in config.mdx_configs:
        from material.extensions.emoji import to_svg, twemoji

        config.mdx_configs["pymdownx.emoji"] = {"emoji_index": twemoji, "emoji_generator": to_svg}


def _tag_anchor_fn(config: Any) -> Callable[[str], str] | None:
    """The anchor Material's tags plugin gives a tag on the tags page (mirrors its `_slugify`)."""
    tags = config.plugins.get("material/tags") or config.plugins.get("tags")
    if tags is None or not getattr(tags.config, "enabled", True):
        return None
    c = tags.config

    def anchor(name: str) -> str:
        parts = name.split(c.tags_hierarchy_separator) if c.tags_hierarchy else [name]
        slug = c.tags_hierarchy_separator.join(c.tags_slugify(p, c.tags_slugify_separator) for p in parts)
        return c.tags_slugify_format.format(slug=slug)

    return anchor


_ID_ATTR = re.compile(r'\sid="([^"]*)"')


def _prune_toc(items: list[Any], ids: set[str]) -> list[Any]:
    """The table-of-contents entries whose heading is still on the sanitised page (a heading
    inside hidden HTML is gone from the page, so its title must not reach the sidebar)."""
    kept = []
    for item in items:
        if item.id in ids:
            item.children[:] = _prune_toc(item.children, ids)
            kept.append(item)
    return kept


class KBSitePlugin(BasePlugin):  # type: ignore[type-arg]
    """Generates the docs tree from the KB on every build and writes the search entries.

    Registered programmatically by `build_site` / `preview` (not an entry point): it
    needs the KB and kbtool's config, which MkDocs knows nothing about.
    """

    def __init__(self, cfg: Config, kb: KB | None = None) -> None:
        super().__init__()
        self.load_config({})
        self.cfg = cfg
        self._kb = kb  # used for the first build; later builds (preview) reload the KB
        self.plan: SitePlan | None = None
        self.legacy_written: dict[str, str] = {}  # legacy redirect pages the last build wrote
        self._article_search: dict[str, list[dict[str, Any]]] = {}  # docs path -> entries from its sanitised page
        self._articles: dict[str, Article] = {}  # docs path -> the article it shows

    def on_config(self, config: Any) -> Any:
        kb, self._kb = (self._kb, None) if self._kb is not None else (load_kb(self.cfg.kb), None)
        plan = plan_site(kb, extra=dict(config.extra or {}), directory_urls=config.use_directory_urls,
                         tag_anchor=_tag_anchor_fn(config), site_url=config.site_url, site_assets=(CSS_DEST,))
        self._article_search = {}
        self._articles = {f"articles/{a.id}.md": a for a in plan.articles}
        write_docs(plan, Path(config.docs_dir))
        self.plan = plan
        config.nav = plan.nav
        _ensure_markdown(config)
        if not CSS_SOURCE.is_file():
            log.warning(f"kbtool's site stylesheet {CSS_SOURCE} is missing from this installation "
                        "(package data); the help center is built without it")
        elif CSS_DEST not in [str(c) for c in config.extra_css]:
            config.extra_css.append(CSS_DEST)
        if self.cfg.feedback_url and FEEDBACK_JS_SOURCE.is_file():  # no widget, no script, without an endpoint
            dest = Path(config.docs_dir) / FEEDBACK_JS_DEST
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(FEEDBACK_JS_SOURCE, dest)
            if FEEDBACK_JS_DEST not in [str(j) for j in config.extra_javascript]:
                config.extra_javascript.append(FEEDBACK_JS_DEST)
        redirects = config.plugins.get("redirects")
        if redirects is not None:
            maps = dict(redirects.config.get("redirect_maps") or {})
            maps.update(plan.redirects)
            redirects.config["redirect_maps"] = maps
        for level, message in plan.messages:
            log.log(level, message)
        return config

    @event_priority(-100)  # last: after every other plugin changed the content
    def on_page_content(self, html: str, *, page: Any, config: Any, files: Any) -> str:
        """The page's content sanitised, every link through the gatekeeper; an article's
        search entries are taken from what is left (`pages.search_entries`)."""
        if self.plan is None or self.plan.gate is None:
            return html
        doc = page.file.src_uri
        article = self._articles.get(doc)
        gate = self.plan.gate
        clean = sanitize_html(html, lambda tag, attr, value: gate.href(doc, article, value))
        if getattr(page, "toc", None):  # the sidebar's table of contents lists what is left, no more
            page.toc.items[:] = _prune_toc(page.toc.items, set(_ID_ATTR.findall(clean)))
        if article is None:
            return clean
        if (page.meta.get("search") or {}).get("exclude"):  # kbtool indexes its articles itself
            self._article_search[doc] = search_entries(article, doc_url(doc, config.use_directory_urls),
                                                       page_text(clean))
        if article.last_reviewed is not None:  # sitemap.xml's lastmod: when the content was last checked
            page.update_date = article.last_reviewed.isoformat()
        if self.cfg.feedback_url:
            clean += feedback_widget(article.id, self.cfg.feedback_url)
        return clean

    def on_post_page(self, output: str, *, page: Any, config: Any) -> str:
        """OpenGraph tags in every page's head."""
        description = str((page.meta or {}).get("description") or config.site_description or "")
        tags = open_graph(title=html_unescape(str(page.title or config.site_name)),
                          description=html_unescape(description), url=page.canonical_url,
                          site_name=str(config.site_name), article=page.file.src_uri in self._articles)
        output = name_search_dialog(insert_into_head(output, tags))
        article = self._articles.get(page.file.src_uri)
        if article is not None and self.plan is not None and article.id in self.plan.product_of:
            product = self.plan.product_of[article.id]
            nav = section_nav(article, product.name, by_type_then_title(product.articles), config.use_directory_urls)
            output = insert_section_nav(output, nav)
        return output

    def on_post_template(self, output_content: str, *, template_name: str, config: Any) -> str:
        """The 404 page gets a search button and the most recently reviewed articles."""
        if template_name != "404.html" or self.plan is None:
            return output_content
        site_path = urlsplit(config.site_url or "/").path
        return not_found_content(output_content, self.plan.articles, site_path, config.use_directory_urls)

    @event_priority(-100)  # after Material's search plugin has written its index
    def on_post_build(self, *, config: Any) -> None:
        if self.plan is None:
            return
        self._write_legacy_redirects(config)
        robots = Path(config.site_dir) / "robots.txt"
        if not robots.exists():  # a robots.txt of the docs tree (none today) would win
            robots.write_text(robots_txt(config.site_url), encoding="utf-8")
        path = Path(config.site_dir) / "search" / "search_index.json"
        if not path.is_file():
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        fields = data.setdefault("config", {}).setdefault("fields", {})
        fields.setdefault(SEARCH_KEYWORDS_FIELD, {"boost": SEARCH_KEYWORDS_BOOST})
        articles = [e for a in self.plan.articles for e in self._article_search.get(f"articles/{a.id}.md", [])]
        ours = {d["location"].split("#", 1)[0] for d in [*self.plan.search_docs, *articles]}
        docs = [d for d in data.get("docs", []) if d.get("location", "").split("#", 1)[0] not in ours]
        data["docs"] = docs + articles + self.plan.search_docs
        path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")

    def _write_legacy_redirects(self, config: Any) -> None:
        """mkdocs-redirects' redirect page at each old path; never over a file the build wrote."""
        from mkdocs_redirects.plugin import write_html

        assert self.plan is not None
        site = Path(config.site_dir)
        self.legacy_written = {}
        for file, doc in self.plan.legacy_redirects.items():
            dest = site / file
            if dest.exists() or dest.is_symlink():
                log.warning(f"legacy URL page {file} (for {doc}) would replace a file of the site; not written")
                continue
            href = relative_href(file, doc_url(doc, config.use_directory_urls))
            try:
                write_html(str(site), file, href)
            except OSError as e:  # e.g. a path through a file the site has (`sitemap.xml/x`)
                log.warning(f"legacy URL page {file} (for {doc}) cannot be written: {e.strerror or e}")
                continue
            self.legacy_written[file] = doc


# --- MkDocs config and logging ----------------------------------------------------------------

DEFAULT_MKDOCS_YML = """\
site_name: Help Center
theme:
  name: material
  font: false
  features: [navigation.tabs, navigation.top, search.suggest, search.highlight, toc.follow, content.code.copy]
extra:
  generator: false
plugins:
  - search
  - tags:
      export: false
  - redirects
markdown_extensions:
  - toc:
      permalink: true
      toc_depth: 2-6
  - admonition
  - attr_list
  - md_in_html
  - tables
validation:
  omitted_files: info
  absolute_links: warn
  unrecognized_links: warn
  anchors: warn
"""


def _load_mkdocs_config(cfg: Config, docs_dir: Path, site_dir: Path, strict: bool, plugin: KBSitePlugin,
                        **overrides: Any) -> Any:
    from mkdocs.config import load_config as mkdocs_load_config

    yml = cfg.mkdocs_yml
    if yml.is_file():
        config_file = str(yml)
    else:
        fallback = docs_dir.parent / "mkdocs.yml"
        fallback.write_text(DEFAULT_MKDOCS_YML, encoding="utf-8")
        config_file = str(fallback)
        log.info(f"{yml} not found: using kbtool's default look")
    mk = mkdocs_load_config(
        config_file=config_file, docs_dir=str(docs_dir), site_dir=str(site_dir), site_url=cfg.site_url,
        strict=strict, not_in_nav="/articles/\n", **overrides,
    )
    if "redirects" not in mk.plugins:
        from mkdocs_redirects.plugin import RedirectPlugin

        rp = RedirectPlugin()
        rp.load_config({})
        mk.plugins["redirects"] = rp
    mk.plugins["kbtool"] = plugin
    return mk


class _Capture(logging.Handler):
    def __init__(self, echo: Callable[[logging.LogRecord], None] | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.records.append(record)
        if self.echo is not None:
            self.echo(record)

    def messages(self) -> list[str]:
        return [f"{r.levelname}: {r.getMessage()}" for r in self.records]


@contextmanager
def _capture_mkdocs_log(echo: Callable[[logging.LogRecord], None] | None = None,
                        level: int = logging.WARNING) -> Iterator[_Capture]:
    logger = logging.getLogger("mkdocs")
    handler = _Capture(echo)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, logging.WARNING))
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


# --- Atomic swap ------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2). False if unsupported here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def _swap_in(new: Path, target: Path) -> None:
    """Make `new` appear at `target` in one step; the old site is removed afterwards."""
    if not target.exists() and not target.is_symlink():
        os.rename(new, target)
        return
    if _rename_exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the previous site
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{int(time.time() * 1000)}")
    os.rename(target, old)  # fallback: two renames, a window of microseconds without a site
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _check_target(target: Path, cfg: Config, kb: KB) -> None:
    protected = {cfg.root.resolve(), kb.root.resolve(), Path.cwd().resolve(), Path.home().resolve(), Path("/")}
    for p in protected:
        if target == p or target in p.parents:
            raise SiteBuildError(f"refusing to build the site into {target}: it contains {p}")
    if target.exists() and not target.is_dir():
        raise SiteBuildError(f"site directory {target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not (target / "index.html").is_file() \
            and not (target / "sitemap.xml").is_file():
        raise SiteBuildError(f"refusing to replace {target}: it is not empty and does not look like a built site "
                             "(no index.html); remove it or choose another --site-dir")


def _dir_stats(root: Path) -> tuple[int, int, int]:
    files = size = pages = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, n))
            pages += n.endswith(".html")
    return files, size, pages


# --- Public API -------------------------------------------------------------------------------


def build_site(kb: KB, config: Config, site_dir: Path | None = None, strict: bool = False,
               echo: Callable[[logging.LogRecord], None] | None = None) -> BuildResult:
    """Build the public help center from `kb` into `site_dir` (default: `config.site_dir`).

    The site is built in a sibling temporary folder and swapped in atomically; on any
    failure the previous site is left as it was and `SiteBuildError` carries MkDocs'
    error and warnings. With `strict`, any warning (MkDocs' or kbtool's) fails the build.
    `echo` receives every MkDocs log record (for verbose output).
    """
    start = time.monotonic()
    target = Path(site_dir if site_dir is not None else config.site_dir).resolve()
    _check_target(target, config, kb)
    _refuse_secrets(kb, config)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    pid = os.getpid()
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-{pid}-", dir=target.parent))
    try:
        with tempfile.TemporaryDirectory(prefix=f"kbtool-site-{pid}-") as tmp, \
                _capture_mkdocs_log(echo, logging.INFO if echo else logging.WARNING) as cap:
            docs = Path(tmp) / "docs"
            docs.mkdir()
            plugin = KBSitePlugin(config, kb)
            try:
                _run_mkdocs_build(config, docs, staging, strict, plugin)
            except Exception as e:  # MkDocs raises Abort, ConfigurationError, PluginError, Jinja errors, ...
                raise SiteBuildError(_describe_failure(e, cap), cap.messages()) from e
            warnings = cap.messages()
        assert plugin.plan is not None
        files, size, pages = _dir_stats(staging)
        index = staging / "search" / "search_index.json"
        index_bytes = index.stat().st_size if index.is_file() else 0
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(
        site_dir=target, articles=len(plugin.plan.articles), pages=pages, redirects=dict(plugin.plan.redirects),
        skipped=list(plugin.plan.skipped), warnings=warnings, files=files, site_bytes=size,
        search_index_bytes=index_bytes, seconds=time.monotonic() - start,
        legacy_redirects=dict(plugin.legacy_written),
    )


def _refuse_secrets(kb: KB, config: Config) -> None:
    """`SiteBuildError` naming each unsilenced KB601/KB602 finding in an article about to be published."""
    published = [a for a in kb.articles if a.is_public and a.kind == "article" and a.valid]
    found = find_secrets(config, published)
    if found:
        lines = "\n".join(f"  {f}" for f in found)
        raise SiteBuildError(f"refusing to publish: {len(found)} secret(s) in public articles (KB601/KB602; "
                             f"silence a finding that is not a secret with <!-- kbtool: disable=CODE -->):\n{lines}")


_LEFTOVER = re.compile(r"(?:\.(?P<site>.+)\.building|kbtool-site)-(?P<pid>\d+)-[A-Za-z0-9_]+")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(target: Path) -> list[Path]:
    """Remove what killed builds left: `.<site>.building-<pid>-*` beside `target` and
    `kbtool-site-<pid>-*` in the temp folder, only ours (by name) and only when that
    process is gone. Returns what was removed."""
    removed: list[Path] = []
    places = [(target.parent, target.name), (Path(tempfile.gettempdir()), None)]
    for folder, site in places:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            m = _LEFTOVER.fullmatch(entry.name)
            if m is None or m.group("site") != site or not entry.is_dir(follow_symlinks=False):
                continue
            pid = int(m.group("pid"))
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
    return removed


def _run_mkdocs_build(cfg: Config, docs: Path, site: Path, strict: bool, plugin: KBSitePlugin) -> None:
    from mkdocs.commands.build import build as mkdocs_build

    mk = _load_mkdocs_config(cfg, docs, site, strict, plugin)
    mk.plugins.on_startup(command="build", dirty=False)
    try:
        mkdocs_build(mk)
    finally:
        mk.plugins.on_shutdown()


def _describe_failure(e: Exception, cap: _Capture) -> str:
    errors = [f"{r.levelname}: {r.getMessage()}" for r in cap.records if r.levelno >= logging.ERROR]
    head = str(e) or type(e).__name__
    if type(e).__name__ not in ("Abort", "ConfigurationError", "PluginError", "BuildError"):
        head = f"{type(e).__name__}: {head}"
    lines = [f"MkDocs build failed: {head}"]
    lines += [f"  {m}" for m in errors if m not in lines[0]]
    if "strict mode" in head:
        lines += [f"  {m}" for m in cap.messages() if m.startswith("WARNING")]
    return "\n".join(lines)


def preview(config: Config, dev_addr: str = "127.0.0.1:8000", open_browser: bool = False,
            strict: bool = False) -> None:
    """Serve the help center with live reload (`mkdocs serve`): edits to the KB, `mkdocs.yml`
    or the site CSS rebuild the site. Blocks until interrupted."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.livereload import LiveReloadServer, _serve_url

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # so `kill` cleans up like Ctrl+C does

    old_term = signal.signal(signal.SIGTERM, _stop) if threading.current_thread() is threading.main_thread() else None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    tmp = Path(tempfile.mkdtemp(prefix="kbtool-preview-"))
    docs, site = tmp / "docs", tmp / "site"
    docs.mkdir()
    site.mkdir()
    plugin = KBSitePlugin(config)

    def get_config() -> Any:
        return _load_mkdocs_config(config, docs, site, strict, plugin, dev_addr=dev_addr)

    try:
        mk = get_config()
        mk.plugins.on_startup(command="serve", dirty=False)
        host, port = mk.dev_addr
        mount_path = urlsplit(mk.site_url or "/").path
        serve_url = _serve_url(host, port, mount_path)

        def builder(mk_config: Any = None) -> None:
            log.info("Building the help center...")
            mk_config = mk_config or get_config()
            mk_config.site_url = serve_url
            mkdocs_build(mk_config, serve_url=serve_url)

        server = LiveReloadServer(builder=builder, host=host, port=port, root=str(site), mount_path=mount_path)
        builder(mk)
        for path in (config.kb, config.mkdocs_yml, CSS_SOURCE):
            if path.exists():
                server.watch(str(path))
        try:
            server.serve(open_in_browser=open_browser)
        except KeyboardInterrupt:
            log.info("Shutting down...")
        finally:
            server.shutdown()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        shutil.rmtree(tmp, ignore_errors=True)
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
