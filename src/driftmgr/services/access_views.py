"""The people and credentials AccessService hands out: who acts (Actor) and read-only views of users,
API tokens and sign-ins. Plain data; AccessService (services/access.py) makes and checks them."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import User
from driftmgr.security import rbac


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (GUI session, API token, password) or the local CLI operator."""

    username: str
    roles: frozenset[str]
    user_id: str | None = None
    ip: str | None = None
    session: str | None = None  # the public session id (never the cookie token)
    token_id: str | None = None
    via: str = "cli"  # cli | session | token | password
    origin: str = "cli"  # cli | api | gui | worker

    @classmethod
    def cli(cls) -> Actor:
        return cls(username=f"cli:{_os_user()}", roles=frozenset({"admin"}))

    def can(self, permission: str) -> bool:
        return rbac.has_permission(self.roles, permission)


@dataclass(frozen=True)
class UserView:
    id: str
    username: str
    email: str | None
    active: bool
    roles: list[str]
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: User, roles: Iterable[str]) -> UserView:
        return cls(
            row.id, row.username, row.email, row.active, sorted(roles), row.created_at, row.last_login_at
        )

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["created_at"] = self.created_at.isoformat()
        d["last_login_at"] = self.last_login_at.isoformat() if self.last_login_at else None
        return d


@dataclass(frozen=True)
class TokenView:
    id: str
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()
        }
        d["status"] = self.status
        return d


@dataclass(frozen=True)
class CreatedToken:
    token: str = field(repr=False)  # shown once
    view: TokenView


@dataclass(frozen=True)
class SignIn:
    actor: Actor
    session_token: str | None = field(repr=False)  # the cookie value; None for a sessionless sign-in
    csrf_token: str | None = field(repr=False)
    expires_at: datetime | None
