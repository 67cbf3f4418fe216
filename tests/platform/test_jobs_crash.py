"""`driftmgr worker` processes, Celery on the real Redis and the embedded pool: crashes and sharing.

Workers are real subprocesses (`driftmgr worker`) that load the test job kinds through
DRIFTMGR_JOB_PLUGINS; they are killed with SIGKILL mid-job. Leases are 5 s, so a dead worker's job is
claimable again after ~5 s and each test takes seconds, not minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Scan
from driftmgr.platform.jobs import QueueBase, build_queue
from tests.fixtures.db import settings_for
from tests.platform.job_plugins import RecordingBus, register
from tests.platform.test_jobs_workflow import write_state

ROOT = Path(__file__).resolve().parents[2]
LEASE = 10  # seconds; a lease shorter than the heartbeat can keep under load lapses while the worker lives
STARTUP = 180  # a worker process starting on a loaded 2-CPU CI machine can take a minute


def driftmgr_exe() -> str:
    exe = Path(sys.executable).parent / "driftmgr"
    return str(exe) if exe.exists() else "driftmgr"


class Workers:
    def __init__(self, db: Database, tmp_path: Path, redis_url: str | None) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "DRIFTMGR_DATA_DIR": str(tmp_path / "data"),
            "DRIFTMGR_DATABASE_URL": db.url,
            "DRIFTMGR_JOB_PLUGINS": "tests.platform.job_plugins:register",
            "DRIFTMGR_JOBS_LEASE": str(LEASE),
            "DRIFTMGR_JOBS_RETRY_DELAY": "0.1",
        }
        self.env.pop("DRIFTMGR_REDIS_URL", None)
        if redis_url:
            self.env["DRIFTMGR_REDIS_URL"] = redis_url
        self.tmp = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [driftmgr_exe(), "worker", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, index: int) -> str:
        return (self.tmp / f"worker-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


@pytest.fixture
def workers(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Workers] = []

    def make(redis_url: str | None) -> Workers:
        w = Workers(database, tmp_path, redis_url)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop_all()


def queue_for(database: Database, tmp_path: Path, redis_url: str | None) -> QueueBase:
    settings = settings_for(database, tmp_path, redis_url=redis_url, jobs_lease=LEASE)
    q = build_queue(settings, database, RecordingBus())
    register(q)
    return q


def wait_for(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def lines(path: Path) -> list[list[str]]:
    return [ln.split() for ln in path.read_text().splitlines()] if path.exists() else []


def assert_ran_once_after_a_crash(log: Path, store: Path, job_id: str, killed_pid: int) -> None:
    entries = [e for e in lines(log) if e[2 if e[0] in ("start", "end") else 1] == job_id]
    starts = [e for e in entries if e[0] == "start"]
    ends = [e for e in entries if e[0] == "end"]
    assert next(s[1] for s in starts) == str(killed_pid)  # the first run died mid-job…
    assert len(ends) == 1, entries  # …and the job completed exactly once
    assert ends[0][1] != str(killed_pid) and ends[0][4] == "stored"
    assert [p.name for p in store.glob("*.result")] == [f"{job_id}.result"]  # stored once


@pytest.mark.parametrize("mode", ["celery", "embedded"])
def test_worker_killed_mid_job_completes_it_exactly_once_elsewhere(
    mode: str, workers: Any, database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_url") if mode == "celery" else None
    pool = workers(redis_url)
    q = queue_for(database, tmp_path, redis_url)
    log, store = tmp_path / "exec.log", tmp_path / "store"
    store.mkdir()
    first = pool.start("--concurrency", "1")
    job_id = q.submit("probe", {"log": str(log), "seconds": 3, "store": str(store)})
    wait_for(lambda: q.get(job_id).progress > 10, STARTUP, "the job to start")
    assert q.get(job_id).status == "running"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    assert q.get(job_id).status == "running"  # the row still says so: only its lease will tell
    pool.start("--concurrency", "1")
    view = q.wait(job_id, timeout=STARTUP)
    assert view.status == "succeeded", (view.error, pool.log(1))
    assert view.attempts == 2
    assert time.monotonic() - killed_at >= LEASE - 1  # not taken over before its lease lapsed
    assert_ran_once_after_a_crash(log, store, job_id, first.pid)


def test_drift_scan_of_a_killed_celery_worker_is_stored_exactly_once(
    workers: Any, database: Database, tmp_path: Path, redis_url: str, aws_env: Any
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "main"}])
    state = write_state(tmp_path / "small.tfstate", vpc, "10.70.0.0/16")
    pool = workers(redis_url)
    q = queue_for(database, tmp_path, redis_url)
    first = pool.start("--concurrency", "1")
    job_id = q.submit("drift", {"sources": [str(state)], "regions": ["us-east-1", "us-west-2"]})
    wait_for(lambda: q.get(job_id).progress > 10, STARTUP, "the scan to start")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Scan)) == 0  # killed before it stored
    pool.start("--concurrency", "1")
    view = q.wait(job_id, timeout=STARTUP)
    assert view.status == "succeeded", (view.error, pool.log(1))
    assert view.attempts == 2
    with database.session() as s:
        scans = s.scalars(select(Scan)).all()
        assert [sc.job_id for sc in scans] == [job_id]
        assert scans[0].id == view.result["scan_id"] and scans[0].in_sync == 1
    time.sleep(LEASE + 1)  # a late redelivery or reap would show up here
    assert q.get(job_id).status == "succeeded"
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Scan)) == 1


def test_two_celery_workers_share_200_jobs_and_none_runs_twice(
    workers: Any, database: Database, tmp_path: Path, redis_url: str
) -> None:
    pool = workers(redis_url)
    q = queue_for(database, tmp_path, redis_url)
    log = tmp_path / "exec.log"
    a = pool.start("--concurrency", "2")
    b = pool.start("--concurrency", "2")
    ids = [q.submit("record", {"log": str(log)}) for _ in range(200)]
    for job_id in ids:
        assert q.wait(job_id, timeout=STARTUP).status == "succeeded"
    time.sleep(0.5)
    runs = lines(log)
    per_job = Counter(job for _pid, job in runs)
    assert set(per_job) == set(ids)
    assert max(per_job.values()) == 1, [j for j, n in per_job.items() if n > 1]
    per_worker = Counter(pid for pid, _job in runs)
    assert set(per_worker) == {str(a.pid), str(b.pid)}, per_worker
    assert min(per_worker.values()) >= 10, per_worker


def test_cancel_reaches_a_job_running_in_a_celery_worker_within_two_seconds(
    workers: Any, database: Database, tmp_path: Path, redis_url: str
) -> None:
    pool = workers(redis_url)
    q = queue_for(database, tmp_path, redis_url)
    log, store = tmp_path / "exec.log", tmp_path / "store"
    store.mkdir()
    pool.start("--concurrency", "1")
    job_id = q.submit("probe", {"log": str(log), "seconds": 30, "store": str(store)})
    wait_for(lambda: q.get(job_id).status == "running", STARTUP, "the job to start")
    asked = time.monotonic()
    q.cancel(job_id)
    view = q.wait(job_id, timeout=10)
    assert view.status == "cancelled"
    assert time.monotonic() - asked < 2.0
    assert not list(store.glob("*.result"))


def test_worker_without_redis_rejects_queue_option(workers: Any) -> None:
    pool = workers(None)
    proc = pool.start("--queue", "high")
    assert proc.wait(timeout=STARTUP) == 1
    assert "error: --queue applies to Celery workers" in pool.log(0)
