"""`kbtool completion SHELL`: the shell completion script (click's), to source or install."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

_SHELLS = ("bash", "zsh", "fish")
_INSTALL = {
    "bash": 'eval "$(kbtool completion bash)"            # in ~/.bashrc',
    "zsh": 'eval "$(kbtool completion zsh)"             # in ~/.zshrc',
    "fish": "kbtool completion fish > ~/.config/fish/completions/kbtool.fish",
}


@click.command("completion", epilog="\b\nExample (install):\n" + "\n".join(f"  {line}" for line in _INSTALL.values()))
@click.argument("shell", type=click.Choice(_SHELLS))
@click.pass_context
def completion_cmd(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, choices such as --type).

    The script asks `kbtool` itself for the candidates at each TAB, so it never goes stale.
    """
    root = ctx.find_root()
    cls = get_completion_class(shell)
    assert cls is not None  # click ships all three
    click.echo(cls(root.command, {}, "kbtool", "_KBTOOL_COMPLETE").source())


COMMANDS = [completion_cmd]
