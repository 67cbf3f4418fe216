"""`drift detect` stores every scan; `drift history` and `drift trends` read them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from driftmgr.platform.db.engine import Database
from driftmgr.services.history import HistoryService
from tests.cli.helpers import AWS, doc, run, write
from tests.platform.notify_support import HTTPReceiver, http_receiver
from tests.services.test_history import report


@pytest.fixture
def cli_db(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", database.url)
    return database


def test_history_and_trends_read_stored_scans(cli_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(days=2)
    svc = HistoryService(cli_db)
    first = svc.record(report(t0, {"vpc-1": "drifted"}, score=90), sources=["s3://b/prod.tfstate"])
    second = svc.record(
        report(t0 + timedelta(hours=2), {"vpc-2": "missing"}, score=80), sources=["s3://b/prod.tfstate"]
    )
    third = svc.record(report(t0 + timedelta(hours=5), {}), sources=["s3://b/prod.tfstate"])
    svc.record(report(t0 + timedelta(hours=1), {"vpc-7": "unmanaged"}), sources=["s3://b/dev.tfstate"])

    rc, out, err = run(capsys, "drift", "history", "--source", "s3://b/prod.tfstate", "--format", "json")
    assert rc == 0, err
    scans = json.loads(out)["scans"]
    assert [s["id"] for s in scans] == [third, second, first]
    assert [(s["drifted"], s["missing"], s["score"]) for s in scans] == [(0, 0, 100), (0, 1, 80), (1, 0, 90)]

    rc, out, err = run(capsys, "drift", "history", "--limit", "2", "--format", "json")
    assert [s["id"] for s in json.loads(out)["scans"]] == [third, second]
    since = (t0 + timedelta(hours=1, minutes=30)).isoformat()
    rc, out, err = run(capsys, "drift", "history", "--since", since, "--format", "json")
    assert [s["id"] for s in json.loads(out)["scans"]] == [third, second]

    rc, out, err = run(capsys, "drift", "history")
    assert rc == 0, err
    assert first in out and "4 scan(s)" in out

    rc, out, err = run(
        capsys, "drift", "trends", "--source", "s3://b/prod.tfstate", "--days", "7", "--format", "json"
    )
    assert rc == 0, err
    (trend,) = json.loads(out)["sources"]
    assert [(p["drifted"], p["missing"]) for p in trend["points"]] == [(1, 0), (0, 1), (0, 0)]
    assert (trend["detected"], trend["resolved"], trend["open"]) == (2, 2, 0)
    assert trend["mttd_s"] == 2 * 3600.0  # vpc-2: the scan before saw it in sync 2 h earlier
    assert trend["mttr_s"] == (2 * 3600.0 + 3 * 3600.0) / 2
    assert {e["id"]: e["resolved_at"] for e in trend["episodes"]} == {
        "vpc-1": (t0 + timedelta(hours=2)).isoformat(),
        "vpc-2": (t0 + timedelta(hours=5)).isoformat(),
    }

    rc, out, err = run(capsys, "drift", "trends", "--days", "7")
    assert rc == 0, err
    assert "mean time to detect 2h 0m, mean time to resolve 2h 30m" in out
    assert "s3://b/dev.tfstate" in out

    rc, out, err = run(capsys, "drift", "trends", "--days", "1", "--source", "s3://b/dev.tfstate")
    assert (rc, out) == (0, "no scans in this window\n")


def test_history_arguments_are_checked(cli_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = run(capsys, "drift", "history", "--since", "last week")
    assert rc == 1 and "not a date or time" in err
    rc, _out, err = run(capsys, "drift", "trends", "--bucket", "hour")
    assert rc == 1 and "--bucket must be scan or day" in err


# --- drift detect stores its scan ------------------------------------------------------------------

GONE = "vpc-0123456789abcdef0"


@pytest.fixture
def tiny_state(aws_env: Any, tmp_path: Path) -> tuple[Path, str]:
    """A state holding one VPC that does not exist (missing) while another one runs (unmanaged)."""
    live = aws_env.client("ec2").create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    state = doc(
        resources=[
            {
                "mode": "managed",
                "type": "aws_vpc",
                "name": "gone",
                "provider": AWS,
                "instances": [
                    {
                        "schema_version": 1,
                        "attributes": {
                            "id": GONE,
                            "cidr_block": "10.5.0.0/16",
                            "arn": f"arn:aws:ec2:us-east-1:123456789012:vpc/{GONE}",
                        },
                    }
                ],
            }
        ]
    )
    return write(tmp_path / "prod.tfstate", state), live


def detect(capsys: pytest.CaptureFixture[str], state: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "drift",
        "detect",
        "--state",
        str(state),
        "--type",
        "aws_vpc",
        "--region",
        "us-east-1",
        "--format",
        "json",
        *extra,
    )


def test_detect_stores_every_scan_unless_told_not_to(
    tiny_state: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, live = tiny_state
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DRIFTMGR_DATABASE_URL", raising=False)
    rc, out, err = detect(capsys, path)
    assert rc == 2, err
    rep = json.loads(out)
    assert {(r["status"], r["id"]) for r in rep["resources"]} >= {("missing", GONE), ("unmanaged", live)}
    assert (tmp_path / "data" / "driftmgr.db").is_file()  # SQLite in DRIFTMGR_DATA_DIR by default

    rc, out, err = run(capsys, "drift", "history", "--source", str(path), "--format", "json")
    assert rc == 0, err
    (scan,) = json.loads(out)["scans"]
    s = rep["summary"]
    assert (scan["drifted"], scan["missing"], scan["unmanaged"], scan["score"]) == (
        s["drifted"],
        s["missing"],
        s["unmanaged"],
        s["score"],
    )
    assert scan["sources"] == [str(path)] and scan["regions"] == ["us-east-1"]
    assert scan["finished_at"] == datetime.fromisoformat(rep["generated_at"]).isoformat()

    rc, out, err = detect(capsys, path, "--no-store")
    assert rc == 2, err
    rc, out, _ = run(capsys, "drift", "history", "--format", "json")
    assert len(json.loads(out)["scans"]) == 1

    db = Database(f"sqlite:///{tmp_path / 'data' / 'driftmgr.db'}")
    try:
        (ep,) = [e for e in HistoryService(db).episodes(scan["source_key"]) if e.resource_id == GONE]
        assert (ep.status, ep.open) == ("missing", True)
    finally:
        db.dispose()


def test_an_unreachable_database_fails_before_the_scan(
    tiny_state: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = tiny_state
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", "postgresql://user:hunter2@127.0.0.1:1/nowhere")
    rc, out, err = detect(capsys, path)
    assert (rc, out) == (1, "")
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "hunter2" not in err and "127.0.0.1" in err
    rc, out, err = detect(capsys, path, "--no-store")  # no database needed
    assert rc == 2, err


def test_a_store_failure_keeps_the_written_report_and_exits_1(
    tiny_state: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = tiny_state
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DRIFTMGR_DATABASE_URL", raising=False)

    def broken(*_a: Any, **_k: Any) -> str:
        raise OperationalError("INSERT INTO scans", {}, Exception("disk I/O error"))

    monkeypatch.setattr("driftmgr.services.history.save_scan", broken)
    out_file = tmp_path / "report.json"
    rc, _out, err = detect(capsys, path, "--output", str(out_file))
    assert rc == 1
    assert json.loads(out_file.read_text())["summary"]["missing"] == 1  # the report is there
    assert err.count("error: ") == 1 and "not stored in the history" in err and "disk I/O error" in err
    assert "--no-store" in err


def test_a_cli_scan_publishes_its_events_and_notifies_the_matching_channel(
    tiny_state: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    http_receiver: HTTPReceiver,
) -> None:
    path, _live = tiny_state
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DRIFTMGR_DATABASE_URL", raising=False)
    assert run(capsys, "notify", "channel", "add", "ops", http_receiver.url())[0] == 0
    args = (
        "notify",
        "rule",
        "add",
        "--channel",
        "ops",
        "--event",
        "drift.drift_found",
        "--min-severity",
        "low",
    )
    assert run(capsys, *args)[0] == 0
    other = (
        "notify",
        "rule",
        "add",
        "--channel",
        "ops",
        "--event",
        "drift.*",
        "--source",
        "s3://elsewhere/x",
    )
    assert run(capsys, *other)[0] == 0  # a rule for another source selects nothing here
    rc, _out, err = detect(capsys, path)
    assert rc == 2, err
    (body,) = http_receiver.bodies()  # sent before the command returned: one drift.drift_found
    assert "Drift found" in body["title"] and str(path) in body["title"]
    assert "aws_vpc.gone (missing, high)" in body["message"]
    from driftmgr.config import Settings
    from driftmgr.platform.db import open_database
    from driftmgr.platform.events import build_bus

    db = open_database(Settings(data_dir=tmp_path / "data"))
    bus = build_bus(Settings(data_dir=tmp_path / "data"), db)
    try:
        types = [e.type for e in bus.query("drift.*")]
    finally:
        bus.close()
        db.dispose()
    assert sorted(types) == ["drift.detection_completed", "drift.detection_started", "drift.drift_found"]


__all__ = ["http_receiver"]  # fixture, imported to register it
