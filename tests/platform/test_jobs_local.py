"""The embedded job queue on SQLite and PostgreSQL: priority, retries, timeouts, cancel, progress, leases."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Job
from driftmgr.platform.jobs import JobContext, LocalQueue, QueueFull, WaitTimeout, build_queue
from driftmgr.platform.jobs.runner import backoff
from tests.fixtures.db import settings_for
from tests.platform.job_plugins import RecordingBus


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def make_queue(database: Database, tmp_path: Path, bus: RecordingBus) -> Iterator[Any]:
    made: list[LocalQueue] = []

    def make(**overrides: Any) -> LocalQueue:
        overrides.setdefault("jobs_retry_delay", 0.05)
        q = build_queue(settings_for(database, tmp_path, **overrides), database, bus)
        assert isinstance(q, LocalQueue)
        q.poll_s = q.runner.poll_s = 0.1
        made.append(q)
        return q

    yield make
    for q in made:
        q.close(timeout=5)


def wait_until(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_jobs_run_by_priority_then_age(make_queue: Any) -> None:
    q = make_queue(jobs_max_workers=1)
    order: list[str] = []

    def handler(ctx: JobContext) -> dict[str, Any]:
        order.append(ctx.payload["name"])
        return {}

    for kind in ("report", "drift", "discovery"):
        q.register(kind, handler)
    q.submit("report", {"name": "report"})
    q.submit("drift", {"name": "drift-1"})
    q.submit("drift", {"name": "drift-2"})
    q.submit("discovery", {"name": "discovery"})
    q.submit("report", {"name": "urgent-report"}, priority=0)
    last = q.submit("drift", {"name": "drift-3"})
    q.start()
    q.wait(last, timeout=10)
    wait_until(lambda: len(order) == 6)
    assert order == ["discovery", "urgent-report", "drift-1", "drift-2", "drift-3", "report"]


def test_failing_job_is_retried_with_backoff_then_failed(make_queue: Any, bus: RecordingBus) -> None:
    q = make_queue(jobs_retry_attempts=3, jobs_retry_delay=0.2)
    starts: list[float] = []

    def flaky(ctx: JobContext) -> dict[str, Any]:
        starts.append(time.monotonic())
        raise RuntimeError(f"boom {ctx.attempt}")

    q.register("drift", flaky)
    q.start()
    job_id = q.submit("drift")
    view = q.wait(job_id, timeout=15)
    assert view.status == "failed"
    assert view.attempts == 3
    assert view.error == "RuntimeError: boom 3"
    assert len(starts) == 3
    # backoff: 0.2 × 2^(n-1), at least its lower half, jitter above that
    assert starts[1] - starts[0] >= 0.1
    assert starts[2] - starts[1] >= 0.2
    types = bus.types(job_id)
    assert types.count("job.retrying") == 2
    assert types.count("job.started") == 3
    assert types[-1] == "job.failed"
    retry = [e for e in bus.query("job.retrying", job_id=job_id)]
    assert [e.payload["attempt"] for e in retry] == [1, 2]


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0)):
        values = [backoff(1.0, attempt) for _ in range(200)]
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert len({round(v, 6) for v in values}) > 1  # jittered


def test_job_succeeds_on_a_later_attempt(make_queue: Any) -> None:
    q = make_queue(jobs_retry_attempts=3)

    def second_time(ctx: JobContext) -> dict[str, Any]:
        if ctx.attempt == 1:
            raise ConnectionError("reset")
        return {"attempt": ctx.attempt}

    q.register("drift", second_time)
    q.start()
    view = q.wait(q.submit("drift"), timeout=10)
    assert (view.status, view.attempts, view.result) == ("succeeded", 2, {"attempt": 2})


def test_bad_input_is_not_retried(make_queue: Any) -> None:
    q = make_queue(jobs_retry_attempts=5)

    def bad(ctx: JobContext) -> dict[str, Any]:
        raise UsageError("not a state", source="nowhere.tfstate")

    q.register("drift", bad)
    q.start()
    view = q.wait(q.submit("drift"), timeout=10)
    assert (view.status, view.attempts, view.error) == ("failed", 1, "nowhere.tfstate: not a state")


def test_cooperative_timeout_fails_the_job(make_queue: Any, bus: RecordingBus) -> None:
    q = make_queue(jobs_retry_attempts=3)

    def slow(ctx: JobContext) -> dict[str, Any]:
        while True:
            ctx.check()
            time.sleep(0.02)

    q.register("drift", slow)
    q.start()
    view = q.wait(q.submit("drift", timeout_s=0.4), timeout=10)
    assert view.status == "failed"
    assert view.error == "timed out after 0.4s"
    assert view.attempts == 1  # a timeout is not retried
    assert bus.types(view.id)[-1] == "job.failed"


def test_pool_fails_a_job_past_its_timeout_even_if_the_handler_never_checks(make_queue: Any) -> None:
    q = make_queue()
    release = threading.Event()
    finished: list[str] = []

    def stuck(ctx: JobContext) -> dict[str, Any]:
        release.wait(10)
        finished.append(ctx.job_id)
        return {"late": True}

    q.register("drift", stuck)
    q.start()
    started = time.monotonic()
    view = q.wait(q.submit("drift", timeout_s=0.5), timeout=5)
    assert view.status == "failed" and view.error == "timed out after 0.5s"
    assert time.monotonic() - started < 2.0
    release.set()
    wait_until(lambda: finished)
    time.sleep(0.2)
    assert q.get(view.id).status == "failed"  # the late result does not overwrite the verdict
    assert q.get(view.id).result is None


def test_cancel_a_queued_job_is_immediate_and_it_never_runs(make_queue: Any, bus: RecordingBus) -> None:
    q = make_queue()
    ran: list[str] = []
    q.register("drift", lambda ctx: ran.append(ctx.job_id) or {})
    job_id = q.submit("drift")
    view = q.cancel(job_id)
    assert view.status == "cancelled"
    assert "job.cancelled" in bus.types(job_id)
    other = q.submit("drift")
    q.start()
    q.wait(other, timeout=10)
    assert ran == [other]
    assert q.get(job_id).status == "cancelled"


def test_cancel_a_running_job_from_another_process_stops_it_within_two_seconds(
    make_queue: Any, bus: RecordingBus
) -> None:
    q = make_queue()
    other_process = make_queue()  # never started: it only shares the database, as the API would
    stopped: list[float] = []

    def busy(ctx: JobContext) -> dict[str, Any]:
        try:
            while True:
                ctx.progress(10, "working")
                time.sleep(0.02)
        finally:
            stopped.append(time.monotonic())

    q.register("drift", busy)
    q.start()
    job_id = q.submit("drift")
    wait_until(lambda: q.get(job_id).status == "running")
    asked = time.monotonic()
    assert other_process.cancel(job_id).status == "running"  # asked; the handler stops at its next check
    view = q.wait(job_id, timeout=5)
    assert view.status == "cancelled"
    assert stopped and stopped[0] - asked < 2.0
    assert bus.types(job_id)[-1] == "job.cancelled"


def test_progress_is_persisted_and_published(make_queue: Any, bus: RecordingBus) -> None:
    q = make_queue()
    go = threading.Event()

    def steps(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0, "starting")
        time.sleep(0.3)
        ctx.progress(42.5, "listing vpcs")
        go.wait(10)
        return {"ok": True}

    q.register("discovery", steps)
    q.start()
    job_id = q.submit("discovery")
    wait_until(lambda: q.get(job_id).progress == 42.5)
    assert q.get(job_id).message == "listing vpcs"
    go.set()
    view = q.wait(job_id, timeout=5)
    assert (view.status, view.progress) == ("succeeded", 100.0)
    progress = [e.payload for e in bus.query("job.progress", job_id=job_id)]
    assert progress == [{"percent": 0.0, "message": "starting"}, {"percent": 42.5, "message": "listing vpcs"}]
    assert bus.types(job_id) == ["job.queued", "job.started", "job.progress", "job.progress", "job.succeeded"]


def test_submit_beyond_the_queue_size_is_a_clear_error(make_queue: Any) -> None:
    q = make_queue(jobs_queue_size=2)
    q.submit("drift")
    q.submit("drift")
    with pytest.raises(QueueFull, match="the job queue is full"):
        q.submit("drift")
    with pytest.raises(UsageError, match="unknown job kind"):
        q.submit("nonsense")


def test_wait_gives_up_with_a_clear_error(make_queue: Any) -> None:
    q = make_queue()
    job_id = q.submit("drift")  # no pool started: stays queued
    with pytest.raises(WaitTimeout, match=r"still queued after 0\.2s"):
        q.wait(job_id, timeout=0.2)


def test_a_job_whose_worker_died_is_run_again_once(make_queue: Any, database: Database) -> None:
    q = make_queue(jobs_lease=1)
    runs: list[int] = []
    q.register("drift", lambda ctx: runs.append(ctx.attempt) or {"attempt": ctx.attempt})
    job_id = q.submit("drift")
    dead = q.store.claim_next("dead-worker/0/x")  # claimed by a worker that then vanished
    assert dead is not None and dead.id == job_id
    q.start()
    time.sleep(0.5)
    assert runs == []  # its lease still holds: nobody else may run it
    view = q.wait(job_id, timeout=10)
    assert (view.status, view.attempts, runs) == ("succeeded", 2, [2])
    # the dead worker's late writes change nothing
    assert not q.store.finish(job_id, "dead-worker/0/x", "failed", error="late")
    with database.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.status == "succeeded"


def test_closing_the_pool_gives_running_jobs_back(make_queue: Any) -> None:
    q = make_queue()

    def busy(ctx: JobContext) -> dict[str, Any]:
        while True:
            ctx.check()
            time.sleep(0.02)

    q.register("drift", busy)
    q.start()
    job_id = q.submit("drift")
    wait_until(lambda: q.get(job_id).status == "running")
    q.close(timeout=5)
    view = q.get(job_id)
    assert (view.status, view.attempts) == ("queued", 0)


def test_two_pools_on_one_database_run_each_job_exactly_once(make_queue: Any) -> None:
    runs: list[tuple[str, str]] = []
    lock = threading.Lock()
    pools = [make_queue(jobs_max_workers=3) for _ in range(2)]
    for name, pool in zip(("a", "b"), pools, strict=True):

        def handler(ctx: JobContext, name: str = name) -> dict[str, Any]:
            time.sleep(0.005)
            with lock:
                runs.append((name, ctx.job_id))
            return {}

        pool.register("record", handler)
    ids = [pools[0].submit("record") for _ in range(60)]
    for pool in pools:
        pool.start()
    for job_id in ids:
        assert pools[1].wait(job_id, timeout=30).status == "succeeded"
    assert sorted(j for _n, j in runs) == sorted(ids)
    assert {n for n, _j in runs} == {"a", "b"}
