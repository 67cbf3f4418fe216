"""The cache contract: get/set with a TTL, tags for invalidation, clear, hit-ratio stats."""

from __future__ import annotations

from typing import Any, Protocol


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: float, *, tags: list[str] | None = None) -> None: ...

    def delete(self, key: str) -> None: ...

    def invalidate_tag(self, tag: str) -> int: ...

    def clear(self) -> int: ...

    def stats(self) -> dict[str, Any]:
        """{"hits", "misses", "hit_ratio", "levels": {...}}."""

    def close(self) -> None: ...
