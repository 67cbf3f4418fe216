"""Password hashing with argon2id (argon2-cffi), and the password policy.

Policy (NIST SP 800-63B style): a minimum length (setting `password_min_length`, 12 by default), at
most 1024 characters (hashing cost is bounded), not only spaces, not the user name. No composition
rules. Hashes whose parameters are older than the current ones are re-hashed at the next sign-in.
"""

from __future__ import annotations

import contextlib
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from driftmgr.errors import UsageError

MAX_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id, the library's current RFC 9106 low-memory profile
_dummy_lock = threading.Lock()
_dummy_hash: str | None = None


def check_policy(password: str, *, username: str | None = None, min_length: int = 12) -> None:
    """Raise UsageError naming what is wrong with `password`."""
    if len(password) < min_length:
        raise UsageError(f"the password is too short: at least {min_length} characters are required")
    if len(password) > MAX_LENGTH:
        raise UsageError(f"the password is too long: at most {MAX_LENGTH} characters")
    if not password.strip():
        raise UsageError("the password cannot be only spaces")
    if username is not None and password.strip().lower() == username.strip().lower():
        raise UsageError("the password cannot be the user name")


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or _hasher).hash(password)


def verify_password(
    stored: str | None, password: str, hasher: PasswordHasher | None = None
) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one should be upgraded, else None).

    `stored` None (an SSO-only user, or no such user) still spends one hash verification, so a
    caller cannot tell unknown users from wrong passwords by timing.
    """
    h = hasher or _hasher
    if stored is None:
        with contextlib.suppress(VerificationError, InvalidHashError):
            h.verify(_dummy(), password)
        return False, None
    try:
        h.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (h.hash(password) if h.check_needs_rehash(stored) else None)


def _dummy() -> str:
    """A hash of a random string no one knows, made once per process (never a usable password)."""
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(32))
        return _dummy_hash
