"""`/api/v1/ws`: live events over a WebSocket.

Authenticate with the session cookie (from a page of this server: the `Origin` must match), an
`Authorization: Bearer` header, or — for clients that cannot
set headers — a first message `{"token": "dm_…"}` within 10 s. The caller needs `events:read`.
Then `{"subscribe": ["job.*", "drift.*"]}` (wildcards) adds patterns, `{"unsubscribe": [...]}` drops
them; every matching event arrives as its JSON (`{"id", "type", "created_at", "source", "job_id",
"severity", "payload"}`). With the Redis bus, events published by any API process or worker arrive.
Close codes: 4401 unauthenticated, 4403 forbidden, 4400 bad message.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from driftmgr.platform.events.base import Event
from driftmgr.security.errors import AuthenticationError
from driftmgr.security.sessions import SESSION_COOKIE
from driftmgr.services.access import AccessService, Actor

router = APIRouter()
QUEUE_LIMIT = 10_000  # events buffered per client; a client that far behind is disconnected
MAX_PATTERNS = 50


async def _authenticate(ws: WebSocket, access: AccessService) -> Actor | None:
    ip = ws.client.host if ws.client else None
    header = ws.headers.get("authorization", "")
    try:
        if header.lower().startswith("bearer "):
            return await run_in_threadpool(access.authenticate_token, header[7:].strip(), ip=ip, origin="api")
        if cookie := ws.cookies.get(SESSION_COOKIE):
            if not _same_origin(ws):  # a page of another site cannot ride on the user's session cookie
                return None
            return await run_in_threadpool(access.resolve_session, cookie, ip=ip, origin="gui")
        first = await asyncio.wait_for(ws.receive_text(), timeout=10)
        token = orjson.loads(first).get("token") if first.startswith("{") else None
        if isinstance(token, str):
            return await run_in_threadpool(access.authenticate_token, token, ip=ip, origin="api")
    except (AuthenticationError, TimeoutError, orjson.JSONDecodeError, AttributeError):
        return None
    return None


@router.websocket("/api/v1/ws")
async def events_socket(ws: WebSocket) -> None:
    await ws.accept()
    access: AccessService = ws.app.state.access
    actor = await _authenticate(ws, access)
    if actor is None:
        await ws.close(code=4401, reason="unauthenticated")
        return
    if not actor.can("events:read"):
        with contextlib.suppress(Exception):
            await run_in_threadpool(access.authorize, actor, "events:read", "ws /api/v1/ws")
        await ws.close(code=4403, reason="forbidden")
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
    patterns: set[str] = set()

    def on_event(event: Event) -> None:  # called on the bus's delivery thread
        if any(fnmatch.fnmatchcase(event.type, p) for p in tuple(patterns)):
            loop.call_soon_threadsafe(_offer, queue, event)

    subscription = ws.app.state.platform.events.subscribe("*", on_event)
    await ws.send_text(orjson.dumps({"type": "welcome", "user": actor.username}).decode())

    async def pump() -> None:
        while True:
            event = await queue.get()
            if event is None:
                await ws.close(code=1013, reason="too far behind")
                return
            await ws.send_text(orjson.dumps(event.to_dict()).decode())

    sender = asyncio.create_task(pump())
    try:
        while True:
            message = await ws.receive_text()
            reply = _apply(message, patterns)
            if reply.get("error"):
                await ws.send_text(orjson.dumps(reply).decode())
                await ws.close(code=4400, reason="bad message")
                return
            await ws.send_text(orjson.dumps(reply).decode())
    except WebSocketDisconnect:
        pass
    finally:
        subscription.cancel()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


def _same_origin(ws: WebSocket) -> bool:
    """Browsers send `Origin` on every WebSocket handshake; it must be this server (host and port)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    host = ws.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _offer(queue: asyncio.Queue[Event | None], event: Event) -> None:
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
        queue.put_nowait(None)  # tell the pump to give up on this client


def _apply(message: str, patterns: set[str]) -> dict[str, Any]:
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return {"error": 'messages are JSON objects: {"subscribe": ["job.*"]}'}
    if not isinstance(data, dict):
        return {"error": "messages are JSON objects"}
    for key in ("subscribe", "unsubscribe"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(p, str) and 0 < len(p) <= 80 for p in value):
            return {"error": f"{key} takes a list of patterns (1–80 characters each)"}
        if key == "subscribe":
            if len(patterns | set(value)) > MAX_PATTERNS:
                return {"error": f"at most {MAX_PATTERNS} patterns"}
            patterns.update(value)
        else:
            patterns.difference_update(value)
    return {"type": "subscribed", "patterns": sorted(patterns)}
