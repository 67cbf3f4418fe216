"""Persistence of events: a writer thread that inserts published events into `events` in batches.

`add()` only appends to an in-memory queue, so publishing costs the publisher microseconds; the
writer thread takes everything queued so far and inserts it in one transaction. `flush()` waits
until every event added before the call is written (or given up on), so a query that follows a
publish sees it. A failing database is retried a few times with backoff; then the batch is logged
and dropped — a database outage must not grow memory without bound or stop delivery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import EventRecord
from driftmgr.platform.events.base import Event, matches

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_PENDING = 100_000  # beyond this, events are still delivered but no longer persisted (logged)
WRITE_ATTEMPTS = 4


def _like_prefilter(pattern: str) -> str | None:
    """A SQL LIKE pattern that every type matching the fnmatch `pattern` also matches, or None.

    Only a prefilter: the exact (case-sensitive, character-class aware) test is `matches()`.
    """
    if pattern == "*":
        return None
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch == "[":  # a character class: stop, keep what is known so far
            out.append("%")
            break
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def record_to_event(rec: EventRecord) -> Event:
    return Event(
        type=rec.type,
        payload=dict(rec.payload or {}),
        source=rec.source,
        job_id=rec.job_id,
        severity=rec.severity,
        id=rec.event_id,
        created_at=rec.created_at,
    )


class EventStore:
    """Batched writes to, and queries of, the `events` table.

    `on_written(events)` (optional) runs on the writer thread after each batch is committed (or given
    up on): the Redis bus uses it to fan events out to other processes only once they are stored.
    """

    def __init__(self, db: Database, *, on_written: Callable[[list[Event]], None] | None = None) -> None:
        self.db = db
        self._on_written = on_written
        self._pending: deque[Event] = deque()
        self._cond = threading.Condition()
        self._added = 0  # events accepted by add()
        self._done = 0  # events written or given up on
        self._dropped = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="driftmgr-event-writer", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Events that could not be persisted (database failing or backlog full)."""
        return self._dropped

    def add(self, event: Event) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the event store is closed")
            if len(self._pending) >= MAX_PENDING:
                self._dropped += 1
                if self._dropped % 1000 == 1:
                    log.error("event backlog full (%d pending): events are not persisted", MAX_PENDING)
                return
            self._pending.append(event)
            self._added += 1
            if len(self._pending) == 1:
                self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every event added before this call is written; False on timeout."""
        if threading.current_thread() is self._thread:  # called from on_written: nothing to wait for
            return True
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._added
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending, then stop the writer thread."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the event writer did not finish within %.0f s; pending events may be lost", timeout)

    # --- writer thread -------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending and self._closed:
                    return
                batch = [self._pending.popleft() for _ in range(min(BATCH_SIZE, len(self._pending)))]
            self._write(batch)
            if self._on_written is not None:
                try:
                    self._on_written(batch)
                except Exception:  # the writer thread must survive any sink error
                    log.exception("event fan-out after persistence failed")
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def _write(self, batch: list[Event]) -> None:
        rows = [
            {
                "event_id": e.id,
                "type": e.type,
                "created_at": e.created_at,
                "source": e.source,
                "job_id": e.job_id,
                "severity": e.severity,
                "payload": e.payload,
            }
            for e in batch
        ]
        delay = 0.1
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.db.session() as s:
                    s.execute(insert(EventRecord), rows)
                return
            except SQLAlchemyError as exc:
                if attempt == WRITE_ATTEMPTS:
                    self._dropped += len(batch)
                    log.error(
                        "could not persist %d events to %s: %s",
                        len(batch),
                        self.db.redacted_url,
                        type(exc).__name__,
                    )
                    return
                time.sleep(delay)
                delay *= 2

    # --- queries -------------------------------------------------------------------------------
    def query(
        self,
        pattern: str = "*",
        *,
        since: datetime | None = None,
        job_id: str | None = None,
        source: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Stored events matching all filters, oldest first.

        With `since` (inclusive), the first `limit` events from that time on (forward paging);
        without it, the most recent `limit` events.
        """
        if limit <= 0:
            return []
        stmt = select(EventRecord)
        like = _like_prefilter(pattern)
        if like is not None:
            stmt = stmt.where(EventRecord.type.like(like, escape="\\"))
        if since is not None:
            if since.tzinfo is None:
                from driftmgr.errors import UsageError

                raise UsageError("`since` must be a timezone-aware datetime")
            stmt = stmt.where(EventRecord.created_at >= since)
        if job_id is not None:
            stmt = stmt.where(EventRecord.job_id == job_id)
        if source is not None:
            stmt = stmt.where(EventRecord.source == source)
        forward = since is not None
        stmt = stmt.order_by(EventRecord.id.asc() if forward else EventRecord.id.desc())
        out: list[Event] = []
        with self.db.session() as s:
            for rec in s.execute(stmt.execution_options(yield_per=500)).scalars():
                if matches(pattern, rec.type):
                    out.append(record_to_event(rec))
                    if len(out) >= limit:
                        break
        if not forward:
            out.reverse()
        return out
