"""Jobs: /api/v1/jobs (list, show with progress, cancel)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from driftmgr.api.deps import Require, WorkflowDep, audited
from driftmgr.api.errors import ApiError
from driftmgr.platform.jobs.base import KINDS
from driftmgr.services.access import Actor

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def _job(workflow: WorkflowDep, job_id: str) -> dict[str, Any]:
    from driftmgr.errors import DriftMgrError

    try:
        return workflow.status(job_id).to_dict()
    except DriftMgrError:
        raise ApiError(404, "not_found", f"no job {job_id!r}") from None


@router.get("")
def list_jobs(
    _: Annotated[Actor, Depends(Require("jobs:read"))],
    workflow: WorkflowDep,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
    kind: Annotated[str | None, Query(pattern="^(" + "|".join(KINDS) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Jobs, newest first, filtered by status and kind."""
    jobs = workflow.list(status=status, kind=kind, limit=limit)
    return {"items": [j.to_dict() for j in jobs], "limit": limit}


@router.get("/{job_id}")
def show_job(
    job_id: str, _: Annotated[Actor, Depends(Require("jobs:read"))], workflow: WorkflowDep
) -> dict[str, Any]:
    """One job: status, progress (percent + message), attempts, result or error."""
    return _job(workflow, job_id)


@router.post("/{job_id}/cancel")
def cancel_job(
    job_id: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("jobs:cancel"))],
    workflow: WorkflowDep,
) -> dict[str, Any]:
    """Cancel a queued job now, or ask a running one to stop (it stops at its next check, within 2 s)."""
    _job(workflow, job_id)
    view = workflow.cancel(job_id).to_dict()
    audited(request, actor, "job.cancel", f"job:{job_id}")
    return view
