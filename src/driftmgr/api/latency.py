"""Two things that keep request latency low: the API latency histogram as a plain ASGI middleware
(Starlette's `BaseHTTPMiddleware` costs a task and a memory stream per request, a good part of a
cached answer's time), and `long_lived_heap()` for the garbage collector."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class LatencyMiddleware:
    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")  # set by the router, once matched
            self.metrics.api_latency.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )


@contextlib.contextmanager
def long_lived_heap() -> Iterator[None]:
    """While serving, leave what startup allocated (modules, the app, the platform: ~100k-200k objects)
    out of the garbage collector's full collections, which otherwise scan all of it and stop every
    request for 60-150 ms every few seconds under load. Undone when the server stops."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
