"""The local backend: Terraform's workspace layout, atomic writes, and a lock that really holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from driftmgr.errors import LockError, StateNotFoundError
from driftmgr.state.backends import get_backend, new_lock_info
from driftmgr.state.backends.local import LocalBackend

STATE = b'{"version": 4, "serial": 1, "lineage": "l", "resources": []}\n'

LOCK_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("held")
else:
    print("free")
"""


def other_process_sees(path: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", LOCK_PROBE, str(path)], capture_output=True, text=True
    ).stdout.strip()


def test_lock_survives_reads_and_writes_in_the_same_process(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfstate"
    path.write_bytes(STATE)
    backend = get_backend(str(path))
    assert isinstance(backend, LocalBackend)
    lock_id = backend.lock(new_lock_info("OperationTypeApply", str(path)))
    assert other_process_sees(path) == "held"
    assert backend.read() == STATE  # reading must not drop the POSIX lock
    assert other_process_sees(path) == "held"
    backend.write(STATE.replace(b'"serial": 1', b'"serial": 2'), lock_id=lock_id)
    assert other_process_sees(path) == "held"  # written in place, the lock stays on the file
    assert b'"serial": 2' in path.read_bytes()
    assert (tmp_path / "terraform.tfstate.backup").read_bytes() == STATE
    info = orjson.loads((tmp_path / ".terraform.tfstate.lock.info").read_bytes())
    assert info["ID"] == lock_id and info["Operation"] == "OperationTypeApply"
    backend.unlock(lock_id)
    assert other_process_sees(path) == "free"
    assert not (tmp_path / ".terraform.tfstate.lock.info").exists()


def test_second_locker_in_the_same_process_is_refused_and_wrong_id_cannot_unlock(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfstate"
    path.write_bytes(STATE)
    first = LocalBackend(str(path))
    lock_id = first.lock(new_lock_info("OperationTypeApply", str(path)))
    with pytest.raises(LockError, match="already locked"):
        first.lock(new_lock_info("OperationTypeApply", str(path)))
    with pytest.raises(LockError, match="does not match"):
        first.unlock("not-the-id")
    with pytest.raises(LockError, match="pass the lock id"):
        first.write(STATE, lock_id=None)
    first.unlock(lock_id)


def test_writes_without_a_lock_are_atomic_and_keep_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "terraform.tfstate"
    backend = LocalBackend(str(path))
    with pytest.raises(StateNotFoundError, match="no such file"):
        backend.read()
    backend.write(STATE)
    backend.write(STATE + b" ")
    assert path.read_bytes() == STATE + b" "
    assert path.with_name("terraform.tfstate.backup").read_bytes() == STATE
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".terraform.tfstate.")] == []


def test_workspaces_follow_terraforms_layout(tmp_path: Path) -> None:
    (tmp_path / "terraform.tfstate").write_bytes(STATE)
    for ws in ("prod", "dev"):
        d = tmp_path / "terraform.tfstate.d" / ws
        d.mkdir(parents=True)
        (d / "terraform.tfstate").write_bytes(STATE)
    (tmp_path / "terraform.tfstate.d" / "empty").mkdir()
    backend = LocalBackend(str(tmp_path / "terraform.tfstate"))
    assert backend.workspaces() == ["default", "dev", "prod"]
    dev = LocalBackend(str(tmp_path / "terraform.tfstate.d" / "dev" / "terraform.tfstate"))
    assert dev.workspace == "dev"
    assert dev.workspaces() == ["default", "dev", "prod"]
    assert dev.workspace_path("prod") == tmp_path / "terraform.tfstate.d" / "prod" / "terraform.tfstate"
    assert (
        sorted(Path(p).name for p in LocalBackend(str(tmp_path)).list_states()) == ["terraform.tfstate"] * 3
    )
