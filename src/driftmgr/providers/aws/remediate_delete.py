"""Deleting a resource through the API: unmanaged resources (the destructive `delete` action) and
what a `recreate` created, when it is rolled back.

One row per type. Deletions AWS can undo for a while use that window (KMS keys: scheduled in 7
days; secrets: a 7-day recovery window). Types without a row raise UnsupportedRemediation.
"""

from __future__ import annotations

from collections.abc import Callable

from driftmgr.engine.remediation import ApiCall
from driftmgr.providers.aws.remediate_core import Target

Deleter = Callable[[Target], list[ApiCall]]


def _simple(service: str, operation: str, param: str, what: str, *, listed: bool = False) -> Deleter:
    def delete(t: Target) -> list[ApiCall]:
        value: object = [t.id] if listed else t.id
        return [t.call(service, operation, f"delete {what} {t.id}", **{param: value})]

    return delete


def _sg_rule(direction: str) -> Deleter:
    def delete(t: Target) -> list[ApiCall]:
        return [
            t.call(
                "ec2",
                f"revoke_security_group_{direction}",
                f"revoke {direction} rule {t.id}",
                GroupId=str(t.need("security_group_id")),
                SecurityGroupRuleIds=[t.id],
            )
        ]

    return delete


def _attachment(t: Target) -> list[ApiCall]:
    role = t.live.get("role")
    arn = t.live.get("policy_arn")
    if not role or not arn:
        role, _, arn = t.id.partition("/")
    return [
        t.call(
            "iam",
            "detach_role_policy",
            f"detach {arn} from role {role}",
            RoleName=str(role),
            PolicyArn=str(arn),
        )
    ]


def _inline_policy(t: Target) -> list[ApiCall]:
    role, _, name = t.id.partition(":")
    return [
        t.call("iam", "delete_role_policy", f"delete inline policy {t.id}", RoleName=role, PolicyName=name)
    ]


def _route(t: Target) -> list[ApiCall]:
    params: dict[str, object] = {"RouteTableId": str(t.need("route_table_id"))}
    if t.live.get("destination_cidr_block"):
        params["DestinationCidrBlock"] = t.live["destination_cidr_block"]
    elif t.live.get("destination_ipv6_cidr_block"):
        params["DestinationIpv6CidrBlock"] = t.live["destination_ipv6_cidr_block"]
    else:
        params["DestinationPrefixListId"] = str(t.need("destination_prefix_list_id"))
    return [t.call("ec2", "delete_route", f"delete route {t.id}", **params)]


def _kms_key(t: Target) -> list[ApiCall]:
    return [
        t.call(
            "kms",
            "schedule_key_deletion",
            f"schedule key {t.id} for deletion in 7 days",
            KeyId=t.id,
            PendingWindowInDays=7,
        )
    ]


def _secret(t: Target) -> list[ApiCall]:
    return [
        t.call(
            "secretsmanager",
            "delete_secret",
            f"delete secret {t.id} (recoverable for 7 days)",
            SecretId=t.id,
            RecoveryWindowInDays=7,
        )
    ]


def _instance(t: Target) -> list[ApiCall]:
    return [
        t.call("ec2", "terminate_instances", f"terminate instance {t.id}", InstanceIds=[t.id]),
        t.wait("ec2", "instance_terminated", f"wait until {t.id} is terminated", InstanceIds=[t.id]),
    ]


DELETERS: dict[str, Deleter] = {
    "aws_instance": _instance,
    "aws_ebs_volume": _simple("ec2", "delete_volume", "VolumeId", "volume"),
    "aws_eip": _simple("ec2", "release_address", "AllocationId", "elastic IP"),
    "aws_key_pair": _simple("ec2", "delete_key_pair", "KeyName", "key pair"),
    "aws_security_group": _simple("ec2", "delete_security_group", "GroupId", "security group"),
    "aws_vpc_security_group_ingress_rule": _sg_rule("ingress"),
    "aws_vpc_security_group_egress_rule": _sg_rule("egress"),
    "aws_subnet": _simple("ec2", "delete_subnet", "SubnetId", "subnet"),
    "aws_vpc": _simple("ec2", "delete_vpc", "VpcId", "VPC"),
    "aws_route": _route,
    "aws_route_table": _simple("ec2", "delete_route_table", "RouteTableId", "route table"),
    "aws_launch_template": _simple("ec2", "delete_launch_template", "LaunchTemplateId", "launch template"),
    "aws_s3_bucket": _simple("s3", "delete_bucket", "Bucket", "bucket (it must be empty)"),
    "aws_s3_bucket_policy": _simple("s3", "delete_bucket_policy", "Bucket", "the policy of bucket"),
    "aws_s3_bucket_public_access_block": _simple(
        "s3", "delete_public_access_block", "Bucket", "the public access block of bucket"
    ),
    "aws_s3_bucket_server_side_encryption_configuration": _simple(
        "s3", "delete_bucket_encryption", "Bucket", "the default encryption of bucket"
    ),
    "aws_s3_bucket_lifecycle_configuration": _simple(
        "s3", "delete_bucket_lifecycle", "Bucket", "the lifecycle of bucket"
    ),
    "aws_sqs_queue": _simple("sqs", "delete_queue", "QueueUrl", "queue"),
    "aws_sns_topic": _simple("sns", "delete_topic", "TopicArn", "topic"),
    "aws_sns_topic_subscription": _simple("sns", "unsubscribe", "SubscriptionArn", "subscription"),
    "aws_iam_user": _simple("iam", "delete_user", "UserName", "user"),
    "aws_iam_role": _simple("iam", "delete_role", "RoleName", "role"),
    "aws_iam_group": _simple("iam", "delete_group", "GroupName", "group"),
    "aws_iam_policy": _simple("iam", "delete_policy", "PolicyArn", "policy"),
    "aws_iam_instance_profile": _simple(
        "iam", "delete_instance_profile", "InstanceProfileName", "instance profile"
    ),
    "aws_iam_role_policy_attachment": _attachment,
    "aws_iam_role_policy": _inline_policy,
    "aws_cloudwatch_log_group": _simple("logs", "delete_log_group", "logGroupName", "log group"),
    "aws_cloudwatch_metric_alarm": _simple("cloudwatch", "delete_alarms", "AlarmNames", "alarm", listed=True),
    "aws_kms_key": _kms_key,
    "aws_kms_alias": _simple("kms", "delete_alias", "AliasName", "alias"),
    "aws_secretsmanager_secret": _secret,
    "aws_ssm_parameter": _simple("ssm", "delete_parameter", "Name", "parameter"),
    "aws_dynamodb_table": _simple("dynamodb", "delete_table", "TableName", "table"),
    "aws_lambda_function": _simple("lambda", "delete_function", "FunctionName", "function"),
    "aws_ecr_repository": _simple("ecr", "delete_repository", "repositoryName", "repository"),
    "aws_lb": _simple("elbv2", "delete_load_balancer", "LoadBalancerArn", "load balancer"),
    "aws_lb_target_group": _simple("elbv2", "delete_target_group", "TargetGroupArn", "target group"),
    "aws_lb_listener": _simple("elbv2", "delete_listener", "ListenerArn", "listener"),
}
