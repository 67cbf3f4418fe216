"""Security group rules have three Terraform spellings; each live rule is judged once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.cli.app import main

CONFIG = """
resource "aws_vpc" "v" {
  cidr_block = "10.60.0.0/16"
}
resource "aws_security_group" "inline" {
  name   = "inline"
  vpc_id = aws_vpc.v.id
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8", "192.168.0.0/16"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "separate" {
  name   = "separate"
  vpc_id = aws_vpc.v.id
}
resource "aws_security_group_rule" "two_sources" {
  type              = "ingress"
  security_group_id = aws_security_group.separate.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["10.1.0.0/16", "10.2.0.0/16"]
}
resource "aws_vpc_security_group_ingress_rule" "modern" {
  security_group_id = aws_security_group.separate.id
  from_port         = 80
  to_port           = 80
  ip_protocol       = "tcp"
  cidr_ipv4         = "10.3.0.0/16"
}
"""

SG_TYPES = [
    "--type", "aws_security_group", "--type", "aws_security_group_rule",
    "--type", "aws_vpc_security_group_ingress_rule", "--type", "aws_vpc_security_group_egress_rule",
]  # fmt: skip


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["drift", "detect", "--state", str(path), "-f", "json", *SG_TYPES])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out)


def test_each_rule_is_judged_once_whatever_its_spelling(terraform, aws_env, tmp_path, capsys) -> None:
    state = terraform.apply(tmp_path / "tf", CONFIG, aws_env.endpoint)
    path = tmp_path / "tf" / "terraform.tfstate"
    ids = {(r["type"], r["name"]): r["instances"][0]["attributes"]["id"] for r in state["resources"]}

    code, report = run(path, capsys)
    not_in_sync = [
        (r["status"], r["type"], r["id"], r["changes"])
        for r in report["resources"]
        if r["status"] != "in_sync"
    ]
    assert not_in_sync == [] and code == 0
    assert report["summary"]["in_sync"] == 4  # two groups, the two-source rule, the modern rule

    ec2 = boto3.client("ec2")
    for group in ("inline", "separate"):
        ec2.authorize_security_group_ingress(
            GroupId=ids[("aws_security_group", group)],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "IpRanges": [{"CidrIp": "10.9.0.0/16"}],
                }
            ],
        )
    code, report = run(path, capsys)
    assert code == 2
    changed = {(r["status"], r["type"], r["id"]) for r in report["resources"] if r["status"] != "in_sync"}
    statuses = sorted(s for s, _t, _i in changed)
    # The group with inline rules owns the new rule: its `ingress` drifted.
    assert ("drifted", "aws_security_group", ids[("aws_security_group", "inline")]) in changed
    # The group whose rules are separate resources: the new rule is ONE unmanaged modern rule.
    unmanaged = [(t, i) for s, t, i in changed if s == "unmanaged"]
    assert len(unmanaged) == 1 and unmanaged[0][0] == "aws_vpc_security_group_ingress_rule"
    assert statuses == ["drifted", "unmanaged"]
