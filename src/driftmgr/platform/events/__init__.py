"""The event bus (issue 4 §4): `build_bus(settings, db)` picks the backend of the settings."""

from __future__ import annotations

from driftmgr.config import Settings
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import EVENT_TYPES, Event, EventBus, Handler, Subscription, matches
from driftmgr.platform.events.memory import MemoryEventBus

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventBus",
    "Handler",
    "MemoryEventBus",
    "Subscription",
    "build_bus",
    "matches",
]


def build_bus(settings: Settings, db: Database) -> EventBus:
    """Redis pub/sub when `settings.redis_url` is set (scaled mode), else in-process; both persisted."""
    if settings.redis_url:
        from driftmgr.platform.events.redis_bus import RedisEventBus

        return RedisEventBus(db, settings.redis_url)
    return MemoryEventBus(db)
