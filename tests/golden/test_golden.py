"""Golden acceptance tests (issue 3): real Terraform + hashicorp/aws against moto, every supported type.

tests/golden/main.tf is applied once per session (conftest.py). On that one environment, in order:
1. untouched: `driftmgr drift detect` reports every state instance in_sync and nothing drifted,
   missing or unmanaged (cloud defaults and implicit children counted apart) — while Terraform's own
   `plan -refresh-only` on the same state reports many resources as changed (its noise);
2. semantic no-ops (policies re-ordered and re-indented, rules re-created in another order): no drift;
3. real out-of-band changes: exactly the expected drifted paths, missing and unmanaged resources.
Each phase is a cached step of `Phases`, so any test run alone runs the phases before it first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftmgr.cli.app import main
from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.base import registered_types
from tests.golden.conftest import Golden
from tests.golden.out_of_band import ANY, Expected, real_changes, semantic_noops

Report = dict[str, Any]
SCHEMA = Path(__file__).resolve().parents[2] / "src" / "driftmgr" / "providers" / "aws" / "schema.json"


class Phases:
    def __init__(self, golden: Golden, tmp: Path) -> None:
        self.g = golden
        self.tmp = tmp
        self._untouched: Report | None = None
        self._noops: Report | None = None
        self._changed: tuple[Report, Expected] | None = None
        self.terraform_noise: list[dict[str, Any]] = []
        self.defaults: dict[tuple[str, str], str] = {}
        self.live: list[Resource] = []

    def detect(self, name: str) -> Report:
        out = self.tmp / f"{name}.json"
        code = main(
            ["drift", "detect", "--state", str(self.g.state_path), "--format", "json", "--output", str(out)]
        )
        report: Report = json.loads(out.read_text())
        assert code == (2 if report["summary"]["drifted"] + report["summary"]["missing"]
                        + report["summary"]["unmanaged"] else 0), report["summary"]  # fmt: skip
        assert not report.get("errors"), report.get("errors")
        return report

    def untouched(self) -> Report:
        if self._untouched is None:
            self._untouched = self.detect("untouched")
            self.terraform_noise = self.g.terraform.refresh_only_changes(self.g.workdir)
            # Live resources discovery flags as defaults, minus the managed ones (an explicit AES256
            # encryption configuration equals S3's default but is in the state: managed wins).
            managed = {(i["type"], i["attributes"]["id"]) for i in self.g.instances().values()}
            found = AwsProvider().discover(regions=["us-east-1"])
            assert not found.errors, found.errors
            self.live = found.resources
            self.defaults = {
                r.key: r.default_reason or "" for r in found.resources if r.default and r.key not in managed
            }
        return self._untouched

    def noops(self) -> Report:
        if self._noops is None:
            self.untouched()
            semantic_noops(self.g)
            self._noops = self.detect("noops")
        return self._noops

    def changed(self) -> tuple[Report, Expected]:
        if self._changed is None:
            self.noops()
            expected = real_changes(self.g)
            self._changed = (self.detect("changed"), expected)
        return self._changed


@pytest.fixture(scope="module")
def phases(golden: Golden, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phases]:
    tmp = tmp_path_factory.mktemp("golden-reports")
    with pytest.MonkeyPatch.context() as mp:
        golden.aws_env(mp, tmp)
        yield Phases(golden, tmp)


def statuses(report: Report, status: str) -> set[str]:
    return {r["address"] or f"{r['type']}:{r['id']}" for r in report["resources"] if r["status"] == status}


def not_in_sync(report: Report) -> list[str]:
    return [
        f"{r['status']} {r['address'] or r['type'] + ':' + r['id']} {r.get('changes') or ''}"
        for r in report["resources"]
        if r["status"] != "in_sync"
    ]


def test_config_uses_every_supported_type_several_times(golden: Golden) -> None:
    counts: dict[str, int] = {}
    for inst in golden.instances().values():
        counts[inst["type"]] = counts.get(inst["type"], 0) + 1
    assert set(counts) == set(registered_types("aws"))
    assert sum(counts.values()) >= 120
    assert sum(1 for n in counts.values() if n >= 2) >= 45, counts
    assert any(a.startswith("module.net.") for a in golden.instances())


def test_untouched_has_no_drift_while_terraform_refresh_only_shows_noise(
    phases: Phases, golden: Golden
) -> None:
    report = phases.untouched()
    s = report["summary"]
    noisy = sorted(c["resource"]["addr"] for c in phases.terraform_noise)
    print(f"\ngolden untouched: {len(golden.instances())} state resources; driftmgr drifted={s['drifted']} "
          f"missing={s['missing']} unmanaged={s['unmanaged']} defaults={s['defaults']}; "
          f"terraform plan -refresh-only drifted={len(noisy)}")  # fmt: skip
    assert not_in_sync(report) == []
    assert (s["drifted"], s["missing"], s["unmanaged"], s["unsupported"], s["ignored"]) == (0, 0, 0, 0, 0)
    # every state instance is covered, as in_sync, under its own address
    assert statuses(report, "in_sync") == set(golden.instances())
    assert s["in_sync"] == s["total"] == len(golden.instances())
    # Terraform itself reports noise on the same untouched resources
    assert len(noisy) >= 20, noisy
    assert set(noisy) <= set(golden.instances())


def test_cloud_defaults_and_implicit_children_are_counted_apart(phases: Phases, golden: Golden) -> None:
    report = phases.untouched()
    assert report["summary"]["defaults"] == len(phases.defaults)
    reasons = set(phases.defaults.values())
    vpcs = [golden.id("module.net.aws_vpc.this"), golden.id("aws_vpc.apps")]
    for vpc in vpcs:
        assert f"main route table of {vpc}" in reasons
        assert f"default network ACL of {vpc}" in reasons
    kinds = {t for t, _ in phases.defaults}
    # the default VPC and its children, managed VPCs' defaults, ASG instances, root volumes, NS/SOA
    assert {"aws_vpc", "aws_subnet", "aws_security_group", "aws_route_table", "aws_network_acl",
            "aws_instance", "aws_ebs_volume", "aws_route53_record"} <= kinds, kinds  # fmt: skip


def test_discovered_attributes_are_attributes_of_the_terraform_type(phases: Phases) -> None:
    """Every attribute discovery reports, for every live resource of every type, is in the schema."""
    phases.untouched()
    schema = json.loads(SCHEMA.read_text())["resource_schemas"]
    unknown: dict[str, set[str]] = {}
    for res in phases.live:
        block = schema[res.type]["block"]
        extra = set(res.attributes) - set(block.get("attributes") or {}) - set(block.get("block_types") or {})
        if extra:
            unknown.setdefault(res.type, set()).update(extra)
    assert unknown == {}
    assert {r.type for r in phases.live} == set(registered_types("aws"))


def test_semantic_noops_are_not_drift(phases: Phases, golden: Golden) -> None:
    report = phases.noops()
    assert not_in_sync(report) == []
    assert statuses(report, "in_sync") == set(golden.instances())
    assert report["summary"]["defaults"] == phases.untouched()["summary"]["defaults"]


def test_out_of_band_changes_are_found_exactly(phases: Phases, golden: Golden) -> None:
    report, exp = phases.changed()
    s = report["summary"]
    print(f"\ngolden out-of-band: expected drifted={len(exp.drifted)} missing={len(exp.missing)} "
          f"unmanaged={len(exp.unmanaged)}; driftmgr drifted={s['drifted']} missing={s['missing']} "
          f"unmanaged={s['unmanaged']}")  # fmt: skip
    drifted = {r["address"]: r["changes"] for r in report["resources"] if r["status"] == "drifted"}
    assert {a: sorted(c["path"] for c in ch) for a, ch in drifted.items()} == {
        a: sorted(paths) for a, paths in exp.drifted.items()
    }
    for address, paths in exp.drifted.items():
        found = {c["path"]: (c["expected"], c["actual"]) for c in drifted[address]}
        for path, values in paths.items():
            if values is not ANY:
                assert found[path] == values, (address, path)
    assert statuses(report, "missing") == exp.missing
    unmanaged = {(r["type"], r["id"]) for r in report["resources"] if r["status"] == "unmanaged"}
    assert unmanaged == exp.unmanaged
    untouched = set(golden.instances()) - set(exp.drifted) - exp.missing
    assert statuses(report, "in_sync") == untouched
    assert (s["drifted"], s["missing"], s["unmanaged"]) == (
        len(exp.drifted),
        len(exp.missing),
        len(exp.unmanaged),
    )


def test_changed_resources_carry_expected_and_actual_of_sets(phases: Phases, golden: Golden) -> None:
    report, _ = phases.changed()
    by_addr = {r["address"]: r for r in report["resources"] if r["address"]}
    (ingress,) = by_addr["aws_security_group.web"]["changes"]
    assert ingress["expected"] == []
    assert [(r["from_port"], r["cidr_blocks"]) for r in ingress["actual"]] == [(8443, ["10.9.0.0/16"])]
    (route,) = by_addr["module.net.aws_route_table.public"]["changes"]
    assert route["expected"] == []
    assert [r["cidr_block"] for r in route["actual"]] == ["10.98.0.0/16"]
    (policy,) = by_addr["aws_iam_policy.read[1]"]["changes"]
    assert "s3:PutObject" in policy["actual"] and "s3:PutObject" not in policy["expected"]
