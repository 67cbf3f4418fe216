from __future__ import annotations

from datetime import timedelta

import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import utcnow
from driftmgr.security.errors import RateLimitedError
from driftmgr.security.ratelimit import LoginLimiter

LIM = LoginLimiter(max_user=3, max_ip=5, window=timedelta(minutes=15), lockout=timedelta(minutes=10))


def test_locks_after_the_limit_and_lifts_after_the_lockout(database: Database) -> None:
    t0 = utcnow()
    for i in range(2):
        with database.session() as s:
            LIM.check(s, "ann", "1.2.3.4", t0)
            LIM.failed(s, "ann", "1.2.3.4", t0 + timedelta(minutes=i))
    with database.session() as s:
        LIM.check(s, "ann", "1.2.3.4", t0 + timedelta(minutes=2))  # two failures: still open
        LIM.failed(s, "ann", "1.2.3.4", t0 + timedelta(minutes=2))
    with database.session() as s, pytest.raises(RateLimitedError) as err:
        LIM.check(s, "ANN", "9.9.9.9", t0 + timedelta(minutes=3))  # by user name, from any address
    assert err.value.retry_after == pytest.approx(9 * 60)
    assert "user name" in str(err.value)
    with database.session() as s:
        LIM.check(s, "bob", "1.2.3.4", t0 + timedelta(minutes=3))  # the address is not locked yet (5)
        LIM.check(s, "ann", None, t0 + timedelta(minutes=12, seconds=1))  # lockout over


def test_failures_spread_wider_than_the_window_do_not_lock(database: Database) -> None:
    t0 = utcnow()
    for minutes in (0, 10, 20):
        with database.session() as s:
            LIM.failed(s, "ann", None, t0 + timedelta(minutes=minutes))
    with database.session() as s:
        LIM.check(s, "ann", None, t0 + timedelta(minutes=21))


def test_address_limit_across_user_names(database: Database) -> None:
    t0 = utcnow()
    with database.session() as s:
        for i in range(5):
            LIM.failed(s, f"user{i}", "5.5.5.5", t0)
    with database.session() as s, pytest.raises(RateLimitedError, match="address"):
        LIM.check(s, "newcomer", "5.5.5.5", t0 + timedelta(seconds=1))


def test_success_clears_the_user_name_only(database: Database) -> None:
    t0 = utcnow()
    with database.session() as s:
        for _ in range(3):
            LIM.failed(s, "ann", "7.7.7.7", t0)
    with database.session() as s:
        LIM.succeeded(s, "ann")
    with database.session() as s:
        LIM.check(s, "ann", "7.7.7.7", t0 + timedelta(seconds=1))


def test_the_limit_is_shared_by_separate_processes(database: Database) -> None:
    """A second engine on the same database (another API replica) sees the same failures."""
    other = Database(database.url)
    try:
        t0 = utcnow()
        with database.session() as s:
            LIM.failed(s, "ann", None, t0)
            LIM.failed(s, "ann", None, t0)
        with other.session() as s:
            LIM.failed(s, "ann", None, t0)
        with other.session() as s, pytest.raises(RateLimitedError):
            LIM.check(s, "ann", None, t0 + timedelta(seconds=1))
    finally:
        other.dispose()
