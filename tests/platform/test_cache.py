"""The embedded cache: L1 memory → L2 disk → L3 database, on SQLite and PostgreSQL.

Time is an injected clock, so TTLs are tested exactly, without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from driftmgr.errors import BackendError
from driftmgr.platform.cache import TieredCache, build_cache
from driftmgr.platform.cache.levels import DatabaseLevel, DiskLevel, MemoryLevel
from driftmgr.platform.db.engine import Database
from driftmgr.platform.events import MemoryEventBus
from tests.fixtures.db import settings_for
from tests.platform.test_events import wait_for


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bus(database: Database) -> Iterator[MemoryEventBus]:
    b = MemoryEventBus(database)
    yield b
    b.close()


@pytest.fixture
def cache(database: Database, bus: MemoryEventBus, clock: Clock, tmp_path: Path) -> Iterator[TieredCache]:
    c = build_cache(settings_for(database, tmp_path), database, bus, clock=clock)
    yield c
    c.close()


def levels(c: TieredCache) -> tuple[MemoryLevel, DiskLevel, DatabaseLevel]:
    l1, l2, l3 = c.levels
    assert isinstance(l1, MemoryLevel) and isinstance(l2, DiskLevel) and isinstance(l3, DatabaseLevel)
    return l1, l2, l3


def held_by(c: TieredCache, key: str, now: float) -> list[str]:
    return [lv.name for lv in c.levels if lv.get(key, now) is not None]


def test_the_embedded_cache_has_three_levels_with_disk_in_the_data_dir(
    cache: TieredCache, tmp_path: Path
) -> None:
    _l1, l2, _l3 = levels(cache)
    assert l2.directory == tmp_path / "data" / "cache"
    assert cache.backend == "embedded"


def test_scripted_reads_give_exact_hits_misses_and_promotions(cache: TieredCache, clock: Clock) -> None:
    l1, l2, _l3 = levels(cache)
    cache.set("a", {"v": 1}, 60)
    assert held_by(cache, "a", clock.now) == ["memory", "disk", "database"]  # write-through
    assert cache.get("a") == {"v": 1}  # L1 hit
    assert cache.get("b") is None  # miss
    l1.clear()
    assert cache.get("a") == {"v": 1}  # L2 hit, promoted to L1
    assert held_by(cache, "a", clock.now) == ["memory", "disk", "database"]
    assert cache.get("a") == {"v": 1}  # L1 hit
    l1.clear()
    l2.clear()
    assert held_by(cache, "a", clock.now) == ["database"]
    assert cache.get("a") == {"v": 1}  # L3 hit, promoted to L2 and L1
    assert held_by(cache, "a", clock.now) == ["memory", "disk", "database"]
    assert cache.get("a") == {"v": 1}  # L1 hit
    assert cache.get("c") is None  # miss

    s = cache.stats()
    assert (s["hits"], s["misses"], s["hit_ratio"], s["sets"]) == (5, 2, round(5 / 7, 6), 1)
    assert s["levels"] == {
        "memory": {"hits": 3, "entries": 1},
        "disk": {"hits": 1, "entries": 1},
        "database": {"hits": 1, "entries": 1},
    }
    assert s["total"]["hits"] == 5 and s["total"]["misses"] == 2


def test_ttl_expires_at_every_level(cache: TieredCache, clock: Clock) -> None:
    cache.set("k", [1, 2, 3], 10)
    clock.now += 9.9
    assert cache.get("k") == [1, 2, 3]
    clock.now += 0.2
    assert held_by(cache, "k", clock.now) == []  # each level checks the expiry itself
    assert cache.get("k") is None
    assert cache.stats()["levels"]["database"]["entries"] == 0


def test_each_level_honours_the_ttl_on_its_own(cache: TieredCache, clock: Clock) -> None:
    start = clock.now
    cache.set("k", "v", 10)
    for level in cache.levels:
        assert level.get("k", start + 9.99) is not None, level.name
        assert level.get("k", start + 10.0) is None, level.name


def test_promotion_keeps_the_remaining_ttl_not_a_fresh_one(cache: TieredCache, clock: Clock) -> None:
    l1, l2, _ = levels(cache)
    cache.set("k", "v", 10)
    clock.now += 8
    l1.clear()
    l2.clear()
    assert cache.get("k") == "v"  # from L3
    rec = l1.get("k", clock.now)
    assert rec is not None and rec.expires_at == pytest.approx(clock.now + 2, abs=1e-3)
    clock.now += 2.5
    assert cache.get("k") is None


def test_l1_holds_an_entry_at_most_l1_max_ttl_then_reads_fall_to_l2(
    database: Database, bus: MemoryEventBus, clock: Clock, tmp_path: Path
) -> None:
    c = build_cache(settings_for(database, tmp_path), database, bus, clock=clock, l1_max_ttl=5)
    try:
        c.set("k", "v", 100)
        clock.now += 6
        assert held_by(c, "k", clock.now) == ["disk", "database"]
        assert c.get("k") == "v"
        assert c.stats()["levels"]["disk"]["hits"] == 1
    finally:
        c.close()


def test_invalidate_tag_removes_tagged_entries_at_every_level(cache: TieredCache, clock: Clock) -> None:
    odd = 'state:s3://b/a_b%c"d\\ü.tfstate'  # LIKE wildcards, quotes, backslash, non-ASCII
    cache.set("a", 1, 60, tags=["state:one"])
    cache.set("b", 2, 60, tags=["state:one"])
    cache.set("c", 3, 60, tags=["state:two"])
    cache.set("d", 4, 60, tags=["state:two", "state:one"])
    cache.set("e", 5, 60, tags=[odd])
    cache.set("f", 6, 60, tags=["state:s3://b/aXb%c"])  # would match a LIKE without escaping
    assert cache.invalidate_tag("state:one") == 3
    for key in "abd":
        assert held_by(cache, key, clock.now) == [], key
    assert held_by(cache, "c", clock.now) == ["memory", "disk", "database"]
    assert cache.invalidate_tag(odd) == 1
    assert held_by(cache, "e", clock.now) == []
    assert cache.get("f") == 6
    assert cache.invalidate_tag("state:none") == 0


def test_invalidation_of_an_entry_held_only_below_l1(cache: TieredCache, clock: Clock) -> None:
    l1, l2, _ = levels(cache)
    cache.set("a", 1, 60, tags=["t"])
    l1.clear()
    l2.clear()
    assert cache.invalidate_tag("t") == 1
    assert cache.get("a") is None


def test_clear_empties_every_level_and_keeps_the_totals(cache: TieredCache, clock: Clock) -> None:
    for i in range(5):
        cache.set(f"k{i}", i, 60, tags=[f"t{i}"])
    assert cache.get("k1") == 1
    assert cache.clear() == 5
    for i in range(5):
        assert held_by(cache, f"k{i}", clock.now) == []
    s = cache.stats()
    assert all(s["levels"][n]["entries"] == 0 for n in ("memory", "disk", "database"))
    assert s["total"]["hits"] == 1


def test_delete_removes_a_key_everywhere(cache: TieredCache, clock: Clock) -> None:
    cache.set("a", 1, 60)
    cache.delete("a")
    assert held_by(cache, "a", clock.now) == []


def test_a_zero_ttl_means_not_cached_and_values_must_be_json(cache: TieredCache, clock: Clock) -> None:
    cache.set("a", 1, 60)
    cache.set("a", 2, 0)
    assert cache.get("a") is None
    with pytest.raises(TypeError, match="JSON-serialisable"):
        cache.set("b", object(), 60)
    assert cache.get("b") is None


def test_long_keys_are_stored_under_their_hash(cache: TieredCache, clock: Clock) -> None:
    key = "state:instances:" + "s3://bucket/" + "x" * 500
    cache.set(key, {"ok": True}, 60)
    assert cache.get(key) == {"ok": True}
    assert held_by(cache, TieredCache.storage_key(key), clock.now) == ["memory", "disk", "database"]


def test_a_new_state_version_invalidates_its_parsed_form(
    cache: TieredCache, bus: MemoryEventBus, clock: Clock
) -> None:
    cache.set("parsed:prod", ["old"], 60, tags=["state:s3://b/prod.tfstate"])
    cache.set("parsed:dev", ["dev"], 60, tags=["state:s3://b/dev.tfstate"])
    bus.publish("state.imported", {"serial": 8}, source="s3://b/prod.tfstate")
    assert wait_for(lambda: held_by(cache, "parsed:prod", clock.now) == [])
    assert cache.get("parsed:dev") == ["dev"]
    # the source may also come in the payload
    bus.publish("state.imported", {"source": "s3://b/dev.tfstate"})
    assert wait_for(lambda: held_by(cache, "parsed:dev", clock.now) == [])


def test_invalidation_reaches_the_l1_of_another_cache(
    database: Database, bus: MemoryEventBus, clock: Clock, tmp_path: Path
) -> None:
    settings = settings_for(database, tmp_path)
    one = build_cache(settings, database, bus, clock=clock)
    two = build_cache(settings, database, bus, clock=clock)
    try:
        for op in ("tag", "key", "all"):
            one.set("a", op, 60, tags=["t"])
            assert two.get("a") == op
            assert two.levels[0].get("a", clock.now) is not None  # in two's own L1
            if op == "tag":
                one.invalidate_tag("t")
            elif op == "key":
                one.delete("a")
            else:
                one.clear()
            assert wait_for(lambda: two.levels[0].get("a", clock.now) is None), op
            assert two.get("a") is None
        announced = bus.query("cache.invalidated")
        assert [sorted(k for k in e.payload if k != "origin") for e in announced] == [
            ["removed", "tag"],
            ["keys"],
            ["all", "removed"],
        ]
    finally:
        one.close()
        two.close()


def test_totals_are_shared_by_caches_of_the_same_data_dir(
    database: Database, clock: Clock, tmp_path: Path
) -> None:
    settings = settings_for(database, tmp_path)
    first = build_cache(settings, database, None, clock=clock)
    first.set("a", 1, 60)
    first.get("a")
    first.get("a")
    first.get("missing")
    first.close()  # flushes its counts
    second = build_cache(settings, database, None, clock=clock)
    try:
        assert second.get("a") == 1  # from L2: a new process has an empty L1
        s = second.stats()
        assert (s["hits"], s["misses"]) == (1, 0)
        assert s["total"] == {
            "hits": 3,
            "misses": 1,
            "hit_ratio": 0.75,
            "levels": {"memory": {"hits": 2}, "disk": {"hits": 1}, "database": {"hits": 0}},
        }
    finally:
        second.close()


def test_a_failing_database_level_degrades_reads_but_refuses_invalidation(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    c = TieredCache([MemoryLevel(clock), DatabaseLevel(down)], clock=clock, level_errors=(SQLAlchemyError,))
    try:
        c.set("a", 1, 60)  # L3 fails: logged, L1 still works
        assert c.get("a") == 1
        c.levels[0].clear()
        assert c.get("a") is None  # L3 unreachable: a miss, not an exception
        assert "failed on get" in caplog.text
        with pytest.raises(BackendError, match="cache invalidate failed"):
            c.invalidate_tag("t")
        with pytest.raises(BackendError, match="cache clear failed"):
            c.clear()
    finally:
        c.close()
        down.dispose()
