"""The cache front: read-through over levels with promotion, tags, events, hit-ratio stats.

`get` asks each level in order (L1 first); a hit at a lower level is copied into every level above
it with the remaining TTL and the same tags (promotion). `set` writes through to every level.
Tag invalidation, `delete` and `clear` act on every level and are announced on the event bus as
`cache.invalidated`, so the L1 of other caches (other processes, in scaled mode) drops the same
entries. The cache also listens for `state.imported`: a new version of a state invalidates the tag
`state:<source>`, i.e. every parsed form of that state.

A level that fails on `get`/`set` (database or Redis down) is logged and skipped: the cache then
misses rather than breaking the caller. `invalidate_tag`, `delete` and `clear` raise BackendError
instead, since silently keeping stale entries would be wrong.

Values must be JSON-serialisable by orjson (dataclasses become dicts); `get` returns the JSON form.
Keys longer than 200 characters are stored under their SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

import orjson

from driftmgr.errors import BackendError
from driftmgr.platform.cache.levels import Clock, Level, Record
from driftmgr.platform.db.models import new_id
from driftmgr.platform.events.base import Event, EventBus, Subscription

log = logging.getLogger(__name__)

MAX_KEY = 200
COUNTER_FLUSH_S = 10.0


class CounterStore(Protocol):
    """Totals shared by the processes of one deployment (diskcache or a Redis hash)."""

    def add(self, deltas: dict[str, int]) -> None: ...

    def read(self) -> dict[str, int]: ...


class DiskCounters:
    def __init__(self, disk: Any) -> None:
        self.disk = disk

    def add(self, deltas: dict[str, int]) -> None:
        for name, n in deltas.items():
            self.disk.incr("s:" + name, n, default=0)

    def read(self) -> dict[str, int]:
        out = {}
        for k in self.disk.iterkeys():
            if isinstance(k, str) and k.startswith("s:"):
                out[k[2:]] = int(self.disk.get(k, default=0))
        return out


class RedisCounters:
    def __init__(self, client: Any, key: str) -> None:
        self.client = client
        self.key = key

    def add(self, deltas: dict[str, int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name, n in deltas.items():
            pipe.hincrby(self.key, name, n)
        pipe.execute()

    def read(self) -> dict[str, int]:
        raw = self.client.hgetall(self.key)
        return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}


def _ratio(hits: int, misses: int) -> float:
    return round(hits / (hits + misses), 6) if hits + misses else 0.0


class TieredCache:
    def __init__(
        self,
        levels: list[Level],
        *,
        events: EventBus | None = None,
        counters: CounterStore | None = None,
        clock: Clock = time.time,
        backend: str = "embedded",
        level_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        if not levels:
            raise ValueError("a cache needs at least one level")
        self.levels = levels
        self.backend = backend
        self.clock = clock
        self.id = new_id()
        self._events = events
        self._counters = counters
        self._errors: tuple[type[BaseException], ...] = (OSError, *level_errors)
        self._get_errors: tuple[type[BaseException], ...] = (
            *self._errors,
            ValueError,
            KeyError,
        )  # down, or a corrupt record: a miss
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.sets = 0
        self.level_hits = {lv.name: 0 for lv in levels}
        self._pending: dict[str, int] = {}
        self._last_flush = time.monotonic()
        self._subs: list[Subscription] = []
        self._closed = False
        if events is not None:
            self._subs.append(events.subscribe("state.imported", self._on_state_imported))
            self._subs.append(events.subscribe("cache.invalidated", self._on_invalidated))

    # --- keys and values -------------------------------------------------------------------------
    @staticmethod
    def storage_key(key: str) -> str:
        if not key:
            raise ValueError("a cache key must not be empty")
        if len(key) <= MAX_KEY:
            return key
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    # --- the Cache protocol ----------------------------------------------------------------------
    def get(self, key: str) -> Any | None:
        k = self.storage_key(key)
        now = self.clock()
        for i, level in enumerate(self.levels):
            try:
                rec = level.get(k, now)
            except self._get_errors as exc:  # down, or a corrupt record: a miss
                log.warning("cache level %s failed on get: %s", level.name, _brief(exc))
                continue
            if rec is None:
                continue
            for upper in self.levels[:i]:
                try:
                    upper.set(k, rec, now)
                except self._errors as exc:
                    log.warning("cache level %s failed on promotion: %s", upper.name, _brief(exc))
            self._count("hits", level.name)
            return orjson.loads(rec.value)
        self._count("misses", None)
        return None

    def set(self, key: str, value: Any, ttl: float, *, tags: list[str] | None = None) -> None:
        """Store `value` for `ttl` seconds at every level; ttl ≤ 0 means "do not cache" (drops the key)."""
        k = self.storage_key(key)
        if ttl <= 0:
            self.delete(key)
            return
        try:
            raw = orjson.dumps(value)
        except TypeError as exc:
            raise TypeError(f"cache values must be JSON-serialisable: {exc}") from None
        now = self.clock()
        rec = Record(raw, now + ttl, tuple(dict.fromkeys(tags or ())))
        for level in self.levels:
            try:
                level.set(k, rec, now)
            except self._errors as exc:
                log.warning("cache level %s failed on set: %s", level.name, _brief(exc))
        with self._lock:
            self.sets += 1

    def get_or_set(
        self, key: str, compute: Callable[[], Any], ttl: float, *, tags: list[str] | None = None
    ) -> Any:
        """The cached value of `key`, else `compute()` stored for `ttl` (returned as its JSON form)."""
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        self.set(key, value, ttl, tags=tags)
        return orjson.loads(orjson.dumps(value))

    def delete(self, key: str) -> None:
        k = self.storage_key(key)
        with self._strict("delete"):
            for level in self.levels:
                level.delete([k])
        self._announce({"keys": [k]})

    def invalidate_tag(self, tag: str) -> int:
        """Drop every entry tagged `tag` at every level (and, by event, in other caches' L1)."""
        n = self._invalidate_tag(tag)
        self._announce({"tag": tag, "removed": n})
        return n

    def clear(self) -> int:
        """Drop every entry at every level; the number of distinct entries the levels held."""
        with self._strict("clear"):
            n = max([level.clear() for level in self.levels] or [0])
        self._announce({"all": True, "removed": n})
        return n

    def stats(self) -> dict[str, Any]:
        """This cache's counts since it started, entries per level, and the shared totals.

        {"backend", "hits", "misses", "hit_ratio", "sets",
         "levels": {name: {"hits", "entries"}}, "total": {"hits", "misses", "hit_ratio", "levels"}}
        """
        now = self.clock()
        self.flush_counters()
        with self._lock:
            out: dict[str, Any] = {
                "backend": self.backend,
                "hits": self.hits,
                "misses": self.misses,
                "hit_ratio": _ratio(self.hits, self.misses),
                "sets": self.sets,
                "levels": {name: {"hits": n} for name, n in self.level_hits.items()},
            }
        for level in self.levels:
            try:
                out["levels"][level.name]["entries"] = level.count(now)
            except self._errors as exc:
                out["levels"][level.name]["entries"] = None
                out["levels"][level.name]["error"] = _brief(exc)
        if self._counters is not None:
            try:
                totals = self._counters.read()
            except self._errors as exc:
                log.warning("cache counters unreadable: %s", _brief(exc))
                totals = {}
            th, tm = totals.get("hits", 0), totals.get("misses", 0)
            out["total"] = {
                "hits": th,
                "misses": tm,
                "hit_ratio": _ratio(th, tm),
                "levels": {lv.name: {"hits": totals.get(f"hits:{lv.name}", 0)} for lv in self.levels},
            }
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sub in self._subs:
            sub.cancel()
        self.flush_counters()
        for level in self.levels:
            try:
                level.close()
            except self._errors as exc:
                log.warning("cache level %s failed to close: %s", level.name, _brief(exc))

    # --- counters --------------------------------------------------------------------------------
    def _count(self, what: str, level: str | None) -> None:
        with self._lock:
            if what == "hits":
                self.hits += 1
                assert level is not None
                self.level_hits[level] += 1
                self._pending["hits"] = self._pending.get("hits", 0) + 1
                self._pending[f"hits:{level}"] = self._pending.get(f"hits:{level}", 0) + 1
            else:
                self.misses += 1
                self._pending["misses"] = self._pending.get("misses", 0) + 1
            due = time.monotonic() - self._last_flush > COUNTER_FLUSH_S
        if due:
            self.flush_counters()

    def flush_counters(self) -> None:
        """Add this process's counts since the last flush to the shared totals."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
        if not pending or self._counters is None:
            return
        try:
            self._counters.add(pending)
        except self._errors as exc:
            log.warning("cache counters not saved: %s", _brief(exc))

    # --- invalidation ----------------------------------------------------------------------------
    def _invalidate_tag(self, tag: str, *, levels: list[Level] | None = None) -> int:
        levels = self.levels if levels is None else levels
        removed: set[str] = set()
        with self._strict("invalidate"):
            for level in levels:
                removed |= level.invalidate_tag(tag)
            if removed:  # keys a level found through its own index: gone from every level
                for level in levels:
                    level.delete(sorted(removed))
        return len(removed)

    @contextmanager
    def _strict(self, op: str) -> Iterator[None]:
        try:
            yield
        except self._errors as exc:
            raise BackendError(f"cache {op} failed: {_brief(exc)}") from None

    def _announce(self, payload: dict[str, Any]) -> None:
        if self._events is None:
            return
        with suppress(RuntimeError):  # the bus is closed (shutting down): nobody left to tell
            self._events.publish("cache.invalidated", {**payload, "origin": self.id})

    def _on_state_imported(self, event: Event) -> None:
        source = event.source or event.payload.get("source")
        if not source:
            return
        # Every process receives the event: each drops its own L1 and the shared levels (idempotent).
        n = self._invalidate_tag(f"state:{source}")
        log.debug("state %s imported: %d cache entries invalidated", source, n)

    def _on_invalidated(self, event: Event) -> None:
        p = event.payload
        if p.get("origin") == self.id:
            return
        local = self.levels[:1]  # the shared levels were handled by the announcer
        if p.get("all"):
            local[0].clear()
        elif isinstance(p.get("tag"), str):
            self._invalidate_tag(p["tag"], levels=local)
        elif isinstance(p.get("keys"), list):
            local[0].delete([str(k) for k in p["keys"]])


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
