"""The hot path of authentication: a short-lived cache of signed-in callers, and deferred touches.

Every API request authenticates. Looked up in the database each time, that is three queries and a
transaction per request, and under load it dominates the request's cost. `AuthCache` keeps the
result of a *successful* lookup in this process for a few seconds:

- keyed by the sha256 of the credential (API token or session cookie), never the credential itself;
- failures are never cached: an unknown, expired or revoked credential goes to the database (and
  to the audit log) every time;
- an entry lives at most `AUTH_CACHE_TTL` seconds and never past the credential's own end (token
  expiry; session expiry and idle deadline);
- when an entry ends, one lookup refreshes it while concurrent requests with the same credential
  wait for it (no stampede of identical queries);
- every change of users, roles, tokens or sessions made through this process's AccessService (and
  every sign-out) clears the whole cache at once, so a revocation in this process takes effect on the
  next request; one made by another process (the CLI, another API process) within the TTL.

`BackgroundWrites` runs small bookkeeping writes (a token's `last_used_at`) on one thread of their
own, off the request: a request never waits for SQLite's write lock just to say it was there.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
AUTH_CACHE_TTL = 2.0  # seconds: how late another process's revocation may take effect here
MAX_ENTRIES = 10_000


def credential_key(kind: str, credential: str) -> str:
    return kind + ":" + hashlib.sha256(credential.encode("utf-8")).hexdigest()


class AuthCache(Generic[T]):
    def __init__(
        self,
        ttl: float = AUTH_CACHE_TTL,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by clear(): a lookup that raced a clear() is not stored
        self._stripes = [threading.Lock() for _ in range(64)]

    @property
    def generation(self) -> int:
        return self._generation

    def lookup_lock(self, key: str) -> threading.Lock:
        """Held around a database lookup of `key`: when an entry ends under load, one thread looks the
        credential up again and the others wait for its result instead of all querying at once."""
        return self._stripes[hash(key) % len(self._stripes)]

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(
        self, key: str, value: T, *, not_after: datetime | None = None, generation: int | None = None
    ) -> None:
        """Remember `value` for at most the TTL, and never past `not_after` (an aware datetime)."""
        if self.ttl <= 0:
            return
        now = self._clock()
        deadline = now + self.ttl
        if not_after is not None:
            left = (not_after - datetime.now(UTC)).total_seconds()
            deadline = min(deadline, now + left)
        if deadline <= now:
            return
        with self._lock:
            if generation is not None and generation != self._generation:
                return  # the users/tokens changed while this lookup ran: it may be stale already
            if len(self._entries) >= self.max_entries:
                self._evict(now)
            self._entries[key] = (deadline, value)

    def _evict(self, now: float) -> None:
        expired = [k for k, (deadline, _) in self._entries.items() if deadline <= now]
        for k in expired:
            del self._entries[k]
        if len(self._entries) >= self.max_entries:  # all live: drop the oldest half
            for k in list(self._entries)[: self.max_entries // 2]:
                del self._entries[k]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


class BackgroundWrites:
    """One worker thread for small writes nobody waits for; `drain()` waits for those submitted."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], None]) -> None:
        def run() -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - bookkeeping: never worth a crash, always logged
                log.warning("a background write failed: %s", exc)

        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="driftmgr-touch")
            future = self._pool.submit(run)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 30.0) -> None:
        with self._lock:
            pending = list(self._pending)
        if pending:
            wait(pending, timeout=timeout)
