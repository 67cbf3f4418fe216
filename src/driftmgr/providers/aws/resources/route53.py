"""Route 53 (global): aws_route53_zone, aws_route53_record.

Ids as Terraform stores them: the zone id without "/hostedzone/", and for a record
`ZONEID_NAME_TYPE[_SETIDENTIFIER]` with NAME lower-cased and without the trailing dot. The NS and
SOA records at a zone's apex are created by Route 53 with the zone: implicit children (defaults).

Known limit: Terraform builds a record's id from `name` as written in the configuration. Discovery
knows only the fully qualified name, so a record configured with a short name (`name = "www"`)
has a state id (`Z1_www_A`) other than its live id (`Z1_www.example.com_A`); `state_record_id` maps
the state's attributes to the live form (matching needs the drift service to apply it). For the same
reason `name` is not reported (its configured form is unknowable): `fqdn` is, and the id pins it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ec2_network import cty_sorted, partition, text
from driftmgr.providers.aws.resources.messaging import unless_gone
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type

Item = dict[str, Any]
_OCTAL = re.compile(r"\\([0-7]{3})")


def zone_id(raw: str) -> str:
    return raw.removeprefix("/hostedzone/")


def clean_name(name: str) -> str:
    """A DNS name as the provider stores it: Route 53's octal escapes decoded (\\052 is "*"), lower
    case, no trailing dot (the root "." stays)."""
    decoded = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), name).lower()
    return decoded if decoded == "." else decoded.removesuffix(".")


def record_id(zone: str, name: str, rtype: str, set_identifier: str = "") -> str:
    parts = [zone, name.lower().removesuffix("."), rtype]
    if set_identifier:
        parts.append(set_identifier)
    return "_".join(parts)


def state_record_id(attrs: Mapping[str, Any]) -> str:
    """The id discovery reports for a state's aws_route53_record (its `fqdn` instead of the `name` the
    configuration used) — equal to the state id whenever the configuration used the full name."""
    name = str(attrs.get("fqdn") or attrs.get("name") or "")
    return record_id(
        str(attrs.get("zone_id", "")),
        name,
        str(attrs.get("type", "")),
        str(attrs.get("set_identifier") or ""),
    )


# --- aws_route53_zone ---------------------------------------------------------------------------
_ZONE_GONE = ("NoSuchHostedZone",)


@unless_gone(*_ZONE_GONE)
def _zone_details(item: Item, scope: Scope) -> Item | None:
    r53 = scope.client("route53")
    zid = zone_id(item["Id"])
    got: Item = r53.get_hosted_zone(Id=zid)
    got["_Tags"] = (
        r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zid)
        .get("ResourceTagSet", {})
        .get("Tags", [])
    )
    return got


def _zone_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    zone: Item = item["HostedZone"]
    zid = zone_id(zone["Id"])
    delegation: Item = item.get("DelegationSet") or {}
    servers = [str(s) for s in delegation.get("NameServers") or []]
    attrs: dict[str, Any] = {
        "zone_id": zid,
        "name": clean_name(zone["Name"]),
        "comment": text(zone.get("Config") or {}, "Comment"),
        "delegation_set_id": text(delegation, "Id").removeprefix("/delegationset/"),
        "vpc": cty_sorted(
            {"vpc_id": text(v, "VPCId"), "vpc_region": text(v, "VPCRegion")} for v in item.get("VPCs") or []
        ),
        "tags": tags(item, "_Tags"),
    }
    if servers:  # public zones; a private zone's servers come from its NS record
        attrs["primary_name_server"] = servers[0]
        attrs["name_servers"] = sorted(servers)
    part = partition(scope.region)
    if part is not None:
        attrs["arn"] = f"arn:{part[0]}:route53:::hostedzone/{zid}"
    return attrs


def _zone_default(item: Item, _scope: Scope) -> str | None:
    linked = (item.get("HostedZone") or {}).get("LinkedService") or {}
    principal = linked.get("ServicePrincipal")
    return f"hosted zone managed by {principal}" if principal else None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_route53_zone",
        service="route53",
        list_call="list_hosted_zones",
        result_key="HostedZones",
        id_key=lambda item: zone_id(str((item.get("HostedZone") or item)["Id"])),
        global_=True,
        details=_zone_details,
        to_attributes=_zone_attributes,
        default_reason=_zone_default,
    ),
)


# --- aws_route53_record -------------------------------------------------------------------------
def _record_collect(scope: Scope) -> Iterator[Item]:
    r53 = scope.client("route53")
    for zone in iter_items(r53.get_paginator("list_hosted_zones").paginate(), "HostedZones"):
        zid, zone_name = zone_id(zone["Id"]), clean_name(zone["Name"])
        pages = r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zid)
        for record in iter_items(pages, "ResourceRecordSets"):
            record["_ZoneId"], record["_ZoneName"] = zid, zone_name
            yield record


def _record_id(item: Item) -> str:
    return record_id(item["_ZoneId"], clean_name(item["Name"]), item["Type"], text(item, "SetIdentifier"))


def _txt(value: str) -> str:
    # The provider's expandTxtEntry: drop the quotes around a TXT/SPF value (only the outer pair).
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def _records(item: Item) -> list[str]:
    values = [str(r["Value"]) for r in item.get("ResourceRecords") or [] if r.get("Value") is not None]
    if item["Type"] in ("TXT", "SPF"):
        values = [_txt(v) for v in values]
    return cty_sorted(values)


def _routing(item: Item) -> dict[str, list[dict[str, Any]]]:
    """The routing-policy blocks, each a list of one object or empty (as the provider stores them)."""
    geo: Item = item.get("GeoLocation") or {}
    prox: Item = item.get("GeoProximityLocation") or {}
    cidr: Item = item.get("CidrRoutingConfig") or {}
    coords: Item = prox.get("Coordinates") or {}
    return {
        "weighted_routing_policy": [{"weight": int(item["Weight"])}]
        if item.get("Weight") is not None
        else [],
        "latency_routing_policy": [{"region": item["Region"]}] if item.get("Region") else [],
        "failover_routing_policy": [{"type": item["Failover"]}] if item.get("Failover") else [],
        "geolocation_routing_policy": [
            {
                "continent": text(geo, "ContinentCode"),
                "country": text(geo, "CountryCode"),
                "subdivision": text(geo, "SubdivisionCode"),
            }
        ]
        if geo
        else [],
        "geoproximity_routing_policy": [
            {
                "aws_region": text(prox, "AWSRegion"),
                "bias": int(prox.get("Bias") or 0),
                "local_zone_group": text(prox, "LocalZoneGroup"),
                "coordinates": [
                    {"latitude": text(coords, "Latitude"), "longitude": text(coords, "Longitude")}
                ]
                if coords
                else [],
            }
        ]
        if prox
        else [],
        "cidr_routing_policy": [
            {"collection_id": text(cidr, "CollectionId"), "location_name": text(cidr, "LocationName")}
        ]
        if cidr
        else [],
    }


def _record_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    alias: Item = item.get("AliasTarget") or {}
    attrs: dict[str, Any] = {
        "zone_id": item["_ZoneId"],
        "fqdn": clean_name(item["Name"]),
        "type": item["Type"],
        "set_identifier": text(item, "SetIdentifier"),
        "ttl": int(item.get("TTL") or 0),
        "records": _records(item),
        "alias": [
            {
                "name": clean_name(text(alias, "DNSName")),
                "zone_id": text(alias, "HostedZoneId"),
                "evaluate_target_health": bool(alias.get("EvaluateTargetHealth", False)),
            }
        ]
        if alias
        else [],
        "health_check_id": text(item, "HealthCheckId"),
        "multivalue_answer_routing_policy": bool(item.get("MultiValueAnswer", False)),
    }
    attrs.update(_routing(item))
    return attrs


def _record_default(item: Item, _scope: Scope) -> str | None:
    if item["Type"] in ("NS", "SOA") and clean_name(item["Name"]) == item["_ZoneName"]:
        return f"{item['Type']} record of zone {item['_ZoneId']}"
    return None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_route53_record",
        service="route53",
        collect=_record_collect,
        id_key=_record_id,
        global_=True,
        to_attributes=_record_attributes,
        default_reason=_record_default,
        # A state id is built from `name` as configured ("api"); discovery sees the full name. Both
        # sides agree on zone + fqdn + type + set identifier.
        match_key=lambda attrs: (state_record_id(attrs),),
    ),
)
