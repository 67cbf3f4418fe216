"""The API end to end on a real platform and a moto server: sign in, register, scan, read, audit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from driftmgr.api.app import create_app
from driftmgr.config import Settings
from driftmgr.platform.runtime import build_platform
from driftmgr.security import passwords
from driftmgr.services.access import AccessService, Actor
from tests.api.conftest import PASSWORD
from tests.platform.test_jobs_workflow import write_state
from tests.security.hashing import FAST


@pytest.fixture
def live(aws_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Path]]:
    monkeypatch.setattr(passwords, "_hasher", FAST)
    monkeypatch.setattr(passwords, "_dummy_hash", None)
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "changed-by-hand"}])
    state = write_state(tmp_path / "prod.tfstate", vpc, "10.70.0.0/16")  # state says Name=main
    settings = Settings(data_dir=tmp_path / "data", secret_key="s" * 48, jobs_retry_attempts=1)
    platform = build_platform(settings)
    access = AccessService(settings, platform.db)
    access.create_admin("admin", PASSWORD)
    access.add_user(Actor.cli(), "olga", PASSWORD, ["operator"])
    access.add_user(Actor.cli(), "vic", PASSWORD, ["viewer"])
    app = create_app(settings, platform=platform)
    with TestClient(app) as client:
        platform.jobs.start()
        yield client, state
    platform.close()


def _login(client: TestClient, user: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert "driftmgr_session" in r.cookies or client.cookies.get("driftmgr_session")
    token = r.json()["csrf_token"]
    assert token
    return str(token)


def _wait_job(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_an_operator_scans_a_registered_source_and_reads_the_drift(live: tuple[TestClient, Path]) -> None:
    client, state = live
    csrf = _login(client, "olga")
    # a cookie session without the CSRF token cannot change anything
    r = client.post("/api/v1/sources", json={"name": "prod", "url": str(state)})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    r = client.post(
        "/api/v1/sources", json={"name": "prod", "url": str(state)}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.text
    # scans name registered sources only: a server path is refused
    r = client.post("/api/v1/drift/scans", json={"sources": ["/etc/passwd"]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400
    r = client.post(
        "/api/v1/drift/scans",
        json={"sources": ["prod"], "types": ["aws_vpc"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 202, r.text
    job = _wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    scan_id = job["result"]["scan_id"]
    assert job["result"]["drifted"] == 1

    r = client.get(f"/api/v1/drift/scans/{scan_id}")
    assert r.status_code == 200
    report = r.json()
    assert report["summary"]["drifted"] == 1
    etag = r.headers["etag"]
    assert client.get(f"/api/v1/drift/scans/{scan_id}", headers={"If-None-Match": etag}).status_code == 304

    items = client.get(f"/api/v1/drift/scans/{scan_id}/items", params={"status": "drifted"}).json()
    assert items["total"] == 1
    (change,) = items["items"][0]["changes"]
    assert (change["path"], change["expected"], change["actual"]) == ("tags.Name", "main", "changed-by-hand")

    events = client.get("/api/v1/events", params={"pattern": "drift.*", "job_id": job["id"]}).json()["items"]
    assert {e["type"] for e in events} == {
        "drift.detection_started",
        "drift.drift_found",
        "drift.detection_completed",
    }
    found = next(e for e in events if e["type"] == "drift.drift_found")
    assert found["source"] == str(state.resolve())

    history = client.get("/api/v1/drift/scans").json()["items"]
    assert [h["id"] for h in history] == [scan_id]


def test_a_viewer_reads_but_cannot_start_scans_and_the_denial_is_audited(
    live: tuple[TestClient, Path],
) -> None:
    client, _state = live
    csrf = _login(client, "vic")
    r = client.post("/api/v1/drift/scans", json={"sources": ["prod"]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/drift/scans").status_code == 200
    client.post("/api/v1/auth/logout")
    _login(client, "admin")
    records = client.get("/api/v1/audit", params={"action": "access.denied"}).json()["items"]
    assert any(r["user"] == "vic" and r["result"] == "denied" for r in records)
    assert client.get("/api/v1/audit/verify").json()["ok"] is True


def test_a_bad_password_is_401_and_a_session_ends_at_logout(live: tuple[TestClient, Path]) -> None:
    client, _state = live
    r = client.post("/api/v1/auth/login", json={"username": "olga", "password": "wrong password here"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    _login(client, "olga")
    assert client.get("/api/v1/auth/me").json()["username"] == "olga"
    client.post("/api/v1/auth/logout")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_health_reports_each_check(live: tuple[TestClient, Path]) -> None:
    client, _state = live
    body = client.get("/health").json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["queue"]["status"] == "ok"
    assert body["checks"]["providers"]["aws"]["status"] == "ok"  # moto answers STS
    assert body["status"] == "ok"
    metrics = client.get("/metrics").text
    assert "driftmgr_api_request_duration_seconds_bucket" in metrics
    assert "driftmgr_cache_hit_ratio" in metrics
