"""`driftmgr worker`: run background jobs in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from driftmgr.cli.context import Env, ExitStatus


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, max=64, help="Jobs run at once (default DRIFTMGR_JOBS_MAX_WORKERS)."
        ),
    ] = None,
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue", "-Q", help="Celery only: consume these queues (high, medium, low); repeatable."
        ),
    ] = None,
) -> int:
    """Run queued jobs (drift scans, discovery, reports) until stopped with SIGTERM or Ctrl-C.

    With DRIFTMGR_REDIS_URL set this is a Celery worker on that Redis (scaled mode): start as many
    as you like, on any machine sharing the database. Without it, the embedded worker pool runs in
    the foreground on the configured database (SQLite by default), which is what `driftmgr serve`
    runs in-process. Jobs of a worker that died are run again once their lease (DRIFTMGR_JOBS_LEASE)
    lapses; a job never runs twice at once.

    Example: DRIFTMGR_REDIS_URL=redis://localhost:6379/0 driftmgr worker --concurrency 4
    """
    from driftmgr.config import load_settings
    from driftmgr.services.workflow import WorkflowService

    env: Env = ctx.obj
    settings = load_settings()
    service = WorkflowService.from_settings(settings)
    try:
        mode = "celery on redis" if settings.scaled else "embedded pool"
        print(
            f"driftmgr worker: {mode}, database {service.db.redacted_url}, "
            f"concurrency {concurrency or settings.jobs_max_workers}",
            file=env.stderr,
            flush=True,
        )
        service.run_worker(concurrency=concurrency, queues=queue)
    finally:
        service.close()
    return ExitStatus.OK
