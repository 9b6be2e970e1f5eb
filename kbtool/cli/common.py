"""Shared pieces of the command line: config and KB loading, common options, errors, colour,
optional extras.

Exit codes follow ruff/Vale: 0 clean, 1 findings or failure, 2 usage or configuration error.

Conventions every command follows (use these helpers rather than re-implementing them):

- `kb_option` / `index_dir_option` and `get_config(kb, index_dir=...)`: the same `--kb DIR` and
  `--index-dir DIR` on every command that reads the KB or the index.
- `use_color(stream)` / `style(text, ...)`: ANSI only on a terminal, never with `NO_COLOR` set,
  always with `FORCE_COLOR` set (https://no-color.org, https://force-color.org).
- `require(module, extra, command)`: a command that needs an optional extra fails with one line
  naming the `pip install` to run, not an ImportError traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from ..config import Config, ConfigError, load_config
from ..content import KB, load_kb

if TYPE_CHECKING:  # (imported where used: the commands that need them load them)
    from ..suggest import Engine, EngineHolder


class UsageError(click.ClickException):
    exit_code = 2


def path_error(e: OSError) -> UsageError:
    """A one-line usage error for a path the OS refused: "PATH: reason" (missing, unwritable, not a dir)."""
    reason = e.strerror or str(e)
    if e.filename is None:
        return UsageError(reason)
    target = f" -> {e.filename2}" if e.filename2 else ""
    return UsageError(f"{e.filename}{target}: {reason}")


def writable_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Option callback for an output directory: it must be a directory we can write, or be creatable
    (its nearest existing parent a writable directory). Checked up front, so the error names the
    path the user typed, not a temporary sibling deep inside a build. Writability is tried with a
    real temporary directory: `os.access` says yes to root for /proc, where mkdir then fails."""
    if value is None:
        return None
    probe = value.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise click.BadParameter(f"{probe} is not a directory", ctx, param)  # a file where a dir goes
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".kbtool-probe-", dir=probe))
    except OSError as e:
        raise click.BadParameter(f"cannot write {value} ({probe}: {e.strerror or e})", ctx, param) from None
    return value


def get_config(kb: Path | None, index_dir: Path | None = None) -> Config:
    """The project config, with `--kb` and `--index-dir` (if given) applied; bad config is a usage error."""
    try:
        cfg = load_config(kb=kb)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    if index_dir is not None:
        cfg.index_dir = index_dir.resolve()
    return cfg


def _kb_not_found(kb: Path) -> UsageError:
    return UsageError(f"KB directory not found: {kb} (pass --kb DIR or set kb in [tool.kbtool])")


def get_kb(cfg: Config) -> KB:
    if not cfg.kb.is_dir():
        raise _kb_not_found(cfg.kb)
    return load_kb(cfg.kb)


def _existing_kb(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """`--kb` must name an existing directory, for every command (one that would only read the
    index or the event store must not quietly use another KB's, nor `new` start a KB at a typo)."""
    if value is not None and not value.is_dir():
        raise _kb_not_found(value)
    return value


def kb_option(f: Any) -> Any:
    return click.option(
        "--kb", "kb", type=click.Path(path_type=Path, file_okay=False), callback=_existing_kb, metavar="DIR",
        help="KB directory (holds articles/ and runbooks/). Default: from config, else ./kb.",
    )(f)


def index_dir_option(f: Any) -> Any:
    """`--index-dir DIR`: the search index to read or write (pass it on to `get_config`)."""
    return click.option(
        "--index-dir", "index_dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
        callback=writable_dir, help="Search index directory. Default: index_dir from config, else .kbtool/index.",
    )(f)


def format_option(*choices: str) -> Any:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True,
                        help="Output format.")


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today: expected YYYY-MM-DD, got {value!r}") from None


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def engine_for(cfg: Config) -> Engine:
    """The suggest engine over the configured index, refreshed first if the KB changed."""
    return holder_for(cfg).get()


def holder_for(cfg: Config, published: bool = False) -> EngineHolder:
    """An engine holder over the configured index with its engine loaded: the index refreshed
    first if the KB changed, or (`published`) the index directory exactly as published, never
    built or refreshed here (a replica must not write into the shared directory every replica
    reads). A problem with the index is a clear error, before anything serves."""
    from ..index import Index, IndexProblem, current_build, update_index
    from ..suggest import EngineHolder

    try:
        if published:
            if current_build(cfg.index_dir) is None:
                raise click.ClickException(f"no published index at {cfg.index_dir}: publish a build there first "
                                           f"(`kbtool index --publish {cfg.index_dir}`)")
        else:
            idx = Index.for_config(cfg)
            if not idx.exists() or idx.is_stale(cfg.kb):
                report = update_index(cfg, kb=get_kb(cfg), start_embedding=False)
                click.echo(report.summary(), err=True)
        holder = EngineHolder(cfg)
        holder.get()
        return holder
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None


# --- colour (NO_COLOR / FORCE_COLOR) ----------------------------------------------------


def use_color(stream: TextIO | None = None) -> bool:
    """Whether to emit ANSI styling on `stream` (default stdout).

    `NO_COLOR` (set and non-empty) always wins, then `FORCE_COLOR` (set and non-empty, e.g. in
    CI logs that render colour), else colour only when the stream is a terminal.
    """
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def style(text: str, stream: TextIO | None = None, **styles: Any) -> str:
    """`click.style(text, **styles)` when `use_color(stream)`, else `text` unchanged."""
    return click.style(text, **styles) if use_color(stream) else text


# --- optional extras --------------------------------------------------------------------

# What each extra of pyproject.toml brings, by import name: `pip install kbtool` (the core) lints;
# the rest is installed only by the teams that search, publish, serve or import.
EXTRAS: dict[str, tuple[str, ...]] = {
    "search": ("whoosh", "numpy", "scipy"),
    "site": ("mkdocs", "material", "mkdocs_redirects"),
    "api": ("fastapi", "uvicorn", "pydantic"),
    "import": ("markdownify",),
}


def require_extra(extra: str, command: str) -> None:
    """Fail with one line saying what to install when a module of the `extra` is missing.

    Call it first thing in a command that needs the extra, e.g. `require_extra("site", "build")`
    -> "kbtool build needs the site extra: pip install 'kbtool[site]'" (exit 2), rather than
    an ImportError traceback from deep inside the library.
    """
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise _needs(extra, command)


def missing_extra(e: ModuleNotFoundError, command: str) -> UsageError | None:
    """The "needs the X extra" error for an import that failed because an extra is not installed
    (the safety net behind `require_extra`, for a command that did not call it), else None."""
    top = (e.name or "").partition(".")[0]
    extra = next((x for x, modules in EXTRAS.items() if top in modules), None)
    return _needs(extra, command) if extra else None


def _needs(extra: str, command: str) -> UsageError:
    return UsageError(f"kbtool {command} needs the {extra} extra: pip install 'kbtool[{extra}]'")
