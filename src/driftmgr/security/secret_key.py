"""The server's secret key (CSRF tokens, signed values).

There is no built-in default. `DRIFTMGR_SECRET_KEY` (at least 32 characters) wins; without it, in
embedded mode a random key is generated once into `<data_dir>/secret_key` with mode 0600 and read
from there afterwards (a file readable by group or others is refused). Scaled out (Redis set), every
API replica must share one key, so the setting is required there.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from driftmgr.config import Settings
from driftmgr.errors import UsageError

MIN_LENGTH = 32
FILE_NAME = "secret_key"


def secret_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < MIN_LENGTH:
            raise UsageError(f"DRIFTMGR_SECRET_KEY is too short: at least {MIN_LENGTH} characters")
        return value.encode("utf-8")
    if settings.scaled:
        raise UsageError(
            "DRIFTMGR_SECRET_KEY is required when DRIFTMGR_REDIS_URL is set: every API process must "
            "share it (generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return _key_file(Path(settings.data_dir) / FILE_NAME)


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    try:
        os.write(fd, secrets.token_urlsafe(48).encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(
                "the secret key file is readable by others: chmod 600 it (or remove it to start over)",
                source=str(path),
            )
        value = path.read_bytes().strip()
    except OSError as exc:
        raise UsageError(
            f"cannot read the secret key file: {exc.strerror or exc}", source=str(path)
        ) from None
    if len(value) < MIN_LENGTH:  # a concurrent first start may still be writing it
        import time

        for _ in range(50):
            time.sleep(0.02)
            value = path.read_bytes().strip()
            if len(value) >= MIN_LENGTH:
                break
        else:
            raise UsageError("the secret key file is too short or empty: remove it", source=str(path))
    return value
