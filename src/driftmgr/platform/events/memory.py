"""The in-memory event bus of the embedded mode (DESIGN §4): in-process pub/sub, persisted.

`publish()` validates the event, hands it to the writer thread of `EventStore` and queues it for the
matching subscriptions; it never waits for the database or for a handler.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

import orjson

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import SEVERITIES, Event, Handler, check_type
from driftmgr.platform.events.dispatch import DEFAULT_MAX_PENDING, Dispatcher, LocalSubscription
from driftmgr.platform.events.store import EventStore

log = logging.getLogger(__name__)


def make_event(
    type: str,
    payload: dict[str, Any] | None,
    *,
    source: str | None,
    job_id: str | None,
    severity: str | None,
) -> tuple[Event, bytes]:
    """A validated Event and its payload as JSON bytes.

    The payload is copied through JSON, so subscribers get plain JSON values and never share a
    mutable dict with the publisher; a payload JSON cannot hold is refused.
    """
    check_type(type)
    if severity is not None and severity not in SEVERITIES:
        raise UsageError(f"not a severity: {severity!r} (one of {', '.join(SEVERITIES)})")
    if payload is not None and not isinstance(payload, dict):
        raise UsageError(f"an event payload must be a mapping, got {payload.__class__.__name__}")
    try:
        raw = orjson.dumps(payload or {})
    except TypeError as exc:
        raise UsageError(f"the payload of {type} is not JSON-serialisable: {exc}") from None
    event = Event(type=type, payload=orjson.loads(raw), source=source, job_id=job_id, severity=severity)
    return event, raw


class MemoryEventBus:
    """Subscribers of this process only; every event is stored in the `events` table."""

    backend = "memory"

    def __init__(self, db: Database, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.db = db
        self._dispatcher = Dispatcher(max_pending=max_pending)
        self._store = EventStore(db, on_written=self._on_written)
        self._closed = False
        self._close_lock = threading.Lock()

    # hooks for the Redis bus
    def _on_written(self, events: list[Event]) -> None:
        return None

    def publish(
        self,
        type: str,
        payload: dict[str, Any] | None = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
        severity: str | None = None,
    ) -> Event:
        if self._closed:
            raise RuntimeError("the event bus is closed")
        event, _raw = make_event(type, payload, source=source, job_id=job_id, severity=severity)
        self._store.add(event)
        self._dispatcher.dispatch(event)
        return event

    def subscribe(self, pattern: str, handler: Handler) -> LocalSubscription:
        return self._dispatcher.subscribe(pattern, handler)

    def subscribe_once(self, pattern: str, handler: Handler) -> LocalSubscription:
        return self._dispatcher.subscribe(pattern, handler, once=True)

    @property
    def subscriptions(self) -> list[LocalSubscription]:
        return self._dispatcher.subscriptions

    @property
    def dropped(self) -> int:
        """Events that could not be persisted."""
        return self._store.dropped

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every event published so far by this bus is stored."""
        return self._store.flush(timeout)

    def query(
        self,
        pattern: str = "*",
        *,
        since: datetime | None = None,
        job_id: str | None = None,
        source: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Stored events (this bus's pending writes are flushed first); see EventStore.query."""
        if not self._closed:
            self._store.flush()
        return self._store.query(pattern, since=since, job_id=job_id, source=source, limit=limit)

    def close(self) -> None:
        """Deliver what is queued, write what is pending, stop every thread. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._stop_inbound()
        self._dispatcher.close()
        self._store.close()
        self._stop_outbound()

    def _stop_inbound(self) -> None:
        return None

    def _stop_outbound(self) -> None:
        return None

    def __enter__(self) -> MemoryEventBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
