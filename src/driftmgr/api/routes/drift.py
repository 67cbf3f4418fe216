"""Drift scans and discovery: /api/v1/drift (start, reports, items, history, trends), /api/v1/discovery.

Scans name registered state sources (`/api/v1/sources`), never server paths or URLs given by the
caller: what the server may read is decided by those who may register sources.

A stored scan never changes, so its report and its item pages are built once, kept (bounded, per
app: `ResponseCache`) and served with an ETag; a cached answer needs neither a database query nor a
worker thread. The scan list changes with every new scan and is always read from the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from driftmgr.api.deps import PlatformDep, Require, WorkflowDep, audited
from driftmgr.api.errors import ApiError
from driftmgr.api.respcache import JSON_OBJECT, ResponseCache, conditional
from driftmgr.platform.db.models import InventorySnapshot, Scan, ScanItem
from driftmgr.services.access import Actor
from driftmgr.services.config import ConfigService
from driftmgr.services.history import HistoryService

router = APIRouter(prefix="/api/v1", tags=["drift"])
Name = Annotated[str, Field(min_length=1, max_length=200)]
Region = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")]
TfType = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[a-z0-9_]+$")]


class ScanRequest(BaseModel):
    sources: list[Name] = Field(min_length=1, max_length=50, description="Registered source names")
    provider: str = Field(default="aws", max_length=40)
    regions: list[Region] | None = Field(default=None, max_length=40)
    types: list[TfType] | None = Field(default=None, max_length=200)


class DiscoveryRequest(BaseModel):
    provider: str = Field(default="aws", max_length=40)
    regions: list[Region] | None = Field(default=None, max_length=40)
    types: list[TfType] | None = Field(default=None, max_length=200)


@router.post("/drift/scans", status_code=202)
def start_scan(
    body: ScanRequest,
    request: Request,
    actor: Annotated[Actor, Depends(Require("scans:run"))],
    platform: PlatformDep,
    workflow: WorkflowDep,
) -> dict[str, Any]:
    """Queue a drift scan of registered sources; follow it at /api/v1/jobs/{job_id} or the WebSocket."""
    config = ConfigService(platform.settings, platform.db)
    urls = [config.source_url(name) for name in body.sources]  # unknown name → 400
    payload: dict[str, Any] = {"sources": urls, "provider": body.provider}
    if body.regions:
        payload["regions"] = body.regions
    if body.types:
        payload["types"] = body.types
    job_id = workflow.submit("drift", payload, created_by=actor.username)
    audited(request, actor, "scan.start", f"job:{job_id}", {"sources": body.sources})
    return {"job_id": job_id}


@router.post("/discovery", status_code=202)
def start_discovery(
    body: DiscoveryRequest,
    request: Request,
    actor: Annotated[Actor, Depends(Require("discovery:run"))],
    workflow: WorkflowDep,
) -> dict[str, Any]:
    """Queue a discovery (inventory) job."""
    payload: dict[str, Any] = {"provider": body.provider}
    if body.regions:
        payload["regions"] = body.regions
    if body.types:
        payload["types"] = body.types
    job_id = workflow.submit("discovery", payload, created_by=actor.username)
    audited(request, actor, "discovery.start", f"job:{job_id}")
    return {"job_id": job_id}


@router.get("/discovery/inventory")
def inventory(
    _: Annotated[Actor, Depends(Require("inventory:read"))],
    platform: PlatformDep,
    type: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The latest inventory snapshot's resources (filtered by type, paginated)."""
    with platform.db.session() as s:
        snap = s.scalars(
            select(InventorySnapshot).order_by(InventorySnapshot.created_at.desc()).limit(1)
        ).first()
        if snap is None:
            raise ApiError(404, "not_found", "no inventory yet: start a discovery")
        resources = [r for r in snap.resources if type is None or r.get("type") == type]
        return {
            "snapshot_id": snap.id,
            "created_at": snap.created_at.isoformat(),
            "partial": snap.partial,
            "errors": snap.errors,
            "items": resources[offset : offset + limit],
            "total": len(resources),
            "limit": limit,
            "offset": offset,
        }


@router.get("/drift/scans", responses={200: JSON_OBJECT})
def list_scans(
    _: Annotated[Actor, Depends(Require("scans:read"))],
    platform: PlatformDep,
    source: Annotated[str | None, Query(max_length=4000)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Stored scans (history), newest first."""
    import orjson

    scans = HistoryService(platform.db).scans(source=source, since=since, until=until, limit=limit)
    body = orjson.dumps({"items": [s.to_dict() for s in scans], "limit": limit})
    return Response(body, media_type="application/json")


def _responses(request: Request) -> ResponseCache:
    cache: ResponseCache | None = getattr(request.app.state, "drift_responses", None)
    if cache is None:
        cache = request.app.state.drift_responses = ResponseCache()
    return cache


def _stored_report(platform: PlatformDep, scan_id: str) -> bytes:
    import orjson

    with platform.db.session() as s:
        report = s.scalar(select(Scan.report).where(Scan.id == scan_id))
    if report is None:
        raise ApiError(404, "not_found", f"no scan {scan_id!r}")
    return orjson.dumps(report)


@router.get("/drift/scans/{scan_id}", responses={200: JSON_OBJECT, 304: {"description": "Not modified"}})
async def get_report(
    scan_id: str,
    request: Request,
    _: Annotated[Actor, Depends(Require("scans:read"))],
    platform: PlatformDep,
) -> Response:
    """The stored JSON report of a scan (DESIGN §3), with an ETag (If-None-Match → 304)."""
    cache = _responses(request)
    key = ("report", scan_id)
    hit = cache.get(key)
    if hit is None:
        hit = cache.put(key, await run_in_threadpool(_stored_report, platform, scan_id))
    return conditional(request, hit)


def _item_page(
    platform: PlatformDep, scan_id: str, filters: dict[str, str | None], limit: int, offset: int
) -> bytes:
    import orjson

    q = select(ScanItem).where(ScanItem.scan_id == scan_id)
    for column, value in ((ScanItem.status, filters["status"]), (ScanItem.type, filters["type"]),
                          (ScanItem.severity, filters["severity"])):  # fmt: skip
        if value:
            q = q.where(column == value)
    with platform.db.session() as s:
        if s.scalar(select(Scan.id).where(Scan.id == scan_id)) is None:
            raise ApiError(404, "not_found", f"no scan {scan_id!r}")
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(ScanItem.id).offset(offset).limit(limit)).all()
        items = [
            {
                "address": r.address, "type": r.type, "id": r.resource_id, "provider": r.provider,
                "account": r.account, "region": r.region, "status": r.status, "severity": r.severity,
                "source": r.source, "changes": r.changes,
            }
            for r in rows
        ]  # fmt: skip
    return orjson.dumps({"items": items, "total": int(total), "limit": limit, "offset": offset})


@router.get(
    "/drift/scans/{scan_id}/items", responses={200: JSON_OBJECT, 304: {"description": "Not modified"}}
)
async def scan_items(
    scan_id: str,
    request: Request,
    _: Annotated[Actor, Depends(Require("scans:read"))],
    platform: PlatformDep,
    status: Annotated[str | None, Query(pattern="^(drifted|missing|unmanaged|unsupported)$")] = None,
    type: Annotated[str | None, Query(max_length=120)] = None,
    severity: Annotated[str | None, Query(pattern="^(low|medium|high|critical)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The scan's resources out of sync, with their changes (filtered, paginated), with an ETag."""
    cache = _responses(request)
    key = ("items", scan_id, status, type, severity, limit, offset)
    hit = cache.get(key)
    if hit is None:
        filters = {"status": status, "type": type, "severity": severity}
        body = await run_in_threadpool(_item_page, platform, scan_id, filters, limit, offset)
        hit = cache.put(key, body)
    return conditional(request, hit)


@router.get("/drift/trends")
def trends(
    _: Annotated[Actor, Depends(Require("scans:read"))],
    platform: PlatformDep,
    source: Annotated[str | None, Query(max_length=4000)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: Annotated[str, Query(pattern="^(scan|day)$")] = "scan",
) -> dict[str, Any]:
    """Per source: drifted/missing/unmanaged/score over time, drift episodes, MTTD and MTTR."""
    found = HistoryService(platform.db).trends(source=source, since=since, until=until, bucket=bucket)  # type: ignore[arg-type]
    return {"items": [t.to_dict() for t in found]}
