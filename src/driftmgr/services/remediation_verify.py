"""Checking a remediation: after a run, is each target's drift gone; after a rollback, is each target
back to its snapshot.

After a run the targets are judged by a real scan (DriftService over the state the action belongs to,
limited to the targets' types): "in sync" means exactly what `driftmgr drift detect` would say — the
same matching, comparison rules and ignore rules. A revert or accept is in sync when none of its
drifted attributes is reported any more; a recreate or codify when its address is in sync; a forget
when the address left the state; a delete when the resource is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from driftmgr.engine.diff import compare
from driftmgr.engine.remediation import Action
from driftmgr.engine.schema import split_path
from driftmgr.errors import DriftMgrError
from driftmgr.models import DriftItem
from driftmgr.providers.base import DiscoveryResult, ProgressFn, Provider, registered_types
from driftmgr.services.discovery import DiscoveryService
from driftmgr.services.drift import DetectOptions, DriftService, provider_schema

IN_SYNC = ("in_sync", "ignored")


class ProviderDiscovery(DiscoveryService):
    """DiscoveryService over given provider objects (the executor's, with its session)."""

    def __init__(self, provider_for: Callable[[str], Provider]) -> None:
        super().__init__()
        self._provider_for = provider_for

    def discover(
        self,
        provider: str,
        *,
        regions: list[str] | None = None,
        types: list[str] | None = None,
        progress: ProgressFn | None = None,
    ) -> DiscoveryResult:
        return self._provider_for(provider).discover(regions=regions, types=types, progress=progress)


def top(path: str) -> str:
    parts = split_path(path)
    return str(parts[0]) if parts else path


def _change_dict(c: Any) -> dict[str, Any]:
    return {"path": c.path, "expected": c.expected, "actual": c.actual}


def scan_items(
    provider_for: Callable[[str], Provider], source: str, actions: list[Action]
) -> tuple[dict[str, DriftItem], dict[tuple[str, str], DriftItem], list[str]]:
    """Scan `source` for the actions' types: items by address, by (type, id), and discovery errors."""
    provider = actions[0].provider
    regions = sorted({a.region for a in actions if a.region})
    options = DetectOptions(
        provider=provider, regions=regions or None, types=sorted({a.type for a in actions})
    )
    report = DriftService(discovery=ProviderDiscovery(provider_for)).detect([source], options)
    by_addr = {i.address: i for i in report.resources if i.address}
    by_key = {(i.type, i.id): i for i in report.resources if i.id}
    errors = [f"{e.service} {e.region or ''} {e.type or ''}: {e.message}".strip() for e in report.errors]
    return by_addr, by_key, errors


def judge(action: Action, item: DriftItem | None, address: str | None) -> dict[str, Any]:
    """The validation entry of one action from its item in the scan after the run."""
    entry: dict[str, Any] = {"id": action.id, "status": item.status if item else None}
    if action.kind == "forget":
        entry["in_sync"] = item is None
        entry["remaining"] = (
            [] if item is None else [{"path": "", "note": f"{address} is still in the state"}]
        )
        return entry
    if item is None:
        entry.update(
            in_sync=False, remaining=[{"path": "", "note": f"{address or action.resource_id} not found"}]
        )
        return entry
    if item.status in IN_SYNC:
        entry.update(in_sync=True, remaining=[])
        return entry
    if item.status != "drifted":
        entry.update(in_sync=False, remaining=[{"path": "", "note": f"the scan reports it {item.status}"}])
        return entry
    changes = [_change_dict(c) for c in item.changes]
    if action.kind in ("revert", "accept") and action.changes:
        wanted = {top(str(c.get("path", ""))) for c in action.changes}
        changes = [c for c in changes if top(c["path"]) in wanted]
    entry.update(in_sync=not changes, remaining=changes)
    return entry


def validate(
    provider_for: Callable[[str], Provider],
    targets: Iterable[tuple[Action, str | None, str | None]],
) -> list[dict[str, Any]]:
    """One entry per (action, state source to scan or None, address to look for), in that order."""
    targets = list(targets)
    out: list[dict[str, Any]] = []
    groups: dict[tuple[str, str], list[tuple[Action, str | None]]] = {}
    for action, source, address in targets:
        if action.kind == "delete":
            out.append(_gone(provider_for, action))
        elif source is None:
            out.append(
                {
                    "id": action.id,
                    "in_sync": False,
                    "remaining": [{"path": "", "note": "cannot validate: the action names no state source"}],
                }
            )
        else:
            groups.setdefault((action.provider, source), []).append((action, address))
    for (_provider, source), members in groups.items():
        try:
            by_addr, by_key, errors = scan_items(provider_for, source, [a for a, _ in members])
        except DriftMgrError as exc:
            for action, _ in members:
                out.append({"id": action.id, "in_sync": False, "remaining": [], "error": str(exc)})
            continue
        for action, address in members:
            item = by_addr.get(address) if address else None
            if item is None and action.kind not in ("forget", "recreate", "codify") and action.resource_id:
                item = by_key.get((action.type, action.resource_id))
            entry = judge(action, item, address)
            if errors and not entry["in_sync"]:
                entry["errors"] = errors
            out.append(entry)
    order = {a.id: n for n, (a, _s, _d) in enumerate(targets)}
    return sorted(out, key=lambda e: order.get(e["id"], 0))


def _gone(provider_for: Callable[[str], Provider], action: Action) -> dict[str, Any]:
    try:
        found = provider_for(action.provider).get(action.type, action.resource_id or "", action.region)
    except DriftMgrError as exc:
        return {"id": action.id, "in_sync": False, "remaining": [], "error": str(exc)}
    note = [] if found is None else [{"path": "", "note": f"{action.type} {action.resource_id} still exists"}]
    return {"id": action.id, "in_sync": found is None, "remaining": note}


def restored(
    provider: str,
    tf_type: str,
    snapshot_attrs: Mapping[str, Any],
    current_attrs: Mapping[str, Any],
    paths: Iterable[str] | None,
) -> list[dict[str, Any]]:
    """What still differs from the snapshot (limited to the top-level attributes of `paths`)."""
    rtype = registered_types(provider).get(tf_type)
    found = compare(
        snapshot_attrs,
        current_attrs,
        provider_schema(provider).type(tf_type),
        ignore=rtype.ignore if rtype else (),
    )
    wanted = {top(p) for p in paths} if paths is not None else None
    return [_change_dict(c) for c in found if wanted is None or top(c.path) in wanted]
