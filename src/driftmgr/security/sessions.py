"""GUI sessions and CSRF protection.

A session is a DB row; the browser holds a random token in an HTTP-only cookie and the table keeps
only its sha256, so a leaked database does not sign anyone in. Sessions end on sign-out, after
`session_idle` seconds without a request, after `session_ttl` seconds in any case, and when the user
is disabled. The API layer sets the cookie with `cookie_attributes()`.

CSRF: every state-changing request from the GUI carries `csrf_token(key, session.id)` in the
`X-CSRF-Token` header or the `csrf_token` form field; `check_csrf` compares in constant time. The
token is an HMAC of the session's id under the server's secret key, so it needs no storage, cannot
be forged without the key, and dies with the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import UserSession
from driftmgr.security.errors import CsrfError

SESSION_COOKIE = "driftmgr_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often per session
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_attributes(max_age: float, *, secure: bool = True) -> dict[str, Any]:
    """Keyword arguments for Starlette's `response.set_cookie` (value added by the caller).

    `secure` may be False only for plain-HTTP development on loopback.
    """
    return {
        "key": SESSION_COOKIE,
        "max_age": int(max_age),
        "path": "/",
        "httponly": True,
        "secure": secure,
        "samesite": "lax",
    }


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(
    s: Session,
    user_id: str,
    *,
    ttl: float,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> tuple[str, UserSession]:
    """A new session: (the cookie token, shown once; the row)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=_token_hash(token),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=ttl),
        ip=ip,
        user_agent=(user_agent or None) and user_agent[:300],
    )
    s.add(row)
    s.flush()
    return token, row


def resolve_session(
    s: Session, token: str, *, idle: float, now: datetime | None = None
) -> UserSession | None:
    """The live session of `token`, touched; None when unknown, revoked, expired or idle too long."""
    now = now or utcnow()
    if not token or len(token) > 200:
        return None
    row = s.scalars(select(UserSession).where(UserSession.token_hash == _token_hash(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(seconds=idle) <= now:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def revoke_session(s: Session, token: str, *, now: datetime | None = None) -> UserSession | None:
    row = s.scalars(select(UserSession).where(UserSession.token_hash == _token_hash(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
    return row


def revoke_user_sessions(s: Session, user_id: str, *, now: datetime | None = None) -> int:
    result = s.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def csrf_token(key: bytes, session_id: str) -> str:
    mac = hmac.new(key, b"driftmgr-csrf\x00" + session_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def check_csrf(key: bytes, session_id: str, submitted: str | None, *, method: str = "POST") -> None:
    """Raise CsrfError unless `submitted` is this session's token (safe methods need none)."""
    if method.upper() in SAFE_METHODS:
        return
    expected = csrf_token(key, session_id)
    if not submitted or not hmac.compare_digest(
        expected.encode("ascii"), submitted.encode("utf-8", "replace")
    ):
        raise CsrfError("the CSRF token is missing or does not match this session: reload the page")
