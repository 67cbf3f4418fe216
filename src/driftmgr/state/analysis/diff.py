"""`state diff A B`: instances added, removed and changed between two states.

Instances match by address and deposed key. The comparison streams: a first pass over each state
keeps one 16-byte digest per instance, and only the instances whose digests differ are read again
in full and compared attribute by attribute. The attribute walk is iterative (an explicit stack),
so deeply nested values cannot exhaust the interpreter's recursion limit; paths deeper than
`MAX_PATH_DEPTH` steps are reported at that depth.

An attribute that is null on one side and absent on the other is not a change (Terraform reads
both as null). Booleans never equal numbers; 1 and 1.0 are equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from driftmgr.models import StateHeader, StateInstance, StateOutput
from driftmgr.state.analysis.paths import Step, format_path
from driftmgr.state.parse import StateReader

MAX_PATH_DEPTH = 32
_ABSENT = object()
Key = tuple[str, str]  # (address, deposed key or "")


@dataclass(slots=True)
class InstanceRef:
    address: str
    deposed: str | None
    type: str
    id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "deposed": self.deposed, "type": self.type, "id": self.id}


@dataclass(slots=True)
class InstanceChange:
    address: str
    deposed: str | None
    type: str
    id: str | None
    paths: list[str] = field(default_factory=list)  # changed attribute paths, Terraform syntax
    meta: list[str] = field(default_factory=list)  # changed non-attribute fields (status, provider…)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "deposed": self.deposed,
            "type": self.type,
            "id": self.id,
            "paths": self.paths,
            "meta": self.meta,
        }


@dataclass(slots=True)
class StateDiff:
    a: StateHeader
    b: StateHeader
    added: list[InstanceRef] = field(default_factory=list)
    removed: list[InstanceRef] = field(default_factory=list)
    changed: list[InstanceChange] = field(default_factory=list)
    outputs_added: list[str] = field(default_factory=list)
    outputs_removed: list[str] = field(default_factory=list)
    outputs_changed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.outputs_added
            or self.outputs_removed
            or self.outputs_changed
        )

    def to_json(self) -> dict[str, Any]:
        def side(h: StateHeader) -> dict[str, Any]:
            return {
                "source": h.source,
                "serial": h.serial,
                "lineage": h.lineage,
                "terraform_version": h.terraform_version,
            }

        return {
            "a": side(self.a),
            "b": side(self.b),
            "identical": self.identical,
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
                "outputs_added": len(self.outputs_added),
                "outputs_removed": len(self.outputs_removed),
                "outputs_changed": len(self.outputs_changed),
            },
            "added": [r.to_json() for r in self.added],
            "removed": [r.to_json() for r in self.removed],
            "changed": [c.to_json() for c in self.changed],
            "outputs": {
                "added": self.outputs_added,
                "removed": self.outputs_removed,
                "changed": self.outputs_changed,
            },
            "warnings": self.warnings,
        }


# --- value comparison ---------------------------------------------------------------------------


def _scalar_equal(x: Any, y: Any) -> bool:
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return x == y
    return type(x) is type(y) and x == y


def iter_changed_paths(a: Any, b: Any, *, max_depth: int = MAX_PATH_DEPTH) -> Iterator[tuple[Step, ...]]:
    """Yield the step paths where `a` and `b` differ, depth first in key/index order (may repeat
    a truncated path when differences lie deeper than `max_depth`)."""
    stack: list[tuple[tuple[Step, ...], Any, Any]] = [((), a, b)]
    while stack:
        path, x, y = stack.pop()
        if x is y:
            continue
        if x is _ABSENT or y is _ABSENT:
            if (y if x is _ABSENT else x) is not None:
                yield path
            continue
        deep = len(path) >= max_depth  # past the limit, children report their ancestor's path
        if isinstance(x, dict) and isinstance(y, dict):
            keys = sorted(set(x) | set(y))
            stack.extend(
                (path if deep else (*path, k), x.get(k, _ABSENT), y.get(k, _ABSENT)) for k in reversed(keys)
            )
        elif isinstance(x, list) and isinstance(y, list):
            n = max(len(x), len(y))
            stack.extend(
                (
                    path if deep else (*path, i),
                    x[i] if i < len(x) else _ABSENT,
                    y[i] if i < len(y) else _ABSENT,
                )
                for i in reversed(range(n))
            )
        elif isinstance(x, (dict, list)) or isinstance(y, (dict, list)) or not _scalar_equal(x, y):
            yield path


def changed_paths(a: Any, b: Any, *, max_depth: int = MAX_PATH_DEPTH) -> list[str]:
    """The attribute paths (Terraform syntax) where two attribute objects differ, without repeats."""
    seen: dict[str, None] = {}
    for steps in iter_changed_paths(a, b, max_depth=max_depth):
        seen.setdefault(format_path(steps) if steps else "(root)", None)
    return list(seen)


def values_differ(a: Any, b: Any) -> bool:
    return next(iter_changed_paths(a, b), None) is not None


# --- the two-pass diff --------------------------------------------------------------------------


def _key(inst: StateInstance) -> Key:
    return (inst.address, inst.deposed or "")


def _meta(inst: StateInstance) -> dict[str, Any]:
    return {
        "status": inst.status,
        "provider": inst.provider,
        "schema_version": inst.schema_version,
        "dependencies": sorted(set(inst.dependencies)),
    }


def _digest(inst: StateInstance) -> bytes | object:
    try:
        blob = orjson.dumps([inst.attributes, _meta(inst)], option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # nested beyond orjson's limit: compare in full
        return object()
    return hashlib.blake2b(blob, digest_size=16).digest()


Indexed = dict[Key, tuple[bytes | object, InstanceRef]]


def _index(reader: StateReader, warnings: list[str], label: str) -> Indexed:
    out: Indexed = {}
    for inst in reader.iter_instances():
        key = _key(inst)
        if key in out:
            warnings.append(f"{label} lists {inst.address} more than once; the last object is compared")
        out[key] = (_digest(inst), InstanceRef(inst.address, inst.deposed, inst.type, inst.id))
    return out


def _collect(reader: StateReader, keys: set[Key]) -> dict[Key, StateInstance]:
    return {k: inst for inst in reader.iter_instances() if (k := _key(inst)) in keys}


def _sort_key(ref: InstanceRef | InstanceChange) -> tuple[str, str]:
    return (ref.address, ref.deposed or "")


def diff_states(a: StateReader, b: StateReader) -> StateDiff:
    """Compare state A (before) with state B (after)."""
    result = StateDiff(a.header(), b.header())
    warnings = result.warnings
    index_a = _index(a, warnings, "A")
    index_b = _index(b, warnings, "B")
    result.removed = sorted((ref for k, (_, ref) in index_a.items() if k not in index_b), key=_sort_key)
    result.added = sorted((ref for k, (_, ref) in index_b.items() if k not in index_a), key=_sort_key)
    candidates = {k for k, (digest, _) in index_a.items() if k in index_b and index_b[k][0] != digest}
    del index_a, index_b
    if candidates:
        full_a = _collect(a, candidates)
        full_b = _collect(b, candidates)
        for key in candidates:
            ia, ib = full_a.get(key), full_b.get(key)
            if ia is None or ib is None:  # pragma: no cover - the state changed between passes
                continue
            paths = changed_paths(ia.attributes, ib.attributes)
            ma, mb = _meta(ia), _meta(ib)
            meta = [name for name in ma if ma[name] != mb[name]]
            if paths or meta:
                result.changed.append(InstanceChange(ib.address, ib.deposed, ib.type, ib.id, paths, meta))
        result.changed.sort(key=_sort_key)
    _diff_outputs(a.outputs(), b.outputs(), result)
    warnings.extend(_header_warnings(result))
    return result


def _diff_outputs(a: list[StateOutput], b: list[StateOutput], result: StateDiff) -> None:
    oa = {o.name: o for o in a}
    ob = {o.name: o for o in b}
    result.outputs_removed = sorted(set(oa) - set(ob))
    result.outputs_added = sorted(set(ob) - set(oa))
    result.outputs_changed = sorted(
        name
        for name in set(oa) & set(ob)
        if oa[name].sensitive != ob[name].sensitive
        or values_differ(oa[name].value, ob[name].value)
        or values_differ(oa[name].type, ob[name].type)
    )


def _header_warnings(d: StateDiff) -> list[str]:
    a, b = d.a, d.b
    out: list[str] = []
    if a.lineage and b.lineage and a.lineage != b.lineage:
        out.append(
            f"lineage differs (A {a.lineage}, B {b.lineage}): "
            "these are different states, not two versions of one"
        )
        return out
    if a.serial is None or b.serial is None:
        return out
    if b.serial < a.serial:
        out.append(f"B is older than A: serial {b.serial} < {a.serial}")
    elif b.serial == a.serial and not d.identical:
        out.append(
            f"A and B have the same serial {a.serial} but different content: "
            "one was changed without incrementing the serial"
        )
    return out
