"""EC2 compute and Auto Scaling types against real Terraform state: aws_instance, aws_ebs_volume,
aws_volume_attachment, aws_key_pair, aws_launch_template, aws_autoscaling_group.

One `terraform apply` per module; the oracle is the state after `terraform apply -refresh-only` (the
provider's own read: a fresh apply stores `tags = null` and empty sets as null where a refresh
stores `{}`/`[]`). All live calls run in the module fixture; the tests only assert on what it
recorded, so the per-test moto reset of other modules cannot interfere.

moto quirks: `monitoring = true` on an instance makes the provider retry moto's unimplemented
MonitorInstances until it times out, so no instance here enables detailed monitoring; moto ignores
`disable_api_termination` at launch (a later ModifyInstanceAttribute works).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.aws.resources.ec2_compute import volume_attachment_id
from driftmgr.providers.base import DiscoveryResult, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

TYPES = [
    "aws_instance",
    "aws_ebs_volume",
    "aws_volume_attachment",
    "aws_key_pair",
    "aws_launch_template",
    "aws_autoscaling_group",
]

CONFIG = """
variable "rsa_key" { type = string }
variable "ed_key" { type = string }
resource "aws_vpc" "main" {
  cidr_block = "10.50.0.0/16"
}
resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.50.1.0/24"
  availability_zone = "us-east-1a"
}
resource "aws_security_group" "inst" {
  name   = "inst"
  vpc_id = aws_vpc.main.id
}
resource "aws_key_pair" "k" {
  count      = 2
  key_name   = "key-${count.index}"
  public_key = count.index == 0 ? var.rsa_key : var.ed_key
  tags       = { idx = "${count.index}" }
}
resource "aws_key_pair" "p" {
  key_name_prefix = "pre-"
  public_key      = var.rsa_key
}
resource "aws_instance" "web" {
  count                  = 2
  ami                    = "ami-12c6146b"
  instance_type          = count.index == 0 ? "t3.micro" : "t3.small"
  subnet_id              = aws_subnet.a.id
  vpc_security_group_ids = [aws_security_group.inst.id]
  key_name               = aws_key_pair.k[0].key_name
  tags                   = { Name = "web-${count.index}", env = "test" }
  user_data              = "#!/bin/sh\\necho hi"
}
resource "aws_instance" "plain" {
  ami                                  = "ami-1e749f67"
  instance_type                        = "m5.large"
  subnet_id                            = aws_subnet.a.id
  disable_api_termination              = true
  instance_initiated_shutdown_behavior = "terminate"
  root_block_device {
    volume_size = 20
    volume_type = "gp3"
    tags        = { disk = "root" }
  }
  metadata_options {
    http_tokens = "required"
  }
}
resource "aws_ebs_volume" "data" {
  for_each          = { a = 10, b = 20 }
  availability_zone = "us-east-1a"
  size              = each.value
  type              = each.key == "a" ? "gp3" : "gp2"
  encrypted         = each.key == "a"
  tags              = { Name = "data-${each.key}" }
}
resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdh"
  volume_id   = aws_ebs_volume.data["a"].id
  instance_id = aws_instance.web[0].id
}
resource "aws_launch_template" "lt" {
  name                   = "lt-web"
  image_id               = "ami-12c6146b"
  instance_type          = "t3.micro"
  description            = "web template"
  key_name               = aws_key_pair.k[1].key_name
  vpc_security_group_ids = [aws_security_group.inst.id]
  tags                   = { team = "a" }
  user_data              = base64encode("hello")
}
resource "aws_launch_template" "full" {
  name                                 = "lt-full"
  ebs_optimized                        = true
  disable_api_termination              = true
  instance_initiated_shutdown_behavior = "terminate"
  block_device_mappings {
    device_name = "/dev/sdf"
    ebs {
      volume_size           = 30
      volume_type           = "gp3"
      delete_on_termination = true
      encrypted             = true
    }
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
  monitoring {
    enabled = true
  }
  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "from-lt" }
  }
}
resource "aws_launch_template" "prefixed" {
  name_prefix            = "lt2-"
  image_id               = "ami-12c6146b"
  instance_type          = "t3.small"
  update_default_version = true
}
resource "aws_autoscaling_group" "asg" {
  name                      = "web-asg"
  min_size                  = 1
  max_size                  = 3
  desired_capacity          = 2
  vpc_zone_identifier       = [aws_subnet.a.id]
  health_check_grace_period = 120
  enabled_metrics           = ["GroupMinSize", "GroupMaxSize"]
  suspended_processes       = ["AZRebalance"]
  termination_policies      = ["OldestInstance", "Default"]
  max_instance_lifetime     = 86400
  launch_template {
    id      = aws_launch_template.lt.id
    version = "$Latest"
  }
  tag {
    key                 = "team"
    value               = "blue"
    propagate_at_launch = false
  }
  tag {
    key                 = "role"
    value               = "web"
    propagate_at_launch = true
  }
}
resource "aws_autoscaling_group" "idle" {
  name_prefix         = "idle-"
  min_size            = 0
  max_size            = 1
  desired_capacity    = 0
  vpc_zone_identifier = [aws_subnet.a.id]
  launch_template {
    name = aws_launch_template.prefixed.name
  }
}
"""


def _public_keys() -> tuple[str, str]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ed_key = ed25519.Ed25519PrivateKey.generate().public_key()
    fmt, enc = serialization.PublicFormat.OpenSSH, serialization.Encoding.OpenSSH
    return rsa_key.public_bytes(enc, fmt).decode(), ed_key.public_bytes(enc, fmt).decode()


@dataclass
class Scenario:
    state: dict[str, Any]  # after `terraform apply -refresh-only`
    before: DiscoveryResult  # untouched, plus the hand-made resources
    after: DiscoveryResult  # after the out-of-band changes
    hand: dict[str, str] = field(default_factory=dict)

    def attrs(self, tf_type: str, name: str, index: Any = None) -> dict[str, Any]:
        for inst in state_instances(self.state, tf_type):
            if inst["name"] == name and inst["index_key"] == index:
                return dict(inst["attributes"])
        raise KeyError(f"{tf_type}.{name}[{index}]")

    def found(self, result: DiscoveryResult, tf_type: str, rid: str) -> Resource | None:
        return by_key(result).get((tf_type, rid))


def _hand_made(ec2: Any, asg: Any, subnet: str) -> dict[str, str]:
    """Resources made outside Terraform: each must come back unmanaged under its Terraform id."""
    inst = ec2.run_instances(
        ImageId="ami-12c6146b", InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=subnet
    )
    instance = inst["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=5)["VolumeId"]
    ec2.attach_volume(Device="/dev/sdk", InstanceId=instance, VolumeId=volume)
    rsa_pub, _ = _public_keys()
    ec2.import_key_pair(KeyName="hand-key", PublicKeyMaterial=rsa_pub.encode())
    template = ec2.create_launch_template(
        LaunchTemplateName="hand-lt",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.nano"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName="hand-asg",
        MinSize=0,
        MaxSize=1,
        DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateId": template},
        VPCZoneIdentifier=subnet,
    )
    return {"instance": instance, "volume": volume, "template": template}


def _out_of_band(ec2: Any, asg: Any, state: dict[str, Any]) -> None:
    """One or two attribute edits per type, plus a detached volume."""
    by_name = {(i["type"], i["name"], i["index_key"]): i["attributes"] for i in state_instances(state)}
    web1 = by_name[("aws_instance", "web", 1)]["id"]
    ec2.modify_instance_attribute(InstanceId=web1, InstanceType={"Value": "t3.large"})
    ec2.modify_instance_attribute(InstanceId=web1, DisableApiTermination={"Value": True})
    ec2.create_tags(Resources=[web1], Tags=[{"Key": "env", "Value": "prod"}])
    ec2.modify_volume(VolumeId=by_name[("aws_ebs_volume", "data", "b")]["id"], Size=50)
    key0 = by_name[("aws_key_pair", "k", 0)]["key_pair_id"]
    ec2.create_tags(Resources=[key0], Tags=[{"Key": "owner", "Value": "ops"}])
    lt = by_name[("aws_launch_template", "lt", None)]["id"]
    ec2.create_launch_template_version(LaunchTemplateId=lt, LaunchTemplateData={"InstanceType": "t3.large"})
    asg.update_auto_scaling_group(AutoScalingGroupName="web-asg", MaxSize=5, HealthCheckGracePeriod=60)
    att = by_name[("aws_volume_attachment", "data", None)]
    ec2.detach_volume(VolumeId=att["volume_id"], InstanceId=att["instance_id"], Device=att["device_name"])


@pytest.fixture(scope="module")
def scenario(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("ec2_compute")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        workdir = tmp / "tf"
        rsa_pub, ed_pub = _public_keys()
        workdir.mkdir()
        (workdir / "terraform.tfvars.json").write_text(json.dumps({"rsa_key": rsa_pub, "ed_key": ed_pub}))
        terraform.apply(workdir, CONFIG, moto_server.endpoint)
        terraform.run(workdir, "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
        state = json.loads((workdir / "terraform.tfstate").read_text())
        ec2, asg = boto3.client("ec2"), boto3.client("autoscaling")
        hand = _hand_made(ec2, asg, next(i["attributes"]["id"] for i in state_instances(state, "aws_subnet")))
        before = AwsProvider().discover(types=TYPES)
        _out_of_band(ec2, asg, state)
        after = AwsProvider().discover(types=TYPES)
        yield Scenario(state, before, after, hand)


# --- pure mapping rules (no emulator) ----------------------------------------------------------


def test_volume_attachment_id_reproduces_terraforms_hash() -> None:
    # id copied from a state written by hashicorp/aws 5.100
    assert volume_attachment_id("/dev/sdh", "vol-981154aa681204daa", "i-d353692b7ec5c30dc") == "vai-120627608"
    assert volume_attachment_id("/dev/sdi", "vol-981154aa681204daa", "i-d353692b7ec5c30dc") != "vai-120627608"


def test_compute_types_are_registered_with_their_services() -> None:
    types = registered_types("aws")
    assert {t: types[t].service for t in TYPES} == {
        **dict.fromkeys(TYPES[:-1], "ec2"),
        "aws_autoscaling_group": "autoscaling",
    }


# --- against Terraform + moto ------------------------------------------------------------------


def test_instances_match_state_and_asg_instances_are_implicit(scenario: Scenario) -> None:
    instances = {
        r.id: r for r in assert_discovered_matches_state(scenario.before, scenario.state, "aws_instance")
    }
    assert len(instances) == 3
    web0 = instances[scenario.attrs("aws_instance", "web", 0)["id"]].attributes
    assert web0["user_data"] == hashlib.sha1(b"#!/bin/sh\necho hi").hexdigest()
    assert web0["credit_specification"] == [{"cpu_credits": "standard"}]
    plain = instances[scenario.attrs("aws_instance", "plain", None)["id"]].attributes
    assert plain["disable_api_termination"] is False  # moto ignores it at launch; Terraform reads false too
    assert plain["instance_initiated_shutdown_behavior"] == "terminate"
    root = plain["root_block_device"][0]
    assert (root["volume_size"], root["volume_type"], root["tags"]) == (20, "gp3", {"disk": "root"})
    assert plain["metadata_options"][0]["http_tokens"] == "required"
    launched = [r for r in scenario.before.resources if r.type == "aws_instance" and r.default]
    assert len(launched) == 2
    assert {r.default_reason for r in launched} == {"launched by Auto Scaling group web-asg"}


def test_volumes_and_attachments_match_state_and_root_volumes_are_implicit(scenario: Scenario) -> None:
    volumes = assert_discovered_matches_state(scenario.before, scenario.state, "aws_ebs_volume")
    assert sorted(
        (v.attributes["size"], v.attributes["type"], v.attributes["encrypted"]) for v in volumes
    ) == [
        (10, "gp3", True),
        (20, "gp2", False),
    ]
    attachments = assert_discovered_matches_state(scenario.before, scenario.state, "aws_volume_attachment")
    assert [a.attributes["device_name"] for a in attachments] == ["/dev/sdh"]
    # Every instance (3 managed, 2 from the group, 1 by hand) has an implicit root volume + attachment.
    root_volumes = [r for r in scenario.before.resources if r.type == "aws_ebs_volume" and r.default]
    root_attachments = [
        r for r in scenario.before.resources if r.type == "aws_volume_attachment" and r.default
    ]
    assert len(root_volumes) == len(root_attachments) == 6
    plain = scenario.attrs("aws_instance", "plain", None)
    plain_root = plain["root_block_device"][0]["volume_id"]
    assert (
        by_key(scenario.before)[("aws_ebs_volume", plain_root)].default_reason
        == f"root volume of {plain['id']}"
    )
    assert {r.default_reason for r in root_attachments} >= {f"attachment of the root volume of {plain['id']}"}


def test_key_pairs_and_launch_templates_match_state(scenario: Scenario) -> None:
    keys = {r.id: r for r in assert_discovered_matches_state(scenario.before, scenario.state, "aws_key_pair")}
    prefixed = scenario.attrs("aws_key_pair", "p", None)
    assert keys[prefixed["id"]].attributes["key_name_prefix"] == "pre-"
    assert keys["key-1"].attributes["key_type"] == "ed25519"
    templates = {
        r.id: r
        for r in assert_discovered_matches_state(scenario.before, scenario.state, "aws_launch_template")
    }
    full = templates[scenario.attrs("aws_launch_template", "full", None)["id"]].attributes
    assert full["block_device_mappings"][0]["ebs"][0]["delete_on_termination"] == "true"
    assert full["ebs_optimized"] == "true" and full["monitoring"] == [{"enabled": True}]
    assert full["tag_specifications"] == [{"resource_type": "instance", "tags": {"Name": "from-lt"}}]


def test_autoscaling_groups_match_state(scenario: Scenario) -> None:
    groups = {
        r.id: r
        for r in assert_discovered_matches_state(scenario.before, scenario.state, "aws_autoscaling_group")
    }
    web = groups["web-asg"].attributes
    assert web["tag"] == [
        {"key": "role", "propagate_at_launch": True, "value": "web"},
        {"key": "team", "propagate_at_launch": False, "value": "blue"},
    ]
    assert web["termination_policies"] == ["OldestInstance", "Default"]
    idle = groups[scenario.attrs("aws_autoscaling_group", "idle", None)["id"]].attributes
    assert (idle["name_prefix"], idle["termination_policies"], idle["enabled_metrics"]) == ("idle-", [], [])


def test_hand_made_compute_resources_are_unmanaged_with_terraform_ids(scenario: Scenario) -> None:
    found = by_key(scenario.before)
    managed_ids = {i["attributes"]["id"] for i in state_instances(scenario.state)}
    expected = [
        ("aws_instance", scenario.hand["instance"]),
        ("aws_ebs_volume", scenario.hand["volume"]),
        (
            "aws_volume_attachment",
            volume_attachment_id("/dev/sdk", scenario.hand["volume"], scenario.hand["instance"]),
        ),
        ("aws_key_pair", "hand-key"),
        ("aws_launch_template", scenario.hand["template"]),
        ("aws_autoscaling_group", "hand-asg"),
    ]
    for key in expected:
        assert key in found, key
        assert not found[key].default and key[1] not in managed_ids, key
    attachment = registered_types("aws")["aws_volume_attachment"]
    assert attachment.import_id is not None
    raw = {"Device": "/dev/sdk", "VolumeId": scenario.hand["volume"], "InstanceId": scenario.hand["instance"]}
    assert attachment.import_id(raw) == f"/dev/sdk:{scenario.hand['volume']}:{scenario.hand['instance']}"
    unmanaged = {
        (r.type, r.id) for r in scenario.before.resources if not r.default and r.id not in managed_ids
    }
    assert unmanaged == set(expected)


def test_out_of_band_changes_are_read_live(scenario: Scenario) -> None:
    def live(tf_type: str, name: str, index: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        expected = scenario.attrs(tf_type, name, index)
        res = scenario.found(scenario.after, tf_type, expected["id"])
        assert res is not None, (tf_type, name, index)
        return expected, res.attributes

    expected, actual = live("aws_instance", "web", 1)
    assert (expected["instance_type"], actual["instance_type"]) == ("t3.small", "t3.large")
    assert (expected["disable_api_termination"], actual["disable_api_termination"]) == (False, True)
    assert actual["tags"] == {"Name": "web-1", "env": "prod"}
    expected, actual = live("aws_ebs_volume", "data", "b")
    assert (expected["size"], actual["size"]) == (20, 50)
    expected, actual = live("aws_key_pair", "k", 0)
    assert (expected["tags"], actual["tags"]) == ({"idx": "0"}, {"idx": "0", "owner": "ops"})
    expected, actual = live("aws_launch_template", "lt")
    assert (expected["latest_version"], actual["latest_version"]) == (1, 2)
    assert (expected["instance_type"], actual["instance_type"]) == ("t3.micro", "t3.large")
    expected, actual = live("aws_autoscaling_group", "asg")
    assert (expected["max_size"], actual["max_size"]) == (3, 5)
    assert (expected["health_check_grace_period"], actual["health_check_grace_period"]) == (120, 60)
    detached = scenario.attrs("aws_volume_attachment", "data")["id"]
    assert scenario.found(scenario.after, "aws_volume_attachment", detached) is None
