"""The in-memory event bus: matching, delivery guarantees, persistence and queries (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events import Event, MemoryEventBus, build_bus, matches
from driftmgr.platform.events.store import _like_prefilter
from tests.fixtures.db import settings_for


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    @property
    def types(self) -> list[str]:
        with self.lock:
            return [e.type for e in self.events]


@pytest.fixture
def bus(database: Database) -> Iterator[MemoryEventBus]:
    b = MemoryEventBus(database)
    yield b
    b.close()


def test_matches_uses_fnmatch_wildcards_case_sensitively() -> None:
    assert matches("discovery.*", "discovery.started")
    assert not matches("discovery.*", "drift.drift_found")
    assert matches("*", "job.queued")
    assert matches("job.?ailed", "job.failed")
    assert matches("*.completed", "discovery.completed")
    assert not matches("Discovery.*", "discovery.started")


def test_like_prefilter_escapes_sql_wildcards() -> None:
    assert _like_prefilter("*") is None
    assert _like_prefilter("drift.drift_found") == "drift.drift\\_found"
    assert _like_prefilter("job.?ailed") == "job._ailed"
    assert _like_prefilter("job.[fs]*") == "job.%"


def test_subscribers_receive_exactly_the_events_their_pattern_matches(bus: MemoryEventBus) -> None:
    disc, every, failed, exact = Recorder(), Recorder(), Recorder(), Recorder()
    bus.subscribe("discovery.*", disc)
    bus.subscribe("*", every)
    bus.subscribe("job.?ailed", failed)
    bus.subscribe("drift.drift_found", exact)
    published = ["discovery.started", "job.queued", "drift.drift_found", "job.failed", "discovery.completed"]
    for t in published:
        bus.publish(t, {"n": t})
    assert wait_for(lambda: len(every.events) == 5)
    time.sleep(0.05)  # nothing more may arrive
    assert every.types == published  # per subscriber, in publication order
    assert disc.types == ["discovery.started", "discovery.completed"]
    assert failed.types == ["job.failed"]
    assert exact.types == ["drift.drift_found"]
    assert exact.events[0].payload == {"n": "drift.drift_found"}


def test_subscribe_once_fires_once_then_cancels_itself(bus: MemoryEventBus) -> None:
    once = Recorder()
    sub = bus.subscribe_once("job.*", once)
    bus.publish("discovery.started")
    for i in range(3):
        bus.publish("job.progress", {"i": i})
    assert wait_for(lambda: len(once.events) == 1)
    time.sleep(0.1)
    assert [e.payload for e in once.events] == [{"i": 0}]
    assert sub not in bus.subscriptions
    bus.publish("job.progress", {"i": 9})
    time.sleep(0.05)
    assert len(once.events) == 1


def test_cancelled_subscription_gets_nothing_published_after(bus: MemoryEventBus) -> None:
    rec = Recorder()
    sub = bus.subscribe("*", rec)
    bus.publish("job.queued")
    assert wait_for(lambda: len(rec.events) == 1)
    sub.cancel()
    bus.publish("job.started")
    time.sleep(0.05)
    assert rec.types == ["job.queued"]


def test_query_sees_every_event_published_before_it(bus: MemoryEventBus) -> None:
    for i in range(250):
        bus.publish("job.progress", {"i": i}, job_id="j1")
    got = bus.query("job.progress", limit=1000)  # no sleep: query flushes the pending writes
    assert [e.payload["i"] for e in got] == list(range(250))


def test_query_filters_by_pattern_since_job_and_source(database: Database) -> None:
    bus = MemoryEventBus(database)
    try:
        first = bus.publish("discovery.started", {"p": "aws"}, job_id="job-a")
        bus.publish("state.imported", source="s3://b/prod.tfstate", severity="low")
        bus.publish("drift.drift_found", {"address": "aws_instance.web"}, source="s3://b/prod.tfstate")
        time.sleep(0.01)
        middle = bus.publish("discovery.completed", {"count": 3}, job_id="job-a")
        bus.publish("job.succeeded", job_id="job-b")

        assert [e.type for e in bus.query("discovery.*")] == ["discovery.started", "discovery.completed"]
        assert [e.type for e in bus.query(job_id="job-a")] == ["discovery.started", "discovery.completed"]
        assert [e.type for e in bus.query(source="s3://b/prod.tfstate")] == [
            "state.imported",
            "drift.drift_found",
        ]
        since = bus.query(since=middle.created_at)
        assert [e.type for e in since] == ["discovery.completed", "job.succeeded"]
        assert bus.query(since=middle.created_at + timedelta(days=1)) == []
        assert [e.type for e in bus.query(limit=2)] == ["discovery.completed", "job.succeeded"]  # latest 2
        assert [e.type for e in bus.query(since=first.created_at, limit=2)] == [  # first 2 from then
            "discovery.started",
            "state.imported",
        ]
        stored = bus.query("state.imported")[0]
        assert (stored.source, stored.severity) == ("s3://b/prod.tfstate", "low")
        assert stored.created_at.tzinfo is not None
        found = bus.query("drift.drift_found")[0]
        assert found.payload == {"address": "aws_instance.web"}
    finally:
        bus.close()
    # persisted: a new bus (a restarted process) reads the same history
    again = MemoryEventBus(database)
    try:
        assert len(again.query(limit=100)) == 5
        assert again.query("discovery.started")[0].id == first.id
    finally:
        again.close()


def test_a_slow_subscriber_does_not_delay_the_publisher_or_the_others(bus: MemoryEventBus) -> None:
    arrivals: list[tuple[str, float]] = []
    lock = threading.Lock()

    slow_calls: list[float] = []

    def slow(_e: Event) -> None:
        slow_calls.append(time.monotonic())
        if len(slow_calls) == 1:  # blocks its own queue for 2 s: the others must not notice
            time.sleep(2.0)

    def fast(name: str) -> Callable[[Event], None]:
        def handler(e: Event) -> None:
            with lock:
                arrivals.append((name, time.monotonic() - e.payload["t"]))

        return handler

    bus.subscribe("drift.*", slow)
    for name in ("a", "b", "c"):
        bus.subscribe("drift.*", fast(name))
    publish_times = []
    for _ in range(5):
        t0 = time.monotonic()
        bus.publish("drift.drift_found", {"t": t0})
        publish_times.append(time.monotonic() - t0)
        time.sleep(0.02)
    # bounds far below the slow subscriber's 2 s, loose enough for a loaded 2-core CI machine
    assert wait_for(lambda: len(arrivals) == 15, timeout=1.5)
    assert max(latency for _, latency in arrivals) < 1.0
    assert max(publish_times) < 0.5
    assert len(slow_calls) == 1  # still stuck in its first event when the others had all five
    assert wait_for(lambda: len(slow_calls) == 5, timeout=3.0)  # and it catches up afterwards


def test_a_raising_subscriber_is_logged_isolated_and_stays_subscribed(
    bus: MemoryEventBus, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def broken(e: Event) -> None:
        calls.append(e.type)
        raise RuntimeError("handler bug")

    ok = Recorder()
    sub = bus.subscribe("*", broken)
    bus.subscribe("*", ok)
    with caplog.at_level(logging.ERROR, logger="driftmgr.platform.events.dispatch"):
        bus.publish("job.started")
        bus.publish("job.succeeded")

        def logged() -> int:  # the record is written just after the handler raised: wait for it too
            return sum("handler bug" in (r.exc_text or "") for r in caplog.records)

        assert wait_for(lambda: len(calls) == 2 and len(ok.events) == 2 and logged() == 2)
    assert ok.types == ["job.started", "job.succeeded"]
    assert sub in bus.subscriptions
    assert logged() == 2


def test_close_delivers_what_was_queued_then_refuses_publishing(database: Database) -> None:
    bus = MemoryEventBus(database)
    rec = Recorder()

    def slowish(e: Event) -> None:
        time.sleep(0.02)
        rec(e)

    bus.subscribe("*", slowish)
    for i in range(10):
        bus.publish("job.progress", {"i": i})
    bus.close()
    assert [e.payload["i"] for e in rec.events] == list(range(10))
    assert not any(
        t.name.startswith("driftmgr-sub-") and t.is_alive()
        for t in threading.enumerate()
        if "slowish" in t.name
    )
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish("job.progress")
    assert len(bus.query(limit=50)) == 10  # all written before the writer stopped
    bus.close()  # idempotent


BAD_EVENTS: dict[str, tuple[str, dict[str, object] | None, str | None, str]] = {
    "wildcard type": ("discovery.*", None, None, "not an event type"),
    "undotted type": ("Discovery", None, None, "not an event type"),
    "payload not JSON": ("job.queued", {"when": object()}, None, "not JSON-serialisable"),
    "unknown severity": ("job.queued", None, "urgent", "not a severity"),
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
def test_bad_events_are_refused_with_one_clear_error(bus: MemoryEventBus, case: str) -> None:
    type_, payload, severity, message = BAD_EVENTS[case]
    with pytest.raises(UsageError, match=message):
        bus.publish(type_, payload, severity=severity)
    assert bus.query() == []


def test_payload_is_copied_so_subscribers_never_share_the_publishers_dict(bus: MemoryEventBus) -> None:
    rec = Recorder()
    bus.subscribe("*", rec)
    payload = {"items": [1, 2]}
    event = bus.publish("state.analyzed", payload)
    payload["items"].append(3)
    assert wait_for(lambda: len(rec.events) == 1)
    assert rec.events[0].payload == {"items": [1, 2]}
    assert event.payload == {"items": [1, 2]}


def test_a_handler_may_publish_from_inside_delivery(bus: MemoryEventBus) -> None:
    rec = Recorder()
    bus.subscribe("discovery.completed", lambda e: bus.publish("drift.detection_started", job_id=e.job_id))
    bus.subscribe("drift.*", rec)
    bus.publish("discovery.completed", job_id="j9")
    assert wait_for(lambda: len(rec.events) == 1)
    assert rec.events[0].job_id == "j9"


def test_build_bus_without_redis_is_the_memory_bus(sqlite_db: Database, tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    bus = build_bus(settings_for(sqlite_db, tmp_path), sqlite_db)
    try:
        assert isinstance(bus, MemoryEventBus)
        assert bus.backend == "memory"
    finally:
        bus.close()
