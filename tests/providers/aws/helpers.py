"""Shared checks for AWS resource-type tests: real Terraform state vs DriftMgr discovery."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftmgr.cli.app import main
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


@dataclass
class Scenario:
    """One module's applied environment: the (refreshed) state, discovery before and after the
    out-of-band changes, the hand-made ids, and `drift detect` results."""

    state: dict[str, Any]
    before: DiscoveryResult
    after: DiscoveryResult = field(default_factory=DiscoveryResult)
    hand: dict[str, str] = field(default_factory=dict)
    detect_fresh: tuple[int, dict[str, Any]] = (0, {})
    detect_before: tuple[int, dict[str, Any]] = (0, {})
    detect_after: tuple[int, dict[str, Any]] = (0, {})

    def attrs(self, tf_type: str, name: str, key: Any = None) -> dict[str, Any]:
        for inst in state_instances(self.state, tf_type):
            if inst["name"] == name and inst["index_key"] == key:
                return dict(inst["attributes"])
        raise KeyError((tf_type, name, key))

    def sid(self, tf_type: str, name: str, key: Any = None) -> str:
        return str(self.attrs(tf_type, name, key)["id"])

    def after_attrs(self, tf_type: str, rid: str) -> dict[str, Any]:
        res = by_key(self.after).get((tf_type, rid))
        assert res is not None, f"{tf_type} {rid} not discovered after the changes"
        return res.attributes


def detect(state: Path, out: Path, filter_expr: str) -> tuple[int, dict[str, Any]]:
    """`driftmgr drift detect` in-process on one state, JSON report read back."""
    code = main(["drift", "detect", "--state", str(state), "--format", "json", "--output", str(out),
                 "--filter", filter_expr])  # fmt: skip
    return code, json.loads(out.read_text())
