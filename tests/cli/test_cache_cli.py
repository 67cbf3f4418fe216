"""`driftmgr cache clear|stats` on the cache of the current settings (embedded, and Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from driftmgr.cli.app import app, main
from driftmgr.config import Settings
from driftmgr.platform.cache import TieredCache, build_cache
from driftmgr.platform.db import open_database
from driftmgr.platform.events import build_bus
from tests.platform.test_events import wait_for


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for var in ("DRIFTMGR_DATABASE_URL", "DRIFTMGR_REDIS_URL", "DRIFTMGR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return {"DRIFTMGR_DATA_DIR": str(tmp_path / "data")}


def populate(settings: Settings) -> None:
    """Another process's work: four entries, two tagged state:a; 3 hits and 1 miss."""
    db = open_database(settings)
    cache = build_cache(settings, db, None)
    try:
        cache.set("a1", 1, 600, tags=["state:a"])
        cache.set("a2", 2, 600, tags=["state:a"])
        cache.set("b1", 3, 600, tags=["state:b"])
        cache.set("c1", 4, 600)
        for key in ("a1", "a1", "b1", "zz"):
            cache.get(key)
    finally:
        cache.close()
        db.dispose()


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_stats_reports_entries_per_level_and_the_hit_ratio_of_other_processes(
    data_env: dict[str, str], tmp_path: Path
) -> None:
    populate(Settings(data_dir=tmp_path / "data"))
    rc, out = invoke(data_env, "cache", "stats", "--format", "json")
    assert rc == 0
    assert orjson.loads(out) == {
        "backend": "embedded",
        "hits": 3,
        "misses": 1,
        "hit_ratio": 0.75,
        "levels": {
            "memory": {"entries": 0, "hits": 3},  # this CLI process's memory is empty
            "disk": {"entries": 4, "hits": 0},
            "database": {"entries": 4, "hits": 0},
        },
    }
    rc, out = invoke(data_env, "cache", "stats")
    assert rc == 0
    assert "disk" in out and "database" in out
    assert "hits 3, misses 1, hit ratio 75.0%" in out


def test_clear_by_tag_then_everything(data_env: dict[str, str], tmp_path: Path) -> None:
    populate(Settings(data_dir=tmp_path / "data"))
    rc, out = invoke(data_env, "cache", "clear", "--tag", "state:a")
    assert (rc, out.strip()) == (0, "cleared 2 cache entries tagged state:a")
    rc, out = invoke(data_env, "cache", "stats", "--format", "json")
    assert orjson.loads(out)["levels"]["database"]["entries"] == 2
    rc, out = invoke(data_env, "cache", "clear")
    assert (rc, out.strip()) == (0, "cleared 2 cache entries")
    stats = orjson.loads(invoke(data_env, "cache", "stats", "--format", "json")[1])
    assert [lv["entries"] for lv in stats["levels"].values()] == [0, 0, 0]
    assert stats["hits"] == 3  # clearing keeps the counts


def test_clear_is_recorded_as_cache_invalidated_events(data_env: dict[str, str], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    populate(settings)
    invoke(data_env, "cache", "clear", "--tag", "state:b")
    db = open_database(settings)
    bus = build_bus(settings, db)
    try:
        [event] = bus.query("cache.invalidated")
        assert (event.payload["tag"], event.payload["removed"]) == ("state:b", 1)
    finally:
        bus.close()
        db.dispose()


@pytest.fixture
def running(redis_url: str, tmp_path: Path) -> Iterator[TieredCache]:
    """A long-running scaled-out process (say an API replica) with something in its memory level."""
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    db = open_database(settings)
    bus = build_bus(settings, db)
    cache = build_cache(settings, db, bus)
    yield cache
    cache.close()
    bus.close()
    db.dispose()


def test_clear_in_scaled_mode_reaches_a_running_processs_memory(
    data_env: dict[str, str], redis_url: str, running: TieredCache
) -> None:
    running.set("parsed:prod", ["x"], 600, tags=["state:prod"])
    assert running.levels[0].get("parsed:prod", 0) is not None
    env = {**data_env, "DRIFTMGR_REDIS_URL": redis_url}
    rc, out = invoke(env, "cache", "clear", "--tag", "state:prod")
    assert (rc, out.strip()) == (0, "cleared 1 cache entry tagged state:prod")
    assert wait_for(lambda: running.levels[0].get("parsed:prod", 0) is None)
    assert running.get("parsed:prod") is None
    stats = orjson.loads(invoke(env, "cache", "stats", "--format", "json")[1])
    assert stats["backend"] == "redis" and stats["levels"]["redis"]["entries"] == 0


def test_unreachable_redis_is_one_line_without_the_password(
    data_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in data_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DRIFTMGR_REDIS_URL", "redis://:pa55word@127.0.0.1:1/0")
    rc = main(["cache", "clear"])
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "cannot reach Redis" in err
    assert "pa55word" not in err


def test_an_empty_tag_is_a_usage_error(
    data_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in data_env.items():
        monkeypatch.setenv(k, v)
    assert main(["cache", "clear", "--tag", " "]) == 1
    assert "--tag must not be empty" in capsys.readouterr().err
