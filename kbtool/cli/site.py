"""`kbtool build` and `kbtool preview`: the customer help center."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import echo_json, format_option, get_config, get_kb, kb_option, require_extra, writable_dir

# --- build / preview (help center) ---------------------------------------------------


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} KB"


@click.command("build")
@kb_option
@click.option("--site-dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR", callback=writable_dir,
              help="Output folder, replaced atomically. Default: site_dir from config, else ./site.")
@click.option("--strict", is_flag=True, help="Fail on any warning (broken links or anchors, skipped articles, ...).")
@click.option("-v", "--verbose", is_flag=True, help="Show MkDocs' progress and kbtool's notes (e.g. links hidden).")
@format_option("text", "json")
def build_cmd(kb: Path | None, site_dir: Path | None, strict: bool, verbose: bool, fmt: str) -> None:
    """Build the customer help center (static HTML, MkDocs + Material) from the KB.

    Only published, public articles get pages; drafts, internal articles and runbooks
    never do. Retired articles' URLs redirect to their replacement. The site is built
    aside and swapped in atomically: on failure the previous site stays and the exit
    code is 1.

    \b
    Example:
      kbtool build --strict
      kbtool build --site-dir public --format json
    """
    require_extra("site", "build")
    from ..site import SiteBuildError, build_site

    cfg = get_config(kb)
    kbase = get_kb(cfg)
    echo = (lambda r: click.echo(f"{r.levelname:<7} -  {r.getMessage()}", err=True)) if verbose else None
    try:
        result = build_site(kbase, cfg, site_dir=site_dir, strict=strict, echo=echo)
    except SiteBuildError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    if not verbose:
        for w in result.warnings:
            click.echo(w, err=True)
    if fmt == "json":
        echo_json(result.to_dict())
        return
    where = result.site_dir
    if where.is_relative_to(Path.cwd()):
        where = where.relative_to(Path.cwd())
    per_1000 = result.search_index_bytes * 1000 / result.articles if result.articles else 0
    legacy = f", {len(result.legacy_redirects)} old URLs" if result.legacy_redirects else ""
    click.echo(f"built {result.articles} articles ({result.pages} pages, {len(result.redirects)} redirects{legacy}) "
               f"into {where}/ in {result.seconds:.1f}s")
    click.echo(f"site {_size(result.site_bytes)} in {result.files} files; search index {_size(result.search_index_bytes)}"
               f" ({_size(int(per_1000))} per 1,000 articles)")
    for article_id, reason in result.skipped:
        click.echo(f"skipped {article_id}: {reason}", err=True)


@click.command("preview")
@kb_option
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True, metavar="IP:PORT",
              help="Address to serve on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in the default browser.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors on every rebuild.")
def preview_cmd(kb: Path | None, dev_addr: str, open_browser: bool, strict: bool) -> None:
    """Serve the help center locally with live reload while you edit articles (mkdocs serve).

    Shows exactly what `kbtool build` publishes: published public articles only.

    \b
    Example:
      kbtool preview            # then open http://127.0.0.1:8000/
    """
    require_extra("site", "preview")
    from ..site import preview

    cfg = get_config(kb)
    get_kb(cfg)  # fail early on a missing KB directory
    try:
        preview(cfg, dev_addr=dev_addr, open_browser=open_browser, strict=strict)
    except OSError as e:
        raise click.ClickException(f"cannot serve on {dev_addr}: {e.strerror or e}") from None


COMMANDS = [build_cmd, preview_cmd]
