"""Schedules, notification channels and rules, events, cache: the rest of /api/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from driftmgr.api.deps import PlatformDep, Require, audited
from driftmgr.platform import notify
from driftmgr.services.access import Actor
from driftmgr.services.config import ConfigService
from driftmgr.services.schedules import ScheduleService

router = APIRouter(prefix="/api/v1", tags=["admin"])


# --- schedules -----------------------------------------------------------------------------------


class NewSchedule(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    cron: str = Field(min_length=1, max_length=120, description="Five-field cron expression, UTC")
    sources: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=50, description="Registered source names"
    )
    provider: str = Field(default="aws", max_length=40)
    regions: list[Annotated[str, Field(max_length=40, pattern=r"^[a-z0-9-]+$")]] | None = None


@router.get("/schedules")
def list_schedules(
    _: Annotated[Actor, Depends(Require("schedules:read"))], platform: PlatformDep
) -> dict[str, Any]:
    """Schedules with their next run."""
    return {"items": [v.to_dict() for v in ScheduleService(platform.db).list()]}


@router.post("/schedules", status_code=201)
def add_schedule(
    body: NewSchedule,
    request: Request,
    actor: Annotated[Actor, Depends(Require("schedules:write"))],
    platform: PlatformDep,
) -> dict[str, Any]:
    """Run drift detection on registered sources by a cron expression."""
    config = ConfigService(platform.settings, platform.db)
    urls = [config.source_url(n) for n in body.sources]
    view = ScheduleService(platform.db).add(
        body.name, body.cron, urls, provider=body.provider, regions=body.regions
    )
    audited(
        request, actor, "schedule.add", f"schedule:{body.name}", {"cron": body.cron, "sources": body.sources}
    )
    return view.to_dict()


@router.delete("/schedules/{name}", status_code=204)
def remove_schedule(
    name: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("schedules:write"))],
    platform: PlatformDep,
) -> None:
    ScheduleService(platform.db).remove(name)
    audited(request, actor, "schedule.remove", f"schedule:{name}")


# --- notifications -------------------------------------------------------------------------------


class NewChannel(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=4000, description="An apprise URL (kept secret)")


class NewRule(BaseModel):
    channel: str = Field(min_length=1, max_length=200)
    events: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(min_length=1, max_length=20)
    min_severity: str | None = Field(default=None, pattern="^(low|medium|high|critical)$")
    sources: list[Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        default_factory=list, max_length=50
    )


@router.get("/notifications/channels")
def list_channels(
    _: Annotated[Actor, Depends(Require("notifications:read"))], platform: PlatformDep
) -> dict[str, Any]:
    """Channels, URLs redacted."""
    return {"items": [c.to_dict() for c in notify.list_channels(platform.db)]}


@router.post("/notifications/channels", status_code=201)
def add_channel(
    body: NewChannel,
    request: Request,
    actor: Annotated[Actor, Depends(Require("notifications:write"))],
    platform: PlatformDep,
) -> dict[str, Any]:
    view = notify.add_channel(platform.db, body.name, body.url)
    audited(request, actor, "notify.channel.add", f"channel:{body.name}")
    return view.to_dict()


@router.delete("/notifications/channels/{name}", status_code=204)
def remove_channel(
    name: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("notifications:write"))],
    platform: PlatformDep,
) -> None:
    notify.remove_channel(platform.db, name)
    audited(request, actor, "notify.channel.remove", f"channel:{name}")


@router.get("/notifications/rules")
def list_rules(
    _: Annotated[Actor, Depends(Require("notifications:read"))], platform: PlatformDep
) -> dict[str, Any]:
    return {"items": [r.to_dict() for r in notify.list_rules(platform.db)]}


@router.post("/notifications/rules", status_code=201)
def add_rule(
    body: NewRule,
    request: Request,
    actor: Annotated[Actor, Depends(Require("notifications:write"))],
    platform: PlatformDep,
) -> dict[str, Any]:
    view = notify.add_rule(platform.db, body.channel, body.events, min_severity=body.min_severity,
                           sources=body.sources)  # fmt: skip
    audited(request, actor, "notify.rule.add", f"rule:{view.id}", body.model_dump())
    return view.to_dict()


@router.delete("/notifications/rules/{rule_id}", status_code=204)
def remove_rule(
    rule_id: str,
    request: Request,
    actor: Annotated[Actor, Depends(Require("notifications:write"))],
    platform: PlatformDep,
) -> None:
    notify.remove_rule(platform.db, rule_id)
    audited(request, actor, "notify.rule.remove", f"rule:{rule_id}")


@router.get("/notifications/deliveries")
def list_deliveries(
    _: Annotated[Actor, Depends(Require("notifications:read"))],
    platform: PlatformDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Deliveries; `status=dead` is the dead-letter list (errors redacted)."""
    return {"items": [d.to_dict() for d in notify.list_deliveries(platform.db, status=status, limit=limit)]}


# --- events and cache ----------------------------------------------------------------------------


@router.get("/events")
def list_events(
    _: Annotated[Actor, Depends(Require("events:read"))],
    platform: PlatformDep,
    pattern: Annotated[str, Query(min_length=1, max_length=80)] = "*",
    since: datetime | None = None,
    job_id: Annotated[str | None, Query(max_length=32)] = None,
    source: Annotated[str | None, Query(max_length=4000)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Stored events by wildcard pattern (`drift.*`), time, job and source."""
    found = platform.events.query(pattern, since=since, job_id=job_id, source=source, limit=limit)
    return {"items": [e.to_dict() for e in found]}


@router.get("/cache/stats")
def cache_stats(_: Annotated[Actor, Depends(Require("scans:read"))], platform: PlatformDep) -> dict[str, Any]:
    """Hits, misses, hit ratio and entries per level."""
    return platform.cache.stats()


@router.post("/cache/clear")
def cache_clear(
    request: Request,
    actor: Annotated[Actor, Depends(Require("cache:clear"))],
    platform: PlatformDep,
    tag: Annotated[str | None, Query(max_length=4000)] = None,
) -> dict[str, Any]:
    """Clear the cache (every level, every process), or only the entries of one tag."""
    removed = platform.cache.invalidate_tag(tag) if tag else platform.cache.clear()
    audited(request, actor, "cache.clear", f"cache:{tag or '*'}")
    return {"removed": removed}
