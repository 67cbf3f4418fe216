"""Security groups and rules against real Terraform state.

One `terraform apply` per module, then `terraform apply -refresh-only`. aws_security_group is checked
against the refreshed state: only a refresh puts the rules of separate rule resources into the
group's `ingress`/`egress` and turns `tags = null` into `{}`. The rule types are checked against the
state of the apply itself: on refresh the provider (configured with `skip_requesting_account_id`, so
it knows no account) rewrites `referenced_security_group_id` as `<owner>/<sg>`, an artefact of the
test setup.

All live calls run in the module fixture; the tests only assert on what it recorded, so the per-test
moto reset of other modules cannot interfere.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.aws.resources.ec2_security import (
    cty_set_order,
    flatten_permissions,
    name_prefix_from_name,
    protocol_for_value,
    security_group_rule_id,
    state_rule_ids,
)
from driftmgr.providers.base import DiscoveryResult, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

TYPES = [
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
]

CONFIG = """
resource "aws_vpc" "main" {
  cidr_block = "10.40.0.0/16"
  tags       = { Name = "sec" }
}
resource "aws_security_group" "web" {
  name        = "web"
  description = "web tier"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "web", tier = "frontend" }
  ingress {
    description      = "https"
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["10.0.0.0/8", "192.168.0.0/16"]
    ipv6_cidr_blocks = ["2001:db8::/32"]
  }
  ingress {
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
  ingress {
    from_port = 0
    to_port   = 0
    protocol  = "-1"
    self      = true
  }
  ingress {
    description = "ping"
    from_port   = 8
    to_port     = 0
    protocol    = "icmp"
    cidr_blocks = ["10.1.0.0/16"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "app" {
  name_prefix = "app-"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "app" }
}
resource "aws_security_group_rule" "app_in" {
  for_each          = { http = 80, alt = 8080 }
  type              = "ingress"
  from_port         = each.value
  to_port           = each.value
  protocol          = "tcp"
  cidr_blocks       = ["10.2.0.0/16"]
  security_group_id = aws_security_group.app.id
  description       = "from ${each.key}"
}
resource "aws_security_group_rule" "app_from_db" {
  type                     = "ingress"
  from_port                = 5432
  to_port                  = 5432
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.db.id
  security_group_id        = aws_security_group.app.id
}
resource "aws_security_group_rule" "app_self" {
  type              = "ingress"
  from_port         = 0
  to_port           = 65535
  protocol          = "tcp"
  self              = true
  security_group_id = aws_security_group.app.id
}
resource "aws_security_group_rule" "app_out" {
  type              = "egress"
  from_port         = 0
  to_port           = 0
  protocol          = "-1"
  cidr_blocks       = ["0.0.0.0/0"]
  ipv6_cidr_blocks  = ["::/0"]
  security_group_id = aws_security_group.app.id
}
resource "aws_security_group" "db" {
  name   = "db"
  vpc_id = aws_vpc.main.id
}
resource "aws_vpc_security_group_ingress_rule" "db_in" {
  count             = 2
  security_group_id = aws_security_group.db.id
  cidr_ipv4         = "10.${count.index + 3}.0.0/16"
  from_port         = 5432
  ip_protocol       = "tcp"
  to_port           = 5432
  description       = "pg ${count.index}"
  tags              = { Name = "db-in-${count.index}" }
}
resource "aws_vpc_security_group_ingress_rule" "db_from_app" {
  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}
resource "aws_vpc_security_group_egress_rule" "db_out" {
  security_group_id = aws_security_group.db.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}
resource "aws_vpc_security_group_egress_rule" "db_out6" {
  security_group_id = aws_security_group.db.id
  cidr_ipv6         = "::/0"
  ip_protocol       = "-1"
  tags              = { k = "v" }
}
"""


@dataclass
class Scenario:
    state: dict[str, Any]  # after `terraform apply`
    refreshed: dict[str, Any]  # after `terraform apply -refresh-only`
    before: DiscoveryResult  # untouched (plus the hand-made group)
    after: DiscoveryResult  # after the out-of-band changes
    hand: dict[str, str] = field(default_factory=dict)

    def attrs(self, tf_type: str, name: str, index: Any = None) -> dict[str, Any]:
        for inst in state_instances(self.state, tf_type):
            if inst["name"] == name and inst["index_key"] == index:
                return dict(inst["attributes"])
        raise KeyError(f"{tf_type}.{name}[{index}]")

    def found(self, result: DiscoveryResult, tf_type: str, rid: str) -> Resource | None:
        return by_key(result).get((tf_type, rid))


def _without(state: dict[str, Any], tf_type: str, name: str) -> dict[str, Any]:
    out = copy.deepcopy(state)
    out["resources"] = [r for r in out["resources"] if not (r["type"] == tf_type and r["name"] == name)]
    return out


@pytest.fixture(scope="module")
def scenario(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("ec2_security")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        workdir = tmp / "tf"
        state = terraform.apply(workdir, CONFIG, moto_server.endpoint)
        terraform.run(workdir, "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
        refreshed = json.loads((workdir / "terraform.tfstate").read_text())
        ec2 = boto3.client("ec2")
        groups = {g["name"]: g["attributes"] for g in state_instances(state, "aws_security_group")}
        vpc_id = groups["web"]["vpc_id"]

        # Made by hand: a group and one rule in it.
        hand_sg = ec2.create_security_group(GroupName="hand", Description="by hand", VpcId=vpc_id)["GroupId"]
        hand_rule = ec2.authorize_security_group_ingress(
            GroupId=hand_sg,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.8.0.0/16"}]}
            ],
        )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        before = AwsProvider().discover(types=TYPES)

        # Out of band: a tag and a rule on an inline-managed group, a rule description, a rule's
        # ports, one rule revoked.
        web, app, db = groups["web"]["id"], groups["app"]["id"], groups["db"]["id"]
        ec2.create_tags(Resources=[web], Tags=[{"Key": "tier", "Value": "changed"}])
        ec2.authorize_security_group_ingress(
            GroupId=web,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 8443,
                    "ToPort": 8443,
                    "IpRanges": [{"CidrIp": "10.9.0.0/16"}],
                }
            ],
        )
        ec2.update_security_group_rule_descriptions_ingress(
            GroupId=app,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 80,
                    "ToPort": 80,
                    "IpRanges": [{"CidrIp": "10.2.0.0/16", "Description": "edited"}],
                }
            ],
        )
        db_in0 = next(
            i["attributes"]
            for i in state_instances(state, "aws_vpc_security_group_ingress_rule")
            if i["name"] == "db_in" and i["index_key"] == 0
        )
        ec2.modify_security_group_rules(
            GroupId=db,
            SecurityGroupRules=[
                {
                    "SecurityGroupRuleId": db_in0["id"],
                    "SecurityGroupRule": {
                        "IpProtocol": "tcp",
                        "FromPort": 6432,
                        "ToPort": 6432,
                        "CidrIpv4": "10.3.0.0/16",
                        "Description": "pg 0",
                    },
                }
            ],
        )
        db_out6 = next(
            i["attributes"]["id"]
            for i in state_instances(state, "aws_vpc_security_group_egress_rule")
            if i["name"] == "db_out6"
        )
        ec2.revoke_security_group_egress(GroupId=db, SecurityGroupRuleIds=[db_out6])
        after = AwsProvider().discover(types=TYPES)
        yield Scenario(state, refreshed, before, after, {"sg": hand_sg, "rule": hand_rule})


# --- pure mapping rules (no emulator) ----------------------------------------------------------


def test_sgrule_ids_reproduce_terraforms_hash() -> None:
    # ids copied from a state written by hashicorp/aws 5.100 for these rules
    sg, other = "sg-60d0f5ef4bd5a95dc", "sg-5c93c53dfde1f8626"
    assert (
        security_group_rule_id(sg, "ingress", "tcp", 80, 80, cidr_blocks=["10.2.0.0/16"]) == "sgrule-39373346"
    )
    assert security_group_rule_id(sg, "ingress", "6", 8080, 8080, ["10.2.0.0/16"]) == "sgrule-4082866874"
    assert (
        security_group_rule_id(sg, "ingress", "tcp", 5432, 5432, source_groups=[other]) == "sgrule-3752165806"
    )
    assert security_group_rule_id(sg, "ingress", "tcp", 0, 65535, source_groups=[sg]) == "sgrule-1552709248"
    multi = security_group_rule_id(sg, "egress", "-1", 0, 0, ["0.0.0.0/0"], ["::/0"])
    assert multi == "sgrule-1211636170"
    # "all" protocols ignore ports; account-qualified sources hash like plain group ids
    assert security_group_rule_id(sg, "egress", "all", -1, -1, ["0.0.0.0/0"], ["::/0"]) == multi
    assert security_group_rule_id(
        sg, "ingress", "tcp", 5432, 5432, source_groups=[f"123456789012/{other}"]
    ) == ("sgrule-3752165806")


def test_protocols_and_name_prefixes_follow_the_provider() -> None:
    assert [protocol_for_value(p) for p in ("ALL", "-1", "6", "17", "1", "58", "50", "TCP")] == [
        "-1",
        "-1",
        "tcp",
        "udp",
        "icmp",
        "icmpv6",
        "50",
        "tcp",
    ]
    assert name_prefix_from_name("app-20261126112242936900000001") == "app-"
    assert name_prefix_from_name("db") == ""
    assert name_prefix_from_name("20261126112242936900000001") == ""


def test_permissions_group_by_protocol_ports_and_description() -> None:
    perms: list[dict[str, Any]] = [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "a"}, {"CidrIp": "10.1.0.0/16"}],
            "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "a"}],
            "UserIdGroupPairs": [
                {"GroupId": "sg-self", "UserId": "111"},
                {"GroupId": "sg-z", "UserId": "111"},
                {"GroupId": "sg-x", "UserId": "222"},
            ],
        },
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ]
    rules = flatten_permissions("sg-self", "111", perms)
    assert rules == cty_set_order(rules)
    by_desc = {(r["protocol"], r["description"]): r for r in rules}
    assert len(rules) == 3
    assert by_desc[("tcp", "a")]["cidr_blocks"] == ["10.0.0.0/8"]
    assert by_desc[("tcp", "a")]["ipv6_cidr_blocks"] == ["::/0"]
    untitled = by_desc[("tcp", "")]
    assert untitled["cidr_blocks"] == ["10.1.0.0/16"] and untitled["self"] is True
    assert untitled["security_groups"] == ["222/sg-x", "sg-z"]
    assert by_desc[("-1", "")] == {
        "cidr_blocks": ["0.0.0.0/0"],
        "description": "",
        "from_port": 0,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": "-1",
        "security_groups": [],
        "self": False,
        "to_port": 0,
    }


def test_rule_types_are_registered_with_their_services() -> None:
    types = registered_types("aws")
    assert {t: types[t].service for t in TYPES} == dict.fromkeys(TYPES, "ec2")


# --- against Terraform + moto ------------------------------------------------------------------


def test_security_groups_match_refreshed_state(scenario: Scenario) -> None:
    groups = {
        r.id: r
        for r in assert_discovered_matches_state(scenario.before, scenario.refreshed, "aws_security_group")
    }
    web = groups[scenario.attrs("aws_security_group", "web")["id"]].attributes
    https = [r for r in web["ingress"] if r["from_port"] == 443]
    assert https == [
        {
            "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"],
            "description": "https",
            "from_port": 443,
            "ipv6_cidr_blocks": ["2001:db8::/32"],
            "prefix_list_ids": [],
            "protocol": "tcp",
            "security_groups": [],
            "self": False,
            "to_port": 443,
        }
    ]
    app = groups[scenario.attrs("aws_security_group", "app")["id"]].attributes
    assert app["name_prefix"] == "app-" and len(app["ingress"]) == 4


def test_rule_resources_match_state_ids(scenario: Scenario) -> None:
    single_source = _without(scenario.state, "aws_security_group_rule", "app_out")
    rules = assert_discovered_matches_state(scenario.before, single_source, "aws_security_group_rule")
    assert len(rules) == 4
    self_rule = by_key(scenario.before)[
        ("aws_security_group_rule", scenario.attrs("aws_security_group_rule", "app_self")["id"])
    ]
    assert self_rule.attributes["self"] is True and self_rule.attributes["source_security_group_id"] is None
    ingress = assert_discovered_matches_state(
        scenario.before, scenario.state, "aws_vpc_security_group_ingress_rule"
    )
    assert {r.attributes["description"] for r in ingress} == {"pg 0", "pg 1", None}
    egress = assert_discovered_matches_state(
        scenario.before, scenario.state, "aws_vpc_security_group_egress_rule"
    )
    assert {r.attributes["from_port"] for r in egress} == {None}


def test_multi_source_rule_splits_into_discovered_rules(scenario: Scenario) -> None:
    app_out = scenario.attrs("aws_security_group_rule", "app_out")
    ids = state_rule_ids(app_out)
    assert len(ids) == 2 and app_out["id"] not in ids
    found = [scenario.found(scenario.before, "aws_security_group_rule", i) for i in ids]
    assert all(r is not None and not r.default for r in found)
    sources = sorted(str(r.attributes["cidr_blocks"] or r.attributes["ipv6_cidr_blocks"]) for r in found if r)
    assert sources == ["['0.0.0.0/0']", "['::/0']"]
    single = scenario.attrs("aws_security_group_rule", "app_self")
    assert state_rule_ids(single) == [single["id"]]


def test_hand_made_group_and_rule_are_unmanaged_with_import_ids(scenario: Scenario) -> None:
    sg, sgr = scenario.hand["sg"], scenario.hand["rule"]
    group = scenario.found(scenario.before, "aws_security_group", sg)
    assert group is not None and not group.default and group.attributes["description"] == "by hand"
    rule = scenario.found(scenario.before, "aws_vpc_security_group_ingress_rule", sgr)
    assert rule is not None and not rule.default
    assert rule.attributes["cidr_ipv4"] == "10.8.0.0/16" and rule.attributes["from_port"] == 22
    legacy_id = security_group_rule_id(sg, "ingress", "tcp", 22, 22, ["10.8.0.0/16"])
    legacy = scenario.found(scenario.before, "aws_security_group_rule", legacy_id)
    assert legacy is not None and legacy.attributes["security_group_rule_id"] == sgr
    import_id = registered_types("aws")["aws_security_group_rule"].import_id
    assert import_id is not None
    raw = {
        "GroupId": sg,
        "IsEgress": False,
        "IpProtocol": "tcp",
        "FromPort": 22,
        "ToPort": 22,
        "CidrIpv4": "10.8.0.0/16",
    }
    assert import_id(raw) == f"{sg}_ingress_tcp_22_22_10.8.0.0/16"


def test_default_groups_and_their_rules_are_flagged(scenario: Scenario) -> None:
    defaults = [r for r in scenario.before.resources if r.type == "aws_security_group" and r.default]
    vpc = scenario.attrs("aws_vpc", "main")
    assert {r.id for r in defaults} >= {vpc["default_security_group_id"]}
    assert len(defaults) == 2  # the default VPC's and aws_vpc.main's
    main_default = next(r for r in defaults if r.id == vpc["default_security_group_id"])
    assert main_default.default_reason == f"default security group of {vpc['id']}"
    rules = [
        r
        for r in scenario.before.resources
        if r.type != "aws_security_group" and r.attributes["security_group_id"] == main_default.id
    ]
    assert rules and all(
        r.default_reason == f"rule of the default security group of {vpc['id']}" for r in rules
    )
    flagged_rules = {
        r.attributes.get("security_group_id") for r in scenario.before.resources if r.default
    } - {None}
    assert flagged_rules <= {d.id for d in defaults}


def test_out_of_band_changes_are_read_live(scenario: Scenario) -> None:
    web_id = scenario.attrs("aws_security_group", "web")["id"]
    web = scenario.found(scenario.after, "aws_security_group", web_id)
    assert web is not None
    assert web.attributes["tags"] == {"Name": "web", "tier": "changed"}
    assert len(web.attributes["ingress"]) == 5
    assert [r["cidr_blocks"] for r in web.attributes["ingress"] if r["from_port"] == 8443] == [
        ["10.9.0.0/16"]
    ]

    http = scenario.attrs("aws_security_group_rule", "app_in", "http")
    edited = scenario.found(scenario.after, "aws_security_group_rule", http["id"])
    assert http["description"] == "from http"
    assert edited is not None and edited.attributes["description"] == "edited"

    db_in0 = scenario.attrs("aws_vpc_security_group_ingress_rule", "db_in", 0)
    moved = scenario.found(scenario.after, "aws_vpc_security_group_ingress_rule", db_in0["id"])
    assert db_in0["from_port"] == 5432
    assert moved is not None and (moved.attributes["from_port"], moved.attributes["to_port"]) == (6432, 6432)

    revoked = scenario.attrs("aws_vpc_security_group_egress_rule", "db_out6")["id"]
    assert scenario.found(scenario.before, "aws_vpc_security_group_egress_rule", revoked) is not None
    assert scenario.found(scenario.after, "aws_vpc_security_group_egress_rule", revoked) is None
