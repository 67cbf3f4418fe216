"""User rows: names, lookups, roles — the queries the service layer composes."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from driftmgr.errors import UsageError
from driftmgr.platform.db.models_access import User, UserRole

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,119}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_username(name: str) -> str:
    """Lower-cased and checked: letters, digits, '_', '.', '@', '-', at most 120 characters."""
    norm = name.strip().lower()
    if not USERNAME_RE.match(norm):
        raise UsageError(
            "a user name is letters, digits, '_', '.', '@' or '-', starting with a letter or digit "
            "(at most 120 characters)",
            source=name[:130],
        )
    return norm


def check_email(email: str | None) -> str | None:
    if email is None or email == "":
        return None
    if len(email) > 320 or not EMAIL_RE.match(email):
        raise UsageError("not an email address", source=email[:330])
    return email


def find_user(s: Session, username: str) -> User | None:
    return s.scalars(select(User).where(User.username == username.strip().lower())).first()


def roles_of(s: Session, user_id: str) -> frozenset[str]:
    return frozenset(s.scalars(select(UserRole.role).where(UserRole.user_id == user_id)))


def set_roles(s: Session, user_id: str, roles: frozenset[str]) -> None:
    current = roles_of(s, user_id)
    for role in current - roles:
        s.execute(delete(UserRole).where(UserRole.user_id == user_id, UserRole.role == role))
    for role in sorted(roles - current):
        s.add(UserRole(user_id=user_id, role=role))
    s.flush()


def active_admins(s: Session) -> list[str]:
    """Names of the active users holding the admin role."""
    stmt = (
        select(User.username)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.active.is_(True))
        .order_by(User.username)
    )
    return list(s.scalars(stmt))
