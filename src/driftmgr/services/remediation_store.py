"""The remediation plan's states, its stored row seen as a `PlanView`, and `PlanStore`: the
conditional transitions, the checks on use (expiry, jobs that died) and comments (docs/remediation.md).

    draft → pending → approved → running → succeeded | failed → rolling_back → rolled_back
              ↘ rejected    ↘ expired                                          ↘ failed
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from driftmgr.engine.remediation import Plan
from driftmgr.errors import ConflictError, StateNotFoundError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Job, utcnow
from driftmgr.platform.db.models_access import PlanComment, RemediationPlan
from driftmgr.services.access import AccessService, Actor

log = logging.getLogger(__name__)

STATUSES = (
    "draft",
    "pending",
    "approved",
    "rejected",
    "expired",
    "running",
    "succeeded",
    "failed",
    "rolling_back",
    "rolled_back",
)
# the legal moves of the state machine; anything else is a ConflictError
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"pending", "running", "expired", "rejected"}),
    "pending": frozenset({"approved", "rejected", "expired", "running"}),
    "approved": frozenset({"running", "rejected", "expired"}),
    "running": frozenset({"succeeded", "failed"}),
    "succeeded": frozenset({"rolling_back"}),
    "failed": frozenset({"rolling_back"}),
    "rolling_back": frozenset({"rolled_back", "failed"}),
    "rejected": frozenset(),
    "expired": frozenset(),
    "rolled_back": frozenset(),
}
OPEN = ("draft", "pending", "approved")  # not yet run: these expire
BUSY = ("running", "rolling_back")  # a job owns the plan
JOB_KIND = "remediation"
ROLLBACK_KIND = "remediation_rollback"
MAX_COMMENT = 4000


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, frozenset()):
        raise ConflictError(f"a {current} plan cannot become {new}")


@dataclass(frozen=True)
class PlanView:
    id: str
    scan_id: str | None
    status: str
    risk: str
    created_by: str | None
    approved_by: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    job_id: str | None
    plan: dict[str, Any]
    snapshot: dict[str, Any] | None
    outcome: dict[str, Any] | None
    needs_approval: bool
    comments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.plan.get("summary") or Plan.from_dict(self.plan).summary())

    def to_plan(self) -> Plan:
        return Plan.from_dict(self.plan)

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "scan_id": self.scan_id,
            "status": self.status,
            "risk": self.risk,
            "needs_approval": self.needs_approval,
            "created_by": self.created_by,
            "approved_by": self.approved_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "job_id": self.job_id,
            "summary": self.summary,
        }
        if full:
            out.update(plan=self.plan, snapshot=self.snapshot, outcome=self.outcome, comments=self.comments)
        return out


@dataclass(frozen=True)
class ApplyResult:
    plan_id: str
    status: str
    dry_run: bool
    job_id: str | None = None
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "job_id": self.job_id,
            "lines": self.lines,
        }


class PlanStore:
    """Rows of `remediation_plans` and `plan_comments`; every status change goes through `transition`."""

    def __init__(
        self,
        db: Database,
        access: AccessService,
        *,
        needs_approval: Callable[[str], bool],
        publish: Callable[..., None],
    ) -> None:
        self.db = db
        self.access = access
        self.needs_approval = needs_approval
        self.publish = publish

    @staticmethod
    def row(s: Session, plan_id: str) -> RemediationPlan:
        row = s.get(RemediationPlan, plan_id)
        if row is None:
            raise StateNotFoundError("no such remediation plan", source=plan_id[:64])
        return row

    def view(self, row: RemediationPlan, comments: list[PlanComment] | None = None) -> PlanView:
        return PlanView(
            id=row.id,
            scan_id=row.scan_id,
            status=row.status,
            risk=row.risk,
            created_by=row.created_by,
            approved_by=row.approved_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            expires_at=row.expires_at,
            job_id=row.job_id,
            plan=dict(row.plan or {}),
            snapshot=row.snapshot,
            outcome=row.outcome,
            needs_approval=self.needs_approval(row.risk),
            comments=[
                {"id": c.id, "author": c.author, "body": c.body, "created_at": c.created_at.isoformat()}
                for c in comments or []
            ],
        )

    def load(self, plan_id: str, *, comments: bool = True) -> PlanView:
        """The plan as it is now (after the checks on use)."""
        self.reconcile(plan_id)
        with self.db.session() as s:
            row = self.row(s, plan_id)
            found = (
                list(
                    s.scalars(
                        select(PlanComment)
                        .where(PlanComment.plan_id == plan_id)
                        .order_by(PlanComment.created_at, PlanComment.id)
                    )
                )
                if comments
                else []
            )
            return self.view(row, found)

    def add_comment(self, plan_id: str, author: str, body: str) -> None:
        with self.db.session() as s:
            s.add(PlanComment(plan_id=plan_id, author=author, body=body))

    def attach_job(self, plan_id: str, job_id: str) -> None:
        """Name the job on the plan (unless the job, already running, claimed the plan itself)."""
        with self.db.session() as s:
            s.execute(
                update(RemediationPlan)
                .where(RemediationPlan.id == plan_id, RemediationPlan.job_id.is_(None))
                .values(job_id=job_id)
            )

    def give_back(self, plan_id: str, busy: str, before: str, **values: Any) -> None:
        """Undo a move to `busy` whose job could not be queued."""
        with self.db.session() as s:
            s.execute(
                update(RemediationPlan)
                .where(RemediationPlan.id == plan_id, RemediationPlan.status == busy)
                .values(status=before, updated_at=utcnow(), **values)
            )

    def transition(
        self,
        plan_id: str,
        allowed_from: tuple[str, ...],
        new: str,
        *,
        actor: Actor | None = None,
        action: str | None = None,
        **values: Any,
    ) -> str:
        """Move the plan to `new` if it is in one of `allowed_from`; returns the status it left.

        One conditional UPDATE, with its audit record (`action`) in the same transaction: of two
        racing callers one wins, the other gets a ConflictError."""
        with self.db.session() as s:
            current = s.scalar(select(RemediationPlan.status).where(RemediationPlan.id == plan_id))
            if current is None:
                raise StateNotFoundError("no such remediation plan", source=plan_id[:64])
            check_transition(current, new)
            if current not in allowed_from:
                raise ConflictError(f"the plan is {current}; it must be {' or '.join(allowed_from)}")
            res = s.execute(
                update(RemediationPlan)
                .where(RemediationPlan.id == plan_id, RemediationPlan.status == current)
                .values(status=new, updated_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )
            if getattr(res, "rowcount", 0) != 1:
                raise ConflictError("the plan changed meanwhile: look at it again", source=plan_id)
            if action is not None:
                self.access.audit_in(
                    s, actor, action, f"plan:{plan_id}", changes={"status": [current, new]},
                    origin=None if actor else "worker",
                )  # fmt: skip
            return str(current)

    def expire_due(self) -> None:
        now = utcnow()
        with self.db.session() as s:
            due = s.scalars(
                select(RemediationPlan.id).where(
                    RemediationPlan.status.in_(OPEN), RemediationPlan.expires_at <= now
                )
            ).all()
        for plan_id in due:
            self.reconcile(plan_id)

    def reconcile(self, plan_id: str) -> None:
        """Checks on use: an open plan past its expiry becomes `expired`; a plan whose job ended
        without the job finishing it (its worker died, it was cancelled) becomes `failed`."""
        with self.db.session() as s:
            row = s.get(RemediationPlan, plan_id)
            if row is None:
                return
            status, expires, job_id = row.status, row.expires_at, row.job_id
            job = s.get(Job, job_id) if job_id and status in BUSY else None
            job_state = (job.status, job.error) if job is not None else None
        if status in OPEN and expires is not None and expires <= utcnow():
            with contextlib.suppress(ConflictError):  # someone moved it first
                self.transition(plan_id, OPEN, "expired", action="remediation.expire")
            return
        if job_state is not None and job_state[0] in ("failed", "cancelled"):
            error = f"the job {job_state[0]} before it finished the plan: {job_state[1] or 'no error given'}"
            with self.db.session() as s:
                row = s.get(RemediationPlan, plan_id)
                if row is None or row.status not in BUSY or row.job_id != job_id:
                    return
                outcome = dict(row.outcome or {})
                key = "rollback" if row.status == "rolling_back" else None
                part = dict(outcome.get(key) or {}) if key else outcome
                if not part.get("started_at"):
                    error += " (it never started: nothing ran)"
                part.update(ok=False, error=error, interrupted=True)
                if key:
                    outcome[key] = part
                row.outcome = outcome
                row.status = "failed"
                row.updated_at = utcnow()
            self.access.record(
                None,
                "remediation.interrupted",
                f"plan:{plan_id}",
                "failure",
                changes={"status": [status, "failed"]},
                extra={"error": error[:500]},
            )
            self.publish("remediation.failed", plan_id, None, phase=key or "execute", error=error)
