"""`driftmgr drift detect` end to end: real Terraform state, moto, out-of-band boto3 changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.cli.app import main
from driftmgr.models import DiscoveryError, Resource
from driftmgr.providers.base import DiscoveryResult, register_provider

CONFIG = """
resource "aws_vpc" "main" {
  cidr_block = "10.40.0.0/16"
  tags       = { Name = "main", env = "prod" }
}
resource "aws_subnet" "s" {
  count      = 2
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.40.${count.index}.0/24"
  tags       = { Name = "s${count.index}" }
}
"""

TYPES = ["aws_vpc", "aws_subnet"]


def detect(state: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any], str]:
    code = main(["drift", "detect", "--state", str(state), "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def only(report: dict[str, Any], *statuses: str) -> set[tuple[str, str, str]]:
    return {(r["status"], r["type"], r["id"]) for r in report["resources"] if r["status"] in statuses}


@pytest.fixture
def applied(terraform, aws_env, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    state = terraform.apply(tmp_path / "tf", CONFIG, aws_env.endpoint)
    return tmp_path / "tf" / "terraform.tfstate", state


def _filter_types() -> list[str]:
    return ["--type", "aws_vpc", "--type", "aws_subnet"]


def test_untouched_infrastructure_reports_no_drift(applied, capsys) -> None:
    path, state = applied
    code, report, err = detect(path, capsys, *_filter_types())
    assert code == 0, err
    s = report["summary"]
    assert (s["drifted"], s["missing"], s["unmanaged"]) == (0, 0, 0)
    assert only(report, "in_sync") == {
        ("in_sync", r["type"], i["attributes"]["id"]) for r in state["resources"] for i in r["instances"]
    }
    assert s["defaults"] >= 1  # moto's default VPC and subnets are counted apart, never unmanaged
    assert report["sources"][0]["lineage"] == state["lineage"]


def test_out_of_band_changes_are_found_with_their_paths(applied, capsys) -> None:
    path, state = applied
    by_name = {(r["type"], r["name"]): r["instances"] for r in state["resources"]}
    vpc = by_name[("aws_vpc", "main")][0]["attributes"]["id"]
    s0, s1 = (i["attributes"]["id"] for i in by_name[("aws_subnet", "s")])
    ec2 = boto3.client("ec2")
    ec2.create_tags(
        Resources=[vpc], Tags=[{"Key": "env", "Value": "staging"}, {"Key": "owner", "Value": "bob"}]
    )
    ec2.delete_subnet(SubnetId=s1)
    hand = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_subnet_attribute(SubnetId=s0, MapPublicIpOnLaunch={"Value": True})

    code, report, err = detect(path, capsys, *_filter_types())
    assert code == 2, err
    assert only(report, "drifted", "missing", "unmanaged") == {
        ("drifted", "aws_vpc", vpc),
        ("drifted", "aws_subnet", s0),
        ("missing", "aws_subnet", s1),
        ("unmanaged", "aws_vpc", hand),
    }
    changes = {
        r["id"]: {c["path"]: (c["expected"], c["actual"]) for c in r["changes"]} for r in report["resources"]
    }
    assert changes[vpc] == {"tags.env": ("prod", "staging"), "tags.owner": (None, "bob")}
    assert changes[s0] == {"map_public_ip_on_launch": (False, True)}


def test_driftignore_and_policy_shape_the_report(applied, capsys, tmp_path: Path) -> None:
    path, state = applied
    vpc = next(r for r in state["resources"] if r["type"] == "aws_vpc")["instances"][0]["attributes"]["id"]
    boto3.client("ec2").create_tags(Resources=[vpc], Tags=[{"Key": "env", "Value": "x"}])
    hand = boto3.client("ec2").create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ignore = tmp_path / ".driftignore"
    ignore.write_text(f"aws_vpc.{hand}\naws_vpc.*.tags.env\n")
    code, report, err = detect(path, capsys, "--driftignore", str(ignore), *_filter_types())
    assert code == 0, err
    assert only(report, "ignored") == {("ignored", "aws_vpc", hand)}
    assert report["summary"]["drifted"] == 0


def test_table_output_and_usage_errors(applied, capsys) -> None:
    path, _ = applied
    assert main(["drift", "detect", "--state", str(path), "--filter", "type == 'aws_vpc'"]) == 0
    out, _ = capsys.readouterr()
    assert "No drift" in out
    assert main(["drift", "detect", "--state", str(path), "--filter", "type =="]) == 1
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("error: ") and "type ==" in err


class _PartialProvider:
    name = "partialtest"

    def __init__(self, **_: Any) -> None:
        pass

    def resource_types(self) -> list[Any]:
        return []

    def regions(self) -> list[str]:
        return ["r1"]

    def health(self) -> dict[str, Any]:
        return {"status": "ok"}

    def discover(self, **_: Any) -> DiscoveryResult:
        return DiscoveryResult(
            resources=[Resource("partialtest", "pt_thing", "t-1", region="r1")],
            errors=[
                DiscoveryError(
                    "partialtest", "svc", "r2", "denied", "access denied (AccessDenied)", "pt_thing"
                )
            ],
        )


def test_a_failed_region_makes_the_run_partial_and_exit_1(tmp_path: Path, capsys) -> None:
    register_provider("partialtest")(_PartialProvider)
    state = tmp_path / "s.tfstate"
    state.write_text(json.dumps({"version": 4, "serial": 1, "lineage": "l", "resources": []}))
    code = main(["drift", "detect", "--state", str(state), "--provider", "partialtest", "--format", "json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 1
    assert report["partial"] is True and report["errors"][0]["region"] == "r2"
    assert "partial" in err and "AccessDenied" in err
    code = main(
        [
            "drift",
            "detect",
            "--state",
            str(state),
            "--provider",
            "partialtest",
            "-f",
            "json",
            "--allow-partial",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 2 and json.loads(out)["summary"]["unmanaged"] == 1
