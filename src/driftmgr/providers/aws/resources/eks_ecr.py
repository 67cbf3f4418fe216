"""EKS and ECR: aws_eks_cluster and aws_ecr_repository (both identified, and imported, by name).

Mapped as the provider's Read stores them. Left out of aws_eks_cluster: what the API never returns
(`bootstrap_self_managed_addons`, `force_update_version`). Nor is
`access_config[0].bootstrap_cluster_creator_admin_permissions` returned: like a Terraform import, it
reads as `true`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ecs import null_if_empty, tf_set
from driftmgr.providers.base import Item, ResourceType, Scope, iter_items, register_type

# --- aws_eks_cluster ------------------------------------------------------------------------------


def _collect_eks_clusters(scope: Scope) -> Iterator[Item]:
    eks = scope.client("eks")
    for name in iter_items(eks.get_paginator("list_clusters").paginate(), "clusters"):
        cluster: Item = eks.describe_cluster(name=name)["cluster"]
        yield cluster


def _rfc3339(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or "")


def _enabled_log_types(logging: dict[str, Any] | None) -> list[str]:
    enabled: list[str] = []
    for setup in (logging or {}).get("clusterLogging") or []:
        if setup.get("enabled"):
            enabled.extend(setup.get("types") or [])
    return tf_set(enabled)


def _eks_vpc_config(vpc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if vpc is None:
        return []
    return [
        {
            "cluster_security_group_id": vpc.get("clusterSecurityGroupId", ""),
            "endpoint_private_access": bool(vpc.get("endpointPrivateAccess", False)),
            "endpoint_public_access": bool(vpc.get("endpointPublicAccess", False)),
            "public_access_cidrs": tf_set(vpc.get("publicAccessCidrs") or []),
            "security_group_ids": null_if_empty(tf_set(vpc.get("securityGroupIds") or [])),
            "subnet_ids": tf_set(vpc.get("subnetIds") or []),
            "vpc_id": vpc.get("vpcId", ""),
        }
    ]


def _enabled_block(value: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [{"enabled": bool(value.get("enabled", False))}] if value else []


def _network_config(cfg: dict[str, Any] | None) -> list[dict[str, Any]]:
    if cfg is None:
        return []
    return [
        {
            "elastic_load_balancing": _enabled_block(cfg.get("elasticLoadBalancing")),
            "ip_family": cfg.get("ipFamily", ""),
            "service_ipv4_cidr": cfg.get("serviceIpv4Cidr", ""),
            "service_ipv6_cidr": cfg.get("serviceIpv6Cidr", ""),
        }
    ]


def _encryption_config(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "provider": [{"key_arn": c["provider"].get("keyArn", "")}] if c.get("provider") else [],
            "resources": tf_set(c.get("resources") or []),
        }
        for c in configs
    ]


def _outpost_config(cfg: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not cfg:
        return []
    placement = cfg.get("controlPlanePlacement")
    return [
        {
            "control_plane_instance_type": cfg.get("controlPlaneInstanceType", ""),
            "control_plane_placement": [{"group_name": placement.get("groupName", "")}] if placement else [],
            "outpost_arns": tf_set(cfg.get("outpostArns") or []),
        }
    ]


def _remote_network_config(cfg: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not cfg:
        return []
    return [
        {
            "remote_node_networks": [
                {"cidrs": tf_set(n.get("cidrs") or [])} for n in cfg.get("remoteNodeNetworks") or []
            ],
            "remote_pod_networks": [
                {"cidrs": tf_set(n.get("cidrs") or [])} for n in cfg.get("remotePodNetworks") or []
            ],
        }
    ]


def _eks_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    access = item.get("accessConfig")
    compute = item.get("computeConfig")
    storage = item.get("storageConfig")
    upgrade = item.get("upgradePolicy")
    zonal = item.get("zonalShiftConfig")
    oidc = (item.get("identity") or {}).get("oidc")
    ca = item.get("certificateAuthority")
    attrs: dict[str, Any] = {
        "name": item["name"],
        "arn": item.get("arn"),
        "role_arn": item.get("roleArn", ""),
        "version": item.get("version", ""),
        "platform_version": item.get("platformVersion", ""),
        "status": item.get("status", ""),
        "endpoint": item.get("endpoint", ""),
        "created_at": _rfc3339(item.get("createdAt")),
        "certificate_authority": [{"data": ca.get("data", "")}] if ca is not None else [],
        "identity": [{"oidc": [{"issuer": oidc.get("issuer", "")}] if oidc is not None else []}]
        if item.get("identity") is not None
        else [],
        "access_config": [
            {
                "authentication_mode": access.get("authenticationMode", ""),
                "bootstrap_cluster_creator_admin_permissions": True,
            }
        ]
        if access
        else [],
        "compute_config": [
            {
                "enabled": bool(compute.get("enabled", False)),
                "node_pools": null_if_empty(tf_set(compute.get("nodePools") or [])),
                "node_role_arn": compute.get("nodeRoleArn", ""),
            }
        ]
        if compute
        else [],
        "enabled_cluster_log_types": null_if_empty(_enabled_log_types(item.get("logging"))),
        "encryption_config": _encryption_config(item.get("encryptionConfig") or []),
        "kubernetes_network_config": _network_config(item.get("kubernetesNetworkConfig")),
        "outpost_config": _outpost_config(item.get("outpostConfig")),
        "remote_network_config": _remote_network_config(item.get("remoteNetworkConfig")),
        "storage_config": [{"block_storage": _enabled_block(storage.get("blockStorage"))}] if storage else [],
        "upgrade_policy": [{"support_type": upgrade.get("supportType", "")}] if upgrade else [],
        "vpc_config": _eks_vpc_config(item.get("resourcesVpcConfig")),
        "zonal_shift_config": [{"enabled": bool(zonal.get("enabled", False))}] if zonal else [],
        "tags": tags(item, "tags") or None,
    }
    if item.get("outpostConfig"):  # cluster_id only exists for clusters on Outposts
        attrs["cluster_id"] = item.get("id", "")
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_eks_cluster",
        service="eks",
        collect=_collect_eks_clusters,
        id_key="name",
        to_attributes=_eks_attributes,
    ),
)


# --- aws_ecr_repository ---------------------------------------------------------------------------


def _ecr_details(item: Item, scope: Scope) -> Item:
    resp = scope.client("ecr").list_tags_for_resource(resourceArn=item["repositoryArn"])
    return {**item, "_Tags": resp.get("tags") or []}


def _ecr_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    encryption = item.get("encryptionConfiguration")
    scanning = item.get("imageScanningConfiguration")
    return {
        "name": item["repositoryName"],
        "arn": item.get("repositoryArn"),
        "registry_id": item.get("registryId", ""),
        "repository_url": item.get("repositoryUri", ""),
        "image_tag_mutability": item.get("imageTagMutability", ""),
        "image_scanning_configuration": [{"scan_on_push": bool(scanning.get("scanOnPush", False))}]
        if scanning
        else [],
        "encryption_configuration": [
            {"encryption_type": encryption.get("encryptionType", ""), "kms_key": encryption.get("kmsKey", "")}
        ]
        if encryption
        else [],
        "tags": tags(item, "_Tags") or None,
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_ecr_repository",
        service="ecr",
        list_call="describe_repositories",
        result_key="repositories",
        id_key="repositoryName",
        details=_ecr_details,
        to_attributes=_ecr_attributes,
    ),
)
