"""Tables of users, roles, tokens, audit records and remediation plans (issues 5 and 6).

Created by the second migration so the schema can be upgraded from the first revision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from driftmgr.platform.db.models import Base, new_id, utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)  # argon2; None: SSO only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)  # admin | operator | viewer | approver


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)  # sha256 of the secret
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditRecord(Base):
    """Append-only, hash-chained: `hash` = sha256(prev_hash + canonical record)."""

    __tablename__ = "audit_records"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user: Mapped[str | None] = mapped_column(String(120), default=None)
    action: Mapped[str] = mapped_column(String(120))
    resource: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    session: Mapped[str | None] = mapped_column(String(64), default=None)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChain(Base):
    """The chain's one head row (id 1): the last record appended, and the checkpoint of a retention purge.

    Appends lock this row, so the chain never forks; `verify` compares it with the records, so deleting
    the newest records is seen too (migration 0004).
    """

    __tablename__ = "audit_chain"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    purged_through_id: Mapped[int] = mapped_column(BigInteger, default=0)  # records 1..this were purged
    purged_through_hash: Mapped[str] = mapped_column(String(64))  # hash of the last purged record
    purged_at: Mapped[datetime | None] = mapped_column(default=None)


class UserSession(Base):
    """A GUI sign-in: the cookie holds a random token, the table only its sha256 (migration 0004)."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)  # public: audit `session`
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)


class LoginFailure(Base):
    """One failed sign-in, keyed `user:<name>` and `ip:<address>`: the login rate limit (migration 0004)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)


class RemediationPlan(Base):
    __tablename__ = "remediation_plans"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    scan_id: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    risk: Mapped[str] = mapped_column(String(20), default="low")
    created_by: Mapped[str | None] = mapped_column(String(120), default=None)
    approved_by: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)  # actions, dependencies, summary
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class PlanComment(Base):
    __tablename__ = "plan_comments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(ForeignKey("remediation_plans.id", ondelete="CASCADE"), index=True)
    author: Mapped[str | None] = mapped_column(String(120), default=None)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
