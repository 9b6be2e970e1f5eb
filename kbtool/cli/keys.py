"""`kbtool keys create|list|revoke`: the API's scoped keys (see kbtool/api/auth.py).

The keys file lives in the index directory; a running server picks up changes on its next
request (rotation without restart). A key's secret is printed once, at creation: only its
salted digest is stored.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..api.auth import SCOPES, KeyFile, KeyProblem, keys_path
from .common import echo_json, format_option, get_config, index_dir_option, kb_option


def _file(kb: Path | None, index_dir: Path | None) -> KeyFile:
    return KeyFile(keys_path(get_config(kb, index_dir).index_dir))


@click.group("keys")
def keys_group() -> None:
    """Manage the API's keys: public (widgets, help center), agent (internal content), admin.

    \b
    Example:
      kbtool keys create --scope public --name help-center-widget
      kbtool keys list
      kbtool keys revoke help-center-widget
    """


@keys_group.command("create")
@kb_option
@index_dir_option
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="What the key may see and do.")
@click.option("--name", required=True, help="Who holds it (e.g. zendesk-app); unique among active keys.")
@click.option("--rate", type=click.IntRange(0), default=None,
              help="Requests per minute (0: unlimited). Default: 300 public, 1200 agent/admin.")
def create_cmd(kb: Path | None, index_dir: Path | None, scope: str, name: str, rate: int | None) -> None:
    """Create a key and print it once (store it in your secret manager now)."""
    try:
        key, secret = _file(kb, index_dir).create(scope, name, rate)
    except KeyProblem as e:
        raise click.ClickException(str(e)) from None
    click.echo(secret)
    click.echo(f"created {key.scope} key {key.id} ({key.name}, {key.rate or 'unlimited'}/min); "
               "it is shown only this once", err=True)


@keys_group.command("list")
@kb_option
@index_dir_option
@format_option("text", "json")
@click.option("--all", "show_all", is_flag=True, help="Include revoked keys.")
def list_cmd(kb: Path | None, index_dir: Path | None, fmt: str, show_all: bool) -> None:
    """The keys (never their secrets)."""
    try:
        keys = [k for k in _file(kb, index_dir).load() if show_all or not k.revoked]
    except KeyProblem as e:
        raise click.ClickException(str(e)) from None
    rows = [{"id": k.id, "name": k.name, "scope": k.scope, "rate": k.rate, "created": k.created,
             "revoked": k.revoked} for k in keys]
    if fmt == "json":
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}  {r['scope']:<6}  {r['name']}  created {r['created']}"
                   + (f"  REVOKED {r['revoked']}" if r["revoked"] else ""))
    if not rows:
        click.echo("no keys: the API is open to anyone who can reach it (public content only)", err=True)


@keys_group.command("revoke")
@kb_option
@index_dir_option
@click.argument("key")
def revoke_cmd(kb: Path | None, index_dir: Path | None, key: str) -> None:
    """Revoke KEY (its id or name); running servers refuse it from their next request."""
    try:
        k = _file(kb, index_dir).revoke(key)
    except KeyProblem as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"revoked {k.scope} key {k.id} ({k.name})")


COMMANDS = [keys_group]
