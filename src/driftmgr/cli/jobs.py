"""`driftmgr jobs list|show|cancel|wait`: background jobs in the database."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from driftmgr.cli.context import Env, ExitStatus

if TYPE_CHECKING:
    from driftmgr.services.workflow import WorkflowService

jobs_app = typer.Typer(help="Background jobs: list, show, cancel, wait.", no_args_is_help=True)


class Format(str, enum.Enum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f")]
JobArg = Annotated[str, typer.Argument(help="The job id.")]


@contextmanager
def _service() -> Iterator[WorkflowService]:
    from driftmgr.config import load_settings
    from driftmgr.services.workflow import WorkflowService

    service = WorkflowService.from_settings(load_settings())
    try:
        yield service
    finally:
        service.close()


def _dump(env: Env, data: object) -> None:
    env.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


@jobs_app.command("list")
def list_jobs(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="queued, running, succeeded, failed or cancelled.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="drift, discovery, report, …")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    format: FormatOpt = Format.table,
) -> int:
    """The latest jobs, newest first.

    Example: driftmgr jobs list --status running
    """
    env: Env = ctx.obj
    with _service() as service:
        views = service.list(status=status, kind=kind, limit=limit)
    if format is Format.json:
        _dump(env, {"jobs": [v.to_dict() for v in views]})
        return ExitStatus.OK
    from rich.table import Table

    table = Table()
    for col in ("ID", "KIND", "STATUS", "PROGRESS", "ATTEMPTS", "CREATED", "MESSAGE"):
        table.add_column(col, overflow="fold")
    for v in views:
        note = v.error if v.status == "failed" and v.error else v.message
        table.add_row(
            v.id, v.kind, v.status, f"{v.progress:.0f}%", str(v.attempts), v.created_at[:19], note or ""
        )
    env.console.print(table)
    return ExitStatus.OK


@jobs_app.command("show")
def show(ctx: typer.Context, job_id: JobArg) -> int:
    """Everything about one job, as JSON.

    Example: driftmgr jobs show 3f2a…
    """
    env: Env = ctx.obj
    with _service() as service:
        _dump(env, service.status(job_id).to_dict())
    return ExitStatus.OK


@jobs_app.command("cancel")
def cancel(ctx: typer.Context, job_id: JobArg) -> int:
    """Cancel a job: a queued one at once, a running one at its next check (within seconds).

    Example: driftmgr jobs cancel 3f2a…
    """
    env: Env = ctx.obj
    with _service() as service:
        before = service.status(job_id).status
        view = service.cancel(job_id)
    if before in ("succeeded", "failed", "cancelled"):
        print(f"{job_id}: already {before}; nothing to cancel", file=env.stdout)
    elif view.status == "running":
        print(f"{job_id}: cancel requested; it stops at its next check", file=env.stdout)
    elif view.status == "cancelled":
        print(f"{job_id}: cancelled", file=env.stdout)
    else:
        print(f"{job_id}: {view.status}", file=env.stdout)
    return ExitStatus.OK


@jobs_app.command("wait")
def wait(
    ctx: typer.Context,
    job_id: JobArg,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0, help="Give up after SECONDS.")] = None,
) -> int:
    """Wait for a job to end; exit 0 when it succeeded, 1 when it failed, was cancelled or timed out.

    Example: driftmgr jobs wait 3f2a… --timeout 600
    """
    env: Env = ctx.obj
    with _service() as service:
        view = service.wait(job_id, timeout)
    _dump(env, view.to_dict())
    if view.status != "succeeded":
        reason = f": {view.error}" if view.error else ""
        print(f"error: job {job_id} {view.status}{reason}", file=env.stderr)
        return ExitStatus.ERROR
    return ExitStatus.OK
