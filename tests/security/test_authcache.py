"""The authentication hot path: callers cached for seconds, never past a revocation made here, never
longer than the TTL for one made elsewhere; failures never cached; `last_used_at` written off the request."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.security.authcache import AUTH_CACHE_TTL, AuthCache
from driftmgr.security.errors import AuthenticationError, PermissionDeniedError
from driftmgr.services.access import AccessService, Actor
from tests.fixtures.db import settings_for

pytestmark = pytest.mark.usefixtures("fast_hashing")

PW = "correct horse battery"
CLI = Actor.cli()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def svc(database: Database, tmp_path: Path) -> AccessService:
    service = AccessService(settings_for(database, tmp_path), database)
    service.create_admin("alice", PW)
    service.add_user(CLI, "ci", PW, ["operator"])
    return service


def _count_lookups(svc: AccessService, monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    calls: list[str] = []
    real = getattr(svc, name)

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(threading.current_thread().name)
        return real(*args, **kw)

    monkeypatch.setattr(svc, name, counted)
    return calls


def test_a_token_is_looked_up_once_then_served_from_memory(
    svc: AccessService, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = svc.create_token(CLI, "pipeline", username="ci").token
    lookups = _count_lookups(svc, monkeypatch, "_lookup_token")
    first = svc.authenticate_token(token, ip="10.0.0.1")
    second = svc.authenticate_token(token, ip="10.0.0.2", origin="gui")
    assert len(lookups) == 1
    assert (first.username, first.roles, first.ip, first.origin) == ("ci", {"operator"}, "10.0.0.1", "api")
    assert (second.username, second.token_id, second.ip, second.origin) == (
        "ci",
        first.token_id,
        "10.0.0.2",
        "gui",
    )
    assert svc.cached_caller("token", token, ip=None, origin="api") is not None
    assert svc.cached_caller("token", token + "x", ip=None, origin="api") is None


def test_concurrent_requests_with_an_uncached_token_look_it_up_once(
    svc: AccessService, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = svc.create_token(CLI, "pipeline", username="ci").token
    lookups = _count_lookups(svc, monkeypatch, "_lookup_token")
    start = threading.Barrier(16)
    seen: list[str] = []

    def request() -> None:
        start.wait()
        seen.append(svc.authenticate_token(token).username)

    threads = [threading.Thread(target=request) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == ["ci"] * 16 and len(lookups) == 1


def test_changes_made_here_take_effect_on_the_next_request(svc: AccessService) -> None:
    token = svc.create_token(CLI, "pipeline", username="ci").token
    assert svc.authenticate_token(token).roles == {"operator"}
    svc.change_roles(CLI, "ci", grant=["viewer"], revoke=["operator"])
    assert svc.authenticate_token(token).roles == {"viewer"}  # not the cached operator
    svc.set_active(CLI, "ci", False)
    with pytest.raises(AuthenticationError):
        svc.authenticate_token(token)
    svc.set_active(CLI, "ci", True)
    assert svc.authenticate_token(token).username == "ci"
    svc.revoke_token(CLI, token[:11])
    with pytest.raises(AuthenticationError):
        svc.authenticate_token(token)
    assert svc.cached_caller("token", token, ip=None, origin="api") is None


def test_a_session_is_cached_until_sign_out(svc: AccessService) -> None:
    signed = svc.sign_in("ci", PW)
    assert signed.session_token is not None
    assert svc.resolve_session(signed.session_token).session == signed.actor.session
    assert svc.cached_caller("session", signed.session_token, ip=None, origin="gui") is not None
    svc.sign_out(signed.session_token)
    with pytest.raises(AuthenticationError):
        svc.resolve_session(signed.session_token)


def test_a_revocation_by_another_process_takes_effect_within_the_ttl(
    database: Database, tmp_path: Path, svc: AccessService
) -> None:
    assert 0 < AUTH_CACHE_TTL <= 5  # the documented bound (docs/security.md)
    server = AccessService(settings_for(database, tmp_path), database)  # e.g. `driftmgr serve`
    clock = Clock()
    server._callers = AuthCache(clock=clock)
    token = svc.create_token(CLI, "pipeline", username="ci").token
    assert server.authenticate_token(token).username == "ci"
    svc.revoke_token(CLI, token[:11])  # e.g. `driftmgr tokens revoke` in another process
    clock.now += AUTH_CACHE_TTL / 2
    assert server.authenticate_token(token).username == "ci"  # still cached: the bounded window
    clock.now += AUTH_CACHE_TTL / 2 + 0.01
    with pytest.raises(AuthenticationError):
        server.authenticate_token(token)


def test_failures_are_never_cached_and_each_is_audited(svc: AccessService) -> None:
    from driftmgr.platform import audit

    token = svc.create_token(CLI, "pipeline", username="ci").token
    svc.revoke_token(CLI, token[:11])
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            svc.authenticate_token(token)
    with svc.db.session() as s:
        records = [audit.to_dict(r) for r in audit.query_records(s, action="auth.token")]
    assert [r["extra"]["reason"] for r in records] == ["revoked"] * 3


def test_a_denied_permission_is_checked_on_the_cached_caller(svc: AccessService) -> None:
    token = svc.create_token(CLI, "pipeline", username="ci").token
    actor = svc.authenticate_token(token)
    actor = svc.authenticate_token(token)  # from the cache
    with pytest.raises(PermissionDeniedError):
        svc.authorize(actor, "users:manage")


def test_last_used_is_written_off_the_request_thread(
    svc: AccessService, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = svc.create_token(CLI, "pipeline", username="ci").token
    touches = _count_lookups(svc, monkeypatch, "_touch_token")
    svc.authenticate_token(token)
    [listed] = svc.list_tokens(CLI, username="ci")  # waits for this process's pending touches
    assert listed.last_used_at is not None
    assert len(touches) == 1 and touches[0] != threading.current_thread().name
    svc._callers.clear()
    svc.authenticate_token(token)  # looked up again within the minute: not written again
    svc.list_tokens(CLI, username="ci")
    assert len(touches) == 1


def test_an_entry_never_outlives_the_ttl_or_the_credential() -> None:
    clock = Clock()
    cache: AuthCache[str] = AuthCache(ttl=2.0, clock=clock)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    cache.put("a", "alice")
    cache.put("b", "bob", not_after=soon)
    cache.put("c", "carol", not_after=datetime.now(UTC) - timedelta(seconds=1))  # ended: not kept
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("alice", "bob", None)
    clock.now += 1.5
    assert (cache.get("a"), cache.get("b")) == ("alice", None)
    clock.now += 0.6
    assert cache.get("a") is None


def test_a_lookup_that_raced_a_change_is_not_kept() -> None:
    cache: AuthCache[str] = AuthCache()
    generation = cache.generation  # a lookup starts …
    cache.clear()  # … a revocation lands meanwhile …
    cache.put("k", "stale", generation=generation)  # … its result must not be served afterwards
    assert cache.get("k") is None
    cache.put("k", "fresh", generation=cache.generation)
    assert cache.get("k") == "fresh"


def test_the_cache_is_bounded() -> None:
    cache: AuthCache[int] = AuthCache(max_entries=10)
    for i in range(25):
        cache.put(str(i), i)
    assert len(cache._entries) <= 10 and cache.get("24") == 24
