"""The Redis event bus of the scaled-out mode (DESIGN §4): every process's subscribers see every event.

The publishing process stores the event once (batched, as the memory bus does), delivers it to
its own subscribers directly, and, once it is stored, publishes it on the Redis channel
`<prefix><type>`. Every bus pattern-subscribes to `<prefix>*` and delivers what other processes
published to its own subscribers (its own messages, recognised by an origin id, are skipped).
So a remote subscriber that receives an event can already query it from the database.

Redis pub/sub ignores database numbers, so the default prefix carries the database number of the
URL: deployments (and test workers) on different Redis databases do not hear each other.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from driftmgr.errors import BackendError, UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import new_id
from driftmgr.platform.events.base import Event
from driftmgr.platform.events.dispatch import DEFAULT_MAX_PENDING
from driftmgr.platform.events.memory import MemoryEventBus

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)


def redact_redis_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        if parts.password is None and "@" not in parts.netloc:
            return url
        user = parts.username or ""
        cred = f"{user}:REDACTED@" if parts.password is not None else f"{user}@"
        return parts._replace(netloc=cred + host).geturl()
    except ValueError:
        return "<unparseable Redis URL>"


def redis_db_number(url: str) -> int:
    try:
        path = urlsplit(url).path.strip("/")
        return int(path) if path else 0
    except ValueError:
        return 0


def connect_redis(url: str) -> redis.Redis:
    """A client for `url`, checked with a PING; BackendError (URL redacted) when unreachable."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_keepalive=True)
    except ValueError as exc:
        raise UsageError(f"not a Redis URL: {exc}", source=redact_redis_url(url)) from None
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise BackendError(f"cannot reach Redis: {_first_line(exc)}", source=redact_redis_url(url)) from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RedisEventBus(MemoryEventBus):
    backend = "redis"

    def __init__(
        self,
        db: Database,
        redis_url: str,
        *,
        channel_prefix: str | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        import redis

        self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.redis_url = redact_redis_url(redis_url)
        self.origin = new_id()
        self.prefix = channel_prefix or f"driftmgr:{redis_db_number(redis_url)}:events:"
        self._client = connect_redis(redis_url)
        self._pubsub = self._client.pubsub()
        try:
            self._pubsub.psubscribe(self.prefix + "*")
            self._await_subscribed()
        except self._redis_errors as exc:
            self._pubsub.close()
            self._client.close()
            raise BackendError(
                f"cannot subscribe to Redis: {_first_line(exc)}", source=self.redis_url
            ) from None
        self._stopping = threading.Event()
        self.received = 0
        super().__init__(db, max_pending=max_pending)
        self._listener = threading.Thread(target=self._listen, name="driftmgr-event-redis", daemon=True)
        self._listener.start()

    def _await_subscribed(self, timeout: float = 5.0) -> None:
        """Return once Redis confirmed the pattern subscription: no event published after is missed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._pubsub.get_message(ignore_subscribe_messages=False, timeout=0.5)
            if msg and msg.get("type") == "psubscribe":
                return
        raise BackendError("Redis did not confirm the event subscription", source=self.redis_url)

    # --- outbound: after the writer thread stored a batch ----------------------------------------
    def _on_written(self, events: list[Event]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for e in events:
            pipe.publish(self.prefix + e.type, orjson.dumps({"origin": self.origin, "event": e.to_dict()}))
        for attempt in (1, 2):
            try:
                pipe.execute()
                return
            except self._redis_errors as exc:
                if attempt == 2:
                    log.error(
                        "could not publish %d events to Redis %s: %s",
                        len(events),
                        self.redis_url,
                        _first_line(exc),
                    )
                else:
                    time.sleep(0.2)

    # --- inbound: events of other processes ------------------------------------------------------
    def _listen(self) -> None:
        delay = 0.2
        while not self._stopping.is_set():
            try:
                msg = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                delay = 0.2
            except self._redis_errors as exc:
                if self._stopping.is_set():
                    return
                log.warning("Redis event subscription lost (%s): reconnecting", _first_line(exc))
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            if msg is None:
                continue
            self._deliver_remote(msg)

    def _deliver_remote(self, msg: dict[str, Any]) -> None:
        try:
            data = orjson.loads(msg["data"])
            if data.get("origin") == self.origin:
                return
            event = Event.from_dict(data["event"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.warning("ignoring a malformed message on Redis channel %r", msg.get("channel"))
            return
        self.received += 1
        self._dispatcher.dispatch(event)

    def _stop_inbound(self) -> None:
        self._stopping.set()
        self._listener.join(5.0)
        with contextlib.suppress(*self._redis_errors):
            self._pubsub.close()

    def _stop_outbound(self) -> None:
        self._client.close()
