"""RDS: aws_db_instance, aws_rds_cluster, aws_db_subnet_group.

Attributes follow the provider's read functions (terraform-provider-aws 5.x `internal/service/rds`):
an API field that is absent becomes the zero value ("" / 0 / false) where the provider's SDKv2 code
sets it unconditionally, and stays out where the provider only sets it when present.

- aws_db_instance: the state id is the DbiResourceId (`db-…`, provider 5.0+); `terraform import`
  takes the identifier instead (`import_id`). Instances that belong to a DB cluster (Aurora, Multi-AZ
  DB clusters, DocumentDB, Neptune) are aws_rds_cluster_instance / other types, not aws_db_instance,
  and are skipped.
- aws_rds_cluster: DocumentDB and Neptune clusters, which DescribeDBClusters also returns, are skipped.
- engine_version is the running version. The provider keeps a configured prefix ("16" while 16.3 runs);
  comparing that needs the engine's version-prefix rule (a state value V matches a live L when L == V
  or L starts with V + ".").
- Passwords, snapshot/final-snapshot settings and other create-only arguments cannot be read and are
  left out (unknown).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.base import ResourceType, Scope, register_type

Item = dict[str, Any]

_NOT_RDS_CLUSTER_ENGINES = ("docdb", "neptune")


def _str(item: Item, key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value)


def _int(item: Item, key: str) -> int:
    value = item.get(key)
    return 0 if value is None else int(value)


def _secret(item: Item) -> list[dict[str, Any]]:
    secret = item.get("MasterUserSecret")
    if not secret:
        return []
    return [
        {
            "kms_key_id": _str(secret, "KmsKeyId"),
            "secret_arn": _str(secret, "SecretArn"),
            "secret_status": _str(secret, "SecretStatus"),
        }
    ]


# --- aws_db_instance --------------------------------------------------------------------------


def _instance_details(item: Item, scope: Scope) -> Item | None:
    # Members of a DB cluster are aws_rds_cluster_instance (or DocumentDB/Neptune) resources.
    return None if item.get("DBClusterIdentifier") else item


def _instance_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    domain = (item.get("DomainMemberships") or [{}])[0]
    endpoint = item.get("Endpoint") or {}
    listener = item.get("ListenerEndpoint")
    option_groups = item.get("OptionGroupMemberships") or []
    parameter_groups = item.get("DBParameterGroups") or []
    logs = sorted(item.get("EnabledCloudwatchLogsExports") or [])
    attrs: dict[str, Any] = {
        "identifier": item.get("DBInstanceIdentifier"),
        "resource_id": item.get("DbiResourceId"),
        "arn": item.get("DBInstanceArn"),
        "allocated_storage": _int(item, "AllocatedStorage"),
        "auto_minor_version_upgrade": bool(item.get("AutoMinorVersionUpgrade", False)),
        "availability_zone": _str(item, "AvailabilityZone"),
        "backup_retention_period": _int(item, "BackupRetentionPeriod"),
        "backup_target": _str(item, "BackupTarget"),
        "backup_window": _str(item, "PreferredBackupWindow"),
        "ca_cert_identifier": _str(item, "CACertificateIdentifier"),
        "character_set_name": _str(item, "CharacterSetName"),
        "copy_tags_to_snapshot": bool(item.get("CopyTagsToSnapshot", False)),
        "custom_iam_instance_profile": _str(item, "CustomIamInstanceProfile"),
        "customer_owned_ip_enabled": bool(item.get("CustomerOwnedIpEnabled", False)),
        "database_insights_mode": _str(item, "DatabaseInsightsMode"),
        "db_name": _str(item, "DBName"),
        "dedicated_log_volume": bool(item.get("DedicatedLogVolume", False)),
        "deletion_protection": bool(item.get("DeletionProtection", False)),
        "domain": _str(domain, "Domain"),
        "domain_iam_role_name": _str(domain, "IAMRoleName"),
        "domain_fqdn": _str(domain, "FQDN"),
        "domain_ou": _str(domain, "OU"),
        "domain_auth_secret_arn": _str(domain, "AuthSecretArn"),
        "domain_dns_ips": list(domain.get("DnsIps") or []) or None,
        "enabled_cloudwatch_logs_exports": logs or None,
        "engine": _str(item, "Engine"),
        "engine_lifecycle_support": _str(item, "EngineLifecycleSupport"),
        "engine_version": _str(item, "EngineVersion"),
        "engine_version_actual": _str(item, "EngineVersion"),
        "iam_database_authentication_enabled": bool(item.get("IAMDatabaseAuthenticationEnabled", False)),
        "instance_class": _str(item, "DBInstanceClass"),
        "iops": _int(item, "Iops"),
        "kms_key_id": _str(item, "KmsKeyId"),
        "license_model": _str(item, "LicenseModel"),
        "maintenance_window": _str(item, "PreferredMaintenanceWindow"),
        "master_user_secret": _secret(item),
        "max_allocated_storage": _int(item, "MaxAllocatedStorage"),
        "monitoring_interval": _int(item, "MonitoringInterval"),
        "monitoring_role_arn": _str(item, "MonitoringRoleArn"),
        "multi_az": bool(item.get("MultiAZ", False)),
        "nchar_character_set_name": _str(item, "NcharCharacterSetName"),
        "network_type": _str(item, "NetworkType"),
        "performance_insights_enabled": bool(item.get("PerformanceInsightsEnabled", False)),
        "performance_insights_kms_key_id": _str(item, "PerformanceInsightsKMSKeyId"),
        "performance_insights_retention_period": _int(item, "PerformanceInsightsRetentionPeriod"),
        "port": _int(item, "DbInstancePort"),
        "publicly_accessible": bool(item.get("PubliclyAccessible", False)),
        "replica_mode": _str(item, "ReplicaMode"),
        "replicas": list(item.get("ReadReplicaDBInstanceIdentifiers") or []),
        "replicate_source_db": _str(item, "ReadReplicaSourceDBInstanceIdentifier"),
        "status": _str(item, "DBInstanceStatus"),
        "storage_encrypted": bool(item.get("StorageEncrypted", False)),
        "storage_throughput": _int(item, "StorageThroughput"),
        "storage_type": _str(item, "StorageType"),
        "timezone": _str(item, "Timezone"),
        "username": _str(item, "MasterUsername"),
        "vpc_security_group_ids": sorted(
            g["VpcSecurityGroupId"]
            for g in item.get("VpcSecurityGroups") or []
            if g.get("VpcSecurityGroupId")
        ),
        "listener_endpoint": (
            [
                {
                    "address": _str(listener, "Address"),
                    "hosted_zone_id": _str(listener, "HostedZoneId"),
                    "port": _int(listener, "Port"),
                }
            ]
            if listener
            else []
        ),
        "tags": tags(item, "TagList"),
    }
    if item.get("DBSubnetGroup"):
        attrs["db_subnet_group_name"] = _str(item["DBSubnetGroup"], "DBSubnetGroupName")
    if option_groups:
        attrs["option_group_name"] = _str(option_groups[0], "OptionGroupName")
    if parameter_groups:
        attrs["parameter_group_name"] = _str(parameter_groups[0], "DBParameterGroupName")
    if endpoint:
        attrs["address"] = _str(endpoint, "Address")
        attrs["hosted_zone_id"] = _str(endpoint, "HostedZoneId")
        if endpoint.get("Port") is not None:
            attrs["port"] = int(endpoint["Port"])
            if endpoint.get("Address"):
                attrs["endpoint"] = f"{endpoint['Address']}:{endpoint['Port']}"
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_db_instance",
        service="rds",
        list_call="describe_db_instances",
        result_key="DBInstances",
        id_key="DbiResourceId",
        import_id=lambda item: str(item["DBInstanceIdentifier"]),
        details=_instance_details,
        to_attributes=_instance_attributes,
    ),
)


# --- aws_rds_cluster --------------------------------------------------------------------------


def _cluster_details(item: Item, scope: Scope) -> Item | None:
    return None if item.get("Engine") in _NOT_RDS_CLUSTER_ENGINES else item


def _scaling(info: Item | None) -> list[dict[str, Any]]:
    if info is None:
        return []
    return [
        {
            "auto_pause": info.get("AutoPause"),
            "max_capacity": info.get("MaxCapacity"),
            "min_capacity": info.get("MinCapacity"),
            "seconds_before_timeout": info.get("SecondsBeforeTimeout"),
            "seconds_until_auto_pause": info.get("SecondsUntilAutoPause"),
            "timeout_action": info.get("TimeoutAction"),
        }
    ]


def _serverless_v2(info: Item | None) -> list[dict[str, Any]]:
    if info is None:
        return []
    return [
        {
            "max_capacity": info.get("MaxCapacity"),
            "min_capacity": info.get("MinCapacity"),
            "seconds_until_auto_pause": info.get("SecondsUntilAutoPause"),
        }
    ]


def _cluster_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    domain = (item.get("DomainMemberships") or [{}])[0]
    cert = item.get("CertificateDetails") or {}
    valid_till = cert.get("ValidTill")
    attrs: dict[str, Any] = {
        "cluster_identifier": item.get("DBClusterIdentifier"),
        "arn": item.get("DBClusterArn"),
        "allocated_storage": _int(item, "AllocatedStorage"),
        "availability_zones": sorted(item.get("AvailabilityZones") or []),
        "backtrack_window": _int(item, "BacktrackWindow"),
        "backup_retention_period": _int(item, "BackupRetentionPeriod"),
        "ca_certificate_identifier": cert.get("CAIdentifier"),
        "ca_certificate_valid_till": (
            valid_till.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if isinstance(valid_till, datetime)
            else valid_till
        ),
        "cluster_members": sorted(
            m["DBInstanceIdentifier"]
            for m in item.get("DBClusterMembers") or []
            if m.get("DBInstanceIdentifier")
        ),
        "cluster_resource_id": _str(item, "DbClusterResourceId"),
        "cluster_scalability_type": _str(item, "ClusterScalabilityType"),
        "copy_tags_to_snapshot": bool(item.get("CopyTagsToSnapshot", False)),
        "database_insights_mode": _str(item, "DatabaseInsightsMode"),
        "db_cluster_instance_class": _str(item, "DBClusterInstanceClass"),
        "db_cluster_parameter_group_name": _str(item, "DBClusterParameterGroup"),
        "db_subnet_group_name": _str(item, "DBSubnetGroup"),
        "db_system_id": _str(item, "DBSystemId"),
        "deletion_protection": bool(item.get("DeletionProtection", False)),
        "domain": _str(domain, "Domain"),
        "domain_iam_role_name": _str(domain, "IAMRoleName"),
        "enabled_cloudwatch_logs_exports": sorted(item.get("EnabledCloudwatchLogsExports") or []) or None,
        "enable_http_endpoint": bool(item.get("HttpEndpointEnabled", False)),
        "endpoint": _str(item, "Endpoint"),
        "engine": _str(item, "Engine"),
        "engine_lifecycle_support": _str(item, "EngineLifecycleSupport"),
        "engine_mode": _str(item, "EngineMode"),
        "engine_version": _str(item, "EngineVersion"),
        "engine_version_actual": _str(item, "EngineVersion"),
        "hosted_zone_id": _str(item, "HostedZoneId"),
        "iam_database_authentication_enabled": bool(item.get("IAMDatabaseAuthenticationEnabled", False)),
        "iam_roles": sorted(r["RoleArn"] for r in item.get("AssociatedRoles") or [] if r.get("RoleArn")),
        "iops": _int(item, "Iops"),
        "kms_key_id": _str(item, "KmsKeyId"),
        "master_user_secret": _secret(item),
        "master_username": _str(item, "MasterUsername"),
        "monitoring_interval": _int(item, "MonitoringInterval"),
        "monitoring_role_arn": _str(item, "MonitoringRoleArn"),
        "network_type": _str(item, "NetworkType"),
        "performance_insights_enabled": bool(item.get("PerformanceInsightsEnabled", False)),
        "performance_insights_kms_key_id": _str(item, "PerformanceInsightsKMSKeyId"),
        "performance_insights_retention_period": _int(item, "PerformanceInsightsRetentionPeriod"),
        "port": _int(item, "Port"),
        "preferred_backup_window": _str(item, "PreferredBackupWindow"),
        "preferred_maintenance_window": _str(item, "PreferredMaintenanceWindow"),
        "reader_endpoint": _str(item, "ReaderEndpoint"),
        "replication_source_identifier": _str(item, "ReplicationSourceIdentifier"),
        "scaling_configuration": _scaling(item.get("ScalingConfigurationInfo")),
        "serverlessv2_scaling_configuration": _serverless_v2(item.get("ServerlessV2ScalingConfiguration")),
        "storage_encrypted": bool(item.get("StorageEncrypted", False)),
        "storage_type": _str(item, "StorageType"),
        "vpc_security_group_ids": sorted(
            g["VpcSecurityGroupId"]
            for g in item.get("VpcSecurityGroups") or []
            if g.get("VpcSecurityGroupId")
        ),
        "tags": tags(item, "TagList"),
    }
    if item.get("DatabaseName") is not None:  # the provider skips it when RDS omits it
        attrs["database_name"] = item["DatabaseName"]
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_rds_cluster",
        service="rds",
        list_call="describe_db_clusters",
        result_key="DBClusters",
        id_key="DBClusterIdentifier",
        details=_cluster_details,
        to_attributes=_cluster_attributes,
    ),
)


# --- aws_db_subnet_group ----------------------------------------------------------------------


def _subnet_group_details(item: Item, scope: Scope) -> Item:
    # DescribeDBSubnetGroups carries no tags; the provider lists them separately.
    resp = scope.client("rds").list_tags_for_resource(ResourceName=item["DBSubnetGroupArn"])
    item["_TagList"] = resp.get("TagList") or []
    return item


def _subnet_group_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    return {
        "name": item.get("DBSubnetGroupName"),
        "arn": item.get("DBSubnetGroupArn"),
        "description": _str(item, "DBSubnetGroupDescription"),
        "subnet_ids": sorted(
            s["SubnetIdentifier"] for s in item.get("Subnets") or [] if s.get("SubnetIdentifier")
        ),
        "supported_network_types": sorted(item.get("SupportedNetworkTypes") or []),
        "vpc_id": _str(item, "VpcId"),
        "tags": tags(item, "_TagList"),
    }


def _subnet_group_default(item: Item, scope: Scope) -> str | None:
    name = str(item.get("DBSubnetGroupName", ""))
    if name == "default" or name.startswith("default-vpc-"):
        return "default DB subnet group (created by RDS for the default VPC)"
    return None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_db_subnet_group",
        service="rds",
        list_call="describe_db_subnet_groups",
        result_key="DBSubnetGroups",
        id_key="DBSubnetGroupName",
        details=_subnet_group_details,
        to_attributes=_subnet_group_attributes,
        default_reason=_subnet_group_default,
    ),
)
