"""The Redis event bus on the real Redis: delivery across bus instances and across real processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from driftmgr.errors import BackendError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events import build_bus
from driftmgr.platform.events.redis_bus import RedisEventBus, redact_redis_url
from tests.fixtures.db import settings_for
from tests.platform.test_events import Recorder, wait_for


@pytest.fixture
def two_buses(database: Database, redis_url: str) -> Iterator[tuple[RedisEventBus, RedisEventBus]]:
    a, b = RedisEventBus(database, redis_url), RedisEventBus(database, redis_url)
    yield a, b
    a.close()
    b.close()


def test_every_bus_on_the_redis_receives_each_event_exactly_once(
    two_buses: tuple[RedisEventBus, RedisEventBus],
) -> None:
    a, b = two_buses
    on_a, on_b, disc_b = Recorder(), Recorder(), Recorder()
    a.subscribe("*", on_a)
    b.subscribe("*", on_b)
    b.subscribe("discovery.*", disc_b)
    e1 = a.publish("job.queued", {"kind": "drift"}, job_id="j1")
    e2 = a.publish("discovery.started", source="s3://b/k", severity="low")
    e3 = b.publish("drift.drift_found", {"address": "aws_s3_bucket.logs"})
    assert wait_for(lambda: len(on_a.events) == 3 and len(on_b.events) == 3)
    time.sleep(0.2)  # no echo of a bus's own events, no duplicates
    assert sorted(e.id for e in on_a.events) == sorted([e1.id, e2.id, e3.id])
    assert sorted(e.id for e in on_b.events) == sorted([e1.id, e2.id, e3.id])
    assert disc_b.types == ["discovery.started"]
    remote = next(e for e in on_b.events if e.id == e2.id)
    assert (remote.type, remote.source, remote.severity, remote.created_at) == (
        e2.type,
        e2.source,
        e2.severity,
        e2.created_at,
    )
    # stored once, by the publisher
    assert sorted(e.id for e in a.query(limit=50)) == sorted([e1.id, e2.id, e3.id])
    assert [e.job_id for e in b.query("job.*")] == ["j1"]


def test_a_remote_subscriber_can_query_the_event_it_received(
    two_buses: tuple[RedisEventBus, RedisEventBus],
) -> None:
    a, b = two_buses
    seen: list[int] = []
    # The Redis fan-out happens after the write: the receiver finds the event stored.
    b.subscribe("state.imported", lambda e: seen.append(len(b.query(source=e.source))))
    a.publish("state.imported", source="gs://bucket/prod.tfstate")
    assert wait_for(lambda: seen == [1])


def test_subscribe_once_across_processes_fires_once(two_buses: tuple[RedisEventBus, RedisEventBus]) -> None:
    a, b = two_buses
    once = Recorder()
    b.subscribe_once("job.progress", once)
    for i in range(5):
        a.publish("job.progress", {"i": i})
    assert wait_for(lambda: len(once.events) == 1)
    time.sleep(0.2)
    assert [e.payload for e in once.events] == [{"i": 0}]


CHILD = textwrap.dedent(
    """
    import sys, time
    from driftmgr.platform.db.engine import Database
    from driftmgr.platform.events.redis_bus import RedisEventBus

    db = Database(sys.argv[1])
    bus = RedisEventBus(db, sys.argv[2])
    done = []

    def echo(event):
        bus.publish("drift.detection_completed", {"echo_of": event.id, "n": event.payload["n"]})
        if event.payload["n"] == 2:
            done.append(True)

    bus.subscribe("drift.detection_started", echo)
    print("ready", flush=True)
    deadline = time.monotonic() + 20
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
    bus.close()
    print("bye" if done else "timeout", flush=True)
    """
)


def test_events_cross_real_processes_both_ways(database: Database, redis_url: str, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), database.url, redis_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    bus = RedisEventBus(database, redis_url)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        echoes = Recorder()
        bus.subscribe("drift.detection_completed", echoes)
        sent = [bus.publish("drift.detection_started", {"n": n}) for n in range(3)]
        bus.publish("drift.drift_found", {"n": 99})  # not matched by the child's pattern
        assert wait_for(lambda: len(echoes.events) == 3, timeout=15)
        assert [e.payload["echo_of"] for e in echoes.events] == [e.id for e in sent]
        out, err = child.communicate(timeout=20)
        assert child.returncode == 0, err
        assert out.strip() == "bye"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        bus.close()
    # the child's events were persisted by the child, once each
    assert [e.payload["n"] for e in bus.query("drift.detection_completed")] == [0, 1, 2]


def test_buses_on_other_redis_databases_do_not_hear_each_other(sqlite_db: Database, redis_url: str) -> None:
    other_url = redis_url.rsplit("/", 1)[0] + "/15"
    a, b = RedisEventBus(sqlite_db, redis_url), RedisEventBus(sqlite_db, other_url)
    try:
        got = Recorder()
        b.subscribe("*", got)
        a.publish("job.queued")
        time.sleep(0.3)
        assert got.events == []
    finally:
        a.close()
        b.close()


def test_build_bus_with_redis_url_is_the_redis_bus(
    sqlite_db: Database, redis_url: str, tmp_path: Path
) -> None:
    bus = build_bus(settings_for(sqlite_db, tmp_path, redis_url=redis_url), sqlite_db)
    try:
        assert isinstance(bus, RedisEventBus)
    finally:
        bus.close()


def test_unreachable_redis_is_one_clear_error_without_the_password(sqlite_db: Database) -> None:
    with pytest.raises(BackendError, match="cannot reach Redis") as info:
        RedisEventBus(sqlite_db, "redis://admin:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


def test_redact_redis_url() -> None:
    assert redact_redis_url("redis://:pw@h:6379/2") == "redis://:REDACTED@h:6379/2"
    assert redact_redis_url("rediss://u:pw@h/0") == "rediss://u:REDACTED@h/0"
    assert redact_redis_url("redis://h:6379") == "redis://h:6379"


def test_malformed_messages_on_the_channel_are_ignored(sqlite_db: Database, redis_url: str) -> None:
    import redis

    bus = RedisEventBus(sqlite_db, redis_url)
    try:
        got = Recorder()
        bus.subscribe("*", got)
        client = redis.Redis.from_url(redis_url)
        client.publish(bus.prefix + "job.queued", b"not json")
        client.publish(
            bus.prefix + "job.queued", orjson.dumps({"origin": "x", "event": {"type": "job.queued"}})
        )
        client.close()
        other = RedisEventBus(sqlite_db, redis_url)
        other.publish("job.started")
        other.close()
        assert wait_for(lambda: got.types == ["job.started"])
    finally:
        bus.close()
