"""Codegen (engine/codegen): HCL escaping and layout, argument selection, references, names, skips.

Pure: hand-built live Resources and the shipped provider schema (plus small synthetic schemas for
rules no shipped type exercises). tests/remediation/test_codegen_terraform.py proves the same output
against the real Terraform CLI and provider.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from driftmgr.engine.codegen import Generated, generate
from driftmgr.engine.codegen.hcl import Body, Expr, JsonDoc, object_key, quote, value
from driftmgr.engine.codegen.naming import Namer, base_name, sanitize
from driftmgr.engine.schema import ProviderSchema
from driftmgr.models import Resource

AWS_SCHEMA = Path(__file__).resolve().parents[2] / "src" / "driftmgr" / "providers" / "aws" / "schema.json"
VPC = "vpc-0a1b2c3d4e5f60718"
SUBNET = "subnet-0fedcba9876543210"
SG_A, SG_B = "sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2"


@pytest.fixture(scope="module")
def schema() -> ProviderSchema:
    return ProviderSchema.from_dict(json.loads(AWS_SCHEMA.read_text()))


def res(tf_type: str, rid: str, **attrs: Any) -> Resource:
    return Resource(provider="aws", type=tf_type, id=rid, region="us-east-1", attributes=attrs)


def block_of(generated: Generated, address: str) -> str:
    """The text of one `resource` block of generated.tf."""
    tf_type, name = address.split(".")
    m = re.search(rf'^resource "{tf_type}" "{name}" {{\n.*?^}}\n', generated.generated_tf, re.M | re.S)
    assert m, f"{address} not in:\n{generated.generated_tf}"
    return m.group(0)


def args(text: str) -> dict[str, str]:
    """`name = value` lines of a block (any nesting), alignment removed."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s+([\w\":-]+)\s+= (.*)$", text, re.M)}


# --- HCL literals and layout ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("${var.x}", '"$${var.x}"'),
        ("%{ if x }", '"%%{ if x }"'),
        ("$${already}", '"$$${already}"'),  # a literal "$" then a literal "${"
        ("cost $5 and 100%", '"cost $5 and 100%"'),  # lone $ and % need nothing
        ("a\nb\tc\rd", r'"a\nb\tc\rd"'),
        ("bell\x07", r'"bell\u0007"'),
        ("naïve ✓", '"naïve ✓"'),
        ("", '""'),
    ],
)
def test_strings_are_escaped_for_hcl(raw: str, written: str) -> None:
    assert quote(raw) == written


def test_object_keys_are_bare_only_when_plain_identifiers() -> None:
    assert object_key("Name") == "Name"
    assert object_key("team-a") == "team-a"
    assert object_key("aws:SecureTransport") == '"aws:SecureTransport"'
    assert object_key("1st") == '"1st"'
    assert object_key("for") == '"for"'  # would start a for expression
    assert object_key("has space") == '"has space"'


def test_values_render_as_hcl_expressions() -> None:
    assert value(None) == "null"
    assert value(True) == "true"
    assert value(3) == "3"
    assert value(2.0) == "2"
    assert value(0.25) == "0.25"
    assert value(["a", 1]) == '["a", 1]'
    assert value(Expr("aws_vpc.main.id")) == "aws_vpc.main.id"
    assert value(JsonDoc({"Version": "2012-10-17", "Statement": []})) == (
        'jsonencode({\n  Version   = "2012-10-17"\n  Statement = []\n})'
    )
    with pytest.raises(ValueError, match="cannot be written"):
        value(float("nan"))


def test_body_aligns_equals_like_terraform_fmt() -> None:
    body = Body()
    body.attr("cidr_block", "10.0.0.0/16")
    body.attr("enable_dns_hostnames", True)
    body.attr("tags", {"Name": "main", "cost-center": "a"})
    body.attr("z", 1)
    inner = body.block("ingress")
    inner.attr("from_port", 443)
    inner.attr("protocol", "tcp")
    assert body.render(1) == (
        '  cidr_block           = "10.0.0.0/16"\n'
        "  enable_dns_hostnames = true\n"
        "  tags = {\n"
        '    Name        = "main"\n'
        '    cost-center = "a"\n'
        "  }\n"
        "  z = 1\n"
        "\n"
        "  ingress {\n"
        "    from_port = 443\n"
        '    protocol  = "tcp"\n'
        "  }\n"
    )


# --- which arguments are written ----------------------------------------------------------------


def test_computed_only_id_tags_all_and_empty_values_are_not_written(schema: ProviderSchema) -> None:
    vpc = res(
        "aws_vpc",
        VPC,
        id=VPC,
        arn=f"arn:aws:ec2:us-east-1:123456789012:vpc/{VPC}",
        owner_id="123456789012",
        cidr_block="10.0.0.0/16",
        main_route_table_id="rtb-0123456789abcdef0",
        dhcp_options_id="dopt-1",
        ipv6_cidr_block="",
        ipv6_association_id="",
        tags={"Name": "main"},
        tags_all={"Name": "main"},
        instance_tenancy="default",
        enable_dns_support=True,
        enable_dns_hostnames=False,
        assign_generated_ipv6_cidr_block=False,
    )
    out = generate([vpc], {}, schema)
    text = block_of(out, "aws_vpc.main")
    assert args(text) == {"cidr_block": '"10.0.0.0/16"', "tags": "{", "Name": '"main"'}
    for absent in ("arn", "owner_id", "main_route_table_id", "dhcp_options_id", "tags_all", " id ", "ipv6"):
        assert absent not in text


def test_non_default_values_are_written(schema: ProviderSchema) -> None:
    vpc = res(
        "aws_vpc", VPC, cidr_block="10.0.0.0/16", enable_dns_support=False, instance_tenancy="dedicated"
    )
    text = block_of(generate([vpc], {}, schema), "aws_vpc.vpc_0a1b2c3d4e5f60718")
    assert args(text) == {
        "cidr_block": '"10.0.0.0/16"',
        "enable_dns_support": "false",  # the provider default is true: false must be written
        "instance_tenancy": '"dedicated"',
    }


def test_deprecated_arguments_are_not_written(schema: ProviderSchema) -> None:
    bucket = res("aws_s3_bucket", "logs", bucket="logs", acl="private", acceleration_status="Enabled")
    text = block_of(generate([bucket], {}, schema), "aws_s3_bucket.logs")
    assert args(text) == {"bucket": '"logs"'}


def test_nested_blocks_are_blocks_and_required_zero_ports_stay(schema: ProviderSchema) -> None:
    rule = {
        "cidr_blocks": ["10.0.0.0/8"],
        "description": "",
        "from_port": 0,
        "to_port": 0,
        "protocol": "-1",
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "security_groups": [],
        "self": False,
    }
    sg = res(
        "aws_security_group",
        SG_A,
        name="web",
        name_prefix="",
        description="web",
        vpc_id=VPC,
        ingress=[{**rule, "from_port": 443, "to_port": 443, "protocol": "tcp", "description": "https"}],
        egress=[rule],
    )
    text = block_of(generate([sg], {}, schema), "aws_security_group.web")
    assert "  egress {\n" in text and "  ingress {\n" in text
    egress = text[text.index("egress {") : text.index("}", text.index("egress {"))]
    assert args(egress) == {
        "cidr_blocks": '["10.0.0.0/8"]',
        "from_port": "0",
        "protocol": '"-1"',
        "to_port": "0",
    }
    assert "self" not in text and "ingress =" not in text


def test_conflicting_arguments_keep_one_side(schema: ProviderSchema) -> None:
    subnet = res(
        "aws_subnet",
        SUBNET,
        vpc_id=VPC,
        cidr_block="10.0.1.0/24",
        availability_zone="us-east-1a",
        availability_zone_id="use1-az6",
    )
    sg = res("aws_security_group", SG_A, name="web", name_prefix="terraform-", description="web")
    out = generate([subnet, sg], {}, schema)
    assert "availability_zone_id" not in out.generated_tf
    assert 'availability_zone = "us-east-1a"' in out.generated_tf
    assert "name_prefix" not in out.generated_tf  # conflicts with name


def test_json_documents_are_jsonencoded_with_policy_variables_escaped(schema: ProviderSchema) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/${aws:username}/*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ],
    }
    policy = res(
        "aws_iam_policy",
        "arn:aws:iam::123456789012:policy/p",
        name="p",
        path="/",
        policy=json.dumps(doc),
        description="",
    )
    text = block_of(generate([policy], {}, schema), "aws_iam_policy.p")
    assert "policy = jsonencode({\n" in text
    assert '"arn:aws:s3:::b/$${aws:username}/*"' in text
    assert '"aws:SecureTransport" = "true"' in text
    assert "path" not in text  # "/" is the default


def test_aws_default_policies_are_left_out(schema: ProviderSchema) -> None:
    default = {
        "Id": "key-default-1",
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    custom = {**default, "Id": "custom"}
    key_a = res("aws_kms_key", "1111-a", description="a", policy=json.dumps(default))
    key_b = res("aws_kms_key", "2222-b", description="b", policy=json.dumps(custom))
    out = generate([key_a, key_b], {}, schema)
    assert "policy" not in block_of(out, "aws_kms_key.a")
    assert "policy = jsonencode(" in block_of(out, "aws_kms_key.b")


def test_import_blocks_use_the_import_id_when_set(schema: ProviderSchema) -> None:
    rule = Resource(
        "aws",
        "aws_security_group_rule",
        "sgrule-1",
        attributes={
            "type": "ingress",
            "security_group_id": SG_A,
            "protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr_blocks": ["10.0.0.0/8"],
        },
        import_id=f"{SG_A}_ingress_tcp_22_22_10.0.0.0/8",
    )
    vpc = res("aws_vpc", VPC, cidr_block="10.0.0.0/16", tags={"Name": "main"})
    out = generate([rule, vpc], {}, schema)
    addr = out.addresses[("aws_security_group_rule", "sgrule-1")]
    assert f'import {{\n  to = {addr}\n  id = "{SG_A}_ingress_tcp_22_22_10.0.0.0/8"\n}}\n' in out.imports_tf
    assert f'import {{\n  to = aws_vpc.main\n  id = "{VPC}"\n}}\n' in out.imports_tf


# --- references ---------------------------------------------------------------------------------


def test_reference_to_a_managed_resource(schema: ProviderSchema) -> None:
    subnet = res("aws_subnet", SUBNET, vpc_id=VPC, cidr_block="10.0.1.0/24", tags={"Name": "app"})
    out = generate([subnet], {("aws_vpc", VPC): "aws_vpc.main"}, schema)
    assert args(block_of(out, "aws_subnet.app"))["vpc_id"] == "aws_vpc.main.id"
    assert VPC not in out.generated_tf
    assert "aws_vpc" not in out.imports_tf  # managed: not imported again


def test_resources_inside_modules_and_indexed_addresses(schema: ProviderSchema) -> None:
    subnets = [
        res("aws_subnet", SUBNET, vpc_id=VPC, cidr_block="10.0.1.0/24", tags={"Name": "a"}),
        res(
            "aws_subnet",
            "subnet-0fedcba9876543211",
            vpc_id="vpc-0a1b2c3d4e5f60719",
            cidr_block="10.1.1.0/24",
            tags={"Name": "b"},
        ),
    ]
    managed = {
        ("aws_vpc", VPC): 'module.net.aws_vpc.this["a"]',
        ("aws_vpc", "vpc-0a1b2c3d4e5f60719"): "aws_vpc.x[0]",
    }
    out = generate(subnets, managed, schema)
    assert args(block_of(out, "aws_subnet.a"))["vpc_id"] == f'"{VPC}"'  # root code cannot reach a module
    assert args(block_of(out, "aws_subnet.b"))["vpc_id"] == "aws_vpc.x[0].id"


def test_references_to_resources_codified_in_the_same_run(schema: ProviderSchema) -> None:
    role = res(
        "aws_iam_role",
        "app",
        name="app",
        arn="arn:aws:iam::123456789012:role/app",
        assume_role_policy='{"Version":"2012-10-17","Statement":[]}',
    )
    policy = res(
        "aws_iam_policy",
        "arn:aws:iam::123456789012:policy/read",
        name="read",
        policy='{"Version":"2012-10-17","Statement":[]}',
    )
    attach = res(
        "aws_iam_role_policy_attachment",
        "app/arn:aws:iam::123456789012:policy/read",
        role="app",
        policy_arn="arn:aws:iam::123456789012:policy/read",
    )
    profile = res("aws_iam_instance_profile", "app-profile", name="app-profile", role="app")
    out = generate([attach, profile, policy, role], {}, schema)
    a = args(block_of(out, "aws_iam_role_policy_attachment.app_read"))
    assert a == {"policy_arn": "aws_iam_policy.read.arn", "role": "aws_iam_role.app.name"}
    assert args(block_of(out, "aws_iam_instance_profile.app_profile"))["role"] == "aws_iam_role.app.name"


def test_values_that_are_data_or_ambiguous_stay_literal(schema: ProviderSchema) -> None:
    vpc = res("aws_vpc", VPC, cidr_block="10.0.0.0/16", tags={"Name": "main"})
    # a tag holding a VPC id is data; a description naming a VPC id is data
    sg = res("aws_security_group", SG_A, name="web", description=VPC, tags={"vpc": VPC})
    # "app" is the id of both a role and a repository: `name` is never a reference anyway
    repo = res("aws_ecr_repository", "app", name="app")
    role = res("aws_iam_role", "app", name="app", assume_role_policy="{}")
    out = generate([vpc, sg, repo, role], {}, schema)
    text = block_of(out, "aws_security_group.web")
    assert f'description = "{VPC}"' in text and f'vpc = "{VPC}"' in text
    assert args(block_of(out, "aws_ecr_repository.app"))["name"] == '"app"'


def test_name_valued_arguments_only_reference_their_own_type(schema: ProviderSchema) -> None:
    repo = res("aws_ecr_repository", "app", name="app")
    profile = res("aws_iam_instance_profile", "p", name="p", role="app")  # role "app" is not a repo
    out = generate([repo, profile], {}, schema)
    assert args(block_of(out, "aws_iam_instance_profile.p"))["role"] == '"app"'


def test_a_resource_never_references_itself(schema: ProviderSchema) -> None:
    rule = {"from_port": 0, "to_port": 0, "protocol": "-1", "security_groups": [SG_A], "self": False}
    sg = res("aws_security_group", SG_A, name="a", description="a", ingress=[rule])
    text = block_of(generate([sg], {}, schema), "aws_security_group.a")
    assert f'security_groups = ["{SG_A}"]' in text


def test_reference_cycles_are_broken_with_one_literal(schema: ProviderSchema) -> None:
    def sg(rid: str, name: str, peer: str) -> Resource:
        rule = {"from_port": 443, "to_port": 443, "protocol": "tcp", "security_groups": [peer]}
        return res("aws_security_group", rid, name=name, description=name, ingress=[rule])

    out = generate([sg(SG_A, "a", SG_B), sg(SG_B, "b", SG_A)], {}, schema)
    a, b = block_of(out, "aws_security_group.a"), block_of(out, "aws_security_group.b")
    refs = ["aws_security_group.b.id" in a, "aws_security_group.a.id" in b]
    assert sorted(refs) == [False, True]  # exactly one reference kept, the other is the literal id
    assert (f'["{SG_B}"]' in a) != (f'["{SG_A}"]' in b)


# --- names ------------------------------------------------------------------------------------


def test_names_are_sanitized() -> None:
    assert sanitize("Web Servers (prod)") == "web_servers_prod"
    assert sanitize("/app/config") == "app_config"
    assert sanitize("123-abc") == "r_123_abc"
    assert sanitize("***") == "this"
    assert len(sanitize("x" * 200)) == 64
    assert (
        base_name("aws_lb_target_group", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/4de5", {})
        == "web"
    )
    assert base_name("aws_sqs_queue", "https://sqs.us-east-1.amazonaws.com/1/jobs", {}) == "jobs"
    assert base_name("aws_vpc", VPC, {"tags": {"Name": "Prod VPC"}}) == "prod_vpc"
    assert (
        base_name("aws_iam_role_policy_attachment", "app/arn:aws:iam::1:policy/read-s3", {}) == "app_read_s3"
    )


def test_names_are_unique_per_type_and_avoid_managed_addresses(schema: ProviderSchema) -> None:
    vpcs = [
        res("aws_vpc", f"vpc-0000000000000000{i}", cidr_block=f"10.{i}.0.0/16", tags={"Name": n})
        for i, n in enumerate(["Main", "main", "MAIN!"])
    ]
    subnet = res("aws_subnet", SUBNET, vpc_id=VPC, cidr_block="10.0.1.0/24", tags={"Name": "main"})
    out = generate(vpcs, {("aws_vpc", "vpc-managed0000000"): "aws_vpc.main"}, schema)
    assert [out.addresses[v.key] for v in vpcs] == ["aws_vpc.main_2", "aws_vpc.main_3", "aws_vpc.main_4"]
    assert generate([subnet], {}, schema).addresses[subnet.key] == "aws_subnet.main"  # other type: free
    namer = Namer(["module.net.aws_vpc.main", 'aws_vpc.x["a"]'])
    assert namer.name("aws_vpc", "main") == "main"  # a module's address does not clash
    assert namer.name("aws_vpc", "x") == "x_2"


def test_attachments_are_named_after_what_they_join(schema: ProviderSchema) -> None:
    instance = res(
        "aws_instance", "i-0123456789abcdef0", ami="ami-1", instance_type="t3.micro", tags={"Name": "web"}
    )
    volume = res("aws_ebs_volume", "vol-0123456789abcdef0", availability_zone="us-east-1a", size=8)
    attach = res(
        "aws_volume_attachment",
        "vai-1",
        instance_id="i-0123456789abcdef0",
        volume_id="vol-0123456789abcdef0",
        device_name="/dev/sdf",
    )
    out = generate([attach, volume, instance], {}, schema)
    assert out.addresses[attach.key] == "aws_volume_attachment.web_dev_sdf"
    assert args(block_of(out, "aws_volume_attachment.web_dev_sdf")) == {
        "device_name": '"/dev/sdf"',
        "instance_id": "aws_instance.web.id",
        "volume_id": "aws_ebs_volume.vol_0123456789abcdef0.id",
    }


def test_output_does_not_depend_on_input_order(schema: ProviderSchema) -> None:
    items = [
        res("aws_vpc", VPC, cidr_block="10.0.0.0/16", tags={"Name": "main"}),
        res("aws_subnet", SUBNET, vpc_id=VPC, cidr_block="10.0.1.0/24"),
        res("aws_subnet", "subnet-0fedcba9876543211", vpc_id=VPC, cidr_block="10.0.2.0/24"),
        res("aws_security_group", SG_A, name="web", description="web", vpc_id=VPC),
        res("aws_security_group", SG_B, name="web", description="web 2", vpc_id=VPC),
    ]
    first = generate(items, {}, schema)
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    again = generate(shuffled, {}, schema)
    assert (again.imports_tf, again.generated_tf, again.addresses) == (
        first.imports_tf,
        first.generated_tf,
        first.addresses,
    )
    assert first.addresses[("aws_security_group", SG_A)] == "aws_security_group.web"
    assert first.addresses[("aws_security_group", SG_B)] == "aws_security_group.web_2"


# --- skipped and sensitive ----------------------------------------------------------------------


def test_what_cannot_be_codified_is_skipped_with_a_reason(schema: ProviderSchema) -> None:
    default_vpc = Resource(
        "aws",
        "aws_vpc",
        "vpc-0default000000000",
        attributes={"cidr_block": "172.31.0.0/16"},
        default=True,
        default_reason="default VPC",
    )
    sg = res("aws_security_group", SG_A, name="web", description="web")
    child = Resource(
        "aws",
        "aws_vpc_security_group_ingress_rule",
        "sgr-0123456789abcdef0",
        attributes={"security_group_id": SG_A, "ip_protocol": "-1"},
        parent=("aws_security_group", SG_A),
        parent_attr="ingress",
    )
    resources = [
        default_vpc,
        sg,
        child,
        res("aws_not_a_type", "x"),
        res("aws_key_pair", "deploy", key_name="deploy", public_key="ssh-ed25519 AAAA"),
        res("aws_ssm_parameter", "/db/password", name="/db/password", type="SecureString"),
        res("aws_ssm_parameter", "/app/mode", name="/app/mode", type="String", value="blue"),
        res("aws_subnet", SUBNET, cidr_block="10.0.1.0/24"),  # no vpc_id: a required argument
    ]
    out = generate(resources, {}, schema)
    skipped = {(t, i): reason for t, i, reason in out.skipped}
    assert set(out.addresses) == {sg.key}
    assert skipped[default_vpc.key] == "cloud default: default VPC"
    assert "inline as `ingress` of aws_security_group" in skipped[child.key]
    assert skipped[("aws_not_a_type", "x")] == "no provider schema for aws_not_a_type"
    assert "public_key" in skipped[("aws_key_pair", "deploy")]
    assert "sensitive" in skipped[("aws_ssm_parameter", "/db/password")]
    assert "sensitive" in skipped[("aws_ssm_parameter", "/app/mode")]
    assert skipped[("aws_subnet", SUBNET)] == "the live attributes lack the required argument vpc_id"
    assert "blue" not in out.generated_tf


def test_a_child_of_a_managed_parent_is_codified_on_its_own(schema: ProviderSchema) -> None:
    child = Resource(
        "aws",
        "aws_vpc_security_group_ingress_rule",
        "sgr-0123456789abcdef0",
        attributes={
            "security_group_id": SG_A,
            "ip_protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr_ipv4": "10.0.0.0/8",
        },
        parent=("aws_security_group", SG_A),
        parent_attr="ingress",
    )
    out = generate([child], {("aws_security_group", SG_A): "aws_security_group.web"}, schema)
    addr = out.addresses[child.key]
    assert args(block_of(out, addr))["security_group_id"] == "aws_security_group.web.id"


def test_optional_sensitive_values_are_never_written_but_flagged(schema: ProviderSchema) -> None:
    db = res(
        "aws_db_instance",
        "db1",
        identifier="db1",
        instance_class="db.t3.micro",
        engine="postgres",
        username="admin",
        password="hunter2-secret",
        allocated_storage=20,
    )
    out = generate([db], {}, schema)
    text = block_of(out, "aws_db_instance.db1")
    assert "hunter2" not in out.generated_tf and "password" not in args(text)
    assert out.notes == [("aws_db_instance", "db1", "password is sensitive and was not written")]
    assert "  # password is sensitive and was not written" in text


def test_a_required_sensitive_argument_skips_the_resource() -> None:
    tiny = ProviderSchema.from_dict(
        {
            "resource_schemas": {
                "aws_thing": {
                    "block": {
                        "attributes": {
                            "id": {"type": "string", "computed": True, "optional": True},
                            "name": {"type": "string", "required": True},
                            "token": {"type": "string", "required": True, "sensitive": True},
                        }
                    }
                }
            }
        }
    )
    out = generate([res("aws_thing", "t1", name="t1", token="s3cr3t")], {}, tiny)
    assert out.addresses == {}
    assert out.skipped == [
        ("aws_thing", "t1", "token is a required sensitive argument: its value is never written")
    ]
    assert "s3cr3t" not in out.generated_tf + out.imports_tf


def test_nested_required_sensitive_argument_skips_the_resource(schema: ProviderSchema) -> None:
    oidc = {
        "authorization_endpoint": "https://idp/auth",
        "client_id": "c",
        "client_secret": "oidc-secret",
        "issuer": "https://idp",
        "token_endpoint": "https://idp/token",
        "user_info_endpoint": "https://idp/u",
    }
    listener = res(
        "aws_lb_listener",
        "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/lb/1/2",
        load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/lb/1",
        port=443,
        default_action=[{"type": "authenticate-oidc", "authenticate_oidc": [oidc]}],
    )
    out = generate([listener], {}, schema)
    assert out.addresses == {}
    assert "default_action.authenticate_oidc.client_secret" in out.skipped[0][2]
    assert "oidc-secret" not in out.generated_tf
