"""The embedded job queue: a priority worker pool in this process over the `jobs` table.

`max_workers` threads each claim the most urgent due job (lowest priority number, then oldest),
run it through the shared `JobRunner` and claim the next. Jobs are rows, so a job submitted while no
pool runs waits for the next one, and a job whose process died mid-run is queued again once its
lease lapses (`jobs_lease`) — by this pool at start and then every half lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from driftmgr.config import Settings
from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import EventBus
from driftmgr.platform.jobs.base import KINDS, Handler, JobView
from driftmgr.platform.jobs.runner import JobRunner, describe
from driftmgr.platform.jobs.store import TERMINAL, JobStore, WaitTimeout

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def store_for(settings: Settings, db: Database, events: EventBus) -> JobStore:
    return JobStore(
        db,
        events,
        queue_size=settings.jobs_queue_size,
        max_attempts=settings.jobs_retry_attempts,
        timeout_s=settings.jobs_timeout,
        lease_s=settings.jobs_lease,
    )


class QueueBase:
    """What both queues share: handlers, submit/get/list/cancel/wait over the store."""

    def __init__(self, settings: Settings, db: Database, events: EventBus, *, poll_s: float = 0.5) -> None:
        self.settings = settings
        self.store = store_for(settings, db, events)
        self.handlers: dict[str, Handler] = {}
        self.poll_s = poll_s
        self.runner = JobRunner(
            self.store,
            self.handlers,
            retry_delay=settings.jobs_retry_delay,
            poll_s=poll_s,
            on_requeue=self._requeued,
        )

    def _requeued(self, job_id: str, priority: int, delay: float) -> None:
        """A job was queued again (retry, dead worker): the Celery queue re-dispatches it."""

    def register(self, kind: str, handler: Handler) -> None:
        if not kind or len(kind) > 40:
            raise UsageError(f"invalid job kind {kind!r}")
        self.handlers[kind] = handler

    def _check_kind(self, kind: str) -> None:
        if kind not in KINDS and kind not in self.handlers:
            known = sorted(set(KINDS) | set(self.handlers))
            raise UsageError(f"unknown job kind {kind!r} (one of {', '.join(known)})")

    def submit(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        priority: int | None = None,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        created_by: str | None = None,
    ) -> str:
        self._check_kind(kind)
        job = self.store.submit(
            kind,
            dict(payload or {}),
            priority=priority,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            created_by=created_by,
        )
        self._submitted(job.id, job.priority)
        return job.id

    def _submitted(self, job_id: str, priority: int) -> None:
        """Hook: wake the local pool, or send the Celery message."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def get(self, job_id: str) -> JobView:
        return self.store.get(job_id)

    def list(self, *, status: str | None = None, kind: str | None = None, limit: int = 100) -> list[JobView]:
        return self.store.find(status=status, kind=kind, limit=limit)

    def cancel(self, job_id: str) -> JobView:
        view, _now = self.store.cancel(job_id)
        self.runner.signal_cancel(job_id)
        return view

    def wait(self, job_id: str, timeout: float | None = None) -> JobView:
        """Block until the job is succeeded, failed or cancelled; WaitTimeout after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.02
        while True:
            view = self.store.get(job_id)
            if view.status in TERMINAL:
                return view
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"still {view.status} after {timeout:g}s ({view.progress:.0f}%)", source=f"job {job_id}"
                )
            time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 0.25)


class LocalQueue(QueueBase):
    """The in-process priority pool (embedded mode)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        events: EventBus,
        *,
        poll_s: float = 0.5,
        name: str | None = None,
    ) -> None:
        super().__init__(settings, db, events, poll_s=poll_s)
        self.name = name or worker_name()
        self.max_workers = settings.jobs_max_workers
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._wake = threading.Condition()

    def _submitted(self, job_id: str, priority: int) -> None:
        with self._wake:
            self._wake.notify_all()

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        self.runner.reap()  # jobs of a pool that died are queued again before we claim
        self.runner.start_monitor()
        for i in range(self.max_workers):
            t = threading.Thread(target=self._work, args=(i,), name=f"driftmgr-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _work(self, index: int) -> None:
        while not self._stopping.is_set():
            token = f"{self.name}/{index}/{uuid.uuid4().hex[:8]}"
            try:
                job = self.store.claim_next(token)
            except Exception as exc:  # noqa: BLE001 - the database may come back
                log.warning("job pool: cannot claim: %s", describe(exc))
                self._stopping.wait(self.poll_s)
                continue
            if job is None:
                with self._wake:
                    if not self._stopping.is_set():
                        self._wake.wait(self.poll_s)
                continue
            if self._stopping.is_set():  # claimed while closing: give it straight back
                self.store.release(job.id, job.token)
                break
            try:
                self.runner.execute(job)
            except Exception as exc:  # noqa: BLE001 - one job's bookkeeping error must not stop the pool
                log.error("job %s: %s", job.id, describe(exc))

    @property
    def running(self) -> int:
        return self.runner.running

    def close(self, timeout: float = 10.0) -> None:
        """Stop claiming; running jobs are asked to stop and given back to the queue."""
        self._stopping.set()
        self.runner.shutdown()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = []
        self.runner.close()
