"""Key-value and cache stores: aws_dynamodb_table, aws_elasticache_cluster.

Attributes follow the provider's read functions (terraform-provider-aws 5.x): where the provider sets a
field unconditionally an absent API value becomes its zero value; where it sets it only when present,
it stays out here too (unknown, never drift).

- aws_dynamodb_table: id = table name. Replicas (global tables) need a call per replica region and
  are left out when present; restore_* and import_table are create-only arguments.
- aws_elasticache_cluster: id = cluster id. A cluster that belongs to a replication group is created
  by that group (aws_elasticache_replication_group) and is flagged as its implicit child.
  engine_version follows the provider: redis ≥ 6 as "major.minor" (a state written from a "6.x" style
  configuration keeps "6.x"), older redis and memcached as the full version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.base import ResourceType, Scope, register_type

Item = dict[str, Any]


# --- aws_dynamodb_table -----------------------------------------------------------------------


def _tables(scope: Scope) -> Iterator[Item]:
    pages = scope.client("dynamodb").get_paginator("list_tables").paginate()
    for page in pages:
        for name in page.get("TableNames") or []:
            yield {"TableName": name}


def _table_tags(ddb: Any, arn: str) -> list[Item]:
    found: list[Item] = []
    kwargs = {"ResourceArn": arn}
    while True:  # ListTagsOfResource pages by NextToken and has no botocore paginator
        resp = ddb.list_tags_of_resource(**kwargs)
        found.extend(resp.get("Tags") or [])
        if not resp.get("NextToken"):
            return found
        kwargs["NextToken"] = resp["NextToken"]


def _table_details(item: Item, scope: Scope) -> Item | None:
    ddb = scope.client("dynamodb")
    name = item["TableName"]
    try:
        table: Item = ddb.describe_table(TableName=name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription") or {}
        backups = ddb.describe_continuous_backups(TableName=name).get("ContinuousBackupsDescription") or {}
        table_tags = _table_tags(ddb, table["TableArn"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in (
            "ResourceNotFoundException",
            "TableNotFoundException",
        ):
            return None  # deleted since the listing
        raise
    table["_Ttl"] = ttl
    table["_Pitr"] = backups.get("PointInTimeRecoveryDescription") or {}
    table["_Tags"] = table_tags
    return table


def _keys(schema: list[Item]) -> tuple[str | None, str | None]:
    hash_key = next((k["AttributeName"] for k in schema if k.get("KeyType") == "HASH"), None)
    range_key = next((k["AttributeName"] for k in schema if k.get("KeyType") == "RANGE"), None)
    return hash_key, range_key


def _on_demand(value: Item | None) -> list[dict[str, Any]]:
    if not value:
        return []
    return [
        {
            "max_read_request_units": value.get("MaxReadRequestUnits"),
            "max_write_request_units": value.get("MaxWriteRequestUnits"),
        }
    ]


def _gsi(index: Item) -> dict[str, Any]:
    hash_key, range_key = _keys(index.get("KeySchema") or [])
    projection = index.get("Projection") or {}
    throughput = index.get("ProvisionedThroughput") or {}
    return {
        "name": index.get("IndexName"),
        "hash_key": hash_key,
        "range_key": range_key or "",
        "projection_type": projection.get("ProjectionType"),
        "non_key_attributes": sorted(projection.get("NonKeyAttributes") or []),
        "read_capacity": int(throughput.get("ReadCapacityUnits") or 0),
        "write_capacity": int(throughput.get("WriteCapacityUnits") or 0),
        "on_demand_throughput": _on_demand(index.get("OnDemandThroughput")),
    }


def _lsi(index: Item) -> dict[str, Any]:
    _, range_key = _keys(index.get("KeySchema") or [])
    projection = index.get("Projection") or {}
    return {
        "name": index.get("IndexName"),
        "range_key": range_key,
        "projection_type": projection.get("ProjectionType"),
        "non_key_attributes": list(projection.get("NonKeyAttributes") or []),
    }


def _table_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    hash_key, range_key = _keys(item.get("KeySchema") or [])
    throughput = item.get("ProvisionedThroughput") or {}
    stream = item.get("StreamSpecification")
    sse = item.get("SSEDescription")
    pitr = item["_Pitr"]
    ttl = item["_Ttl"]
    attrs: dict[str, Any] = {
        "name": item.get("TableName"),
        "arn": item.get("TableArn"),
        "attribute": sorted(
            (
                {"name": a["AttributeName"], "type": a["AttributeType"]}
                for a in item.get("AttributeDefinitions") or []
            ),
            key=lambda a: str(a["name"]),
        ),
        "billing_mode": (item.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED",
        "deletion_protection_enabled": bool(item.get("DeletionProtectionEnabled", False)),
        "hash_key": hash_key,
        "range_key": range_key,
        "read_capacity": int(throughput.get("ReadCapacityUnits") or 0),
        "write_capacity": int(throughput.get("WriteCapacityUnits") or 0),
        "global_secondary_index": sorted(
            (_gsi(i) for i in item.get("GlobalSecondaryIndexes") or []), key=lambda i: str(i["name"])
        ),
        "local_secondary_index": sorted(
            (_lsi(i) for i in item.get("LocalSecondaryIndexes") or []), key=lambda i: str(i["name"])
        ),
        "on_demand_throughput": _on_demand(item.get("OnDemandThroughput")),
        "point_in_time_recovery": [
            {
                "enabled": pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
                "recovery_period_in_days": int(pitr.get("RecoveryPeriodInDays") or 0),
            }
        ],
        "server_side_encryption": (
            [{"enabled": sse.get("Status") == "ENABLED", "kms_key_arn": sse.get("KMSMasterKeyArn") or ""}]
            if sse
            else []
        ),
        "stream_enabled": bool((stream or {}).get("StreamEnabled", False)),
        "stream_view_type": (stream or {}).get("StreamViewType") or "",
        "stream_arn": item.get("LatestStreamArn") or "",
        "stream_label": item.get("LatestStreamLabel") or "",
        "table_class": (item.get("TableClassSummary") or {}).get("TableClass") or "STANDARD",
        "ttl": [
            {
                "attribute_name": ttl.get("AttributeName") or "",
                "enabled": ttl.get("TimeToLiveStatus") == "ENABLED",
            }
        ],
        "tags": tags(item, "_Tags"),
    }
    if not item.get("Replicas"):
        attrs["replica"] = []
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_dynamodb_table",
        service="dynamodb",
        collect=_tables,
        id_key="TableName",
        details=_table_details,
        to_attributes=_table_attributes,
    ),
)


# --- aws_elasticache_cluster ------------------------------------------------------------------


def _cache_details(item: Item, scope: Scope) -> Item | None:
    try:
        resp = scope.client("elasticache").list_tags_for_resource(ResourceName=item["ARN"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "CacheClusterNotFound":
            return None  # deleted since the listing
        raise
    item["_TagList"] = resp.get("TagList") or []
    return item


def _full_version(version: str) -> str:
    """go-version's String(): at least major.minor.patch."""
    core, sep, rest = version.partition("-")
    parts = core.split(".")
    parts += ["0"] * (3 - len(parts))
    return ".".join(parts) + (sep + rest if sep else "")


def _engine_versions(engine: str, version: str | None) -> dict[str, str]:
    if not version:
        return {}
    if engine != "redis":
        return {"engine_version": version, "engine_version_actual": version}
    full = _full_version(version)
    parts = full.split(".")
    if not parts[0].isdigit() or int(parts[0]) < 6:
        return {"engine_version": full, "engine_version_actual": full}
    return {"engine_version": f"{parts[0]}.{parts[1]}", "engine_version_actual": full}


def _log_delivery(conf: Item) -> dict[str, Any]:
    details = conf.get("DestinationDetails") or {}
    destination = (details.get("CloudWatchLogsDetails") or {}).get("LogGroup") or (
        details.get("KinesisFirehoseDetails") or {}
    ).get("DeliveryStream")
    return {
        "destination": destination or "",
        "destination_type": conf.get("DestinationType") or "",
        "log_format": conf.get("LogFormat") or "",
        "log_type": conf.get("LogType") or "",
    }


def _cache_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    engine = str(item.get("Engine") or "")
    zone = str(item.get("PreferredAvailabilityZone") or "")
    nodes = sorted(item.get("CacheNodes") or [], key=lambda n: str(n.get("CacheNodeId", "")))
    attrs: dict[str, Any] = {
        "cluster_id": item.get("CacheClusterId"),
        "arn": item.get("ARN"),
        "engine": engine,
        **_engine_versions(engine, item.get("EngineVersion")),
        "node_type": item.get("CacheNodeType") or "",
        "num_cache_nodes": int(item.get("NumCacheNodes") or 0),
        "auto_minor_version_upgrade": "true" if item.get("AutoMinorVersionUpgrade") else "false",
        "subnet_group_name": item.get("CacheSubnetGroupName") or "",
        "security_group_ids": sorted(
            g["SecurityGroupId"] for g in item.get("SecurityGroups") or [] if g.get("SecurityGroupId")
        ),
        "maintenance_window": item.get("PreferredMaintenanceWindow") or "",
        "snapshot_window": item.get("SnapshotWindow") or "",
        "snapshot_retention_limit": int(item.get("SnapshotRetentionLimit") or 0),
        "log_delivery_configuration": [_log_delivery(c) for c in item.get("LogDeliveryConfigurations") or []],
        "replication_group_id": item.get("ReplicationGroupId") or "",
        "availability_zone": zone,
        "az_mode": "cross-az" if zone == "Multiple" else "single-az",
        "cache_nodes": [
            {
                "id": n.get("CacheNodeId") or "",
                "address": (n.get("Endpoint") or {}).get("Address") or "",
                "port": int((n.get("Endpoint") or {}).get("Port") or 0),
                "availability_zone": n.get("CustomerAvailabilityZone") or "",
                "outpost_arn": n.get("CustomerOutpostArn") or "",
            }
            for n in nodes
        ],
        "ip_discovery": item.get("IpDiscovery") or "",
        "network_type": item.get("NetworkType") or "",
        "preferred_outpost_arn": item.get("PreferredOutpostArn") or "",
        "transit_encryption_enabled": bool(item.get("TransitEncryptionEnabled", False)),
        "tags": tags(item, "_TagList"),
    }
    if item.get("CacheParameterGroup"):
        attrs["parameter_group_name"] = item["CacheParameterGroup"].get("CacheParameterGroupName")
    notification = item.get("NotificationConfiguration") or {}
    if notification.get("TopicStatus") == "active":
        attrs["notification_topic_arn"] = notification.get("TopicArn")
    endpoint = item.get("ConfigurationEndpoint")
    if endpoint:
        attrs["port"] = int(endpoint.get("Port") or 0)
        attrs["configuration_endpoint"] = f"{endpoint.get('Address')}:{endpoint.get('Port')}"
        attrs["cluster_address"] = endpoint.get("Address")
    elif nodes and (nodes[0].get("Endpoint") or {}).get("Port") is not None:
        attrs["port"] = int(nodes[0]["Endpoint"]["Port"])
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_elasticache_cluster",
        service="elasticache",
        list_call="describe_cache_clusters",
        result_key="CacheClusters",
        list_kwargs={"ShowCacheNodeInfo": True},
        id_key="CacheClusterId",
        details=_cache_details,
        to_attributes=_cache_attributes,
        default_reason=lambda item, _s: (
            f"member of replication group {item['ReplicationGroupId']}"
            if item.get("ReplicationGroupId")
            else None
        ),
    ),
)
