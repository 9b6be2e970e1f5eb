"""The `kbtool` command line: thin click wrappers over the library functions.

Each command parses options, calls one documented function of the core packages and
formats its result. One module per job (`content`, `lint`, `search`, `suggest`, `serve`,
`site`, ...); each lists its commands in `COMMANDS`, and every module of this package is
registered here, so adding a command group is adding a module. Exit codes follow
ruff/Vale: 0 clean, 1 findings or failure, 2 usage or configuration error.
"""

from __future__ import annotations

import errno
import importlib
import pkgutil
import sys
from typing import Any

import click

from .. import __version__
from .common import UsageError, missing_extra, path_error, use_color


class _Main(click.Group):
    """The `kbtool` group: errors are one line on stderr, never a traceback. A bad option value
    (`--kb /nonexistent`) is "Error: Invalid value for '--kb': ... (see 'kbtool list -h')", exit 2;
    an OSError escaping any command (an unwritable or odd path: `--index-dir /proc/x`) is
    "Error: PATH: reason", exit 2; so is a missing optional extra ("kbtool build needs the site
    extra: pip install 'kbtool[site]'"). A closed pipe (`kbtool list | head`) is left to click."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:  # a bad option value or argument: one line, as ruff does
            where = e.ctx.command_path if e.ctx else "kbtool"
            raise UsageError(f"{e.format_message()} (see '{where} -h')") from None
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise
            raise path_error(e) from None
        except ModuleNotFoundError as e:
            error = missing_extra(e, ctx.invoked_subcommand or "")
            if error is None:
                raise
            raise error from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kbtool")
@click.pass_context
def main(ctx: click.Context) -> None:
    """kbtool: a docs-as-code knowledge base for support teams.

    Markdown articles and runbooks with YAML front-matter, in git. Lint them in CI,
    search them from the terminal, suggest them for tickets, publish the public ones
    as a help center.

    \b
    Example:
      kbtool lint && kbtool index && kbtool search "SAML-403"

    Colour follows NO_COLOR / FORCE_COLOR (https://no-color.org), else is on for a terminal.
    """
    # Every command's echo keeps or strips ANSI by this one decision (click's ctx.color), so
    # NO_COLOR silences styling wherever it comes from, and FORCE_COLOR keeps it in a CI log.
    ctx.color = use_color(sys.stdout)


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except ModuleNotFoundError as e:  # a module importing an extra at import time
            if missing_extra(e, info.name) is None:
                raise
            main.add_command(_needs_extra(info.name, e))
            continue
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


def _needs_extra(name: str, e: ModuleNotFoundError) -> click.Command:
    """A stand-in for the commands of module `name`, whose import needs a missing extra: the core
    install (`pip install kbtool`, what `kbtool lint` needs) must not break on it, and `kbtool NAME`
    still says what to install."""
    error = missing_extra(e, name)

    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                   help=f"(not installed) {error.format_message() if error else ''}", add_help_option=False)
    def stub() -> None:
        raise error or UsageError(str(e))

    return stub


_register()
