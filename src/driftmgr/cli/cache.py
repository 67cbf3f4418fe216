"""`driftmgr cache clear|stats`: the query cache of the current settings (embedded or Redis)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from io import StringIO
from typing import TYPE_CHECKING, Annotated, Any

import typer

from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.render import Format, dump_json

if TYPE_CHECKING:
    from driftmgr.platform.cache import TieredCache

cache_app = typer.Typer(
    help="Inspect and clear the cache of parsed states and queries.", no_args_is_help=True
)


@contextlib.contextmanager
def _cache() -> Iterator[TieredCache]:
    """The cache of the current settings, with the event bus it announces invalidations on."""
    from driftmgr.config import load_settings
    from driftmgr.platform.cache import build_cache
    from driftmgr.platform.db import open_database
    from driftmgr.platform.events import build_bus

    settings = load_settings()
    db = open_database(settings)
    try:
        bus = build_bus(settings, db)
        try:
            cache = build_cache(settings, db, bus)
            try:
                yield cache
            finally:
                cache.close()
        finally:
            bus.close()
    finally:
        db.dispose()


@cache_app.command("clear")
def clear(
    ctx: typer.Context,
    tag: Annotated[
        str | None,
        typer.Option("--tag", "-t", help="Only entries with this tag, e.g. state:s3://tf/prod.tfstate."),
    ] = None,
) -> int:
    """Drop cached entries at every level (all of them, or those with one tag).

    Running processes drop them from their memory too (by a `cache.invalidated` event; in embedded
    mode a process's memory level holds an entry for at most a minute).

    Example: driftmgr cache clear --tag state:s3://tf/prod.tfstate
    """
    env: Env = ctx.obj
    if tag is not None and not tag.strip():
        from driftmgr.errors import UsageError

        raise UsageError("--tag must not be empty")
    with _cache() as cache:
        if tag is None:
            n = cache.clear()
            print(f"cleared {n} cache entr{'y' if n == 1 else 'ies'}", file=env.stdout)
        else:
            n = cache.invalidate_tag(tag)
            print(f"cleared {n} cache entr{'y' if n == 1 else 'ies'} tagged {tag}", file=env.stdout)
    return ExitStatus.OK


@cache_app.command("stats")
def stats(
    ctx: typer.Context,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> int:
    """Entries per cache level and the hit ratio of every process since counting began.

    Example: driftmgr cache stats --format json
    """
    env: Env = ctx.obj
    with _cache() as cache:
        data = cache.stats()
    totals: dict[str, Any] = data.get("total") or {}
    if format is Format.json:
        env.stdout.write(
            dump_json(
                {
                    "backend": data["backend"],
                    "hits": totals.get("hits", 0),
                    "misses": totals.get("misses", 0),
                    "hit_ratio": totals.get("hit_ratio", 0.0),
                    "levels": {
                        name: {
                            "entries": level.get("entries"),
                            "hits": (totals.get("levels") or {}).get(name, {}).get("hits", 0),
                        }
                        for name, level in data["levels"].items()
                    },
                }
            ).decode()
        )
        return ExitStatus.OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cache ({data['backend']})")
    for col in ("level", "entries", "hits"):
        table.add_column(col, justify="left" if col == "level" else "right")
    for name, level in data["levels"].items():
        entries = level.get("entries")
        hits = (totals.get("levels") or {}).get(name, {}).get("hits", 0)
        table.add_row(name, "unavailable" if entries is None else str(entries), str(hits))
    buf = StringIO()
    Console(file=buf, width=100, soft_wrap=False).print(table)
    env.stdout.write(buf.getvalue())
    h, m = totals.get("hits", 0), totals.get("misses", 0)
    print(f"hits {h}, misses {m}, hit ratio {totals.get('hit_ratio', 0.0):.1%}", file=env.stdout)
    return ExitStatus.OK
