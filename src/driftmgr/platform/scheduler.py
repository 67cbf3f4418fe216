"""Schedules: drift detection on some sources by a cron expression (UTC), run once per due slot.

A schedule row holds `next_run_at`, the next cron time strictly after the last run (or after its
creation). `Scheduler.tick(now)` submits one drift job for every enabled schedule whose
`next_run_at <= now` and moves `next_run_at` to the next cron time strictly after `now` — so the
slots missed while no scheduler ran are run once, not once per missed slot.

Several schedulers may tick at once (two processes, a Celery beat next to an embedded runner): each
due schedule is claimed with a conditional UPDATE (`… WHERE id IN (…) AND next_run_at = :seen
RETURNING id`, one statement per cron and slot). Only the scheduler whose UPDATE changed a row
submits it; the others see it unchanged-by-them and move on. On SQLite writes are serialized; on
PostgreSQL the rows are first locked with `SELECT … FOR UPDATE SKIP LOCKED`, so a second scheduler
skips the rows the first is claiming instead of waiting on them (and a later one re-reads them
under READ COMMITTED: they no longer match the slot it saw).

Claims are committed before the jobs are submitted (the queue writes in its own transaction; on
SQLite, holding the write lock across it would block it), a batch of schedules per transaction.
If a submission raises, its claim is undone (`next_run_at` put back, again conditionally), so the
next tick retries the slot. A process that dies between a claim and its submission loses those
slots (at most one batch): runs are at most once per slot, never twice.

Scaled mode: a Celery beat entry calls the module-level `tick(db, submit)` every few seconds
(with the queue's submit); embedded mode: `Scheduler(db, submit).start()` in the serving process.

The scheduler depends only on a `submit(kind, payload) -> job_id` callable (the job queue's
submit): it never runs a scan itself.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import croniter
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from driftmgr.errors import ConflictError, UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Schedule, utcnow

log = logging.getLogger(__name__)

Submit = Callable[[str, dict[str, Any]], str]
_TABLE: Table = Schedule.__table__  # type: ignore[assignment]
JOB_KIND = "drift"
OPTION_KEYS = frozenset({"provider", "regions", "driftignore", "policy", "filter", "types"})
_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def validate_cron(expr: str) -> str:
    """A standard five-field cron expression (or an @alias such as `@hourly`), whitespace normalized.

    Seconds fields (six or seven fields) are refused: schedules run at minute granularity.
    """
    text = " ".join(expr.split())
    fields = text.split(" ")
    if not text:
        raise UsageError("the cron expression is empty (example: '*/15 * * * *')")
    if not text.startswith("@") and len(fields) != 5:
        raise UsageError(
            f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}: {text!r}"
        )
    if text.startswith("@") and text not in _ALIASES:
        raise UsageError(f"unknown cron alias {text!r} (use @hourly, @daily, @weekly, @monthly or @yearly)")
    if not croniter.is_valid(text):
        raise UsageError(f"not a valid cron expression: {text!r} (example: '*/15 * * * *')")
    try:  # is_valid accepts some expressions that never fire (Feb 30th): find one run
        next_run_after(text, datetime(2000, 1, 1, tzinfo=UTC))
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise UsageError(f"the cron expression never fires: {text!r} ({exc})") from None
    return text


def next_run_after(cron: str, after: datetime) -> datetime:
    """The first cron time strictly after `after` (UTC, aware)."""
    if after.tzinfo is None:
        raise ValueError("naive datetime given to the scheduler")
    nxt: datetime = croniter(cron, after.astimezone(UTC)).get_next(datetime)
    return nxt.astimezone(UTC)


def validate_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"invalid schedule name {name!r}: use letters, digits, '.', '_' and '-' (at most 200), "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class ScheduleView:
    id: str
    name: str
    cron: str
    sources: list[str]
    options: dict[str, Any]
    enabled: bool
    created_at: datetime
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_job_id: str | None

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "id": self.id,
            "name": self.name,
            "cron": self.cron,
            "sources": list(self.sources),
            "options": dict(self.options),
            "enabled": self.enabled,
            "created_at": iso(self.created_at),
            "last_run_at": iso(self.last_run_at),
            "next_run_at": iso(self.next_run_at),
            "last_job_id": self.last_job_id,
        }


def _view(row: Schedule) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        name=row.name,
        cron=row.cron,
        sources=[str(s) for s in row.sources],
        options=dict(row.options),
        enabled=row.enabled,
        created_at=row.created_at,
        last_run_at=row.last_run_at,
        next_run_at=row.next_run_at,
        last_job_id=row.last_job_id,
    )


# --- the schedules table ------------------------------------------------------------------------


def add_schedule(
    db: Database,
    name: str,
    cron: str,
    sources: list[str],
    options: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> ScheduleView:
    """Store a new schedule; its first run is the first cron time after `now`."""
    validate_name(name)
    expr = validate_cron(cron)
    if not sources:
        raise UsageError("a schedule needs at least one state source (--state)")
    unknown = sorted(set(options or {}) - OPTION_KEYS)
    if unknown:
        raise UsageError(f"unknown schedule option(s): {', '.join(unknown)}")
    created = now or utcnow()
    row = Schedule(
        name=name,
        cron=expr,
        sources=list(sources),
        options=dict(options or {}),
        enabled=True,
        created_at=created,
        next_run_at=next_run_after(expr, created),
    )
    try:
        with db.session() as s:
            if s.scalar(select(Schedule.id).where(Schedule.name == name)) is not None:
                raise ConflictError(f"a schedule named {name!r} already exists (remove it first)")
            s.add(row)
    except IntegrityError:  # a concurrent add of the same name won the race
        raise ConflictError(f"a schedule named {name!r} already exists (remove it first)") from None
    return _view(row)


def list_schedules(db: Database) -> list[ScheduleView]:
    with db.session() as s:
        return [_view(r) for r in s.scalars(select(Schedule).order_by(Schedule.name))]


def get_schedule(db: Database, name: str) -> ScheduleView:
    with db.session() as s:
        row = s.scalar(select(Schedule).where(Schedule.name == name))
        if row is None:
            raise UsageError(f"no schedule named {name!r}")
        return _view(row)


def remove_schedule(db: Database, name: str) -> None:
    with db.session() as s:
        if s.execute(delete(Schedule).where(Schedule.name == name)).rowcount == 0:  # type: ignore[attr-defined]
            raise UsageError(f"no schedule named {name!r}")


# --- running them -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fired:
    """One due schedule this scheduler claimed: the slot it ran for and the job it submitted."""

    schedule: str
    slot: datetime  # the next_run_at that was due
    job_id: str | None  # None when the submission failed (the slot is retried on the next tick)
    error: str | None = None


def job_payload(row: ScheduleView) -> dict[str, Any]:
    """The payload of the drift job a schedule submits: the drift job's own keys (DESIGN §3 options:
    sources, provider, regions, driftignore, policy, filter, types), nothing else."""
    payload: dict[str, Any] = {"sources": [str(s) for s in row.sources], "provider": "aws"}
    for key, value in row.options.items():
        if key in OPTION_KEYS and value not in (None, [], ""):
            payload[key] = value
    return payload


class Scheduler:
    """Submits one drift job per due schedule; `start()` runs `tick()` every `interval` seconds."""

    def __init__(
        self,
        db: Database,
        submit: Submit,
        *,
        interval: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 100,
    ) -> None:
        if interval <= 0:
            raise UsageError("the scheduler interval must be positive")
        if batch < 1:
            raise UsageError("the scheduler batch size must be at least 1")
        self.batch = batch
        self.returning = bool(db.engine.dialect.update_returning)
        self.db = db
        self.submit = submit
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self, now: datetime) -> list[ScheduleView]:
        """The enabled schedules due at `now`, oldest slot first."""
        with self.db.session() as s:
            rows = s.scalars(
                select(Schedule)
                .where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
                .order_by(Schedule.next_run_at, Schedule.id)
            ).all()
            return [_view(r) for r in rows]

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """Claim and submit every schedule due at `now`; returns what this scheduler fired.

        Due schedules are handled in batches: one transaction claims a batch (one conditional
        UPDATE per schedule, in `(next_run_at, id)` order so that two schedulers lock rows in the
        same order and never deadlock), the jobs are submitted, and one transaction records their
        ids and undoes the claims whose submission failed.
        """
        now = now or self.clock()
        fired: list[Fired] = []
        due = self.due(now)
        for i in range(0, len(due), self.batch):
            claimed = self._claim(due[i : i + self.batch], now)
            done: list[tuple[ScheduleView, datetime, datetime, str | None, str | None]] = []
            for sched, slot, next_at in claimed:
                try:
                    job_id: str | None = self.submit(JOB_KIND, job_payload(sched))
                    error = None
                except Exception as exc:  # noqa: BLE001 - a failed submission is retried, never lost silently
                    job_id, error = None, f"{type(exc).__name__}: {exc}"
                    log.warning("schedule %s: submitting its drift job failed: %s", sched.name, error)
                done.append((sched, slot, next_at, job_id, error))
            self._record(done)
            fired.extend(Fired(s.name, slot, job_id, error) for s, slot, _n, job_id, error in done)
        return fired

    def _claim(
        self, batch: list[ScheduleView], now: datetime
    ) -> list[tuple[ScheduleView, datetime, datetime]]:
        """Claim what this scheduler wins of `batch`, in one transaction; returns (schedule, slot, next).

        Schedules sharing a cron and a slot (the common case) are claimed by one statement:
        `UPDATE … WHERE id IN (…) AND next_run_at = :slot AND enabled RETURNING id`. On PostgreSQL
        the rows are first locked with `SELECT … FOR UPDATE SKIP LOCKED`, so two schedulers never wait
        on (or deadlock over) each other's rows: the rows another one is claiming are skipped. The
        UPDATE is the first write of its transaction, so SQLite takes its write lock at once.
        """
        groups: dict[tuple[str, datetime], list[ScheduleView]] = {}
        for sched in batch:
            if sched.next_run_at is not None:
                groups.setdefault((sched.cron, sched.next_run_at), []).append(sched)
        won: list[tuple[ScheduleView, datetime, datetime]] = []
        t = _TABLE
        with self.db.session() as s:
            conn = s.connection()
            for (cron, slot), scheds in groups.items():
                next_at = next_run_after(cron, max(now, slot))
                ids = [x.id for x in scheds]
                if self.db.dialect == "postgresql":
                    ids = list(
                        conn.execute(
                            select(t.c.id)
                            .where(t.c.id.in_(ids), t.c.next_run_at == slot, t.c.enabled.is_(True))
                            .order_by(t.c.id)
                            .with_for_update(skip_locked=True)
                        ).scalars()
                    )
                    if not ids:
                        continue
                stmt = (
                    update(t)
                    .where(t.c.next_run_at == slot, t.c.enabled.is_(True))
                    .values(next_run_at=next_at, last_run_at=now)
                )
                if self.returning:
                    got = set(conn.execute(stmt.where(t.c.id.in_(ids)).returning(t.c.id)).scalars())
                else:  # a database without UPDATE … RETURNING: one conditional UPDATE per row
                    got = {i for i in ids if conn.execute(stmt.where(t.c.id == i)).rowcount == 1}
                won.extend((x, slot, next_at) for x in scheds if x.id in got)
                # the others: another scheduler claimed them, or they were removed or disabled meanwhile
        return won

    def _record(self, done: list[tuple[ScheduleView, datetime, datetime, str | None, str | None]]) -> None:
        """One transaction: the job ids of the submitted runs; the claims of failed ones undone."""
        t = _TABLE
        ok = [{"b_id": sched.id, "b_job": job_id} for sched, _s, _n, job_id, _e in done if job_id is not None]
        failed = [
            {"b_id": sched.id, "b_next": next_at, "b_slot": slot}
            for sched, slot, next_at, job_id, _e in done
            if job_id is None
        ]
        if not ok and not failed:
            return
        with self.db.session() as s:
            conn = s.connection()
            if ok:
                conn.execute(
                    update(t).where(t.c.id == bindparam("b_id")).values(last_job_id=bindparam("b_job")), ok
                )
            if failed:  # put the slot back unless the row moved on since, so the next tick retries it
                conn.execute(
                    update(t)
                    .where(t.c.id == bindparam("b_id"), t.c.next_run_at == bindparam("b_next"))
                    .values(next_run_at=bindparam("b_slot")),
                    failed,
                )

    # --- the embedded runner ---

    def start(self) -> None:
        """Tick in a daemon thread every `interval` seconds until `stop()`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="driftmgr-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Stop ticking (the Platform closes its background parts this way)."""
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the runner
                log.exception("scheduler tick failed; retrying in %.1f s", self.interval)
            self._stop.wait(self.interval)


def tick(db: Database, submit: Submit, now: datetime | None = None) -> list[Fired]:
    """One scheduler tick: what a Celery beat entry calls every few seconds in scaled mode."""
    return Scheduler(db, submit).tick(now)
