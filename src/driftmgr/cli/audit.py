"""`driftmgr audit verify|list|export|purge`: the hash-chained audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from driftmgr.cli.context import Env, ExitStatus

if TYPE_CHECKING:
    from driftmgr.services.audit import AuditService

audit_app = typer.Typer(
    help="The audit log: verify its hash chain, list, export, purge.", no_args_is_help=True
)

SinceOpt = Annotated[
    str | None, typer.Option("--since", help="ISO date/time (UTC unless it says) or an age such as 7d, 12h.")
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="ISO date/time or an age; exclusive.")]


def _service(env: Env) -> AuditService:
    from driftmgr.services.audit import AuditService

    return AuditService(env.settings)


def parse_when(text: str | None) -> datetime | None:
    """An ISO date/time (naive means UTC) or an age (`7d`) before now."""
    if text is None:
        return None
    from driftmgr.errors import UsageError
    from driftmgr.security.tokens import parse_duration

    value = text.strip()
    if value and value[-1] in "mhdwy" and value[:-1].strip().isdigit():
        return datetime.now(UTC) - parse_duration(value, maximum=None)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            "not an ISO date/time (2026-01-31, 2026-01-31T12:00Z) nor an age (7d)", source=text
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@audit_app.command("verify")
def verify(ctx: typer.Context, json: Annotated[bool, typer.Option("--json")] = False) -> int:
    """Walk the hash chain; exit 1 naming every edited, deleted or inserted record, 0 when intact.

    Example: driftmgr audit verify
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    result = _service(env).verify(Actor.cli())
    if json:
        data = {
            "ok": result.ok,
            "checked": result.checked,
            "first_id": result.first_id,
            "last_id": result.last_id,
            "head_hash": result.head_hash,
            "purged_through": result.purged_through,
            "problems": [
                {"kind": p.kind, "record": p.record_id, "message": p.message} for p in result.problems
            ],
        }
        env.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for p in result.problems:
            print(p.message, file=env.stderr)
        span = f"records {result.first_id}-{result.last_id}" if result.checked else "no records"
        state = "intact" if result.ok else f"BROKEN ({len(result.problems)} problems)"
        env.stdout.write(f"audit chain {state}: {result.checked} checked ({span}), head {result.head_hash}\n")
    return ExitStatus.OK if result.ok else ExitStatus.ERROR


@audit_app.command("list")
def list_records(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="An action, or a prefix ending in * (auth.*).")
    ] = None,
    result: Annotated[str | None, typer.Option("--result", help="success, failure or denied.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    json: Annotated[bool, typer.Option("--json")] = False,
) -> int:
    """List records, newest first.

    Example: driftmgr audit list --action 'auth.*' --result failure --since 1d
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    rows = _service(env).list(
        Actor.cli(),
        since=parse_when(since),
        until=parse_when(until),
        user=user,
        action=action,
        result=result,
        limit=limit,
    )
    if json:
        env.stdout.write(orjson.dumps({"records": rows}, option=orjson.OPT_INDENT_2).decode() + "\n")
        return ExitStatus.OK
    env.stdout.write(f"{'ID':>6} {'TIME':<20} {'USER':<20} {'ACTION':<22} {'RESULT':<8} RESOURCE\n")
    for r in rows:
        when = str(r["timestamp"])[:19]
        env.stdout.write(
            f"{r['id']:>6} {when:<20} {(r['user'] or '-'):<20} {r['action']:<22} {r['result']:<8} "
            f"{r['resource'] or ''}\n"
        )
    return ExitStatus.OK


@audit_app.command("export")
def export(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File to write (default stdout).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required in HIPAA mode).")] = None,
) -> int:
    """Export records as JSON lines (oldest first, with prev_hash and hash). The export is recorded.

    Example: driftmgr audit export --since 2026-01-01 --output audit.jsonl
    """
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    with env.output(output) as sink:
        n = _service(env).export(
            Actor.cli(), sink, since=parse_when(since), until=parse_when(until), reason=reason
        )
    print(f"{n} records exported", file=env.stderr)
    return ExitStatus.OK


@audit_app.command("purge")
def purge(
    ctx: typer.Context,
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Age (e.g. 400d); default: the retention of the audit mode."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required in HIPAA mode).")] = None,
) -> int:
    """Delete records older than the retention of the audit mode; the chain stays verifiable.

    Example: DRIFTMGR_AUDIT_MODE=soc2 driftmgr audit purge
    """
    from driftmgr.security.tokens import parse_duration
    from driftmgr.services.access import Actor

    env: Env = ctx.obj
    age = None
    if older_than is not None:
        age = parse_duration(older_than, maximum=None)
    done = _service(env).purge(Actor.cli(), older_than=age, reason=reason)
    env.stdout.write(
        f"{done.purged} records purged (older than {done.cutoff.isoformat(timespec='seconds')}); "
        f"the chain now starts after record {done.through_id}\n"
    )
    return ExitStatus.OK
