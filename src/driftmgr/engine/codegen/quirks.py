"""What the provider schema cannot say about writing a resource's configuration, per type.

The schema says which arguments exist, which are required, computed-only, sensitive or deprecated.
It does not say which arguments conflict, which value is the provider's default (so can be left
out), which nested values are required inside attribute-as-block objects, or which live values are
AWS's own defaults (the default key policy of a KMS key). That goes here, as data.

Paths are dotted attribute paths without indices: `ingress.from_port`, `health_check.enabled`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Predicate = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class TypeQuirks:
    # Never written: one side of a conflict, arguments managed by a separate resource type,
    # arguments the provider does not read back on import.
    drop: frozenset[str] = frozenset()
    # Written even when empty/zero: required keys of attribute-as-block objects.
    keep: frozenset[str] = frozenset()
    # The provider's default for an optional argument: a live value equal to it is left out. An
    # optional argument not listed is taken to default to its zero value (false, 0, "").
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # (winner, loser): when both are set, the loser is not written (`ConflictsWith`).
    conflicts: tuple[tuple[str, str], ...] = ()
    # A live value AWS set by itself (default policies): left out when the predicate holds.
    omit_if: Mapping[str, Predicate] = field(default_factory=dict)
    # A reason not to codify the resource at all, from its live attributes (None: codify).
    skip_if: Callable[[Mapping[str, Any]], str | None] | None = None
    # Arguments discovery does not report under their own name, derived from what it does report.
    derive: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)


def _policy_id(expected: str) -> Predicate:
    def check(v: Any) -> bool:
        try:
            doc = json.loads(v) if isinstance(v, str) else v
        except ValueError:
            return False
        return isinstance(doc, dict) and doc.get("Id") == expected

    return check


def _full_access_policy(v: Any) -> bool:
    """The policy AWS gives a VPC endpoint that was created without one."""
    try:
        doc = json.loads(v) if isinstance(v, str) else v
    except ValueError:
        return False
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        return False
    body = {k: x for k, x in statements[0].items() if k != "Sid"}
    return body == {"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}


def _ssm_skip(attrs: Mapping[str, Any]) -> str | None:
    # The provider requires one of value / insecure_value / value_wo; `value` is sensitive, and an
    # imported parameter reads back into `value`, so `insecure_value` would plan a change.
    kind = attrs.get("type") or "parameter"
    return f"{kind} parameter: its value is a sensitive required argument and is never written"


_SG_RULE_KEYS = frozenset(
    f"{d}.{k}" for d in ("ingress", "egress") for k in ("from_port", "to_port", "protocol")
)
_NACL_RULE_KEYS = frozenset(
    f"{d}.{k}"
    for d in ("ingress", "egress")
    for k in ("from_port", "to_port", "protocol", "rule_no", "action")
)


def _key_pair_skip(_attrs: Mapping[str, Any]) -> str | None:
    return (
        "the provider cannot read a key pair's public_key back (a required, force-new argument): "
        "an imported key pair would be replaced"
    )


def _lambda_skip(attrs: Mapping[str, Any]) -> str | None:
    if attrs.get("image_uri") or attrs.get("package_type") == "Image":
        return None
    return (
        "the function's code (filename / s3_bucket) cannot be read back from AWS: "
        "point the generated configuration at the deployment package by hand"
    )


QUIRKS: dict[str, TypeQuirks] = {
    "aws_lambda_function": TypeQuirks(skip_if=_lambda_skip),
    "aws_autoscaling_group": TypeQuirks(
        conflicts=(
            ("vpc_zone_identifier", "availability_zones"),
            ("launch_template.id", "launch_template.name"),
            (
                "mixed_instances_policy.launch_template.launch_template_specification.launch_template_id",
                "mixed_instances_policy.launch_template.launch_template_specification.launch_template_name",
            ),
        ),
        defaults={"health_check_type": "EC2", "health_check_grace_period": 300},
    ),
    # the record name as configured is not known; its FQDN is what the import id and state carry
    "aws_route53_record": TypeQuirks(derive={"name": lambda a: a.get("fqdn")}),
    "aws_key_pair": TypeQuirks(skip_if=_key_pair_skip),
    "aws_vpc": TypeQuirks(
        defaults={"enable_dns_support": True, "instance_tenancy": "default"},
        # an IPAM netmask length and an explicit CIDR exclude each other
        conflicts=(("cidr_block", "ipv4_netmask_length"), ("ipv6_cidr_block", "ipv6_netmask_length")),
    ),
    "aws_subnet": TypeQuirks(
        conflicts=(("availability_zone", "availability_zone_id"),),
        defaults={"private_dns_hostname_type_on_launch": "ip-name"},
    ),
    "aws_security_group": TypeQuirks(
        keep=_SG_RULE_KEYS,
        defaults={"description": "Managed by Terraform"},
    ),
    "aws_network_acl": TypeQuirks(keep=_NACL_RULE_KEYS),
    "aws_kms_key": TypeQuirks(
        defaults={
            "is_enabled": True,
            "key_usage": "ENCRYPT_DECRYPT",
            "customer_master_key_spec": "SYMMETRIC_DEFAULT",
            "deletion_window_in_days": 30,
        },
        omit_if={"policy": _policy_id("key-default-1")},
    ),
    "aws_sns_topic": TypeQuirks(omit_if={"policy": _policy_id("__default_policy_ID")}),
    "aws_sqs_queue": TypeQuirks(
        defaults={
            "visibility_timeout_seconds": 30,
            "message_retention_seconds": 345600,
            "max_message_size": 262144,
        },
    ),
    "aws_iam_role": TypeQuirks(
        defaults={"path": "/", "max_session_duration": 3600},
        # exclusive management of attached/inline policies: left to their own resource types
        drop=frozenset({"managed_policy_arns", "inline_policy"}),
    ),
    "aws_iam_policy": TypeQuirks(defaults={"path": "/"}),
    "aws_iam_user": TypeQuirks(defaults={"path": "/"}),
    "aws_iam_group": TypeQuirks(defaults={"path": "/"}),
    "aws_iam_instance_profile": TypeQuirks(defaults={"path": "/"}),
    "aws_dynamodb_table": TypeQuirks(defaults={"billing_mode": "PROVISIONED", "table_class": "STANDARD"}),
    "aws_ecr_repository": TypeQuirks(defaults={"image_tag_mutability": "MUTABLE"}),
    "aws_ssm_parameter": TypeQuirks(skip_if=_ssm_skip),
    "aws_lb": TypeQuirks(
        conflicts=(("subnets", "subnet_mapping"),),
        defaults={
            "ip_address_type": "ipv4",
            "idle_timeout": 60,
            "enable_http2": True,
            "desync_mitigation_mode": "defensive",
            "load_balancer_type": "application",
        },
    ),
    "aws_lb_target_group": TypeQuirks(
        defaults={
            "stickiness.enabled": True,
            "stickiness.cookie_duration": 86400,
            "health_check.enabled": True,
            "health_check.port": "traffic-port",
            "health_check.protocol": "HTTP",
            "health_check.interval": 30,
            "deregistration_delay": "300",
            "protocol_version": "HTTP1",
            "load_balancing_algorithm_type": "round_robin",
            "load_balancing_cross_zone_enabled": "use_load_balancer_configuration",
            "ip_address_type": "ipv4",
        },
    ),
    # an empty comment is written: left out, the provider would set "Managed by Terraform"
    "aws_route53_zone": TypeQuirks(keep=frozenset({"comment"})),
    "aws_cloudwatch_log_group": TypeQuirks(defaults={"log_group_class": "STANDARD"}),
    "aws_s3_bucket_lifecycle_configuration": TypeQuirks(
        defaults={"transition_default_minimum_object_size": "all_storage_classes_128K"}
    ),
    "aws_vpc_endpoint": TypeQuirks(
        omit_if={"policy": _full_access_policy}, defaults={"vpc_endpoint_type": "Gateway"}
    ),
    "aws_cloudwatch_metric_alarm": TypeQuirks(
        defaults={"actions_enabled": True, "treat_missing_data": "missing"}
    ),
}

NO_QUIRKS = TypeQuirks()


def quirks(tf_type: str) -> TypeQuirks:
    return QUIRKS.get(tf_type, NO_QUIRKS)
