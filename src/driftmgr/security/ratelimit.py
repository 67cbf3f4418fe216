"""Login rate limiting, shared by every process through the database.

Each failed sign-in is a row keyed `user:<name>` and `ip:<address>`. When a key collected its limit
of failures (`login_max_failures` per user name, `login_max_failures_ip` per address) within
`login_window` seconds, it is locked until `login_lockout` seconds after the last of them. Attempts
while locked are refused before the password is even checked and are not counted, so a lockout
does not extend itself. A successful sign-in clears the user name's failures (not the address's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from driftmgr.config import Settings
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import LoginFailure
from driftmgr.security.errors import RateLimitedError


@dataclass(frozen=True)
class LoginLimiter:
    max_user: int = 5
    max_ip: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        return cls(
            max_user=settings.login_max_failures,
            max_ip=settings.login_max_failures_ip,
            window=timedelta(seconds=settings.login_window),
            lockout=timedelta(seconds=settings.login_lockout),
        )

    def _keys(self, username: str, ip: str | None) -> list[tuple[str, int]]:
        keys = [(user_key(username), self.max_user)]
        if ip:
            keys.append((f"ip:{ip[:64]}", self.max_ip))
        return keys

    def locked_until(self, s: Session, key: str, limit: int, now: datetime) -> datetime | None:
        recent = list(
            s.scalars(
                select(LoginFailure.at)
                .where(LoginFailure.key == key, LoginFailure.at >= now - self.window - self.lockout)
                .order_by(LoginFailure.at.desc())
                .limit(limit)
            )
        )
        if len(recent) < limit or recent[0] - recent[-1] > self.window:
            return None
        until = recent[0] + self.lockout
        return until if until > now else None

    def check(self, s: Session, username: str, ip: str | None, now: datetime | None = None) -> None:
        """Raise RateLimitedError when the user name or the address is locked."""
        now = now or utcnow()
        for key, limit in self._keys(username, ip):
            until = self.locked_until(s, key, limit, now)
            if until is not None:
                what = "this user name" if key.startswith("user:") else "this address"
                raise RateLimitedError(
                    f"too many failed sign-ins for {what}: try again later",
                    retry_after=(until - now).total_seconds(),
                )

    def failed(self, s: Session, username: str, ip: str | None, now: datetime | None = None) -> None:
        now = now or utcnow()
        for key, _ in self._keys(username, ip):
            s.add(LoginFailure(key=key, at=now))
        s.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window - self.lockout))

    def succeeded(self, s: Session, username: str) -> None:
        s.execute(delete(LoginFailure).where(LoginFailure.key == user_key(username)))


def user_key(username: str) -> str:
    return f"user:{username.strip().lower()[:190]}"
