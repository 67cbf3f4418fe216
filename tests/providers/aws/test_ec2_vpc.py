"""aws_vpc and aws_subnet: discovery reproduces what Terraform stored, defaults flagged."""

from __future__ import annotations

from pathlib import Path

import boto3

from driftmgr.providers.aws.provider import AwsProvider
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

CONFIG = """
resource "aws_vpc" "main" {
  cidr_block           = "10.30.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "main", env = "test" }
}
resource "aws_subnet" "private" {
  for_each          = { a = "10.30.1.0/24", b = "10.30.2.0/24" }
  vpc_id            = aws_vpc.main.id
  cidr_block        = each.value
  availability_zone = "us-east-1a"
  tags              = { Name = "private-${each.key}" }
}
"""


def test_vpc_and_subnets_match_terraform_state(terraform, aws_env, tmp_path: Path) -> None:
    state = terraform.apply(tmp_path / "tf", CONFIG, aws_env.endpoint)
    # One hand-made VPC: unmanaged, with the id Terraform would import it by.
    hand = boto3.client("ec2").create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    result = AwsProvider().discover(types=["aws_vpc", "aws_subnet"])
    vpcs = assert_discovered_matches_state(result, state, "aws_vpc")
    assert vpcs[0].attributes["enable_dns_hostnames"] is True
    assert vpcs[0].attributes["tags"] == {"Name": "main", "env": "test"}
    assert_discovered_matches_state(result, state, "aws_subnet")
    found = by_key(result)
    assert ("aws_vpc", hand) in found and not found[("aws_vpc", hand)].default
    defaults = {r.id for r in result.resources if r.default}
    default_vpcs = [r for r in result.resources if r.type == "aws_vpc" and r.default]
    assert len(default_vpcs) == 1 and default_vpcs[0].default_reason == "default VPC"
    assert all(
        r.default_reason == "default subnet"
        for r in result.resources
        if r.type == "aws_subnet" and r.id in defaults
    )
