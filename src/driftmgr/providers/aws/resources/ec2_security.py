"""Security groups and their rules: aws_security_group, aws_security_group_rule,
aws_vpc_security_group_ingress_rule, aws_vpc_security_group_egress_rule.

One live rule (a `SecurityGroupRule`, one source each) has three Terraform spellings, all discovered:
- inside `aws_security_group.ingress|egress`, grouped as the provider's read does
  (`securityGroupIPPermGather`: one object per protocol/ports/description);
- `aws_security_group_rule`, whose synthetic id `sgrule-<crc32>` is the provider's
  `IPPermissionIDHash` of the rule — discovery emits one per source, which is the id a single-source
  Terraform rule has (`state_rule_ids` splits a multi-source state rule into those ids);
- `aws_vpc_security_group_{ingress,egress}_rule`, keyed by the `sgr-…` rule id.
Every spelling carries `security_group_rule_id` so callers can tell that they are one object.

Also here: Terraform-shape helpers other AWS modules reuse (`cty_set_order`, `name_prefix_from_name`,
`tags_or_null`, `protocol_for_value`).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.base import ResourceType, Scope, register_type

# --- Terraform-shape helpers ------------------------------------------------------------------

_UNIQUE_SUFFIX = re.compile(r"^(.*)[0-9a-fA-F]{26}$")  # id.UniqueId(): timestamp + counter, 26 chars
_PROTOCOLS = {"icmpv6": 58, "udp": 17, "tcp": 6, "icmp": 1}


def name_prefix_from_name(name: str) -> str:
    """`create.NamePrefixFromName`: the `name_prefix` Terraform stores ("" when the name has no
    generated 26-character suffix)."""
    match = _UNIQUE_SUFFIX.match(name or "")
    return match.group(1) if match and match.group(1) else ""


def tags_or_null(item: dict[str, Any], key: str = "Tags") -> dict[str, str] | None:
    """`tags` as SDKv2/framework resources store it when none are configured: null, not {}."""
    return tags(item, key) or None


def protocol_for_value(value: str) -> str:
    """The provider's `protocolForValue`: "all" → "-1", "6" → "tcp", names lower-cased."""
    protocol = str(value).lower()
    if protocol in ("-1", "all"):
        return "-1"
    if protocol in _PROTOCOLS:
        return protocol
    for name, number in _PROTOCOLS.items():
        if protocol == str(number):
            return name
    return protocol


def _cty_hash_text(value: Any) -> str:
    """cty's set-hash serialisation of a JSON-shaped value (null `~`, bool T/F, strings quoted,
    lists `[e;…]`, objects `<v;…>` in attribute-name order)."""
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + "".join(_cty_hash_text(v) + ";" for v in value) + "]"
    if isinstance(value, dict):
        return "<" + "".join(_cty_hash_text(value[k]) + ";" for k in sorted(value)) + ">"
    raise TypeError(f"no cty hash for {type(value).__name__}")


def cty_set_order(values: Iterable[Any]) -> list[Any]:
    """The order Terraform writes a set to state: strings sorted, objects by their cty hash text."""
    items = list(values)
    if all(isinstance(v, str) for v in items):
        return sorted(items)
    return sorted(items, key=lambda v: _cty_hash_text(v).encode())


def string_hashcode(text: str) -> int:
    """The provider's `create.StringHashcode` (crc32, non-negative on 64-bit)."""
    return zlib.crc32(text.encode())


# --- listing ----------------------------------------------------------------------------------


def _default_groups(scope: Scope) -> dict[str, str]:
    """Default security groups of the region: group id → VPC id."""
    ec2 = scope.client("ec2")
    # The unfiltered listing aws_security_group reads: one request per run, shared (see calls.py).
    pages = ec2.get_paginator("describe_security_groups").paginate()
    return {
        g["GroupId"]: g.get("VpcId", "")
        for page in pages
        for g in page.get("SecurityGroups") or []
        if g.get("GroupName") == "default"
    }


def _rules(scope: Scope, egress: bool | None) -> Iterator[dict[str, Any]]:
    """Every security group rule (one source each), annotated with `_DefaultVpc` for rules of a
    VPC's default group. `egress` None lists both directions."""
    defaults = _default_groups(scope)
    pages = scope.client("ec2").get_paginator("describe_security_group_rules").paginate()
    for page in pages:
        for rule in page.get("SecurityGroupRules") or []:
            if egress is not None and bool(rule.get("IsEgress")) != egress:
                continue
            if rule.get("GroupId") in defaults:
                rule["_DefaultVpc"] = defaults[rule["GroupId"]]
            yield rule


def _rule_default_reason(item: dict[str, Any], _scope: Scope) -> str | None:
    vpc = item.get("_DefaultVpc")
    if vpc is None:
        return None
    return f"rule of the default security group of {vpc}" if vpc else "rule of a default security group"


# --- aws_security_group -----------------------------------------------------------------------


def _empty_rule(protocol: str, from_port: int, to_port: int, description: str) -> dict[str, Any]:
    return {
        "cidr_blocks": [],
        "description": description,
        "from_port": from_port,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": protocol,
        "security_groups": [],
        "self": False,
        "to_port": to_port,
    }


def flatten_permissions(
    group_id: str, owner_id: str | None, perms: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """IpPermissions → Terraform's `ingress`/`egress` set, as the provider's
    `securityGroupIPPermGather` builds it: one object per (protocol, ports, description), holding
    every CIDR, IPv6 CIDR, prefix list and referenced group (`self` for the group itself)."""
    grouped: dict[tuple[str, int, int, str], dict[str, Any]] = {}

    def rule(perm: dict[str, Any], description: str | None) -> dict[str, Any]:
        protocol = str(perm.get("IpProtocol", ""))
        from_port, to_port = int(perm.get("FromPort") or 0), int(perm.get("ToPort") or 0)
        key = (protocol, from_port, to_port, description or "")
        if key not in grouped:
            grouped[key] = _empty_rule(protocol, from_port, to_port, description or "")
        return grouped[key]

    for perm in perms:
        for ip in perm.get("IpRanges") or []:
            rule(perm, ip.get("Description"))["cidr_blocks"].append(ip["CidrIp"])
        for ip6 in perm.get("Ipv6Ranges") or []:
            rule(perm, ip6.get("Description"))["ipv6_cidr_blocks"].append(ip6["CidrIpv6"])
        for pl in perm.get("PrefixListIds") or []:
            rule(perm, pl.get("Description"))["prefix_list_ids"].append(pl["PrefixListId"])
        for pair in perm.get("UserIdGroupPairs") or []:
            target = rule(perm, pair.get("Description"))
            ref = str(pair.get("GroupId", ""))
            user = pair.get("UserId")
            if user and user != owner_id:
                ref = f"{user}/{ref}"
            if ref == group_id:
                target["self"] = True
            else:
                target["security_groups"].append(ref)
    for obj in grouped.values():
        obj["security_groups"] = sorted(set(obj["security_groups"]))
    return cty_set_order(grouped.values())


def _sg_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    group_id, owner = item["GroupId"], item.get("OwnerId")
    attrs: dict[str, Any] = {
        "name": item.get("GroupName"),
        "name_prefix": name_prefix_from_name(item.get("GroupName", "")),
        "description": item.get("Description"),
        "vpc_id": item.get("VpcId", ""),
        "owner_id": owner,
        "ingress": flatten_permissions(group_id, owner, item.get("IpPermissions") or []),
        "egress": flatten_permissions(group_id, owner, item.get("IpPermissionsEgress") or []),
        "tags": tags(item),
    }
    if item.get("SecurityGroupArn"):
        attrs["arn"] = item["SecurityGroupArn"]
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_security_group",
        service="ec2",
        list_call="describe_security_groups",
        result_key="SecurityGroups",
        id_key="GroupId",
        to_attributes=_sg_attributes,
        default_reason=lambda item, _s: (
            f"default security group of {item.get('VpcId')}" if item.get("GroupName") == "default" else None
        ),
    ),
)


# --- aws_security_group_rule ------------------------------------------------------------------


def security_group_rule_id(
    group_id: str,
    rule_type: str,
    protocol: str,
    from_port: int | None,
    to_port: int | None,
    cidr_blocks: Iterable[str] = (),
    ipv6_cidr_blocks: Iterable[str] = (),
    prefix_list_ids: Iterable[str] = (),
    source_groups: Iterable[str] = (),
) -> str:
    """The provider's `IPPermissionIDHash` (aws_security_group_rule ids: `sgrule-<crc32>`).
    `source_groups` are group ids (a `self` rule's source is the group itself)."""
    proto = protocol_for_value(protocol)
    parts = [f"{group_id}-"]
    if proto != "-1":  # the provider sends no ports for "all protocols"
        if from_port and from_port > 0:
            parts.append(f"{from_port}-")
        if to_port and to_port > 0:
            parts.append(f"{to_port}-")
    parts += [f"{proto}-", f"{rule_type}-"]
    for values in (cidr_blocks, ipv6_cidr_blocks, prefix_list_ids):
        parts += [f"{v}-" for v in sorted(values)]
    parts += [f"{g.split('/')[-1]}--" for g in sorted(g.split("/")[-1] for g in source_groups)]
    return f"sgrule-{string_hashcode(''.join(parts))}"


def state_rule_ids(attributes: dict[str, Any]) -> list[str]:
    """The per-source ids discovery reports for an aws_security_group_rule state instance: one id
    per CIDR / IPv6 CIDR / prefix list / source group / self. A single-source rule maps to its own
    state id; a multi-source one to several discovered rules."""
    common = (
        str(attributes["security_group_id"]),
        str(attributes["type"]),
        str(attributes["protocol"]),
        attributes.get("from_port"),
        attributes.get("to_port"),
    )
    ids = [security_group_rule_id(*common, cidr_blocks=[c]) for c in attributes.get("cidr_blocks") or []]
    ids += [
        security_group_rule_id(*common, ipv6_cidr_blocks=[c])
        for c in attributes.get("ipv6_cidr_blocks") or []
    ]
    ids += [
        security_group_rule_id(*common, prefix_list_ids=[p]) for p in attributes.get("prefix_list_ids") or []
    ]
    if attributes.get("source_security_group_id"):
        ids.append(security_group_rule_id(*common, source_groups=[attributes["source_security_group_id"]]))
    if attributes.get("self"):
        ids.append(security_group_rule_id(*common, source_groups=[str(attributes["security_group_id"])]))
    return ids


def _rule_source(item: dict[str, Any]) -> tuple[list[str], list[str], list[str], list[str]]:
    ref = (item.get("ReferencedGroupInfo") or {}).get("GroupId")
    return (
        [item["CidrIpv4"]] if item.get("CidrIpv4") else [],
        [item["CidrIpv6"]] if item.get("CidrIpv6") else [],
        [item["PrefixListId"]] if item.get("PrefixListId") else [],
        [ref] if ref else [],
    )


def _legacy_rule_id(item: dict[str, Any]) -> str:
    cidrs, ipv6, pls, groups = _rule_source(item)
    return security_group_rule_id(
        item["GroupId"],
        "egress" if item.get("IsEgress") else "ingress",
        str(item.get("IpProtocol", "")),
        item.get("FromPort"),
        item.get("ToPort"),
        cidrs,
        ipv6,
        pls,
        groups,
    )


def _legacy_rule_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    cidrs, ipv6, pls, groups = _rule_source(item)
    protocol = protocol_for_value(str(item.get("IpProtocol", "")))
    all_ports = protocol == "-1"
    is_self = bool(groups) and groups[0] == item["GroupId"]
    return {
        "type": "egress" if item.get("IsEgress") else "ingress",
        "security_group_id": item["GroupId"],
        "security_group_rule_id": item.get("SecurityGroupRuleId"),
        "protocol": protocol,
        "from_port": 0 if all_ports else int(item.get("FromPort", 0)),
        "to_port": 0 if all_ports else int(item.get("ToPort", 0)),
        "cidr_blocks": cidrs or None,
        "ipv6_cidr_blocks": ipv6 or None,
        "prefix_list_ids": pls or None,
        "self": is_self,
        "source_security_group_id": groups[0] if groups and not is_self else None,
        "description": item.get("Description") or None,
    }


def _legacy_rule_import_id(item: dict[str, Any]) -> str:
    """`terraform import` form: SGID_TYPE_PROTOCOL_FROM_TO_SOURCE (`self` for the group itself)."""
    protocol = protocol_for_value(str(item.get("IpProtocol", "")))
    ports = ["0", "0"] if protocol == "-1" else [str(item.get("FromPort", 0)), str(item.get("ToPort", 0))]
    sources = [s for source in _rule_source(item) for s in source]
    return "_".join(
        [
            item["GroupId"],
            "egress" if item.get("IsEgress") else "ingress",
            "all" if protocol == "-1" else protocol,
            *ports,
            *("self" if s == item["GroupId"] else s for s in sources),
        ]
    )


register_type(
    "aws",
    ResourceType(
        tf_type="aws_security_group_rule",
        service="ec2",
        collect=lambda scope: _rules(scope, None),
        id_key=_legacy_rule_id,
        to_attributes=_legacy_rule_attributes,
        default_reason=_rule_default_reason,
        import_id=_legacy_rule_import_id,
        object_keys=lambda attrs: [
            k for k in (attrs.get("security_group_rule_id"), *state_rule_ids(attrs)) if k
        ],
        report_unmanaged=False,  # an unmanaged rule is reported once, as aws_vpc_security_group_*_rule
        parent_link=("aws_security_group", "security_group_id", "{type}"),
    ),
)


# --- aws_vpc_security_group_{ingress,egress}_rule ---------------------------------------------


def _vpc_rule_attributes(item: dict[str, Any], scope: Scope) -> dict[str, Any]:
    ref = item.get("ReferencedGroupInfo") or {}
    referenced = ref.get("GroupId")
    if referenced and ref.get("UserId") and ref["UserId"] != scope.account:
        referenced = f"{ref['UserId']}/{referenced}"
    protocol = str(item.get("IpProtocol", ""))
    all_ports = protocol == "-1"  # the API says -1/-1; Terraform stores no ports
    attrs: dict[str, Any] = {
        "security_group_id": item["GroupId"],
        "security_group_rule_id": item.get("SecurityGroupRuleId"),
        "ip_protocol": protocol,
        "from_port": None if all_ports else item.get("FromPort"),
        "to_port": None if all_ports else item.get("ToPort"),
        "cidr_ipv4": item.get("CidrIpv4"),
        "cidr_ipv6": item.get("CidrIpv6"),
        "prefix_list_id": item.get("PrefixListId"),
        "referenced_security_group_id": referenced,
        "description": item.get("Description") or None,
        "tags": tags_or_null(item),
    }
    if item.get("SecurityGroupRuleArn"):
        attrs["arn"] = item["SecurityGroupRuleArn"]
    return attrs


def _vpc_rule_type(tf_type: str, egress: bool) -> ResourceType:
    return ResourceType(
        tf_type=tf_type,
        service="ec2",
        collect=lambda scope: _rules(scope, egress),
        id_key="SecurityGroupRuleId",
        to_attributes=_vpc_rule_attributes,
        default_reason=_rule_default_reason,
        object_keys=lambda attrs: [k for k in (attrs.get("security_group_rule_id"),) if k],
        parent_link=("aws_security_group", "security_group_id", "egress" if egress else "ingress"),
    )


register_type("aws", _vpc_rule_type("aws_vpc_security_group_ingress_rule", egress=False))
register_type("aws", _vpc_rule_type("aws_vpc_security_group_egress_rule", egress=True))
