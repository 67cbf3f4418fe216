"""The Terraform side of remediation: running the CLI, and backing up / restoring the state.

The CLI is found when it is needed — `DRIFTMGR_TERRAFORM`, else `terraform` on PATH — never at
import time. Every command runs in the working directory it names, with `TF_IN_AUTOMATION=1` and no
prompts. The state is read with `terraform state pull` (whatever backend the directory uses) and
written back with `terraform state push`, which takes the backend's lock: a backup is restored by
pushing it with its serial raised above the current one, and only when the state still is the
version the run left (someone else's newer state is never overwritten).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftmgr.errors import ConflictError, RemediationError, UsageError
from driftmgr.state.parse.address import instance_address

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAIL = 2000  # characters of a failed command's output kept in the error


@dataclass(frozen=True, slots=True)
class StateVersionInfo:
    serial: int | None
    lineage: str | None


def state_info(data: bytes) -> StateVersionInfo:
    if not data.strip():
        return StateVersionInfo(None, None)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise RemediationError(f"`terraform state pull` did not return a JSON state: {exc}") from None
    serial = doc.get("serial")
    return StateVersionInfo(int(serial) if isinstance(serial, int) else None, doc.get("lineage"))


class TerraformCli:
    def __init__(
        self, binary: str | None = None, env: Mapping[str, str] | None = None, timeout: float = 1800.0
    ) -> None:
        self._binary = binary
        self._env = dict(env) if env is not None else None
        self.timeout = timeout

    def binary(self) -> str:
        found = self._binary or os.environ.get("DRIFTMGR_TERRAFORM") or shutil.which("terraform")
        if not found:
            raise UsageError("the Terraform CLI is not on PATH (install it, or set DRIFTMGR_TERRAFORM)")
        return found

    def env(self) -> dict[str, str]:
        env = dict(self._env if self._env is not None else os.environ)
        env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
        return env

    def run(self, cwd: str, args: list[str], *, what: str | None = None) -> str:
        """Run `terraform ARGS` in `cwd`; its output, or RemediationError with the output's tail."""
        return self.run_bytes(cwd, args, what=what).decode(errors="replace")

    def run_bytes(self, cwd: str, args: list[str], *, what: str | None = None) -> bytes:
        if not Path(cwd).is_dir():
            raise UsageError("the Terraform working directory does not exist", source=cwd)
        line = f"terraform {' '.join(args)}"
        try:
            proc = subprocess.run(
                [self.binary(), *args],
                cwd=cwd,
                env=self.env(),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RemediationError(
                f"{what or line}: timed out after {self.timeout:.0f}s", source=cwd
            ) from None
        except OSError as exc:
            raise RemediationError(f"{what or line}: cannot run Terraform: {exc}", source=cwd) from None
        if proc.returncode != 0:
            err = _ANSI.sub("", (proc.stderr or proc.stdout).decode(errors="replace")).strip()
            raise RemediationError(
                f"{what or line} failed (exit {proc.returncode}): {err[-_TAIL:]}", source=cwd
            )
        return bytes(proc.stdout)

    def state_pull(self, cwd: str) -> bytes:
        return self.run_bytes(cwd, ["state", "pull"], what="terraform state pull")

    def state_push(self, cwd: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix="driftmgr-restore-", suffix=".tfstate")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self.run(cwd, ["state", "push", tmp], what="terraform state push (the backup)")
        finally:
            Path(tmp).unlink(missing_ok=True)


# --- backups ------------------------------------------------------------------------------------


def backup_state(cli: TerraformCli, cwd: str, backup_dir: Path) -> dict[str, Any]:
    """Pull the state of `cwd` and keep it in `backup_dir` (mode 0600: states hold secrets). The
    snapshot records where, its digest, serial and lineage — never the content itself."""
    data = cli.state_pull(cwd)
    info = state_info(data)
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = backup_dir / f"state-{stamp}-serial{info.serial if info.serial is not None else 'none'}.tfstate"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return {
        "dir": cwd,
        "serial": info.serial,
        "lineage": info.lineage,
        "backup": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "empty": not data.strip(),
    }


def backup_file(data: bytes, backup_dir: Path, name: str) -> Path:
    """Keep the bytes of a file about to be overwritten (mode 0600: configurations may hold secrets)."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = backup_dir / f"file-{stamp}-{hashlib.sha256(data).hexdigest()[:12]}-{name}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename, keeping the permissions of the file it replaces."""
    tmp = path.with_name(f".{path.name}.driftmgr-tmp")
    tmp.write_bytes(data)
    if path.exists():
        shutil.copymode(path, tmp)
    tmp.replace(path)


def current_serial(cli: TerraformCli, cwd: str) -> int | None:
    return state_info(cli.state_pull(cwd)).serial


def restore_state(cli: TerraformCli, saved: Mapping[str, Any], after_serial: int | None) -> dict[str, Any]:
    """Push the backup back, its serial raised above the current state's. Refused (ConflictError)
    when the state changed since the run (`after_serial`), or belongs to another lineage."""
    cwd = str(saved["dir"])
    path = Path(str(saved["backup"]))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RemediationError(
            f"cannot read the state backup: {exc.strerror or exc}", source=str(path)
        ) from None
    if hashlib.sha256(data).hexdigest() != saved.get("sha256"):
        raise RemediationError(
            "the state backup changed since the snapshot: not restoring it", source=str(path)
        )
    current = state_info(cli.state_pull(cwd))
    if after_serial is not None and current.serial != after_serial:
        raise ConflictError(
            f"the state changed since the run (serial {after_serial} → {current.serial}): "
            "not overwriting someone else's changes",
            source=cwd,
        )
    if saved.get("lineage") and current.lineage and current.lineage != saved["lineage"]:
        raise ConflictError("the state has another lineage than the backup", source=cwd)
    if not data.strip():
        raise RemediationError("the backed-up state was empty: nothing to push back", source=cwd)
    doc = json.loads(data)
    doc["serial"] = (current.serial or 0) + 1
    cli.state_push(cwd, json.dumps(doc, indent=2).encode())
    return {"dir": cwd, "pushed": True, "serial": doc["serial"], "from_backup": str(path)}


def state_addresses(data: bytes) -> dict[str, dict[str, Any]]:
    """Managed instances of a state document by address → {"type", "id", "attributes"}."""
    if not data.strip():
        return {}
    doc = json.loads(data)
    out: dict[str, dict[str, Any]] = {}
    for res in doc.get("resources") or []:
        if res.get("mode") != "managed":
            continue
        for inst in res.get("instances") or []:
            if inst.get("deposed"):
                continue
            addr = instance_address(
                res.get("module"), "managed", res["type"], res["name"], inst.get("index_key")
            )
            attrs = inst.get("attributes") or {}
            out[addr] = {"type": res["type"], "id": attrs.get("id"), "attributes": attrs}
    return out
