"""DriftService: states + live discovery → a drift report (DESIGN §2).

Matching is by (type, id): Terraform's id for managed instances, the import id for live resources.
A state instance whose type the provider cannot read is `unsupported` (listed, never silent). A state
instance in a region, or of a type, whose discovery failed is not called missing: the report is
partial and lists the failure instead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from driftmgr.engine.diff import compare
from driftmgr.engine.policy import DriftIgnore, Policy, ResourceFilter, Rules
from driftmgr.engine.report import DriftReport, Source, build_report
from driftmgr.engine.schema import ProviderSchema
from driftmgr.models import Change, DriftItem, Resource, StateInstance
from driftmgr.providers.base import ProgressFn, ResourceType, registered_types
from driftmgr.services.discovery import DiscoveryService
from driftmgr.services.state import StateService, expand_sources


@cache
def provider_schema(provider: str) -> ProviderSchema:
    try:
        raw = files(f"driftmgr.providers.{provider}").joinpath("schema.json").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError):
        return ProviderSchema.from_dict({"resource_schemas": {}})
    return ProviderSchema.from_dict(json.loads(raw))


@dataclass
class DetectOptions:
    provider: str = "aws"
    regions: list[str] | None = None
    driftignore: str | None = None
    policy: str | None = None
    filter: str | None = None
    types: list[str] | None = None


@dataclass
class _Managed:
    inst: StateInstance
    region: str | None
    claimed_by: list[str] = field(default_factory=list)


def instance_region(inst: StateInstance) -> str | None:
    """The AWS region an instance lives in, from its ARN or availability zone; None for global."""
    attrs = inst.attributes
    arn = attrs.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
        if len(parts) > 2 and parts[2] in ("iam", "route53", "s3", "cloudfront"):
            return None
    az = attrs.get("availability_zone")
    if isinstance(az, str) and len(az) > 1 and az[-1].isalpha() and az[-2].isdigit():
        return az[:-1]
    region = attrs.get("region")
    return region if isinstance(region, str) and region else None


class DriftService:
    def __init__(self, state: StateService | None = None, discovery: DiscoveryService | None = None) -> None:
        self.state = state or StateService()
        self.discovery = discovery or DiscoveryService()

    def detect(
        self, sources: list[str], options: DetectOptions, progress: ProgressFn | None = None
    ) -> DriftReport:
        started = time.perf_counter()
        rules = Rules(
            DriftIgnore.load(options.driftignore) if options.driftignore else _default_driftignore(),
            Policy.load(options.policy) if options.policy else None,
        )
        flt = ResourceFilter(options.filter) if options.filter else None
        supported = registered_types(options.provider)
        schema = provider_schema(options.provider)

        managed, report_sources = self._read_states(sources, options.provider)
        # The regions the states use, plus the provider's default region (for shadow IT there).
        state_regions = sorted({m.region for m in managed.values() if m.region})
        regions = options.regions or ([*state_regions, "default"] if state_regions else None)
        result = self.discovery.discover(
            options.provider, regions=regions, types=options.types, progress=progress
        )
        failed = {(e.type, e.region) for e in result.errors} | {
            (None, e.region) for e in result.errors if not e.type
        }
        live = {(r.type, r.id): r for r in result.resources}
        checked_regions = set(regions) if regions else {r.region for r in result.resources}

        matcher = _Matcher(managed, live, supported)
        items: list[DriftItem] = []
        for (tf_type, rid), m in sorted(managed.items()):
            inst = m.inst
            rtype = supported.get(tf_type)
            base = DriftItem(
                type=tf_type,
                id=rid,
                provider=options.provider,
                status="in_sync",
                address=inst.address,
                account=None,
                region=m.region,
                source=inst.source,
            )
            if len(m.claimed_by) > 1:
                base.note = f"claimed by {len(m.claimed_by)} states: {', '.join(m.claimed_by)}"
            if options.types and tf_type not in options.types:
                continue  # not selected with --type
            if rtype is None:
                base.status = "unsupported"
                base.note = base.note or f"{options.provider} provider cannot read {tf_type} yet"
                items.append(base)
                continue
            found = matcher.live_for(tf_type, rid)
            if found is None and matcher.present_by_keys(tf_type, inst.attributes):
                items.append(rules.apply(base, _tags(inst.attributes)))  # every part of it is live
                continue
            if found is None:
                region = None if rtype.global_ else m.region
                if (
                    (tf_type, region) in failed
                    or (None, region) in failed
                    or (regions and region and region not in checked_regions)
                ):
                    continue  # not verified: the failure is in the report's errors
                base.status = "missing"
            else:
                base.account = found.account
                base.region = found.region
                ignore = (*rtype.ignore, *matcher.delegated_attrs(tf_type, rid, inst.attributes))
                changes = compare(inst.attributes, found.attributes, schema.type(tf_type), ignore=ignore)
                changes = [c for c in changes if not matcher.set_by_neighbour((tf_type, rid), c)]
                if changes:
                    base.status = "drifted"
                    base.changes = changes
            if flt and not flt.matches(tf_type, rid, found.attributes if found else inst.attributes):
                continue
            items.append(rules.apply(base, _tags(inst.attributes)))

        defaults = 0
        for key, res in live.items():
            verdict = matcher.unmanaged_verdict(key, res)
            if verdict == "managed" or verdict == "claimed":
                continue
            if verdict == "default":
                defaults += 1
                continue
            if flt and not flt.matches(res.type, res.id, res.attributes):
                continue
            item = DriftItem(
                type=res.type,
                id=res.id,
                provider=res.provider,
                status="unmanaged",
                account=res.account,
                region=res.region,
            )
            items.append(rules.apply(item, _tags(res.attributes)))
        return build_report(items, report_sources, result.errors, defaults, time.perf_counter() - started)

    def _read_states(
        self, sources: list[str], provider: str
    ) -> tuple[dict[tuple[str, str], _Managed], list[Source]]:
        managed: dict[tuple[str, str], _Managed] = {}
        report_sources: list[Source] = []
        for src in expand_sources(sources):
            with self.state.open_reader(src) as reader:
                header = reader.header()
                report_sources.append(Source(reader.source, header.serial, header.lineage))
                for inst in reader.iter_instances():
                    if (
                        inst.mode != "managed"
                        or inst.deposed
                        or inst.provider_name != provider
                        or not inst.id
                    ):
                        continue
                    key = (inst.type, inst.id)
                    entry = managed.get(key)
                    if entry is None:
                        managed[key] = _Managed(inst, instance_region(inst), [reader.source])
                    elif reader.source not in entry.claimed_by:
                        entry.claimed_by.append(reader.source)
        return managed, report_sources


class _Matcher:
    """Which live resource a state instance is, and whether an unmatched live resource is unmanaged.

    - Exact (type, id) first; then the type's `match_key` for synthetic ids (attachments); a live
      resource whose alias (another identity of the same object) is managed is claimed.
    - Children (routes, rules) declare a parent: a managed parent that holds them inline claims its
      live children; a parent whose children are managed as separate resources, or whose inline
      attribute is empty in the state, delegates that attribute (it is not compared on the parent);
      children of an unmanaged parent are part of it, of a default parent are defaults.
    - A value a managed neighbour set on a resource it references (the network interface of a NAT
      gateway on its elastic IP) is not a change of that resource (`set_by_neighbour`).
    """

    def __init__(
        self,
        managed: dict[tuple[str, str], _Managed],
        live: dict[tuple[str, str], Resource],
        supported: dict[str, ResourceType],
    ) -> None:
        self.managed = managed
        self.live = live
        self.by_match: dict[tuple[str, tuple[Any, ...]], Resource] = {}
        self.parent_attrs: dict[str, set[str]] = {}
        self.delegated: dict[tuple[str, str], set[str]] = {}
        for rtype in supported.values():
            if rtype.parent_link:
                ptype, _, pattr = rtype.parent_link
                if not pattr.startswith("{"):
                    self.parent_attrs.setdefault(ptype, set()).add(pattr)
        for (t, _i), m in managed.items():
            child = supported.get(t)
            if child and child.parent_link:
                ptype, id_attr, pattr = child.parent_link
                if pattr.startswith("{"):
                    pattr = str(m.inst.attributes.get(pattr[1:-1]) or "")
                pid = m.inst.attributes.get(id_attr)
                if pid:
                    self.delegated.setdefault((ptype, str(pid)), set()).add(pattr)
        self.state_by_match: dict[tuple[str, tuple[Any, ...]], tuple[str, str]] = {}
        for key, m in managed.items():
            stype = supported.get(key[0])
            if stype and stype.match_key:
                mk = stype.match_key(m.inst.attributes)
                if mk is not None:
                    self.state_by_match[(key[0], mk)] = key
        # Object keys: managed if a state instance of any spelling holds the object.
        self.supported = supported
        self.managed_keys: set[str] = set()
        for key, m in managed.items():
            ktype = supported.get(key[0])
            if ktype and ktype.object_keys:
                self.managed_keys.update(ktype.object_keys(m.inst.attributes))
        keyed = [
            (res, set(kt.object_keys(res.attributes)))
            for res in live.values()
            if (kt := supported.get(res.type)) is not None and kt.object_keys
        ]
        for _ in range(2):  # spread to every spelling of a managed object
            for _res, keys in keyed:
                if keys & self.managed_keys:
                    self.managed_keys |= keys
        self.live_keys: set[str] = set().union(*(keys for _r, keys in keyed)) if keyed else set()
        self._values: dict[str, set[tuple[str, str]]] | None = None  # built on first use
        self.matched_live: set[tuple[str, str]] = set()
        for lkey, res in live.items():
            ltype = supported.get(res.type)
            if lkey in managed:
                self.matched_live.add(lkey)
            elif ltype and ltype.match_key:
                mk = ltype.match_key(res.attributes)
                skey = self.state_by_match.get((res.type, mk)) if mk is not None else None
                if skey is not None:
                    self.by_match[(res.type, (skey[1],))] = res
                    self.matched_live.add(lkey)

    def set_by_neighbour(self, key: tuple[str, str], change: Change) -> bool:
        """A top-level attribute empty in the state and set live to a value that another managed
        resource holds while referencing this one was set by that resource, not out of band: the
        network interface a managed NAT gateway gave the elastic IP it was allocated
        (`aws_eip.network_interface` = the gateway's `network_interface_id`)."""
        value = change.actual
        if type(value) is not str or not value or change.expected not in (None, ""):
            return False
        if "." in change.path or "[" in change.path:
            return False
        if self._values is None:
            self._values = {}
            for mkey, m in self.managed.items():
                for v in m.inst.attributes.values():
                    if type(v) is str and v:
                        self._values.setdefault(v, set()).add(mkey)
        holders = self._values.get(value)
        return bool(holders and (holders & self._values.get(key[1], set())) - {key})

    def live_for(self, tf_type: str, rid: str) -> Resource | None:
        return self.live.get((tf_type, rid)) or self.by_match.get((tf_type, (rid,)))

    def present_by_keys(self, tf_type: str, attrs: dict[str, Any]) -> bool | None:
        """For a state instance not found by id: are all its object keys live? None if keyless."""
        ktype = self.supported.get(tf_type)
        if ktype is None or ktype.object_keys is None:
            return None
        keys = set(ktype.object_keys(attrs))
        return bool(keys) and keys <= self.live_keys

    def delegated_attrs(self, tf_type: str, rid: str, attrs: dict[str, Any]) -> list[str]:
        out = []
        for pattr in self.parent_attrs.get(tf_type, ()):
            if pattr in self.delegated.get((tf_type, rid), ()) or not attrs.get(pattr):
                out.append(pattr)
        return out

    def unmanaged_verdict(self, key: tuple[str, str], res: Resource) -> str:
        if key in self.matched_live or any(a in self.managed for a in res.aliases):
            return "managed"
        ktype = self.supported.get(res.type)
        if (
            ktype is not None
            and ktype.object_keys
            and set(ktype.object_keys(res.attributes)) & self.managed_keys
        ):
            return "managed"
        if res.default:
            return "default"
        if ktype is not None and not ktype.report_unmanaged:
            return "claimed"  # another spelling of the same object reports it
        if res.parent is not None and res.parent_attr:
            parent = self.managed.get(res.parent)
            if parent is not None:
                inline = parent.inst.attributes.get(res.parent_attr)
                if inline and res.parent_attr not in self.delegated.get(res.parent, ()):
                    return "claimed"  # held inline by a managed parent: compared there
                return "unmanaged"
            live_parent = self.live.get(res.parent)
            if live_parent is not None and live_parent.default:
                return "default"
            return "claimed"  # part of an unmanaged (or vanished) parent, reported once as the parent
        return "unmanaged"


def _tags(attrs: dict[str, Any]) -> dict[str, Any]:
    t = attrs.get("tags")
    return t if isinstance(t, dict) else {}


def _default_driftignore() -> DriftIgnore | None:
    p = Path(".driftignore")
    return DriftIgnore.load(str(p)) if p.is_file() else None
