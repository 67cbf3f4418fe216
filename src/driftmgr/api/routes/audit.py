"""The audit log: /api/v1/audit (list, verify, export as JSON lines)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from driftmgr.api.deps import PlatformDep, Require
from driftmgr.services.access import Actor
from driftmgr.services.audit import AuditService

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def _service(platform: PlatformDep) -> AuditService:
    return AuditService(platform.settings, platform.db)


@router.get("")
def list_records(
    actor: Annotated[Actor, Depends(Require("audit:read"))],
    platform: PlatformDep,
    since: datetime | None = None,
    until: datetime | None = None,
    user: Annotated[str | None, Query(max_length=120)] = None,
    action: Annotated[str | None, Query(max_length=120)] = None,
    result: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Audit records, newest first, filtered."""
    items = _service(platform).list(actor, since=since, until=until, user=user, action=action, result=result,
                                    limit=limit, offset=offset)  # fmt: skip
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/verify")
def verify(actor: Annotated[Actor, Depends(Require("audit:read"))], platform: PlatformDep) -> dict[str, Any]:
    """Walk the hash chain; `ok` false names every edited, deleted or inserted record."""
    v = _service(platform).verify(actor)
    return {
        "ok": v.ok,
        "checked": v.checked,
        "first_id": v.first_id,
        "last_id": v.last_id,
        "problems": [{"kind": p.kind, "record_id": p.record_id, "message": p.message} for p in v.problems],
    }


@router.get("/export", response_class=Response)
def export(
    actor: Annotated[Actor, Depends(Require("audit:read"))],
    platform: PlatformDep,
    since: datetime | None = None,
    until: datetime | None = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """JSON lines, oldest first (the export itself is recorded)."""
    buf = io.BytesIO()
    _service(platform).export(actor, buf, since=since, until=until, reason=reason)
    return Response(buf.getvalue(), media_type="application/x-ndjson")
