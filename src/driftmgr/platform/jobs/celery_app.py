"""The scaled-out job queue: Celery on Redis, started with `driftmgr worker` (DESIGN §4).

Celery carries job ids only; the `jobs` table stays the truth. The one task, `driftmgr.run_job`,
claims its row exactly as the local pool does (a conditional UPDATE), so a message delivered twice —
Redis redelivers unacknowledged messages, the reaper re-sends jobs of dead workers — runs the job
once. Messages are acknowledged late and rejected when their worker is lost; each worker prefetches
one message. Priorities map to three queues (`driftmgr.high|medium|low`) that workers consume in
that order. The Celery app is built at run time from Settings: nothing connects at import.
"""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import UTC, datetime

from celery import Celery
from kombu import Queue

from driftmgr.config import Settings, redacted_service_url
from driftmgr.errors import BackendError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import EventBus
from driftmgr.platform.jobs.local import QueueBase, worker_name

log = logging.getLogger(__name__)

TASK = "driftmgr.run_job"
QUEUES = ("driftmgr.high", "driftmgr.medium", "driftmgr.low")


def queue_for(priority: int) -> str:
    if priority <= 3:
        return QUEUES[0]
    if priority <= 6:
        return QUEUES[1]
    return QUEUES[2]


def make_celery(settings: Settings) -> Celery:
    """A Celery app for these settings: Redis broker and result backend, one task queue per priority."""
    if not settings.redis_url:
        raise BackendError("Celery needs DRIFTMGR_REDIS_URL")
    app = Celery("driftmgr", broker=settings.redis_url, backend=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_default_queue=QUEUES[1],
        broker_transport_options={
            "queue_order_strategy": "priority",  # high before medium before low
            # unacknowledged messages come back after this; the reaper does not wait for it
            "visibility_timeout": max(60.0, settings.jobs_timeout + settings.jobs_lease),
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=3,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
    )
    return app


class CeleryQueue(QueueBase):
    """Submit through Celery; run by `driftmgr worker` processes (`run_worker`)."""

    def __init__(self, settings: Settings, db: Database, events: EventBus, *, poll_s: float = 0.5) -> None:
        super().__init__(settings, db, events, poll_s=poll_s)
        self.app = make_celery(settings)
        self.name = worker_name()
        self.app.task(name=TASK, bind=False, ignore_result=True)(self._run_job)

    # --- producer side ------------------------------------------------------------------------
    def dispatch(self, job_id: str, priority: int, delay: float = 0.0) -> None:
        try:
            self.app.send_task(
                TASK,
                args=[job_id],
                queue=queue_for(priority),
                routing_key=queue_for(priority),
                countdown=delay if delay > 0 else None,
            )
        except Exception as exc:  # noqa: BLE001 - kombu raises many types; one clear error
            raise BackendError(
                f"cannot send job {job_id} to Redis: {type(exc).__name__}: {exc}",
                source=redacted_service_url(self.settings.redis_url) or "",
            ) from None

    def _submitted(self, job_id: str, priority: int) -> None:
        self.dispatch(job_id, priority)

    def _requeued(self, job_id: str, priority: int, delay: float) -> None:
        try:
            self.dispatch(job_id, priority, delay)
        except BackendError as exc:  # the reaper of a running worker sends it again
            log.warning("%s", exc)

    def start(self) -> None:
        """Nothing to start here: `driftmgr worker` processes run the jobs."""

    def close(self) -> None:
        self.runner.close()
        self.app.close()

    # --- worker side --------------------------------------------------------------------------
    def _run_job(self, job_id: str) -> str:
        token = f"{self.name}/{uuid.uuid4().hex[:8]}"
        job = self.store.claim(job_id, token)
        if job is None:
            found = self.store.run_after(job_id)
            if found is not None and found[0] == "queued":
                _status, run_after, priority = found
                wait = (run_after - datetime.now(UTC)).total_seconds()
                if wait > 0:  # early (a retry's countdown): come back when it is due
                    self.dispatch(job_id, priority, wait)
            return "skipped"
        return self.runner.execute(job)

    def run_worker(
        self, *, concurrency: int, queues: list[str] | None = None, hostname: str | None = None
    ) -> None:
        """Run a Celery worker in this process until it is stopped (SIGTERM/SIGINT: warm shutdown)."""
        self.runner.reap()
        self.runner.start_monitor()  # heartbeat, cancellation, timeouts, and the reaper
        worker = self.app.Worker(
            hostname=hostname or f"driftmgr-{uuid.uuid4().hex[:6]}@{socket.gethostname()}",
            pool="threads",
            concurrency=concurrency,
            queues=queues or list(QUEUES),
            without_mingle=True,
            without_gossip=True,
            without_heartbeat=True,
            quiet=True,
            loglevel="WARNING",
        )
        try:
            worker.start()
        finally:
            self.runner.shutdown()
            self.runner.close()
