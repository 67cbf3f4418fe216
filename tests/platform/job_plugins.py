"""Test helpers for the job queue: a recording event bus, and job kinds for worker subprocesses.

Worker subprocesses load `register` through DRIFTMGR_JOB_PLUGINS=tests.platform.job_plugins:register
(PYTHONPATH = the repository root). The kinds write to files named in their payload, so the test that
submitted the job can see every execution, whichever process ran it:

- `probe`: appends "start <pid> <job> <attempt>" to payload["log"], works for payload["seconds"]
  (checking for cancellation), stores its result once per job (O_EXCL file in payload["store"]),
  then appends "end <pid> <job> <attempt> <stored|existing>".
- `record`: appends "<pid> <job>" to payload["log"] and returns — for many-job sharing tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from driftmgr.platform.events.base import Event, matches
from driftmgr.platform.jobs.base import JobContext, JobQueue


class _Sub:
    def __init__(self, bus: RecordingBus, pattern: str, handler: Callable[[Event], None], once: bool) -> None:
        self.pattern = pattern
        self.handler = handler
        self.once = once
        self._bus = bus

    def cancel(self) -> None:
        with self._bus.lock:
            if self in self._bus.subs:
                self._bus.subs.remove(self)


class RecordingBus:
    """A small in-memory EventBus (the Protocol of platform/events/base.py) that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.subs: list[_Sub] = []
        self.lock = threading.Lock()

    def publish(
        self,
        type: str,
        payload: dict[str, Any] | None = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
        severity: str | None = None,
    ) -> Event:
        event = Event(type, dict(payload or {}), source=source, job_id=job_id, severity=severity)
        with self.lock:
            self.events.append(event)
            subs = [s for s in self.subs if matches(s.pattern, type)]
        for s in subs:
            if s.once:
                s.cancel()
            s.handler(event)
        return event

    def subscribe(self, pattern: str, handler: Callable[[Event], None]) -> _Sub:
        sub = _Sub(self, pattern, handler, False)
        with self.lock:
            self.subs.append(sub)
        return sub

    def subscribe_once(self, pattern: str, handler: Callable[[Event], None]) -> _Sub:
        sub = _Sub(self, pattern, handler, True)
        with self.lock:
            self.subs.append(sub)
        return sub

    def query(
        self,
        pattern: str = "*",
        *,
        since: datetime | None = None,
        job_id: str | None = None,
        source: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        with self.lock:
            found = [
                e
                for e in self.events
                if matches(pattern, e.type)
                and (job_id is None or e.job_id == job_id)
                and (source is None or e.source == source)
                and (since is None or e.created_at >= since)
            ]
        return found[:limit]

    def types(self, job_id: str) -> list[str]:
        return [e.type for e in self.query(job_id=job_id, limit=10_000)]

    def close(self) -> None:
        pass


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def probe(ctx: JobContext) -> dict[str, Any]:
    p = ctx.payload
    _append(p["log"], f"start {os.getpid()} {ctx.job_id} {ctx.attempt}")
    seconds = float(p.get("seconds", 1.0))
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        ctx.progress(100 * elapsed / seconds, "probing")
        time.sleep(0.05)
    ctx.check()
    target = Path(p["store"]) / f"{ctx.job_id}.result"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        how = "existing"
    else:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        how = "stored"
    _append(p["log"], f"end {os.getpid()} {ctx.job_id} {ctx.attempt} {how}")
    return {"pid": os.getpid(), "how": how}


def record(ctx: JobContext) -> dict[str, Any]:
    _append(ctx.payload["log"], f"{os.getpid()} {ctx.job_id}")
    return {"pid": os.getpid()}


def register(queue: JobQueue) -> None:
    queue.register("probe", probe)
    queue.register("record", record)
