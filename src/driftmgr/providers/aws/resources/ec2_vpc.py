"""VPC networking: aws_vpc, aws_subnet (more EC2 networking types live in sibling modules)."""

from __future__ import annotations

from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type


def _vpc_details(item: dict[str, Any], scope: Scope) -> dict[str, Any]:
    ec2 = scope.client("ec2")
    vpc_id = item["VpcId"]
    for attr, key in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
        ("enableNetworkAddressUsageMetrics", "EnableNetworkAddressUsageMetrics"),
    ):
        try:
            resp = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attr)
            item[f"_{key}"] = resp.get(key, {}).get("Value")
        except Exception:  # noqa: BLE001,S112 - an attribute the endpoint cannot read stays unknown
            continue
    # The region's route table listing, which the route types read too (one request per run, shared),
    # rather than one filtered request per VPC.
    for table in iter_items(ec2.get_paginator("describe_route_tables").paginate(), "RouteTables"):
        if table.get("VpcId") == vpc_id and any(a.get("Main") for a in table.get("Associations") or []):
            item["_MainRouteTableId"] = table["RouteTableId"]
            break
    return item


def _vpc_attributes(item: dict[str, Any], scope: Scope) -> dict[str, Any]:
    ipv6 = next(
        (
            a
            for a in item.get("Ipv6CidrBlockAssociationSet") or []
            if a.get("Ipv6CidrBlockState", {}).get("State") == "associated"
        ),
        None,
    )
    attrs: dict[str, Any] = {
        "cidr_block": item.get("CidrBlock"),
        "instance_tenancy": item.get("InstanceTenancy"),
        "dhcp_options_id": item.get("DhcpOptionsId"),
        "owner_id": item.get("OwnerId"),
        "ipv6_cidr_block": ipv6.get("Ipv6CidrBlock", "") if ipv6 else "",
        "ipv6_association_id": ipv6.get("AssociationId", "") if ipv6 else "",
        "assign_generated_ipv6_cidr_block": ipv6 is not None,
        "tags": tags(item),
    }
    for key, name in (
        ("_EnableDnsSupport", "enable_dns_support"),
        ("_EnableDnsHostnames", "enable_dns_hostnames"),
        ("_EnableNetworkAddressUsageMetrics", "enable_network_address_usage_metrics"),
    ):
        if item.get(key) is not None:
            attrs[name] = bool(item[key])
    if item.get("_MainRouteTableId"):
        attrs["main_route_table_id"] = item["_MainRouteTableId"]
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_vpc",
        service="ec2",
        list_call="describe_vpcs",
        result_key="Vpcs",
        id_key="VpcId",
        details=_vpc_details,
        to_attributes=_vpc_attributes,
        default_reason=lambda item, _s: "default VPC" if item.get("IsDefault") else None,
    ),
)


def _subnet_attributes(item: dict[str, Any], scope: Scope) -> dict[str, Any]:
    ipv6 = next(
        (
            a
            for a in item.get("Ipv6CidrBlockAssociationSet") or []
            if a.get("Ipv6CidrBlockState", {}).get("State") == "associated"
        ),
        None,
    )
    dns = item.get("PrivateDnsNameOptionsOnLaunch") or {}
    return {
        "vpc_id": item.get("VpcId"),
        "cidr_block": item.get("CidrBlock"),
        "availability_zone": item.get("AvailabilityZone"),
        "availability_zone_id": item.get("AvailabilityZoneId"),
        "map_public_ip_on_launch": bool(item.get("MapPublicIpOnLaunch", False)),
        "assign_ipv6_address_on_creation": bool(item.get("AssignIpv6AddressOnCreation", False)),
        "ipv6_cidr_block": ipv6.get("Ipv6CidrBlock", "") if ipv6 else "",
        "ipv6_native": bool(item.get("Ipv6Native", False)),
        "enable_dns64": bool(item.get("EnableDns64", False)),
        "private_dns_hostname_type_on_launch": dns.get("HostnameType", "ip-name"),
        "enable_resource_name_dns_a_record_on_launch": bool(dns.get("EnableResourceNameDnsARecord", False)),
        "enable_resource_name_dns_aaaa_record_on_launch": bool(
            dns.get("EnableResourceNameDnsAAAARecord", False)
        ),
        "owner_id": item.get("OwnerId"),
        "tags": tags(item),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_subnet",
        service="ec2",
        list_call="describe_subnets",
        result_key="Subnets",
        id_key="SubnetId",
        to_attributes=_subnet_attributes,
        default_reason=lambda item, _s: "default subnet" if item.get("DefaultForAz") else None,
    ),
)
