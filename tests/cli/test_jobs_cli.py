"""`driftmgr jobs list|show|cancel|wait` over the configured database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftmgr.cli.app import main
from driftmgr.platform.db.engine import Database
from driftmgr.platform.jobs import LocalQueue
from tests.fixtures.db import settings_for
from tests.platform.job_plugins import RecordingBus


@pytest.fixture
def queue(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalQueue:
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", sqlite_db.url)
    monkeypatch.delenv("DRIFTMGR_REDIS_URL", raising=False)
    monkeypatch.delenv("DRIFTMGR_JOB_PLUGINS", raising=False)
    return LocalQueue(settings_for(sqlite_db, tmp_path), sqlite_db, RecordingBus())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_cancel(queue: LocalQueue, capsys: Any) -> None:
    a = queue.submit("drift", {"sources": ["a.tfstate"]})
    b = queue.submit("discovery", {"regions": ["us-east-1"]})
    code, out, _ = run(capsys, "jobs", "list", "--format", "json")
    assert code == 0
    listed = json.loads(out)["jobs"]
    assert {j["id"] for j in listed} == {a, b}
    assert {j["status"] for j in listed} == {"queued"}
    code, out, _ = run(capsys, "jobs", "list", "--kind", "discovery")
    assert code == 0 and b in out and a not in out

    code, out, _ = run(capsys, "jobs", "cancel", a)
    assert (code, out.strip()) == (0, f"{a}: cancelled")
    code, out, _ = run(capsys, "jobs", "show", a)
    assert code == 0 and json.loads(out)["status"] == "cancelled"
    code, out, _ = run(capsys, "jobs", "cancel", a)
    assert out.strip() == f"{a}: already cancelled; nothing to cancel"


def test_wait_exit_codes(queue: LocalQueue, capsys: Any) -> None:
    queue.register("drift", lambda ctx: {"ok": True})
    ok = queue.submit("drift")
    queue.start()
    try:
        code, out, _ = run(capsys, "jobs", "wait", ok, "--timeout", "20")
        assert code == 0 and json.loads(out)["result"] == {"ok": True}
    finally:
        queue.close()
    cancelled = queue.submit("drift")
    queue.cancel(cancelled)
    code, _out, err = run(capsys, "jobs", "wait", cancelled)
    assert code == 1 and f"error: job {cancelled} cancelled" in err
    stuck = queue.submit("drift")
    code, _out, err = run(capsys, "jobs", "wait", stuck, "--timeout", "0.2")
    assert code == 1 and err.strip() == f"error: job {stuck}: still queued after 0.2s (0%)"


def test_bad_input_is_one_line(queue: LocalQueue, capsys: Any) -> None:
    code, out, err = run(capsys, "jobs", "show", "nope")
    assert (code, out, err.strip()) == (1, "", "error: nope: no such job")
    code, _out, err = run(capsys, "jobs", "list", "--status", "weird")
    assert code == 1 and err.strip().startswith("error: unknown job status 'weird'")
