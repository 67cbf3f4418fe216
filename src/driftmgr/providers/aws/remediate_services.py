"""AWS call builders for SQS, SNS, IAM, CloudWatch Logs, KMS, SSM, Lambda, ECR, DynamoDB, Auto
Scaling and ECS: which API call sets each attribute back (EC2 and S3: remediate_ec2_s3; tags:
remediate_tags). Same contract as there: (target, changes of the registered attributes) → calls.
"""

from __future__ import annotations

from typing import Any

from driftmgr.engine.remediation import ApiCall
from driftmgr.providers.aws.remediate_core import (
    Change,
    Target,
    api_text,
    as_bool,
    as_int,
    builds,
    changed_attributes,
    desired,
    first,
)

# --- SQS and SNS -------------------------------------------------------------------------------

_SQS = {
    "visibility_timeout_seconds": "VisibilityTimeout",
    "message_retention_seconds": "MessageRetentionPeriod",
    "max_message_size": "MaximumMessageSize",
    "delay_seconds": "DelaySeconds",
    "receive_wait_time_seconds": "ReceiveMessageWaitTimeSeconds",
    "kms_data_key_reuse_period_seconds": "KmsDataKeyReusePeriodSeconds",
    "kms_master_key_id": "KmsMasterKeyId",
    "sqs_managed_sse_enabled": "SqsManagedSseEnabled",
    "policy": "Policy",
    "redrive_policy": "RedrivePolicy",
    "redrive_allow_policy": "RedriveAllowPolicy",
    "content_based_deduplication": "ContentBasedDeduplication",
    "deduplication_scope": "DeduplicationScope",
    "fifo_throughput_limit": "FifoThroughputLimit",
}


@builds("aws_sqs_queue", *_SQS)
def _queue(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    attrs = {_SQS[n]: api_text(want.get(n)) for n in changed_attributes(changes)}
    return [
        t.call(
            "sqs",
            "set_queue_attributes",
            f"set {', '.join(sorted(attrs))} of queue {t.id}",
            QueueUrl=t.id,
            Attributes=dict(sorted(attrs.items())),
        )
    ]


_SNS = {
    "display_name": "DisplayName",
    "policy": "Policy",
    "delivery_policy": "DeliveryPolicy",
    "kms_master_key_id": "KmsMasterKeyId",
    "tracing_config": "TracingConfig",
    "signature_version": "SignatureVersion",
    "content_based_deduplication": "ContentBasedDeduplication",
    "archive_policy": "ArchivePolicy",
}
for _prefix, _api in (
    ("application", "Application"),
    ("firehose", "Firehose"),
    ("http", "HTTP"),
    ("lambda", "Lambda"),
    ("sqs", "SQS"),
):
    _SNS[f"{_prefix}_success_feedback_role_arn"] = f"{_api}SuccessFeedbackRoleArn"
    _SNS[f"{_prefix}_failure_feedback_role_arn"] = f"{_api}FailureFeedbackRoleArn"
    _SNS[f"{_prefix}_success_feedback_sample_rate"] = f"{_api}SuccessFeedbackSampleRate"


@builds("aws_sns_topic", *_SNS)
def _topic(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    return [  # one attribute per call
        t.call(
            "sns",
            "set_topic_attributes",
            f"set {name} of topic {t.id}",
            TopicArn=t.id,
            AttributeName=_SNS[name],
            AttributeValue=api_text(want.get(name)),
        )
        for name in changed_attributes(changes)
    ]


# --- IAM ---------------------------------------------------------------------------------------


@builds("aws_iam_role", "description", "max_session_duration", "assume_role_policy", "permissions_boundary")
def _role(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    names = changed_attributes(changes)
    role = {"RoleName": t.id}
    calls: list[ApiCall] = []
    update: dict[str, Any] = {}
    if "description" in names:
        update["Description"] = str(want.get("description") or "")
    if "max_session_duration" in names:
        update["MaxSessionDuration"] = as_int(want.get("max_session_duration"), 3600)
    if update:
        desc = f"set {', '.join(sorted(update))} of role {t.id}"
        calls.append(t.call("iam", "update_role", desc, **role, **update))
    if "assume_role_policy" in names:
        doc = want.get("assume_role_policy")
        if not doc:
            raise t.unsupported("assume_role_policy", "a role needs a trust policy")
        desc = f"set the trust policy of role {t.id}"
        calls.append(t.call("iam", "update_assume_role_policy", desc, **role, PolicyDocument=api_text(doc)))
    if "permissions_boundary" in names:
        arn = want.get("permissions_boundary")
        if arn:
            desc = f"set the permissions boundary of role {t.id}"
            calls.append(
                t.call("iam", "put_role_permissions_boundary", desc, **role, PermissionsBoundary=str(arn))
            )
        else:
            desc = f"remove the permissions boundary of role {t.id}"
            calls.append(t.call("iam", "delete_role_permissions_boundary", desc, **role))
    return calls


@builds("aws_iam_user", "permissions_boundary", "path")
def _user(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    user = {"UserName": t.id}
    calls: list[ApiCall] = []
    for name in changed_attributes(changes):
        if name == "path":
            path = str(want.get("path") or "/")
            calls.append(t.call("iam", "update_user", f"set the path of user {t.id}", **user, NewPath=path))
        elif want.get(name):
            desc = f"set the permissions boundary of user {t.id}"
            boundary = str(want[name])
            calls.append(
                t.call("iam", "put_user_permissions_boundary", desc, **user, PermissionsBoundary=boundary)
            )
        else:
            desc = f"remove the permissions boundary of user {t.id}"
            calls.append(t.call("iam", "delete_user_permissions_boundary", desc, **user))
    return calls


@builds("aws_iam_policy", "policy")
def _managed_policy(t: Target, changes: list[Change]) -> list[ApiCall]:
    doc = desired(t, changes).get("policy")
    if not doc:
        raise t.unsupported("policy", "a managed policy needs a document")
    return [
        t.call(
            "iam",
            "create_policy_version",
            f"make the expected document the default version of {t.id}",
            PolicyArn=t.id,
            PolicyDocument=api_text(doc),
            SetAsDefault=True,
        )
    ]


@builds("aws_iam_role_policy", "policy")
def _inline_policy(t: Target, changes: list[Change]) -> list[ApiCall]:
    doc = desired(t, changes).get("policy")
    role, _, name = t.id.partition(":")
    if not doc or not name:
        raise t.unsupported("policy", "an inline policy needs a role, a name and a document")
    desc = f"set inline policy {t.id}"
    return [
        t.call("iam", "put_role_policy", desc, RoleName=role, PolicyName=name, PolicyDocument=api_text(doc))
    ]


# --- CloudWatch Logs, KMS, SSM -----------------------------------------------------------------


@builds("aws_cloudwatch_log_group", "retention_in_days", "kms_key_id")
def _log_group(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    group = {"logGroupName": t.id}
    calls: list[ApiCall] = []
    for name in changed_attributes(changes):
        if name == "retention_in_days":
            days = as_int(want.get(name))
            if days:
                desc = f"keep the events of {t.id} for {days} days"
                calls.append(t.call("logs", "put_retention_policy", desc, **group, retentionInDays=days))
            else:
                calls.append(t.call("logs", "delete_retention_policy", f"keep {t.id} forever", **group))
        elif want.get(name):
            desc = f"encrypt {t.id} with its key"
            calls.append(t.call("logs", "associate_kms_key", desc, **group, kmsKeyId=str(want[name])))
        else:
            calls.append(
                t.call("logs", "disassociate_kms_key", f"stop encrypting {t.id} with a key", **group)
            )
    return calls


@builds(
    "aws_kms_key", "description", "enable_key_rotation", "rotation_period_in_days", "is_enabled", "policy"
)
def _kms_key(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    names = changed_attributes(changes)
    key = {"KeyId": t.id}
    calls: list[ApiCall] = []
    if "is_enabled" in names:
        on = as_bool(want.get("is_enabled"))
        desc = f"{'enable' if on else 'disable'} key {t.id}"
        calls.append(t.call("kms", "enable_key" if on else "disable_key", desc, **key))
    if "description" in names:
        text = str(want.get("description") or "")
        desc = f"set the description of key {t.id}"
        calls.append(t.call("kms", "update_key_description", desc, **key, Description=text))
    if "enable_key_rotation" in names or "rotation_period_in_days" in names:
        if as_bool(want.get("enable_key_rotation")):
            params: dict[str, Any] = dict(key)
            if as_int(want.get("rotation_period_in_days")):
                params["RotationPeriodInDays"] = as_int(want.get("rotation_period_in_days"))
            calls.append(t.call("kms", "enable_key_rotation", f"turn rotation of key {t.id} on", **params))
        else:
            calls.append(t.call("kms", "disable_key_rotation", f"turn rotation of key {t.id} off", **key))
    if "policy" in names:
        policy = want.get("policy")
        if not policy:
            raise t.unsupported("policy", "a key needs a policy")
        desc = f"set the policy of key {t.id}"
        calls.append(
            t.call("kms", "put_key_policy", desc, **key, PolicyName="default", Policy=api_text(policy))
        )
    return calls


@builds("aws_ssm_parameter", "value", "description", "allowed_pattern", "tier", "data_type")
def _parameter(t: Target, changes: list[Change]) -> list[ApiCall]:
    """PutParameter rewrites the whole parameter: value, description and settings together."""
    want = desired(t, changes)
    names = changed_attributes(changes)
    value = want.get("value")
    if value is None:
        why = "PutParameter needs the value, which is not read for SecureString parameters"
        raise t.unsupported(", ".join(names), why)
    params: dict[str, Any] = {
        "Name": t.id,
        "Value": str(value),
        "Type": str(t.need("type")),
        "Overwrite": True,
        "Description": str(want.get("description") or ""),
    }
    for tf, api in (("allowed_pattern", "AllowedPattern"), ("tier", "Tier"), ("data_type", "DataType")):
        if want.get(tf):
            params[api] = str(want[tf])
    return [t.call("ssm", "put_parameter", f"rewrite parameter {t.id} ({', '.join(names)})", **params)]


# --- Lambda, ECR, DynamoDB, Auto Scaling, ECS --------------------------------------------------

_LAMBDA = {
    "memory_size": "MemorySize",
    "timeout": "Timeout",
    "description": "Description",
    "handler": "Handler",
    "runtime": "Runtime",
    "role": "Role",
    "kms_key_arn": "KMSKeyArn",
}


@builds("aws_lambda_function", *_LAMBDA, "environment", "tracing_config", "ephemeral_storage", "layers")
def _function(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    params: dict[str, Any] = {}
    for name in changed_attributes(changes):
        if name in _LAMBDA:
            value = want.get(name)
            params[_LAMBDA[name]] = as_int(value) if name in ("memory_size", "timeout") else str(value or "")
        elif name == "environment":
            params["Environment"] = {"Variables": dict(first(want.get(name)).get("variables") or {})}
        elif name == "tracing_config":
            params["TracingConfig"] = {"Mode": str(first(want.get(name)).get("mode") or "PassThrough")}
        elif name == "ephemeral_storage":
            params["EphemeralStorage"] = {"Size": as_int(first(want.get(name)).get("size"), 512)}
        else:
            params["Layers"] = [str(a) for a in want.get(name) or []]
    return [
        t.call(
            "lambda",
            "update_function_configuration",
            f"set {', '.join(sorted(params))} of function {t.id}",
            FunctionName=t.id,
            **params,
        )
    ]


@builds("aws_lambda_function", "reserved_concurrent_executions")
def _function_concurrency(t: Target, changes: list[Change]) -> list[ApiCall]:
    n = as_int(desired(t, changes).get("reserved_concurrent_executions"), -1)
    fn = {"FunctionName": t.id}
    if n < 0:
        desc = f"remove the reserved concurrency of {t.id}"
        return [t.call("lambda", "delete_function_concurrency", desc, **fn)]
    desc = f"reserve {n} executions for {t.id}"
    return [t.call("lambda", "put_function_concurrency", desc, **fn, ReservedConcurrentExecutions=n)]


@builds("aws_ecr_repository", "image_tag_mutability", "image_scanning_configuration")
def _repository(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    repo = {"repositoryName": t.id}
    calls: list[ApiCall] = []
    for name in changed_attributes(changes):
        if name == "image_tag_mutability":
            value = str(want.get(name))
            desc = f"set the tag mutability of {t.id} to {value}"
            calls.append(t.call("ecr", "put_image_tag_mutability", desc, **repo, imageTagMutability=value))
        else:
            scan = {"scanOnPush": as_bool(first(want.get(name)).get("scan_on_push"))}
            desc = f"set scan on push of {t.id}"
            calls.append(
                t.call(
                    "ecr", "put_image_scanning_configuration", desc, **repo, imageScanningConfiguration=scan
                )
            )
    return calls


_TABLE_ATTRS = (
    "billing_mode",
    "read_capacity",
    "write_capacity",
    "deletion_protection_enabled",
    "stream_enabled",
    "stream_view_type",
    "table_class",
)


@builds("aws_dynamodb_table", *_TABLE_ATTRS)
def _table(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    names = changed_attributes(changes)
    params: dict[str, Any] = {}
    if {"billing_mode", "read_capacity", "write_capacity"} & set(names):
        mode = str(want.get("billing_mode") or "PROVISIONED")
        if "billing_mode" in names:
            params["BillingMode"] = mode
        if mode == "PROVISIONED":
            params["ProvisionedThroughput"] = {
                "ReadCapacityUnits": as_int(want.get("read_capacity"), 1),
                "WriteCapacityUnits": as_int(want.get("write_capacity"), 1),
            }
    if "deletion_protection_enabled" in names:
        params["DeletionProtectionEnabled"] = as_bool(want.get("deletion_protection_enabled"))
    if "stream_enabled" in names or "stream_view_type" in names:
        on = as_bool(want.get("stream_enabled"))
        spec: dict[str, Any] = {"StreamEnabled": on}
        if on:
            spec["StreamViewType"] = str(want.get("stream_view_type") or "NEW_AND_OLD_IMAGES")
        params["StreamSpecification"] = spec
    if "table_class" in names:
        params["TableClass"] = str(want.get("table_class"))
    desc = f"set {', '.join(sorted(params))} of table {t.id}"
    return [t.call("dynamodb", "update_table", desc, TableName=t.id, **params)]


@builds("aws_dynamodb_table", "ttl")
def _table_ttl(t: Target, changes: list[Change]) -> list[ApiCall]:
    ttl = first(desired(t, changes).get("ttl"))
    live = first(t.live.get("ttl"))
    on = as_bool(ttl.get("enabled"))
    name = str(ttl.get("attribute_name") or live.get("attribute_name") or "")
    if not name:
        raise t.unsupported("ttl", "no TTL attribute name to set")
    return [
        t.call(
            "dynamodb",
            "update_time_to_live",
            f"turn TTL of table {t.id} {'on' if on else 'off'}",
            TableName=t.id,
            TimeToLiveSpecification={"Enabled": on, "AttributeName": name},
        )
    ]


@builds("aws_dynamodb_table", "point_in_time_recovery")
def _table_pitr(t: Target, changes: list[Change]) -> list[ApiCall]:
    on = as_bool(first(desired(t, changes).get("point_in_time_recovery")).get("enabled"))
    return [
        t.call(
            "dynamodb",
            "update_continuous_backups",
            f"turn point-in-time recovery of table {t.id} {'on' if on else 'off'}",
            TableName=t.id,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": on},
        )
    ]


_ASG = {
    "min_size": "MinSize",
    "max_size": "MaxSize",
    "desired_capacity": "DesiredCapacity",
    "default_cooldown": "DefaultCooldown",
    "health_check_type": "HealthCheckType",
    "health_check_grace_period": "HealthCheckGracePeriod",
}


@builds("aws_autoscaling_group", *_ASG)
def _asg(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    params = {
        _ASG[n]: str(want.get(n)) if n == "health_check_type" else as_int(want.get(n))
        for n in changed_attributes(changes)
    }
    return [
        t.call(
            "autoscaling",
            "update_auto_scaling_group",
            f"set {', '.join(sorted(params))} of group {t.id}",
            AutoScalingGroupName=t.id,
            **params,
        )
    ]


@builds("aws_ecs_service", "desired_count")
def _ecs_service(t: Target, changes: list[Change]) -> list[ApiCall]:
    count = as_int(desired(t, changes).get("desired_count"))
    return [
        t.call(
            "ecs",
            "update_service",
            f"set the desired count of {t.id} to {count}",
            cluster=str(t.need("cluster")),
            service=str(t.live.get("name") or t.id),
            desiredCount=count,
        )
    ]
