"""Remediation plans: /api/v1/remediation/plans (create from a stored scan, list, show, submit,
approve, reject, comment, apply with dry run, rollback).

Plans made here act through provider API calls: a Terraform working directory is a server path, and
the API never takes server paths from callers (Terraform-method plans come from `driftmgr remediate
plan --terraform-dir` on a machine that holds the configuration). The four-eyes rule and the
approval threshold are the service's: approving one's own plan is a 403, applying an unapproved
plan above the threshold a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from driftmgr.api.deps import Require
from driftmgr.services.access import Actor
from driftmgr.services.remediation import RemediationService
from driftmgr.services.remediation_planner import parse_strategy
from driftmgr.services.remediation_store import STATUSES

router = APIRouter(prefix="/api/v1/remediation", tags=["remediation"])
Pattern = Annotated[str, Field(min_length=1, max_length=500)]


def get_remediation(request: Request) -> RemediationService:
    return RemediationService.for_platform(request.app.state.platform, request.app.state.access)


RemediationDep = Annotated[RemediationService, Depends(get_remediation)]


class PlanRequest(BaseModel):
    scan_id: str = Field(min_length=1, max_length=64, description="A stored scan (/api/v1/drift/scans)")
    strategy: dict[str, str] | None = Field(
        default=None,
        description="status → action: drifted revert|accept, missing recreate|forget, unmanaged codify|delete"
        " (defaults: revert, recreate, codify)",
    )
    select: list[Pattern] | None = Field(
        default=None, max_length=500, description="Only these addresses, ids or types (globs)"
    )
    protect: list[Pattern] | None = Field(
        default=None, max_length=200, description="Never touch these addresses, ids or types (globs)"
    )
    max_actions: int | None = Field(default=None, ge=1, le=10000, description="Cap on actions (default 50)")
    submit: bool = Field(default=True, description="Pending review at once (else a draft)")


class ApproveRequest(BaseModel):
    comment: str | None = Field(default=None, max_length=4000)


class RejectRequest(BaseModel):
    comment: str = Field(min_length=1, max_length=4000, description="Why (required)")


class CommentRequest(BaseModel):
    body: str = Field(min_length=1, max_length=4000)


class ApplyRequest(BaseModel):
    dry_run: bool = Field(default=False, description="Return exactly what would run; change nothing")


@router.post("/plans", status_code=201)
def create_plan(
    body: PlanRequest,
    actor: Annotated[Actor, Depends(Require("remediation:create"))],
    service: RemediationDep,
) -> dict[str, Any]:
    """Build a plan for a stored scan (re-reading the live resources) and store it for review."""
    strategy = parse_strategy(body.strategy or {})
    report = service.report_of_scan(body.scan_id)
    options = service.options(
        strategy=strategy,
        select=body.select,
        max_actions=body.max_actions,
        protect=body.protect,
        scan_id=body.scan_id,
    )
    built = service.build(actor, report, options)
    view = service.create(actor, built, submit=body.submit)
    return {**view.to_dict(), "warnings": built.warnings}


@router.get("/plans")
def list_plans(
    actor: Annotated[Actor, Depends(Require("remediation:read"))],
    service: RemediationDep,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Plans, newest first, without their actions (GET one plan for those)."""
    views, total = service.list(actor, status=status, limit=limit, offset=offset)
    return {"items": [v.to_dict(full=False) for v in views], "total": total, "limit": limit, "offset": offset}


@router.get("/plans/{plan_id}")
def show_plan(
    plan_id: str, actor: Annotated[Actor, Depends(Require("remediation:read"))], service: RemediationDep
) -> dict[str, Any]:
    """A plan: actions with their diff and exact steps, refusals, blast radius, comments, outcome."""
    return service.get(actor, plan_id).to_dict()


@router.post("/plans/{plan_id}/submit")
def submit_plan(
    plan_id: str, actor: Annotated[Actor, Depends(Require("remediation:create"))], service: RemediationDep
) -> dict[str, Any]:
    """Put a draft up for review (its creator, or an admin)."""
    return service.submit(actor, plan_id).to_dict()


@router.post("/plans/{plan_id}/approve")
def approve_plan(
    plan_id: str,
    actor: Annotated[Actor, Depends(Require("remediation:approve"))],
    service: RemediationDep,
    body: ApproveRequest | None = None,
) -> dict[str, Any]:
    """Approve a pending plan: never one's own (403)."""
    return service.approve(actor, plan_id, body.comment if body else None).to_dict()


@router.post("/plans/{plan_id}/reject")
def reject_plan(
    plan_id: str,
    body: RejectRequest,
    actor: Annotated[Actor, Depends(Require("remediation:approve"))],
    service: RemediationDep,
) -> dict[str, Any]:
    """Reject a plan, with the reason: never one's own (403)."""
    return service.reject(actor, plan_id, body.comment).to_dict()


@router.post("/plans/{plan_id}/comments", status_code=201)
def comment_plan(
    plan_id: str,
    body: CommentRequest,
    actor: Annotated[Actor, Depends(Require("remediation:read"))],
    service: RemediationDep,
) -> dict[str, Any]:
    """Comment on a plan (those who create, approve or execute plans)."""
    return service.comment(actor, plan_id, body.body).to_dict()


@router.post(
    "/plans/{plan_id}/apply",
    status_code=202,
    responses={200: {"description": "Dry run: the exact steps that would run (nothing changed)"}},
)
def apply_plan(
    plan_id: str,
    actor: Annotated[Actor, Depends(Require("remediation:execute"))],
    service: RemediationDep,
    body: ApplyRequest | None = None,
) -> Any:
    """Queue the plan's execution (approved, or below the approval threshold; else 409), or dry-run it."""
    result = service.apply(actor, plan_id, dry_run=bool(body and body.dry_run))
    if result.dry_run:
        return JSONResponse(result.to_dict(), status_code=200)
    return result.to_dict()


@router.post("/plans/{plan_id}/rollback", status_code=202)
def rollback_plan(
    plan_id: str, actor: Annotated[Actor, Depends(Require("remediation:execute"))], service: RemediationDep
) -> dict[str, Any]:
    """Queue the restore of the snapshot taken before the plan ran."""
    return service.rollback(actor, plan_id).to_dict()
