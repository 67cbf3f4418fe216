"""The job handlers of remediation: `remediation` runs a plan, `remediation_rollback` restores its
snapshot (both low priority, never retried; registered by RemediationService.register).

A handler first claims the plan for its job (the plan must be `running` / `rolling_back` under no
other job); a job that runs again after its first run started — its worker stopped — does not
execute twice: it marks the plan failed ("interrupted") and a person decides (roll back or re-plan).
The executor's outcome and snapshot are stored on the plan, each action's result is audited, and
`remediation.executed|failed|rolled_back` is published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from driftmgr.engine.remediation import Plan
from driftmgr.errors import ConflictError, DriftMgrError, UsageError
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import RemediationPlan
from driftmgr.platform.jobs.base import JobContext
from driftmgr.services.access import Actor

if TYPE_CHECKING:
    from driftmgr.services.remediation import RemediationService


class RemediationFailed(DriftMgrError):
    """The plan ran and did not succeed (its outcome is stored on the plan): the job fails with it."""

    code = "remediation_failed"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, DriftMgrError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _progress(ctx: JobContext, start: float, end: float) -> Any:
    """The executor's progress callback (done, total, message) as job progress (which also raises
    JobCancelled once the job is cancelled: the executor stops between actions)."""

    def progress(done: int, total: int, message: str = "") -> None:
        share = done / total if total else 0.0
        ctx.progress(start + (end - start) * share, message)

    return progress


class RemediationJobs:
    def __init__(self, service: RemediationService) -> None:
        self.service = service

    @property
    def db(self) -> Any:
        return self.service.db

    def _claim(
        self, ctx: JobContext, status: str, phase: str
    ) -> dict[str, Any] | tuple[Plan, dict[str, Any]]:
        """(plan, outcome so far) for this job to run, or the result of an earlier run of the job."""
        plan_id = ctx.payload.get("plan_id")
        if not isinstance(plan_id, str) or not plan_id:
            raise UsageError("a remediation job needs 'plan_id'")
        with self.db.session() as s:
            row = s.get(RemediationPlan, plan_id)
            if row is None:
                raise UsageError("no such remediation plan", source=plan_id)
            if row.job_id not in (None, ctx.job_id):
                raise ConflictError(f"the plan belongs to job {row.job_id}", source=f"plan {plan_id}")
            if row.status != status:
                if row.job_id == ctx.job_id:  # an earlier run of this job finished it
                    return {"plan_id": plan_id, "status": row.status}
                raise ConflictError(f"the plan is {row.status}, not {status}", source=f"plan {plan_id}")
            outcome = dict(row.outcome or {})
            part = dict(outcome.get("rollback") or {}) if phase == "rollback" else outcome
            if part.get("started_at"):
                interrupted = True
            else:
                interrupted = False
                part.update(started_at=utcnow().isoformat(), job_id=ctx.job_id, attempt=ctx.attempt)
                if phase == "rollback":
                    outcome["rollback"] = part
                row.outcome = outcome
                row.job_id = ctx.job_id
            data = dict(row.plan or {})
        if interrupted:
            error = (
                "interrupted: the worker stopped while it ran; check the resources, then roll back or re-plan"
            )
            self._finish(ctx, plan_id, phase, {"ok": False, "error": error, "interrupted": True}, None)
            return {"plan_id": plan_id, "status": "failed", "error": error}
        return Plan.from_dict(data), outcome

    def _finish(
        self,
        ctx: JobContext,
        plan_id: str,
        phase: str,
        result: dict[str, Any],
        snapshot: dict[str, Any] | None,
    ) -> str:
        """Store the result on the plan (status by `ok`), audit it, publish it; returns the status."""
        ok = bool(result.get("ok"))
        busy = "rolling_back" if phase == "rollback" else "running"
        final = ("rolled_back" if phase == "rollback" else "succeeded") if ok else "failed"
        with self.db.session() as s:
            row = s.get(RemediationPlan, plan_id)
            if row is None or row.job_id != ctx.job_id:
                return "lost"
            before = row.status
            outcome = dict(row.outcome or {})
            if phase == "rollback":
                outcome["rollback"] = {**dict(outcome.get("rollback") or {}), **result}
            else:
                outcome.update(result)
            values: dict[str, Any] = {"status": final, "outcome": outcome, "updated_at": utcnow()}
            if snapshot is not None:
                values["snapshot"] = snapshot
            s.execute(
                update(RemediationPlan)
                .where(RemediationPlan.id == plan_id, RemediationPlan.job_id == ctx.job_id)
                .where(RemediationPlan.status.in_((busy, "failed")))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            risk = row.risk
            who = (
                outcome.get("applied_by")
                if phase == "execute"
                else (outcome.get("rollback") or {}).get("requested_by")
            )
        actor = Actor(username=str(who or "worker"), roles=frozenset(), via="job", origin="worker")
        access = self.service.access
        for a in result.get("actions") or []:
            access.record(
                actor,
                "remediation.rollback_action" if phase == "rollback" else "remediation.action",
                f"plan:{plan_id}",
                "success" if a.get("status") in ("succeeded", "skipped") else "failure",
                changes={k: a.get(k) for k in ("id", "status", "ran", "error") if a.get(k) is not None},
                extra={"job_id": ctx.job_id},
            )
        access.record(
            actor,
            "remediation.rolled_back" if phase == "rollback" else "remediation.executed",
            f"plan:{plan_id}",
            "success" if ok else "failure",
            changes={"status": [before, final]},
            extra={
                "job_id": ctx.job_id,
                **({"error": str(result["error"])[:500]} if result.get("error") else {}),
            },
        )
        if ok:
            event = "remediation.rolled_back" if phase == "rollback" else "remediation.executed"
        else:
            event = "remediation.failed"
        validation = result.get("validation") or []
        self.service.publish(
            event,
            plan_id,
            risk,
            phase=phase,
            status=final,
            job_id=ctx.job_id,
            error=result.get("error"),
            actions=[{k: a.get(k) for k in ("id", "status", "error")} for a in result.get("actions") or []],
            in_sync=sum(1 for v in validation if v.get("in_sync")),
            out_of_sync=sum(1 for v in validation if not v.get("in_sync")),
        )
        return final

    @staticmethod
    def _failure(result: dict[str, Any]) -> str:
        failed = [a for a in result.get("actions") or [] if a.get("status") == "failed"]
        if failed:
            a = failed[0]
            return f"action {a.get('id')} failed: {a.get('error') or 'no error given'}"
        remaining = [v for v in result.get("validation") or [] if not v.get("in_sync")]
        if remaining:
            first = remaining[0]
            why = first.get("error") or "; ".join(
                str(c.get("note") or c.get("path")) for c in first.get("remaining") or []
            )
            return f"{len(remaining)} resource(s) not in sync after the run ({first.get('id')}: {why or '?'})"
        return str(result.get("error") or "the run did not succeed")

    def run_execute(self, ctx: JobContext) -> dict[str, Any]:
        claimed = self._claim(ctx, "running", "execute")
        if isinstance(claimed, dict):
            return claimed
        plan, _ = claimed
        plan_id = str(ctx.payload["plan_id"])
        ctx.progress(0, f"snapshot of {len(plan.actions)} target(s)")
        try:
            result = dict(
                self.service.executor().execute(
                    plan,
                    progress=_progress(ctx, 2, 98),
                    cancel=lambda: ctx.cancelled,
                    on_snapshot=lambda snap: self._keep_snapshot(ctx, plan_id, snap),
                )
            )
        except Exception as exc:  # noqa: BLE001 - stored on the plan, then the job fails with it
            result = {"ok": False, "error": _describe(exc), "actions": []}
        snapshot = result.pop("snapshot", None)
        status = self._finish(
            ctx, plan_id, "execute", result, snapshot if isinstance(snapshot, dict) else None
        )
        if status != "succeeded":
            raise RemediationFailed(self._failure(result), source=f"plan {plan_id}")
        return {"plan_id": plan_id, "status": status, "actions": len(result.get("actions") or [])}

    def _keep_snapshot(self, ctx: JobContext, plan_id: str, snapshot: dict[str, Any]) -> None:
        """Store the snapshot on the plan before any action runs (fenced by this job's claim)."""
        with self.db.session() as s:
            kept = s.execute(
                update(RemediationPlan)
                .where(RemediationPlan.id == plan_id, RemediationPlan.job_id == ctx.job_id)
                .where(RemediationPlan.status == "running")
                .values(snapshot=snapshot, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
        if kept != 1:
            raise RemediationFailed("the plan is no longer this job's to run", source=f"plan {plan_id}")

    def run_rollback(self, ctx: JobContext) -> dict[str, Any]:
        claimed = self._claim(ctx, "rolling_back", "rollback")
        if isinstance(claimed, dict):
            return claimed
        plan, outcome = claimed
        plan_id = str(ctx.payload["plan_id"])
        with self.db.session() as s:
            row = s.get(RemediationPlan, plan_id)
            snapshot = dict(row.snapshot or {}) if row is not None else {}
        ctx.progress(0, "restoring the snapshot")
        execution = {k: v for k, v in outcome.items() if k != "rollback"}
        try:
            result = dict(self.service.executor().rollback(plan, snapshot, execution))
        except Exception as exc:  # noqa: BLE001 - stored on the plan, then the job fails with it
            result = {"ok": False, "error": _describe(exc), "actions": []}
        status = self._finish(ctx, plan_id, "rollback", result, None)
        if status != "rolled_back":
            raise RemediationFailed(f"rollback incomplete: {self._failure(result)}", source=f"plan {plan_id}")
        return {"plan_id": plan_id, "status": status}
