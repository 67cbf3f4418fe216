"""`state show`: what a state holds, counted; outputs and attributes with sensitive values masked.

`summarize` makes one streaming pass over the instances and keeps only counters, so it works on a
state of any size. Counts are over instance objects, as `state list` lists them: a deposed object
(create_before_destroy) counts as one more object of its type, provider and module.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from driftmgr.models import CheckResult, StateInstance, StateOutput
from driftmgr.state.analysis.paths import Step, format_path, sensitive_paths
from driftmgr.state.parse import StateReader

SENSITIVE = "(sensitive)"
ROOT_MODULE = "(root)"
_PROVIDER_SOURCE = re.compile(r'provider\["([^"]+)"\]')


@dataclass(slots=True)
class OutputSummary:
    name: str
    value: Any  # SENSITIVE when the output is sensitive
    type: Any
    sensitive: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "sensitive": self.sensitive, "value": self.value}


@dataclass(slots=True)
class CheckSummary:
    """Check results (Terraform 1.5+ `check` blocks, pre/postconditions): counts and what fails."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    failing: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_status": self.by_status, "failing": self.failing}


@dataclass(slots=True)
class StateSummary:
    source: str
    version: int
    upgraded_from: int | None
    terraform_version: str | None
    serial: int | None
    lineage: str | None
    instances: int = 0
    resources: int = 0  # distinct resource addresses (`module.m.aws_x.y`), managed and data
    managed: int = 0
    data: int = 0
    deposed: int = 0
    tainted: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_provider: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)
    outputs: list[OutputSummary] = field(default_factory=list)
    checks: CheckSummary = field(default_factory=CheckSummary)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format_version": self.version,
            "upgraded_from": self.upgraded_from,
            "terraform_version": self.terraform_version,
            "serial": self.serial,
            "lineage": self.lineage,
            "counts": {
                "instances": self.instances,
                "resources": self.resources,
                "managed": self.managed,
                "data": self.data,
                "deposed": self.deposed,
                "tainted": self.tainted,
            },
            "by_type": self.by_type,
            "by_provider": self.by_provider,
            "by_module": self.by_module,
            "outputs": [o.to_json() for o in self.outputs],
            "check_results": self.checks.to_json(),
            "warnings": self.warnings,
        }


def provider_source(inst: StateInstance) -> str:
    """`registry.terraform.io/hashicorp/aws` for any config address of that provider (alias, module)."""
    m = _PROVIDER_SOURCE.search(inst.provider)
    return m.group(1) if m else (inst.provider or inst.provider_name)


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first, then by name: a stable order for tables and JSON alike."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def summarize(reader: StateReader) -> StateSummary:
    """Count a state's instances and summarise its header, outputs and check results."""
    header = reader.header()
    by_type: Counter[str] = Counter()
    by_provider: Counter[str] = Counter()
    by_module: Counter[str] = Counter()
    resources: set[str] = set()
    managed = data = deposed = tainted = total = 0
    for inst in reader.iter_instances():
        total += 1
        if inst.mode == "data":
            data += 1
        else:
            managed += 1
        if inst.deposed:
            deposed += 1
        if inst.status == "tainted":
            tainted += 1
        by_type[inst.type] += 1
        by_provider[provider_source(inst)] += 1
        by_module[inst.module or ROOT_MODULE] += 1
        resources.add(inst.resource_address)
    return StateSummary(
        source=reader.source,
        version=header.version,
        upgraded_from=header.upgraded_from,
        terraform_version=header.terraform_version,
        serial=header.serial,
        lineage=header.lineage,
        instances=total,
        resources=len(resources),
        managed=managed,
        data=data,
        deposed=deposed,
        tainted=tainted,
        by_type=_sorted_counts(by_type),
        by_provider=_sorted_counts(by_provider),
        by_module=_sorted_counts(by_module),
        outputs=mask_outputs(reader.outputs()),
        checks=summarize_checks(reader.check_results()),
        warnings=list(header.warnings),
    )


def mask_outputs(outputs: list[StateOutput]) -> list[OutputSummary]:
    """Outputs sorted by name; a sensitive output's value is replaced by "(sensitive)", never shown."""
    return [
        OutputSummary(o.name, SENSITIVE if o.sensitive else o.value, o.type, o.sensitive)
        for o in sorted(outputs, key=lambda o: o.name)
    ]


def summarize_checks(checks: list[CheckResult]) -> CheckSummary:
    by_status: Counter[str] = Counter()
    failing: list[dict[str, Any]] = []
    for c in checks:
        by_status[c.status] += 1
        objects = [o for o in c.objects if str(o.get("status", "")) in ("fail", "error")]
        if c.status in ("fail", "error") or objects:
            failing.append(
                {
                    "config_addr": c.config_addr,
                    "object_kind": c.object_kind,
                    "status": c.status,
                    "objects": [
                        {
                            "object_addr": str(o.get("object_addr", "")),
                            "status": str(o.get("status", "")),
                            "failure_messages": [str(m) for m in (o.get("failure_messages") or [])],
                        }
                        for o in objects
                    ],
                }
            )
    return CheckSummary(total=len(checks), by_status=_sorted_counts(by_status), failing=failing)


# --- attributes --------------------------------------------------------------------------------


def mask_sensitive(attributes: dict[str, Any], sensitive_attributes: list[Any]) -> dict[str, Any]:
    """A copy of `attributes` with every value under a `sensitive_attributes` path replaced by "(sensitive)".

    The input is not modified. A path that names something absent masks nothing; a path that
    cannot be understood masks its whole top-level attribute (when that can be named), so an
    unfamiliar path format errs on the side of hiding.
    """
    paths = sensitive_paths(sensitive_attributes)
    undecoded = len(paths) < len([p for p in sensitive_attributes if p not in ([], {})])
    if not paths and not undecoded:
        return attributes
    masked = dict(attributes)
    for path in paths:
        _mask_path(masked, path)
    if undecoded:
        for raw in sensitive_attributes:
            name = _first_attr_name(raw)
            if name is not None and name in masked:
                masked[name] = SENSITIVE
    return masked


def _first_attr_name(raw: Any) -> str | None:
    step = raw[0] if isinstance(raw, list) and raw else raw
    if isinstance(step, dict) and isinstance(step.get("value"), str):
        return str(step["value"])
    return step if isinstance(step, str) else None


def _mask_path(root: dict[str, Any], path: tuple[Step, ...]) -> None:
    """Mask one path in place, copying each container on the way so the caller's input stays intact."""
    if not path:
        return
    node: Any = root
    for step in path[:-1]:
        child = _child(node, step)
        if not isinstance(child, (dict, list)):
            return
        child = dict(child) if isinstance(child, dict) else list(child)
        node[step] = child
        node = child
    last = path[-1]
    in_dict = isinstance(node, dict) and isinstance(last, str) and last in node
    in_list = isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node)
    if in_dict or in_list:
        node[last] = SENSITIVE


def _child(node: Any, step: Step) -> Any:
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def flatten_attributes(attributes: dict[str, Any], max_depth: int = 32) -> list[tuple[str, Any]]:
    """Leaf values with their Terraform paths, depth first in key order (iterative: no recursion).

    A value nested deeper than `max_depth` steps is returned whole at that depth.
    """
    out: list[tuple[str, Any]] = []
    stack: list[tuple[tuple[Step, ...], Any]] = [((k,), attributes[k]) for k in reversed(sorted(attributes))]
    while stack:
        path, value = stack.pop()
        if len(path) < max_depth and isinstance(value, dict) and value:
            stack.extend(((*path, k), value[k]) for k in reversed(sorted(value)))
        elif len(path) < max_depth and isinstance(value, list) and value:
            stack.extend(((*path, i), value[i]) for i in reversed(range(len(value))))
        else:
            out.append((format_path(path), value))
    return out


def instance_details(reader: StateReader, address: str) -> list[dict[str, Any]]:
    """The instance objects at `address` (current first, then deposed), with sensitive values masked.

    `address` is an instance address (`aws_instance.web[0]`) or a resource address
    (`aws_instance.web`, which matches all its instances).
    """
    found: list[dict[str, Any]] = []
    for inst in reader.iter_instances():
        if inst.address != address and inst.resource_address != address:
            continue
        found.append(
            {
                "address": inst.address,
                "deposed": inst.deposed,
                "mode": inst.mode,
                "type": inst.type,
                "provider": inst.provider,
                "status": inst.status,
                "schema_version": inst.schema_version,
                "dependencies": inst.dependencies,
                "sensitive_paths": [format_path(p) for p in sensitive_paths(inst.sensitive_attributes)],
                "attributes": mask_sensitive(inst.attributes, inst.sensitive_attributes),
            }
        )
    found.sort(key=lambda r: (r["address"], r["deposed"] is not None, r["deposed"] or ""))
    return found
