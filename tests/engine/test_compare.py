"""The comparison rules of DESIGN §2, one test (at least) per rule, on real schema shapes."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftmgr.engine.diff import DEFAULT_RULES, MASK, CompareRules, compare
from driftmgr.engine.schema import Kind, ProviderSchema, TypeSchema
from driftmgr.models import Change

REPO = Path(__file__).resolve().parents[2]
AWS_SCHEMA = REPO / "src" / "driftmgr" / "providers" / "aws" / "schema.json"
DEMO_STATE = REPO / "src" / "driftmgr" / "examples" / "demo.tfstate"

SG_RULE = {
    "cidr_blocks": ["0.0.0.0/0"],
    "description": "",
    "from_port": 443,
    "ipv6_cidr_blocks": [],
    "prefix_list_ids": [],
    "protocol": "tcp",
    "security_groups": [],
    "self": False,
    "to_port": 443,
}
POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Sid":"PublicReadGetObject","Effect":"Allow","Principal":"*",'
    '"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-martin-test-drift2/*"}]}'
)  # from the driftctl corpus aws_s3_full state


@pytest.fixture(scope="module")
def aws_schema() -> ProviderSchema:
    return ProviderSchema.from_dict(json.loads(AWS_SCHEMA.read_text()))


@pytest.fixture(scope="module")
def aws(aws_schema: ProviderSchema) -> Callable[[str], TypeSchema]:
    def get(tf_type: str) -> TypeSchema:
        found = aws_schema.type(tf_type)
        assert found is not None, tf_type
        return found

    return get


def paths(changes: list[Change]) -> list[str]:
    return sorted(c.path for c in changes)


def sg_state() -> dict[str, Any]:
    return {
        "arn": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
        "description": "Managed by Terraform",
        "egress": [],
        "id": "sg-1",
        "ingress": [SG_RULE],
        "name": "web",
        "name_prefix": "",
        "owner_id": "123456789012",
        "revoke_rules_on_delete": False,
        "tags": {"env": "demo"},
        "tags_all": {"env": "demo"},
        "timeouts": None,
        "vpc_id": "vpc-1",
    }


# --- rule 1: only what the provider read is compared -----------------------------------------


def test_attribute_absent_from_actual_is_unknown_not_drift(aws: Callable[[str], TypeSchema]) -> None:
    state = {"instance_type": "t3.micro", "ami": "ami-1", "monitoring": True}
    assert compare(state, {"ami": "ami-1"}, aws("aws_instance")) == []


def test_explicit_none_in_actual_means_read_and_empty(aws: Callable[[str], TypeSchema]) -> None:
    changes = compare({"instance_type": "t3.micro"}, {"instance_type": None}, aws("aws_instance"))
    assert changes == [Change("instance_type", "t3.micro", None)]


def test_changed_scalar_is_reported_with_expected_and_actual(aws: Callable[[str], TypeSchema]) -> None:
    changes = compare({"instance_type": "t3.micro"}, {"instance_type": "t3.large"}, aws("aws_instance"))
    assert changes == [Change("instance_type", "t3.micro", "t3.large", "medium")]


def test_attribute_unknown_to_schema_and_state_is_not_compared(aws: Callable[[str], TypeSchema]) -> None:
    assert compare({"name": "web"}, {"name": "web", "provider_extra": "x"}, aws("aws_security_group")) == []


# --- rule 2: computed-only, tags_all, id, volatile, ignore ------------------------------------


def test_computed_only_attributes_never_count(aws: Callable[[str], TypeSchema]) -> None:
    live = {**sg_state(), "arn": "arn:other", "owner_id": "999999999999"}
    assert compare(sg_state(), live, aws("aws_security_group")) == []
    # an optional+computed attribute does count
    assert paths(compare(sg_state(), {**sg_state(), "vpc_id": "vpc-2"}, aws("aws_security_group"))) == [
        "vpc_id"
    ]


def test_id_never_counts(aws: Callable[[str], TypeSchema]) -> None:
    assert compare(sg_state(), {**sg_state(), "id": "sg-2"}, aws("aws_security_group")) == []


def test_tags_all_never_counts(aws: Callable[[str], TypeSchema]) -> None:
    live = {**sg_state(), "tags_all": {"env": "demo", "extra": "x"}}
    assert compare(sg_state(), live, aws("aws_security_group")) == []


def test_tags_compare_against_state_tags_all_with_provider_default_tags(
    aws: Callable[[str], TypeSchema],
) -> None:
    state = {**sg_state(), "tags": {"env": "demo"}, "tags_all": {"env": "demo", "owner": "platform"}}
    sg = aws("aws_security_group")
    assert compare(state, {"tags": {"env": "demo", "owner": "platform"}}, sg) == []
    assert compare(state, {"tags": {"env": "demo"}}, sg) == [Change("tags.owner", "platform", None)]


def test_tags_read_as_tags_all_compare_as_tags(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    assert compare(sg_state(), {"tags_all": {"env": "prod"}}, sg) == [Change("tags.env", "demo", "prod")]


def test_volatile_attributes_never_count_even_without_schema() -> None:
    state = {"latest_restorable_time": "2024-01-01T00:00:00Z", "last_modified": "a", "engine": "postgres"}
    live = {"latest_restorable_time": "2024-06-01T00:00:00Z", "last_modified": "b", "engine": "postgres"}
    assert compare(state, live, None) == []
    rules = dataclasses.replace(DEFAULT_RULES, volatile=frozenset())
    assert paths(compare(state, live, None, rules=rules)) == ["last_modified", "latest_restorable_time"]


def test_ignore_names_block_children_and_tag_wildcards(aws: Callable[[str], TypeSchema]) -> None:
    inst = aws("aws_instance")
    state = {
        "instance_type": "t3.micro",
        "tags": {"env": "a", "team-x": "1", "keep": "k"},
        "root_block_device": [{"volume_size": 8, "volume_type": "gp2"}],
    }
    live = {
        "instance_type": "t3.large",
        "tags": {"env": "b", "team-x": "2", "keep": "K"},
        "root_block_device": [{"volume_size": 20, "volume_type": "gp3"}],
    }
    assert paths(compare(state, live, inst)) == [
        "instance_type",
        "root_block_device[0].volume_size",
        "root_block_device[0].volume_type",
        "tags.env",
        "tags.keep",
        "tags.team-x",
    ]
    ignored = compare(
        state,
        live,
        inst,
        ignore=["instance_type", "root_block_device.volume_size", "tags.team-*", "tags.env"],
    )
    assert paths(ignored) == ["root_block_device[0].volume_type", "tags.keep"]
    assert compare(state, live, inst, ignore=["tags.*", "root_block_device", "instance_type"]) == []


def test_ignore_applies_inside_set_elements(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    live = {**sg_state(), "ingress": [{**SG_RULE, "description": "edited in the console"}]}
    assert paths(compare(sg_state(), live, sg)) == ["ingress"]
    assert compare(sg_state(), live, sg, ignore=["ingress.description"]) == []


# --- rule 3: null / empty / default ------------------------------------------------------------


def test_empty_tags_equal_null(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    state = {**sg_state(), "tags": None, "tags_all": {}, "name_prefix": None, "egress": None}
    live = {**sg_state(), "tags": {}, "tags_all": {}, "name_prefix": "", "egress": []}
    assert compare(state, live, sg) == []


def test_empty_nested_block_equals_absent_and_null(aws: Callable[[str], TypeSchema]) -> None:
    inst = aws("aws_instance")
    state = {"ebs_block_device": [], "credit_specification": None, "volume_tags": None}
    live = {"ebs_block_device": None, "credit_specification": [], "volume_tags": {}}
    assert compare(state, live, inst) == []


def test_block_with_nothing_set_equals_no_block(aws: Callable[[str], TypeSchema]) -> None:
    inst = aws("aws_instance")
    state = {"credit_specification": [], "ebs_block_device": []}
    live = {"credit_specification": [{"cpu_credits": ""}], "ebs_block_device": [{"volume_id": "vol-1"}]}
    assert compare(state, live, inst) == []
    set_live = {"credit_specification": [{"cpu_credits": "unlimited"}]}
    assert paths(compare(state, set_live, inst)) == ["credit_specification"]


def test_attribute_missing_from_state_equals_empty(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    assert compare({"name": "web"}, {"name": "web", "description": ""}, sg) == []
    assert compare({"name": "web"}, {"name": "web", "description": "x"}, sg) == [
        Change("description", None, "x")
    ]


def test_required_attribute_keeps_null_and_empty_apart(aws: Callable[[str], TypeSchema]) -> None:
    changes = compare({"policy": None}, {"policy": ""}, aws("aws_iam_role_policy"))
    assert changes == [Change("policy", None, "")]


def test_provider_default_equals_null_in_state(aws: Callable[[str], TypeSchema]) -> None:
    inst = aws("aws_instance")
    assert compare({"monitoring": None}, {"monitoring": False}, inst) == []
    assert compare({"monitoring": None}, {"monitoring": True}, inst) == [Change("monitoring", None, True)]
    no_defaults = dataclasses.replace(DEFAULT_RULES, defaults={})
    assert paths(compare({"monitoring": None}, {"monitoring": False}, inst, rules=no_defaults)) == [
        "monitoring"
    ]
    assert (
        compare({"description": None}, {"description": "Managed by Terraform"}, aws("aws_security_group"))
        == []
    )


def test_provider_default_equals_null_inside_set_elements(aws: Callable[[str], TypeSchema]) -> None:
    acl = aws("aws_network_acl")
    entry = {"action": "allow", "cidr_block": "10.0.0.0/8", "from_port": 443, "to_port": 443,
             "ipv6_cidr_block": "", "protocol": "6", "rule_no": 100}  # fmt: skip
    state = {"ingress": [{**entry, "icmp_code": None, "icmp_type": None}]}
    assert compare(state, {"ingress": [{**entry, "icmp_code": 0, "icmp_type": 0}]}, acl) == []
    changed = [{**entry, "icmp_code": 3, "icmp_type": 0}]
    assert compare(state, {"ingress": changed}, acl) == [Change("ingress", state["ingress"], changed)]
    alarm = aws("aws_cloudwatch_metric_alarm")
    query = {"id": "e1", "expression": "m1 * 100", "label": "rate", "return_data": True}
    assert (
        compare(
            {"metric_query": [{**query, "period": None}]}, {"metric_query": [{**query, "period": 0}]}, alarm
        )
        == []
    )
    sse = aws("aws_s3_bucket_server_side_encryption_configuration")
    rule = {"apply_server_side_encryption_by_default": [{"kms_master_key_id": "", "sse_algorithm": "AES256"}]}
    assert compare({"rule": [{**rule, "bucket_key_enabled": None}]},
                   {"rule": [{**rule, "bucket_key_enabled": False}]}, sse) == []  # fmt: skip
    assert paths(compare({"rule": [{**rule, "bucket_key_enabled": None}]},
                         {"rule": [{**rule, "bucket_key_enabled": True}]}, sse)) == ["rule"]  # fmt: skip


def test_protocol_names_equal_their_numbers(aws: Callable[[str], TypeSchema]) -> None:
    acl = aws("aws_network_acl")
    entry = {"action": "allow", "cidr_block": "10.0.0.0/8", "from_port": 53, "to_port": 53, "rule_no": 100}
    state = {"egress": [{**entry, "protocol": "udp"}, {**entry, "rule_no": 200, "protocol": "all"}]}
    live = {"egress": [{**entry, "rule_no": 200, "protocol": "-1"}, {**entry, "protocol": "17"}]}
    assert compare(state, live, acl) == []
    assert paths(compare(state, {"egress": [live["egress"][0], {**entry, "protocol": "6"}]}, acl)) == [
        "egress"
    ]
    rule = aws("aws_security_group_rule")
    assert compare({"protocol": "tcp"}, {"protocol": "6"}, rule) == []
    assert compare({"protocol": "tcp"}, {"protocol": "udp"}, rule) == [Change("protocol", "tcp", "udp")]
    listener = aws("aws_lb_listener")  # an application protocol, not an IP one: still compared
    assert compare({"protocol": "TCP"}, {"protocol": "UDP"}, listener) == [Change("protocol", "TCP", "UDP")]


# --- rule 4: sets, lists, maps -----------------------------------------------------------------


def test_sg_rules_compare_as_set(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    r22 = {**SG_RULE, "from_port": 22, "to_port": 22, "security_groups": ["sg-a", "sg-b"]}
    state = {**sg_state(), "ingress": [SG_RULE, r22]}
    live = {**sg_state(), "ingress": [{**r22, "security_groups": ["sg-b", "sg-a"]}, SG_RULE]}
    assert compare(state, live, sg) == []
    # cidr_blocks is a list in the schema, but AWS returns a rule's CIDRs in any order and the
    # order means nothing: it compares as a set (schema.UNORDERED_LISTS) — a changed CIDR still counts.
    moved = {**r22, "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"]}
    reordered = {**moved, "cidr_blocks": ["0.0.0.0/0", "10.0.0.0/8"]}
    assert compare({**state, "ingress": [moved]}, {**state, "ingress": [reordered]}, sg) == []
    changed = {**moved, "cidr_blocks": ["0.0.0.0/0", "10.9.0.0/16"]}
    assert paths(compare({**state, "ingress": [moved]}, {**state, "ingress": [changed]}, sg)) == ["ingress"]


def test_sg_rule_added_reports_the_added_element(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    r22 = {**SG_RULE, "from_port": 22, "to_port": 22}
    live = {**sg_state(), "ingress": [r22, SG_RULE]}
    assert compare(sg_state(), live, sg) == [Change("ingress", [], [r22])]
    assert compare(live, sg_state(), sg) == [Change("ingress", [r22], [])]


def test_set_element_compares_only_keys_the_provider_read(aws: Callable[[str], TypeSchema]) -> None:
    sg = aws("aws_security_group")
    sparse = {k: SG_RULE[k] for k in ("cidr_blocks", "from_port", "to_port", "protocol")}
    assert compare(sg_state(), {"ingress": [sparse]}, sg) == []


def test_set_of_scalars_is_order_free_and_reports_whole_sets(aws: Callable[[str], TypeSchema]) -> None:
    inst = aws("aws_instance")
    state = {"vpc_security_group_ids": ["sg-1", "sg-2"]}
    assert compare(state, {"vpc_security_group_ids": ["sg-2", "sg-1"]}, inst) == []
    changes = compare(state, {"vpc_security_group_ids": ["sg-2", "sg-3"]}, inst)
    assert changes == [Change("vpc_security_group_ids", ["sg-1", "sg-2"], ["sg-2", "sg-3"])]


def test_block_set_compares_order_free(aws: Callable[[str], TypeSchema]) -> None:
    asg = aws("aws_autoscaling_group")
    assert asg.kind("tag") is Kind.BLOCK_SET
    a = {"key": "Name", "value": "web", "propagate_at_launch": True}
    b = {"key": "team", "value": "x", "propagate_at_launch": False}
    assert compare({"tag": [a, b]}, {"tag": [b, a]}, asg) == []
    b2 = {**b, "value": "y"}
    assert compare({"tag": [a, b]}, {"tag": [b2, a]}, asg) == [Change("tag", [b], [b2])]


def test_lists_keep_order(aws: Callable[[str], TypeSchema]) -> None:
    asg = aws("aws_autoscaling_group")
    assert asg.kind("termination_policies") is Kind.LIST  # the order is the policy's precedence
    a, b = ["OldestInstance", "Default"], ["Default", "OldestInstance"]
    assert compare({"termination_policies": a}, {"termination_policies": b}, asg) == [
        Change("termination_policies", a, b)
    ]
    rule = aws("aws_security_group_rule")
    assert rule.kind("cidr_blocks") is Kind.SET  # a list in the schema, unordered for AWS (UNORDERED_LISTS)


def test_block_list_reports_indexed_child_paths(aws: Callable[[str], TypeSchema]) -> None:
    inst = aws("aws_instance")
    state = {
        "root_block_device": [
            {"volume_size": 8, "volume_type": "gp2", "volume_id": "vol-1", "delete_on_termination": True}
        ]
    }
    live = {
        "root_block_device": [
            {"volume_size": 20, "volume_type": "gp2", "volume_id": "vol-9", "delete_on_termination": True}
        ]
    }
    assert compare(state, live, inst) == [Change("root_block_device[0].volume_size", 8, 20)]
    versioning = aws("aws_s3_bucket_versioning")
    changes = compare(
        {"versioning_configuration": [{"status": "Enabled", "mfa_delete": ""}]},
        {"versioning_configuration": [{"status": "Suspended", "mfa_delete": ""}]},
        versioning,
    )
    assert changes == [Change("versioning_configuration[0].status", "Enabled", "Suspended")]


def test_block_list_of_different_length_reports_whole_lists(aws: Callable[[str], TypeSchema]) -> None:
    bucket = aws("aws_s3_bucket")
    logging = [{"target_bucket": "logs", "target_prefix": "x/"}]
    assert compare({"logging": []}, {"logging": logging}, bucket) == [Change("logging", [], logging)]


def test_maps_compare_per_key(aws: Callable[[str], TypeSchema]) -> None:
    vpc = aws("aws_vpc")
    state = {"tags": {"env": "prod", "team": "a", "kubernetes.io/role": "x"}}
    live = {"tags": {"env": "dev", "owner": "me", "kubernetes.io/role": "x"}}
    assert sorted(compare(state, live, vpc), key=lambda c: c.path) == [
        Change("tags.env", "prod", "dev"),
        Change("tags.owner", None, "me"),
        Change("tags.team", "a", None),
    ]
    quoted = compare({"tags": {"kubernetes.io/role": "x"}}, {"tags": {"kubernetes.io/role": "y"}}, vpc)
    assert quoted == [Change('tags["kubernetes.io/role"]', "x", "y")]


# --- rule 5: JSON documents ------------------------------------------------------------------


def test_policy_reordered_and_reindented_is_not_drift(aws: Callable[[str], TypeSchema]) -> None:
    bp = aws("aws_s3_bucket_policy")
    doc = json.loads(POLICY)
    stmt = doc["Statement"][0]
    live = json.dumps(
        {
            "Statement": [
                {
                    "Resource": [stmt["Resource"]],
                    "Action": [stmt["Action"]],
                    "Principal": {"AWS": "*"},
                    "Effect": "Allow",
                    "Sid": stmt["Sid"],
                }
            ],
            "Version": "2012-10-17",
        },
        indent=2,
    )
    assert compare({"policy": POLICY}, {"policy": live}, bp) == []


def test_policy_change_is_reported_with_both_documents(aws: Callable[[str], TypeSchema]) -> None:
    bp = aws("aws_s3_bucket_policy")
    live = POLICY.replace("s3:GetObject", "s3:*")
    assert compare({"policy": POLICY}, {"policy": live}, bp) == [Change("policy", POLICY, live)]


def test_assume_role_policy_empty_sid_equals_absent(aws: Callable[[str], TypeSchema]) -> None:
    role = aws("aws_iam_role")
    state = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow",'
        '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    live = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"Service":["ec2.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}'
    )
    assert compare({"assume_role_policy": state}, {"assume_role_policy": live}, role) == []


def test_container_definitions_compare_semantically(aws: Callable[[str], TypeSchema]) -> None:
    task = aws("aws_ecs_task_definition")
    state = json.dumps(
        [
            {
                "name": "web",
                "image": "nginx:1",
                "essential": True,
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            }
        ]
    )
    live = json.dumps(
        [
            {
                "environment": [{"value": "2", "name": "B"}, {"name": "A", "value": "1"}],
                "essential": True,
                "image": "nginx:1",
                "name": "web",
                "mountPoints": [],
            }
        ],
        indent=1,
    )
    assert compare({"container_definitions": state}, {"container_definitions": live}, task) == []
    changed = live.replace("nginx:1", "nginx:2")
    assert paths(compare({"container_definitions": state}, {"container_definitions": changed}, task)) == [
        "container_definitions"
    ]


def test_policy_named_attribute_that_is_not_json_compares_as_string(aws: Callable[[str], TypeSchema]) -> None:
    listener = aws("aws_lb_listener")
    changes = compare(
        {"ssl_policy": "ELBSecurityPolicy-2016-08"}, {"ssl_policy": "ELBSecurityPolicy-TLS13"}, listener
    )
    assert changes == [Change("ssl_policy", "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13")]


def test_json_policy_without_schema_uses_the_attribute_name() -> None:
    a = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}'
    b = '{"Statement":[{"Resource":"*","Action":["sqs:*"],"Effect":"Allow"}],"Version":"2012-10-17"}'
    assert compare({"policy": a}, {"policy": b}, None) == []


# --- rule 6: numbers, bools, networks, case ----------------------------------------------------


def test_numbers_compare_as_numbers(aws: Callable[[str], TypeSchema]) -> None:
    queue = aws("aws_sqs_queue")
    for live in ("30", 30.0, " 30 "):
        assert compare({"visibility_timeout_seconds": 30}, {"visibility_timeout_seconds": live}, queue) == []
    assert paths(
        compare({"visibility_timeout_seconds": 30}, {"visibility_timeout_seconds": "31"}, queue)
    ) == ["visibility_timeout_seconds"]


def test_bools_accept_strings(aws: Callable[[str], TypeSchema]) -> None:
    vpc = aws("aws_vpc")
    assert compare({"enable_dns_support": True}, {"enable_dns_support": "true"}, vpc) == []
    assert compare({"enable_dns_support": True}, {"enable_dns_support": "false"}, vpc) == [
        Change("enable_dns_support", True, "false")
    ]


def test_string_attribute_given_as_number_equals_its_text(aws: Callable[[str], TypeSchema]) -> None:
    assert compare({"engine_version": "14"}, {"engine_version": 14}, aws("aws_db_instance")) == []
    assert paths(
        compare({"engine_version": "14.1"}, {"engine_version": "14.10"}, aws("aws_db_instance"))
    ) == ["engine_version"]


def test_cidrs_compare_as_networks(aws: Callable[[str], TypeSchema]) -> None:
    vpc = aws("aws_vpc")
    assert compare({"cidr_block": "10.0.0.0/16"}, {"cidr_block": "10.0.0.0/016"}, vpc) == []
    assert (
        compare({"ipv6_cidr_block": "2600:1f18:abc::/56"}, {"ipv6_cidr_block": "2600:1F18:0ABC:0::/56"}, vpc)
        == []
    )
    assert paths(compare({"cidr_block": "10.0.0.0/16"}, {"cidr_block": "10.1.0.0/16"}, vpc)) == ["cidr_block"]
    sg = aws("aws_security_group")
    live = {"ingress": [{**SG_RULE, "cidr_blocks": ["0.0.0.0/00"]}]}
    assert compare(sg_state(), live, sg) == []


def test_arns_and_ids_are_case_sensitive(aws: Callable[[str], TypeSchema]) -> None:
    attach = aws("aws_iam_role_policy_attachment")
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert paths(compare({"policy_arn": arn}, {"policy_arn": arn.lower()}, attach)) == ["policy_arn"]
    assert paths(compare({"vpc_id": "vpc-ABC"}, {"vpc_id": "vpc-abc"}, aws("aws_subnet"))) == ["vpc_id"]


# --- rule 7: state-only attributes -----------------------------------------------------------


def test_state_only_attributes_never_count(aws: Callable[[str], TypeSchema]) -> None:
    bucket = aws("aws_s3_bucket")
    assert (
        compare(
            {"force_destroy": True, "timeouts": None}, {"force_destroy": False, "timeouts": {"x": 1}}, bucket
        )
        == []
    )
    db = aws("aws_db_instance")
    state = {"skip_final_snapshot": True, "final_snapshot_identifier": "x", "apply_immediately": True}
    live = {"skip_final_snapshot": False, "final_snapshot_identifier": None, "apply_immediately": False}
    assert compare(state, live, db) == []
    assert (
        compare(
            {"revoke_rules_on_delete": True}, {"revoke_rules_on_delete": False}, aws("aws_security_group")
        )
        == []
    )
    assert compare({"source_code_hash": "a"}, {"source_code_hash": "b"}, aws("aws_lambda_function")) == []


def test_state_only_table_is_overridable(aws: Callable[[str], TypeSchema]) -> None:
    bucket = aws("aws_s3_bucket")
    rules = CompareRules(state_only={}, state_only_suffixes=())
    assert compare({"force_destroy": True}, {"force_destroy": False}, bucket, rules=rules) == [
        Change("force_destroy", True, False)
    ]
    inst = aws("aws_instance")
    more = DEFAULT_RULES.with_state_only("aws_instance", {"user_data"})
    assert compare({"user_data": "a"}, {"user_data": "b"}, inst, rules=more) == []
    assert paths(compare({"user_data": "a"}, {"user_data": "b"}, inst)) == ["user_data"]


# --- rule 8: sensitive values ------------------------------------------------------------------


def test_sensitive_values_compare_but_are_masked(aws: Callable[[str], TypeSchema]) -> None:
    db = aws("aws_db_instance")
    assert compare({"password": "hunter2"}, {"password": "hunter2"}, db) == []
    assert compare({"password": "hunter2"}, {"password": "hunter3"}, db) == [Change("password", MASK, MASK)]
    assert compare({"password": None}, {"password": "set"}, db) == [Change("password", None, MASK)]


def test_nested_sensitive_values_are_masked_inside_reported_blocks(aws: Callable[[str], TypeSchema]) -> None:
    listener = aws("aws_lb_listener")
    oidc = {
        "authorization_endpoint": "https://a",
        "client_id": "c",
        "client_secret": "s3cret",
        "issuer": "i",
        "token_endpoint": "https://t",
        "user_info_endpoint": "https://u",
    }
    state = {"default_action": [{"type": "authenticate-oidc", "order": 1, "authenticate_oidc": [oidc]}]}
    live = {
        "default_action": [
            {
                "type": "authenticate-oidc",
                "order": 1,
                "authenticate_oidc": [{**oidc, "client_secret": "other"}],
            }
        ]
    }
    assert compare(state, live, listener) == [
        Change("default_action[0].authenticate_oidc[0].client_secret", MASK, MASK)
    ]
    grown = {"default_action": [*state["default_action"], {**state["default_action"][0], "order": 2}]}
    changes = compare(state, grown, listener)
    assert [c.path for c in changes] == ["default_action"]
    assert "s3cret" not in json.dumps([c.expected for c in changes] + [c.actual for c in changes])


# --- rule 9: depth and shapes ----------------------------------------------------------------


def test_deep_values_do_not_crash(aws: Callable[[str], TypeSchema]) -> None:
    def nest(depth: int, leaf: object) -> object:
        value: object = leaf
        for _ in range(depth):
            value = {"a": [value]}
        return value

    deep_a, deep_b = nest(5000, 1), nest(5000, 2)
    assert compare({"blob": deep_a}, {"blob": nest(5000, 1)}, None) == []
    assert paths(compare({"blob": deep_a}, {"blob": deep_b}, None)) == ["blob"]


def test_unexpected_shapes_compare_as_plain_values(aws: Callable[[str], TypeSchema]) -> None:
    vpc = aws("aws_vpc")
    assert compare({"tags": {"a": "b"}}, {"tags": ["a", "b"]}, vpc) == [
        Change("tags", {"a": "b"}, ["a", "b"])
    ]
    sg = aws("aws_security_group")
    assert compare(sg_state(), {"ingress": "not-a-set"}, sg) == [Change("ingress", [SG_RULE], "not-a-set")]
    inst = aws("aws_instance")
    one = {"volume_size": 8, "volume_type": "gp2"}
    assert compare({"root_block_device": [one]}, {"root_block_device": one}, inst) == []


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["tags", "ingress", "name", "cidr_block", "policy", "root_block_device", "x"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=4),
            lambda s: st.lists(s, max_size=3) | st.dictionaries(st.text(max_size=3), s, max_size=3),
            max_leaves=10,
        ),
    ),
    st.sampled_from(["aws_security_group", "aws_instance", "aws_vpc", "aws_s3_bucket_policy"]),
)
def test_any_shapes_never_raise_and_a_value_equals_itself(
    aws: Callable[[str], TypeSchema], attrs: dict[str, Any], tf_type: str
) -> None:
    schema = aws(tf_type)
    assert compare(attrs, copy.deepcopy(attrs), schema) == []
    compare(attrs, {k: [v] for k, v in attrs.items()}, schema)
    compare({k: [v] for k, v in attrs.items()}, attrs, schema)


# --- real states: semantic no-ops are never drift --------------------------------------------


def _noop_variant(attrs: dict[str, Any], schema: TypeSchema) -> dict[str, Any]:
    """The same resource as a provider might read it: sets reversed, JSON re-serialized."""
    out = copy.deepcopy(attrs)
    for name, attr in schema.attributes.items():
        value = out.get(name)
        if attr.kind in (Kind.SET, Kind.BLOCK_SET) and isinstance(value, list):
            out[name] = list(reversed(value))
        elif attr.node.fmt == "json" and isinstance(value, str) and value.strip()[:1] in ("{", "["):
            out[name] = json.dumps(json.loads(value), indent=3, sort_keys=True)
        elif attr.computed_only:
            out[name] = "changed-by-the-cloud"
    out.pop("tags_all", None)
    return out


def _instances(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (r["type"], inst["attributes"])
        for r in state.get("resources", [])
        if r.get("mode", "managed") == "managed"
        for inst in r.get("instances", [])
        if "attributes" in inst
    ]


def test_demo_state_resources_equal_their_noop_variants(aws_schema: ProviderSchema) -> None:
    checked = 0
    for tf_type, attrs in _instances(json.loads(DEMO_STATE.read_text())):
        schema = aws_schema.type(tf_type)
        if schema is None:
            continue
        assert compare(attrs, _noop_variant(attrs, schema), schema) == [], tf_type
        checked += 1
    assert checked >= 6


@pytest.mark.corpus
def test_corpus_states_equal_their_noop_variants(aws_schema: ProviderSchema, corpus: Path) -> None:
    checked: set[str] = set()
    for path in sorted((corpus / "driftctl-states").glob("*/terraform.tfstate")):
        for tf_type, attrs in _instances(json.loads(path.read_text())):
            schema = aws_schema.type(tf_type)
            if schema is None:
                continue
            assert compare(attrs, _noop_variant(attrs, schema), schema) == [], (path.parent.name, tf_type)
            checked.add(tf_type)
    assert {"aws_security_group", "aws_iam_role_policy", "aws_s3_bucket_policy", "aws_instance"} <= checked


@pytest.mark.corpus
def test_corpus_policy_edit_is_found(aws_schema: ProviderSchema, corpus: Path) -> None:
    state = json.loads(
        (corpus / "driftctl-states" / "aws_iam_role_policy_multiple" / "terraform.tfstate").read_text()
    )
    schema = aws_schema.type("aws_iam_role_policy")
    assert schema is not None
    _, attrs = next(i for i in _instances(state) if i[0] == "aws_iam_role_policy")
    doc = json.loads(attrs["policy"])
    doc["Statement"][0]["Effect"] = "Deny"
    live = {**attrs, "policy": json.dumps(doc)}
    assert paths(compare(attrs, live, schema)) == ["policy"]


def test_a_name_in_state_equals_the_arn_of_that_name_read_back() -> None:
    from driftmgr.engine.diff import compare

    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/web"
    assert compare({"cluster": "web"}, {"cluster": arn}, None) == []
    assert (
        compare(
            {"task_definition": "app:3"},
            {"task_definition": "arn:aws:ecs:us-east-1:1:task-definition/app:3"},
            None,
        )
        == []
    )
    changed = compare({"cluster": "api"}, {"cluster": arn}, None)
    assert [(c.path, c.expected, c.actual) for c in changed] == [("cluster", "api", arn)]
    two_arns = compare({"cluster": arn}, {"cluster": arn.replace("web", "api")}, None)
    assert [c.path for c in two_arns] == ["cluster"]
