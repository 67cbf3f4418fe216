"""Default severities: per attribute change (by resource type and path) and per status.

The table is data: an ordered list of `(type glob, path pattern, severity)`; the first entry whose
type glob matches the resource type and whose path pattern covers the change path gives the
severity, else `medium`. A policy file overrides any of it (see policy.py and docs/policy.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from driftmgr.engine.policy.paths import PathPattern, glob_match, split_path_cached
from driftmgr.models import SEVERITIES

SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}  # low 0 … critical 3
DEFAULT_SEVERITY = "medium"


@dataclass(frozen=True, slots=True)
class SeverityEntry:
    type: str  # glob over the Terraform type
    path: PathPattern  # prefix pattern over the change path
    severity: str


def _entries(severity: str, type_glob: str, *paths: str) -> list[SeverityEntry]:
    return [SeverityEntry(type_glob, PathPattern.parse(p), severity) for p in paths]


_SG_RULE_FIELDS = (
    "cidr_blocks",
    "ipv6_cidr_blocks",
    "prefix_list_ids",
    "from_port",
    "to_port",
    "protocol",
    "type",
    "source_security_group_id",
    "self",
)
_VPC_SG_RULE_FIELDS = (
    "cidr_ipv4",
    "cidr_ipv6",
    "prefix_list_id",
    "referenced_security_group_id",
    "from_port",
    "to_port",
    "ip_protocol",
)

# Order matters: specific entries first, the generic ones (`*`) last.
DEFAULT_CHANGE_TABLE: tuple[SeverityEntry, ...] = tuple(
    # tags never change who can reach what
    _entries("low", "*", "tags", "tags_all")
    # network exposure
    + _entries("critical", "aws_security_group", "ingress", "egress")
    + _entries("critical", "aws_security_group_rule", *_SG_RULE_FIELDS)
    + _entries("critical", "aws_vpc_security_group_ingress_rule", *_VPC_SG_RULE_FIELDS)
    + _entries("critical", "aws_vpc_security_group_egress_rule", *_VPC_SG_RULE_FIELDS)
    + _entries("high", "aws_network_acl", "ingress", "egress", "subnet_ids")
    + _entries("high", "aws_route_table", "route")
    + _entries("high", "aws_route", "destination_cidr_block", "gateway_id", "nat_gateway_id")
    + _entries("critical", "aws_db_instance", "publicly_accessible")
    + _entries("high", "aws_instance", "vpc_security_group_ids", "security_groups", "iam_instance_profile")
    + _entries("high", "aws_instance", "associate_public_ip_address", "metadata_options")
    + _entries("high", "aws_lb", "internal", "security_groups")
    + _entries("high", "aws_lb_listener", "protocol", "ssl_policy", "certificate_arn")
    + _entries("high", "aws_eks_cluster", "vpc_config", "access_config", "role_arn")
    + _entries("high", "aws_launch_template", "vpc_security_group_ids", "iam_instance_profile")
    # identity and access
    + _entries("critical", "aws_iam_policy", "policy")
    + _entries("critical", "aws_iam_role_policy", "policy")
    + _entries("critical", "aws_iam_role", "assume_role_policy", "inline_policy", "managed_policy_arns")
    + _entries("high", "aws_iam_role", "permissions_boundary")
    + _entries("high", "aws_iam_role_policy_attachment", "policy_arn", "role")
    + _entries("high", "aws_iam_instance_profile", "role")
    + _entries("high", "aws_iam_user", "permissions_boundary")
    + _entries("high", "aws_lambda_function", "role")
    + _entries("high", "aws_ecs_task_definition", "task_role_arn", "execution_role_arn")
    # data exposure and protection
    + _entries("critical", "aws_s3_bucket_public_access_block", "*")
    + _entries("critical", "aws_s3_bucket_policy", "policy")
    + _entries("critical", "aws_kms_key", "policy")
    + _entries("high", "aws_kms_key", "enable_key_rotation", "is_enabled", "key_usage")
    + _entries("high", "aws_s3_bucket_server_side_encryption_configuration", "rule")
    + _entries("high", "aws_s3_bucket_versioning", "versioning_configuration", "mfa")
    + _entries("high", "aws_db_instance", "storage_encrypted", "iam_database_authentication_enabled")
    + _entries("high", "aws_db_instance", "deletion_protection", "backup_retention_period")
    + _entries("high", "aws_rds_cluster", "storage_encrypted", "deletion_protection")
    + _entries("high", "aws_dynamodb_table", "server_side_encryption", "point_in_time_recovery")
    + _entries("high", "aws_ecr_repository", "encryption_configuration")
    + _entries("critical", "aws_sqs_queue", "policy")
    + _entries("critical", "aws_sns_topic", "policy")
    + _entries("critical", "aws_secretsmanager_secret", "policy")
    # any other resource-based policy document, and any encryption key
    + _entries("critical", "*", "policy")
    + _entries("high", "*", "kms_key_id", "kms_master_key_id", "kms_key_arn")
)

# Unmanaged resources of these types grant access or open networks: high, not medium.
_SENSITIVE_TYPES = (
    "aws_iam_*",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_*_rule",
    "aws_network_acl*",
    "aws_s3_bucket_policy",
    "aws_kms_key",
)
# A missing resource of these types removes a protection: critical.
_PROTECTION_TYPES = ("aws_s3_bucket_public_access_block",)

DEFAULT_STATUS_SEVERITY = {"missing": "high", "unmanaged": "medium"}


class SeverityTable:
    """Default severities; `change()` and `status()` are what the engine asks."""

    def __init__(self, entries: Iterable[SeverityEntry] = DEFAULT_CHANGE_TABLE) -> None:
        self.entries = tuple(entries)
        self._cache: dict[tuple[str, str], str] = {}

    def change(self, rtype: str, path: str) -> str:
        """The default severity of a change at `path` on a resource of type `rtype`."""
        key = (rtype, path)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        try:
            steps: tuple[str, ...] = split_path_cached(path)
        except ValueError:
            steps = (path,)
        severity = DEFAULT_SEVERITY
        for entry in self.entries:
            if glob_match(entry.type, rtype) and entry.path.matches(steps):
                severity = entry.severity
                break
        if len(self._cache) < 65536:
            self._cache[key] = severity
        return severity

    def status(self, rtype: str, status: str) -> str | None:
        """The default severity of a missing or unmanaged resource; None for other statuses."""
        base = DEFAULT_STATUS_SEVERITY.get(status)
        if base is None:
            return None
        if status == "missing" and any(glob_match(g, rtype) for g in _PROTECTION_TYPES):
            return "critical"
        if any(glob_match(g, rtype) for g in _SENSITIVE_TYPES):
            return max_severity((base, "high"))
        return base


DEFAULT_TABLE = SeverityTable()


def max_severity(severities: Iterable[str | None]) -> str | None:
    """The highest of the given severities (None ignored); None when there is none."""
    best: str | None = None
    rank = -1
    for sev in severities:
        if sev is None:
            continue
        r = SEVERITY_RANK.get(sev, SEVERITY_RANK[DEFAULT_SEVERITY])
        if r > rank:
            best, rank = sev, r
    return best


@lru_cache(maxsize=8)
def severity_rank(severity: str | None) -> int:
    """low 0 … critical 3; None and unknown names rank as medium."""
    return SEVERITY_RANK.get(severity or DEFAULT_SEVERITY, SEVERITY_RANK[DEFAULT_SEVERITY])
