"""Shared checks for AWS resource-type tests: real Terraform state vs DriftMgr discovery."""

from __future__ import annotations

from typing import Any

from driftmgr.models import Resource
from driftmgr.providers.base import DiscoveryResult
from tests.fixtures.terraform import state_instances


def by_key(result: DiscoveryResult) -> dict[tuple[str, str], Resource]:
    return {(r.type, r.id): r for r in result.resources}


def assert_discovered_matches_state(
    result: DiscoveryResult, state: dict[str, Any], tf_type: str
) -> list[Resource]:
    """Every managed instance of `tf_type` is discovered under its state id, not as a default, and
    every attribute discovery reports equals the state's value (plain equality: the provider must
    produce Terraform's shapes). Returns the discovered resources of that type."""
    assert not result.errors, result.errors
    found = by_key(result)
    instances = state_instances(state, tf_type)
    assert instances, f"the configuration created no {tf_type}"
    matched = []
    for inst in instances:
        attrs = inst["attributes"]
        res = found.get((tf_type, attrs["id"]))
        assert res is not None, f"{tf_type} {attrs['id']} from the state was not discovered"
        assert not res.default, (
            f"{tf_type} {attrs['id']} is managed but flagged default ({res.default_reason})"
        )
        diffs = {k: (attrs.get(k), v) for k, v in res.attributes.items() if k in attrs and attrs.get(k) != v}
        assert not diffs, f"{tf_type} {attrs['id']}: discovered != state for {diffs}"
        unknown = sorted(k for k in res.attributes if k not in attrs)
        assert not unknown, f"{tf_type}: discovery reports attributes the schema/state lacks: {unknown}"
        matched.append(res)
    return matched
