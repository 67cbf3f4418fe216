"""The Notifier: event bus → rules → delivery rows → apprise, with retries and a dead-letter record.

Flow. `handle(event)` (subscribed to every event) matches the event against the enabled rules of
enabled channels and records one `notification_deliveries` row per (channel, event) — inserted
with ON CONFLICT DO NOTHING on the unique (channel_id, event_id), so the same event seen twice (a
redelivered event, or every replica of the Redis bus) is delivered once. The dispatcher thread
sends due pending rows through apprise: a row is claimed by a conditional UPDATE (attempts still
as read, status still pending) that also pushes `next_attempt_at` a lease into the future, so two
Notifiers on one database never send the same row at once, and a row claimed by a process that
died is retried once the lease lapses. Success marks it `delivered`; a failure schedules the next
attempt after an exponential backoff with jitter; after the last attempt it becomes `dead` (the
dead-letter record), its redacted reason in `last_error`. Pending rows survive restarts: the next
Notifier picks them up.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationRule,
    new_id,
    utcnow,
)
from driftmgr.platform.events.base import Event, EventBus, Subscription
from driftmgr.platform.notify.message import body_for, notify_type_for, title_for
from driftmgr.platform.notify.redact import inspect_url, install_log_guard
from driftmgr.platform.notify.send import DeliveryError, send
from driftmgr.platform.notify.store import channel_url, rule_matches

log = logging.getLogger("driftmgr.notify")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (1-based) failing waits base_delay·2^(n-1), capped at max_delay, times 1±jitter."""

    max_attempts: int = 5
    base_delay: float = 30.0
    max_delay: float = 3600.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter < 1:
            raise ValueError("invalid retry policy")

    def delay(self, attempt: int) -> float:
        raw = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        factor: float = random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 - jitter, not crypto
        return float(max(0.0, raw * factor))


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    attempts: int
    channel: str
    url: str
    enabled: bool
    event_type: str
    title: str
    body: str


class Notifier:
    """Subscribes to a bus (any `EventBus`), records deliveries and sends them in a background thread."""

    def __init__(
        self,
        db: Database,
        bus: EventBus | None = None,
        *,
        policy: RetryPolicy | None = None,
        send_timeout: float = 30.0,
        poll_interval: float = 5.0,
        lease: float | None = None,
        batch: int = 50,
    ) -> None:
        self.db = db
        self.bus = bus
        self.policy = policy or RetryPolicy()
        self.send_timeout = send_timeout
        self.poll_interval = poll_interval
        self.lease = lease if lease is not None else send_timeout + 30.0
        self.batch = batch
        self._subscription: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        install_log_guard()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, *, dispatch: bool = True) -> Notifier:
        """Subscribe to every event; with `dispatch`, start sending (pending rows of earlier runs too)."""
        if self.bus is not None and self._subscription is None:
            self._subscription = self.bus.subscribe("*", self._on_event)
        if dispatch and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="driftmgr-notifier", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float | None = None) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.send_timeout + 5)
            self._thread = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recording --------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        try:
            self.handle(event)
        except Exception as exc:  # noqa: BLE001 - a subscriber reports, it never raises into the bus
            log.warning(
                "notification rules could not be applied to event %s (%s): %s", event.id, event.type, exc
            )

    def handle(self, event: Event) -> int:
        """Record a pending delivery for each channel whose rules select `event`; how many are new."""
        with self.db.session() as s:
            rules = s.execute(
                select(
                    NotificationRule.channel_id,
                    NotificationRule.events,
                    NotificationRule.min_severity,
                    NotificationRule.sources,
                )
                .join(NotificationChannel, NotificationChannel.id == NotificationRule.channel_id)
                .where(NotificationRule.enabled.is_(True), NotificationChannel.enabled.is_(True))
            ).all()
        channels = sorted(
            {cid for cid, events, sev, srcs in rules if rule_matches(events or [], sev, srcs or [], event)}
        )
        if not channels:
            return 0
        title, body = title_for(event), body_for(event)
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "id": new_id(),
                "channel_id": cid,
                "event_id": event.id,
                "event_type": event.type,
                "title": title,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for cid in channels
        ]
        with self.db.session() as s:
            created = len(s.execute(_insert_ignore(self.db.dialect, rows)).all())
        if created:
            self._wake.set()
        return created

    # --- dispatching ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                sent = self.dispatch_due()
                wait = 0.0 if sent else self._until_next_due()
            except Exception as exc:  # noqa: BLE001 - the database may be down: retry later, loudly
                log.warning("notification dispatch failed: %s", exc)
                wait = self.poll_interval
            if wait > 0:
                self._wake.wait(wait)

    def _until_next_due(self) -> float:
        with self.db.session() as s:
            due = s.scalar(
                select(func.min(NotificationDelivery.next_attempt_at)).where(
                    NotificationDelivery.status == "pending"
                )
            )
        if due is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, (due - utcnow()).total_seconds()))

    def dispatch_due(self, *, now: datetime | None = None) -> int:
        """Claim and send the pending deliveries that are due; how many were attempted."""
        now = now or utcnow()
        with self.db.session() as s:
            due = s.execute(
                select(NotificationDelivery.id, NotificationDelivery.attempts)
                .where(NotificationDelivery.status == "pending", NotificationDelivery.next_attempt_at <= now)
                .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
                .limit(self.batch)
            ).all()
        done = 0
        for delivery_id, attempts in due:
            if self._stop.is_set() and self._thread is not None:
                break
            claimed = self._claim(delivery_id, attempts)
            if claimed is not None:
                self._attempt(claimed)
                done += 1
        return done

    def _claim(self, delivery_id: str, attempts: int) -> _Claimed | None:
        now = utcnow()
        D = NotificationDelivery
        with self.db.session() as s:
            res = s.execute(
                update(D)
                .where(D.id == delivery_id, D.status == "pending", D.attempts == attempts)
                .values(attempts=attempts + 1, next_attempt_at=now + timedelta(seconds=self.lease))
            )
            if int(getattr(res, "rowcount", 0) or 0) != 1:
                return None  # another Notifier took it
            row = s.execute(
                select(
                    D.event_type,
                    D.title,
                    D.body,
                    NotificationChannel.name,
                    NotificationChannel.url,
                    NotificationChannel.enabled,
                )
                .join(NotificationChannel, NotificationChannel.id == D.channel_id)
                .where(D.id == delivery_id)
            ).one_or_none()
        if row is None:
            return None
        event_type, title, body, name, url, enabled = row
        return _Claimed(delivery_id, attempts + 1, name, url, enabled, event_type, title, body)

    def _attempt(self, c: _Claimed) -> None:
        if not c.enabled:
            self._finish(c, error="the channel is disabled", dead=True)
            return
        try:
            error = send(
                c.url, c.title, c.body, notify_type=notify_type_for(c.event_type), timeout=self.send_timeout
            )
        except Exception as exc:  # noqa: BLE001 - reported redacted, like apprise's own failures
            error = inspect_url(c.url).scrub(f"{type(exc).__name__}: {exc}")
        if error is None:
            self._finish(c, error=None, dead=False)
        else:
            self._finish(c, error=error, dead=c.attempts >= self.policy.max_attempts)

    def _finish(self, c: _Claimed, *, error: str | None, dead: bool) -> None:
        now = utcnow()
        D = NotificationDelivery
        values: dict[str, Any]
        display = inspect_url(c.url).display
        if error is None:
            values = {"status": "delivered", "delivered_at": now, "last_error": None, "next_attempt_at": now}
            log.info(
                "notification %s delivered to channel %s (%s) on attempt %d",
                c.id,
                c.channel,
                display,
                c.attempts,
            )
        elif dead:
            values = {"status": "dead", "last_error": error, "next_attempt_at": now}
            log.error(
                "notification %s to channel %s (%s) is dead after %d attempts: %s",
                c.id,
                c.channel,
                display,
                c.attempts,
                error,
            )
        else:
            delay = self.policy.delay(c.attempts)
            values = {"last_error": error, "next_attempt_at": now + timedelta(seconds=delay)}
            log.warning(
                "notification %s to channel %s (%s) failed (attempt %d of %d), retrying in %.1fs: %s",
                c.id,
                c.channel,
                display,
                c.attempts,
                self.policy.max_attempts,
                delay,
                error,
            )
        with self.db.session() as s:
            s.execute(update(D).where(D.id == c.id, D.attempts == c.attempts).values(**values))

    # --- one-off ----------------------------------------------------------------------------

    def pending(self) -> int:
        with self.db.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(NotificationDelivery)
                    .where(NotificationDelivery.status == "pending")
                )
                or 0
            )


def send_test(db: Database, channel: str, *, timeout: float = 30.0) -> None:
    """Send a test message to a channel now; DeliveryError (redacted) when it fails."""
    url = channel_url(db, channel)
    error = send(
        url,
        "DriftMgr test notification",
        f"This is a test message from DriftMgr to the channel '{channel}'. If you can read it, "
        "notifications to this channel work.",
        timeout=timeout,
    )
    if error is not None:
        raise DeliveryError(f"test notification failed: {error}", source=f"channel {channel}")


def _insert_ignore(dialect: str, rows: list[dict[str, Any]]) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return (
            pg_insert(NotificationDelivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel_id", "event_id"])
            .returning(NotificationDelivery.id)
        )
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (
        sqlite_insert(NotificationDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["channel_id", "event_id"])
        .returning(NotificationDelivery.id)
    )
