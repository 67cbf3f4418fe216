"""The scheduler: cron validation, due slots, missed slots run once, one submission per slot with two
schedulers ticking at once (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from driftmgr.errors import ConflictError, UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Schedule
from driftmgr.platform.scheduler import (
    Scheduler,
    add_schedule,
    get_schedule,
    list_schedules,
    next_run_after,
    remove_schedule,
    tick,
    validate_cron,
)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


class Recorder:
    """A submit callable that records what it was given (thread-safe) and returns job ids."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, kind: str, payload: dict[str, Any]) -> str:
        with self._lock:
            if self.fail:
                self.fail -= 1
                raise ConnectionError("queue unreachable")
            self.calls.append((kind, payload))
            return f"job{len(self.calls)}"


@pytest.mark.parametrize("expr", ["*/15 * * * *", "0 3 * * 1-5", "@hourly", "  5  4 * * *  ", "0 0 29 2 *"])
def test_valid_cron_expressions_are_accepted(expr: str) -> None:
    assert validate_cron(expr) == " ".join(expr.split())


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "empty"),
        ("*/15 * * *", "5 fields"),
        ("* * * * * *", "5 fields"),
        ("61 * * * *", "not a valid cron"),
        ("* * * * mon-xyz", "not a valid cron"),
        ("@every", "unknown cron alias"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_invalid_cron_expressions_are_one_usage_error(expr: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        validate_cron(expr)


def test_next_run_is_strictly_after() -> None:
    assert next_run_after("*/15 * * * *", T0) == T0 + 15 * M
    assert next_run_after("*/15 * * * *", T0 - timedelta(microseconds=1)) == T0
    assert next_run_after("@hourly", T0 + 30 * M) == T0 + 60 * M


def test_add_list_remove(database: Database) -> None:
    view = add_schedule(
        database, "prod", "*/15 * * * *", ["s3://b/prod.tfstate"], {"provider": "aws"}, now=T0
    )
    assert view.next_run_at == T0 + 15 * M
    assert view.last_run_at is None
    with pytest.raises(ConflictError, match="already exists"):
        add_schedule(database, "prod", "@daily", ["x"], now=T0)
    with pytest.raises(UsageError, match="invalid schedule name"):
        add_schedule(database, "bad name", "@daily", ["x"], now=T0)
    with pytest.raises(UsageError, match="at least one state source"):
        add_schedule(database, "empty", "@daily", [], now=T0)
    add_schedule(database, "dev", "@daily", ["s3://b/dev.tfstate"], now=T0)
    assert [v.name for v in list_schedules(database)] == ["dev", "prod"]
    assert get_schedule(database, "dev").next_run_at == datetime(2026, 12, 2, tzinfo=UTC)
    remove_schedule(database, "prod")
    with pytest.raises(UsageError, match="no schedule named 'prod'"):
        remove_schedule(database, "prod")
    assert [v.name for v in list_schedules(database)] == ["dev"]


def test_unknown_options_are_refused(database: Database) -> None:
    with pytest.raises(UsageError, match="unknown schedule option"):
        add_schedule(database, "prod", "@daily", ["a"], {"provider": "aws", "colour": "red"}, now=T0)
    assert list_schedules(database) == []


def test_a_due_schedule_submits_one_drift_job_and_moves_on(database: Database) -> None:
    add_schedule(
        database,
        "prod",
        "*/15 * * * *",
        ["s3://b/prod.tfstate"],
        {"provider": "aws", "regions": ["us-east-1"], "policy": "p.yaml"},
        now=T0,
    )
    submit = Recorder()
    sched = Scheduler(database, submit)
    assert sched.tick(T0 + 14 * M) == []
    fired = sched.tick(T0 + 15 * M)
    assert [(f.schedule, f.slot, f.job_id) for f in fired] == [("prod", T0 + 15 * M, "job1")]
    assert submit.calls == [
        (
            "drift",
            {
                "sources": ["s3://b/prod.tfstate"],
                "provider": "aws",
                "regions": ["us-east-1"],
                "policy": "p.yaml",
            },
        )
    ]
    view = get_schedule(database, "prod")
    assert (view.last_run_at, view.next_run_at, view.last_job_id) == (T0 + 15 * M, T0 + 30 * M, "job1")
    assert sched.tick(T0 + 15 * M) == []  # the same slot never runs twice


def test_slots_missed_while_down_run_once(database: Database) -> None:
    add_schedule(database, "prod", "*/15 * * * *", ["s3://b/prod.tfstate"], now=T0)
    submit = Recorder()
    sched = Scheduler(database, submit)
    # down from 10:00 to 11:20: the slots 10:15, 10:30, 10:45, 11:00 and 11:15 were missed
    fired = sched.tick(T0 + 80 * M)
    assert [f.slot for f in fired] == [T0 + 15 * M]
    assert len(submit.calls) == 1
    assert get_schedule(database, "prod").next_run_at == T0 + 90 * M  # strictly after now, not 10:30
    assert sched.tick(T0 + 89 * M) == []
    assert len(sched.tick(T0 + 90 * M)) == 1
    assert len(submit.calls) == 2


def test_a_failed_submission_is_retried_on_the_next_tick(database: Database) -> None:
    add_schedule(database, "prod", "*/15 * * * *", ["s3://b/prod.tfstate"], now=T0)
    submit = Recorder(fail=1)
    sched = Scheduler(database, submit)
    (failed,) = sched.tick(T0 + 16 * M)
    assert failed.job_id is None and failed.error is not None and "queue unreachable" in failed.error
    assert get_schedule(database, "prod").next_run_at == T0 + 15 * M  # the claim was undone
    (ok,) = sched.tick(T0 + 17 * M)
    assert (ok.slot, ok.job_id) == (T0 + 15 * M, "job1")
    assert get_schedule(database, "prod").next_run_at == T0 + 30 * M


def test_disabled_and_removed_schedules_do_not_run(database: Database) -> None:
    add_schedule(database, "off", "*/15 * * * *", ["a"], now=T0)
    add_schedule(database, "on", "*/15 * * * *", ["b"], now=T0)
    with database.session() as s:
        s.execute(update(Schedule).where(Schedule.name == "off").values(enabled=False))
    submit = Recorder()
    assert [f.schedule for f in tick(database, submit, T0 + 20 * M)] == ["on"]
    remove_schedule(database, "on")
    assert tick(database, submit, T0 + 40 * M) == []


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "row-by-row"])
def test_two_schedulers_ticking_at_once_submit_once_per_slot(database: Database, returning: bool) -> None:
    n_schedules, rounds = 20, 6
    for i in range(n_schedules):  # two crons: claims group by (cron, slot)
        add_schedule(
            database, f"s{i:02d}", "*/15 * * * *" if i % 2 else "0,15,30,45 * * * *", [f"{i}"], now=T0
        )
    submit = Recorder()
    second = Database(database.url)  # another process would have its own engine and pool
    schedulers = [Scheduler(database, submit, batch=7), Scheduler(second, submit, batch=7)]
    for s in schedulers:
        s.returning = returning  # the path for databases without UPDATE … RETURNING
    barrier = threading.Barrier(len(schedulers))
    errors: list[BaseException] = []
    fired: list[tuple[str, datetime]] = []

    def run(s: Scheduler) -> None:
        try:
            for r in range(1, rounds + 1):
                barrier.wait(timeout=30)
                fired.extend((f.schedule, f.slot) for f in s.tick(T0 + r * 15 * M))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    try:
        threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        second.dispose()
    assert errors == []
    assert len(fired) == len(set(fired)), "a slot ran twice"
    assert len(fired) == len(submit.calls) == n_schedules * rounds
    assert {slot for _name, slot in fired} == {T0 + r * 15 * M for r in range(1, rounds + 1)}


def test_the_embedded_runner_ticks_until_stopped(database: Database) -> None:
    add_schedule(database, "prod", "*/15 * * * *", ["s3://b/prod.tfstate"], now=T0)
    now = [T0 + 15 * M]
    submit = Recorder()
    sched = Scheduler(database, submit, interval=0.02, clock=lambda: now[0])
    sched.start()
    try:
        deadline = time.monotonic() + 10
        while not submit.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # several more ticks at the same time: nothing more is due
        assert len(submit.calls) == 1
        now[0] = T0 + 31 * M
        deadline = time.monotonic() + 10
        while len(submit.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(submit.calls) == 2
        assert sched.running
    finally:
        sched.stop()
    assert not sched.running


def test_the_runner_survives_a_failing_tick(database: Database) -> None:
    add_schedule(database, "prod", "*/15 * * * *", ["s3://b/prod.tfstate"], now=T0)
    ticks = [0]
    submit = Recorder()

    def clock() -> datetime:
        ticks[0] += 1
        if ticks[0] <= 2:
            raise RuntimeError("clock broke")
        return T0 + 15 * M

    sched = Scheduler(database, submit, interval=0.01, clock=clock)
    sched.start()
    try:
        deadline = time.monotonic() + 10
        while not submit.calls and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        sched.stop()
    assert len(submit.calls) == 1 and ticks[0] > 2


def test_a_non_positive_interval_is_refused(database: Database) -> None:
    with pytest.raises(UsageError):
        Scheduler(database, Recorder(), interval=0)
