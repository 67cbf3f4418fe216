"""The job queue (issue 4, DESIGN §4): an in-process pool, or Celery on Redis, over the `jobs` table."""

from __future__ import annotations

from driftmgr.config import Settings
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import EventBus
from driftmgr.platform.jobs.base import (
    KINDS,
    PRIORITY,
    JobCancelled,
    JobContext,
    JobQueue,
    JobTimeout,
    JobView,
)
from driftmgr.platform.jobs.local import LocalQueue, QueueBase
from driftmgr.platform.jobs.store import JobNotFound, QueueFull, WaitTimeout

__all__ = [
    "KINDS",
    "PRIORITY",
    "JobCancelled",
    "JobContext",
    "JobNotFound",
    "JobQueue",
    "JobTimeout",
    "JobView",
    "LocalQueue",
    "QueueBase",
    "QueueFull",
    "WaitTimeout",
    "build_queue",
]


def build_queue(settings: Settings, db: Database, events: EventBus) -> QueueBase:
    """The queue of these settings: Celery when DRIFTMGR_REDIS_URL is set, else the local pool.

    Nothing runs until `start()` (local pool) or a `driftmgr worker` (Celery) picks the jobs up.
    """
    if settings.scaled:
        from driftmgr.platform.jobs.celery_app import CeleryQueue

        return CeleryQueue(settings, db, events)
    return LocalQueue(settings, db, events)
