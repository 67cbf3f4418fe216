"""`driftmgr audit verify|list|export|purge`, including the tamper test through the CLI."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from driftmgr.platform.db.engine import Database
from tests.cli.helpers import run
from tests.security.hashing import fast_hashing

__all__ = ["fast_hashing"]
pytestmark = pytest.mark.usefixtures("fast_hashing")
PW = "correct horse battery"


@pytest.fixture
def env(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Database:
    monkeypatch.setenv("DRIFTMGR_DATABASE_URL", database.url)
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(PW + "\n"))
    run(capsys, "users", "create-admin", "alice", "--password-stdin")
    for name in ("bob", "carol", "dave"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(PW + "\n"))
        assert run(capsys, "users", "add", name, "--role", "viewer", "--password-stdin")[0] == 0
    return database


def test_verify_intact_then_names_edited_and_deleted_records(
    env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(capsys, "audit", "verify")
    assert rc == 0 and out.startswith("audit chain intact: 4 checked (records 1-4)") and err == ""
    with env.engine.begin() as c:
        c.execute(text("UPDATE audit_records SET \"user\" = 'nobody' WHERE id = 2"))
        c.execute(text("DELETE FROM audit_records WHERE id = 3"))
    rc, out, err = run(capsys, "audit", "verify")
    assert rc == 1
    assert err.splitlines() == ["record 2 was edited", "record 3 was deleted (chain breaks between 2 and 4)"]
    assert "BROKEN (2 problems)" in out
    rc, out, _ = run(capsys, "audit", "verify", "--json")
    data = json.loads(out)
    assert rc == 1 and data["ok"] is False and [p["record"] for p in data["problems"]] == [2, 3]


def test_list_and_export(env: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = run(capsys, "audit", "list", "--action", "user.*", "--limit", "2", "--json")
    recs = json.loads(out)["records"]
    assert rc == 0 and [r["id"] for r in recs] == [4, 3] and recs[0]["resource"] == "user:dave"
    rc, out, _ = run(capsys, "audit", "list", "--user", "nobody")
    assert rc == 0 and len(out.splitlines()) == 1
    target = tmp_path / "audit.jsonl"
    rc, out, err = run(capsys, "audit", "export", "--since", "1d", "--output", str(target))
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert rc == 0 and out == "" and "5 records exported" in err
    assert [x["id"] for x in lines] == [1, 2, 3, 4, 5] and lines[-1]["action"] == "audit.export"
    rc, _, err = run(capsys, "audit", "export", "--since", "yesterday-ish")
    assert rc == 1 and "not an ISO date/time" in err
    rc, out, _ = run(capsys, "audit", "export", "--since", "2999-01-01")
    assert rc == 0 and out == ""


def test_hipaa_mode_needs_a_reason_to_export(
    env: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTMGR_AUDIT_MODE", "hipaa")
    rc, out, err = run(capsys, "audit", "export")
    assert rc == 1 and out == "" and "audit mode hipaa requires reason for audit.export" in err
    rc, out, _ = run(capsys, "audit", "export", "--reason", "quarterly review")
    assert rc == 0 and json.loads(out.splitlines()[-1])["extra"]["reason"] == "quarterly review"


def test_purge(env: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rc, _, err = run(capsys, "audit", "purge")
    assert rc == 1 and "--older-than" in err
    backdate = (
        "timestamp - INTERVAL '400 days'"
        if env.dialect == "postgresql"
        else "datetime(timestamp, '-400 days')"
    )
    with env.engine.begin() as c:
        c.execute(text(f"UPDATE audit_records SET timestamp = {backdate} WHERE id <= 2"))
    rc, _, err = run(capsys, "audit", "purge", "--older-than", "30d")
    assert rc == 1 and "record 1 was edited" in err  # the backdating itself is tampering
