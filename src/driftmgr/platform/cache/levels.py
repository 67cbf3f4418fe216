"""The levels of the embedded cache: L1 memory, L2 disk (diskcache), L3 database (`cache_entries`).

Every level stores the same thing for a key: the value as JSON bytes, its absolute expiry time (on
the cache's clock, seconds since the epoch) and its tags. Every level checks the expiry itself on
read, so TTLs hold at each level even with an injected clock; the levels' own expiry (diskcache's
`expire`) only reclaims space. Values are JSON (orjson), never pickled, so a value read back from
disk or a shared database can never run code.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from cachetools import TLRUCache
from sqlalchemy import Text, cast, delete, func, select

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import CacheEntry

log = logging.getLogger(__name__)

Clock = Callable[[], float]
KeySet = set[str]  # (a class attribute named `set` would shadow the builtin in annotations)


@dataclass(frozen=True, slots=True)
class Record:
    value: bytes  # JSON
    expires_at: float  # on the cache's clock
    tags: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        """`{"e": expires_at, "t": tags}` NEWLINE value — orjson output never holds a raw newline."""
        return orjson.dumps({"e": self.expires_at, "t": list(self.tags)}) + b"\n" + self.value

    @classmethod
    def from_bytes(cls, raw: bytes) -> Record:
        head, _, value = raw.partition(b"\n")
        meta = orjson.loads(head)
        return cls(value=value, expires_at=float(meta["e"]), tags=tuple(meta.get("t") or ()))


class Level(Protocol):
    name: str

    def get(self, key: str, now: float) -> Record | None: ...

    def set(self, key: str, record: Record, now: float) -> None: ...

    def delete(self, keys: Iterable[str]) -> int: ...

    def invalidate_tag(self, tag: str) -> KeySet:
        """Remove the entries carrying `tag`; the keys removed."""

    def clear(self) -> int: ...

    def count(self, now: float) -> int: ...

    def close(self) -> None: ...


class MemoryLevel:
    """L1: a size-bounded LRU in this process (cachetools TLRUCache, expiry per entry).

    `max_ttl` caps how long an entry lives here whatever its TTL: it bounds how stale this
    process can be when another process invalidated an entry and the news could not reach it.
    """

    name = "memory"

    def __init__(self, clock: Clock, *, max_bytes: int = 64 << 20, max_ttl: float | None = None) -> None:
        self._max_ttl = max_ttl
        self._max_bytes = max_bytes
        self._data: TLRUCache[str, Record] = TLRUCache(
            maxsize=max_bytes,
            ttu=lambda _k, rec, _now: rec.expires_at,
            timer=clock,
            getsizeof=lambda rec: len(rec.value) + 200,
        )
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Record | None:
        with self._lock:
            rec = self._data.get(key)
        if rec is None or rec.expires_at <= now:
            return None
        return rec

    def set(self, key: str, record: Record, now: float) -> None:
        if self._max_ttl is not None and record.expires_at > now + self._max_ttl:
            record = Record(record.value, now + self._max_ttl, record.tags)
        with self._lock:
            if len(record.value) + 200 > self._max_bytes:
                self._data.pop(key, None)
                return
            self._data[key] = record

    def delete(self, keys: Iterable[str]) -> int:
        n = 0
        with self._lock:
            for k in keys:
                if self._data.pop(k, None) is not None:
                    n += 1
        return n

    def invalidate_tag(self, tag: str) -> KeySet:
        with self._lock:
            found = {k for k, rec in list(self._data.items()) if tag in rec.tags}
            for k in found:
                self._data.pop(k, None)
        return found

    def clear(self) -> int:
        with self._lock:
            n = len(self._data)
            self._data.clear()
        return n

    def count(self, now: float) -> int:
        with self._lock:
            self._data.expire()
            return len(self._data)

    def close(self) -> None:
        self.clear()


_ENTRY = "entry"  # diskcache tag of entries and tag lists (not of the counters)


class DiskLevel:
    """L2: diskcache (SQLite + files) in a directory, shared by the processes of one data dir.

    Entries are `v:<key>`; each tag has a key list `t:<tag>` (JSON) updated in a diskcache
    transaction, so tag invalidation does not scan the cache. Everything is stored as bytes or
    integers, which diskcache keeps as they are (it would pickle other objects). The hit/miss totals
    (`tiered.DiskCounters`) live here too (`s:<name>`), untagged, so `clear()` keeps them.
    """

    name = "disk"

    def __init__(self, directory: Path, clock: Clock, *, size_limit: int = 1 << 30) -> None:
        import diskcache  # type: ignore[import-untyped]

        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._clock = clock
        self.disk: Any = diskcache.Cache(str(directory), size_limit=size_limit, tag_index=True)

    def get(self, key: str, now: float) -> Record | None:
        raw = self.disk.get("v:" + key)
        if raw is None:
            return None
        rec = Record.from_bytes(raw)
        if rec.expires_at <= now:
            self.disk.delete("v:" + key)
            return None
        return rec

    def set(self, key: str, record: Record, now: float) -> None:
        ttl = max(1.0, record.expires_at - now + 1.0)  # real-time backstop; our clock decides on read
        with self.disk.transact():
            self.disk.set("v:" + key, record.to_bytes(), expire=ttl, tag=_ENTRY)
            for tag in record.tags:
                keys = self._tag_keys(tag)
                if key not in keys:
                    if len(keys) >= 1000:  # drop keys whose entries are gone
                        keys = [k for k in keys if ("v:" + k) in self.disk]
                    keys.append(key)
                    self.disk.set("t:" + tag, orjson.dumps(keys), tag=_ENTRY)

    def _tag_keys(self, tag: str) -> list[str]:
        raw = self.disk.get("t:" + tag)
        return [str(k) for k in orjson.loads(raw)] if raw else []

    def delete(self, keys: Iterable[str]) -> int:
        return sum(1 for k in keys if self.disk.delete("v:" + k))

    def invalidate_tag(self, tag: str) -> KeySet:
        removed: KeySet = set()
        with self.disk.transact():
            keys = self._tag_keys(tag)
            self.disk.delete("t:" + tag)
            for k in keys:
                raw = self.disk.get("v:" + k)
                if raw is not None and tag in Record.from_bytes(raw).tags:
                    self.disk.delete("v:" + k)
                    removed.add(k)
        return removed

    def clear(self) -> int:
        n = self.count(self._clock())
        self.disk.evict(_ENTRY)
        return n

    def count(self, now: float) -> int:
        self.disk.expire()
        n = 0
        for k in self.disk.iterkeys():
            if isinstance(k, str) and k.startswith("v:"):
                raw = self.disk.get(k)
                if raw is not None and Record.from_bytes(raw).expires_at > now:
                    n += 1
        return n

    def close(self) -> None:
        self.disk.close()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class DatabaseLevel:
    """L3: the `cache_entries` table (SQLite or PostgreSQL), shared by every process on the database."""

    name = "database"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sets = 0

    def get(self, key: str, now: float) -> Record | None:
        with self.db.session() as s:
            row = s.get(CacheEntry, key)
            if row is None:
                return None
            expires = row.expires_at.timestamp()
            if expires <= now:
                s.delete(row)
                return None
            return Record(bytes(row.value), expires, tuple(row.tags or ()))

    def set(self, key: str, record: Record, now: float) -> None:
        values = {
            "key": key,
            "value": record.value,
            "expires_at": _dt(record.expires_at),
            "tags": list(record.tags),
        }
        if self.db.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            pg_stmt = pg_insert(CacheEntry).values(**values)
            stmt: Any = pg_stmt.on_conflict_do_update(
                index_elements=[CacheEntry.key], set_={k: v for k, v in values.items() if k != "key"}
            )
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            lite_stmt = sqlite_insert(CacheEntry).values(**values)
            stmt = lite_stmt.on_conflict_do_update(
                index_elements=[CacheEntry.key], set_={k: v for k, v in values.items() if k != "key"}
            )
        with self.db.session() as s:
            s.execute(stmt)
            self._sets += 1
            if self._sets % 200 == 0:  # reclaim expired rows now and then
                s.execute(delete(CacheEntry).where(CacheEntry.expires_at <= _dt(now)))

    def delete(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        if not keys:
            return 0
        with self.db.session() as s:
            res: Any = s.execute(delete(CacheEntry).where(CacheEntry.key.in_(keys)))
            return int(res.rowcount or 0)

    def invalidate_tag(self, tag: str) -> KeySet:
        # The tags column is JSON: a LIKE on its text narrows the rows, the exact test is in Python.
        needle = json.dumps(tag)  # as SQLAlchemy's JSON type writes it (ASCII escapes)
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.db.session() as s:
            rows = s.execute(
                select(CacheEntry.key, CacheEntry.tags).where(
                    cast(CacheEntry.tags, Text).like(like, escape="\\")
                )
            ).all()
            found = {key for key, tags in rows if tag in (tags or [])}
            if found:
                s.execute(delete(CacheEntry).where(CacheEntry.key.in_(sorted(found))))
        return found

    def clear(self) -> int:
        with self.db.session() as s:
            res: Any = s.execute(delete(CacheEntry))
            return int(res.rowcount or 0)

    def count(self, now: float) -> int:
        with self.db.session() as s:
            n = s.execute(
                select(func.count()).select_from(CacheEntry).where(CacheEntry.expires_at > _dt(now))
            ).scalar_one()
        return int(n)

    def close(self) -> None:
        return None
