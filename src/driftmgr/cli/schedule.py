"""`driftmgr schedule add|list|remove`: cron schedules of drift detection (UTC)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from io import StringIO
from typing import TYPE_CHECKING, Annotated

import typer

from driftmgr.cli.context import Env, ExitStatus
from driftmgr.cli.render import Format, dump_json

if TYPE_CHECKING:
    from driftmgr.services.schedules import ScheduleService

schedule_app = typer.Typer(
    help="Run drift detection on a cron schedule (times are UTC).", no_args_is_help=True
)


@contextlib.contextmanager
def _service() -> Iterator[ScheduleService]:
    from driftmgr.config import load_settings
    from driftmgr.services.history import open_history
    from driftmgr.services.schedules import ScheduleService

    db = open_history(load_settings())
    try:
        yield ScheduleService(db)
    finally:
        db.dispose()


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t is not None else "-"


@schedule_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A unique name (letters, digits, '.', '_', '-').")],
    cron: Annotated[str, typer.Option("--cron", help="Five-field cron expression, in UTC.")],
    state: Annotated[
        list[str], typer.Option("--state", "-s", help="State SRC (path, dir, glob or URL); repeatable.")
    ],
    provider: Annotated[str, typer.Option("--provider", "-p", help="Cloud provider.")] = "aws",
    region: Annotated[
        list[str] | None, typer.Option("--region", "-r", help="Region to read (repeatable).")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Only these Terraform types (repeatable).")
    ] = None,
    policy: Annotated[str | None, typer.Option(help="YAML policy: ignore rules and severities.")] = None,
    driftignore: Annotated[str | None, typer.Option(help="driftctl-style ignore file.")] = None,
) -> int:
    """Add a schedule that runs `drift detect` on its sources at every cron time.

    Example: driftmgr schedule add prod --cron "*/15 * * * *" --state s3://tf/prod.tfstate
    """
    env: Env = ctx.obj
    with _service() as svc:
        view = svc.add(
            name,
            cron,
            state,
            provider=provider,
            regions=region,
            options={"types": type_, "policy": policy, "driftignore": driftignore},
        )
    print(f"schedule {view.name} added; next run {_when(view.next_run_at)}", file=env.stdout)
    return ExitStatus.OK


@schedule_app.command("list")
def list_(
    ctx: typer.Context,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> int:
    """List schedules with their next and last runs.

    Example: driftmgr schedule list --format json
    """
    env: Env = ctx.obj
    with _service() as svc:
        views = svc.list()
    if format is Format.json:
        env.stdout.write(dump_json({"schedules": [v.to_dict() for v in views]}).decode())
        return ExitStatus.OK
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("NAME", "CRON", "NEXT RUN", "LAST RUN", "LAST JOB", "SOURCES"):
        table.add_column(col, overflow="fold")
    for v in views:
        table.add_row(
            v.name,
            v.cron,
            _when(v.next_run_at),
            _when(v.last_run_at),
            v.last_job_id or "-",
            " ".join(v.sources),
        )
    buf = StringIO()
    Console(file=buf, width=200).print(table)
    buf.write(f"{len(views)} schedule(s)\n")
    env.stdout.write(buf.getvalue())
    return ExitStatus.OK


@schedule_app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The schedule to remove.")],
) -> int:
    """Remove a schedule (its past scans stay in the history).

    Example: driftmgr schedule remove prod
    """
    env: Env = ctx.obj
    with _service() as svc:
        svc.remove(name)
    print(f"schedule {name} removed", file=env.stdout)
    return ExitStatus.OK
