"""`driftmgr state push|migrate`: validation, locking, lineage/serial rules, backup, verify, restore."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

from driftmgr.errors import LockError, StateNotFoundError
from driftmgr.models import LockInfo
from driftmgr.state.backends.base import Backend, register
from tests.cli.helpers import doc, lock_leftovers, run, write

# --- push -------------------------------------------------------------------------------------


@pytest.fixture
def dst(tmp_path: Path) -> Path:
    return write(tmp_path / "dst" / "terraform.tfstate", doc(serial=5))


def test_push_to_an_empty_destination(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    new = write(tmp_path / "new.tfstate", doc(serial=1))
    target = tmp_path / "empty" / "terraform.tfstate"
    rc, out, err = run(capsys, "state", "push", "--state", str(target), str(new))
    assert (rc, err) == (0, "")
    assert out == f"Pushed serial 1, lineage lin-a to {target} (no state before)\n"
    assert target.read_bytes() == new.read_bytes()
    assert lock_leftovers(target) == []


def test_push_newer_serial_replaces(capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path) -> None:
    new = write(tmp_path / "new.tfstate", doc(serial=6))
    rc, out, _ = run(capsys, "state", "push", "-s", str(dst), str(new), "-f", "json")
    assert rc == 0
    got = orjson.loads(out)
    assert (got["serial"], got["previous"], got["locked"]) == (6, {"serial": 5, "lineage": "lin-a"}, True)
    assert dst.read_bytes() == new.read_bytes()
    assert lock_leftovers(dst) == []


def test_push_refuses_lower_serial_and_other_lineage_unless_forced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path
) -> None:
    before = dst.read_bytes()
    older = write(tmp_path / "older.tfstate", doc(serial=4))
    rc, out, err = run(capsys, "state", "push", "-s", str(dst), str(older))
    assert (rc, out) == (1, "")
    assert err == (
        f"error: {dst}: the destination's serial 5 is higher than the serial 4 of {older}: "
        "it is newer; use --force to overwrite it\n"
    )
    other = write(tmp_path / "other.tfstate", doc(serial=99, lineage="lin-b"))
    rc, _, err = run(capsys, "state", "push", "-s", str(dst), str(other))
    assert rc == 1 and "different lineage (lin-a) than" in err
    assert dst.read_bytes() == before
    assert lock_leftovers(dst) == []
    rc, _, err = run(capsys, "state", "push", "-s", str(dst), str(other), "--force")
    assert rc == 0 and "overwritten (--force)" in err
    assert dst.read_bytes() == other.read_bytes()


def test_push_of_an_invalid_file_leaves_the_destination_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path
) -> None:
    before = dst.read_bytes()
    bad = write(tmp_path / "bad.tfstate", orjson.dumps(doc(serial=9))[:-10])
    rc, out, err = run(capsys, "state", "push", "-s", str(dst), str(bad), "--force")
    assert (rc, out) == (1, "")
    assert err.startswith(f"error: {bad}: invalid JSON") and err.count("\n") == 1
    assert dst.read_bytes() == before
    assert not dst.with_name(dst.name + ".backup").exists()
    rc, _, err = run(capsys, "state", "push", "-s", str(dst), str(tmp_path / "absent.tfstate"))
    assert rc == 1 and err == f"error: {tmp_path / 'absent.tfstate'}: no such file\n"


HOLDER = """
import sys
from driftmgr.state.backends.base import new_lock_info
from driftmgr.state.backends.local import LocalBackend
backend = LocalBackend(sys.argv[1])
backend.lock(new_lock_info("OperationTypeApply", sys.argv[1], "held by a test"))
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_lock(dst: Path) -> Iterator[Path]:
    """Another process holding Terraform's local lock on `dst` for the test's duration."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(dst)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield dst
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def test_push_to_a_locked_destination_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, held_lock: Path
) -> None:
    before = held_lock.read_bytes()
    new = write(tmp_path / "new.tfstate", doc(serial=6))
    rc, out, err = run(capsys, "state", "push", "-s", str(held_lock), str(new))
    assert (rc, out) == (1, "")
    assert err.startswith(f"error: {held_lock}: the state is locked by ")
    assert held_lock.read_bytes() == before


# --- migrate ----------------------------------------------------------------------------------


def test_migrate_local_to_local_backs_up_and_verifies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = dst.read_bytes()
    src = write(tmp_path / "src" / "terraform.tfstate", doc(serial=8))
    rc, out, err = run(capsys, "state", "migrate", str(src), str(dst))
    assert (rc, err) == (0, "")
    assert dst.read_bytes() == src.read_bytes()
    backups = sorted(tmp_path.glob("driftmgr-backup-*.tfstate"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert out.splitlines() == [
        f"Migrated {src} to {dst}: serial 8, lineage lin-a, {len(src.read_bytes())} bytes; "
        "verified (identical bytes)",
        f"Backup of the previous destination state: {backups[0]}",
    ]
    assert lock_leftovers(src) == [] and lock_leftovers(dst) == []


def test_migrate_to_a_new_destination_needs_no_backup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = write(tmp_path / "src.tfstate", doc(serial=8))
    target = tmp_path / "new" / "terraform.tfstate"
    rc, out, _ = run(capsys, "state", "migrate", str(src), str(target), "-f", "json")
    assert rc == 0
    got = orjson.loads(out)
    assert (got["backup"], got["verified"], got["serial"]) == (None, "bytes", 8)
    assert target.read_bytes() == src.read_bytes()
    assert list(tmp_path.glob("driftmgr-backup-*")) == []


def test_migrate_refuses_another_lineage_unless_forced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = dst.read_bytes()
    src = write(tmp_path / "src.tfstate", doc(serial=50, lineage="lin-b"))
    rc, out, err = run(capsys, "state", "migrate", str(src), str(dst))
    assert (rc, out) == (1, "")
    assert err == (
        f"error: {dst}: the destination holds a state of a different lineage (lin-a) than SRC (lin-b); "
        "use --force to overwrite it\n"
    )
    assert dst.read_bytes() == before
    assert list(tmp_path.glob("driftmgr-backup-*")) == []
    assert lock_leftovers(src) == [] and lock_leftovers(dst) == []
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    rc, _, err = run(capsys, "state", "migrate", str(src), str(dst), "--force", "--backup", str(backup_dir))
    assert rc == 0 and "overwritten (--force)" in err
    assert dst.read_bytes() == src.read_bytes()
    assert [p.read_bytes() for p in backup_dir.iterdir()] == [before]


def test_migrate_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path) -> None:
    rc, _, err = run(capsys, "state", "migrate", str(tmp_path / "none.tfstate"), str(dst))
    assert rc == 1 and err == f"error: {tmp_path / 'none.tfstate'}: no state to migrate\n"
    assert not (tmp_path / "none.tfstate").exists()
    rc, _, err = run(capsys, "state", "migrate", str(dst), str(dst.parent / "." / dst.name))
    assert rc == 1 and err == f"error: {dst}: SRC and DST are the same state\n"


def test_migrate_to_a_locked_destination_releases_the_source_lock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, held_lock: Path
) -> None:
    before = held_lock.read_bytes()
    src = write(tmp_path / "src" / "terraform.tfstate", doc(serial=8))
    rc, _, err = run(capsys, "state", "migrate", str(src), str(held_lock))
    assert rc == 1 and "the state is locked by" in err
    assert held_lock.read_bytes() == before
    assert lock_leftovers(src) == []


# An in-memory backend whose writes can be made to corrupt the data: proves restore-on-failure.
_MEM: dict[str, bytes] = {}
_MEM_LOCKS: dict[str, str] = {}
_CORRUPT: set[str] = set()


@register("memtest")
class _MemBackend(Backend):
    kind = "memtest"
    supports_lock = True

    def open(self) -> IO[bytes]:
        import io

        if self.url not in _MEM:
            raise StateNotFoundError("no state", source=self.url)
        return io.BytesIO(_MEM[self.url])

    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        if _MEM_LOCKS.get(self.url) not in (None, lock_id):
            raise LockError("locked", source=self.url)
        if self.url in _CORRUPT:
            _CORRUPT.discard(self.url)  # corrupt once: the restore that follows goes through
            data = data.replace(b"vpc-1", b"vpc-X")
        _MEM[self.url] = data

    def lock(self, info: LockInfo) -> str:
        if self.url in _MEM_LOCKS:
            raise LockError("locked", source=self.url, lock_info={"ID": _MEM_LOCKS[self.url]})
        _MEM_LOCKS[self.url] = info.id
        return info.id

    def unlock(self, lock_id: str) -> None:
        assert _MEM_LOCKS.pop(self.url) == lock_id


def test_migrate_restores_the_destination_when_verification_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"memtest://{uuid.uuid4().hex}"
    previous = orjson.dumps(doc(serial=2))
    _MEM[url] = previous
    _CORRUPT.add(url)
    src = write(tmp_path / "src.tfstate", doc(serial=3))
    rc, out, err = run(capsys, "state", "migrate", str(src), url)
    assert (rc, out) == (1, "")
    assert "verification failed: the state read back differs from the one written" in err
    assert "the previous state was restored (backup kept at " in err and err.count("\n") == 1
    assert _MEM[url] == previous
    assert _MEM_LOCKS == {} and lock_leftovers(src) == []
    assert [p.read_bytes() for p in tmp_path.glob("driftmgr-backup-*")] == [previous]


def test_migrate_accepts_a_backend_that_re_encodes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"memtest://{uuid.uuid4().hex}"
    src = write(tmp_path / "src.tfstate", doc(serial=3))

    real_write = _MemBackend.write

    def reencode(self: _MemBackend, data: bytes, *, lock_id: str | None = None) -> None:
        real_write(self, orjson.dumps(orjson.loads(data)), lock_id=lock_id)

    monkeypatch.setattr(_MemBackend, "write", reencode)
    rc, out, _ = run(capsys, "state", "migrate", str(src), url, "-f", "json")
    assert rc == 0 and orjson.loads(out)["verified"] == "content"


# --- a real remote backend --------------------------------------------------------------------


@pytest.mark.emulator
def test_migrate_local_to_s3_with_a_lock_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_env: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    bucket = f"tfstate-{uuid.uuid4().hex[:12]}"
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=bucket)
    key = "prod/terraform.tfstate"
    s3.put_object(Bucket=bucket, Key=key, Body=orjson.dumps(doc(serial=2)))
    url = f"s3://{bucket}/{key}?use_lockfile=true"
    src = write(tmp_path / "terraform.tfstate", doc(serial=3))
    rc, out, err = run(capsys, "state", "migrate", str(src), url, "-f", "json")
    assert (rc, err) == (0, "")
    got = orjson.loads(out)
    assert got["verified"] == "bytes" and got["backup"] is not None
    assert Path(got["backup"]).read_bytes() == orjson.dumps(doc(serial=2))
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == src.read_bytes()
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [key]  # the .tflock object is gone
    rc, out, _ = run(capsys, "state", "pull", "-s", url)
    assert rc == 0 and out == src.read_text()
    other = write(tmp_path / "other.tfstate", doc(serial=9, lineage="lin-b"))
    rc, _, err = run(capsys, "state", "migrate", str(other), url)
    assert rc == 1 and "different lineage (lin-a) than SRC (lin-b)" in err
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == src.read_bytes()
    assert os.path.exists(src)


def test_push_reads_standard_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    new = orjson.dumps(doc(serial=6))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(new)))
    rc, out, _ = run(capsys, "state", "push", "-s", str(dst), "-")
    assert rc == 0 and out == f"Pushed serial 6, lineage lin-a to {dst} (was serial 5, lineage lin-a)\n"
    assert dst.read_bytes() == new
    rc, _, err = run(capsys, "state", "push", "-s", str(dst), str(tmp_path))
    assert rc == 1 and err == f"error: {tmp_path}: is a directory, not a state file\n"
