"""Parents and children: inline routes belong to their table, separate routes stand alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.cli.app import main

CONFIG = """
resource "aws_vpc" "v" {
  cidr_block = "10.50.0.0/16"
}
resource "aws_internet_gateway" "gw" {
  vpc_id = aws_vpc.v.id
}
resource "aws_route_table" "inline" {
  vpc_id = aws_vpc.v.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.gw.id
  }
}
resource "aws_route_table" "separate" {
  vpc_id = aws_vpc.v.id
}
resource "aws_route" "r" {
  route_table_id         = aws_route_table.separate.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.gw.id
}
"""

TYPES = "contains(['aws_route_table', 'aws_route'], type)"


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["drift", "detect", "--state", str(path), "-f", "json", "--filter", TYPES])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out)


def test_inline_routes_are_claimed_and_hand_made_routes_land_where_they_belong(
    terraform, aws_env, tmp_path, capsys
):
    state = terraform.apply(tmp_path / "tf", CONFIG, aws_env.endpoint)
    # Refresh once so the separate table's state holds the aws_route added after it (as any later plan does).
    terraform.run(tmp_path / "tf", "apply", "-refresh-only", "-auto-approve", "-no-color")
    path = tmp_path / "tf" / "terraform.tfstate"
    ids = {(r["type"], r["name"]): r["instances"][0]["attributes"]["id"] for r in state["resources"]}

    code, report = run(path, capsys)
    bad = [(r["status"], r["type"], r["id"]) for r in report["resources"] if r["status"] != "in_sync"]
    assert code == 0 and bad == []
    statuses = {(r["type"], r["id"]): r["status"] for r in report["resources"]}
    assert statuses[("aws_route", ids[("aws_route", "r")])] == "in_sync"
    assert statuses[("aws_route_table", ids[("aws_route_table", "inline")])] == "in_sync"

    ec2 = boto3.client("ec2")
    gw = ids[("aws_internet_gateway", "gw")]
    ec2.create_route(
        RouteTableId=ids[("aws_route_table", "inline")], DestinationCidrBlock="10.9.0.0/16", GatewayId=gw
    )
    ec2.create_route(
        RouteTableId=ids[("aws_route_table", "separate")], DestinationCidrBlock="10.8.0.0/16", GatewayId=gw
    )
    code, report = run(path, capsys)
    assert code == 2
    by_status: dict[str, list[dict[str, Any]]] = {}
    for r in report["resources"]:
        by_status.setdefault(r["status"], []).append(r)
    # The table with inline routes owns the new route: its `route` drifted, no unmanaged route.
    drifted = by_status["drifted"]
    assert [(r["type"], r["id"]) for r in drifted] == [
        ("aws_route_table", ids[("aws_route_table", "inline")])
    ]
    assert [c["path"] for c in drifted[0]["changes"]] == ["route"]
    # The table whose routes are separate resources: the new route is an unmanaged aws_route.
    unmanaged = by_status["unmanaged"]
    assert [(r["type"], r["id"]) for r in unmanaged] == [
        (
            "aws_route",
            f"r-{ids[('aws_route_table', 'separate')]}" + str(__import__("zlib").crc32(b"10.8.0.0/16")),
        )
    ]
