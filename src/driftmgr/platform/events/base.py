"""The event bus contract (DESIGN §3 event types; §4 memory and Redis backends).

Types are dotted names (`discovery.started`, `drift.drift_found`, `job.progress`); subscribers use
fnmatch-style patterns (`discovery.*`, `*`). Every published event is persisted (table `events`) so
it can be queried later; delivery to subscribers never blocks the publisher, and a slow or failing
subscriber never delays the others.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from driftmgr.errors import UsageError
from driftmgr.platform.db.models import new_id, utcnow

EVENT_TYPES = (
    "discovery.started",
    "discovery.progress",
    "discovery.completed",
    "discovery.failed",
    "state.imported",
    "state.analyzed",
    "state.compared",
    "state.deleted",
    "drift.detection_started",
    "drift.drift_found",
    "drift.detection_completed",
    "remediation.plan_created",
    "remediation.approved",
    "remediation.rejected",
    "remediation.executed",
    "remediation.rolled_back",
    "remediation.failed",
    "job.queued",
    "job.started",
    "job.progress",
    "job.succeeded",
    "job.failed",
    "job.retrying",
    "job.cancelled",
    "cache.invalidated",
)


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the state source the event is about, when any
    job_id: str | None = None
    severity: str | None = None  # low | medium | high | critical, for notification rules
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "job_id": self.job_id,
            "severity": self.severity,
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """The inverse of `to_dict` (events received from Redis or read back from storage)."""
        return cls(
            type=str(data["type"]),
            payload=dict(data.get("payload") or {}),
            source=data.get("source"),
            job_id=data.get("job_id"),
            severity=data.get("severity"),
            id=str(data["id"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
        )


SEVERITIES = ("low", "medium", "high", "critical")
_TYPE_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
MAX_TYPE_LENGTH = 80  # the `events.type` column


def check_type(event_type: str) -> str:
    """A publishable event type: dotted lowercase words (`drift.drift_found`), no wildcards."""
    if len(event_type) > MAX_TYPE_LENGTH or not _TYPE_RE.match(event_type):
        raise UsageError(
            f"not an event type: {event_type[:100]!r} (dotted lowercase words, e.g. 'discovery.started')"
        )
    return event_type


def check_pattern(pattern: str) -> str:
    """A subscription pattern: a non-empty fnmatch pattern (`discovery.*`, `*`, `job.?ailed`)."""
    if not pattern or len(pattern) > 200 or any(ch.isspace() for ch in pattern):
        raise UsageError(f"not an event pattern: {pattern[:100]!r} (e.g. 'discovery.*' or '*')")
    return pattern


def matches(pattern: str, event_type: str) -> bool:
    return fnmatch.fnmatchcase(event_type, pattern)


Handler = Callable[[Event], None]


class Subscription(Protocol):
    pattern: str

    def cancel(self) -> None: ...


class EventBus(Protocol):
    def publish(
        self,
        type: str,
        payload: dict[str, Any] | None = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
        severity: str | None = None,
    ) -> Event: ...

    def subscribe(self, pattern: str, handler: Handler) -> Subscription: ...

    def subscribe_once(self, pattern: str, handler: Handler) -> Subscription: ...

    def query(
        self,
        pattern: str = "*",
        *,
        since: datetime | None = None,
        job_id: str | None = None,
        source: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Stored events, oldest first, including every event this bus published before the call.

        With `since` (inclusive, tz-aware): the first `limit` from then on; else the latest `limit`.
        """

    def close(self) -> None: ...
