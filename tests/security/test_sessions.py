from __future__ import annotations

from datetime import timedelta

import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import User, UserSession
from driftmgr.security import sessions
from driftmgr.security.errors import CsrfError

KEY = b"k" * 48


def _user(db: Database) -> str:
    with db.session() as s:
        u = User(username="ann", password_hash=None)
        s.add(u)
        s.flush()
        return u.id


def test_cookie_attributes_are_http_only_secure_and_same_site() -> None:
    attrs = sessions.cookie_attributes(3600)
    assert attrs == {
        "key": "driftmgr_session",
        "max_age": 3600,
        "path": "/",
        "httponly": True,
        "secure": True,
        "samesite": "lax",
    }
    assert sessions.cookie_attributes(60, secure=False)["secure"] is False


def test_csrf_token_is_bound_to_session_and_key() -> None:
    t = sessions.csrf_token(KEY, "s1")
    sessions.check_csrf(KEY, "s1", t)
    assert t != sessions.csrf_token(KEY, "s2")
    assert t != sessions.csrf_token(b"other" * 10, "s1")
    for bad in (None, "", sessions.csrf_token(KEY, "s2"), t[:-1], t + "x", "é"):
        with pytest.raises(CsrfError):
            sessions.check_csrf(KEY, "s1", bad)


def test_safe_methods_need_no_csrf_token() -> None:
    sessions.check_csrf(KEY, "s1", None, method="GET")
    sessions.check_csrf(KEY, "s1", None, method="head")
    with pytest.raises(CsrfError):
        sessions.check_csrf(KEY, "s1", None, method="DELETE")


def test_session_lifecycle(database: Database) -> None:
    uid = _user(database)
    now = utcnow()
    with database.session() as s:
        token, row = sessions.create_session(s, uid, ttl=3600, ip="10.0.0.1", user_agent="x" * 500, now=now)
        sid = row.id
    with database.session() as s:
        stored = s.get(UserSession, sid)
        assert stored is not None and stored.token_hash != token and token not in stored.token_hash
        assert stored.user_agent is not None and len(stored.user_agent) == 300
        found = sessions.resolve_session(s, token, idle=600, now=now + timedelta(seconds=60))
        assert found is not None and found.id == sid
        assert found.last_seen_at == now + timedelta(seconds=60)  # touched
        assert sessions.resolve_session(s, token + "x", idle=600, now=now) is None
        assert sessions.resolve_session(s, "", idle=600, now=now) is None
    with database.session() as s:  # idle too long
        assert sessions.resolve_session(s, token, idle=600, now=now + timedelta(seconds=60 + 601)) is None
    with database.session() as s:  # absolute expiry even while active
        assert sessions.resolve_session(s, token, idle=10**6, now=now + timedelta(seconds=3601)) is None
    with database.session() as s:
        assert sessions.revoke_session(s, token) is not None
    with database.session() as s:
        assert sessions.resolve_session(s, token, idle=600, now=now + timedelta(seconds=61)) is None


def test_revoking_a_users_sessions(database: Database) -> None:
    uid = _user(database)
    with database.session() as s:
        t1, _ = sessions.create_session(s, uid, ttl=3600)
        t2, _ = sessions.create_session(s, uid, ttl=3600)
    with database.session() as s:
        assert sessions.revoke_user_sessions(s, uid) == 2
    with database.session() as s:
        assert sessions.resolve_session(s, t1, idle=600) is None
        assert sessions.resolve_session(s, t2, idle=600) is None
