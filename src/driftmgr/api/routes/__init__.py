"""Routers of the API, one module per noun (each route declares its access rule: api/deps.py)."""

from __future__ import annotations

from fastapi import APIRouter

from driftmgr.api.routes import access, admin, audit, drift, jobs, remediation, system
from driftmgr.api.routes import sources as sources_routes

ROUTERS: list[APIRouter] = [
    system.router,
    access.router,
    sources_routes.router,
    drift.router,
    jobs.router,
    admin.router,
    audit.router,
    remediation.router,
]
