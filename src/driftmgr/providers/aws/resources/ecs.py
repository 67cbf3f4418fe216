"""ECS: aws_ecs_cluster, aws_ecs_service, aws_ecs_task_definition.

Each mapping follows what the hashicorp/aws provider's Read stores, so an untouched resource reads back
equal to its state:
- clusters and services are identified by ARN (`terraform import` takes the cluster name, and
  `cluster-name/service-name` for a service); only ACTIVE ones exist for Terraform;
- a task definition's id is its family; the latest ACTIVE revision is read and `arn` carries the revision
  (`terraform import` takes that ARN). `container_definitions` is the JSON Terraform stores: containers
  sorted by name, environment and secrets sorted by name, keys in the SDK's (alphabetical) order, and the
  members the Go SDK leaves out when unset (a zero `cpu`, an empty enum) left out.

Also here: small helpers shared with the ELBv2 module for Terraform's collection shapes (`tf_set`,
`null_if_empty`, `key_value_tags`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from driftmgr.providers.base import Item, ResourceType, Scope, iter_items, register_type

# --- Terraform collection shapes ------------------------------------------------------------------


def _cty_hash(value: Any) -> str:
    """cty's set-hash text of a value (go-cty appendSetHashBytes), which orders non-primitive sets."""
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (int, float)):
        return format(value, ".10g")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "<" + "".join(_cty_hash(value[k]) + ";" for k in sorted(value)) + ">"
    if isinstance(value, (list, tuple)):
        return "[" + "".join(_cty_hash(v) + ";" for v in value) + "]"
    return str(value)


def tf_set(values: Iterable[Any]) -> list[Any]:
    """A set attribute in the order Terraform writes it to state: primitives sorted, objects by cty hash."""
    items = list(values)
    if all(isinstance(v, str) for v in items) or all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in items
    ):
        return sorted(items)
    return sorted(items, key=_cty_hash)


def null_if_empty(value: Any) -> Any:
    """An optional (not computed) collection the API returns empty is stored by Terraform as null."""
    return value if value else None


def key_value_tags(raw: Iterable[dict[str, Any]] | None, key: str = "key", value: str = "value") -> Any:
    """ECS-style `[{key, value}]` tags → Terraform's `tags` map (null when none; aws: tags dropped)."""
    out = {
        str(t[key]): str(t.get(value) or "")
        for t in raw or []
        if t.get(key) and not str(t[key]).startswith("aws:")
    }
    return out or None


def _batches(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _cluster_arns(scope: Scope) -> list[str]:
    ecs = scope.client("ecs")
    return [str(arn) for arn in iter_items(ecs.get_paginator("list_clusters").paginate(), "clusterArns")]


# --- aws_ecs_cluster ------------------------------------------------------------------------------


def _collect_clusters(scope: Scope) -> Iterator[Item]:
    ecs = scope.client("ecs")
    for batch in _batches(_cluster_arns(scope), 100):
        resp = ecs.describe_clusters(clusters=batch, include=["SETTINGS", "CONFIGURATIONS", "TAGS"])
        for cluster in resp.get("clusters") or []:
            if cluster.get("status") != "INACTIVE":  # deleted clusters linger as INACTIVE
                yield cluster


def _execute_command_configuration(cfg: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not cfg:
        return []
    log = cfg.get("logConfiguration")
    logs = []
    if log:
        logs = [
            {
                "cloud_watch_encryption_enabled": bool(log.get("cloudWatchEncryptionEnabled", False)),
                "cloud_watch_log_group_name": log.get("cloudWatchLogGroupName", ""),
                "s3_bucket_encryption_enabled": bool(log.get("s3EncryptionEnabled", False)),
                "s3_bucket_name": log.get("s3BucketName", ""),
                "s3_key_prefix": log.get("s3KeyPrefix", ""),
            }
        ]
    return [
        {"kms_key_id": cfg.get("kmsKeyId", ""), "logging": cfg.get("logging", ""), "log_configuration": logs}
    ]


def _cluster_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    configuration: list[dict[str, Any]] = []
    if item.get("configuration"):
        cfg = item["configuration"]
        storage = cfg.get("managedStorageConfiguration")
        configuration = [
            {
                "execute_command_configuration": _execute_command_configuration(
                    cfg.get("executeCommandConfiguration")
                ),
                "managed_storage_configuration": [
                    {
                        "fargate_ephemeral_storage_kms_key_id": storage.get(
                            "fargateEphemeralStorageKmsKeyId", ""
                        ),
                        "kms_key_id": storage.get("kmsKeyId", ""),
                    }
                ]
                if storage
                else [],
            }
        ]
    defaults = item.get("serviceConnectDefaults")
    return {
        "arn": item["clusterArn"],
        "name": item["clusterName"],
        "setting": tf_set({"name": s["name"], "value": s["value"]} for s in item.get("settings") or []),
        "configuration": configuration,
        "service_connect_defaults": [{"namespace": defaults["namespace"]}] if defaults else [],
        "tags": key_value_tags(item.get("tags")),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_ecs_cluster",
        service="ecs",
        collect=_collect_clusters,
        id_key="clusterArn",
        import_id=lambda item: str(item["clusterName"]),
        to_attributes=_cluster_attributes,
    ),
)


# --- aws_ecs_service ------------------------------------------------------------------------------


def _collect_services(scope: Scope) -> Iterator[Item]:
    ecs = scope.client("ecs")
    for cluster in _cluster_arns(scope):
        pages = ecs.get_paginator("list_services").paginate(cluster=cluster)
        arns = [str(arn) for arn in iter_items(pages, "serviceArns")]
        for batch in _batches(arns, 10):
            resp = ecs.describe_services(cluster=cluster, services=batch, include=["TAGS"])
            for service in resp.get("services") or []:
                if service.get("status") == "ACTIVE":  # Terraform drops DRAINING/INACTIVE services
                    yield service


def _service_import_id(item: Item) -> str:
    cluster = str(item.get("clusterArn", "")).rsplit("/", 1)[-1]
    return f"{cluster}/{item['serviceName']}"


def _network_configuration(nc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not nc:
        return []
    vpc = nc.get("awsvpcConfiguration") or {}
    return [
        {
            "assign_public_ip": vpc.get("assignPublicIp") == "ENABLED",
            "security_groups": null_if_empty(tf_set(vpc.get("securityGroups") or [])),
            "subnets": tf_set(vpc.get("subnets") or []),
        }
    ]


def _placement_strategy(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for ps in items:
        field = ps.get("field", "")
        if field in ("MEMORY", "CPU"):  # the API upper-cases what it accepts lower-case
            field = field.lower()
        out.append({"type": ps.get("type", ""), "field": field})
    return out


def _service_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "name": item["serviceName"],
        "cluster": item.get("clusterArn"),
        "scheduling_strategy": item.get("schedulingStrategy", ""),
        "desired_count": item.get("desiredCount", 0),
        "health_check_grace_period_seconds": item.get("healthCheckGracePeriodSeconds", 0),
        "launch_type": item.get("launchType", ""),
        "enable_ecs_managed_tags": bool(item.get("enableECSManagedTags", False)),
        "propagate_tags": item.get("propagateTags", ""),
        "platform_version": item.get("platformVersion", ""),
        "enable_execute_command": bool(item.get("enableExecuteCommand", False)),
        "availability_zone_rebalancing": item.get("availabilityZoneRebalancing", ""),
        "deployment_controller": [{"type": (item.get("deploymentController") or {}).get("type", "ECS")}],
        "capacity_provider_strategy": tf_set(
            {
                "base": s.get("base", 0),
                "capacity_provider": s["capacityProvider"],
                "weight": s.get("weight", 0),
            }
            for s in item.get("capacityProviderStrategy") or []
        ),
        "ordered_placement_strategy": _placement_strategy(item.get("placementStrategy") or []),
        "placement_constraints": tf_set(
            {"type": c.get("type", ""), "expression": c.get("expression", "")}
            for c in item.get("placementConstraints") or []
        ),
        "network_configuration": _network_configuration(item.get("networkConfiguration")),
        "service_registries": [
            {
                "registry_arn": r.get("registryArn", ""),
                "port": r.get("port", 0),
                "container_name": r.get("containerName", ""),
                "container_port": r.get("containerPort", 0),
            }
            for r in item.get("serviceRegistries") or []
        ],
        "tags": key_value_tags(item.get("tags")),
    }
    if item.get("taskDefinition"):
        attrs["task_definition"] = item["taskDefinition"]
    if item.get("roleArn"):
        attrs["iam_role"] = item["roleArn"]
    if item.get("loadBalancers") is not None:
        attrs["load_balancer"] = tf_set(
            {
                "container_name": lb.get("containerName", ""),
                "container_port": lb.get("containerPort", 0),
                "elb_name": lb.get("loadBalancerName", ""),
                "target_group_arn": lb.get("targetGroupArn", ""),
            }
            for lb in item["loadBalancers"]
        )
    deployment = item.get("deploymentConfiguration")
    if deployment is not None:  # moto omits it: then these stay unknown
        attrs["deployment_maximum_percent"] = deployment.get("maximumPercent", 0)
        attrs["deployment_minimum_healthy_percent"] = deployment.get("minimumHealthyPercent", 0)
        alarms = deployment.get("alarms")
        attrs["alarms"] = (
            [
                {
                    "alarm_names": tf_set(alarms.get("alarmNames") or []),
                    "enable": bool(alarms.get("enable", False)),
                    "rollback": bool(alarms.get("rollback", False)),
                }
            ]
            if alarms
            else []
        )
        breaker = deployment.get("deploymentCircuitBreaker")
        attrs["deployment_circuit_breaker"] = (
            [{"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))}]
            if breaker
            else []
        )
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_ecs_service",
        service="ecs",
        collect=_collect_services,
        id_key="serviceArn",
        import_id=_service_import_id,
        to_attributes=_service_attributes,
    ),
)


# --- aws_ecs_task_definition ----------------------------------------------------------------------

_PRIMITIVE_DEFAULTED = {"Integer": 0, "Long": 0, "Boolean": False}


def _go_json(value: Any, shape: Any) -> Any:
    """A parsed API value as the Go SDK re-serializes it: members it holds as plain values (primitive
    Integer/Boolean, enums) are left out when zero, pointer members kept even when empty."""
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        required = set(shape.required_members)
        for name, member in shape.members.items():
            if name not in value or value[name] is None:
                continue
            v = value[name]
            if name not in required:
                if member.name in _PRIMITIVE_DEFAULTED and v == _PRIMITIVE_DEFAULTED[member.name]:
                    continue
                if member.type_name == "string" and getattr(member, "enum", None) and v == "":
                    continue
            out[name] = _go_json(v, member)
        return out
    if kind == "list":
        return [_go_json(v, shape.member) for v in value]
    if kind == "map":
        return {k: _go_json(v, shape.value) for k, v in value.items()}
    return value


def container_definitions_json(definitions: list[dict[str, Any]], shape: Any) -> str:
    """`container_definitions` as the provider writes it on read (see module docstring)."""
    defs = [dict(d) for d in definitions]
    defs.sort(key=lambda d: str(d.get("name", "")))
    for d in defs:
        for key in ("environment", "secrets"):
            if d.get(key):
                d[key] = sorted(d[key], key=lambda kv: str(kv.get("name", "")))
    out = [_go_json(d, shape) for d in defs]
    return json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _collect_task_definitions(scope: Scope) -> Iterator[Item]:
    ecs = scope.client("ecs")
    pages = ecs.get_paginator("list_task_definition_families").paginate(status="ACTIVE")
    for family in iter_items(pages, "families"):
        # Without a revision, DescribeTaskDefinition returns the family's latest ACTIVE revision.
        resp = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
        task = resp.get("taskDefinition") or {}
        if task.get("status") != "ACTIVE":
            continue
        task["_Tags"] = resp.get("tags") or []
        yield task


def _docker_volume(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "autoprovision": bool(cfg.get("autoprovision", False)),
            "driver": cfg.get("driver", ""),
            "driver_opts": cfg.get("driverOpts"),
            "labels": cfg.get("labels"),
            "scope": cfg.get("scope", ""),
        }
    ]


def _efs_volume(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    auth = cfg.get("authorizationConfig")
    return [
        {
            "file_system_id": cfg.get("fileSystemId", ""),
            "root_directory": cfg.get("rootDirectory", ""),
            "transit_encryption": cfg.get("transitEncryption", ""),
            "transit_encryption_port": cfg.get("transitEncryptionPort", 0),
            "authorization_config": [
                {"access_point_id": auth.get("accessPointId", ""), "iam": auth.get("iam", "")}
            ]
            if auth
            else [],
        }
    ]


def _fsx_volume(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    auth = cfg.get("authorizationConfig")
    return [
        {
            "file_system_id": cfg.get("fileSystemId", ""),
            "root_directory": cfg.get("rootDirectory", ""),
            "authorization_config": [
                {
                    "credentials_parameter": auth.get("credentialsParameter", ""),
                    "domain": auth.get("domain", ""),
                }
            ]
            if auth
            else [],
        }
    ]


def _volume(v: dict[str, Any]) -> dict[str, Any]:
    docker, efs, fsx = (
        v.get("dockerVolumeConfiguration"),
        v.get("efsVolumeConfiguration"),
        v.get("fsxWindowsFileServerVolumeConfiguration"),
    )
    return {
        "name": v.get("name", ""),
        "host_path": (v.get("host") or {}).get("sourcePath", ""),
        "configure_at_launch": bool(v.get("configuredAtLaunch", False)),
        "docker_volume_configuration": _docker_volume(docker) if docker else [],
        "efs_volume_configuration": _efs_volume(efs) if efs else [],
        "fsx_windows_file_server_volume_configuration": _fsx_volume(fsx) if fsx else [],
    }


def _task_definition_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    arn = str(item["taskDefinitionArn"])
    proxy = item.get("proxyConfiguration")
    platform = item.get("runtimePlatform") or {}
    storage = item.get("ephemeralStorage")
    return {
        "arn": arn,
        "arn_without_revision": re.sub(r":\d+$", "", arn),
        "family": item["family"],
        "revision": item.get("revision"),
        "container_definitions": container_definitions_json(
            item.get("containerDefinitions") or [],
            scope.client("ecs").meta.service_model.shape_for("ContainerDefinition"),
        ),
        "cpu": item.get("cpu", ""),
        "memory": item.get("memory", ""),
        "enable_fault_injection": bool(item.get("enableFaultInjection", False)),
        "ephemeral_storage": [{"size_in_gib": storage["sizeInGiB"]}] if storage else [],
        "execution_role_arn": item.get("executionRoleArn", ""),
        "task_role_arn": item.get("taskRoleArn", ""),
        "ipc_mode": item.get("ipcMode", ""),
        "pid_mode": item.get("pidMode", ""),
        "network_mode": item.get("networkMode", ""),
        "inference_accelerator": tf_set(
            {"device_name": a.get("deviceName", ""), "device_type": a.get("deviceType", "")}
            for a in item.get("inferenceAccelerators") or []
        ),
        "placement_constraints": tf_set(
            {"type": c.get("type", ""), "expression": c.get("expression", "")}
            for c in item.get("placementConstraints") or []
        ),
        "proxy_configuration": [
            {
                "container_name": proxy.get("containerName", ""),
                "properties": {p["name"]: p.get("value", "") for p in proxy.get("properties") or []},
                "type": proxy.get("type", ""),
            }
        ]
        if proxy
        else [],
        "requires_compatibilities": null_if_empty(tf_set(item.get("requiresCompatibilities") or [])),
        "runtime_platform": [
            {
                "cpu_architecture": platform.get("cpuArchitecture", ""),
                "operating_system_family": platform.get("operatingSystemFamily", ""),
            }
        ]
        if platform.get("cpuArchitecture") or platform.get("operatingSystemFamily")
        else [],
        "volume": tf_set(_volume(v) for v in item.get("volumes") or []),
        "tags": key_value_tags(item.get("_Tags")),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_ecs_task_definition",
        service="ecs",
        collect=_collect_task_definitions,
        id_key="family",
        import_id=lambda item: str(item["taskDefinitionArn"]),
        to_attributes=_task_definition_attributes,
    ),
)
