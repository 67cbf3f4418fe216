"""Running remediation plans: the exact steps of each action, execution, validation and rollback.

Final signatures (the contract services/remediation.py, the CLI and the API build on):

    build_steps(action: Action, *, terraform_dir: str | None, live: dict | None) -> list[Step]
        revert   api:       the provider's API calls (providers.<p>.remediate.revert_calls)
                 terraform: `terraform apply -target=ADDR -auto-approve -input=false`
        accept   `terraform apply -refresh-only -target=ADDR -auto-approve -input=false`
        recreate `terraform apply -target=ADDR -auto-approve -input=false`
        forget   `terraform state rm ADDR`
        codify   (with a Terraform directory) write `driftmgr_codify_<name>.tf` — the import block and
                 the generated resource — then `terraform apply -target=ADDR -auto-approve -input=false`
        delete   the provider's delete calls (destructive)
        `live` (the live attributes) feeds the API builders; when None they are read through the
        provider. What the chosen method cannot do raises UnsupportedRemediation naming type+path.

    RemediationExecutor(*, provider_factory=None, client_factory=None, terraform=None,
                        terraform_env=None, backup_dir=None, timeout=1800.0, batch_terraform=True)
        provider_factory(name) -> Provider    default: providers.base.get_provider
        client_factory(service, region)       SDK clients for API steps; default: the provider's
        terraform                             CLI path; default DRIFTMGR_TERRAFORM, else PATH (at run time)
        backup_dir                            where state backups go; default <data dir>/remediation-backups
        batch_terraform                       consecutive targeted applies of one directory run as ONE
                                              `terraform apply -target=A -target=B …` (the same changes;
                                              the provider starts once, not once per action — seconds
                                              each); a failure of that command fails each of its actions
      .preview(plan) -> list[str]             the exact lines a run would execute; changes nothing
      .execute(plan, *, progress=None, cancel=None) -> dict
            progress(done, total, message); cancel: a threading.Event or a callable returning bool,
            honoured between actions (an exception raised by `progress` also stops the run there).
            → {"ok", "started_at", "finished_at", "snapshot", "cancelled", "error",
               "actions": [{"id", "kind", "type", "resource_id", "address", "status":
                            succeeded|failed|skipped, "error", "error_kind", "ran": [lines],
                            "failed_step", "created", "files", "cwd", "target", "batch", "note"}],
               "states_after": [{"dir", "serial"}],
               "validation": [{"id", "in_sync", "remaining": [changes], "status"}]}
      .rollback(plan, snapshot, outcome) -> dict
            → {"ok", "started_at", "finished_at", "actions": [{"id", "kind", "status":
               succeeded|skipped|failed|irreversible, "ran", "error"}], "state": [{"dir", "pushed",
               "serial", "error"}], "validation": [{"id", "restored", "remaining"}]}

The snapshot (taken before anything runs, stored by the caller) holds the live attributes of every
target and, when Terraform runs, the state version of each working directory (a 0600 backup file
named with its digest; the state content itself never goes into the snapshot JSON).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftmgr.engine.remediation import Action, Plan, Step
from driftmgr.errors import DriftMgrError, RemediationError, UsageError
from driftmgr.models import Resource
from driftmgr.providers.base import ClientFactory, ProgressFn, Provider, get_provider, get_remediator
from driftmgr.services.remediation_rollback import RollbackRunner
from driftmgr.services.remediation_steps import (
    TERRAFORM_KINDS,
    apply_key,
    build_steps,
    codify_steps,
    merged_apply,
    single_target,
)
from driftmgr.services.remediation_tf import (
    TerraformCli,
    backup_file,
    backup_state,
    current_serial,
    state_addresses,
    write_atomic,
)
from driftmgr.services.remediation_verify import validate

__all__ = ["RemediationExecutor", "build_steps"]

Cancel = threading.Event | Callable[[], bool] | None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DriftMgrError) else f"{type(exc).__name__}: {exc}"


def _is_cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def _label(a: Action) -> str:
    where = ", ".join(x for x in (a.resource_id, a.region) if x)
    return f"{a.address or a.type}" + (f" ({where})" if where else "")


class RemediationExecutor:
    def __init__(
        self,
        *,
        provider_factory: Callable[[str], Provider] | None = None,
        client_factory: ClientFactory | None = None,
        terraform: str | None = None,
        terraform_env: dict[str, str] | None = None,
        backup_dir: str | Path | None = None,
        timeout: float = 1800.0,
        batch_terraform: bool = True,
    ) -> None:
        self._provider_factory = provider_factory or (lambda name: get_provider(name))
        self._providers: dict[str, Provider] = {}
        self._client_factory = client_factory
        self.tf = TerraformCli(terraform, terraform_env, timeout)
        self._backup_dir = Path(backup_dir) if backup_dir else None
        self.batch_terraform = batch_terraform
        self._written: set[str] = set()  # files written by the current run

    # --- collaborators ------------------------------------------------------------------------
    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = self._provider_factory(name)
        return self._providers[name]

    def clients(self, name: str) -> ClientFactory:
        if self._client_factory is not None:
            return self._client_factory
        provider: Any = self.provider(name)
        home = provider.home_region() if hasattr(provider, "home_region") else None

        def factory(service: str, region: str | None) -> Any:
            return provider.client(service, region or home)

        return factory

    def backup_dir(self) -> Path:
        if self._backup_dir is None:
            from driftmgr.config import load_settings

            self._backup_dir = load_settings().data_dir / "remediation-backups"
        return self._backup_dir

    def _terraform_dirs(self, plan: Plan, actions: list[Action]) -> list[str]:
        dirs: set[str] = set()
        for a in actions:
            cwds = [s.cwd or plan.terraform_dir for s in a.steps if s.kind == "terraform"]
            if not a.steps and plan.terraform_dir and (a.kind in TERRAFORM_KINDS or a.method == "terraform"):
                cwds.append(plan.terraform_dir)
            dirs.update(str(Path(c).resolve()) for c in cwds if c)
        return sorted(dirs)

    # --- dry run ------------------------------------------------------------------------------
    def preview(self, plan: Plan) -> list[str]:
        """Every line a run of the plan would execute, in order. Reads nothing, changes nothing."""
        actions = plan.ordered()
        lines = [f"# snapshot: the live attributes of {len(actions)} target(s)"]
        lines += [
            f"# snapshot: (cd {d} && terraform state pull) → a state backup"
            for d in self._terraform_dirs(plan, actions)
        ]
        for unit in self._units(plan, actions):
            for a in unit:
                flags = [f"risk {a.risk}"] + (["DESTRUCTIVE"] if a.destructive else [])
                if a.depends_on:
                    flags.append(f"after {', '.join(a.depends_on)}")
                lines.append(f"# {a.id} {a.kind} {_label(a)} by {a.method} ({', '.join(flags)})")
            a = unit[0]
            if len(unit) > 1:
                lines.append(merged_apply(plan, unit).command_line())
            elif a.steps:
                lines += [s.command_line() for s in a.steps]
            elif a.kind == "codify" and not plan.terraform_dir:
                lines.append("# nothing runs: add imports.tf and generated.tf to the configuration")
            else:
                lines.append("# steps built from the live resource when the plan runs")
        lines.append("# then: a scan of the targets confirms their drift is gone")
        return lines

    # --- snapshot -----------------------------------------------------------------------------
    def snapshot(self, plan: Plan, actions: list[Action]) -> dict[str, Any]:
        resources: dict[str, dict[str, Any]] = {}
        for a in actions:
            found: Resource | None = None
            if a.resource_id:
                found = self.provider(a.provider).get(a.type, a.resource_id, a.region)
            resources[a.id] = {
                "type": a.type,
                "id": a.resource_id,
                "region": a.region,
                "provider": a.provider,
                "address": a.address,
                "exists": found is not None,
                "attributes": dict(found.attributes) if found is not None else None,
            }
        states = [backup_state(self.tf, d, self.backup_dir()) for d in self._terraform_dirs(plan, actions)]
        return {"taken_at": _now(), "resources": resources, "states": states}

    # --- execution ----------------------------------------------------------------------------
    def execute(
        self,
        plan: Plan,
        *,
        progress: ProgressFn | None = None,
        cancel: Cancel = None,
        on_snapshot: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Snapshot, run, validate. `on_snapshot` keeps the snapshot before anything runs (the job
        stores it on the plan), so a run whose process dies midway can still be rolled back."""
        actions = plan.ordered()
        total = len(actions)
        self._written = set()
        outcome: dict[str, Any] = {
            "ok": False,
            "started_at": _now(),
            "snapshot": None,
            "cancelled": False,
            "error": None,
            "actions": [],
            "states_after": [],
            "validation": [],
        }
        stop = self._tick(progress, 0, total, f"snapshot of {total} target(s)")
        try:
            snapshot = self.snapshot(plan, actions)
        except Exception as exc:  # noqa: BLE001 - nothing ran: reported, every action skipped
            outcome["error"] = f"snapshot failed, nothing ran: {_describe(exc)}"
            outcome["actions"] = [self._record(a, "not run: the snapshot failed") for a in actions]
            outcome["finished_at"] = _now()
            return outcome
        outcome["snapshot"] = snapshot
        if on_snapshot is not None:
            try:
                on_snapshot(snapshot)
            except Exception as exc:  # noqa: BLE001 - nothing ran: reported, every action skipped
                outcome["error"] = f"the snapshot could not be kept, nothing ran: {_describe(exc)}"
                outcome["actions"] = [self._record(a, "not run: the snapshot was not kept") for a in actions]
                outcome["finished_at"] = _now()
                return outcome
        n = 0
        for unit in self._units(plan, actions):
            recs = [self._record(a, stop) for a in unit]
            outcome["actions"].extend(recs)
            n += len(unit)
            if stop is None and _is_cancelled(cancel):
                stop = "cancelled before it ran"
                for rec in recs:
                    rec["error"] = stop
            if stop is not None:
                outcome["cancelled"] = outcome["cancelled"] or stop.startswith("cancelled")
                continue
            if len(unit) == 1:
                self._run_action(plan, unit[0], recs[0], snapshot)
            else:
                self._run_batch(plan, unit, recs)
            failed = [r["id"] for r in recs if r["status"] == "failed"]
            if failed:
                stop = f"not run: {', '.join(failed)} failed"
            last = unit[-1]
            message = f"{last.id} {last.kind} {_label(last)}: {recs[-1]['status']}"
            tick = self._tick(progress, n, total, message)
            if tick is not None and stop is None:
                stop = tick
        outcome["states_after"] = self._states_after(snapshot)
        outcome["validation"] = self._validate(plan, actions, outcome)
        done = [r for r in outcome["actions"] if r["status"] != "skipped" or r.get("note")]
        outcome["ok"] = (
            len(done) == len(actions)
            and all(r["status"] != "failed" for r in done)
            and all(v.get("in_sync") for v in outcome["validation"])
        )
        outcome["finished_at"] = _now()
        return outcome

    def _units(self, plan: Plan, actions: list[Action]) -> list[list[Action]]:
        """Actions in order, consecutive targeted applies of the same directory and flags grouped:
        one `terraform apply` with all their targets makes the same changes as one apply each
        (Terraform orders the targets by their dependencies) and starts the provider once."""
        units: list[list[Action]] = []
        last: tuple[str, tuple[str, ...]] | None = None
        for a in actions:
            key = apply_key(plan, a) if self.batch_terraform else None
            if key is not None and key == last:
                units[-1].append(a)
            else:
                units.append([a])
            last = key
        return units

    def _run_batch(self, plan: Plan, unit: list[Action], recs: list[dict[str, Any]]) -> None:
        step = merged_apply(plan, unit)
        line = step.command_line()
        started = time.monotonic()
        ids = [a.id for a in unit]
        cwd = str(Path(step.cwd or "").resolve())
        try:
            self.tf.run(cwd, list(step.args))
        except Exception as exc:  # noqa: BLE001 - the batch failed as a whole: each action says so
            for rec in recs:
                rec.update(status="failed", error=_describe(exc), failed_step=line, batch=ids, cwd=cwd)
            return
        finally:
            for rec in recs:
                rec["duration_s"] = round(time.monotonic() - started, 3)
        for a, rec in zip(unit, recs, strict=True):
            rec.update(status="succeeded", error=None, ran=[line], batch=ids, cwd=cwd)
            rec["target"] = single_target(a.steps[0])
            if a.kind == "recreate":
                rec["created"] = self._created(a, rec)

    @staticmethod
    def _record(a: Action, skipped_because: str | None) -> dict[str, Any]:
        return {
            "id": a.id,
            "kind": a.kind,
            "type": a.type,
            "resource_id": a.resource_id,
            "address": a.address,
            "status": "skipped",
            "error": skipped_because,
            "ran": [],
        }

    @staticmethod
    def _tick(progress: ProgressFn | None, done: int, total: int, message: str) -> str | None:
        if progress is None:
            return None
        try:
            progress(done, total, message)
        except Exception as exc:  # noqa: BLE001 - a cancelled job's progress raises: stop here
            return f"cancelled: {_describe(exc)}"
        return None

    def _run_action(self, plan: Plan, a: Action, rec: dict[str, Any], snapshot: dict[str, Any]) -> None:
        started = time.monotonic()
        try:
            steps = list(a.steps)
            if not steps:
                if a.kind == "codify" and not plan.terraform_dir:
                    rec["note"] = (
                        "nothing to run: add the plan's imports.tf and generated.tf to the configuration"
                    )
                    rec["error"] = None
                    return
                live = (snapshot["resources"].get(a.id) or {}).get("attributes")
                if a.kind == "codify":
                    steps = codify_steps(
                        a, plan.terraform_dir, cli=self.tf, provider=self.provider(a.provider)
                    )
                else:
                    steps = build_steps(a, terraform_dir=plan.terraform_dir, live=live)
            for step in steps:
                line = step.command_line()
                try:
                    self._run_step(plan, a, step, rec)
                except BaseException:
                    rec["failed_step"] = line
                    raise
                rec["ran"].append(line)
            rec.update(status="succeeded", error=None)
            if a.kind in ("recreate", "codify") and rec.get("cwd"):
                rec["created"] = self._created(a, rec)
        except Exception as exc:  # noqa: BLE001 - any failure stops the run and is reported with what ran
            kind = getattr(exc, "kind", None)
            rec.update(status="failed", error=_describe(exc), error_kind=getattr(kind, "value", None))
        finally:
            rec["duration_s"] = round(time.monotonic() - started, 3)

    def _run_step(self, plan: Plan, a: Action, step: Step, rec: dict[str, Any]) -> None:
        if step.kind == "api":
            if step.call is None:
                raise UsageError(f"{a.id}: an api step without a call")
            get_remediator(step.call.provider).execute_call(step.call, self.clients(step.call.provider))
        elif step.kind == "terraform":
            cwd = step.cwd or plan.terraform_dir
            if not cwd:
                raise UsageError(f"{a.id}: a terraform step without a working directory")
            rec["cwd"] = str(Path(cwd).resolve())
            for arg in step.args:
                if arg.startswith("-target="):
                    rec["target"] = arg.removeprefix("-target=")
            self.tf.run(rec["cwd"], list(step.args))
        elif step.kind == "file":
            self._write_file(plan, step, rec)
        else:
            raise UsageError(f"{a.id}: unknown step kind {step.kind!r}")

    def _write_file(self, plan: Plan, step: Step, rec: dict[str, Any]) -> None:
        """Write a file step inside the plan's directories. An existing file is first kept in a 0600
        backup (its digest in the record) so that rollback puts its exact bytes back; a file a
        configuration patch was computed from must still be as it was read when the plan was built."""
        if not step.path or step.content is None:
            raise UsageError("a file step needs a path and content")
        path = Path(step.path).resolve()
        roots = [Path(d).resolve() for d in (plan.terraform_dir, plan.config_dir) if d]
        if not any(path.is_relative_to(r) for r in roots):
            raise UsageError(
                f"refusing to write {path}: outside the plan's Terraform and configuration directories"
            )
        entry: dict[str, Any] = {"path": str(path), "existed": path.exists(), "backup": None, "sha256": None}
        if entry["existed"]:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            base = ((plan.report.get("config_patch") or {}).get("base_sha256") or {}).get(str(path))
            if base and str(path) not in self._written and digest != base:
                raise RemediationError(
                    f"{path} changed since the plan was made: its patch no longer applies (plan again)"
                )
            entry.update(backup=str(backup_file(data, self.backup_dir(), path.name)), sha256=digest)
        new = step.content.encode("utf-8")
        entry["written_sha256"] = hashlib.sha256(new).hexdigest()
        rec.setdefault("files", []).append(entry)
        write_atomic(path, new)
        self._written.add(str(path))

    def _created(self, a: Action, rec: dict[str, Any]) -> dict[str, Any] | None:
        address = rec.get("target") or a.address
        found = state_addresses(self.tf.state_pull(rec["cwd"])).get(address or "")
        if found is None:
            return None
        return {"type": found["type"], "id": found["id"], "region": a.region, "address": address}

    def _states_after(self, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for saved in snapshot.get("states") or []:
            try:
                out.append({"dir": saved["dir"], "serial": current_serial(self.tf, saved["dir"])})
            except DriftMgrError as exc:
                out.append({"dir": saved["dir"], "serial": None, "error": str(exc)})
        return out

    def _validate(self, plan: Plan, actions: list[Action], outcome: dict[str, Any]) -> list[dict[str, Any]]:
        records = {r["id"]: r for r in outcome["actions"]}
        done = [a for a in actions if records[a.id]["status"] == "succeeded"]
        if not done:
            return []
        pulled: dict[str, str] = {}
        tmp_dir = self.backup_dir() / "validation"
        try:
            targets: list[tuple[Action, str | None, str | None]] = []
            for a in done:
                rec = records[a.id]
                cwd = rec.get("cwd") or (
                    str(Path(plan.terraform_dir).resolve()) if plan.terraform_dir and not a.source else None
                )
                source = a.source
                if cwd:
                    if cwd not in pulled:
                        tmp_dir.mkdir(parents=True, exist_ok=True)
                        path = tmp_dir / f"state-{time.time_ns()}.tfstate"
                        pulled[cwd] = str(path)
                        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # states hold secrets
                        with os.fdopen(fd, "wb") as fh:
                            fh.write(self.tf.state_pull(cwd))
                    source = pulled[cwd]
                address = (rec.get("created") or {}).get("address") or rec.get("target") or a.address
                targets.append((a, source, address))
            return validate(self.provider, targets)
        except Exception as exc:  # noqa: BLE001 - validation that cannot run is reported, not raised
            return [{"id": a.id, "in_sync": False, "remaining": [], "error": _describe(exc)} for a in done]
        finally:
            for p in pulled.values():
                Path(p).unlink(missing_ok=True)

    # --- rollback -----------------------------------------------------------------------------
    def rollback(self, plan: Plan, snapshot: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
        """Undo what the run changed, from the snapshot (see RollbackRunner)."""
        if not snapshot or "resources" not in snapshot:
            raise RemediationError("no snapshot of this run: nothing to roll back from")
        return RollbackRunner(self).run(plan, snapshot, outcome)
