"""Reverting `tags` of every taggable AWS type: one table row per type says which API tags it.

Tag changes come per key from the drift engine (`tags.env`: expected "prod", actual "dev"; a key
added by hand has expected None, a key removed by hand has actual None). Keys to set are added (or
overwritten) with one call, keys to drop removed with another; S3, which replaces the whole tag
set, gets the live set with the edits applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from driftmgr.engine.remediation import ApiCall
from driftmgr.engine.schema import split_path
from driftmgr.providers.aws.remediate_core import Change, Target, builds, masked


@dataclass(frozen=True, slots=True)
class TagApi:
    service: str
    add: str
    remove: str
    ident: Callable[[Target], dict[str, Any]]  # the parameters naming the resource
    shape: str = "list"  # list [{Key, Value}] | map {k: v} | kms [{TagKey, TagValue}] | lower [{key, value}]
    tags_param: str = "Tags"
    keys_param: str = "TagKeys"
    remove_shape: str = "keys"  # keys [k] | list [{Key: k}] (EC2's delete_tags)


def _by_id(param: str) -> Callable[[Target], dict[str, Any]]:
    return lambda t: {param: t.id}


def _by_arn(param: str) -> Callable[[Target], dict[str, Any]]:
    return lambda t: {param: t.need("arn")}


def _arn_or_id(param: str) -> Callable[[Target], dict[str, Any]]:
    return lambda t: {param: t.live.get("arn") or t.id}


_EC2 = TagApi(
    "ec2",
    "create_tags",
    "delete_tags",
    lambda t: {"Resources": [t.id]},
    keys_param="Tags",
    remove_shape="list",
)
_ELBV2 = TagApi("elbv2", "add_tags", "remove_tags", lambda t: {"ResourceArns": [t.id]})
_RDS = TagApi("rds", "add_tags_to_resource", "remove_tags_from_resource", _by_arn("ResourceName"))
_ECS = TagApi("ecs", "tag_resource", "untag_resource", _arn_or_id("resourceArn"), "lower", "tags", "tagKeys")

TAG_APIS: dict[str, TagApi] = {
    **{
        t: _EC2
        for t in (
            "aws_vpc",
            "aws_subnet",
            "aws_security_group",
            "aws_instance",
            "aws_ebs_volume",
            "aws_eip",
            "aws_internet_gateway",
            "aws_nat_gateway",
            "aws_route_table",
            "aws_network_acl",
            "aws_vpc_endpoint",
            "aws_launch_template",
            "aws_vpc_security_group_ingress_rule",
            "aws_vpc_security_group_egress_rule",
        )
    },
    "aws_sqs_queue": TagApi("sqs", "tag_queue", "untag_queue", _by_id("QueueUrl"), "map"),
    "aws_sns_topic": TagApi("sns", "tag_resource", "untag_resource", _by_id("ResourceArn")),
    "aws_iam_role": TagApi("iam", "tag_role", "untag_role", _by_id("RoleName")),
    "aws_iam_user": TagApi("iam", "tag_user", "untag_user", _by_id("UserName")),
    "aws_iam_policy": TagApi("iam", "tag_policy", "untag_policy", _by_id("PolicyArn")),
    "aws_iam_instance_profile": TagApi(
        "iam", "tag_instance_profile", "untag_instance_profile", _by_id("InstanceProfileName")
    ),
    "aws_lambda_function": TagApi("lambda", "tag_resource", "untag_resource", _by_arn("Resource"), "map"),
    "aws_cloudwatch_log_group": TagApi(
        "logs", "tag_resource", "untag_resource", _by_arn("resourceArn"), "map", "tags", "tagKeys"
    ),
    "aws_cloudwatch_metric_alarm": TagApi(
        "cloudwatch", "tag_resource", "untag_resource", _by_arn("ResourceARN")
    ),
    "aws_kms_key": TagApi("kms", "tag_resource", "untag_resource", _by_id("KeyId"), "kms"),
    "aws_ssm_parameter": TagApi(
        "ssm",
        "add_tags_to_resource",
        "remove_tags_from_resource",
        lambda t: {"ResourceType": "Parameter", "ResourceId": t.id},
    ),
    "aws_secretsmanager_secret": TagApi(
        "secretsmanager", "tag_resource", "untag_resource", _by_id("SecretId")
    ),
    "aws_dynamodb_table": TagApi("dynamodb", "tag_resource", "untag_resource", _by_arn("ResourceArn")),
    "aws_ecr_repository": TagApi(
        "ecr", "tag_resource", "untag_resource", _by_arn("resourceArn"), "list", "tags", "tagKeys"
    ),
    "aws_ecs_cluster": _ECS,
    "aws_ecs_service": _ECS,
    "aws_ecs_task_definition": _ECS,
    "aws_eks_cluster": TagApi(
        "eks", "tag_resource", "untag_resource", _by_arn("resourceArn"), "map", "tags", "tagKeys"
    ),
    "aws_lb": _ELBV2,
    "aws_lb_target_group": _ELBV2,
    "aws_lb_listener": _ELBV2,
    "aws_db_instance": _RDS,
    "aws_rds_cluster": _RDS,
    "aws_db_subnet_group": _RDS,
    "aws_elasticache_cluster": TagApi(
        "elasticache", "add_tags_to_resource", "remove_tags_from_resource", _by_arn("ResourceName")
    ),
}


def tag_edits(target: Target, changes: list[Change]) -> tuple[dict[str, str], list[str]]:
    """(tags to set, keys to remove) that bring the live tags back to the expected ones."""
    live = target.live.get("tags") or {}
    to_set: dict[str, str] = {}
    to_remove: list[str] = []
    for change in changes:
        path = str(change["path"])
        parts = split_path(path)
        expected = change.get("expected")
        if masked(expected):
            raise target.unsupported(path, "the value is sensitive and the report does not hold it")
        if len(parts) == 1:  # the whole map
            want = dict(expected or {})
            have = dict(change.get("actual") or live)
            to_set.update({str(k): str(v) for k, v in want.items() if have.get(k) != v})
            to_remove.extend(str(k) for k in have if k not in want)
            continue
        key = str(parts[1])
        if expected is None:
            to_remove.append(key)
        else:
            to_set[key] = str(expected)
    return to_set, sorted(set(to_remove) - set(to_set))


def _shaped(shape: str, tags: Mapping[str, str]) -> Any:
    if shape == "map":
        return dict(tags)
    if shape == "kms":
        return [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
    if shape == "lower":
        return [{"key": k, "value": v} for k, v in tags.items()]
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _table_tags(target: Target, changes: list[Change]) -> list[ApiCall]:
    api = TAG_APIS[target.tf_type]
    to_set, to_remove = tag_edits(target, changes)
    calls: list[ApiCall] = []
    name = f"{target.tf_type} {target.id}"
    if to_set:
        calls.append(
            target.call(
                api.service,
                api.add,
                f"set tags {', '.join(sorted(to_set))} of {name}",
                **api.ident(target),
                **{api.tags_param: _shaped(api.shape, dict(sorted(to_set.items())))},
            )
        )
    if to_remove:
        keys: Any = [{"Key": k} for k in to_remove] if api.remove_shape == "list" else to_remove
        calls.append(
            target.call(
                api.service,
                api.remove,
                f"remove tags {', '.join(to_remove)} of {name}",
                **api.ident(target),
                **{api.keys_param: keys},
            )
        )
    return calls


builds(list(TAG_APIS), "tags")(_table_tags)


@builds("aws_s3_bucket", "tags")
def _bucket_tags(target: Target, changes: list[Change]) -> list[ApiCall]:
    """S3 replaces the whole tag set: the live set with the edits applied, or none at all."""
    to_set, to_remove = tag_edits(target, changes)
    tags = {**(target.live.get("tags") or {}), **to_set}
    for key in to_remove:
        tags.pop(key, None)
    if not tags:
        return [
            target.call(
                "s3", "delete_bucket_tagging", f"remove every tag of bucket {target.id}", Bucket=target.id
            )
        ]
    return [
        target.call(
            "s3",
            "put_bucket_tagging",
            f"set the tags of bucket {target.id}",
            Bucket=target.id,
            Tagging={"TagSet": [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]},
        )
    ]


@builds("aws_route53_zone", "tags")
def _zone_tags(target: Target, changes: list[Change]) -> list[ApiCall]:
    to_set, to_remove = tag_edits(target, changes)
    params: dict[str, Any] = {"ResourceType": "hostedzone", "ResourceId": target.id.rsplit("/", 1)[-1]}
    if to_set:
        params["AddTags"] = [{"Key": k, "Value": v} for k, v in sorted(to_set.items())]
    if to_remove:
        params["RemoveTagKeys"] = to_remove
    return [target.call("route53", "change_tags_for_resource", f"set the tags of zone {target.id}", **params)]
