"""API tokens: `dm_<prefix>_<secret>`, shown once, stored as sha256, expiring and revocable.

The prefix (8 characters) tells tokens apart in listings and in secret scanners; the secret has
256 bits of randomness, so a plain sha256 (no salt, no slow hash) is enough and allows lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from driftmgr.errors import UsageError

TOKEN_RE = re.compile(r"^dm_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
DEFAULT_TTL = timedelta(days=90)
MAX_TTL = timedelta(days=5 * 366)
_ALPHABET = string.ascii_lowercase + string.digits
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([mhdwy])\s*$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


@dataclass(frozen=True)
class NewToken:
    plaintext: str  # shown once, never stored
    prefix: str  # "dm_<8 chars>"
    token_hash: str

    def __repr__(self) -> str:
        return f"NewToken(prefix={self.prefix!r}, plaintext='***')"


def generate() -> NewToken:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    plaintext = f"dm_{prefix}_{secrets.token_urlsafe(32)}"
    return NewToken(plaintext=plaintext, prefix=f"dm_{prefix}", token_hash=hash_token(plaintext))


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    return TOKEN_RE.match(value) is not None


def parse_duration(text: str, *, maximum: timedelta | None = MAX_TTL) -> timedelta:
    """`30d`, `12h`, `90m`, `2w`, `1y` → timedelta; at least one minute, at most `maximum`."""
    m = _DURATION_RE.match(text)
    if not m:
        raise UsageError("a duration is a number and a unit m, h, d, w or y (e.g. 30d)", source=text)
    value = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    if value < timedelta(minutes=1):
        raise UsageError("a duration is at least one minute", source=text)
    if maximum is not None and value > maximum:
        raise UsageError(f"at most {maximum.days} days", source=text)
    return value
