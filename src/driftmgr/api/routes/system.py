"""GET /health and GET /metrics (public: load balancers and Prometheus scrape them)."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import func, select, text

from driftmgr.api.deps import PlatformDep, Public
from driftmgr.platform.db.models import Job

router = APIRouter(tags=["system"])
Status = Literal["ok", "degraded", "down"]
PROVIDER_HEALTH_TTL = 60.0


class Health(BaseModel):
    status: Status
    checks: dict[str, Any]


def _provider_health(request: Request) -> dict[str, Any]:
    cached = getattr(request.app.state, "provider_health", None)
    if cached is not None and time.monotonic() - cached[0] < PROVIDER_HEALTH_TTL:
        return cached[1]  # type: ignore[no-any-return]
    from driftmgr.providers.base import get_provider, provider_names

    out: dict[str, Any] = {}
    for name in provider_names():
        try:
            h = get_provider(name).health()
        except Exception as exc:  # noqa: BLE001 - a provider's health never breaks /health
            h = {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
        out[name] = {"status": "ok" if h.get("status") == "ok" else "degraded", "detail": h}
    request.app.state.provider_health = (time.monotonic(), out)
    return out


@router.get("/health", response_model=Health, dependencies=[Depends(Public())])
def health(request: Request, platform: PlatformDep, response: Response) -> Health:
    """Database, cache, queue and providers: ok / degraded / down. 503 when the database is down."""
    checks: dict[str, Any] = {}
    try:
        with platform.db.session() as s:
            s.execute(text("SELECT 1"))
            depth = s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued")) or 0
        checks["database"] = {"status": "ok", "dialect": platform.db.dialect}
        checks["queue"] = {"status": "ok", "queued": int(depth)}
    except Exception as exc:  # noqa: BLE001
        checks["database"] = {"status": "down", "error": type(exc).__name__}
        checks["queue"] = {"status": "down", "error": "the queue lives in the database"}
    try:
        stats = platform.cache.stats()
        checks["cache"] = {"status": "ok", "hit_ratio": stats.get("hit_ratio")}
    except Exception as exc:  # noqa: BLE001
        checks["cache"] = {"status": "degraded", "error": type(exc).__name__}
    checks["providers"] = _provider_health(request)
    statuses = [checks["database"]["status"], checks["cache"]["status"], checks["queue"]["status"]]
    statuses += [p["status"] for p in checks["providers"].values()]
    overall: Status = "down" if checks["database"]["status"] == "down" else (
        "degraded" if any(s != "ok" for s in statuses) else "ok")  # fmt: skip
    if overall == "down":
        response.status_code = 503
    return Health(status=overall, checks=checks)


@router.get("/metrics", dependencies=[Depends(Public())], response_class=Response)
def metrics(request: Request, platform: PlatformDep) -> Response:
    """Prometheus text format."""
    m = request.app.state.metrics
    try:
        m.cache_hit_ratio.set(float(platform.cache.stats().get("hit_ratio") or 0.0))
        with platform.db.session() as s:
            rows = s.execute(select(Job.kind, func.count()).where(Job.status == "queued").group_by(Job.kind))
            for kind, n in rows:
                m.queue_depth.labels(kind).set(n)
    except Exception:  # noqa: BLE001,S110 - metrics render what they have
        pass
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
