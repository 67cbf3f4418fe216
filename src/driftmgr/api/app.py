"""`create_app()`: the REST API (+ WebSocket, + GUI when present) over the service layer.

The app builds its platform (database, events, cache, jobs) at startup from Settings, or takes one
built by the caller (tests, the demo). OpenAPI at /api/v1/openapi.json, docs at /docs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from driftmgr import __version__
from driftmgr.api import errors
from driftmgr.api.latency import long_lived_heap
from driftmgr.config import Settings, load_settings
from driftmgr.platform.metrics import Metrics
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.services.access import AccessService
from driftmgr.services.workflow import WorkflowService

API = "/api/v1"


def create_app(
    settings: Settings | None = None, *, platform: Platform | None = None, start_workers: bool = True
) -> FastAPI:
    settings = settings or (platform.settings if platform else load_settings())
    owned = platform is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.platform is None:
            app.state.platform = build_platform(settings)
        plat: Platform = app.state.platform
        app.state.access = AccessService(settings, plat.db)
        app.state.workflow = WorkflowService(plat)
        app.state.workflow.register_handlers()
        if owned and start_workers:  # handlers first: a worker must never claim a job it cannot run
            plat.jobs.start()
            plat.start_background()
        heap = long_lived_heap() if owned else contextlib.nullcontext()
        try:
            with heap:
                yield
        finally:
            if owned:
                plat.close()

    app = FastAPI(
        title="DriftMgr API",
        version=__version__,
        openapi_url=f"{API}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.settings = settings
    app.state.metrics = Metrics()
    if platform is not None:
        app.state.access = AccessService(settings, platform.db)
        app.state.workflow = WorkflowService(platform)
    errors.install(app)

    from driftmgr.api.latency import LatencyMiddleware

    app.add_middleware(LatencyMiddleware, metrics=app.state.metrics)

    from driftmgr.api.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router, responses=errors.ERROR_RESPONSES)
    from driftmgr.api.websocket import router as ws_router

    app.include_router(ws_router)
    from driftmgr.web.render import install as install_gui

    install_gui(app)  # the GUI's pages, static files and HTML error pages
    return app
