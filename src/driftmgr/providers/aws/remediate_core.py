"""Plumbing of the AWS call builders: the target, the builder registry, values and paths.

A builder owns some top-level Terraform attributes of one or more resource types and turns the drift
changes of those attributes into the API calls that set them back (`remediate_builders.py`). The
registry is data: `(tf_type, attribute) -> builder`; `remediate.revert_calls` groups the changes of a
resource by builder and calls each builder once with its changes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from driftmgr.engine.diff import MASK
from driftmgr.engine.remediation import ApiCall
from driftmgr.engine.schema import SCALAR_KINDS, Kind, ProviderSchema, TypeSchema, split_path
from driftmgr.errors import UnsupportedRemediation

Change = dict[str, Any]  # {"path", "expected", "actual", ...} as in a drift report


@dataclass(frozen=True, slots=True)
class Target:
    """The resource a builder works on: its type, Terraform id, region and live attributes."""

    tf_type: str
    id: str
    region: str | None
    live: Mapping[str, Any]

    def call(self, service: str, operation: str, description: str, /, **params: Any) -> ApiCall:
        return ApiCall("aws", service, operation, params, self.region, description)

    def wait(self, service: str, waiter: str, description: str, /, **params: Any) -> ApiCall:
        """A botocore waiter as a step: operation `wait:<waiter name>` (see remediate.execute_call)."""
        params.setdefault("WaiterConfig", {"Delay": 5, "MaxAttempts": 120})
        return ApiCall("aws", service, f"wait:{waiter}", params, self.region, description)

    def need(self, name: str) -> Any:
        """A live attribute a call needs (an ARN, a cluster); UnsupportedRemediation when unknown."""
        value = self.live.get(name)
        if value in (None, ""):
            raise UnsupportedRemediation(
                f"{self.tf_type} {self.id}: its live {name} is unknown, so the API call cannot be built",
                tf_type=self.tf_type,
                path=name,
            )
        return value

    def unsupported(self, path: str, why: str) -> UnsupportedRemediation:
        return UnsupportedRemediation(
            f"{self.tf_type} {self.id}: cannot revert {path} through the API ({why})",
            tf_type=self.tf_type,
            path=path,
        )


Builder = Callable[[Target, list[Change]], list[ApiCall]]
_BUILDERS: dict[str, dict[str, Builder]] = {}


def builds(tf_types: str | Iterable[str], *attributes: str) -> Callable[[Builder], Builder]:
    """Register a builder for top-level `attributes` of `tf_types`."""
    types = [tf_types] if isinstance(tf_types, str) else list(tf_types)

    def deco(fn: Builder) -> Builder:
        for t in types:
            table = _BUILDERS.setdefault(t, {})
            for a in attributes:
                if a in table:
                    raise ValueError(f"{t}.{a}: two remediation builders")
                table[a] = fn
        return fn

    return deco


def builder_for(tf_type: str, attribute: str) -> Builder | None:
    return _BUILDERS.get(tf_type, {}).get(attribute)


def supported_attributes() -> dict[str, list[str]]:
    """Every type and the top-level attributes the API can revert (for docs and meta-tests)."""
    return {t: sorted(a) for t, a in sorted(_BUILDERS.items())}


# --- schema, paths and values -----------------------------------------------------------------


@cache
def aws_schema() -> ProviderSchema:
    raw = files("driftmgr.providers.aws").joinpath("schema.json").read_bytes()
    return ProviderSchema.from_dict(json.loads(raw))


def type_schema(tf_type: str) -> TypeSchema | None:
    return aws_schema().type(tf_type)


def top(path: str) -> str:
    parts = split_path(path)
    return str(parts[0]) if parts else path


def masked(value: Any) -> bool:
    return bool(value == MASK)


def value_at(attrs: Mapping[str, Any], path: str) -> Any:
    """The value at a Terraform attribute path (`a.b[0].c`, `tags["k.x"]`); None when absent."""
    node: Any = attrs
    for part in split_path(path):
        if isinstance(part, int):
            if isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
            else:
                return None
        elif isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and len(node) == 1 and isinstance(node[0], Mapping):
            node = node[0].get(part)  # a block list of one written without its index
        else:
            return None
    return node


def _is_object_set(schema: TypeSchema | None, name: str) -> bool:
    if schema is None:
        return False
    kind = schema.kind(name)
    elem = schema.element(name)
    return kind in (Kind.SET, Kind.BLOCK_SET) and elem is not None and elem.kind not in SCALAR_KINDS


def desired(target: Target, changes: list[Change]) -> dict[str, Any]:
    """The live attributes with every change set back to its expected value: what the resource must
    look like after the revert. A change of a whole set of objects (`ingress`) lists the elements
    the live set lacks as `expected` and the extra ones as `actual` (engine.diff): those are added
    and removed; any other path is set to `expected` (None deletes a map key)."""
    out: dict[str, Any] = copy.deepcopy(dict(target.live))
    schema = type_schema(target.tf_type)
    for change in changes:
        path = str(change["path"])
        parts = split_path(path)
        if not parts:
            continue
        expected = change.get("expected")
        if masked(expected):
            raise target.unsupported(path, "the value is sensitive and the report does not hold it")
        if len(parts) == 1 and _is_object_set(schema, path):
            current = [e for e in out.get(path) or [] if e not in (change.get("actual") or [])]
            current += [e for e in expected or [] if e not in current]
            out[path] = current
            continue
        _set_path(out, parts, copy.deepcopy(expected))
    return out


def _set_path(root: dict[str, Any], parts: list[str | int], value: Any) -> None:
    node: Any = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = None if last else parts[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list):
                return
            while len(node) <= part:
                node.append({} if isinstance(nxt, str) else None)
            if last:
                node[part] = value
                return
            if node[part] is None:
                node[part] = {} if isinstance(nxt, str) else []
            node = node[part]
            continue
        if not isinstance(node, dict):
            return
        if last:
            if value is None and isinstance(root, dict) and node is not root:
                node.pop(part, None)  # a map key that should not exist
            else:
                node[part] = value
            return
        child = node.get(part)
        if child is None:
            child = node[part] = [] if isinstance(nxt, int) else {}
        elif isinstance(child, list) and isinstance(nxt, str) and child and isinstance(child[0], dict):
            child = child[0]  # `block.attr` written for `block[0].attr`
        node = child


def changed_attributes(changes: list[Change]) -> list[str]:
    """The top-level attributes the changes touch, in first-seen order."""
    seen: list[str] = []
    for c in changes:
        name = top(str(c["path"]))
        if name not in seen:
            seen.append(name)
    return seen


def first(value: Any) -> dict[str, Any]:
    """The object of a block list of one (`[{...}]` → `{...}`), {} when empty."""
    if isinstance(value, list):
        return dict(value[0]) if value and isinstance(value[0], Mapping) else {}
    return dict(value) if isinstance(value, Mapping) else {}


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_int(value: Any, default: int = 0) -> int:
    if value in (None, ""):
        return default
    return int(float(value))


def api_text(value: Any) -> str:
    """A value as the string maps of SQS/SNS take it: bools lower-case, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
