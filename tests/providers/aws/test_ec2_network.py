"""EC2 networking types against real Terraform state: gateways, EIPs, route tables, routes,
associations, network ACLs and VPC endpoints.

One `terraform apply` per module. The oracle is the state after `terraform apply -refresh-only`: the
provider's own read of the live resources. (A fresh apply stores some values from the configuration
or from before a later resource changed the live object — route tables without the routes of later
aws_route resources, NACL protocols as "tcp" instead of "6", EIPs without the association a NAT
gateway made — which the drift engine, not discovery, has to treat as equal.)

All live calls run in the module fixture; the tests only assert on what it recorded, so the per-test
moto reset of other modules cannot interfere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.aws.resources.ec2_network import cty_sorted, normalized_json
from driftmgr.providers.aws.resources.ec2_routes import route_id
from driftmgr.providers.base import DiscoveryResult, Scope, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

TYPES = [
    "aws_internet_gateway",
    "aws_eip",
    "aws_nat_gateway",
    "aws_route_table",
    "aws_route_table_association",
    "aws_route",
    "aws_network_acl",
    "aws_vpc_endpoint",
]

CONFIG = """
resource "aws_vpc" "main" {
  cidr_block = "10.40.0.0/16"
  tags       = { Name = "net-main" }
}
resource "aws_subnet" "s" {
  for_each          = { a = "10.40.1.0/24", b = "10.40.2.0/24", c = "10.40.3.0/24" }
  vpc_id            = aws_vpc.main.id
  cidr_block        = each.value
  availability_zone = "us-east-1a"
}
resource "aws_internet_gateway" "gw" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "gw", env = "test" }
}
resource "aws_internet_gateway" "detached" {
  tags = { Name = "detached" }
}
resource "aws_eip" "nat" {
  count  = 2
  domain = "vpc"
  tags   = { Name = "eip-${count.index}" }
}
resource "aws_nat_gateway" "public" {
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.s["a"].id
  tags          = { Name = "ngw" }
  depends_on    = [aws_internet_gateway.gw]
}
resource "aws_nat_gateway" "private" {
  connectivity_type = "private"
  subnet_id         = aws_subnet.s["b"].id
  tags              = { Name = "ngw-private" }
}
resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.gw.id
  }
  route {
    cidr_block     = "192.168.0.0/16"
    nat_gateway_id = aws_nat_gateway.public.id
  }
  tags = { Name = "public" }
}
resource "aws_route_table" "private" {
  for_each = toset(["x", "y"])
  vpc_id   = aws_vpc.main.id
  tags     = { Name = "private-${each.key}" }
}
resource "aws_route" "default_nat" {
  for_each               = aws_route_table.private
  route_table_id         = each.value.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.public.id
}
resource "aws_route" "v6" {
  route_table_id              = aws_route_table.private["x"].id
  destination_ipv6_cidr_block = "2600:1f18::/32"
  gateway_id                  = aws_internet_gateway.gw.id
}
resource "aws_route_table_association" "a" {
  subnet_id      = aws_subnet.s["a"].id
  route_table_id = aws_route_table.public.id
}
resource "aws_route_table_association" "b" {
  subnet_id      = aws_subnet.s["b"].id
  route_table_id = aws_route_table.private["x"].id
}
resource "aws_route_table_association" "edge" {
  gateway_id     = aws_internet_gateway.gw.id
  route_table_id = aws_route_table.private["y"].id
}
resource "aws_network_acl" "acl" {
  vpc_id     = aws_vpc.main.id
  subnet_ids = [aws_subnet.s["c"].id]
  ingress {
    protocol   = "tcp"
    rule_no    = 100
    action     = "allow"
    cidr_block = "10.0.0.0/8"
    from_port  = 443
    to_port    = 443
  }
  ingress {
    protocol   = "-1"
    rule_no    = 200
    action     = "deny"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
  egress {
    protocol        = "udp"
    rule_no         = 110
    action          = "allow"
    ipv6_cidr_block = "::/0"
    from_port       = 53
    to_port         = 53
  }
  tags = { Name = "acl" }
}
resource "aws_network_acl" "empty" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "empty" }
}
resource "aws_vpc_endpoint" "s3" {
  vpc_id          = aws_vpc.main.id
  service_name    = "com.amazonaws.us-east-1.s3"
  route_table_ids = [aws_route_table.private["x"].id]
  tags            = { Name = "s3" }
}
resource "aws_security_group" "ep" {
  vpc_id = aws_vpc.main.id
  name   = "ep"
}
resource "aws_vpc_endpoint" "sqs" {
  vpc_id              = aws_vpc.main.id
  service_name        = "com.amazonaws.us-east-1.sqs"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.s["c"].id]
  security_group_ids  = [aws_security_group.ep.id]
  private_dns_enabled = true
  tags                = { Name = "sqs" }
}
"""

DENY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"}],
}


@dataclass
class Scenario:
    state: dict[str, Any]
    before: DiscoveryResult  # untouched
    after: DiscoveryResult  # after the out-of-band changes and the hand-made resources below
    hand: dict[str, str] = field(default_factory=dict)  # hand-made resources: name -> id
    moved_assoc: str = ""  # the association that replaced state's association "b"
    import_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (type, id) -> import id

    def attrs(self, tf_type: str, name: str, key: Any = None) -> dict[str, Any]:
        for inst in state_instances(self.state, tf_type):
            if inst["name"] == name and inst["index_key"] == key:
                return dict(inst["attributes"])
        raise KeyError((tf_type, name, key))

    def sid(self, tf_type: str, name: str, key: Any = None) -> str:
        return str(self.attrs(tf_type, name, key)["id"])


def _after(scn: Scenario, tf_type: str, rid: str) -> Resource:
    res = by_key(scn.after).get((tf_type, rid))
    assert res is not None, f"{tf_type} {rid} not discovered after the changes"
    return res


@pytest.fixture(scope="module")
def scn(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("ec2_network")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        workdir = tmp / "tf"
        terraform.apply(workdir, CONFIG, moto_server.endpoint)
        terraform.run(workdir, "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
        state = json.loads((workdir / "terraform.tfstate").read_text())
        scn = Scenario(state=state, before=AwsProvider().discover(types=TYPES), after=DiscoveryResult())
        _change_out_of_band(scn)
        scn.after = AwsProvider().discover(types=TYPES)
        scope = Scope("aws", "123456789012", "us-east-1", lambda service: boto3.client(service))
        for tf_type in ("aws_route", "aws_route_table_association"):
            rtype = registered_types("aws")[tf_type]
            assert rtype.collect is not None and rtype.import_id is not None
            for item in rtype.collect(scope):
                scn.import_ids[(tf_type, rtype.item_id(item))] = rtype.import_id(item)
        yield scn


def _change_out_of_band(scn: Scenario) -> None:
    """Seed from this one thread (moto can fail concurrent writes)."""
    ec2 = boto3.client("ec2")
    sid = scn.sid
    # Hand-made: a VPC with a subnet, IGW, EIP, private NAT gateway, route table + route + association,
    # NACL and gateway endpoint. The VPC brings its own main route table and default NACL.
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=sid("aws_internet_gateway", "detached"), VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, ConnectivityType="private")["NatGateway"]["NatGatewayId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)["AssociationId"]
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.us-east-1.dynamodb", RouteTableIds=[rtb]
    )["VpcEndpoint"]["VpcEndpointId"]
    scn.hand = {"vpc": vpc, "subnet": subnet, "igw": igw, "eip": eip, "nat": nat, "rtb": rtb,
                "assoc": assoc, "acl": acl, "endpoint": endpoint}  # fmt: skip

    # Out-of-band edits of managed resources.
    ec2.create_tags(Resources=[sid("aws_internet_gateway", "gw")], Tags=[{"Key": "env", "Value": "prod"}])
    ec2.create_tags(Resources=[sid("aws_eip", "nat", 1)], Tags=[{"Key": "Name", "Value": "renamed"}])
    eni = ec2.create_network_interface(SubnetId=scn.attrs("aws_subnet", "s", "c")["id"])
    scn.hand["eni"] = eni["NetworkInterface"]["NetworkInterfaceId"]
    ec2.associate_address(AllocationId=sid("aws_eip", "nat", 1), NetworkInterfaceId=scn.hand["eni"])
    ec2.create_tags(Resources=[sid("aws_nat_gateway", "public")], Tags=[{"Key": "Name", "Value": "ngw-2"}])
    public = sid("aws_route_table", "public")
    ec2.create_route(
        RouteTableId=public, DestinationCidrBlock="172.16.0.0/12", GatewayId=sid("aws_internet_gateway", "gw")
    )
    ec2.delete_tags(Resources=[sid("aws_route_table", "private", "y")], Tags=[{"Key": "Name"}])
    ec2.replace_route(
        RouteTableId=sid("aws_route_table", "private", "x"),
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=sid("aws_internet_gateway", "gw"),
    )
    scn.moved_assoc = ec2.replace_route_table_association(
        AssociationId=sid("aws_route_table_association", "b"), RouteTableId=public
    )["NewAssociationId"]
    acl_id = sid("aws_network_acl", "acl")
    ec2.create_network_acl_entry(
        NetworkAclId=acl_id, RuleNumber=300, Protocol="17", RuleAction="allow", Egress=False,
        CidrBlock="10.0.0.0/8", PortRange={"From": 53, "To": 53},
    )  # fmt: skip
    subnet_b = scn.attrs("aws_subnet", "s", "b")["id"]
    current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_b]}])
    link = next(a for a in current["NetworkAcls"][0]["Associations"] if a["SubnetId"] == subnet_b)
    ec2.replace_network_acl_association(AssociationId=link["NetworkAclAssociationId"], NetworkAclId=acl_id)
    ec2.modify_vpc_endpoint(
        VpcEndpointId=sid("aws_vpc_endpoint", "s3"),
        PolicyDocument=json.dumps(DENY_POLICY),
        AddRouteTableIds=[public],
    )
    ec2.create_tags(Resources=[sid("aws_vpc_endpoint", "sqs")], Tags=[{"Key": "team", "Value": "data"}])


# --- untouched: discovery reproduces the state ---------------------------------------------------
@pytest.mark.parametrize("tf_type", TYPES)
def test_untouched_resources_match_refreshed_state(scn: Scenario, tf_type: str) -> None:
    assert_discovered_matches_state(scn.before, scn.state, tf_type)


def test_route_table_lists_inline_and_separate_routes_but_not_local_or_endpoint_routes(scn: Scenario) -> None:
    found = by_key(scn.before)
    public = found[("aws_route_table", scn.sid("aws_route_table", "public"))].attributes["route"]
    assert [(r["cidr_block"], r["gateway_id"], r["nat_gateway_id"]) for r in public] == [
        ("0.0.0.0/0", scn.sid("aws_internet_gateway", "gw"), ""),
        ("192.168.0.0/16", "", scn.sid("aws_nat_gateway", "public")),
    ]
    private_x = found[("aws_route_table", scn.sid("aws_route_table", "private", "x"))].attributes["route"]
    assert [(r["cidr_block"], r["ipv6_cidr_block"]) for r in private_x] == [
        ("", "2600:1f18::/32"),
        ("0.0.0.0/0", ""),
    ]


def test_route_ids_are_terraforms_and_import_ids_are_table_underscore_destination(scn: Scenario) -> None:
    table = scn.sid("aws_route_table", "private", "x")
    rid = scn.sid("aws_route", "default_nat", "x")
    assert rid == route_id(table, "0.0.0.0/0")
    assert scn.import_ids[("aws_route", rid)] == f"{table}_0.0.0.0/0"
    v6 = scn.sid("aws_route", "v6")
    assert scn.import_ids[("aws_route", v6)] == f"{table}_2600:1f18::/32"


def test_network_acl_rules_use_protocol_numbers_and_skip_default_rules(scn: Scenario) -> None:
    acl = by_key(scn.before)[("aws_network_acl", scn.sid("aws_network_acl", "acl"))].attributes
    assert [(r["rule_no"], r["protocol"], r["action"]) for r in acl["ingress"]] == [
        (100, "6", "allow"),
        (200, "-1", "deny"),
    ]
    assert acl["egress"] == [
        {"action": "allow", "cidr_block": "", "from_port": 53, "icmp_code": 0, "icmp_type": 0,
         "ipv6_cidr_block": "::/0", "protocol": "17", "rule_no": 110, "to_port": 53},
    ]  # fmt: skip


# --- hand-made resources: unmanaged, under the id Terraform would store -----------------------------
def test_hand_made_resources_are_discovered_unmanaged(scn: Scenario) -> None:
    h = scn.hand
    expected = {
        ("aws_internet_gateway", h["igw"]),
        ("aws_eip", h["eip"]),
        ("aws_nat_gateway", h["nat"]),
        ("aws_route_table", h["rtb"]),
        ("aws_route", route_id(h["rtb"], "0.0.0.0/0")),
        ("aws_route_table_association", h["assoc"]),
        ("aws_network_acl", h["acl"]),
        ("aws_vpc_endpoint", h["endpoint"]),
    }
    found = by_key(scn.after)
    for key in expected:
        assert key in found, f"{key} not discovered"
        assert not found[key].default, f"{key} flagged default: {found[key].default_reason}"
    route = found[("aws_route", route_id(h["rtb"], "0.0.0.0/0"))].attributes
    assert (route["route_table_id"], route["nat_gateway_id"], route["origin"]) == (
        h["rtb"],
        h["nat"],
        "CreateRoute",
    )
    assert scn.import_ids[("aws_route", route_id(h["rtb"], "0.0.0.0/0"))] == f"{h['rtb']}_0.0.0.0/0"
    assert scn.import_ids[("aws_route_table_association", h["assoc"])] == f"{h['subnet']}/{h['rtb']}"
    edge = scn.sid("aws_route_table_association", "edge")
    assert scn.import_ids[("aws_route_table_association", edge)] == (
        f"{scn.sid('aws_internet_gateway', 'gw')}/{scn.sid('aws_route_table', 'private', 'y')}"
    )


# --- defaults and implicit children -----------------------------------------------------------------
def test_main_route_tables_default_acls_and_aws_made_routes_are_defaults(scn: Scenario) -> None:
    defaults = {(r.type, r.id): r.default_reason for r in scn.after.resources if r.default}
    managed_vpc, hand_vpc = scn.attrs("aws_vpc", "main")["id"], scn.hand["vpc"]
    main_tables = {
        r.attributes["vpc_id"]: r for r in scn.after.resources if r.type == "aws_route_table" and r.default
    }
    for vpc in (managed_vpc, hand_vpc):
        assert main_tables[vpc].default_reason == f"main route table of {vpc}"
    acls = {
        r.attributes["vpc_id"]: r.default_reason
        for r in scn.after.resources
        if r.type == "aws_network_acl" and r.default
    }
    assert acls[managed_vpc] == f"default network ACL of {managed_vpc}"
    assert acls[hand_vpc] == f"default network ACL of {hand_vpc}"
    public = scn.sid("aws_route_table", "public")
    assert defaults[("aws_route", route_id(public, "10.40.0.0/16"))] == f"local route of {public}"
    private_x, s3 = scn.sid("aws_route_table", "private", "x"), scn.sid("aws_vpc_endpoint", "s3")
    prefix_list = scn.attrs("aws_vpc_endpoint", "s3")["prefix_list_id"]
    assert defaults[("aws_route", route_id(private_x, prefix_list))] == f"route of VPC endpoint {s3}"
    # Main-table associations are aws_main_route_table_association: every one listed has a subnet or gateway.
    assocs = [r for r in scn.after.resources if r.type == "aws_route_table_association"]
    assert assocs and all(r.attributes["subnet_id"] or r.attributes["gateway_id"] for r in assocs)


def test_untouched_account_has_nothing_unmanaged_but_the_inline_routes(scn: Scenario) -> None:
    """Outside the state, only defaults — and the two inline routes of aws_route_table.public, which live
    look exactly like aws_route resources (the engine must treat them as claimed by their table)."""
    in_state = {(i["type"], i["attributes"]["id"]) for i in state_instances(scn.state)}
    unmanaged = {r.key for r in scn.before.resources if not r.default and r.key not in in_state}
    public = scn.sid("aws_route_table", "public")
    assert unmanaged == {
        ("aws_route", route_id(public, "0.0.0.0/0")),
        ("aws_route", route_id(public, "192.168.0.0/16")),
    }


# --- out-of-band changes: discovery reads the live value --------------------------------------------
def test_internet_gateway_tag_and_attachment_changes_show(scn: Scenario) -> None:
    gw = _after(scn, "aws_internet_gateway", scn.sid("aws_internet_gateway", "gw")).attributes
    assert gw["tags"] == {"Name": "gw", "env": "prod"}
    detached = _after(scn, "aws_internet_gateway", scn.sid("aws_internet_gateway", "detached")).attributes
    assert (scn.attrs("aws_internet_gateway", "detached")["vpc_id"], detached["vpc_id"]) == (
        "",
        scn.hand["vpc"],
    )


def test_eip_tag_and_association_changes_show(scn: Scenario) -> None:
    eip = _after(scn, "aws_eip", scn.sid("aws_eip", "nat", 1)).attributes
    assert eip["tags"] == {"Name": "renamed"}
    assert scn.attrs("aws_eip", "nat", 1)["network_interface"] == ""
    assert eip["network_interface"] == scn.hand["eni"]
    assert eip["association_id"].startswith("eipassoc-")


def test_nat_gateway_tag_change_shows(scn: Scenario) -> None:
    nat = _after(scn, "aws_nat_gateway", scn.sid("aws_nat_gateway", "public")).attributes
    assert nat["tags"] == {"Name": "ngw-2"}


def test_route_table_added_route_and_removed_tag_show(scn: Scenario) -> None:
    public = _after(scn, "aws_route_table", scn.sid("aws_route_table", "public")).attributes
    assert [r["cidr_block"] for r in public["route"]] == ["0.0.0.0/0", "172.16.0.0/12", "192.168.0.0/16"]
    private_y = _after(scn, "aws_route_table", scn.sid("aws_route_table", "private", "y")).attributes
    assert private_y["tags"] == {}


def test_replaced_route_target_shows(scn: Scenario) -> None:
    route = _after(scn, "aws_route", scn.sid("aws_route", "default_nat", "x")).attributes
    assert scn.attrs("aws_route", "default_nat", "x")["nat_gateway_id"] == scn.sid(
        "aws_nat_gateway", "public"
    )
    assert (route["gateway_id"], route["nat_gateway_id"]) == (scn.sid("aws_internet_gateway", "gw"), "")


def test_replaced_association_is_gone_and_its_successor_points_elsewhere(scn: Scenario) -> None:
    found = by_key(scn.after)
    assert ("aws_route_table_association", scn.sid("aws_route_table_association", "b")) not in found
    moved = found[("aws_route_table_association", scn.moved_assoc)].attributes
    assert moved == {
        "route_table_id": scn.sid("aws_route_table", "public"),
        "subnet_id": scn.attrs("aws_subnet", "s", "b")["id"],
        "gateway_id": "",
    }


def test_network_acl_added_rule_and_moved_subnet_show(scn: Scenario) -> None:
    acl = _after(scn, "aws_network_acl", scn.sid("aws_network_acl", "acl")).attributes
    assert [(r["rule_no"], r["protocol"]) for r in acl["ingress"]] == [(100, "6"), (300, "17"), (200, "-1")]
    subnets = {scn.attrs("aws_subnet", "s", k)["id"] for k in ("b", "c")}
    assert acl["subnet_ids"] == sorted(subnets)


def test_vpc_endpoint_policy_route_tables_and_tags_show(scn: Scenario) -> None:
    s3 = _after(scn, "aws_vpc_endpoint", scn.sid("aws_vpc_endpoint", "s3")).attributes
    assert json.loads(s3["policy"]) == DENY_POLICY
    expected_tables = {scn.sid("aws_route_table", "private", "x"), scn.sid("aws_route_table", "public")}
    assert s3["route_table_ids"] == sorted(expected_tables)
    sqs = _after(scn, "aws_vpc_endpoint", scn.sid("aws_vpc_endpoint", "sqs")).attributes
    assert sqs["tags"] == {"Name": "sqs", "team": "data"}


# --- pure helpers -------------------------------------------------------------------------------------
def test_route_id_matches_the_id_terraform_stored() -> None:
    # From a real state written by hashicorp/aws 5.100 (route 0.0.0.0/0 in rtb-d79e649d27b8f1dfb).
    assert route_id("rtb-d79e649d27b8f1dfb", "0.0.0.0/0") == "r-rtb-d79e649d27b8f1dfb1080289494"


def test_set_elements_are_ordered_like_terraform_writes_them() -> None:
    assert cty_sorted(["subnet-b", "subnet-a"]) == ["subnet-a", "subnet-b"]
    rules = [
        {"action": "deny", "rule_no": 5},
        {"action": "allow", "rule_no": 200},
        {"action": "allow", "rule_no": 30},
    ]
    # Objects sort by go-cty's hash bytes: attribute values in name order, numbers as text.
    assert cty_sorted(rules) == [
        {"action": "allow", "rule_no": 200},
        {"action": "allow", "rule_no": 30},
        {"action": "deny", "rule_no": 5},
    ]
    assert cty_sorted([{"cidr": "0.0.0.0/0"}, {"cidr": ""}]) == [{"cidr": ""}, {"cidr": "0.0.0.0/0"}]


def test_policy_is_normalized_like_the_provider_stores_it() -> None:
    raw = (
        '{"Version": "2008-10-17", '
        '"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}'
    )
    assert normalized_json(raw) == (
        '{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}],"Version":"2008-10-17"}'
    )
    assert normalized_json('{"a": "<&>"}') == '{"a":"\\u003c\\u0026\\u003e"}'
    assert normalized_json(None) == ""
