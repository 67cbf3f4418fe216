"""`driftmgr schedule add|list|remove` round trips on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.platform.scheduler import Scheduler, get_schedule
from tests.cli.helpers import run


@pytest.fixture
def cli_db(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", database.url)
    monkeypatch.chdir(tmp_path)
    return database


def test_add_list_remove_round_trip(
    cli_db: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, err = run(
        capsys,
        "schedule",
        "add",
        "prod",
        "--cron",
        "*/15 * * * *",
        "--state",
        "prod.tfstate",
        "--state",
        "s3://b/shared.tfstate",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    )
    assert (rc, err) == (0, "")
    assert out.startswith("schedule prod added; next run ")
    rc, out, err = run(
        capsys, "schedule", "add", "nightly", "--cron", "@daily", "--state", "s3://b/x.tfstate"
    )
    assert rc == 0, err

    rc, out, err = run(capsys, "schedule", "list", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert [s["name"] for s in doc["schedules"]] == ["nightly", "prod"]
    prod = doc["schedules"][1]
    assert prod["cron"] == "*/15 * * * *"
    assert prod["sources"] == [
        str(tmp_path / "prod.tfstate"),
        "s3://b/shared.tfstate",
    ]  # local paths absolute
    assert prod["options"] == {"provider": "aws", "regions": ["us-east-1", "eu-west-1"]}
    next_run = datetime.fromisoformat(prod["next_run_at"])
    assert next_run.minute % 15 == 0 and next_run.second == 0

    rc, out, err = run(capsys, "schedule", "list")
    assert rc == 0, err
    assert "prod" in out and "*/15 * * * *" in out and next_run.strftime("%Y-%m-%d %H:%M UTC") in out
    assert "2 schedule(s)" in out

    rc, out, err = run(capsys, "schedule", "remove", "prod")
    assert (rc, out.strip()) == (0, "schedule prod removed")
    rc, out, err = run(capsys, "schedule", "list", "--format", "json")
    assert [s["name"] for s in json.loads(out)["schedules"]] == ["nightly"]


def test_a_schedule_added_by_the_cli_runs_its_sources(
    cli_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _out, err = run(capsys, "schedule", "add", "prod", "--cron", "@hourly", "--state", "s3://b/p.tfstate")
    assert rc == 0, err
    calls: list[dict[str, object]] = []
    slot = get_schedule(cli_db, "prod").next_run_at
    assert slot is not None
    Scheduler(cli_db, lambda kind, payload: calls.append(payload) or "j1").tick(slot)
    assert calls == [{"sources": ["s3://b/p.tfstate"], "provider": "aws"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cron", "*/15 * * *", "--state", "a"), "5 fields"),
        (("--cron", "70 * * * *", "--state", "a"), "not a valid cron expression"),
        (("--cron", "@fortnightly", "--state", "a"), "unknown cron alias"),
    ],
)
def test_bad_cron_is_one_error_line_and_stores_nothing(
    cli_db: Database, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    rc, out, err = run(capsys, "schedule", "add", "prod", *args)
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    rc, out, _ = run(capsys, "schedule", "list", "--format", "json")
    assert json.loads(out) == {"schedules": []}


def test_duplicate_and_unknown_names_are_errors(cli_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "schedule", "add", "prod", "--cron", "@daily", "--state", "a")[0] == 0
    rc, _out, err = run(capsys, "schedule", "add", "prod", "--cron", "@hourly", "--state", "b")
    assert rc == 1 and "already exists" in err
    assert get_schedule(cli_db, "prod").cron == "@daily"  # unchanged
    rc, _out, err = run(capsys, "schedule", "remove", "nope")
    assert (rc, err.strip()) == (1, "error: no schedule named 'nope'")
    rc, _out, err = run(capsys, "schedule", "add", "bad name", "--cron", "@daily", "--state", "a")
    assert rc == 1 and "invalid schedule name" in err
