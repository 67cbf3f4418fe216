"""The `jobs` table as the queue, shared by the local pool and Celery (DESIGN §4).

Every state change is one conditional statement, so two workers can never both own a job:

- claim: `queued → running` only where the row is still queued (PostgreSQL picks the next row with
  `SELECT … FOR UPDATE SKIP LOCKED`; SQLite, whose writers are serialized, re-checks the status in the
  UPDATE and looks at the row count). The claimant writes its token into `worker` and a lease into
  `lease_until`.
- every later write (heartbeat, progress, finish, retry) is fenced by that token: a worker that lost
  its job (its lease lapsed and another worker reclaimed it) changes nothing.
- reap: a running job whose lease lapsed (its worker died) is queued again, or failed once it has
  used up its attempts. It is never lost and never runs twice at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from driftmgr.errors import DriftMgrError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Job, utcnow
from driftmgr.platform.events.base import EventBus
from driftmgr.platform.jobs.base import PRIORITY, JobView

log = logging.getLogger(__name__)

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class QueueFull(DriftMgrError):
    code = "queue_full"


class JobNotFound(DriftMgrError):
    code = "not_found"


class WaitTimeout(DriftMgrError):
    code = "timeout"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker owns until it finishes or its lease lapses."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    timeout_s: float
    token: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view_of(job: Job) -> JobView:
    return JobView(
        id=job.id,
        kind=job.kind,
        status=job.status,
        priority=job.priority,
        progress=job.progress,
        message=job.message,
        attempts=job.attempts,
        error=job.error,
        result=job.result,
        payload=dict(job.payload or {}),
        created_at=job.created_at.isoformat(),
        started_at=_iso(job.started_at),
        finished_at=_iso(job.finished_at),
    )


class JobStore:
    def __init__(
        self,
        db: Database,
        events: EventBus,
        *,
        queue_size: int,
        max_attempts: int,
        timeout_s: float,
        lease_s: float,
    ) -> None:
        self.db = db
        self.events = events
        self.queue_size = queue_size
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self.lease_s = lease_s

    # --- events -------------------------------------------------------------------------------
    def publish(self, type: str, job_id: str, payload: dict[str, Any] | None = None) -> None:
        """Publish a job event; a failing bus never fails the job (the row stays the truth)."""
        try:
            self.events.publish(type, payload or {}, job_id=job_id)
        except Exception as exc:  # noqa: BLE001 - events are a side channel of the job table
            log.warning("cannot publish %s for job %s: %s", type, job_id, exc)

    # --- submit and read ----------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        priority: int | None,
        max_attempts: int | None,
        timeout_s: float | None,
        created_by: str | None,
    ) -> Job:
        if max_attempts is not None and max_attempts < 1:
            raise DriftMgrError("max_attempts must be at least 1")
        if timeout_s is not None and timeout_s <= 0:
            raise DriftMgrError("timeout_s must be positive")
        with self.db.session() as s:
            waiting = s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued")) or 0
            if waiting >= self.queue_size:
                raise QueueFull(
                    f"the job queue is full ({waiting} queued, queue size {self.queue_size}); "
                    "try again later or raise DRIFTMGR_JOBS_QUEUE_SIZE"
                )
            job = Job(
                kind=kind,
                priority=PRIORITY.get(kind, 5) if priority is None else priority,
                payload=payload,
                max_attempts=max_attempts or self.max_attempts,
                timeout_s=timeout_s or self.timeout_s,
                created_by=created_by,
                created_at=utcnow(),
                run_after=utcnow(),
            )
            s.add(job)
        self.publish("job.queued", job.id, {"kind": kind, "priority": job.priority})
        return job

    def get(self, job_id: str) -> JobView:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobNotFound("no such job", source=job_id)
            return view_of(job)

    def find(self, *, status: str | None = None, kind: str | None = None, limit: int = 100) -> list[JobView]:
        if status is not None and status not in STATUSES:
            raise DriftMgrError(f"unknown job status {status!r} (one of {', '.join(STATUSES)})")
        q = select(Job).order_by(Job.created_at.desc(), Job.id).limit(max(1, limit))
        if status is not None:
            q = q.where(Job.status == status)
        if kind is not None:
            q = q.where(Job.kind == kind)
        with self.db.session() as s:
            return [view_of(j) for j in s.scalars(q)]

    def run_after(self, job_id: str) -> tuple[str, datetime, int] | None:
        """(status, run_after, priority) of a job, or None when it does not exist."""
        with self.db.session() as s:
            row = s.execute(select(Job.status, Job.run_after, Job.priority).where(Job.id == job_id)).first()
            return (row[0], row[1], row[2]) if row is not None else None

    # --- claiming -----------------------------------------------------------------------------
    def _claim_values(self, token: str) -> dict[str, Any]:
        now = utcnow()
        return {
            "status": "running",
            "worker": token,
            "lease_until": now + timedelta(seconds=self.lease_s),
            "started_at": now,
            "attempts": Job.attempts + 1,
            "cancel_requested": False,
        }

    def claim(self, job_id: str, token: str) -> Claimed | None:
        """Claim this job if it is queued and due (Celery: the message names the job)."""
        with self.db.session() as s:
            res = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued", Job.run_after <= utcnow())
                .values(**self._claim_values(token))
                .execution_options(synchronize_session=False)
            )
            if getattr(res, "rowcount", 0) != 1:
                return None
            return self._claimed(s.get(Job, job_id), token)

    def claim_next(self, token: str) -> Claimed | None:
        """Claim the most urgent due job: lowest priority number, then oldest."""
        due = (
            select(Job.id)
            .where(Job.status == "queued", Job.run_after <= utcnow())
            .order_by(Job.priority, Job.created_at, Job.id)
        )
        with self.db.session() as s:
            if self.db.dialect == "postgresql":
                job_id = s.scalar(due.limit(1).with_for_update(skip_locked=True))
                if job_id is None:
                    return None
                s.execute(
                    update(Job)
                    .where(Job.id == job_id)
                    .values(**self._claim_values(token))
                    .execution_options(synchronize_session=False)
                )
                return self._claimed(s.get(Job, job_id), token)
            for job_id in s.scalars(due.limit(8)).all():
                # re-checked in the UPDATE: pysqlite runs the SELECT outside the write transaction, so
                # the job may have run, failed and been queued again for later since it was selected
                res = s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "queued", Job.run_after <= utcnow())
                    .values(**self._claim_values(token))
                    .execution_options(synchronize_session=False)
                )
                if getattr(res, "rowcount", 0) == 1:
                    return self._claimed(s.get(Job, job_id), token)
            return None

    @staticmethod
    def _claimed(job: Job | None, token: str) -> Claimed | None:
        if job is None:
            return None
        return Claimed(
            id=job.id,
            kind=job.kind,
            payload=dict(job.payload or {}),
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            timeout_s=job.timeout_s,
            token=token,
        )

    # --- fenced writes by the owner -----------------------------------------------------------
    def _fenced(self, job_id: str, token: str, **values: Any) -> bool:
        with self.db.session() as s:
            res = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker == token, Job.status == "running")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return getattr(res, "rowcount", 0) == 1

    def heartbeat(self, owned: dict[str, str], *, renew: bool) -> tuple[set[str], set[str]]:
        """Renew the leases of `owned` (job id → token); returns (lost, cancel_requested) job ids."""
        if not owned:
            return set(), set()
        lost: set[str] = set()
        with self.db.session() as s:
            if renew:
                until = utcnow() + timedelta(seconds=self.lease_s)
                for job_id, token in owned.items():
                    res = s.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.worker == token, Job.status == "running")
                        .values(lease_until=until)
                        .execution_options(synchronize_session=False)
                    )
                    if getattr(res, "rowcount", 0) != 1:
                        lost.add(job_id)
            rows = s.execute(
                select(Job.id, Job.worker, Job.status, Job.cancel_requested).where(Job.id.in_(list(owned)))
            ).all()
        cancel = set()
        seen = set()
        for job_id, worker, status, cancel_requested in rows:
            seen.add(job_id)
            if worker != owned[job_id] or status != "running":
                lost.add(job_id)
            elif cancel_requested:
                cancel.add(job_id)
        lost |= set(owned) - seen
        return lost, cancel

    def progress(self, job_id: str, token: str, percent: float, message: str) -> bool:
        return self._fenced(job_id, token, progress=percent, message=message[:2000])

    def finish(
        self,
        job_id: str,
        token: str,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "lease_until": None}
        if status == "succeeded":
            values.update(result=result, error=None, progress=100.0)
        else:
            values["error"] = error
        return self._fenced(job_id, token, **values)

    def retry(self, job_id: str, token: str, error: str, delay: float) -> bool:
        return self._fenced(
            job_id,
            token,
            status="queued",
            error=error,
            worker=None,
            lease_until=None,
            run_after=utcnow() + timedelta(seconds=delay),
            message=f"retrying in {delay:.1f}s",
        )

    def release(self, job_id: str, token: str) -> bool:
        """Give a job back untouched (the worker is shutting down): queued now, attempt not counted."""
        return self._fenced(
            job_id,
            token,
            status="queued",
            worker=None,
            lease_until=None,
            run_after=utcnow(),
            attempts=Job.attempts - 1,
            message="released by a stopping worker",
        )

    # --- cancel and reap ----------------------------------------------------------------------
    def cancel(self, job_id: str) -> tuple[JobView, bool]:
        """Cancel a queued job now, or ask a running one to stop; returns (view, cancelled_now)."""
        with self.db.session() as s:
            res = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(status="cancelled", finished_at=utcnow(), message="cancelled before it ran")
                .execution_options(synchronize_session=False)
            )
            now = getattr(res, "rowcount", 0) == 1
            if not now:
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running")
                    .values(cancel_requested=True)
                    .execution_options(synchronize_session=False)
                )
        if now:
            self.publish("job.cancelled", job_id, {"while": "queued"})
        return self.get(job_id), now

    def reap(self) -> list[tuple[str, int]]:
        """Queue again every running job whose lease lapsed; returns [(job id, priority)] requeued."""
        now = utcnow()
        with self.db.session() as s:
            stale = s.execute(
                select(Job.id, Job.worker, Job.attempts, Job.max_attempts, Job.priority).where(
                    Job.status == "running", Job.lease_until < now
                )
            ).all()
        requeued: list[tuple[str, int]] = []
        for job_id, worker, attempts, max_attempts, priority in stale:
            if attempts < max_attempts:
                values: dict[str, Any] = {
                    "status": "queued",
                    "worker": None,
                    "lease_until": None,
                    "run_after": now,
                    "message": "its worker stopped; queued again",
                }
            else:
                values = {
                    "status": "failed",
                    "lease_until": None,
                    "finished_at": now,
                    "error": f"its worker stopped during the last of {max_attempts} attempt(s)",
                }
            with self.db.session() as s:
                res = s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running", Job.worker == worker)
                    .where(Job.lease_until < now)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if getattr(res, "rowcount", 0) != 1:
                    continue
            if values["status"] == "queued":
                requeued.append((job_id, priority))
                self.publish("job.retrying", job_id, {"attempt": attempts, "reason": "worker lost"})
            else:
                self.publish("job.failed", job_id, {"error": values["error"]})
        return requeued

    def queued_ids(self, ids: Iterable[str]) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Job.id).where(Job.id.in_(list(ids)), Job.status == "queued")))
