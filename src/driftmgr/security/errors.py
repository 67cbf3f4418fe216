"""The errors of signing in and of being refused.

`AccessDeniedError` in `driftmgr.errors` is a state backend refusing our credentials (a BackendError);
these are DriftMgr refusing a caller, and map to HTTP 401, 429 and 403.
"""

from __future__ import annotations

from driftmgr.errors import DriftMgrError


class AuthenticationError(DriftMgrError):
    """Who are you? Wrong password, unknown/expired/revoked token, ended session: one message for all."""

    code = "unauthenticated"


class RateLimitedError(AuthenticationError):
    """Too many failed sign-ins for this user name or address; `retry_after` seconds until it lifts."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermissionDeniedError(DriftMgrError):
    """Signed in, but no role of the caller grants the permission."""

    code = "forbidden"

    def __init__(self, message: str, *, permission: str | None = None) -> None:
        self.permission = permission
        super().__init__(message)


class CsrfError(PermissionDeniedError):
    code = "csrf_failed"
