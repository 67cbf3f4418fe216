"""Push and migrate rules: validate first, always unlock, refuse lineage/serial conflicts, restore."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import orjson
import pytest

from driftmgr.errors import (
    BackendError,
    ConflictError,
    LockError,
    StateFormatError,
    StateNotFoundError,
    UsageError,
)
from driftmgr.models import LockInfo, StateHeader
from driftmgr.state.analysis.migrate import (
    backup_path,
    check_replace,
    migrate_state,
    push_state,
    validate_bytes,
)
from driftmgr.state.backends.base import Backend
from driftmgr.state.backends.local import LocalBackend
from tests.state.analysis_helpers import rich_state, state

# --- push / migrate rules ---------------------------------------------------------------------


def header(serial: int | None, lineage: str | None) -> StateHeader:
    return StateHeader(version=4, terraform_version="1.9.5", serial=serial, lineage=lineage)


def test_check_replace_refuses_other_lineage_and_lower_serial(tmp_path: Path) -> None:
    dst = LocalBackend(str(tmp_path / "t.tfstate"))
    assert check_replace(header(1, "a"), None, dst, force=False, what="FILE") == []
    assert check_replace(header(5, "a"), header(5, "a"), dst, force=False, what="FILE") == []
    with pytest.raises(ConflictError, match=r"different lineage \(b\) than FILE \(a\); use --force"):
        check_replace(header(9, "a"), header(1, "b"), dst, force=False, what="FILE")
    with pytest.raises(ConflictError, match="serial 7 is higher than the serial 6 of FILE"):
        check_replace(header(6, "a"), header(7, "a"), dst, force=False, what="FILE")
    warned = check_replace(header(6, "a"), header(7, "b"), dst, force=True, what="FILE")
    assert len(warned) == 1 and "overwritten (--force)" in warned[0]


def test_backup_path_is_timestamped_in_workdir_or_backup_dir(tmp_path: Path) -> None:
    dst = LocalBackend("/srv/states/prod.tfstate")
    now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    expected = "driftmgr-backup-srv_states_prod.tfstate-20260102T030405000006Z.tfstate"
    assert backup_path(dst, None, tmp_path, now) == tmp_path / expected
    (tmp_path / "bk").mkdir()
    assert backup_path(dst, tmp_path / "bk", tmp_path, now) == tmp_path / "bk" / expected
    assert backup_path(dst, tmp_path / "exact.tfstate", tmp_path, now) == tmp_path / "exact.tfstate"


def test_validate_bytes_rejects_a_truncated_state() -> None:
    raw = orjson.dumps(rich_state())
    assert validate_bytes(raw, "ok").serial == 1
    with pytest.raises(StateFormatError, match=r"truncated|invalid JSON"):
        validate_bytes(raw[:-20], "cut.tfstate")


class MemBackend(Backend):
    """An in-memory backend with knobs for failures (not registered: passed in directly)."""

    kind = "mem"
    supports_lock = True

    def __init__(self, url: str, data: bytes | None = None, *, locks: bool = True) -> None:
        super().__init__(url)
        self.data = data
        self.lock_id: str | None = None
        self.writes = 0
        self.corrupt_writes: set[int] = set()  # 1-based write numbers whose content is altered
        self.fail_writes: set[int] = set()  # 1-based write numbers that raise
        self.fail_unlock = False
        self.supports_lock = locks  # type: ignore[misc]

    def open(self) -> IO[bytes]:
        if self.data is None:
            raise StateNotFoundError("no state", source=self.url)
        return io.BytesIO(self.data)

    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        self.writes += 1
        if self.writes in self.fail_writes:
            raise RuntimeError("disk on fire")
        self.data = data.replace(b"lin-1", b"lin-X") if self.writes in self.corrupt_writes else data

    def lock(self, info: LockInfo) -> str:
        if self.lock_id:
            raise LockError("locked", source=self.url)
        self.lock_id = info.id
        return info.id

    def unlock(self, lock_id: str) -> None:
        if self.fail_unlock:
            raise LockError("lock table unreachable", source=self.url)
        assert self.lock_id == lock_id
        self.lock_id = None


def test_push_refuses_a_destination_that_is_not_a_state_unless_forced() -> None:
    dst = MemBackend("mem://d", b"<html>oops</html>")
    new = orjson.dumps(rich_state())
    with pytest.raises(
        ConflictError, match=r"destination holds content that is not a valid state \(mem://d: not JSON"
    ):
        push_state(new, dst)
    assert dst.data == b"<html>oops</html>" and dst.lock_id is None
    result = push_state(new, dst, force=True)
    assert dst.data == new and result.locked
    assert result.warnings == ["mem://d: overwriting content that is not a valid state (--force)"]


def test_push_to_a_backend_without_locking_warns() -> None:
    dst = MemBackend("mem://n", None, locks=False)
    result = push_state(orjson.dumps(rich_state()), dst)
    assert not result.locked
    assert result.warnings == ["mem://n: the mem backend does not lock; written unlocked"]


def test_a_failed_unlock_is_reported_with_the_lock_id() -> None:
    dst = MemBackend("mem://u", None)
    dst.fail_unlock = True
    with pytest.raises(LockError, match=r"operation completed but releasing the lock failed .* force-unlock"):
        push_state(orjson.dumps(rich_state()), dst)
    older = MemBackend("mem://o", orjson.dumps(state([], serial=9)))
    older.fail_unlock = True
    with pytest.raises(LockError, match=r"serial 9 is higher.*; then releasing the lock failed"):
        push_state(orjson.dumps(rich_state()), older)


def test_migrate_into_an_empty_destination_that_corrupts_reports_it(tmp_path: Path) -> None:
    src = MemBackend("mem://s", orjson.dumps(rich_state()))
    dst = MemBackend("mem://d", None)
    dst.corrupt_writes = {1}
    with pytest.raises(BackendError, match="held no state before and may now hold an incomplete copy"):
        migrate_state(src, dst, workdir=tmp_path)
    assert src.lock_id is None and dst.lock_id is None
    assert list(tmp_path.iterdir()) == []


def test_migrate_restores_after_a_write_that_raises(tmp_path: Path) -> None:
    previous = orjson.dumps(rich_state())
    src = MemBackend("mem://s", orjson.dumps(state([], serial=2)))
    dst = MemBackend("mem://d", previous)
    dst.fail_writes = {1}
    with pytest.raises(
        BackendError, match=r"migration failed \(RuntimeError: disk on fire\); the previous state was"
    ):
        migrate_state(src, dst, workdir=tmp_path)
    assert dst.data == previous and dst.writes == 2


def test_migrate_says_where_the_backup_is_when_the_restore_fails(tmp_path: Path) -> None:
    previous = orjson.dumps(rich_state())
    dst = MemBackend("mem://d", previous)
    dst.corrupt_writes = {1}
    dst.fail_writes = {2}
    with pytest.raises(
        BackendError, match=r"restoring the previous state failed .* restore it by hand from"
    ) as err:
        migrate_state(MemBackend("mem://s", orjson.dumps(state([], serial=2))), dst, workdir=tmp_path)
    [backup] = list(tmp_path.iterdir())
    assert str(backup) in str(err.value) and backup.read_bytes() == previous
    assert dst.lock_id is None


def test_backup_is_never_overwritten(tmp_path: Path) -> None:
    taken = tmp_path / "taken.tfstate"
    taken.write_bytes(b"keep")
    src = MemBackend("mem://s", orjson.dumps(state([], serial=2)))
    dst = MemBackend("mem://d", orjson.dumps(state([], serial=1)))
    with pytest.raises(UsageError, match="the backup file already exists"):
        migrate_state(src, dst, backup=taken)
    assert taken.read_bytes() == b"keep" and dst.writes == 0 and dst.lock_id is None
    with pytest.raises(UsageError, match="the backup directory does not exist"):
        migrate_state(src, dst, backup=tmp_path / "no" / "such" / "file")
