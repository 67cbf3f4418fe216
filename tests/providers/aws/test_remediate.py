"""AWS call builders (providers/aws/remediate.py): exact operations and parameters per change kind,
UnsupportedRemediation for what the API cannot do, and the call runner against moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from driftmgr.engine.remediation import ApiCall
from driftmgr.errors import UnsupportedRemediation, UsageError
from driftmgr.providers.aws import remediate
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.base import ErrorKind, ProviderError, get_remediator

R = "us-east-1"


def ops(calls: list[ApiCall]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c.service, c.operation, c.params) for c in calls]


def change(path: str, expected: Any, actual: Any) -> dict[str, Any]:
    return {"path": path, "expected": expected, "actual": actual, "severity": "medium"}


# --- tags ---------------------------------------------------------------------------------------


def test_ec2_tags_are_set_and_removed_per_key() -> None:
    calls = remediate.revert_calls(
        "aws_vpc",
        "vpc-1",
        R,
        [
            change("tags.owner", None, "bob"),
            change("tags.env", "test", "prod"),
            change("tags.team", "a", None),
        ],
        {"tags": {"owner": "bob", "env": "prod"}},
    )
    assert ops(calls) == [
        (
            "ec2",
            "create_tags",
            {
                "Resources": ["vpc-1"],
                "Tags": [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "a"}],
            },
        ),
        ("ec2", "delete_tags", {"Resources": ["vpc-1"], "Tags": [{"Key": "owner"}]}),
    ]
    assert all(c.region == R and c.provider == "aws" for c in calls)


def test_s3_bucket_tags_replace_the_whole_set_from_live() -> None:
    calls = remediate.revert_calls(
        "aws_s3_bucket",
        "b1",
        R,
        [change("tags.env", "test", "prod"), change("tags.extra", None, "x")],
        {"tags": {"env": "prod", "extra": "x", "keep": "k"}},
    )
    assert ops(calls) == [
        (
            "s3",
            "put_bucket_tagging",
            {
                "Bucket": "b1",
                "Tagging": {"TagSet": [{"Key": "env", "Value": "test"}, {"Key": "keep", "Value": "k"}]},
            },
        ),
    ]
    only_extra = remediate.revert_calls(
        "aws_s3_bucket", "b1", R, [change("tags.x", None, "1")], {"tags": {"x": "1"}}
    )
    assert ops(only_extra) == [("s3", "delete_bucket_tagging", {"Bucket": "b1"})]


@pytest.mark.parametrize(
    ("tf_type", "rid", "live", "add", "remove"),
    [
        (
            "aws_iam_role",
            "r1",
            {},
            ("iam", "tag_role", {"RoleName": "r1", "Tags": [{"Key": "k", "Value": "v"}]}),
            ("iam", "untag_role", {"RoleName": "r1", "TagKeys": ["z"]}),
        ),
        (
            "aws_sqs_queue",
            "https://q/1",
            {},
            ("sqs", "tag_queue", {"QueueUrl": "https://q/1", "Tags": {"k": "v"}}),
            ("sqs", "untag_queue", {"QueueUrl": "https://q/1", "TagKeys": ["z"]}),
        ),
        (
            "aws_lambda_function",
            "fn",
            {"arn": "arn:fn"},
            ("lambda", "tag_resource", {"Resource": "arn:fn", "Tags": {"k": "v"}}),
            ("lambda", "untag_resource", {"Resource": "arn:fn", "TagKeys": ["z"]}),
        ),
        (
            "aws_kms_key",
            "k1",
            {},
            ("kms", "tag_resource", {"KeyId": "k1", "Tags": [{"TagKey": "k", "TagValue": "v"}]}),
            ("kms", "untag_resource", {"KeyId": "k1", "TagKeys": ["z"]}),
        ),
        (
            "aws_cloudwatch_log_group",
            "/g",
            {"arn": "arn:lg"},
            ("logs", "tag_resource", {"resourceArn": "arn:lg", "tags": {"k": "v"}}),
            ("logs", "untag_resource", {"resourceArn": "arn:lg", "tagKeys": ["z"]}),
        ),
        (
            "aws_ssm_parameter",
            "/p",
            {},
            (
                "ssm",
                "add_tags_to_resource",
                {"ResourceType": "Parameter", "ResourceId": "/p", "Tags": [{"Key": "k", "Value": "v"}]},
            ),
            (
                "ssm",
                "remove_tags_from_resource",
                {"ResourceType": "Parameter", "ResourceId": "/p", "TagKeys": ["z"]},
            ),
        ),
    ],
)
def test_each_taggable_type_uses_its_service_tag_api(tf_type, rid, live, add, remove) -> None:
    calls = remediate.revert_calls(
        tf_type, rid, R, [change("tags.k", "v", "w"), change("tags.z", None, "1")], live
    )
    assert ops(calls) == [add, remove]


def test_tags_needing_an_arn_refuse_without_one() -> None:
    with pytest.raises(UnsupportedRemediation, match="aws_lambda_function fn: its live arn is unknown"):
        remediate.revert_calls("aws_lambda_function", "fn", R, [change("tags.k", "v", None)], {})


# --- EC2 ----------------------------------------------------------------------------------------


def test_security_group_extra_rules_are_revoked_and_missing_ones_authorized() -> None:
    extra = {
        "protocol": "tcp",
        "from_port": 8443,
        "to_port": 8443,
        "cidr_blocks": ["10.9.0.0/16"],
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "security_groups": [],
        "self": False,
        "description": "by hand",
    }
    missing = {
        "protocol": "-1",
        "from_port": 0,
        "to_port": 0,
        "cidr_blocks": [],
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "security_groups": ["sg-2", "111122223333/sg-3"],
        "self": True,
        "description": "all",
    }
    calls = remediate.revert_calls(
        "aws_security_group", "sg-1", R, [change("ingress", [], [extra]), change("egress", [missing], [])], {}
    )
    assert ops(calls) == [
        (
            "ec2",
            "revoke_security_group_ingress",
            {
                "GroupId": "sg-1",
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 8443,
                        "ToPort": 8443,
                        "IpRanges": [{"CidrIp": "10.9.0.0/16"}],
                    }
                ],
            },
        ),
        (
            "ec2",
            "authorize_security_group_egress",
            {
                "GroupId": "sg-1",
                "IpPermissions": [
                    {
                        "IpProtocol": "-1",
                        "UserIdGroupPairs": [
                            {"GroupId": "sg-2", "Description": "all"},
                            {"GroupId": "sg-3", "Description": "all", "UserId": "111122223333"},
                            {"GroupId": "sg-1", "Description": "all"},
                        ],
                    }
                ],
            },
        ),
    ]


def test_instance_type_of_a_running_instance_stops_modifies_and_starts_it() -> None:
    calls = remediate.revert_calls(
        "aws_instance",
        "i-1",
        R,
        [change("instance_type", "t3.micro", "t3.small"), change("disable_api_termination", False, True)],
        {"instance_state": "running", "instance_type": "t3.small"},
    )
    ids = {"InstanceIds": ["i-1"]}
    waiter = {"Delay": 5, "MaxAttempts": 120}
    assert ops(calls) == [
        ("ec2", "stop_instances", ids),
        ("ec2", "wait:instance_stopped", {**ids, "WaiterConfig": waiter}),
        ("ec2", "modify_instance_attribute", {"InstanceId": "i-1", "InstanceType": {"Value": "t3.micro"}}),
        (
            "ec2",
            "modify_instance_attribute",
            {"InstanceId": "i-1", "DisableApiTermination": {"Value": False}},
        ),
        ("ec2", "start_instances", ids),
        ("ec2", "wait:instance_running", {**ids, "WaiterConfig": waiter}),
    ]


def test_instance_attributes_that_need_no_stop_leave_a_stopped_instance_stopped() -> None:
    calls = remediate.revert_calls(
        "aws_instance",
        "i-1",
        R,
        [
            change("instance_type", "t3.micro", "t3.small"),
            change("monitoring", True, False),
            change("metadata_options[0].http_tokens", "required", "optional"),
        ],
        {
            "instance_state": "stopped",
            "metadata_options": [{"http_endpoint": "enabled", "http_tokens": "optional"}],
        },
    )
    assert ops(calls) == [
        ("ec2", "modify_instance_attribute", {"InstanceId": "i-1", "InstanceType": {"Value": "t3.micro"}}),
        ("ec2", "monitor_instances", {"InstanceIds": ["i-1"]}),
        (
            "ec2",
            "modify_instance_metadata_options",
            {"InstanceId": "i-1", "HttpEndpoint": "enabled", "HttpTokens": "required"},
        ),
    ]


def test_vpc_subnet_and_volume_attributes() -> None:
    vpc = remediate.revert_calls(
        "aws_vpc",
        "vpc-1",
        R,
        [change("enable_dns_hostnames", True, False), change("enable_dns_support", True, False)],
        {},
    )
    assert ops(vpc) == [
        ("ec2", "modify_vpc_attribute", {"VpcId": "vpc-1", "EnableDnsHostnames": {"Value": True}}),
        ("ec2", "modify_vpc_attribute", {"VpcId": "vpc-1", "EnableDnsSupport": {"Value": True}}),
    ]
    subnet = remediate.revert_calls(
        "aws_subnet", "subnet-1", R, [change("map_public_ip_on_launch", False, True)], {}
    )
    assert ops(subnet) == [
        ("ec2", "modify_subnet_attribute", {"SubnetId": "subnet-1", "MapPublicIpOnLaunch": {"Value": False}})
    ]
    grow = remediate.revert_calls("aws_ebs_volume", "vol-1", R, [change("size", 40, 20)], {"size": 20})
    assert ops(grow) == [("ec2", "modify_volume", {"VolumeId": "vol-1", "Size": 40})]
    with pytest.raises(
        UnsupportedRemediation, match=r"aws_ebs_volume vol-1: cannot revert size .*cannot shrink"
    ):
        remediate.revert_calls("aws_ebs_volume", "vol-1", R, [change("size", 20, 40)], {"size": 40})


# --- S3 -----------------------------------------------------------------------------------------


def test_s3_versioning_public_access_block_and_policy() -> None:
    v = remediate.revert_calls(
        "aws_s3_bucket_versioning",
        "b1",
        R,
        [change("versioning_configuration[0].status", "Enabled", "Suspended")],
        {"versioning_configuration": [{"status": "Suspended", "mfa_delete": ""}]},
    )
    assert ops(v) == [
        ("s3", "put_bucket_versioning", {"Bucket": "b1", "VersioningConfiguration": {"Status": "Enabled"}})
    ]
    pab = remediate.revert_calls(
        "aws_s3_bucket_public_access_block",
        "b1",
        R,
        [change("restrict_public_buckets", False, True)],
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": False,
            "restrict_public_buckets": True,
        },
    )
    assert ops(pab) == [
        (
            "s3",
            "put_public_access_block",
            {
                "Bucket": "b1",
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": False,
                    "RestrictPublicBuckets": False,
                },
            },
        )
    ]
    doc = '{"Version":"2012-10-17","Statement":[]}'
    pol = remediate.revert_calls(
        "aws_s3_bucket_policy", "b1", R, [change("policy", doc, "{}")], {"policy": "{}"}
    )
    assert ops(pol) == [("s3", "put_bucket_policy", {"Bucket": "b1", "Policy": doc})]


def test_versioning_cannot_return_to_never_enabled() -> None:
    with pytest.raises(
        UnsupportedRemediation, match=r"aws_s3_bucket_versioning b1: .*versioning_configuration\[0\].status"
    ):
        remediate.revert_calls(
            "aws_s3_bucket_versioning",
            "b1",
            R,
            [change("versioning_configuration[0].status", "Disabled", "Enabled")],
            {"versioning_configuration": [{"status": "Enabled"}]},
        )


# --- messaging, IAM, logs, KMS, SSM, DynamoDB -----------------------------------------------------


def test_queue_topic_role_log_group_key_and_parameter() -> None:
    q = remediate.revert_calls(
        "aws_sqs_queue",
        "https://q/1",
        R,
        [change("visibility_timeout_seconds", 45, 90), change("sqs_managed_sse_enabled", True, False)],
        {},
    )
    assert ops(q) == [
        (
            "sqs",
            "set_queue_attributes",
            {
                "QueueUrl": "https://q/1",
                "Attributes": {"SqsManagedSseEnabled": "true", "VisibilityTimeout": "45"},
            },
        )
    ]
    topic = remediate.revert_calls("aws_sns_topic", "arn:t", R, [change("display_name", "RX", "other")], {})
    assert ops(topic) == [
        (
            "sns",
            "set_topic_attributes",
            {"TopicArn": "arn:t", "AttributeName": "DisplayName", "AttributeValue": "RX"},
        )
    ]
    role = remediate.revert_calls(
        "aws_iam_role",
        "r1",
        None,
        [change("description", "rx", "hand"), change("max_session_duration", 7200, 3600)],
        {},
    )
    assert ops(role) == [
        ("iam", "update_role", {"RoleName": "r1", "Description": "rx", "MaxSessionDuration": 7200})
    ]
    assert role[0].region is None  # IAM is global
    logs = remediate.revert_calls(
        "aws_cloudwatch_log_group", "/g", R, [change("retention_in_days", 14, 30)], {}
    )
    assert ops(logs) == [("logs", "put_retention_policy", {"logGroupName": "/g", "retentionInDays": 14})]
    forever = remediate.revert_calls(
        "aws_cloudwatch_log_group", "/g", R, [change("retention_in_days", 0, 30)], {}
    )
    assert ops(forever) == [("logs", "delete_retention_policy", {"logGroupName": "/g"})]
    key = remediate.revert_calls(
        "aws_kms_key",
        "k1",
        R,
        [change("description", "rx", "hand"), change("enable_key_rotation", True, False)],
        {},
    )
    assert ops(key) == [
        ("kms", "update_key_description", {"KeyId": "k1", "Description": "rx"}),
        ("kms", "enable_key_rotation", {"KeyId": "k1"}),
    ]
    param = remediate.revert_calls(
        "aws_ssm_parameter",
        "/p",
        R,
        [change("description", "rx", "hand")],
        {"type": "String", "value": "v1", "description": "hand", "tier": "Standard"},
    )
    assert ops(param) == [
        (
            "ssm",
            "put_parameter",
            {
                "Name": "/p",
                "Value": "v1",
                "Type": "String",
                "Overwrite": True,
                "Description": "rx",
                "Tier": "Standard",
            },
        )
    ]
    table = remediate.revert_calls(
        "aws_dynamodb_table",
        "t1",
        R,
        [change("read_capacity", 5, 10), change("ttl[0].enabled", True, False)],
        {
            "billing_mode": "PROVISIONED",
            "read_capacity": 10,
            "write_capacity": 3,
            "ttl": [{"attribute_name": "exp", "enabled": False}],
        },
    )
    assert ops(table) == [
        (
            "dynamodb",
            "update_table",
            {"TableName": "t1", "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}},
        ),
        (
            "dynamodb",
            "update_time_to_live",
            {"TableName": "t1", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}},
        ),
    ]


def test_unsupported_paths_and_sensitive_values_name_type_and_path() -> None:
    with pytest.raises(UnsupportedRemediation) as err:
        remediate.revert_calls(
            "aws_vpc", "vpc-1", R, [change("cidr_block", "10.0.0.0/16", "10.1.0.0/16")], {}
        )
    assert err.value.tf_type == "aws_vpc" and err.value.path == "cidr_block"
    assert "aws_vpc vpc-1" in str(err.value) and "'cidr_block'" in str(err.value)
    with pytest.raises(UnsupportedRemediation, match="aws_instance i-1: no AWS API call reverts 'user_data'"):
        remediate.revert_calls("aws_instance", "i-1", R, [change("user_data", "abc", "def")], {})
    with pytest.raises(
        UnsupportedRemediation, match=r"aws_ssm_parameter /p: cannot revert value .*sensitive"
    ):
        remediate.revert_calls(
            "aws_ssm_parameter", "/p", R, [change("value", "(sensitive)", "(sensitive)")], {"type": "String"}
        )
    with pytest.raises(UnsupportedRemediation, match="aws_eks_cluster"):
        remediate.revert_calls("aws_eks_cluster", "c", R, [change("version", "1.29", "1.30")], {})


def test_delete_calls_per_type_and_unsupported_types() -> None:
    assert ops(remediate.delete_calls("aws_sqs_queue", "https://q/1", R, {})) == [
        ("sqs", "delete_queue", {"QueueUrl": "https://q/1"})
    ]
    assert ops(remediate.delete_calls("aws_iam_role_policy_attachment", "r1/arn:p", None, {})) == [
        ("iam", "detach_role_policy", {"RoleName": "r1", "PolicyArn": "arn:p"})
    ]
    assert ops(
        remediate.delete_calls(
            "aws_vpc_security_group_ingress_rule", "sgr-1", R, {"security_group_id": "sg-1"}
        )
    ) == [("ec2", "revoke_security_group_ingress", {"GroupId": "sg-1", "SecurityGroupRuleIds": ["sgr-1"]})]
    assert ops(remediate.delete_calls("aws_kms_key", "k1", R, {})) == [
        ("kms", "schedule_key_deletion", {"KeyId": "k1", "PendingWindowInDays": 7})
    ]
    with pytest.raises(UnsupportedRemediation, match="aws_route53_record"):
        remediate.delete_calls("aws_route53_record", "Z_x_A", None, {})


def test_restore_calls_target_the_snapshot_and_restart_a_stopped_instance() -> None:
    snapshot = {"instance_type": "t3.small", "instance_state": "running", "tags": {"Name": "a", "env": "x"}}
    current = {"instance_type": "t3.small", "instance_state": "stopped", "tags": {"Name": "a"}}
    calls = remediate.restore_calls(
        "aws_instance", "i-1", R, snapshot, current, paths=["instance_type", "tags.env"]
    )
    assert [(c.operation, c.params.get("Tags")) for c in calls] == [
        ("create_tags", [{"Key": "env", "Value": "x"}]),
        ("start_instances", None),
        ("wait:instance_running", None),
    ]
    assert (
        remediate.restore_calls(
            "aws_vpc", "vpc-1", R, {"enable_dns_hostnames": False}, {"enable_dns_hostnames": False}
        )
        == []
    )
    sg_rule = {
        "protocol": "tcp",
        "from_port": 22,
        "to_port": 22,
        "cidr_blocks": ["10.0.0.0/8"],
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "security_groups": [],
        "self": False,
        "description": "",
    }
    back = remediate.restore_calls("aws_security_group", "sg-1", R, {"ingress": [sg_rule]}, {"ingress": []})
    assert ops(back) == [
        (
            "ec2",
            "authorize_security_group_ingress",
            {
                "GroupId": "sg-1",
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 22,
                        "ToPort": 22,
                        "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                    }
                ],
            },
        )
    ]


def test_remediator_registry_lookup() -> None:
    assert get_remediator("aws").revert_calls("aws_vpc", "v", R, [change("tags.a", "1", "2")], {})
    with pytest.raises(UsageError, match="no direct API remediation"):
        get_remediator("azure")


# --- running calls against moto -----------------------------------------------------------------


def _factory(hook: Any = None) -> Any:
    clients: dict[tuple[str, str | None], Any] = {}

    def make(service: str, region: str | None) -> Any:
        key = (service, region)
        if key not in clients:
            clients[key] = boto3.client(service, region_name=region or R)
            if hook is not None:
                clients[key].meta.events.register(f"before-call.{service}.*", hook)
        return clients[key]

    return make


def test_execute_call_runs_the_operation_and_get_rereads_the_resource(aws_env) -> None:
    vpc = boto3.client("ec2").create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    provider = AwsProvider()
    before = provider.get("aws_vpc", vpc, R)
    assert before is not None and before.attributes["tags"] == {}
    for call in remediate.revert_calls(
        "aws_vpc", vpc, R, [change("tags.env", "test", None)], before.attributes
    ):
        remediate.execute_call(call, _factory())
    after = provider.get("aws_vpc", vpc, R)
    assert after is not None and after.attributes["tags"] == {"env": "test"}
    assert provider.get("aws_vpc", "vpc-00000000", R) is None


def test_execute_call_maps_denied_errors_and_refuses_non_operations(aws_env) -> None:
    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CreateTags")

    call = ApiCall(
        "aws", "ec2", "create_tags", {"Resources": ["vpc-1"], "Tags": [{"Key": "a", "Value": "b"}]}, R
    )
    with pytest.raises(ProviderError) as err:
        remediate.execute_call(call, _factory(deny))
    assert err.value.kind is ErrorKind.denied and "ec2:create_tags" in str(err.value)
    for bad in ("_make_api_call", "meta", "wait:no_such_waiter"):
        with pytest.raises(UsageError):
            remediate.execute_call(ApiCall("aws", "ec2", bad, {}, R), _factory())
