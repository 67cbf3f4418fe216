"""The platform of one process, built from Settings: database, event bus, cache, job queue.

One code path for both modes (DESIGN §4): `Settings.redis_url` unset → SQLite/PG + in-memory bus +
memory/disk/DB cache + in-process worker pool; set → Redis bus, memory/Redis cache, Celery.

`start_background()` starts what a long-running process (`driftmgr serve`, `driftmgr worker`) runs
beside its requests or jobs: the notifier (events → notification deliveries, retried) and the
scheduler (due cron schedules → drift jobs). Every such process may run both at once: deliveries
are unique per channel and event and claimed with a lease, and the scheduler claims each due slot
with a conditional update — so N processes send each notification and run each slot once (the
"one elected scheduler" of DESIGN §4, without an election).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from driftmgr.config import Settings
from driftmgr.platform.db.engine import Database, open_database
from driftmgr.platform.events.base import EventBus

if TYPE_CHECKING:  # not imported at run time: a CLI scan's one_shot_events needs neither
    from driftmgr.platform.cache.base import Cache
    from driftmgr.platform.jobs.base import JobQueue


class _Background(Protocol):
    def close(self) -> None: ...


@dataclass
class Platform:
    settings: Settings
    db: Database
    events: EventBus
    cache: Cache
    jobs: JobQueue
    background: list[_Background] = field(default_factory=list)

    def start_background(self, *, notifier: bool = True, scheduler: bool = True) -> None:
        from driftmgr.platform.notify import Notifier
        from driftmgr.platform.scheduler import Scheduler

        if notifier:
            self.background.append(Notifier(self.db, self.events).start())
        if scheduler:
            sched = Scheduler(self.db, self.jobs.submit, interval=self.settings.scheduler_interval)
            sched.start()
            self.background.append(sched)

    def close(self) -> None:
        for part in reversed(self.background):
            part.close()
        self.background.clear()
        self.jobs.close()
        self.events.close()
        self.cache.close()
        self.db.dispose()


def build_platform(settings: Settings, *, start_workers: bool = False) -> Platform:
    from driftmgr.platform.cache import build_cache
    from driftmgr.platform.events import build_bus
    from driftmgr.platform.jobs import build_queue

    db = open_database(settings)
    events = build_bus(settings, db)
    cache = build_cache(settings, db, events)
    jobs = build_queue(settings, db, events)
    platform = Platform(settings=settings, db=db, events=events, cache=cache, jobs=jobs)
    if start_workers:
        jobs.start()
        platform.start_background()
    return platform


@contextlib.contextmanager
def one_shot_events(settings: Settings, db: Database) -> Iterator[EventBus]:
    """Events of a short-lived process (a CLI scan): published and persisted like a server's, and
    matched against the notification rules; at the end, due deliveries are sent once. What fails is
    left pending for the next long-running process (`driftmgr worker` / `serve`) to retry."""
    from driftmgr.platform.events import build_bus
    from driftmgr.platform.notify import Notifier

    bus = build_bus(settings, db)
    notifier = Notifier(db, bus).start(dispatch=False)
    try:
        yield bus
    finally:
        bus.close()  # delivers every event to the notifier and writes them all
        try:
            notifier.dispatch_due()
        except Exception as exc:  # noqa: BLE001 - notifications never fail the scan that caused them
            logging.getLogger(__name__).warning("notifications were not sent now: %s", exc)
        finally:
            notifier.close()
