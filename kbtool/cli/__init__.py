"""The `kbtool` command line: thin click wrappers over the library functions.

Each command parses options, calls one documented function of the core packages and
formats its result. One module per job (`content`, `lint`, `search`, `suggest`, `serve`,
`site`, ...); each lists its commands in `COMMANDS`, and every module of this package is
registered here, so adding a command group is adding a module. Exit codes follow
ruff/Vale: 0 clean, 1 findings or failure, 2 usage or configuration error.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kbtool")
def main() -> None:
    """kbtool: a docs-as-code knowledge base for support teams.

    Markdown articles and runbooks with YAML front-matter, in git. Lint them in CI,
    search them from the terminal, suggest them for tickets, publish the public ones
    as a help center.

    \b
    Example:
      kbtool lint && kbtool index && kbtool search "SAML-403"
    """


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_register()
