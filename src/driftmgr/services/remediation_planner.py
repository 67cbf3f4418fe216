"""Building a remediation plan from a drift report: one action per selected item, refusals explained.

For every drifted, missing or unmanaged item of the report (or of a selection of it) the planner
picks the action of the strategy for its status (drifted → revert|accept, missing → recreate|forget,
unmanaged → codify|delete), re-reads the live resource (its attributes feed the steps, the protection
check and the dependencies), grades the risk, asks `remediation_exec.build_steps` for the exact steps,
and orders the actions by the references between their resources. What cannot be planned is listed
in `plan.refused` with the reason: a protected resource (tag or pattern), the cap on actions, a
resource that could not be read, an action the chosen method cannot do.

Codify actions are batched: `engine.codegen.generate` writes one `imports.tf` + `generated.tf` for all
of them (kept in `plan.report["codify"]`, written to the output directory by the CLI). Only with a
Terraform working directory do they also get steps (the files written into it, a targeted apply).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftmgr.engine.remediation import (
    DESTRUCTIVE_KINDS,
    KINDS_FOR_STATUS,
    RISKS,
    Action,
    Plan,
    risk_rank,
)
from driftmgr.engine.report import DriftReport, change_to_dict
from driftmgr.errors import DriftMgrError, UsageError
from driftmgr.models import DriftItem, Resource, StateInstance
from driftmgr.providers.base import Provider, get_provider

DEFAULT_STRATEGY: dict[str, str] = {status: kinds[0] for status, kinds in KINDS_FOR_STATUS.items()}
# the least risk of each kind; an item's severity raises it (codify only writes files: always low)
KIND_RISK = {
    "revert": "low",
    "accept": "low",
    "codify": "low",
    "forget": "medium",
    "recreate": "high",
    "delete": "critical",
}
_GLOB = set("*?[")


def parse_strategy(values: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """`["drifted=accept", …]` (or a mapping) over the defaults; UsageError naming a bad entry."""
    chosen = dict(DEFAULT_STRATEGY)
    pairs: list[tuple[str, str]] = []
    if isinstance(values, Mapping):
        pairs = [(str(k), str(v)) for k, v in values.items()]
    else:
        for entry in values or ():
            status, sep, kind = entry.partition("=")
            if not sep:
                raise UsageError("a strategy is STATUS=ACTION, e.g. drifted=accept", source=entry)
            pairs.append((status, kind))
    for status, kind in pairs:
        status, kind = status.strip(), kind.strip()
        if status not in KINDS_FOR_STATUS:
            raise UsageError(f"no strategy for status {status!r} (one of: {', '.join(KINDS_FOR_STATUS)})")
        if kind not in KINDS_FOR_STATUS[status]:
            allowed = "|".join(KINDS_FOR_STATUS[status])
            raise UsageError(f"{status} resources can be {allowed}, not {kind!r}", source=f"{status}={kind}")
        chosen[status] = kind
    return chosen


def parse_protect_tag(text: str | None) -> tuple[str, str | None] | None:
    """`key=value` (value compared case-insensitively) or `key` (any value); "" → no tag protection."""
    if not text or not text.strip():
        return None
    key, sep, value = text.strip().partition("=")
    if not key.strip():
        raise UsageError("a protection tag is KEY=VALUE or KEY", source=text)
    return key.strip(), (value.strip() if sep else None)


def split_patterns(text: str | Iterable[str] | None) -> list[str]:
    if text is None:
        return []
    parts = text.split(",") if isinstance(text, str) else list(text)
    return [p.strip() for p in parts if p and p.strip()]


@dataclass
class PlanOptions:
    strategy: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STRATEGY))
    select: list[str] = field(default_factory=list)  # globs of addresses, ids or types; empty: all
    terraform_dir: str | None = None
    config_dir: str | None = None
    max_actions: int = 50
    protect_tag: tuple[str, str | None] | None = ("driftmgr:protected", "true")
    protect: list[str] = field(default_factory=list)  # globs of addresses, ids or types
    scan_id: str | None = None


@dataclass
class BuiltPlan:
    plan: Plan
    warnings: list[str] = field(default_factory=list)

    @property
    def imports_tf(self) -> str | None:
        codify = self.plan.report.get("codify") or {}
        return codify.get("imports_tf")

    @property
    def config_patch(self) -> str | None:
        """The unified diff of the `.tf` files accept actions patch (`--config DIR`)."""
        patch = self.plan.report.get("config_patch") or {}
        return patch.get("diff")

    @property
    def generated_tf(self) -> str | None:
        codify = self.plan.report.get("codify") or {}
        return codify.get("generated_tf")


class LiveReader:
    """Live resources re-read for a plan: `Provider.get(type, id, region)` when the provider has it,
    else one discovery of that type in that region (kept for the rest of the plan)."""

    def __init__(self, providers: Callable[[str], Provider] | None = None) -> None:
        self._factory = providers or (lambda name: get_provider(name))
        self._providers: dict[str, Provider] = {}
        self._listed: dict[tuple[str, str, str | None], dict[str, Resource]] = {}

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = self._factory(name)
        return self._providers[name]

    def read(self, provider: str, tf_type: str, rid: str, region: str | None) -> Resource | None:
        p = self.provider(provider)
        get = getattr(p, "get", None)
        if callable(get):
            found = get(tf_type, rid, region)
            return found if isinstance(found, Resource) else None
        key = (provider, tf_type, region)
        if key not in self._listed:
            result = p.discover(regions=[region] if region else None, types=[tf_type])
            if result.errors and not result.resources:
                e = result.errors[0]
                raise DriftMgrError(f"cannot list {tf_type} in {region or 'the default region'}: {e.message}")
            self._listed[key] = {r.id: r for r in result.resources if r.type == tf_type}
        return self._listed[key].get(rid)


# --- selection, protection, risk --------------------------------------------------------------


def _matches(pattern: str, item: DriftItem) -> bool:
    names = [n for n in (item.address, item.id, item.type) if n]
    if _GLOB & set(pattern):
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)
    return pattern in names


def select_items(report: DriftReport, select: Sequence[str]) -> list[DriftItem]:
    """The report's actionable items (drifted, missing, unmanaged), narrowed to the selection."""
    actionable = [i for i in report.resources if i.status in KINDS_FOR_STATUS]
    if not select:
        return actionable
    chosen = [i for i in actionable if any(_matches(p, i) for p in select)]
    unmatched = [p for p in select if not any(_matches(p, i) for i in actionable)]
    if unmatched:
        raise UsageError(
            "matches no drifted, missing or unmanaged resource of the report", source=", ".join(unmatched)
        )
    return chosen


def _tag_values(attrs: Mapping[str, Any] | None, key: str) -> list[Any]:
    if not attrs:
        return []
    out: list[Any] = []
    for name in ("tags", "tags_all"):
        tags = attrs.get(name)
        if isinstance(tags, Mapping) and key in tags:
            out.append(tags[key])
    for name in ("tag", "tags"):  # autoscaling groups: [{key, value, propagate_at_launch}]
        blocks = attrs.get(name)
        if isinstance(blocks, list):
            out += [b.get("value") for b in blocks if isinstance(b, Mapping) and b.get("key") == key]
    return out


def protection_reason(
    item: DriftItem,
    options: PlanOptions,
    *,
    live: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
) -> str | None:
    """Why the item must not be remediated, or None. The tag counts wherever it is seen: on the live
    resource, in the state, or on either side of a change (removing the tag does not unprotect)."""
    for pattern in options.protect:
        if _matches(pattern, item):
            return f"protected by the pattern {pattern!r}"
    if options.protect_tag is None:
        return None
    key, wanted = options.protect_tag
    seen = _tag_values(live, key) + _tag_values(state, key)
    for c in item.changes:
        if c.path == f"tags.{key}" or c.path == f'tags["{key}"]':
            seen += [c.expected, c.actual]
        elif c.path in ("tags", "tags_all", "tag"):
            seen += _tag_values({c.path: c.expected}, key) + _tag_values({c.path: c.actual}, key)
    for value in seen:
        if value is None:
            continue
        if wanted is None or str(value).strip().lower() == wanted.lower():
            return f"protected by the tag {key}={value}"
    return None


def action_risk(kind: str, severity: str | None) -> str:
    base = KIND_RISK[kind]
    if kind in ("codify", "delete"):
        return base
    sev = severity if severity in RISKS else "low"
    return max(base, sev, key=risk_rank)


# --- dependencies -----------------------------------------------------------------------------


def _strings(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        if value:
            out.add(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out)


def _resource_address(address: str | None) -> str | None:
    """`module.m.aws_x.y["a"]` → `module.m.aws_x.y` (what state `dependencies` name)."""
    if not address:
        return None
    depth = 0
    for i in range(len(address) - 1, -1, -1):
        ch = address[i]
        if ch == "]":
            depth += 1
        elif ch == "[":
            depth -= 1
            if depth == 0 and i and address[i - 1] != ".":
                return _resource_address(address[:i])
        elif depth == 0:
            return address
    return address


def _reaches(actions: Mapping[str, Action], start: str, target: str) -> bool:
    stack, seen = [start], set()
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(actions[current].depends_on if current in actions else [])
    return False


def link_dependencies(
    actions: Sequence[Action],
    attributes: Mapping[str, Mapping[str, Any]],
    state_deps: Mapping[str, Sequence[str]],
) -> None:
    """Order actions by the references between their resources.

    A resource refers to another when one of its attribute values is the other's id (a subnet's
    `vpc_id`), or when its state lists the other's address among its `dependencies`. Creating and
    changing go parent first (the subnet's revert after its VPC's); deleting goes children first (the
    VPC's delete after its subnet's). Codify actions only write files and stay unordered. An edge that
    would close a cycle is left out (both actions then run in report order).
    """
    by_id = {a.resource_id: a for a in actions if a.resource_id}
    by_addr = {_resource_address(a.address): a for a in actions if a.address}
    index = {a.id: a for a in actions}
    for a in actions:
        if a.kind == "codify":
            continue
        refs: set[str] = set()
        _strings(attributes.get(a.id), refs)
        targets = [by_id[r] for r in refs if r in by_id]
        targets += [by_addr[d] for d in state_deps.get(a.id, ()) if d in by_addr]
        for b in targets:
            if b is a or b.kind == "codify":
                continue
            if a.kind == "delete" and b.kind == "delete":
                first, then = a, b  # the child (a) goes before its parent (b)
            elif a.kind != "delete" and b.kind != "delete":
                first, then = b, a
            else:
                continue
            if first.id in then.depends_on or _reaches(index, first.id, then.id):
                continue
            then.depends_on.append(first.id)


# --- the planner --------------------------------------------------------------------------------

StepBuilder = Callable[..., list[Any]]
StateLookup = Callable[[DriftItem], StateInstance | None]
CodeGenerator = Callable[[list[Resource], Mapping[tuple[str, str], str], Any], Any]


def _default_steps() -> StepBuilder:
    from driftmgr.services.remediation_exec import build_steps

    return build_steps


def _default_codegen() -> CodeGenerator:
    from driftmgr.engine.codegen import generate

    return generate


class StateIndex:
    """State instances of the report's sources by address, read once per source (errors noted)."""

    def __init__(self, warnings: list[str]) -> None:
        self._by_source: dict[str, dict[str, StateInstance]] = {}
        self.warnings = warnings

    def __call__(self, item: DriftItem) -> StateInstance | None:
        if not item.source or not item.address:
            return None
        if item.source not in self._by_source:
            from driftmgr.services.state import StateService

            try:
                found = StateService().instances(item.source)
            except DriftMgrError as exc:
                self.warnings.append(f"cannot read the state {item.source}: {exc}")
                found = []
            self._by_source[item.source] = {i.address: i for i in found if i.mode == "managed"}
        return self._by_source[item.source].get(item.address)


@dataclass
class _Candidate:
    item: DriftItem
    action: Action
    live: Resource | None
    state: StateInstance | None


class Planner:
    """Builds plans; its collaborators are parameters so each can be swapped (and tested) alone."""

    def __init__(
        self,
        *,
        reader: LiveReader | None = None,
        steps: StepBuilder | None = None,
        state: StateLookup | None = None,
        codegen: CodeGenerator | None = None,
    ) -> None:
        self.reader = reader or LiveReader()
        self._steps = steps
        self._state = state
        self._codegen = codegen

    def build(self, report: DriftReport, options: PlanOptions) -> BuiltPlan:
        warnings: list[str] = []
        state = self._state or StateIndex(warnings)
        steps = self._steps or _default_steps()
        items = select_items(report, options.select)
        plan = Plan(
            strategy=dict(options.strategy),
            terraform_dir=options.terraform_dir,
            config_dir=options.config_dir,
            report={
                "generated_at": report.generated_at,
                "sources": [s.to_dict() for s in report.sources],
                "scan_id": options.scan_id,
                "partial": report.partial,
            },
        )
        candidates: list[_Candidate] = []
        for item in items:
            kind = options.strategy.get(item.status, DEFAULT_STRATEGY[item.status])
            if len(candidates) >= options.max_actions:
                self._refuse(plan, item, kind, f"over the cap of {options.max_actions} actions per plan "
                             "(narrow the selection or raise --max-actions)")  # fmt: skip
                continue
            candidate = self._candidate(plan, item, kind, options, state, steps)
            if candidate is not None:
                candidates.append(candidate)
        codify = [c for c in candidates if c.action.kind == "codify"]
        if codify:
            candidates = self._codify(plan, report, codify, candidates, warnings)
        for n, c in enumerate(candidates, start=1):
            c.action.id = f"a{n}"
        plan.actions = [c.action for c in candidates]
        attributes = {
            c.action.id: (c.live.attributes if c.live else c.state.attributes if c.state else {})
            for c in candidates
        }
        deps = {c.action.id: list(c.state.dependencies) for c in candidates if c.state is not None}
        link_dependencies(plan.actions, attributes, deps)
        plan.actions = plan.ordered()
        if options.config_dir:  # accept: the configuration follows the cloud too
            from driftmgr.services.remediation_config import patch_accepts

            patch = patch_accepts(plan, options.config_dir)
            if patch is not None:
                plan.report["config_patch"] = patch
        return BuiltPlan(plan, warnings)

    @staticmethod
    def _refuse(plan: Plan, item: DriftItem, kind: str, reason: str) -> None:
        plan.refused.append(
            {
                "address": item.address,
                "type": item.type,
                "id": item.id,
                "status": item.status,
                "kind": kind,
                "region": item.region,
                "reason": reason,
            }
        )

    def _candidate(
        self,
        plan: Plan,
        item: DriftItem,
        kind: str,
        options: PlanOptions,
        state: StateLookup,
        steps: StepBuilder,
    ) -> _Candidate | None:
        inst = state(item) if item.status in ("drifted", "missing") else None
        live: Resource | None = None
        if item.status in ("drifted", "unmanaged"):
            if not item.id:
                self._refuse(plan, item, kind, "the report gives no cloud id to read the resource by")
                return None
            try:
                live = self.reader.read(item.provider, item.type, item.id, item.region)
            except DriftMgrError as exc:
                self._refuse(plan, item, kind, f"cannot read the live resource: {exc}")
                return None
            if live is None:
                self._refuse(plan, item, kind, "the resource is gone since the scan: scan again")
                return None
        reason = protection_reason(
            item, options, live=live.attributes if live else None, state=inst.attributes if inst else None
        )
        if reason is not None:
            self._refuse(plan, item, kind, reason)
            return None
        method = "terraform" if options.terraform_dir else "files" if kind == "codify" else "api"
        action = Action(
            id=f"c{len(plan.refused)}",  # renumbered once the plan is complete
            kind=kind,
            type=item.type,
            resource_id=item.id,
            provider=item.provider,
            address=item.address,
            region=item.region,
            account=item.account,
            source=item.source,
            changes=[change_to_dict(c) for c in item.changes],
            method=method,
            risk=action_risk(kind, item.severity),
            destructive=kind in DESTRUCTIVE_KINDS,
        )
        # codify without a Terraform directory only writes imports.tf/generated.tf (no step runs);
        # with one, its steps write the files into it and import through a targeted apply
        if kind != "codify" or options.terraform_dir:
            try:
                action.steps = steps(
                    action, terraform_dir=options.terraform_dir, live=live.attributes if live else None
                )
            except DriftMgrError as exc:
                self._refuse(plan, item, kind, str(exc))
                return None
            if not action.steps:
                self._refuse(plan, item, kind, f"nothing to run for {kind} of {item.type} by {method}")
                return None
        return _Candidate(item, action, live, inst)

    def _codify(
        self,
        plan: Plan,
        report: DriftReport,
        codify: list[_Candidate],
        candidates: list[_Candidate],
        warnings: list[str],
    ) -> list[_Candidate]:
        from driftmgr.services.drift import provider_schema

        generate = self._codegen or _default_codegen()
        managed = {
            (i.type, i.id): i.address
            for i in report.resources
            if i.address and i.id and i.status not in ("missing", "unmanaged")
        }
        resources = [c.live for c in codify if c.live is not None]
        providers = {r.provider for r in resources}
        if len(providers) != 1:
            raise UsageError("codify plans one provider at a time: select the resources of one provider")
        generated = generate(resources, managed, provider_schema(providers.pop()))
        skipped = {(t, i): why for t, i, why in generated.skipped}
        kept: list[_Candidate] = []
        for c in candidates:
            key = (c.action.type, c.action.resource_id or "")
            if c.action.kind == "codify" and key in skipped:
                self._refuse(plan, c.item, "codify", f"cannot codify: {skipped[key]}")
                continue
            if c.action.kind == "codify":
                targets = [
                    a[len("-target=") :] for st in c.action.steps for a in st.args if a.startswith("-target=")
                ]
                address = targets[0] if targets else generated.addresses.get(key)
                c.action.address = address
                c.action.note = (
                    f"imported as {address}: its import block and configuration are written into the "
                    "Terraform directory, then a targeted apply imports it"
                    if c.action.steps
                    else f"import block and resource {address} in imports.tf and generated.tf: add both to "
                    "the Terraform configuration, then `terraform plan` shows the import"
                )
            kept.append(c)
        plan.report["codify"] = {
            "imports_tf": generated.imports_tf,
            "generated_tf": generated.generated_tf,
            "addresses": {f"{t}/{i}": a for (t, i), a in generated.addresses.items()},
        }
        return kept
