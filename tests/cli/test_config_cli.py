"""`driftmgr config show|check` and `driftmgr source add|list|remove` on a real database."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cli.helpers import run


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("DRIFTMGR_DATABASE_URL", "DRIFTMGR_REDIS_URL", "DRIFTMGR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_sources_round_trip_through_the_database(capsys: pytest.CaptureFixture[str], data_env: Path) -> None:
    assert run(capsys, "source", "add", "prod", "s3://tf/prod.tfstate")[0] == 0
    assert run(capsys, "source", "add", "dev", str(data_env / "dev.tfstate"))[0] == 0
    rc, out, _ = run(capsys, "source", "list", "--format", "json")
    assert rc == 0
    names = [s["name"] for s in orjson.loads(out)["sources"]]
    assert names == ["dev", "prod"]
    assert (data_env / "driftmgr.db").is_file()
    assert run(capsys, "source", "remove", "dev")[0] == 0
    rc, out, _ = run(capsys, "source", "list", "--format", "json")
    assert [s["name"] for s in orjson.loads(out)["sources"]] == ["prod"]


def test_a_duplicate_name_is_one_clear_error_and_keeps_the_first(
    capsys: pytest.CaptureFixture[str], data_env: Path
) -> None:
    run(capsys, "source", "add", "prod", "s3://tf/prod.tfstate")
    rc, _, err = run(capsys, "source", "add", "prod", "s3://other/x.tfstate")
    assert rc == 1
    assert err.strip() == "error: prod: a state source of this name exists"
    _, out, _ = run(capsys, "source", "list", "--format", "json")
    assert orjson.loads(out)["sources"][0]["url"] == "s3://tf/prod.tfstate"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x/y", "unknown state URL scheme 'ftp://'"),
        ("pg://admin:hunter2@db.example/tf", "the URL carries credentials"),
        ("https://x.example/state?token=hunter2", "the URL carries credentials"),
    ],
)
def test_bad_source_urls_are_refused_without_echoing_secrets(
    capsys: pytest.CaptureFixture[str], data_env: Path, url: str, message: str
) -> None:
    rc, out, err = run(capsys, "source", "add", "x", url)
    assert rc == 1
    assert message in err
    assert "hunter2" not in err + out
    _, out, _ = run(capsys, "source", "list", "--format", "json")
    assert orjson.loads(out)["sources"] == []


def test_config_show_redacts_the_database_password(
    capsys: pytest.CaptureFixture[str], data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", "postgresql://app:hunter2@db.example:5432/drift")
    monkeypatch.setenv("DRIFTMGR_REDIS_URL", "redis://:hunter2@cache.example:6379/0")
    rc, out, _ = run(capsys, "config", "show", "--format", "json")
    assert rc == 0
    data = orjson.loads(out)
    assert "hunter2" not in out
    assert data["database_url"] == "postgresql+psycopg://app:REDACTED@db.example:5432/drift"
    assert data["mode"] == "scaled"


def test_config_file_is_read_and_the_environment_wins(
    capsys: pytest.CaptureFixture[str], data_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "driftmgr.yaml"
    cfg.write_text("jobs_max_workers: 7\ncache_ttl: 12\n")
    monkeypatch.setenv("DRIFTMGR_CACHE_TTL", "30")
    rc, out, _ = run(capsys, "--config", str(cfg), "config", "show", "--format", "json")
    assert rc == 0
    data = orjson.loads(out)
    assert (data["jobs_max_workers"], data["cache_ttl"]) == (7, 30.0)


def test_config_check_reports_the_sqlite_database_and_a_dead_redis(
    capsys: pytest.CaptureFixture[str], data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, out, _ = run(capsys, "config", "check", "--format", "json")
    assert rc == 0
    assert orjson.loads(out)["database"]["status"] == "ok"
    monkeypatch.setenv("DRIFTMGR_REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    rc, out, _ = run(capsys, "config", "check", "--format", "json")
    assert rc == 1
    assert orjson.loads(out)["redis"]["status"] == "down"
    assert "hunter2" not in out


def test_config_check_on_postgresql(
    capsys: pytest.CaptureFixture[str], data_env: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", pg_url)
    rc, out, _ = run(capsys, "config", "check", "--format", "json")
    assert rc == 0, out
    assert orjson.loads(out)["database"]["detail"].startswith("postgresql, schema 000")


def test_an_unreachable_database_is_one_clear_error(
    capsys: pytest.CaptureFixture[str], data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:1/x")
    rc, out, err = run(capsys, "source", "list")
    assert rc == 1
    assert err.startswith("error: postgresql+psycopg://u:***@127.0.0.1:1/x: cannot reach the database")
    assert "hunter2" not in err + out
