"""The GUI's remediation pages: the plan list (and a form building a plan from a scan), and the plan
page where an Approver reviews each action's diff and exact steps and approves or rejects it.

Forms post with the session's CSRF token like every other page (pages.py reads it before the access
rule); every page works with JavaScript off. The routes are added to the GUI router of pages.py
(which imports this module last), so they are its own routes and the RBAC matrix sees them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from driftmgr.api.deps import PlatformDep, Require
from driftmgr.errors import UsageError
from driftmgr.security.rbac import can_approve
from driftmgr.services.access import Actor
from driftmgr.services.history import HistoryService
from driftmgr.services.remediation import ApplyResult, RemediationService
from driftmgr.services.remediation_planner import DEFAULT_STRATEGY, parse_strategy
from driftmgr.services.remediation_store import OPEN, STATUSES
from driftmgr.web.pages import _one, ctx, router
from driftmgr.web.render import page


def _service(request: Request) -> RemediationService:
    return RemediationService.for_platform(request.app.state.platform, request.app.state.access)


@router.get("/remediation", response_class=HTMLResponse)
def plans_page(
    request: Request,
    actor: Annotated[Actor, Depends(Require("remediation:read"))],
    platform: PlatformDep,
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    service = _service(request)
    views, total = service.list(actor, status=status if status in STATUSES else None, limit=200)
    scans = HistoryService(platform.db).scans(limit=20) if actor.can("remediation:create") else []
    return page(
        request,
        "remediation.html",
        ctx(
            request,
            actor,
            plans=views,
            total=total,
            status=status,
            statuses=STATUSES,
            scans=scans,
            strategies=DEFAULT_STRATEGY,
        ),
    )


@router.post("/remediation")
def create_plan(
    request: Request, actor: Annotated[Actor, Depends(Require("remediation:create"))]
) -> Response:
    scan_id = _one(request, "scan_id")
    if not scan_id:
        raise UsageError("pick the scan to plan for")
    chosen = {s: _one(request, f"strategy_{s}") for s in DEFAULT_STRATEGY if _one(request, f"strategy_{s}")}
    select = [p.strip() for p in _one(request, "select").split(",") if p.strip()]
    service = _service(request)
    options = service.options(strategy=parse_strategy(chosen), select=select, scan_id=scan_id)
    built = service.build(actor, service.report_of_scan(scan_id), options)
    view = service.create(actor, built, submit=True)
    return RedirectResponse(f"/remediation/{view.id}", status_code=303)


def _plan_page(request: Request, actor: Actor, plan_id: str, preview: ApplyResult | None = None) -> Response:
    view = _service(request).get(actor, plan_id)
    review = view.status in ("draft", "pending", "approved") and can_approve(
        actor.username, actor.roles, view.created_by
    )
    runnable = view.status == "approved" or (view.status in OPEN and not view.needs_approval)
    allowed: dict[str, Any] = {
        "approve": review and view.status == "pending",
        "reject": review,
        "own": actor.username == view.created_by,
        "submit": view.status == "draft" and actor.can("remediation:create"),
        "apply": runnable and actor.can("remediation:execute"),
        "dry_run": actor.can("remediation:execute") and bool(view.plan.get("actions")),
        "rollback": view.status in ("succeeded", "failed")
        and bool(view.snapshot)
        and actor.can("remediation:execute"),
        "comment": any(
            actor.can(p) for p in ("remediation:create", "remediation:approve", "remediation:execute")
        ),
    }
    return page(
        request,
        "remediation_plan.html",
        ctx(
            request, actor, view=view, plan=view.to_plan(), summary=view.summary, can=allowed, preview=preview
        ),
    )


@router.get("/remediation/{plan_id}", response_class=HTMLResponse)
def plan_page(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:read"))]
) -> Response:
    return _plan_page(request, actor, plan_id)


def _back(plan_id: str) -> Response:
    return RedirectResponse(f"/remediation/{plan_id}", status_code=303)


@router.post("/remediation/{plan_id}/approve")
def approve(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:approve"))]
) -> Response:
    _service(request).approve(actor, plan_id, _one(request, "comment") or None)
    return _back(plan_id)


@router.post("/remediation/{plan_id}/reject")
def reject(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:approve"))]
) -> Response:
    _service(request).reject(actor, plan_id, _one(request, "comment"))
    return _back(plan_id)


@router.post("/remediation/{plan_id}/submit")
def submit(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:create"))]
) -> Response:
    _service(request).submit(actor, plan_id)
    return _back(plan_id)


@router.post("/remediation/{plan_id}/comment")
def comment(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:read"))]
) -> Response:
    _service(request).comment(actor, plan_id, _one(request, "body"))
    return _back(plan_id)


@router.post("/remediation/{plan_id}/apply", response_class=HTMLResponse)
def apply(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:execute"))]
) -> Response:
    dry_run = _one(request, "dry_run") in ("1", "true", "on")
    result = _service(request).apply(actor, plan_id, dry_run=dry_run)
    if dry_run:
        return _plan_page(request, actor, plan_id, preview=result)
    return _back(plan_id)


@router.post("/remediation/{plan_id}/rollback")
def rollback(
    plan_id: str, request: Request, actor: Annotated[Actor, Depends(Require("remediation:execute"))]
) -> Response:
    _service(request).rollback(actor, plan_id)
    return _back(plan_id)
