"""Writing states safely: `state push` and `state migrate`.

Both follow one discipline, the one `terraform state push` and backend migration follow:
1. the new content is validated in full before anything is locked or written;
2. the destination is locked where its backend locks (the source too, for a migration), and every
   lock taken is released in a `finally`, also when the operation fails;
3. the destination's current state is read under the lock; a different lineage or a higher serial
   is refused unless `force` (overwriting another state, or a newer version of this one, loses data);
4. a migration backs the destination's current content up to a local file (mode 0600: states hold
   secrets) before writing, reads the destination back, and restores the backup when the content
   read back is not what was written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from driftmgr.errors import (
    BackendError,
    ConflictError,
    DriftMgrError,
    LockError,
    StateError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.models import StateHeader
from driftmgr.state.backends.base import Backend, new_lock_info
from driftmgr.state.parse import StateReader


def validate_state(reader: StateReader) -> StateHeader:
    """Read a whole state (header, every instance, outputs, checks); StateFormatError on any problem."""
    header = reader.header()
    for _ in reader.iter_instances():
        pass
    reader.outputs()
    reader.check_results()
    return header


def validate_bytes(data: bytes, source: str) -> StateHeader:
    return validate_state(StateReader.from_bytes(data, source))


def content_digest(data: bytes, source: str) -> bytes:
    """A digest of what a state means (header identity, instances, outputs), not of its formatting."""
    reader = StateReader.from_bytes(data, source)
    header = reader.header()
    h = hashlib.blake2b(digest_size=32)
    h.update(orjson.dumps([header.version, header.serial, header.lineage]))
    for inst in reader.iter_instances():
        h.update(
            orjson.dumps(
                [
                    inst.address,
                    inst.deposed,
                    inst.status,
                    inst.provider,
                    inst.schema_version,
                    inst.attributes,
                ],
                option=orjson.OPT_SORT_KEYS,
            )
        )
    for out in sorted(reader.outputs(), key=lambda o: o.name):
        h.update(orjson.dumps([out.name, out.sensitive, out.type, out.value], option=orjson.OPT_SORT_KEYS))
    return h.digest()


@contextlib.contextmanager
def hold_lock(backend: Backend, operation: str, warnings: list[str]) -> Iterator[str | None]:
    """Lock `backend` for the block (when it locks) and always release the lock afterwards."""
    if not backend.supports_lock:
        warnings.append(f"{backend.display_url}: the {backend.kind} backend does not lock; written unlocked")
        yield None
        return
    lock_id = backend.lock(new_lock_info(operation, backend.display_url))
    try:
        yield lock_id
    except BaseException as exc:
        try:
            backend.unlock(lock_id)
        except (DriftMgrError, OSError) as unlock_exc:
            raise LockError(
                f"{exc}; then releasing the lock failed ({unlock_exc}): "
                f"release it with `terraform force-unlock {lock_id}`",
                source=backend.display_url,
            ) from exc
        raise
    try:
        backend.unlock(lock_id)
    except (DriftMgrError, OSError) as exc:
        raise LockError(
            f"the operation completed but releasing the lock failed ({exc}): "
            f"release it with `terraform force-unlock {lock_id}`",
            source=backend.display_url,
        ) from exc


def read_current(
    dst: Backend, *, force: bool, warnings: list[str]
) -> tuple[bytes | None, StateHeader | None]:
    """The destination's current content and header; (None, None) when it holds no state yet.

    Content that is not a valid state is refused unless `force` (then it is overwritten, after a
    backup where the caller makes one).
    """
    try:
        data = dst.read()
    except StateNotFoundError:
        return None, None
    if not data.strip():  # an empty object, e.g. the placeholder a local lock creates
        return None, None
    try:
        return data, validate_bytes(data, dst.display_url)
    except StateError as exc:
        if not force:
            raise ConflictError(
                f"the destination holds content that is not a valid state ({exc}); "
                "use --force to overwrite it",
                source=dst.display_url,
            ) from None
        warnings.append(f"{dst.display_url}: overwriting content that is not a valid state (--force)")
        return data, None


def check_replace(
    new: StateHeader, current: StateHeader | None, dst: Backend, *, force: bool, what: str
) -> list[str]:
    """Refuse (ConflictError) to replace `current` by `new` when lineages differ or the serial goes down."""
    if current is None:
        return []
    warnings: list[str] = []
    if new.lineage and current.lineage and new.lineage != current.lineage:
        msg = (
            f"the destination holds a state of a different lineage ({current.lineage}) "
            f"than {what} ({new.lineage})"
        )
        if not force:
            raise ConflictError(f"{msg}; use --force to overwrite it", source=dst.display_url)
        warnings.append(f"{dst.display_url}: {msg}: overwritten (--force)")
    elif new.serial is not None and current.serial is not None and new.serial < current.serial:
        msg = f"the destination's serial {current.serial} is higher than the serial {new.serial} of {what}"
        if not force:
            raise ConflictError(f"{msg}: it is newer; use --force to overwrite it", source=dst.display_url)
        warnings.append(f"{dst.display_url}: {msg}: overwritten (--force)")
    return warnings


# --- push -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class PushResult:
    destination: str
    serial: int | None
    lineage: str | None
    previous_serial: int | None = None
    previous_lineage: str | None = None
    locked: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "serial": self.serial,
            "lineage": self.lineage,
            "previous": {"serial": self.previous_serial, "lineage": self.previous_lineage},
            "locked": self.locked,
            "warnings": self.warnings,
        }


def push_state(data: bytes, dst: Backend, *, force: bool = False, source: str = "FILE") -> PushResult:
    """Replace `dst`'s state by `data`, as `terraform state push` does."""
    header = validate_bytes(data, source)  # before any lock: a bad file never touches DST
    result = PushResult(dst.display_url, header.serial, header.lineage)
    with hold_lock(dst, "state-push", result.warnings) as lock_id:
        result.locked = lock_id is not None
        _, current = read_current(dst, force=force, warnings=result.warnings)
        if current is not None:
            result.previous_serial, result.previous_lineage = current.serial, current.lineage
        result.warnings += check_replace(header, current, dst, force=force, what=source)
        dst.write(data, lock_id=lock_id)
    return result


# --- migrate --------------------------------------------------------------------------------------


@dataclass(slots=True)
class MigrateResult:
    source: str
    destination: str
    serial: int | None
    lineage: str | None
    size: int
    backup: str | None = None
    verified: str = ""  # "bytes" (identical) or "content" (same state, re-encoded by the backend)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "serial": self.serial,
            "lineage": self.lineage,
            "bytes": self.size,
            "backup": self.backup,
            "verified": self.verified,
            "warnings": self.warnings,
        }


def backup_path(dst: Backend, backup: str | os.PathLike[str] | None, workdir: Path, now: datetime) -> Path:
    """Where DST's current content goes: `--backup` (a file, or a directory to put it in) or workdir."""
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", dst.display_url.split("?", 1)[0]).strip("._")[-80:] or "state"
    name = f"driftmgr-backup-{slug}-{stamp}.tfstate"
    if backup is None:
        return workdir / name
    target = Path(backup).expanduser()
    if target.is_dir():
        return target / name
    if not target.parent.is_dir():
        raise UsageError("the backup directory does not exist", source=str(target.parent))
    return target


def write_backup(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError("the backup file already exists; not overwriting it", source=str(path)) from None
    except OSError as exc:
        raise BackendError(f"cannot write the backup: {exc.strerror or exc}", source=str(path)) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def verify_written(dst: Backend, data: bytes) -> str:
    """Read DST back: "bytes" when identical, "content" when the same state re-encoded; else raise."""
    back = dst.read()
    if back == data:
        return "bytes"
    try:
        same = content_digest(back, dst.display_url) == content_digest(data, "SRC")
    except (StateError, orjson.JSONEncodeError):
        same = False
    if not same:
        raise BackendError(
            "verification failed: the state read back differs from the one written", source=dst.display_url
        )
    return "content"


def migrate_state(
    src: Backend,
    dst: Backend,
    *,
    force: bool = False,
    backup: str | os.PathLike[str] | None = None,
    workdir: Path | None = None,
) -> MigrateResult:
    """Copy SRC's state to DST: lock both, back DST up, write, verify, restore on failure, unlock both."""
    if _identity(src) == _identity(dst):
        raise UsageError("SRC and DST are the same state", source=src.display_url)
    if not src.exists():  # checked before locking: a local lock would create an empty file
        raise StateNotFoundError("no state to migrate", source=src.display_url)
    warnings: list[str] = []
    with hold_lock(src, "state-migrate", warnings), hold_lock(dst, "state-migrate", warnings) as dst_lock:
        data = src.read()
        header = validate_bytes(data, src.display_url)
        result = MigrateResult(src.display_url, dst.display_url, header.serial, header.lineage, len(data))
        result.warnings = warnings
        previous, current = read_current(dst, force=force, warnings=warnings)
        warnings += check_replace(header, current, dst, force=force, what="SRC")
        saved: Path | None = None
        if previous is not None:
            saved = backup_path(dst, backup, workdir or Path.cwd(), datetime.now(UTC))
            write_backup(saved, previous)
            result.backup = str(saved)
        try:
            dst.write(data, lock_id=dst_lock)
            result.verified = verify_written(dst, data)
        except Exception as exc:  # any failure here: put the previous content back, then report
            raise _restore(dst, dst_lock, previous, saved, exc) from exc
    return result


def _identity(backend: Backend) -> tuple[str, str]:
    path = getattr(backend, "path", None)
    if isinstance(path, Path):
        return ("file", str(path.expanduser().resolve()))
    return (type(backend).__name__, backend.url)


def _restore(
    dst: Backend, lock_id: str | None, previous: bytes | None, saved: Path | None, exc: Exception
) -> DriftMgrError:
    """Put DST's previous content back after a failed write or verification; the error to raise."""
    if not isinstance(exc, DriftMgrError):
        exc = BackendError(f"{type(exc).__name__}: {exc}")
    if previous is None:
        return BackendError(
            f"migration failed ({exc}); the destination held no state before and may now hold "
            "an incomplete copy: check it before use",
            source=dst.display_url,
        )
    try:
        dst.write(previous, lock_id=lock_id)
        if dst.read() != previous:
            raise BackendError("the restored content reads back differently", source=dst.display_url)
    except Exception as restore_exc:  # noqa: BLE001 - reported in the error returned
        return BackendError(
            f"migration failed ({exc}) and restoring the previous state failed ({restore_exc}): "
            f"restore it by hand from {saved}",
            source=dst.display_url,
        )
    return BackendError(
        f"migration failed ({exc}); the previous state was restored (backup kept at {saved})",
        source=dst.display_url,
    )
