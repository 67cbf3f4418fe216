"""`driftmgr notify channel|rule|deliveries`: where events are sent, and what happened to them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.render import Format

if TYPE_CHECKING:
    from driftmgr.platform.db.engine import Database

notify_app = typer.Typer(
    help="Notifications: apprise channels (Slack, Teams, e-mail, PagerDuty, webhooks), rules, deliveries.",
    no_args_is_help=True,
)
channel_app = typer.Typer(help="Notification channels: a name and an apprise URL.", no_args_is_help=True)
rule_app = typer.Typer(
    help="Which events (and severities, sources) go to which channel.", no_args_is_help=True
)
notify_app.add_typer(channel_app, name="channel")
notify_app.add_typer(rule_app, name="rule")

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


@contextmanager
def _db(env: Env) -> Iterator[Database]:
    from driftmgr.platform.db.engine import open_database

    db = open_database(env.settings)
    try:
        yield db
    finally:
        db.dispose()


def _json(env: Env, key: str, items: list[dict[str, object]]) -> None:
    env.stdout.write(orjson.dumps({key: items}, option=orjson.OPT_INDENT_2).decode() + "\n")


def _table(*columns: str) -> Table:
    return Table(*columns, box=None, pad_edge=False, header_style="bold")


# --- channels -----------------------------------------------------------------------------------


@channel_app.command("add")
def channel_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name: letters, digits, '.', '_', '-'.")],
    url: Annotated[
        str, typer.Argument(help="The apprise URL, or '-' to read it from stdin (keeps it out of history).")
    ],
) -> int:
    """Add a channel. The URL is checked by apprise and never shown again unredacted.

    Example: driftmgr notify channel add ops-slack slack://TokenA/TokenB/TokenC/#ops
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import add_channel

    if url == "-":
        url = sys.stdin.readline().strip()
    with _db(env) as db:
        view = add_channel(db, name, url)
    env.stdout.write(f"added channel {view.name}: {view.url}\n")
    return ExitStatus.OK


@channel_app.command("list")
def channel_list(ctx: typer.Context, format: FormatOpt = Format.table) -> int:
    """List channels, URLs redacted.

    Example: driftmgr notify channel list --format json
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import list_channels

    with _db(env) as db:
        channels = list_channels(db)
    if format is Format.json:
        _json(env, "channels", [c.to_dict() for c in channels])
        return ExitStatus.OK
    if not channels:
        env.stdout.write("no notification channels (add one with: driftmgr notify channel add NAME URL)\n")
        return ExitStatus.OK
    table = _table("NAME", "URL", "ENABLED", "RULES")
    for c in channels:
        table.add_row(c.name, c.url, "yes" if c.enabled else "no", str(c.rules))
    env.console.print(table)
    return ExitStatus.OK


@channel_app.command("remove")
def channel_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The channel name.")]) -> int:
    """Remove a channel with its rules and its delivery records.

    Example: driftmgr notify channel remove ops-slack
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import remove_channel

    with _db(env) as db:
        remove_channel(db, name)
    env.stdout.write(f"removed channel {name}\n")
    return ExitStatus.OK


@channel_app.command("test")
def channel_test(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The channel name.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the service.", min=1)] = 30.0,
) -> int:
    """Send a test message to a channel now; exit 1 with the (redacted) reason when it fails.

    Example: driftmgr notify channel test ops-slack
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.notifier import send_test

    with _db(env) as db:
        send_test(db, name, timeout=timeout)
    env.stdout.write(f"test notification delivered to channel {name}\n")
    return ExitStatus.OK


# --- rules --------------------------------------------------------------------------------------


@rule_app.command("add")
def rule_add(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option("--channel", "-c", help="The channel to send to.")],
    event: Annotated[
        list[str], typer.Option("--event", "-e", help="Event type pattern, e.g. 'drift.*'. Repeatable.")
    ],
    min_severity: Annotated[
        str | None, typer.Option("--min-severity", help="low, medium, high or critical.")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only events about this source (glob). Repeatable."),
    ] = None,
) -> int:
    """Send matching events to a channel.

    Example: driftmgr notify rule add --channel ops-slack --event 'drift.*' --min-severity high
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import add_rule

    with _db(env) as db:
        rule = add_rule(db, channel, event, min_severity=min_severity, sources=source or [])
    env.stdout.write(f"added rule {rule.id} → channel {rule.channel}\n")
    return ExitStatus.OK


@rule_app.command("list")
def rule_list(ctx: typer.Context, format: FormatOpt = Format.table) -> int:
    """List notification rules.

    Example: driftmgr notify rule list
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import list_rules

    with _db(env) as db:
        rules = list_rules(db)
    if format is Format.json:
        _json(env, "rules", [r.to_dict() for r in rules])
        return ExitStatus.OK
    if not rules:
        env.stdout.write("no notification rules\n")
        return ExitStatus.OK
    table = _table("ID", "CHANNEL", "EVENTS", "MIN SEVERITY", "SOURCES")
    for r in rules:
        table.add_row(
            r.id, r.channel, ", ".join(r.events), r.min_severity or "-", ", ".join(r.sources) or "all"
        )
    env.console.print(table)
    return ExitStatus.OK


@rule_app.command("remove")
def rule_remove(
    ctx: typer.Context, rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule id.")]
) -> int:
    """Remove a rule by id (or a unique prefix of 6+ characters).

    Example: driftmgr notify rule remove 3f2a9c
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import remove_rule

    with _db(env) as db:
        full = remove_rule(db, rule_id)
    env.stdout.write(f"removed rule {full}\n")
    return ExitStatus.OK


# --- deliveries ---------------------------------------------------------------------------------


@notify_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or dead (the dead letters).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 50,
    format: FormatOpt = Format.table,
) -> int:
    """List notification deliveries (errors redacted).

    Example: driftmgr notify deliveries --status dead
    """
    env: Env = ctx.obj
    from driftmgr.platform.notify.store import list_deliveries

    if status is not None:
        status = status.lower()
    with _db(env) as db:
        rows = list_deliveries(db, status=status, limit=limit)
    if format is Format.json:
        _json(env, "deliveries", [d.to_dict() for d in rows])
        return ExitStatus.OK
    if not rows:
        env.stdout.write("no deliveries\n" if status is None else f"no {status} deliveries\n")
        return ExitStatus.OK
    table = _table("ID", "CHANNEL", "EVENT", "STATUS", "ATTEMPTS", "CREATED", "LAST ERROR")
    for d in rows:
        table.add_row(
            d.id[:12],
            d.channel,
            d.event_type,
            d.status,
            str(d.attempts),
            d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.last_error or "",
        )
    env.console.print(table)
    return ExitStatus.OK
