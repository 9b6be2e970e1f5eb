"""`python -m kbtool`: the same as the `kbtool` command."""

from .cli import main

main()
