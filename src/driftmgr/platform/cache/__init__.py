"""The cache (issue 4 §5): `build_cache(settings, db, events)` picks the levels of the settings.

Embedded: L1 memory → L2 disk (`<data_dir>/cache`) → L3 database. Scaled (`redis_url` set):
L1 memory → Redis. Both invalidate on `state.imported` and announce `cache.invalidated`.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import SQLAlchemyError

from driftmgr.config import Settings
from driftmgr.platform.cache.base import Cache
from driftmgr.platform.cache.levels import Clock, DatabaseLevel, DiskLevel, Level, MemoryLevel
from driftmgr.platform.cache.tiered import DiskCounters, RedisCounters, TieredCache
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.base import EventBus

__all__ = ["Cache", "TieredCache", "build_cache"]

L1_MAX_TTL = 60.0  # how stale another process's L1 can be when an invalidation cannot reach it


def build_cache(
    settings: Settings,
    db: Database,
    events: EventBus | None,
    *,
    clock: Clock | None = None,
    l1_max_ttl: float | None = L1_MAX_TTL,
) -> TieredCache:
    """The cache of these settings. `clock` (seconds since the epoch) is injectable for tests."""
    import time

    now = clock or time.time
    memory = MemoryLevel(now, max_ttl=l1_max_ttl)
    if settings.redis_url:
        import redis

        from driftmgr.platform.cache.redis_level import RedisLevel
        from driftmgr.platform.events.redis_bus import connect_redis

        client = connect_redis(settings.redis_url)
        shared = RedisLevel(client)
        return TieredCache(
            [memory, shared],
            events=events,
            counters=RedisCounters(client, shared.prefix + "stats"),
            clock=now,
            backend="redis",
            level_errors=(redis.RedisError,),
        )
    disk = DiskLevel(settings.data_dir / "cache", now)
    levels: list[Level] = [memory, disk, DatabaseLevel(db)]
    return TieredCache(
        levels,
        events=events,
        counters=DiskCounters(disk.disk),
        clock=now,
        backend="embedded",
        level_errors=(SQLAlchemyError, sqlite3.Error),
    )
