"""FastAPI dependencies: the app's platform and services, the caller, and the rule each route obeys.

Every route declares exactly one access rule — `Public()` or `Require("perm")` — as a dependency the
RBAC test reads back from the route table, so a new route cannot escape the permission matrix.
Callers authenticate with `Authorization: Bearer dm_…` (API tokens) or the GUI's session cookie; a
cookie-authenticated unsafe request must also carry the CSRF token (`X-CSRF-Token` header or form
field `csrf_token`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from driftmgr.api.errors import ApiError
from driftmgr.platform.runtime import Platform
from driftmgr.security.errors import AuthenticationError, CsrfError
from driftmgr.security.sessions import SESSION_COOKIE
from driftmgr.services.access import AccessService, Actor
from driftmgr.services.workflow import WorkflowService

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_access(request: Request) -> AccessService:
    access: AccessService = request.app.state.access
    return access


PlatformDep = Annotated[Platform, Depends(get_platform)]
AccessDep = Annotated[AccessService, Depends(get_access)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def authenticate(request: Request) -> Actor | None:
    """The caller, or None when anonymous; a bad token or ended session is a 401."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    access = get_access(request)
    ip = client_ip(request)
    header = request.headers.get("authorization", "")
    actor: Actor | None = None
    try:
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise ApiError(401, "unauthenticated", "use 'Authorization: Bearer <API token>'")
            actor = access.authenticate_token(value.strip(), ip=ip, origin="api")
        elif cookie := request.cookies.get(SESSION_COOKIE):
            actor = access.resolve_session(cookie, ip=ip, origin="gui")
    except AuthenticationError as exc:
        raise ApiError(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    request.state.actor = actor
    return actor


def cached_caller(request: Request) -> Actor | None:
    """The caller when the access service has them cached (no I/O: safe on the event loop), else None."""
    access = get_access(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return None
        return access.cached_caller("token", value, ip=client_ip(request), origin="api")
    if cookie := request.cookies.get(SESSION_COOKIE):
        return access.cached_caller("session", cookie, ip=client_ip(request), origin="gui")
    return None


class AccessRule:
    permission: str | None = None


class Public(AccessRule):
    """No sign-in needed: sign-in itself, /health, /metrics, the OpenAPI spec and docs."""

    def __call__(self, request: Request) -> None:
        return None


class Require(AccessRule):
    """Signed in (401 otherwise) and holding `permission` (403 otherwise, recorded in the audit log)."""

    def __init__(self, permission: str) -> None:
        from driftmgr.security.rbac import PERMISSIONS

        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission

    async def __call__(self, request: Request) -> Actor:
        from starlette.concurrency import run_in_threadpool

        assert self.permission is not None
        actor = cached_caller(request)  # the common case: a known caller, allowed, nothing to check
        if (
            actor is not None
            and actor.can(self.permission)
            and (actor.via != "session" or request.method in SAFE_METHODS)
        ):
            request.state.actor = actor
            return actor
        return await run_in_threadpool(self._check, request)  # database, denial records, CSRF

    def _check(self, request: Request) -> Actor:
        assert self.permission is not None
        actor = authenticate(request)
        if actor is None:
            raise ApiError(401, "unauthenticated", "sign in or send an API token",
                           headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        access = get_access(request)
        if not actor.can(self.permission):
            access.authorize(
                actor, self.permission, f"{request.method} {request.url.path}"
            )  # records, raises
        if actor.via == "session" and request.method not in SAFE_METHODS:
            submitted = request.headers.get("x-csrf-token") or getattr(request.state, "form_csrf", None)
            try:
                access.check_csrf(actor, submitted, method=request.method, resource=request.url.path)
            except CsrfError as exc:
                raise ApiError(403, "csrf", str(exc)) from None
        return actor


def get_workflow(request: Request) -> WorkflowService:
    workflow: WorkflowService = request.app.state.workflow
    return workflow


WorkflowDep = Annotated[WorkflowService, Depends(get_workflow)]


def audited(
    request: Request, actor: Actor, action: str, resource: str | None, changes: dict[str, Any] | None = None
) -> None:
    """Record a state-changing API action (the access service records sign-ins and denials itself)."""
    get_access(request).record(actor, action, resource, changes=changes,
                               extra={"route": f"{request.method} {request.url.path}"})  # fmt: skip
