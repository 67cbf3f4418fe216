"""Rolling a remediation run back from its snapshot.

Every action that ran (succeeded, or failed part-way) is undone, last first, and a failure to undo
one does not stop the others — a rollback restores as much as it can and says what it could not:
- revert (by API or by Terraform): API calls that set the attributes it touched back to their
  snapshot values (`restore_calls` of the provider), judged against a fresh read of the resource;
- recreate: the resource it created is deleted;
- codify, and accept with a configuration patch: each file written is removed, or its exact earlier
  bytes put back from the 0600 backup taken before it was overwritten;
- delete: irreversible — reported as such;
- accept, forget, codify, recreate and Terraform reverts changed the state: each working directory's
  backed-up state version is pushed back (`terraform state push`, which locks the state), its
  serial raised above the current one — unless someone else changed the state since the run.
Then each target is checked against its snapshot.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftmgr.engine.remediation import Action, Plan, Step
from driftmgr.errors import DriftMgrError, RemediationError
from driftmgr.providers.base import get_remediator
from driftmgr.services.remediation_tf import current_serial, restore_state, write_atomic
from driftmgr.services.remediation_verify import restored

if TYPE_CHECKING:
    from driftmgr.services.remediation_exec import RemediationExecutor


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DriftMgrError) else f"{type(exc).__name__}: {exc}"


class RollbackRunner:
    def __init__(self, executor: RemediationExecutor) -> None:
        self.ex = executor

    def run(self, plan: Plan, snapshot: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ok": False,
            "started_at": _now(),
            "actions": [],
            "state": [],
            "validation": [],
        }
        by_id = {a.id: a for a in plan.actions}
        resources: dict[str, Any] = snapshot.get("resources") or {}
        records = [r for r in outcome.get("actions") or [] if r.get("status") in ("succeeded", "failed")]
        if not outcome.get("finished_at") and not outcome.get("actions"):
            # the run was interrupted (its process died): what ran is unknown, so every action is
            # undone as far as the snapshot says it differs (an unchanged resource needs no call)
            records = [
                {"id": a.id, "kind": a.kind, "status": "failed", "interrupted": True} for a in plan.ordered()
            ]
        for rec in reversed(records):
            entry: dict[str, Any] = {
                "id": rec.get("id"),
                "kind": rec.get("kind"),
                "status": "skipped",
                "ran": [],
                "error": None,
            }
            result["actions"].append(entry)
            action = by_id.get(str(rec.get("id")))
            if action is None:
                entry.update(status="failed", error="the action is not in the plan")
                continue
            try:
                self._undo(action, rec, resources.get(action.id), entry)
            except Exception as exc:  # noqa: BLE001 - reported; the other actions are still undone
                entry.update(status="failed", error=_describe(exc))
        result["state"] = self._restore_states(snapshot, outcome)
        result["validation"] = self._check(by_id, records, resources, result)
        result["ok"] = (
            all(e["status"] in ("succeeded", "skipped") for e in result["actions"])
            and all(not s.get("error") for s in result["state"])
            and all(v.get("restored") for v in result["validation"])
        )
        result["finished_at"] = _now()
        return result

    # --- per action ---------------------------------------------------------------------------
    def _undo(
        self, a: Action, rec: dict[str, Any], snap: dict[str, Any] | None, entry: dict[str, Any]
    ) -> None:
        if rec.get("files"):
            self._restore_files(rec, entry)
        if a.kind == "revert":
            self._restore_attributes(a, snap, entry)
        elif a.kind == "recreate":
            self._delete_created(a, rec, entry)
        elif a.kind == "delete":
            gone = (
                rec.get("interrupted")
                and self.ex.provider(a.provider).get(a.type, a.resource_id or "", a.region) is None
            )
            if rec.get("status") == "succeeded" or rec.get("ran") or gone:
                entry.update(
                    status="irreversible",
                    error=f"{a.type} {a.resource_id} was deleted: a deletion cannot be rolled back",
                )
        elif not entry["ran"]:
            entry["note"] = "restored with the state backup"

    def _run(self, a: Action, calls: list[Any], entry: dict[str, Any]) -> None:
        remediator = get_remediator(a.provider)
        for call in calls:
            remediator.execute_call(call, self.ex.clients(call.provider))
            entry["ran"].append(Step("api", call=call).command_line())
        if calls:
            entry["status"] = "succeeded"

    def _restore_attributes(self, a: Action, snap: dict[str, Any] | None, entry: dict[str, Any]) -> None:
        if not snap or not snap.get("exists") or snap.get("attributes") is None:
            entry["note"] = "the resource did not exist at the snapshot: nothing to restore"
            return
        current = self.ex.provider(a.provider).get(a.type, a.resource_id or "", a.region)
        if current is None:
            raise RemediationError(
                f"{a.type} {a.resource_id} no longer exists: cannot restore its attributes"
            )
        paths = [str(c["path"]) for c in a.changes if c.get("path")] or None
        calls = get_remediator(a.provider).restore_calls(
            a.type, a.resource_id or "", a.region, snap["attributes"], current.attributes, paths=paths
        )
        self._run(a, calls, entry)
        if not calls:
            entry["note"] = "already as in the snapshot"

    def _delete_created(self, a: Action, rec: dict[str, Any], entry: dict[str, Any]) -> None:
        created = rec.get("created") or {}
        if not created.get("id"):
            entry["note"] = "nothing was created"
            return
        live = self.ex.provider(a.provider).get(a.type, str(created["id"]), a.region)
        if live is None:
            entry["note"] = "what the recreate created is already gone"
            return
        calls = get_remediator(a.provider).delete_calls(a.type, str(created["id"]), a.region, live.attributes)
        self._run(a, calls, entry)

    @staticmethod
    def _restore_files(rec: dict[str, Any], entry: dict[str, Any]) -> None:
        """Each file the action wrote back to its exact bytes from before (or removed when it was
        new), last write first — unless it changed since the run wrote it (then it is left alone)."""
        for f in reversed(rec.get("files") or []):
            path = Path(f["path"])
            written = f.get("written_sha256")
            if written and path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() != written:
                raise RemediationError(f"{path} changed since the run wrote it: not restored")
            if f.get("backup"):
                data = Path(f["backup"]).read_bytes()
                if f.get("sha256") and hashlib.sha256(data).hexdigest() != f["sha256"]:
                    raise RemediationError(f"the backup of {path} does not match its digest: not restored")
                write_atomic(path, data)
                entry["ran"].append(f"restore {path}")
            elif isinstance(f.get("previous"), str):  # records of earlier versions kept the text
                path.write_text(f["previous"], encoding="utf-8")
                entry["ran"].append(f"restore {path}")
            else:
                path.unlink(missing_ok=True)
                entry["ran"].append(f"remove {path}")
        entry["status"] = "succeeded"

    # --- state --------------------------------------------------------------------------------
    def _restore_states(self, snapshot: dict[str, Any], outcome: dict[str, Any]) -> list[dict[str, Any]]:
        after = {s.get("dir"): s.get("serial") for s in outcome.get("states_after") or []}
        out = []
        for saved in snapshot.get("states") or []:
            d = str(saved["dir"])
            entry: dict[str, Any] = {"dir": d, "pushed": False, "serial": None, "error": None}
            try:
                after_serial = after.get(d)
                if after_serial is None:
                    now = current_serial(self.ex.tf, d)
                    entry["note"] = (
                        "the state version after the run is unknown: restoring over the current one"
                    )
                    changed = now != saved.get("serial")
                else:
                    changed = after_serial != saved.get("serial")
                if not changed:
                    entry["note"] = "the run did not change the state"
                else:
                    entry.update(restore_state(self.ex.tf, saved, after_serial))
            except Exception as exc:  # noqa: BLE001 - reported; the state stays as it is
                entry["error"] = _describe(exc)
            out.append(entry)
        return out

    # --- verification -------------------------------------------------------------------------
    def _check(
        self,
        by_id: dict[str, Action],
        records: list[dict[str, Any]],
        resources: dict[str, Any],
        result: dict[str, Any],
    ) -> list[dict[str, Any]]:
        state_ok = all(not s.get("error") for s in result["state"])
        out = []
        for rec in records:
            a = by_id.get(str(rec.get("id")))
            if a is None:
                continue
            entry: dict[str, Any] = {"id": a.id, "restored": state_ok, "remaining": []}
            try:
                if a.kind == "revert":
                    snap = resources.get(a.id) or {}
                    if snap.get("attributes") is not None:
                        current = self.ex.provider(a.provider).get(a.type, a.resource_id or "", a.region)
                        if current is None:
                            entry.update(
                                restored=False, remaining=[{"path": "", "note": "the resource is gone"}]
                            )
                        else:
                            paths = [str(c["path"]) for c in a.changes if c.get("path")] or None
                            left = restored(a.provider, a.type, snap["attributes"], current.attributes, paths)
                            entry.update(restored=not left and state_ok, remaining=left)
                elif a.kind == "recreate" and (rec.get("created") or {}).get("id"):
                    gone = (
                        self.ex.provider(a.provider).get(a.type, str(rec["created"]["id"]), a.region) is None
                    )
                    entry["restored"] = gone and state_ok
                elif a.kind == "delete":
                    entry.update(restored=False, remaining=[{"path": "", "note": "deleted: irreversible"}])
            except DriftMgrError as exc:
                entry.update(restored=False, error=str(exc))
            out.append(entry)
        return out
