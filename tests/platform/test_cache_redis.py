"""The scaled-out cache on the real Redis: L1 memory → Redis, invalidation across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from driftmgr.platform.cache import TieredCache, build_cache
from driftmgr.platform.cache.levels import MemoryLevel
from driftmgr.platform.cache.redis_level import RedisLevel
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events.redis_bus import RedisEventBus
from tests.fixtures.db import settings_for
from tests.platform.test_events import wait_for


class Process:
    """What one scaled-out process has: its Redis bus and its cache."""

    def __init__(self, db: Database, redis_url: str, tmp_path: Path) -> None:
        self.bus = RedisEventBus(db, redis_url)
        self.cache = build_cache(settings_for(db, tmp_path, redis_url=redis_url), db, self.bus)

    def l1_has(self, key: str) -> bool:
        return self.cache.levels[0].get(key, time.time()) is not None

    def close(self) -> None:
        self.cache.close()
        self.bus.close()


@pytest.fixture
def procs(sqlite_db: Database, redis_url: str, tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    a, b = Process(sqlite_db, redis_url, tmp_path), Process(sqlite_db, redis_url, tmp_path)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def test_the_scaled_cache_is_memory_then_redis(procs: tuple[Process, Process]) -> None:
    a, _ = procs
    assert [type(lv) for lv in a.cache.levels] == [MemoryLevel, RedisLevel]
    assert a.cache.backend == "redis"


def test_entries_live_in_redis_with_a_prefix_a_ttl_and_tag_sets(
    procs: tuple[Process, Process], client: redis.Redis
) -> None:
    a, _ = procs
    a.cache.set("parsed:prod", {"n": 1}, 30, tags=["state:s3://b/prod"])
    assert 29_000 < int(client.pttl("driftmgr:cache:v:parsed:prod")) <= 30_000  # type: ignore[arg-type]
    assert client.smembers("driftmgr:cache:t:state:s3://b/prod") == {b"parsed:prod"}
    assert 29_000 < int(client.pttl("driftmgr:cache:t:state:s3://b/prod")) <= 30_000  # type: ignore[arg-type]
    a.cache.set("parsed:prod2", 2, 60, tags=["state:s3://b/prod"])
    assert int(client.pttl("driftmgr:cache:t:state:s3://b/prod")) > 59_000  # type: ignore[arg-type]


def test_redis_expires_entries_by_their_ttl(procs: tuple[Process, Process], client: redis.Redis) -> None:
    a, b = procs
    a.cache.set("short", "v", 0.3)
    assert b.cache.get("short") == "v"
    time.sleep(0.4)
    assert client.get("driftmgr:cache:v:short") is None
    assert a.cache.get("short") is None and b.cache.get("short") is None


def test_reads_are_promoted_from_redis_to_l1_with_exact_counts(procs: tuple[Process, Process]) -> None:
    a, b = procs
    a.cache.set("k", [1, 2], 60)
    assert not b.l1_has("k")
    assert b.cache.get("k") == [1, 2]  # Redis hit
    assert b.l1_has("k")
    assert b.cache.get("k") == [1, 2]  # L1 hit
    assert b.cache.get("nope") is None
    s = b.cache.stats()
    assert (s["hits"], s["misses"], s["hit_ratio"]) == (2, 1, round(2 / 3, 6))
    assert s["levels"] == {"memory": {"hits": 1, "entries": 1}, "redis": {"hits": 1, "entries": 1}}
    a.cache.flush_counters()
    assert s["total"]["hits"] == 2  # shared totals in a Redis hash


def test_invalidation_in_one_process_reaches_the_l1_of_the_other(procs: tuple[Process, Process]) -> None:
    a, b = procs
    for op in ("tag", "key", "all"):
        a.cache.set("x", op, 60, tags=["state:one"])
        assert b.cache.get("x") == op and b.l1_has("x")
        if op == "tag":
            assert a.cache.invalidate_tag("state:one") == 1
        elif op == "key":
            a.cache.delete("x")
        else:
            a.cache.clear()
        assert wait_for(lambda: not b.l1_has("x")), op
        assert b.cache.get("x") is None


def test_state_imported_in_one_process_invalidates_every_process(
    procs: tuple[Process, Process], client: redis.Redis
) -> None:
    a, b = procs
    b.cache.set("parsed:prod", ["v1"], 60, tags=["state:s3://b/prod.tfstate"])
    assert a.cache.get("parsed:prod") == ["v1"] and a.l1_has("parsed:prod")
    a.bus.publish("state.imported", source="s3://b/prod.tfstate")
    assert wait_for(lambda: not a.l1_has("parsed:prod") and not b.l1_has("parsed:prod"))
    assert wait_for(lambda: client.get("driftmgr:cache:v:parsed:prod") is None)
    assert b.cache.get("parsed:prod") is None


def test_clear_removes_entries_and_tag_sets_but_not_the_totals(
    procs: tuple[Process, Process], client: redis.Redis
) -> None:
    a, _ = procs
    for i in range(3):
        a.cache.set(f"k{i}", i, 60, tags=["t"])
    a.cache.get("k0")
    a.cache.flush_counters()
    assert a.cache.clear() == 3
    assert client.keys("driftmgr:cache:v:*") == [] and client.keys("driftmgr:cache:t:*") == []
    assert a.cache.stats()["total"]["hits"] == 1


def test_build_cache_with_unreachable_redis_is_a_backend_error(sqlite_db: Database, tmp_path: Path) -> None:
    from driftmgr.errors import BackendError

    settings = settings_for(sqlite_db, tmp_path, redis_url="redis://:hunter2@127.0.0.1:1/0")
    with pytest.raises(BackendError) as info:
        build_cache(settings, sqlite_db, None)
    assert "hunter2" not in str(info.value)


def test_a_tiered_cache_needs_a_level() -> None:
    with pytest.raises(ValueError):
        TieredCache([])


CHILD = textwrap.dedent(
    """
    import sys, time
    from driftmgr.config import Settings
    from driftmgr.platform.cache import build_cache
    from driftmgr.platform.db.engine import Database
    from driftmgr.platform.events.redis_bus import RedisEventBus

    db_url, redis_url, data_dir = sys.argv[1:4]
    db = Database(db_url)
    bus = RedisEventBus(db, redis_url)
    cache = build_cache(Settings(data_dir=data_dir, database_url=db_url, redis_url=redis_url), db, bus)
    in_l1 = lambda: cache.levels[0].get("parsed:prod", time.time()) is not None
    value = cache.get("parsed:prod")
    print("ready", value, in_l1(), flush=True)
    deadline = time.monotonic() + 15
    while in_l1() and time.monotonic() < deadline:
        time.sleep(0.01)
    print("dropped" if not in_l1() else "still-cached", cache.get("parsed:prod"), flush=True)
    cache.close()
    bus.close()
    """
)


def test_invalidation_reaches_the_memory_level_of_a_real_other_process(
    sqlite_db: Database, redis_url: str, tmp_path: Path
) -> None:
    me = Process(sqlite_db, redis_url, tmp_path)
    try:
        me.cache.set("parsed:prod", "v1", 600, tags=["state:prod"])
        script = tmp_path / "child.py"
        script.write_text(CHILD)
        child = subprocess.Popen(
            [sys.executable, str(script), sqlite_db.url, redis_url, str(tmp_path / "child-data")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().split() == ["ready", "v1", "True"]  # held in the child's L1
            assert me.cache.invalidate_tag("state:prod") == 1
            out, err = child.communicate(timeout=30)
            assert child.returncode == 0, err
            assert out.split() == ["dropped", "None"]
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    finally:
        me.close()
