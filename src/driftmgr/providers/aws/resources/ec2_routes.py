"""Routing: aws_route_table, aws_route_table_association and aws_route, all read from the route tables.

Implicit children are flagged, not unmanaged: the main route table of every VPC, and the routes AWS
adds itself (the `local` route, routes made with the table, routes propagated from a virtual private
gateway, the prefix-list routes of gateway VPC endpoints, the routes of the default VPC's main table).
Main-table associations belong to aws_main_route_table_association and are not listed here.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ec2_network import (
    cty_sorted,
    default_vpc_ids,
    ec2_arn,
    network_interfaces,
    text,
)
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type

Item = dict[str, Any]

_IGNORED_TABLE_TAGS = {"AmazonFSx"}  # the provider ignores the tag FSx puts on route tables
_TABLE_ROUTE_TARGETS = (
    ("carrier_gateway_id", "CarrierGatewayId"),
    ("core_network_arn", "CoreNetworkArn"),
    ("egress_only_gateway_id", "EgressOnlyInternetGatewayId"),
    ("local_gateway_id", "LocalGatewayId"),
    ("nat_gateway_id", "NatGatewayId"),
    ("network_interface_id", "NetworkInterfaceId"),
    ("transit_gateway_id", "TransitGatewayId"),
    ("vpc_peering_connection_id", "VpcPeeringConnectionId"),
)
_PROPAGATED = "EnableVgwRoutePropagation"


def _route_tables(scope: Scope) -> list[Item]:
    pages = scope.client("ec2").get_paginator("describe_route_tables").paginate()
    return list(iter_items(pages, "RouteTables"))


def _main_vpc(table: Item) -> str | None:
    """The VPC whose main route table this is, or None."""
    if any(a.get("Main") for a in table.get("Associations") or []):
        return str(table.get("VpcId"))
    return None


def route_destination(route: Item) -> str:
    return str(
        route.get("DestinationCidrBlock")
        or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId")
        or ""
    )


def route_id(route_table_id: str, destination: str) -> str:
    """The provider's routeCreateID: "r-" + table id + crc32 of the destination."""
    return f"r-{route_table_id}{zlib.crc32(destination.encode())}"


# --- aws_route_table ------------------------------------------------------------------------------
def _table_collect(scope: Scope) -> Iterator[Item]:
    ec2 = scope.client("ec2")
    tables = _route_tables(scope)
    # The provider leaves out routes through an ENI that an AWS service owns in another account.
    route_enis = {
        r["NetworkInterfaceId"] for t in tables for r in t.get("Routes") or [] if r.get("NetworkInterfaceId")
    }
    foreign: set[str] = set()
    if route_enis:
        for eni_id, eni in network_interfaces(ec2, route_enis).items():
            owner = eni.get("OwnerId")
            instance_owner = (eni.get("Attachment") or {}).get("InstanceOwnerId")
            if owner and instance_owner and owner != instance_owner:
                foreign.add(eni_id)
    for table in tables:
        table["_ForeignEnis"] = foreign
        yield table


def _table_route(route: Item) -> dict[str, Any]:
    gateway = text(route, "GatewayId")
    out = {
        "cidr_block": text(route, "DestinationCidrBlock"),
        "ipv6_cidr_block": text(route, "DestinationIpv6CidrBlock"),
        "destination_prefix_list_id": text(route, "DestinationPrefixListId"),
        "gateway_id": "" if gateway.startswith("vpce-") else gateway,
        "vpc_endpoint_id": gateway if gateway.startswith("vpce-") else "",
    }
    out.update({name: text(route, key) for name, key in _TABLE_ROUTE_TARGETS})
    return out


def _in_table_routes(route: Item, foreign_enis: set[str]) -> bool:
    """Whether the provider lists this route in aws_route_table.route (its flattenRoutes filter)."""
    gateway = str(route.get("GatewayId") or "")
    if gateway in ("local", "VpcLattice") or route.get("Origin") == _PROPAGATED:
        return False
    if route.get("DestinationPrefixListId") and gateway.startswith("vpce-"):
        return False  # belongs to the gateway VPC endpoint
    return route.get("NetworkInterfaceId") not in foreign_enis


def _table_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    foreign: set[str] = item.get("_ForeignEnis") or set()
    attrs: dict[str, Any] = {
        "vpc_id": text(item, "VpcId"),
        "owner_id": text(item, "OwnerId"),
        "propagating_vgws": sorted(str(v["GatewayId"]) for v in item.get("PropagatingVgws") or []),
        "route": cty_sorted(
            _table_route(r) for r in item.get("Routes") or [] if _in_table_routes(r, foreign)
        ),
        "tags": {k: v for k, v in tags(item).items() if k not in _IGNORED_TABLE_TAGS},
    }
    arn = ec2_arn(scope, item.get("OwnerId"), f"route-table/{item['RouteTableId']}")
    if arn:
        attrs["arn"] = arn
    return attrs


def _table_default(item: Item, _scope: Scope) -> str | None:
    vpc = _main_vpc(item)
    return f"main route table of {vpc}" if vpc else None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_route_table",
        service="ec2",
        collect=_table_collect,
        id_key="RouteTableId",
        to_attributes=_table_attributes,
        default_reason=_table_default,
    ),
)


# --- aws_route_table_association ------------------------------------------------------------------
def _association_collect(scope: Scope) -> Iterator[Item]:
    for table in _route_tables(scope):
        for assoc in table.get("Associations") or []:
            if assoc.get("Main"):
                continue  # aws_main_route_table_association, another type
            if (assoc.get("AssociationState") or {}).get("State") == "disassociated":
                continue
            yield assoc


def _association_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    return {
        "route_table_id": text(item, "RouteTableId"),
        "subnet_id": text(item, "SubnetId"),
        "gateway_id": text(item, "GatewayId"),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_route_table_association",
        service="ec2",
        collect=_association_collect,
        id_key="RouteTableAssociationId",
        to_attributes=_association_attributes,
        # `terraform import` takes SUBNET_OR_GATEWAY_ID/ROUTE_TABLE_ID; state stores the rtbassoc- id.
        import_id=lambda item: f"{item.get('SubnetId') or item.get('GatewayId')}/{item['RouteTableId']}",
    ),
)


# --- aws_route ------------------------------------------------------------------------------------
def _route_collect(scope: Scope) -> Iterator[Item]:
    tables = _route_tables(scope)
    defaults = default_vpc_ids(scope.client("ec2")) if tables else set()
    for table in tables:
        main_vpc = _main_vpc(table)
        for route in table.get("Routes") or []:
            if not route_destination(route):
                continue
            yield {
                **route,
                "_RouteTableId": table["RouteTableId"],
                "_DefaultMainTable": main_vpc is not None and main_vpc in defaults,
            }


def _route_item_id(item: Item) -> str:
    return route_id(str(item["_RouteTableId"]), route_destination(item))


def _route_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    gateway = text(item, "GatewayId")
    return {
        "route_table_id": text(item, "_RouteTableId"),
        "destination_cidr_block": text(item, "DestinationCidrBlock"),
        "destination_ipv6_cidr_block": text(item, "DestinationIpv6CidrBlock"),
        "destination_prefix_list_id": text(item, "DestinationPrefixListId"),
        "gateway_id": "" if gateway.startswith("vpce-") else gateway,
        "vpc_endpoint_id": gateway if gateway.startswith("vpce-") else "",
        **{name: text(item, key) for name, key in _TABLE_ROUTE_TARGETS},
        "instance_id": text(item, "InstanceId"),
        "instance_owner_id": text(item, "InstanceOwnerId"),
        "origin": text(item, "Origin"),
        "state": text(item, "State"),
    }


def _route_default(item: Item, _scope: Scope) -> str | None:
    table = item["_RouteTableId"]
    gateway = str(item.get("GatewayId") or "")
    if gateway == "local":
        return f"local route of {table}"
    if item.get("Origin") == "CreateRouteTable":
        return f"route created with {table}"
    if item.get("Origin") == _PROPAGATED:
        return f"route propagated from a virtual private gateway into {table}"
    if item.get("DestinationPrefixListId") and gateway.startswith("vpce-"):
        return f"route of VPC endpoint {gateway}"
    if item.get("_DefaultMainTable"):
        return f"route of the default VPC's main route table {table}"
    return None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_route",
        service="ec2",
        collect=_route_collect,
        id_key=_route_item_id,
        to_attributes=_route_attributes,
        default_reason=_route_default,
        # `terraform import` takes ROUTETABLEID_DESTINATION; state stores r-<table><crc32(destination)>.
        import_id=lambda item: f"{item['_RouteTableId']}_{route_destination(item)}",
        # Routes written inline in a managed aws_route_table belong to it (DriftService claims them).
        parent_link=("aws_route_table", "route_table_id", "route"),
    ),
)
