"""EC2 gateways, addresses, ACLs and endpoints: aws_internet_gateway, aws_eip, aws_nat_gateway,
aws_network_acl, aws_vpc_endpoint (route tables, routes and associations live in ec2_routes.py).

Shapes follow what the hashicorp/aws provider (5.x) stores after reading a resource: a string the API
leaves out is stored as "", nested blocks and set-typed attributes are lists in the order Terraform
writes them (`cty_sorted`), policies are normalized JSON strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type

Item = dict[str, Any]

# region prefix -> (partition, DNS suffix); every other region outside the isolated partitions is "aws".
_PARTITIONS = (("cn-", "aws-cn", "amazonaws.com.cn"), ("us-gov-", "aws-us-gov", "amazonaws.com"))
_ISOLATED = ("us-iso", "eu-isoe")
_ENI_FILTER_CHUNK = 200


# --- helpers shared with ec2_routes ----------------------------------------------------------------
def partition(region: str | None) -> tuple[str, str] | None:
    """(partition, DNS suffix) of a region, or None where we do not know it (isolated regions)."""
    if not region or region.startswith(_ISOLATED):
        return None
    for prefix, name, dns in _PARTITIONS:
        if region.startswith(prefix):
            return name, dns
    return "aws", "amazonaws.com"


def ec2_arn(scope: Scope, owner: str | None, resource: str) -> str | None:
    """The ARN the provider builds for EC2 networking resources: region + owner account + resource."""
    part = partition(scope.region)
    if part is None or not owner:
        return None
    return f"arn:{part[0]}:ec2:{scope.region}:{owner}:{resource}"


def text(item: Item, key: str) -> str:
    """A string attribute as the provider stores it: "" when the API leaves it out."""
    value = item.get(key)
    return "" if value is None else str(value)


def _cty_key(value: Any) -> str:
    # The bytes go-cty hashes a value with; Terraform orders set elements that are not primitives by them.
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int | float):
        return format(float(value), ".10g")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "<" + "".join(_cty_key(value[k]) + ";" for k in sorted(value)) + ">"
    if isinstance(value, list | tuple):
        return "[" + "".join(_cty_key(v) + ";" for v in value) + "]"
    raise TypeError(f"no cty ordering for {type(value).__name__}")


def cty_sorted(elements: Iterable[Any]) -> list[Any]:
    """Elements of a set-typed attribute in the order Terraform writes them to state (go-cty's order:
    strings lexically, numbers numerically, objects by their hash bytes)."""
    items = list(elements)
    if all(isinstance(e, str) for e in items):
        return sorted(items)
    if all(isinstance(e, int | float) and not isinstance(e, bool) for e in items):
        return sorted(items)
    return sorted(items, key=lambda e: _cty_key(e).encode())


def normalized_json(doc: str | None) -> str:
    """A JSON document as the provider's NormalizeJsonString stores it (compact, sorted keys, Go escaping)."""
    if not doc:
        return ""
    text_ = json.dumps(json.loads(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text_.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def default_vpc_ids(ec2: Any) -> set[str]:
    # The unfiltered listing aws_vpc reads: one request per run, shared (see calls.py).
    pages = ec2.get_paginator("describe_vpcs").paginate()
    return {str(v["VpcId"]) for v in iter_items(pages, "Vpcs") if v.get("IsDefault")}


def network_interfaces(ec2: Any, ids: Iterable[str]) -> dict[str, Item]:
    """ENIs by id, looked up in batches; an id that no longer exists is simply absent."""
    wanted = sorted(set(ids))
    found: dict[str, Item] = {}
    for start in range(0, len(wanted), _ENI_FILTER_CHUNK):
        chunk = wanted[start : start + _ENI_FILTER_CHUNK]
        pages = ec2.get_paginator("describe_network_interfaces").paginate(
            Filters=[{"Name": "network-interface-id", "Values": chunk}]
        )
        for eni in iter_items(pages, "NetworkInterfaces"):
            found[str(eni["NetworkInterfaceId"])] = eni
    return found


# --- aws_internet_gateway -------------------------------------------------------------------------
def _igw_collect(scope: Scope) -> Iterator[Item]:
    ec2 = scope.client("ec2")
    defaults = default_vpc_ids(ec2)
    for igw in iter_items(ec2.get_paginator("describe_internet_gateways").paginate(), "InternetGateways"):
        attached = [a["VpcId"] for a in igw.get("Attachments") or [] if a.get("VpcId")]
        igw["_DefaultVpcId"] = next((v for v in attached if v in defaults), None)
        yield igw


def _igw_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    attachments = item.get("Attachments") or []
    attrs: dict[str, Any] = {
        "owner_id": text(item, "OwnerId"),
        "vpc_id": text(attachments[0], "VpcId") if attachments else "",
        "tags": tags(item),
    }
    arn = ec2_arn(scope, item.get("OwnerId"), f"internet-gateway/{item['InternetGatewayId']}")
    if arn:
        attrs["arn"] = arn
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_internet_gateway",
        service="ec2",
        collect=_igw_collect,
        id_key="InternetGatewayId",
        to_attributes=_igw_attributes,
        default_reason=lambda item, _s: (
            f"internet gateway of the default VPC {item['_DefaultVpcId']}"
            if item.get("_DefaultVpcId")
            else None
        ),
    ),
)


# --- aws_eip --------------------------------------------------------------------------------------
def _dash_ip(ip: str) -> str:
    return ip.replace(".", "-")


def _eip_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    domain = text(item, "Domain")
    attrs: dict[str, Any] = {
        "allocation_id": text(item, "AllocationId"),
        "association_id": text(item, "AssociationId"),
        "carrier_ip": text(item, "CarrierIp"),
        "customer_owned_ip": text(item, "CustomerOwnedIp"),
        "customer_owned_ipv4_pool": text(item, "CustomerOwnedIpv4Pool"),
        "domain": domain,
        "vpc": domain == "vpc",
        "instance": text(item, "InstanceId"),
        "network_border_group": text(item, "NetworkBorderGroup"),
        "network_interface": text(item, "NetworkInterfaceId"),
        "public_ipv4_pool": text(item, "PublicIpv4Pool"),
        "private_ip": text(item, "PrivateIpAddress"),
        "public_ip": text(item, "PublicIp"),
        "tags": tags(item),
    }
    # The provider derives the DNS names from the IPs and the region (only when the IP is set).
    part, region = partition(scope.region), scope.region
    if part is not None and region:
        if attrs["private_ip"]:
            suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
            attrs["private_dns"] = f"ip-{_dash_ip(attrs['private_ip'])}.{suffix}"
        if attrs["public_ip"]:
            zone = "compute-1" if region == "us-east-1" else f"{region}.compute"
            attrs["public_dns"] = f"ec2-{_dash_ip(attrs['public_ip'])}.{zone}.{part[1]}"
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_eip",
        service="ec2",
        list_call="describe_addresses",
        result_key="Addresses",
        id_key=lambda item: str(item.get("AllocationId") or item["PublicIp"]),
        to_attributes=_eip_attributes,
        default_reason=lambda item, _s: (
            f"elastic IP managed by {item['ServiceManaged']}" if item.get("ServiceManaged") else None
        ),
    ),
)


# --- aws_nat_gateway ------------------------------------------------------------------------------
def _nat_details(item: Item, _scope: Scope) -> Item | None:
    return None if item.get("State") == "deleted" else item  # deleted ones stay listed for a while


def _nat_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    addresses = item.get("NatGatewayAddresses") or []
    attrs: dict[str, Any] = {
        "connectivity_type": text(item, "ConnectivityType"),
        "subnet_id": text(item, "SubnetId"),
        "tags": tags(item),
    }
    secondary_allocations: list[str] = []
    secondary_ips: list[str] = []
    for address in addresses:
        primary = bool(address.get("IsPrimary"))
        if primary or len(addresses) == 1:
            attrs["allocation_id"] = text(address, "AllocationId")
            attrs["association_id"] = text(address, "AssociationId")
            attrs["network_interface_id"] = text(address, "NetworkInterfaceId")
            attrs["private_ip"] = text(address, "PrivateIp")
            attrs["public_ip"] = text(address, "PublicIp")
        else:
            if address.get("AllocationId"):
                secondary_allocations.append(str(address["AllocationId"]))
            if address.get("PrivateIp"):
                secondary_ips.append(str(address["PrivateIp"]))
    attrs["secondary_allocation_ids"] = sorted(secondary_allocations)
    attrs["secondary_private_ip_addresses"] = sorted(secondary_ips)
    attrs["secondary_private_ip_address_count"] = len(secondary_ips)
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_nat_gateway",
        service="ec2",
        list_call="describe_nat_gateways",
        result_key="NatGateways",
        id_key="NatGatewayId",
        details=_nat_details,
        to_attributes=_nat_attributes,
    ),
)


# --- aws_network_acl ------------------------------------------------------------------------------
_DEFAULT_ACL_RULES = {32767, 32768}  # the catch-all deny rules AWS adds (IPv4, IPv6); never configurable


def _acl_entry(entry: Item) -> dict[str, Any]:
    ports = entry.get("PortRange") or {}
    icmp = entry.get("IcmpTypeCode") or {}
    return {
        "action": text(entry, "RuleAction"),
        "cidr_block": text(entry, "CidrBlock"),
        "from_port": int(ports.get("From") or 0),
        "icmp_code": int(icmp.get("Code") or 0),
        "icmp_type": int(icmp.get("Type") or 0),
        "ipv6_cidr_block": text(entry, "Ipv6CidrBlock"),
        "protocol": text(entry, "Protocol"),  # the API answers protocol numbers, as the provider stores
        "rule_no": int(entry.get("RuleNumber") or 0),
        "to_port": int(ports.get("To") or 0),
    }


def _acl_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    entries = [e for e in item.get("Entries") or [] if e.get("RuleNumber") not in _DEFAULT_ACL_RULES]
    attrs: dict[str, Any] = {
        "vpc_id": text(item, "VpcId"),
        "owner_id": text(item, "OwnerId"),
        "subnet_ids": sorted(
            {str(a["SubnetId"]) for a in item.get("Associations") or [] if a.get("SubnetId")}
        ),
        "ingress": cty_sorted(_acl_entry(e) for e in entries if not e.get("Egress")),
        "egress": cty_sorted(_acl_entry(e) for e in entries if e.get("Egress")),
        "tags": tags(item),
    }
    arn = ec2_arn(scope, item.get("OwnerId"), f"network-acl/{item['NetworkAclId']}")
    if arn:
        attrs["arn"] = arn
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_network_acl",
        service="ec2",
        list_call="describe_network_acls",
        result_key="NetworkAcls",
        id_key="NetworkAclId",
        to_attributes=_acl_attributes,
        default_reason=lambda item, _s: (
            f"default network ACL of {item.get('VpcId')}" if item.get("IsDefault") else None
        ),
    ),
)


# --- aws_vpc_endpoint -----------------------------------------------------------------------------
def _endpoint_collect(scope: Scope) -> Iterator[Item]:
    ec2 = scope.client("ec2")
    endpoints = [
        e
        for e in iter_items(ec2.get_paginator("describe_vpc_endpoints").paginate(), "VpcEndpoints")
        if str(e.get("State", "")).lower() != "deleted"
    ]
    if not endpoints:
        return
    # The provider reads the prefix list named after the service and the subnet of each endpoint ENI.
    prefix_lists = {
        str(p.get("PrefixListName")): p
        for p in iter_items(ec2.get_paginator("describe_prefix_lists").paginate(), "PrefixLists")
    }
    enis = network_interfaces(ec2, (i for e in endpoints for i in e.get("NetworkInterfaceIds") or []))
    for endpoint in endpoints:
        endpoint["_PrefixList"] = prefix_lists.get(str(endpoint.get("ServiceName")))
        ids = endpoint.get("NetworkInterfaceIds") or []
        if all(i in enis for i in ids):
            endpoint["_Enis"] = [enis[i] for i in ids]
        yield endpoint


def _endpoint_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    dns_options = item.get("DnsOptions")
    attrs: dict[str, Any] = {
        "vpc_id": text(item, "VpcId"),
        "service_name": text(item, "ServiceName"),
        "vpc_endpoint_type": text(item, "VpcEndpointType") or "Gateway",
        "state": text(item, "State"),
        "owner_id": text(item, "OwnerId"),
        "policy": normalized_json(item.get("PolicyDocument")),
        "private_dns_enabled": bool(item.get("PrivateDnsEnabled", False)),
        "requester_managed": bool(item.get("RequesterManaged", False)),
        "ip_address_type": text(item, "IpAddressType"),
        "route_table_ids": sorted(item.get("RouteTableIds") or []),
        "subnet_ids": sorted(item.get("SubnetIds") or []),
        "security_group_ids": sorted(str(g["GroupId"]) for g in item.get("Groups") or []),
        "network_interface_ids": sorted(item.get("NetworkInterfaceIds") or []),
        "dns_entry": [
            {"dns_name": text(d, "DnsName"), "hosted_zone_id": text(d, "HostedZoneId")}
            for d in item.get("DnsEntries") or []
        ],
        "dns_options": (
            [
                {
                    "dns_record_ip_type": text(dns_options, "DnsRecordIpType"),
                    "private_dns_only_for_inbound_resolver_endpoint": bool(
                        dns_options.get("PrivateDnsOnlyForInboundResolverEndpoint", False)
                    ),
                }
            ]
            if dns_options
            else []
        ),
        "service_region": text(item, "ServiceRegion"),
        "resource_configuration_arn": text(item, "ResourceConfigurationArn"),
        "service_network_arn": text(item, "ServiceNetworkArn"),
        "tags": tags(item),
    }
    prefix_list = item.get("_PrefixList")
    if prefix_list is not None:
        attrs["prefix_list_id"] = text(prefix_list, "PrefixListId")
        attrs["cidr_blocks"] = list(prefix_list.get("Cidrs") or [])
    else:
        attrs["cidr_blocks"] = []
    if "_Enis" in item:
        attrs["subnet_configuration"] = cty_sorted(
            {
                "ipv4": text(e, "PrivateIpAddress"),
                "ipv6": text(e, "Ipv6Address"),
                "subnet_id": text(e, "SubnetId"),
            }
            for e in item["_Enis"]
        )
    arn = ec2_arn(scope, item.get("OwnerId"), f"vpc-endpoint/{item['VpcEndpointId']}")
    if arn:
        attrs["arn"] = arn
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_vpc_endpoint",
        service="ec2",
        collect=_endpoint_collect,
        id_key="VpcEndpointId",
        to_attributes=_endpoint_attributes,
        default_reason=lambda item, _s: (
            "VPC endpoint created by an AWS service (requester-managed)"
            if item.get("RequesterManaged")
            else None
        ),
    ),
)
