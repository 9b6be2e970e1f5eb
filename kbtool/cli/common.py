"""Shared pieces of the command line: config and KB loading, common options, errors.

Exit codes follow ruff/Vale: 0 clean, 1 findings or failure, 2 usage or configuration error.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import Config, ConfigError, load_config
from ..content import KB, load_kb

if TYPE_CHECKING:  # (imported where used: the commands that need them load them)
    from ..suggest import Engine


class UsageError(click.ClickException):
    exit_code = 2


def get_config(kb: Path | None) -> Config:
    try:
        cfg = load_config(kb=kb)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    return cfg


def get_kb(cfg: Config) -> KB:
    if not cfg.kb.is_dir():
        raise UsageError(f"KB directory not found: {cfg.kb} (pass --kb DIR or set kb in [tool.kbtool])")
    return load_kb(cfg.kb)


def kb_option(f: Any) -> Any:
    return click.option(
        "--kb", "kb", type=click.Path(path_type=Path, file_okay=False),
        help="KB directory (holds articles/ and runbooks/). Default: from config, else ./kb.",
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
    from ..index import Index, IndexProblem, update_index
    from ..suggest import EngineHolder

    idx = Index.for_config(cfg)
    try:
        if not idx.exists() or idx.is_stale(cfg.kb):
            report = update_index(cfg, kb=get_kb(cfg), start_embedding=False)
            click.echo(report.summary(), err=True)
        return EngineHolder(cfg).get()
    except IndexProblem as e:
        raise click.ClickException(str(e)) from None
