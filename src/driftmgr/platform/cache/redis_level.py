"""The shared level of the scaled-out cache: Redis (DESIGN §4: L1 memory → Redis).

Keys are `<prefix>v:<key>` with the TTL as Redis PX; a tag is a Redis set `<prefix>t:<tag>` of keys,
whose own expiry is pushed out to the longest TTL of its members (EXPIRE NX then GT, Redis ≥ 7).
Values are the JSON records of `levels.Record` — nothing is pickled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from driftmgr.platform.cache.levels import KeySet, Record

if TYPE_CHECKING:
    import redis


class RedisLevel:
    name = "redis"

    def __init__(self, client: redis.Redis, *, prefix: str = "driftmgr:cache:") -> None:
        self.client = client
        self.prefix = prefix

    def _v(self, key: str) -> str:
        return f"{self.prefix}v:{key}"

    def _t(self, tag: str) -> str:
        return f"{self.prefix}t:{tag}"

    def get(self, key: str, now: float) -> Record | None:
        raw: Any = self.client.get(self._v(key))
        if raw is None:
            return None
        rec = Record.from_bytes(raw)
        return rec if rec.expires_at > now else None

    def set(self, key: str, record: Record, now: float) -> None:
        ttl_ms = max(1, int((record.expires_at - now) * 1000))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._v(key), record.to_bytes(), px=ttl_ms)
        for tag in record.tags:
            pipe.sadd(self._t(tag), key)
            pipe.pexpire(self._t(tag), ttl_ms, nx=True)
            pipe.pexpire(self._t(tag), ttl_ms, gt=True)
        pipe.execute()

    def delete(self, keys: Iterable[str]) -> int:
        names = [self._v(k) for k in keys]
        return int(self.client.delete(*names)) if names else 0

    def invalidate_tag(self, tag: str) -> KeySet:
        pipe = self.client.pipeline(transaction=True)
        pipe.smembers(self._t(tag))
        pipe.delete(self._t(tag))
        members, _ = pipe.execute()
        keys = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        if not keys:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for k in keys:
            pipe.delete(self._v(k))
        removed = pipe.execute()
        return {k for k, n in zip(keys, removed, strict=True) if n}

    def _scan(self, kind: str) -> Iterable[bytes]:
        return self.client.scan_iter(match=f"{self.prefix}{kind}:*", count=500)

    def clear(self) -> int:
        n = 0
        for kind in ("v", "t"):
            batch: list[bytes] = []
            for name in self._scan(kind):
                batch.append(name)
                if len(batch) >= 500:
                    n += self._delete_names(batch, count=kind == "v")
                    batch = []
            if batch:
                n += self._delete_names(batch, count=kind == "v")
        return n

    def _delete_names(self, names: list[bytes], *, count: bool) -> int:
        deleted = int(self.client.delete(*names))
        return deleted if count else 0

    def count(self, now: float) -> int:
        return sum(1 for _ in self._scan("v"))

    def close(self) -> None:
        return None
