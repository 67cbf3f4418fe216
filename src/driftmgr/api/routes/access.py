"""Sign-in, users, roles and API tokens: /api/v1/auth, /api/v1/users, /api/v1/tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from driftmgr.api.deps import AccessDep, Public, Require, client_ip
from driftmgr.api.routes.common import Limit, Offset, page
from driftmgr.security.sessions import SESSION_COOKIE, cookie_attributes
from driftmgr.services.access import Actor

router = APIRouter(prefix="/api/v1", tags=["access"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=1024)
    session: bool = True  # False: check the password only (no cookie)


class Me(BaseModel):
    username: str
    roles: list[str]
    via: str
    csrf_token: str | None = None


@router.post("/auth/login", response_model=Me, dependencies=[Depends(Public())])
async def login(body: LoginBody, request: Request, response: Response, access: AccessDep) -> Me:
    """Sign in with a password; sets the HTTP-only session cookie and returns the CSRF token."""
    result = await run_in_threadpool(
        access.sign_in, body.username, body.password, ip=client_ip(request),
        user_agent=request.headers.get("user-agent"), origin="api", session=body.session,
    )  # fmt: skip
    if result.session_token:
        secure = request.url.scheme == "https"
        attrs = cookie_attributes(access.settings.session_ttl, secure=secure)
        response.set_cookie(value=result.session_token, **attrs)
    return Me(username=result.actor.username, roles=sorted(result.actor.roles), via=result.actor.via,
              csrf_token=result.csrf_token)  # fmt: skip


@router.post("/auth/logout", status_code=204, dependencies=[Depends(Public())])
async def logout(request: Request, access: AccessDep) -> Response:
    """End the session of the cookie sent (if any) and clear the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await run_in_threadpool(access.sign_out, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=Me)
def me(actor: Annotated[Actor, Depends(Require("scans:read"))], access: AccessDep) -> Me:
    """Who the caller is, with a fresh CSRF token for session callers."""
    csrf = None
    if actor.session:
        from driftmgr.security.sessions import csrf_token

        csrf = csrf_token(access.key, actor.session)
    return Me(username=actor.username, roles=sorted(actor.roles), via=actor.via, csrf_token=csrf)


# --- users ---------------------------------------------------------------------------------------


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=120)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    roles: list[str] = Field(default_factory=lambda: ["viewer"], max_length=4)
    email: str | None = Field(default=None, max_length=320)


class UserChange(BaseModel):
    active: bool | None = None
    grant: list[str] = Field(default_factory=list, max_length=4)
    revoke: list[str] = Field(default_factory=list, max_length=4)


@router.get("/users")
def list_users(
    actor: Annotated[Actor, Depends(Require("users:read"))],
    access: AccessDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Users and their roles."""
    return page([u.to_dict() for u in access.list_users(actor)], limit, offset)


@router.post("/users", status_code=201)
def add_user(
    body: NewUser, actor: Annotated[Actor, Depends(Require("users:manage"))], access: AccessDep
) -> dict[str, Any]:
    """Create a user with roles (admin, operator, viewer, approver)."""
    return access.add_user(actor, body.username, body.password, body.roles, email=body.email).to_dict()


@router.patch("/users/{username}")
def change_user(
    username: str,
    body: UserChange,
    actor: Annotated[Actor, Depends(Require("users:manage"))],
    access: AccessDep,
) -> dict[str, Any]:
    """Enable/disable a user, grant or revoke roles."""
    view = None
    if body.grant or body.revoke:
        view = access.change_roles(actor, username, grant=body.grant, revoke=body.revoke)
    if body.active is not None:
        view = access.set_active(actor, username, body.active)
    if view is None:
        from driftmgr.errors import UsageError

        raise UsageError("nothing to change: give active, grant or revoke")
    return view.to_dict()


# --- tokens --------------------------------------------------------------------------------------


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int = Field(default=90, ge=1, le=1826)
    username: str | None = Field(default=None, max_length=120, description="Another user's (admin only)")


@router.get("/tokens")
def list_tokens(
    actor: Annotated[Actor, Depends(Require("tokens:manage_own"))],
    access: AccessDep,
    user: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The caller's tokens (or `user=NAME` / `user=*` with tokens:manage_all). Secrets are never listed."""
    return page([t.to_dict() for t in access.list_tokens(actor, username=user)], limit, offset)


@router.post("/tokens", status_code=201)
def create_token(
    body: NewToken, actor: Annotated[Actor, Depends(Require("tokens:manage_own"))], access: AccessDep
) -> dict[str, Any]:
    """A new API token; `token` is in this response only, never again."""
    created = access.create_token(actor, body.name, expires_in=timedelta(days=body.expires_in_days),
                                  username=body.username)  # fmt: skip
    return {**created.view.to_dict(), "token": created.token}


@router.delete("/tokens/{ident}")
def revoke_token(
    ident: str, actor: Annotated[Actor, Depends(Require("tokens:manage_own"))], access: AccessDep
) -> dict[str, Any]:
    """Revoke a token by id or prefix."""
    return access.revoke_token(actor, ident).to_dict()
