"""State sources: /api/v1/sources (register, list, show, remove)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from driftmgr.api.deps import PlatformDep, Require
from driftmgr.api.routes.common import Limit, Offset, page
from driftmgr.services.access import Actor
from driftmgr.services.config import ConfigService

router = APIRouter(prefix="/api/v1/sources", tags=["sources"])


class NewSource(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=4000)
    provider: str = Field(default="aws", max_length=40)


def _service(platform: PlatformDep) -> ConfigService:
    return ConfigService(platform.settings, platform.db)


@router.get("")
def list_sources(
    _: Annotated[Actor, Depends(Require("sources:read"))],
    platform: PlatformDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Registered state sources (URLs redacted)."""
    return page([v.to_dict() for v in _service(platform).list_sources()], limit, offset)


@router.post("", status_code=201)
def add_source(
    body: NewSource, _: Annotated[Actor, Depends(Require("sources:write"))], platform: PlatformDep
) -> dict[str, Any]:
    """Register a state source by name (credentials stay in the server's environment)."""
    return _service(platform).add_source(body.name, body.url, provider=body.provider).to_dict()


@router.get("/{name}")
def show_source(
    name: str, _: Annotated[Actor, Depends(Require("sources:read"))], platform: PlatformDep
) -> dict[str, Any]:
    for v in _service(platform).list_sources():
        if v.name == name:
            return v.to_dict()
    from driftmgr.api.errors import ApiError

    raise ApiError(404, "not_found", f"no state source named {name!r}")


@router.delete("/{name}", status_code=204)
def remove_source(
    name: str, _: Annotated[Actor, Depends(Require("sources:write"))], platform: PlatformDep
) -> None:
    _service(platform).remove_source(name)
