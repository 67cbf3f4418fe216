"""The tables behind the comparison rules, as data: state-only, volatile, provider defaults.

`CompareRules()` holds the built-in tables; pass a modified copy to `compare` to override them:

    rules = DEFAULT_RULES.with_state_only("aws_instance", {"user_data"})
    rules = dataclasses.replace(DEFAULT_RULES, defaults={})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# Attributes that exist only in Terraform config/state: deletion/replacement behaviour, waits,
# write-only inputs. No API returns them, so they can never drift. "*" applies to every type.
STATE_ONLY: Mapping[str, frozenset[str]] = {
    "*": frozenset(
        {
            "timeouts",
            "force_destroy",
            "force_delete",
            "skip_destroy",
            "skip_final_snapshot",
            "final_snapshot_identifier",
            "apply_immediately",
            "allow_major_version_upgrade",
            "user_data_replace_on_change",
            "force_detach_policies",
            "force_new_deployment",
            "force_update_version",
            "wait_for_steady_state",
            "wait_for_capacity_timeout",
            "wait_for_elb_capacity",
            "deletion_window_in_days",
            "recovery_window_in_days",
            "bypass_policy_lockout_safety_check",
            "force_overwrite_replica_secret",
            "allow_overwrite",
            "auto_accept",
        }
    ),
    "aws_autoscaling_group": frozenset({"force_delete_warm_pool", "ignore_failed_scaling_activities"}),
    "aws_db_instance": frozenset(
        {"delete_automated_backups", "snapshot_identifier", "upgrade_storage_config"}
    ),
    "aws_rds_cluster": frozenset({"delete_automated_backups", "snapshot_identifier"}),
    "aws_ebs_volume": frozenset({"final_snapshot"}),
    "aws_ecs_service": frozenset({"triggers"}),
    "aws_ecs_task_definition": frozenset({"track_latest"}),
    "aws_elasticache_cluster": frozenset({"snapshot_arns", "snapshot_name"}),
    "aws_lambda_function": frozenset(
        {
            "filename",
            "source_code_hash",
            "publish",
            "s3_bucket",
            "s3_key",
            "s3_object_version",
            "replacement_security_group_ids",
        }
    ),
    "aws_launch_template": frozenset({"update_default_version"}),
    "aws_sns_topic_subscription": frozenset({"confirmation_timeout_in_minutes", "endpoint_auto_confirms"}),
    "aws_ssm_parameter": frozenset({"overwrite"}),
    "aws_volume_attachment": frozenset({"force_detach", "stop_instance_before_detaching"}),
}
# ... and by suffix: lifecycle flags and write-only arguments (`password_wo`, `value_wo_version`).
STATE_ONLY_SUFFIXES: tuple[str, ...] = ("_on_destroy", "_on_delete", "_wo", "_wo_version")

# Attributes the cloud changes by itself; they never count (any depth, any type). Most volatile
# values are computed-only in the schema already; this list also covers schema-less comparison.
VOLATILE: frozenset[str] = frozenset(
    {
        "latest_restorable_time",
        "attachment_count",
        "last_modified",
        "last_modified_date",
        "last_updated_date",
        "last_accessed_date",
        "status_message",
    }
)

# Provider defaults: a state written without the attribute (null) equals the default read live.
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "aws_instance": {
        "monitoring": False,
        "source_dest_check": True,
        "ebs_optimized": False,
        "disable_api_termination": False,
        "disable_api_stop": False,
        "hibernation": False,
        "get_password_data": False,
        "tenancy": "default",
    },
    "aws_vpc": {
        "instance_tenancy": "default",
        "enable_dns_support": True,
        "enable_dns_hostnames": False,
        "assign_generated_ipv6_cidr_block": False,
    },
    "aws_subnet": {"map_public_ip_on_launch": False, "assign_ipv6_address_on_creation": False},
    "aws_security_group": {"description": "Managed by Terraform"},
    "aws_sqs_queue": {
        "delay_seconds": 0,
        "max_message_size": 262144,
        "message_retention_seconds": 345600,
        "receive_wait_time_seconds": 0,
        "visibility_timeout_seconds": 30,
        "fifo_queue": False,
    },
    "aws_sns_topic": {"fifo_topic": False},
    "aws_lambda_function": {"memory_size": 128, "timeout": 3, "package_type": "Zip"},
    "aws_cloudwatch_log_group": {"retention_in_days": 0},
    "aws_kms_key": {
        "is_enabled": True,
        "enable_key_rotation": False,
        "key_usage": "ENCRYPT_DECRYPT",
        "customer_master_key_spec": "SYMMETRIC_DEFAULT",
    },
    "aws_ecr_repository": {"image_tag_mutability": "MUTABLE"},
    "aws_lb": {
        "internal": False,
        "idle_timeout": 60,
        "enable_deletion_protection": False,
        "enable_http2": True,
        "ip_address_type": "ipv4",
    },
    "aws_s3_bucket": {"object_lock_enabled": False},
    "aws_s3_bucket_server_side_encryption_configuration": {"rule.bucket_key_enabled": False},
    # ICMP type/code of a TCP/UDP entry: null as configured, 0 as read back.
    "aws_network_acl": {f"{d}.{a}": 0 for d in ("ingress", "egress") for a in ("icmp_code", "icmp_type")},
    # An expression's period: null as configured, 0 as read back (metric_query is a set).
    "aws_cloudwatch_metric_alarm": {"metric_query.period": 0},
    "aws_dynamodb_table": {"billing_mode": "PROVISIONED"},
    "aws_iam_role": {"path": "/", "max_session_duration": 3600},
    "aws_iam_user": {"path": "/"},
    "aws_iam_group": {"path": "/"},
    "aws_iam_policy": {"path": "/"},
    "aws_iam_instance_profile": {"path": "/"},
}


@dataclass(frozen=True, slots=True, eq=False)
class CompareRules:
    """Overridable tables of the comparison (identity-hashed: compiled plans are cached per object)."""

    state_only: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(STATE_ONLY))
    state_only_suffixes: tuple[str, ...] = STATE_ONLY_SUFFIXES
    volatile: frozenset[str] = VOLATILE
    # type -> {attribute path without indices (`name` or `block.child`): default value}
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: dict(DEFAULTS))
    # null, "", [] and {} equal each other for attributes that are not required (rule 3)
    empty_equals_null: bool = True

    def with_state_only(self, tf_type: str, names: Iterable[str]) -> CompareRules:
        table = dict(self.state_only)
        table[tf_type] = frozenset(table.get(tf_type, frozenset())) | frozenset(names)
        return replace(self, state_only=table)

    def with_defaults(self, tf_type: str, defaults: Mapping[str, Any]) -> CompareRules:
        table = dict(self.defaults)
        table[tf_type] = {**table.get(tf_type, {}), **defaults}
        return replace(self, defaults=table)

    def is_state_only(self, tf_type: str | None, name: str) -> bool:
        if name in self.state_only.get("*", ()) or name.endswith(self.state_only_suffixes):
            return True
        return tf_type is not None and name in self.state_only.get(tf_type, ())


DEFAULT_RULES = CompareRules()
