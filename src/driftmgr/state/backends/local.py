"""Local state files, with Terraform's workspace layout and lock file.

`path/terraform.tfstate` is the default workspace; `path/terraform.tfstate.d/<ws>/terraform.tfstate`
are the others. Locking follows Terraform's local backend: an exclusive `fcntl` lock on the state
file plus `.<name>.lock.info` holding the lock document. Writes are atomic (temp file + rename) and
keep the previous content in `<name>.backup`, as Terraform does.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import tempfile
from pathlib import Path
from typing import IO

import orjson

from driftmgr.errors import AccessDeniedError, BackendError, LockError, StateNotFoundError
from driftmgr.models import LockInfo
from driftmgr.state.backends.base import Backend, register


@register("file")
class LocalBackend(Backend):
    kind = "local"
    supports_lock = True
    supports_workspaces = True

    def __init__(self, url: str) -> None:
        super().__init__(url)
        raw = url[len("file://") :] if url.startswith("file://") else url
        self.path = Path(raw).expanduser()
        self.workspace = _workspace_of(self.path)
        self._lock_fd: int | None = None
        self._lock_id: str | None = None

    @property
    def display_url(self) -> str:
        return str(self.path)

    def open(self) -> IO[bytes]:
        if self._lock_fd is not None:
            # POSIX record locks (what Terraform takes) are dropped when the process closes ANY
            # descriptor of the file, so while locked every read goes through the locked one.
            return io.BytesIO(_pread_all(self._lock_fd))
        try:
            if self.path.is_dir():
                raise BackendError("is a directory, not a state file", source=str(self.path))
            return open(self.path, "rb")
        except FileNotFoundError:
            raise StateNotFoundError("no such file", source=str(self.path)) from None
        except PermissionError:
            raise AccessDeniedError("permission denied reading the file", source=str(self.path)) from None
        except IsADirectoryError:
            raise BackendError("is a directory, not a state file", source=str(self.path)) from None
        except OSError as exc:
            raise BackendError(f"cannot read: {exc.strerror or exc}", source=str(self.path)) from None

    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        if self._lock_id is not None and lock_id != self._lock_id:
            raise LockError("the state is locked; pass the lock id to write", source=str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        backup = self.path.with_name(self.path.name + ".backup")
        if self._lock_fd is not None:
            self._write_locked(data, backup)
            return
        try:
            if self.path.exists():
                backup.write_bytes(self.path.read_bytes())
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except PermissionError:
            raise AccessDeniedError("permission denied writing the file", source=str(self.path)) from None
        except OSError as exc:
            raise BackendError(f"cannot write: {exc.strerror or exc}", source=str(self.path)) from None

    def _write_locked(self, data: bytes, backup: Path) -> None:
        """Write in place through the locked descriptor, as Terraform does: a rename would leave
        the lock on the old file, and opening the file again would drop it."""
        assert self._lock_fd is not None
        fd = self._lock_fd
        try:
            old = _pread_all(fd)
            if old:
                backup.write_bytes(old)
            os.ftruncate(fd, 0)
            view = memoryview(data)
            offset = 0
            while offset < len(view):
                offset += os.pwrite(fd, view[offset:], offset)
            os.fsync(fd)
        except PermissionError:
            raise AccessDeniedError("permission denied writing the file", source=str(self.path)) from None
        except OSError as exc:
            raise BackendError(f"cannot write: {exc.strerror or exc}", source=str(self.path)) from None

    # --- locking ---------------------------------------------------------------------------
    @property
    def lock_info_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock.info")

    def lock(self, info: LockInfo) -> str:
        if self._lock_fd is not None:
            raise LockError("already locked by this process", source=str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                holder = self._read_lock_info()
                who = holder.get("Who", "another process") if holder else "another process"
                raise LockError(
                    f"the state is locked by {who}", source=str(self.path), lock_info=holder
                ) from None
            raise BackendError(f"cannot lock: {exc.strerror}", source=str(self.path)) from None
        info.path = str(self.path)
        self.lock_info_path.write_bytes(orjson.dumps(info.to_json()))
        self._lock_fd = fd
        self._lock_id = info.id
        return info.id

    def unlock(self, lock_id: str) -> None:
        if self._lock_fd is None:
            raise LockError("not locked by this process", source=str(self.path))
        if lock_id != self._lock_id:
            raise LockError(f"lock id {lock_id!r} does not match the held lock", source=str(self.path))
        with contextlib.suppress(FileNotFoundError):
            self.lock_info_path.unlink()
        fcntl.lockf(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None
        self._lock_id = None
        # An empty file created only to hold the lock is not a state: leave no trace.
        with contextlib.suppress(OSError):
            if self.path.stat().st_size == 0:
                self.path.unlink()

    def _read_lock_info(self) -> dict[str, object]:
        try:
            data = orjson.loads(self.lock_info_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    # --- workspaces ------------------------------------------------------------------------
    def _root(self) -> Path:
        """The directory holding the default state (the parent of terraform.tfstate.d)."""
        if self.path.parent.parent.name == "terraform.tfstate.d":
            return self.path.parent.parent.parent
        return self.path.parent

    def workspaces(self) -> list[str]:
        root = self._root()
        names = ["default"] if (root / self.path.name).exists() or self.workspace == "default" else []
        d = root / "terraform.tfstate.d"
        if d.is_dir():
            names += sorted(p.name for p in d.iterdir() if (p / "terraform.tfstate").is_file())
        return names

    def workspace_path(self, workspace: str) -> Path:
        root = self._root()
        if workspace == "default":
            return root / "terraform.tfstate"
        return root / "terraform.tfstate.d" / workspace / "terraform.tfstate"

    def list_states(self) -> list[str]:
        base = self.path
        if not base.is_dir():
            raise BackendError("not a directory", source=str(base))
        return sorted(str(p) for p in base.rglob("*.tfstate") if p.is_file() and ".terraform" not in p.parts)


def _pread_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(1 << 20, size - offset), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _workspace_of(path: Path) -> str:
    if path.parent.parent.name == "terraform.tfstate.d":
        return path.parent.name
    return "default"
