"""AccessService on SQLite and PostgreSQL: users, sign-in, sessions, tokens, denials — and their audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text, update

from driftmgr.errors import ConflictError, StateNotFoundError, UsageError
from driftmgr.platform import audit
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import ApiToken, AuditRecord, User
from driftmgr.security.errors import AuthenticationError, CsrfError, PermissionDeniedError, RateLimitedError
from driftmgr.services.access import AccessService, Actor
from tests.fixtures.db import settings_for
from tests.security.hashing import FAST

pytestmark = pytest.mark.usefixtures("fast_hashing")

PW = "correct horse battery"
CLI = Actor.cli()


@pytest.fixture
def svc(database: Database, tmp_path: Path) -> AccessService:
    return AccessService(settings_for(database, tmp_path, login_max_failures=3), database)


def _records(db: Database, action: str | None = None) -> list[dict[str, Any]]:
    with db.session() as s:
        return [audit.to_dict(r) for r in audit.query_records(s, action=action)]


def _dump(db: Database) -> str:
    with db.engine.connect() as c:
        rows = []
        for table in ("users", "api_tokens", "audit_records", "user_sessions"):
            rows += [repr(tuple(r)) for r in c.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(rows)


def test_create_admin_once_then_refused_unless_forced(svc: AccessService) -> None:
    view = svc.create_admin("Alice", PW)
    assert (view.username, view.roles, view.active) == ("alice", ["admin"], True)
    with pytest.raises(ConflictError, match=r"an admin already exists \(alice\)"):
        svc.create_admin("bob", PW)
    signed = svc.sign_in("alice", PW)
    svc.create_admin("alice", "a brand new passphrase", force=True)  # recovery: reset
    with pytest.raises(AuthenticationError):
        svc.sign_in("alice", PW)
    assert signed.session_token is not None
    with pytest.raises(AuthenticationError):  # the reset ended the old session
        svc.resolve_session(signed.session_token)
    results = [(r["action"], r["result"], r["resource"]) for r in _records(svc.db, "user.create_admin")]
    assert results == [
        ("user.create_admin", "success", "user:alice"),
        ("user.create_admin", "failure", "user:bob"),
        ("user.create_admin", "success", "user:alice"),
    ]
    assert PW not in _dump(svc.db) and "brand new" not in _dump(svc.db)


def test_create_admin_enforces_the_password_policy(svc: AccessService) -> None:
    with pytest.raises(UsageError, match="too short"):
        svc.create_admin("alice", "short")
    with pytest.raises(UsageError, match="user name"):
        svc.create_admin("alice.smith1", "alice.smith1")
    with svc.db.session() as s:
        assert s.scalars(select(User)).all() == []


def test_sign_in_success_opens_a_session_with_csrf_and_is_audited(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    signed = svc.sign_in(" Alice ", PW, ip="10.1.1.1", user_agent="pytest")
    assert signed.actor.username == "alice" and signed.actor.roles == {"admin"}
    assert signed.session_token and signed.csrf_token and signed.actor.session
    assert signed.session_token not in repr(signed)
    actor = svc.resolve_session(signed.session_token, ip="10.1.1.1")
    assert actor.session == signed.actor.session and actor.via == "session"
    svc.check_csrf(actor, signed.csrf_token)
    with pytest.raises(CsrfError):
        svc.check_csrf(actor, "forged")
    svc.sign_out(signed.session_token, actor)
    with pytest.raises(AuthenticationError, match="sign in again"):
        svc.resolve_session(signed.session_token)
    logins = _records(svc.db, "auth.login")
    assert [(r["result"], r["ip"], r["session"]) for r in logins] == [("success", "10.1.1.1", actor.session)]
    assert [r["result"] for r in _records(svc.db, "access.csrf")] == ["denied"]
    assert [r["action"] for r in _records(svc.db, "auth.logout")] == ["auth.logout"]
    with svc.db.session() as s:
        user = s.scalars(select(User)).one()
        assert user.last_login_at is not None
    assert signed.session_token not in _dump(svc.db)


def test_failed_sign_ins_look_alike_to_the_caller_and_differ_in_the_audit(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    svc.add_user(CLI, "bob", PW, ["viewer"])
    svc.add_user(CLI, "sso", None, ["viewer"])
    svc.set_active(CLI, "bob", False)
    messages = set()
    for name, pw in (("alice", "wrong password!"), ("nobody", PW), ("bob", PW), ("sso", PW)):
        with pytest.raises(AuthenticationError) as err:
            svc.sign_in(name, pw, ip="10.0.0.9")
        messages.add(str(err.value))
    assert messages == {"wrong user name or password"}
    reasons = [(r["user"], r["extra"]["reason"]) for r in _records(svc.db, "auth.login")]
    assert reasons == [
        ("alice", "bad_password"),
        ("nobody", "unknown_user"),
        ("bob", "user_disabled"),
        ("sso", "no_password"),
    ]


def test_lockout_after_repeated_failures_even_for_the_right_password(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            svc.sign_in("alice", "wrong password!", ip="10.0.0.2")
    with pytest.raises(RateLimitedError) as err:
        svc.sign_in("alice", PW, ip="10.0.0.3")
    assert err.value.retry_after > 800
    last = _records(svc.db, "auth.login")[-1]
    assert (last["result"], last["extra"]["reason"]) == ("failure", "locked")


def test_an_outdated_hash_is_upgraded_at_sign_in(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PW)
    with svc.db.session() as s:
        s.execute(update(User).values(password_hash=weak))
    svc.sign_in("alice", PW, session=False)
    with svc.db.session() as s:
        stored = s.scalars(select(User.password_hash)).one()
    assert stored != weak and stored is not None and not FAST.check_needs_rehash(stored)
    assert _records(svc.db, "auth.login")[-1]["extra"]["rehashed"] is True


def test_token_lifecycle(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    svc.add_user(CLI, "ci", PW, ["operator"])
    created = svc.create_token(CLI, "pipeline", expires_in=timedelta(days=30), username="ci")
    assert created.token.startswith(created.view.prefix + "_")
    assert created.token not in repr(created)
    actor = svc.authenticate_token(created.token, ip="10.2.2.2")
    assert (actor.username, actor.roles, actor.via, actor.token_id) == (
        "ci",
        {"operator"},
        "token",
        created.view.id,
    )
    [listed] = svc.list_tokens(CLI, username="ci")
    assert listed.status == "active" and listed.last_used_at is not None
    assert created.token not in _dump(svc.db)

    svc.revoke_token(CLI, created.view.prefix)
    with pytest.raises(AuthenticationError, match="unknown, expired or revoked"):
        svc.authenticate_token(created.token)
    assert svc.list_tokens(CLI, username="ci")[0].status == "revoked"

    second = svc.create_token(CLI, "short", expires_in=timedelta(minutes=5), username="ci")
    with svc.db.session() as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == second.view.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(AuthenticationError, match="unknown, expired or revoked"):
        svc.authenticate_token(second.token)
    third = svc.create_token(CLI, "x", username="ci")
    svc.set_active(CLI, "ci", False)
    for bad in (third.token, third.token[:-1] + ("A" if third.token[-1] != "A" else "B"), "garbage"):
        with pytest.raises(AuthenticationError, match="unknown, expired or revoked"):
            svc.authenticate_token(bad)
    reasons = [r["extra"]["reason"] for r in _records(svc.db, "auth.token")]
    assert reasons == ["revoked", "expired", "user_disabled", "unknown", "malformed"]


def test_users_manage_their_own_tokens_only(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    svc.add_user(CLI, "vic", PW, ["viewer"])
    svc.add_user(CLI, "ops", PW, ["operator"])
    vic = svc.sign_in("vic", PW).actor
    mine = svc.create_token(vic, "laptop")
    assert [t.name for t in svc.list_tokens(vic)] == ["laptop"]
    theirs = svc.create_token(CLI, "ops-token", username="ops")
    with pytest.raises(PermissionDeniedError, match="tokens:manage_all"):
        svc.revoke_token(vic, theirs.view.id)
    with pytest.raises(PermissionDeniedError):
        svc.create_token(vic, "for ops", username="ops")
    svc.revoke_token(vic, mine.view.id)
    denied = _records(svc.db, "access.denied")
    assert [(r["user"], r["extra"]["permission"]) for r in denied] == [
        ("vic", "tokens:manage_all"),
        ("vic", "tokens:manage_all"),
    ]


def test_denied_access_is_refused_and_recorded(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    svc.add_user(CLI, "vic", PW, ["viewer"])
    vic = svc.sign_in("vic", PW, ip="10.9.9.9").actor
    with pytest.raises(PermissionDeniedError, match="users:manage"):
        svc.add_user(vic, "mallory", PW, ["admin"])
    with pytest.raises(PermissionDeniedError):
        svc.list_users(vic)
    svc.authorize(vic, "scans:read")  # allowed: nothing recorded
    denied = _records(svc.db, "access.denied")
    assert [(r["user"], r["ip"], r["session"], r["extra"]["permission"]) for r in denied] == [
        ("vic", "10.9.9.9", vic.session, "users:manage"),
        ("vic", "10.9.9.9", vic.session, "users:read"),
    ]
    with svc.db.session() as s:
        assert s.scalars(select(User.username).where(User.username == "mallory")).first() is None


def test_the_last_active_admin_stays(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    with pytest.raises(ConflictError, match="last active admin"):
        svc.set_active(CLI, "alice", False)
    with pytest.raises(ConflictError, match="last active admin"):
        svc.change_roles(CLI, "alice", revoke=["admin"])
    svc.add_user(CLI, "root2", PW, ["admin"])
    svc.change_roles(CLI, "alice", revoke=["admin"], grant=["viewer"])
    assert {u.username: u.roles for u in svc.list_users(CLI)} == {"alice": ["viewer"], "root2": ["admin"]}


def test_user_changes_are_audited_with_changes_and_chain_verifies(svc: AccessService) -> None:
    svc.create_admin("alice", PW)
    svc.add_user(CLI, "bob", PW, ["viewer"], email="bob@example.com")
    svc.change_roles(CLI, "bob", grant=["approver"])
    svc.set_password(CLI, "bob", "another long passphrase")
    svc.set_active(CLI, "bob", False)
    with pytest.raises(ConflictError):
        svc.add_user(CLI, "bob", PW, ["viewer"])
    with pytest.raises(StateNotFoundError):
        svc.set_active(CLI, "ghost", False)
    rows = [(r["action"], r["result"], r["changes"]) for r in _records(svc.db)]
    assert rows[1:] == [
        ("user.create", "success", {"roles": ["viewer"], "email": "bob@example.com"}),
        ("user.grant", "success", {"roles": [["viewer"], ["approver", "viewer"]]}),
        ("user.password", "success", {"password": "changed"}),
        ("user.disable", "success", {"active": [True, False]}),
        ("user.create", "failure", None),
        ("user.disable", "failure", None),
    ]
    assert all(r["user"] == CLI.username and r["extra"]["origin"] == "cli" for r in _records(svc.db))
    assert audit.verify(svc.db).ok
    with svc.db.session() as s:
        assert s.scalars(select(AuditRecord)).all()[-1].extra["error"].startswith("ghost: no such user")


def test_compliance_mode_fields_are_recorded(database: Database, tmp_path: Path) -> None:
    svc = AccessService(settings_for(database, tmp_path, audit_mode="pci-dss"), database)
    svc.create_admin("alice", PW)
    [rec] = _records(database)
    assert rec["extra"]["mode"] == "pci-dss" and rec["extra"]["origin"] == "cli" and rec["extra"]["host"]
