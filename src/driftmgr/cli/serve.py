"""`driftmgr serve`: the REST API (and its background workers) on one host and port."""

from __future__ import annotations

from typing import Annotated

import typer

from driftmgr.cli.context import Env, ExitStatus


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        bool, typer.Option("--workers/--no-workers", help="Run jobs, schedules and notifications here too.")
    ] = True,
) -> int:
    """Serve the API (/api/v1, docs at /docs, /health, /metrics). Sign in with a user made by
    `driftmgr users create-admin`; there is no default account.

    Example: driftmgr serve --host 0.0.0.0 --port 8080
    """
    import uvicorn

    from driftmgr.api.app import create_app

    env: Env = ctx.obj
    app = create_app(env.settings, start_workers=workers)
    print(f"DriftMgr API on http://{host}:{port} (docs at /docs)", file=env.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)
    return ExitStatus.OK
