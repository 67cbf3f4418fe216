"""RemediationService: plans from drift reports, reviewed by four eyes, run as jobs, reversible.

The plan's life (docs/remediation.md), one row of `remediation_plans`:

    draft → pending → approved → running → succeeded | failed → rolling_back → rolled_back
              ↘ rejected    ↘ expired                                          ↘ failed

- `create` stores a plan as `pending` (submitted for review) or, with `submit=False`, as `draft`.
- A plan whose risk is at or above `remediation_approval_risk` (default medium) runs only once an
  Approver or Admin who did not create it approved it; below the threshold, whoever may execute
  (Operator, Admin) may apply a draft or pending plan directly.
- Unapplied plans expire `remediation_plan_ttl` seconds after creation (default 7 days), checked
  whenever the plan is used.
- `apply` queues a low-priority job `remediation` (never retried: a half-run remediation is rolled
  back, not repeated); the job runs `RemediationExecutor.execute` and stores the snapshot and outcome.
  `rollback` queues `remediation_rollback` from the stored snapshot.

Every transition is a conditional UPDATE (from the states it may leave), so two approvers or two
`apply` calls racing cannot both win; every step is audited (AccessService.record) and published as
a `remediation.*` event whose severity is the plan's risk (notification rules select on it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from driftmgr.config import Settings
from driftmgr.engine.remediation import RISKS, Plan, risk_rank
from driftmgr.engine.report import DriftReport
from driftmgr.errors import ConflictError, DriftMgrError, StateNotFoundError, UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Scan, utcnow
from driftmgr.platform.db.models_access import RemediationPlan
from driftmgr.platform.events.base import EventBus
from driftmgr.security import rbac
from driftmgr.security.errors import AuthenticationError, PermissionDeniedError
from driftmgr.services.access import AccessService, Actor
from driftmgr.services.remediation_planner import (
    BuiltPlan,
    Planner,
    PlanOptions,
    parse_protect_tag,
    split_patterns,
)
from driftmgr.services.remediation_store import (
    JOB_KIND,
    MAX_COMMENT,
    OPEN,
    ROLLBACK_KIND,
    STATUSES,
    ApplyResult,
    PlanStore,
    PlanView,
)

if TYPE_CHECKING:
    from driftmgr.platform.jobs import QueueBase
    from driftmgr.platform.runtime import Platform

log = logging.getLogger(__name__)
__all__ = ["ApplyResult", "PlanView", "RemediationService"]


def report_from_dict(data: Any, *, source: str) -> DriftReport:
    """A drift report from its JSON document (DESIGN §3), or one UsageError line."""
    if not isinstance(data, dict) or "resources" not in data or "summary" not in data:
        raise UsageError(
            "not a drift report (make one with `driftmgr drift detect --format json`)", source=source
        )
    try:
        return DriftReport.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"not a valid drift report: {type(exc).__name__} {exc}", source=source) from None


def _default_executor() -> Any:
    from driftmgr.services.remediation_exec import RemediationExecutor

    return RemediationExecutor()


class RemediationService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        events: EventBus | None = None,
        jobs: QueueBase | None = None,
        access: AccessService | None = None,
        planner: Planner | None = None,
        executor: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.events = events
        self.jobs = jobs
        self.access = access or AccessService(settings, db)
        self.planner = planner or Planner()
        self._executor = executor or _default_executor
        self.store = PlanStore(db, self.access, needs_approval=self.needs_approval, publish=self.publish)

    @classmethod
    def for_platform(cls, platform: Platform, access: AccessService | None = None) -> RemediationService:
        from driftmgr.platform.jobs import QueueBase

        jobs = platform.jobs if isinstance(platform.jobs, QueueBase) else None
        return cls(platform.settings, platform.db, events=platform.events, jobs=jobs, access=access)

    @classmethod
    @contextlib.contextmanager
    def open(cls, settings: Settings) -> Iterator[RemediationService]:
        """The service of a short-lived process (the CLI): its events are persisted and notified like
        a server's; its jobs go to the shared queue (and `run_here` may run one in this process)."""
        from driftmgr.platform.db.engine import open_database
        from driftmgr.platform.jobs import build_queue
        from driftmgr.platform.runtime import one_shot_events

        db = open_database(settings)
        try:
            with one_shot_events(settings, db) as bus:
                jobs = build_queue(settings, db, bus)
                service = cls(settings, db, events=bus, jobs=jobs)
                service.register(jobs)
                try:
                    yield service
                finally:
                    jobs.close()
        finally:
            db.dispose()

    def register(self, queue: QueueBase) -> None:
        """Register the job kinds `remediation` and `remediation_rollback` (services/workflow.py)."""
        from driftmgr.services.remediation_jobs import RemediationJobs

        handlers = RemediationJobs(self)
        queue.register(JOB_KIND, handlers.run_execute)
        queue.register(ROLLBACK_KIND, handlers.run_rollback)

    # --- identity ------------------------------------------------------------------------------

    def cli_actor(self, username: str | None) -> Actor:
        """Who the CLI acts as: a registered, active user (`--as USER` / DRIFTMGR_USER) with their
        roles, else the local operator `cli:<login>` as admin (the CLI reaches the database directly)."""
        if not username:
            return Actor.cli()
        from driftmgr.security.users import find_user, roles_of

        with self.db.session() as s:
            row = find_user(s, username)
            if row is None or not row.active:
                raise AuthenticationError(f"no active DriftMgr user {username.strip().lower()!r}")
            return Actor(username=row.username, roles=roles_of(s, row.id), user_id=row.id)

    def needs_approval(self, risk: str) -> bool:
        threshold = self.settings.remediation_approval_risk
        return risk_rank(risk if risk in RISKS else "critical") >= risk_rank(threshold)

    # --- building plans ------------------------------------------------------------------------

    def options(
        self,
        *,
        strategy: dict[str, str],
        select: list[str] | None = None,
        terraform_dir: str | None = None,
        config_dir: str | None = None,
        max_actions: int | None = None,
        protect: list[str] | None = None,
        scan_id: str | None = None,
    ) -> PlanOptions:
        """Plan options over the settings (cap, protection tag and patterns)."""
        cap = max_actions if max_actions is not None else self.settings.remediation_max_actions
        if cap < 1:
            raise UsageError("--max-actions must be at least 1")
        return PlanOptions(
            strategy=strategy,
            select=list(select or []),
            terraform_dir=terraform_dir,
            config_dir=config_dir,
            max_actions=cap,
            protect_tag=parse_protect_tag(self.settings.remediation_protect_tag),
            protect=split_patterns(self.settings.remediation_protect) + split_patterns(protect),
            scan_id=scan_id,
        )

    @staticmethod
    def load_report(path: str) -> DriftReport:
        """A JSON drift report file (`drift detect --format json`); UsageError naming what is wrong."""
        import orjson

        try:
            data = orjson.loads(Path(path).expanduser().read_bytes())
        except OSError as exc:
            raise UsageError(f"cannot read the report: {exc.strerror or exc}", source=path) from None
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"the report is not JSON: {exc}", source=path) from None
        return report_from_dict(data, source=path)

    def report_of_scan(self, scan_id: str) -> DriftReport:
        with self.db.session() as s:
            scan = s.get(Scan, scan_id)
            if scan is None:
                raise StateNotFoundError("no such scan", source=scan_id)
            stored = dict(scan.report)
        return report_from_dict(stored, source=f"scan {scan_id}")

    def build(self, actor: Actor, report: DriftReport, options: PlanOptions) -> BuiltPlan:
        """A plan for the report (nothing stored yet): needs remediation:create."""
        self.access.authorize(actor, "remediation:create", "remediation")
        return self.planner.build(report, options)

    # --- storing and reading -------------------------------------------------------------------

    def create(self, actor: Actor, built: BuiltPlan, *, submit: bool = True) -> PlanView:
        """Store a built plan, `pending` review (or `draft`); audited and announced."""
        self.access.authorize(actor, "remediation:create", "remediation")
        plan = built.plan
        now = utcnow()
        row = RemediationPlan(
            scan_id=plan.report.get("scan_id"),
            status="pending" if submit else "draft",
            risk=plan.risk,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=self.settings.remediation_plan_ttl),
            plan=plan.to_dict(),
        )
        summary = plan.summary()
        with self.db.session() as s:
            s.add(row)
            s.flush()
            plan_id = row.id
            self.access.audit_in(
                s,
                actor,
                "remediation.plan_create",
                f"plan:{plan_id}",
                changes={"status": row.status, "risk": row.risk, "summary": summary},
                extra={"scan_id": row.scan_id, "warnings": built.warnings[:20]},
            )
        self.publish(
            "remediation.plan_created",
            plan_id,
            row.risk,
            status=row.status,
            created_by=actor.username,
            needs_approval=self.needs_approval(row.risk),
            summary=summary,
        )
        return self.get(actor, plan_id)

    def get(self, actor: Actor, plan_id: str) -> PlanView:
        self.access.authorize(actor, "remediation:read", f"plan:{plan_id}")
        return self.store.load(plan_id)

    def list(
        self, actor: Actor, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[PlanView], int]:
        """Plans, newest first (without comments), and how many match."""
        self.access.authorize(actor, "remediation:read", "remediation")
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown plan status {status!r} (one of: {', '.join(STATUSES)})")
        self.store.expire_due()
        q = select(RemediationPlan)
        if status:
            q = q.where(RemediationPlan.status == status)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(
                q.order_by(RemediationPlan.created_at.desc(), RemediationPlan.id).offset(offset).limit(limit)
            ).all()
            return [self.store.view(r) for r in rows], int(total)

    # --- review ----------------------------------------------------------------------------------

    def _four_eyes(self, actor: Actor, plan_id: str, action: str) -> RemediationPlan:
        self.access.authorize(actor, "remediation:approve", f"plan:{plan_id}")
        self.store.reconcile(plan_id)
        with self.db.session() as s:
            row = self.store.row(s, plan_id)
            s.expunge(row)
        if not rbac.can_approve(actor.username, actor.roles, row.created_by):
            self.access.record(
                actor, action, f"plan:{plan_id}", "denied", extra={"reason": "four eyes: the creator"}
            )
            raise PermissionDeniedError(
                "four eyes: a plan is approved or rejected by someone other than its creator",
                permission="remediation:approve",
            )
        return row

    @staticmethod
    def _check_body(body: str | None, *, required: bool) -> str | None:
        text = (body or "").strip()
        if not text:
            if required:
                raise UsageError("give a comment (why)")
            return None
        if len(text) > MAX_COMMENT:
            raise UsageError(f"a comment is at most {MAX_COMMENT} characters")
        return text

    def submit(self, actor: Actor, plan_id: str) -> PlanView:
        """A draft goes up for review (its creator, or an admin)."""
        self.access.authorize(actor, "remediation:create", f"plan:{plan_id}")
        self.store.reconcile(plan_id)
        with self.db.session() as s:
            row = self.store.row(s, plan_id)
            creator, risk = row.created_by, row.risk
        if creator != actor.username and "admin" not in actor.roles:
            self.access.record(actor, "remediation.submit", f"plan:{plan_id}", "denied")
            raise PermissionDeniedError("only its creator (or an admin) submits a draft plan")
        before = self._mutate(actor, "remediation.submit", plan_id, ("draft",), "pending")
        self.publish("remediation.plan_created", plan_id, risk, status="pending", submitted_from=before)
        return self.get(actor, plan_id)

    def approve(self, actor: Actor, plan_id: str, comment: str | None = None) -> PlanView:
        """Four eyes: an Approver or Admin who did not create the plan approves a pending plan."""
        text = self._check_body(comment, required=False)
        row = self._four_eyes(actor, plan_id, "remediation.approve")
        self._mutate(actor, "remediation.approve", plan_id, ("pending",), "approved",
                     approved_by=actor.username)  # fmt: skip
        if text:
            self.store.add_comment(plan_id, actor.username, text)
        self.publish("remediation.approved", plan_id, row.risk, approved_by=actor.username, comment=text)
        return self.get(actor, plan_id)

    def reject(self, actor: Actor, plan_id: str, comment: str) -> PlanView:
        """Four eyes too; the reason is required and kept as a comment."""
        text = self._check_body(comment, required=True)
        assert text is not None
        row = self._four_eyes(actor, plan_id, "remediation.reject")
        self._mutate(actor, "remediation.reject", plan_id, ("draft", "pending", "approved"), "rejected",
                     approved_by=None)  # fmt: skip
        self.store.add_comment(plan_id, actor.username, text)
        self.publish("remediation.rejected", plan_id, row.risk, rejected_by=actor.username, comment=text)
        return self.get(actor, plan_id)

    def comment(self, actor: Actor, plan_id: str, body: str) -> PlanView:
        """Those who create, approve or execute plans discuss them; readers only read."""
        text = self._check_body(body, required=True)
        assert text is not None
        self.access.authorize(actor, "remediation:read", f"plan:{plan_id}")
        with self.db.session() as s:
            self.store.row(s, plan_id)
        if not any(
            actor.can(p) for p in ("remediation:create", "remediation:approve", "remediation:execute")
        ):
            self.access.authorize(actor, "remediation:create", f"plan:{plan_id}")  # records, raises
        self.store.add_comment(plan_id, actor.username, text)
        self.access.record(actor, "remediation.comment", f"plan:{plan_id}", changes={"comment": text[:500]})
        return self.get(actor, plan_id)

    def _mutate(
        self, actor: Actor, action: str, plan_id: str, allowed: tuple[str, ...], new: str, **values: Any
    ) -> str:
        try:
            return self.store.transition(plan_id, allowed, new, actor=actor, action=action, **values)
        except DriftMgrError as exc:
            self.access.record(actor, action, f"plan:{plan_id}", "failure", extra={"error": str(exc)[:500]})
            raise

    # --- execution -------------------------------------------------------------------------------

    def executor(self) -> Any:
        return self._executor()

    def apply(self, actor: Actor, plan_id: str, *, dry_run: bool = False) -> ApplyResult:
        """Queue the plan's execution, or (dry run) return exactly what it would run, changing nothing.

        Runs only an approved plan, or a draft/pending one below the approval threshold."""
        self.access.authorize(actor, "remediation:execute", f"plan:{plan_id}")
        self.store.reconcile(plan_id)
        with self.db.session() as s:
            row = self.store.row(s, plan_id)
            status, risk, data = row.status, row.risk, dict(row.plan or {})
        plan = Plan.from_dict(data)
        if dry_run:
            lines = list(self.executor().preview(plan))
            self.access.record(actor, "remediation.dry_run", f"plan:{plan_id}", extra={"lines": len(lines)})
            return ApplyResult(plan_id, status, True, lines=lines)
        allowed: tuple[str, ...] = ("approved",)
        if not self.needs_approval(risk):
            allowed = ("draft", "pending", "approved")
        if status not in allowed:
            reason = (
                f"a {risk}-risk plan runs only once approved by an approver who did not create it "
                f"(threshold: {self.settings.remediation_approval_risk}); it is {status}"
                if status in OPEN
                else f"a {status} plan cannot be applied"
            )
            self.access.record(
                actor, "remediation.apply", f"plan:{plan_id}", "failure", extra={"error": reason}
            )
            raise ConflictError(reason, source=f"plan {plan_id}")
        if not any(a.steps for a in plan.actions):
            raise ConflictError(
                "the plan has nothing to run (codify without --terraform-dir: its result is imports.tf "
                "and generated.tf)"
                if plan.actions
                else "the plan has no actions to run",
                source=f"plan {plan_id}",
            )
        if self.jobs is None:
            raise UsageError("no job queue in this process: plans run as jobs")
        outcome = {"applied_by": actor.username}
        before = self._mutate(actor, "remediation.apply", plan_id, allowed, "running", job_id=None,
                              outcome=outcome)  # fmt: skip
        job_id = self._queue(actor, plan_id, JOB_KIND, "running", before, outcome=None)
        return ApplyResult(plan_id, "running", False, job_id=job_id)

    def rollback(self, actor: Actor, plan_id: str) -> ApplyResult:
        """Queue the restore of the snapshot taken before the plan ran."""
        self.access.authorize(actor, "remediation:execute", f"plan:{plan_id}")
        self.store.reconcile(plan_id)
        with self.db.session() as s:
            row = self.store.row(s, plan_id)
            snapshot, outcome = row.snapshot, dict(row.outcome or {})
        if not snapshot:
            reason = "the plan has no snapshot to roll back to (it never ran, or it stopped before)"
            self.access.record(
                actor, "remediation.rollback", f"plan:{plan_id}", "failure", extra={"error": reason}
            )
            raise ConflictError(reason, source=f"plan {plan_id}")
        if self.jobs is None:
            raise UsageError("no job queue in this process: rollbacks run as jobs")
        outcome["rollback"] = {"requested_by": actor.username}
        before = self._mutate(actor, "remediation.rollback", plan_id, ("succeeded", "failed"), "rolling_back",
                              outcome=outcome, job_id=None)  # fmt: skip
        undo = {"job_id": outcome.get("job_id")}
        job_id = self._queue(actor, plan_id, ROLLBACK_KIND, "rolling_back", before, **undo)
        return ApplyResult(plan_id, "rolling_back", False, job_id=job_id)

    def _queue(self, actor: Actor, plan_id: str, kind: str, busy: str, before: str, **undo: Any) -> str:
        """Queue the plan's job (run once, never retried); if it cannot be queued, put the plan back
        from `busy` to `before` (with `undo` values) and raise."""
        from driftmgr.platform.jobs import PRIORITY

        assert self.jobs is not None
        try:
            job_id = self.jobs.submit(
                kind, {"plan_id": plan_id}, priority=PRIORITY[kind], max_attempts=1, created_by=actor.username
            )
        except BaseException:
            self.store.give_back(plan_id, busy, before, **undo)  # nothing was queued
            raise
        self.store.attach_job(plan_id, job_id)
        return job_id

    def run_here(self, job_id: str, timeout: float | None = None) -> None:
        """Run a queued job in this process when the queue is the embedded pool (the CLI's --wait),
        else wait for a worker to run it. A job another worker claimed first is only waited for."""
        from driftmgr.platform.jobs import LocalQueue

        if self.jobs is None:
            raise UsageError("no job queue in this process")
        if isinstance(self.jobs, LocalQueue):
            claimed = self.jobs.store.claim(job_id, f"{self.jobs.name}/cli")
            if claimed is not None:
                self.jobs.runner.execute(claimed)
        self.jobs.wait(job_id, timeout)

    # --- events ---------------------------------------------------------------------------------

    def publish(self, type: str, plan_id: str, risk: str | None, **payload: Any) -> None:
        if self.events is None:
            return
        try:
            self.events.publish(
                type, {"plan_id": plan_id, **payload}, severity=risk if risk in RISKS else None,
                job_id=payload.get("job_id"),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - events are a side channel: the row is the truth
            log.warning("cannot publish %s for plan %s: %s", type, plan_id, exc)
