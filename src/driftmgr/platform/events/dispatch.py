"""Delivery of events to the subscribers of one process.

Every subscription owns a queue and a delivery thread, so the publisher only appends to queues and
a slow or raising handler delays nobody but itself. A handler that raises is logged and keeps its
subscription. A subscriber that falls more than `max_pending` events behind loses the overflow (a
logged warning), so memory stays bounded while the publisher never waits.

Which subscriptions match a type is computed once per type and cached until the set of
subscriptions changes. The publisher's thread only appends (event, matching subscriptions) to the
inbox of one fan-out thread, which appends the event to each subscription's queue: a publish to 100
subscribers costs one queue append and one thread wake-up on the publisher's side.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from typing import Final

from driftmgr.platform.events.base import Event, Handler, check_pattern, matches

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 10_000
_STOP: Final = object()
_ids = itertools.count(1)


class LocalSubscription:
    """A pattern, a handler, a queue and the thread that drains it."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        pattern: str,
        handler: Handler,
        *,
        once: bool,
        max_pending: int,
    ) -> None:
        self.pattern = pattern
        self.handler = handler
        self.once = once
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self._dispatcher = dispatcher
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._max_pending = max_pending
        self._claimed = False
        self._cancelled = False
        self._lock = threading.Lock()
        name = getattr(handler, "__qualname__", type(handler).__name__)
        self._thread = threading.Thread(
            target=self._run, name=f"driftmgr-sub-{next(_ids)}-{name}"[:60], daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"<Subscription {self.pattern!r} {getattr(self.handler, '__qualname__', self.handler)!r}>"

    @property
    def active(self) -> bool:
        return not self._cancelled

    def cancel(self) -> None:
        """No event published after this call is delivered; those already queued still are."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
        self._dispatcher._remove(self)
        self._queue.put(_STOP)

    def offer(self, event: Event) -> None:
        """Queue an event for delivery (called by the publisher's thread; never blocks)."""
        if self.once:
            with self._lock:
                if self._claimed or self._cancelled:
                    return
                self._claimed = True
            self._queue.put(event)
            self.cancel()
            return
        if self._cancelled:
            return
        if self._queue.qsize() >= self._max_pending:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning(
                    "subscriber %r is %d events behind: dropping events for it", self, self._max_pending
                )
            return
        self._queue.put(event)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Event)
            try:
                self.handler(item)
                self.delivered += 1
            except Exception:  # a failing subscriber must not affect anyone else
                self.failed += 1
                log.exception("event subscriber %r failed on %s (%s)", self, item.type, item.id)


class Dispatcher:
    """The subscriptions of one bus and the fan-out of events to them."""

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._subs: list[LocalSubscription] = []
        self._lock = threading.Lock()
        self._by_type: dict[str, tuple[LocalSubscription, ...]] = {}
        # The publisher hands (event, targets) to one fan-out thread: one thread wake-up per publish
        # instead of one per subscriber, which is what a publish would otherwise cost.
        self._inbox: queue.SimpleQueue[tuple[Event, tuple[LocalSubscription, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._fanout = threading.Thread(target=self._run_fanout, name="driftmgr-event-fanout", daemon=True)
        self._fanout.start()

    def subscribe(self, pattern: str, handler: Handler, *, once: bool = False) -> LocalSubscription:
        check_pattern(pattern)
        if not callable(handler):
            raise TypeError("an event handler must be callable")
        sub = LocalSubscription(self, pattern, handler, once=once, max_pending=self._max_pending)
        with self._lock:
            self._subs.append(sub)
            self._by_type = {}
        return sub

    def _remove(self, sub: LocalSubscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
                self._by_type = {}

    def dispatch(self, event: Event) -> int:
        """Queue the event for every subscription matching now; the number of them. Never blocks."""
        targets = self._by_type.get(event.type)
        if targets is None:
            with self._lock:
                targets = tuple(s for s in self._subs if matches(s.pattern, event.type))
                self._by_type[event.type] = targets
        if targets:
            self._inbox.put((event, targets))
        return len(targets)

    def _run_fanout(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:  # close()
                return
            event, targets = item
            for sub in targets:
                sub.offer(event)

    @property
    def subscriptions(self) -> list[LocalSubscription]:
        with self._lock:
            return list(self._subs)

    def close(self, timeout: float = 10.0) -> None:
        """Cancel every subscription and wait (up to `timeout` overall) for their queues to drain."""
        self._inbox.put(None)  # what was published before close() reaches the subscriptions first
        self._fanout.join(timeout)
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.cancel()
        deadline = time.monotonic() + timeout
        stuck = [s for s in subs if not s.join(max(0.0, deadline - time.monotonic()))]
        if stuck:
            log.warning("%d event subscribers still busy after %.0f s: %s", len(stuck), timeout, stuck)
