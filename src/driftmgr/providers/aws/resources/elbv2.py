"""ELBv2: aws_lb, aws_lb_target_group, aws_lb_listener (all identified, and imported, by ARN).

Mapped as the provider's Read stores them: attribute lists (DescribeLoadBalancerAttributes, …) are
translated key by key and a key the API does not return leaves its attribute unknown. Not read:
`aws_lb_target_group.load_balancer_arns` (a back-reference that changes whenever a listener elsewhere
starts using the group; drift there shows on the listener) and the OIDC `client_secret` of a listener
action (the API never returns it).

A `forward` default action comes back from the API both as `target_group_arn` and as a one-group
`forward` block, whichever way it was written; it reads as `target_group_arn` unless it weighs several
groups or has stickiness on (what configurations write), so the other spelling needs the engine's
equivalence, as Terraform's import does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ecs import null_if_empty, tf_set
from driftmgr.providers.base import Item, ResourceType, Scope, iter_items, register_type

_UNIQUE_SUFFIX = re.compile(r"\d{18}[0-9a-f]{8}$")  # Terraform's generated-name suffix (id.UniqueId)


def _name_prefix(name: str) -> str:
    """What Terraform derives for `name_prefix` from a generated name ("" for a chosen name)."""
    return name[:-26] if len(name) > 26 and _UNIQUE_SUFFIX.search(name) else ""


def _to_bool(value: str) -> bool:
    return value.lower() == "true"


def _to_int(value: str) -> int:
    return int(value) if value.lstrip("-").isdigit() else 0


_CONVERT: dict[str, Callable[[str], Any]] = {"bool": _to_bool, "int": _to_int, "str": str}


def _attributes(pairs: list[dict[str, Any]]) -> dict[str, str]:
    return {str(p["Key"]): str(p.get("Value") or "") for p in pairs if p.get("Key")}


def _mapped(attrs: dict[str, str], table: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Terraform attributes from an API attribute list; a key the API did not return stays unknown."""
    return {tf: _CONVERT[kind](attrs[key]) for tf, (key, kind) in table.items() if key in attrs}


def _elbv2_tags(scope: Scope, arn: str) -> Any:
    resp = scope.client("elbv2").describe_tags(ResourceArns=[arn])
    found: dict[str, Any] = next(
        (d for d in resp.get("TagDescriptions") or [] if d.get("ResourceArn") == arn), {}
    )
    return tags(found) or None


# --- aws_lb ---------------------------------------------------------------------------------------

_LB_ATTRIBUTES = {
    "client_keep_alive": ("client_keep_alive.seconds", "int"),
    "desync_mitigation_mode": ("routing.http.desync_mitigation_mode", "str"),
    "dns_record_client_routing_policy": ("dns_record.client_routing_policy", "str"),
    "drop_invalid_header_fields": ("routing.http.drop_invalid_header_fields.enabled", "bool"),
    "enable_cross_zone_load_balancing": ("load_balancing.cross_zone.enabled", "bool"),
    "enable_deletion_protection": ("deletion_protection.enabled", "bool"),
    "enable_http2": ("routing.http2.enabled", "bool"),
    "enable_tls_version_and_cipher_suite_headers": (
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        "bool",
    ),
    "enable_waf_fail_open": ("waf.fail_open.enabled", "bool"),
    "enable_xff_client_port": ("routing.http.xff_client_port.enabled", "bool"),
    "enable_zonal_shift": ("zonal_shift.config.enabled", "bool"),
    "idle_timeout": ("idle_timeout.timeout_seconds", "int"),
    "preserve_host_header": ("routing.http.preserve_host_header.enabled", "bool"),
    "xff_header_processing_mode": ("routing.http.xff_header_processing.mode", "str"),
}


def _lb_details(item: Item, scope: Scope) -> Item:
    elbv2 = scope.client("elbv2")
    arn = item["LoadBalancerArn"]
    detailed = dict(item)
    detailed["_Attributes"] = _attributes(
        elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn).get("Attributes") or []
    )
    detailed["_Tags"] = _elbv2_tags(scope, arn)
    if item.get("Type") in ("application", "network"):
        try:
            capacity = elbv2.describe_capacity_reservation(LoadBalancerArn=arn)
            detailed["_MinimumCapacity"] = capacity.get("MinimumLoadBalancerCapacity")
        except ClientError as exc:
            # Not offered in every partition/region (the provider tolerates the same two codes):
            # minimum_load_balancer_capacity then stays unknown.
            if exc.response.get("Error", {}).get("Code") not in ("AccessDenied", "InvalidAction"):
                raise
    return detailed


def _logs_block(attrs: dict[str, str], prefix: str) -> list[dict[str, Any]]:
    keys = {
        "bucket": f"{prefix}.s3.bucket",
        "enabled": f"{prefix}.s3.enabled",
        "prefix": f"{prefix}.s3.prefix",
    }
    if not any(k in attrs for k in keys.values()):
        return []
    return [
        {
            "bucket": attrs.get(keys["bucket"], ""),
            "enabled": _to_bool(attrs.get(keys["enabled"], "false")),
            "prefix": attrs.get(keys["prefix"], ""),
        }
    ]


def _subnet_mapping(az: dict[str, Any]) -> dict[str, Any]:
    address = (az.get("LoadBalancerAddresses") or [{}])[0]
    return {
        "allocation_id": address.get("AllocationId", ""),
        "ipv6_address": address.get("IPv6Address", ""),
        "outpost_id": az.get("OutpostId", ""),
        "private_ipv4_address": address.get("PrivateIPv4Address", ""),
        "subnet_id": az.get("SubnetId", ""),
    }


def _lb_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    arn = str(item["LoadBalancerArn"])
    name = str(item.get("LoadBalancerName", ""))
    zones = item.get("AvailabilityZones") or []
    pools = item.get("IpamPools")
    attrs: dict[str, Any] = {
        "arn": arn,
        "arn_suffix": arn.split(":loadbalancer/", 1)[-1] if ":loadbalancer/" in arn else "",
        "name": name,
        "name_prefix": _name_prefix(name),
        "load_balancer_type": item.get("Type", ""),
        "internal": item.get("Scheme") == "internal",
        "ip_address_type": item.get("IpAddressType", ""),
        "customer_owned_ipv4_pool": item.get("CustomerOwnedIpv4Pool", ""),
        "enforce_security_group_inbound_rules_on_private_link_traffic": item.get(
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic", ""
        ),
        "dns_name": item.get("DNSName", ""),
        "zone_id": item.get("CanonicalHostedZoneId", ""),
        "vpc_id": item.get("VpcId", ""),
        "security_groups": tf_set(item.get("SecurityGroups") or []),
        "subnets": tf_set(az.get("SubnetId", "") for az in zones),
        "subnet_mapping": tf_set(_subnet_mapping(az) for az in zones),
        "ipam_pools": [{"ipv4_ipam_pool_id": pools.get("Ipv4IpamPoolId", "")}] if pools else [],
        "access_logs": _logs_block(item["_Attributes"], "access_logs"),
        "tags": item.get("_Tags"),
    }
    if item.get("Type") == "application":
        attrs["connection_logs"] = _logs_block(item["_Attributes"], "connection_logs")
    if "_MinimumCapacity" in item:
        capacity = item["_MinimumCapacity"]
        attrs["minimum_load_balancer_capacity"] = (
            [{"capacity_units": capacity.get("CapacityUnits", 0)}] if capacity else []
        )
    attrs.update(_mapped(item["_Attributes"], _LB_ATTRIBUTES))
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_lb",
        service="elbv2",
        list_call="describe_load_balancers",
        result_key="LoadBalancers",
        id_key="LoadBalancerArn",
        details=_lb_details,
        to_attributes=_lb_attributes,
    ),
)


# --- aws_lb_target_group --------------------------------------------------------------------------

_TG_ATTRIBUTES = {  # instance and ip target groups
    "connection_termination": ("deregistration_delay.connection_termination.enabled", "bool"),
    "deregistration_delay": ("deregistration_delay.timeout_seconds", "str"),
    "load_balancing_algorithm_type": ("load_balancing.algorithm.type", "str"),
    "load_balancing_anomaly_mitigation": ("load_balancing.algorithm.anomaly_mitigation", "str"),
    "load_balancing_cross_zone_enabled": ("load_balancing.cross_zone.enabled", "str"),
    "preserve_client_ip": ("preserve_client_ip.enabled", "str"),
    "proxy_protocol_v2": ("proxy_protocol_v2.enabled", "bool"),
    "slow_start": ("slow_start.duration_seconds", "int"),
}
_TG_LAMBDA_ATTRIBUTES = {"lambda_multi_value_headers_enabled": ("lambda.multi_value_headers.enabled", "bool")}


def _tg_details(item: Item, scope: Scope) -> Item:
    arn = item["TargetGroupArn"]
    resp = scope.client("elbv2").describe_target_group_attributes(TargetGroupArn=arn)
    return {
        **item,
        "_Attributes": _attributes(resp.get("Attributes") or []),
        "_Tags": _elbv2_tags(scope, arn),
    }


def _filled(values: dict[str, Any], zeros: dict[str, Any]) -> dict[str, Any]:
    """A nested block object as the provider stores it: keys the API gave, the others zero — or, when the
    API gave none of them, all null."""
    if not values:
        return dict.fromkeys(zeros)
    return {k: values.get(k, zero) for k, zero in zeros.items()}


def _health_check(item: Item) -> list[dict[str, Any]]:
    fields = {
        "enabled": item.get("HealthCheckEnabled"),
        "healthy_threshold": item.get("HealthyThresholdCount"),
        "interval": item.get("HealthCheckIntervalSeconds"),
        "port": item.get("HealthCheckPort"),
        "protocol": item.get("HealthCheckProtocol") or None,
        "timeout": item.get("HealthCheckTimeoutSeconds"),
        "unhealthy_threshold": item.get("UnhealthyThresholdCount"),
        "path": item.get("HealthCheckPath"),
    }
    matcher = item.get("Matcher") or {}
    fields["matcher"] = matcher.get("GrpcCode", matcher.get("HttpCode"))
    zeros = {"enabled": False, "healthy_threshold": 0, "interval": 0, "matcher": "", "path": "", "port": "",
             "protocol": "", "timeout": 0, "unhealthy_threshold": 0}  # fmt: skip
    return [_filled({k: v for k, v in fields.items() if v is not None}, zeros)]


def _stickiness(attrs: dict[str, str], protocol: str) -> dict[str, Any]:
    values = _mapped(attrs, {"enabled": ("stickiness.enabled", "bool"), "type": ("stickiness.type", "str")})
    if protocol in ("HTTP", "HTTPS"):
        if values.get("type") == "lb_cookie":
            values.update(
                _mapped(attrs, {"cookie_duration": ("stickiness.lb_cookie.duration_seconds", "int")})
            )
        elif values.get("type") == "app_cookie":
            values.update(
                _mapped(
                    attrs,
                    {
                        "cookie_name": ("stickiness.app_cookie.cookie_name", "str"),
                        "cookie_duration": ("stickiness.app_cookie.duration_seconds", "int"),
                    },
                )
            )
    return _filled(values, {"cookie_duration": 0, "cookie_name": "", "enabled": False, "type": ""})


def _tg_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    arn = str(item["TargetGroupArn"])
    name = str(item.get("TargetGroupName", ""))
    protocol = str(item.get("Protocol") or "")
    target_type = item.get("TargetType", "")
    attrs = item["_Attributes"]
    failover = (
        _mapped(
            attrs,
            {
                "on_deregistration": ("target_failover.on_deregistration", "str"),
                "on_unhealthy": ("target_failover.on_unhealthy", "str"),
            },
        )
        if protocol == "GENEVE"
        else {}
    )
    health_state = (
        _mapped(
            attrs,
            {
                "enable_unhealthy_connection_termination": (
                    "target_health_state.unhealthy.connection_termination.enabled",
                    "bool",
                ),
                "unhealthy_draining_interval": (
                    "target_health_state.unhealthy.draining_interval_seconds",
                    "int",
                ),
            },
        )
        if protocol in ("TCP", "TLS")
        else {}
    )
    dns: dict[str, Any] = {}
    routing: dict[str, Any] = {}
    if protocol != "GENEVE":
        dns = _mapped(
            attrs,
            {
                "minimum_healthy_targets_count": (
                    "target_group_health.dns_failover.minimum_healthy_targets.count",
                    "str",
                ),
                "minimum_healthy_targets_percentage": (
                    "target_group_health.dns_failover.minimum_healthy_targets.percentage",
                    "str",
                ),
            },
        )
        routing = _mapped(
            attrs,
            {
                "minimum_healthy_targets_count": (
                    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
                    "int",
                ),
                "minimum_healthy_targets_percentage": (
                    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
                    "str",
                ),
            },
        )
    out: dict[str, Any] = {
        "arn": arn,
        "arn_suffix": "targetgroup/" + arn.split(":targetgroup/", 1)[-1] if ":targetgroup/" in arn else "",
        "name": name,
        "name_prefix": _name_prefix(name),
        "target_type": target_type,
        "ip_address_type": item.get("IpAddressType", ""),
        "health_check": _health_check(item),
        "stickiness": [_stickiness(attrs, protocol)],
        "target_failover": [_filled(failover, {"on_deregistration": "", "on_unhealthy": ""})],
        "target_health_state": [
            _filled(
                health_state,
                {"enable_unhealthy_connection_termination": False, "unhealthy_draining_interval": 0},
            )
        ],
        "target_group_health": [
            {
                "dns_failover": [
                    _filled(
                        dns, {"minimum_healthy_targets_count": "", "minimum_healthy_targets_percentage": ""}
                    )
                ],
                "unhealthy_state_routing": [
                    _filled(
                        routing,
                        {"minimum_healthy_targets_count": 0, "minimum_healthy_targets_percentage": ""},
                    )
                ],
            }
        ],
        "tags": item.get("_Tags"),
    }
    for key, tf in (("Port", "port"), ("ProtocolVersion", "protocol_version"), ("VpcId", "vpc_id")):
        if item.get(key) is not None:
            out[tf] = item[key]
    if protocol:
        out["protocol"] = protocol
    if target_type in ("instance", "ip"):
        out.update(_mapped(attrs, _TG_ATTRIBUTES))
    elif target_type == "lambda":
        out.update(_mapped(attrs, _TG_LAMBDA_ATTRIBUTES))
    return out


register_type(
    "aws",
    ResourceType(
        tf_type="aws_lb_target_group",
        service="elbv2",
        list_call="describe_target_groups",
        result_key="TargetGroups",
        id_key="TargetGroupArn",
        details=_tg_details,
        to_attributes=_tg_attributes,
    ),
)


# --- aws_lb_listener ------------------------------------------------------------------------------

_LISTENER_ATTRIBUTE_KEYS = (
    "tcp.idle_timeout.seconds",
    "routing.http.request.x_amzn_mtls_clientcert.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
    "routing.http.request.x_amzn_tls_cipher_suite.header_name",
    "routing.http.request.x_amzn_tls_version.header_name",
    "routing.http.response.access_control_allow_credentials.header_value",
    "routing.http.response.access_control_allow_headers.header_value",
    "routing.http.response.access_control_allow_methods.header_value",
    "routing.http.response.access_control_allow_origin.header_value",
    "routing.http.response.access_control_expose_headers.header_value",
    "routing.http.response.access_control_max_age.header_value",
    "routing.http.response.content_security_policy.header_value",
    "routing.http.response.server.enabled",
    "routing.http.response.strict_transport_security.header_value",
    "routing.http.response.x_content_type_options.header_value",
    "routing.http.response.x_frame_options.header_value",
)
_LISTENER_ATTRIBUTES = {
    key.replace(".", "_"): (
        key,
        "int" if key.startswith("tcp.") else "bool" if key.endswith(".enabled") else "str",
    )
    for key in _LISTENER_ATTRIBUTE_KEYS
}


def _collect_listeners(scope: Scope) -> Iterator[Item]:
    elbv2 = scope.client("elbv2")
    lbs = iter_items(elbv2.get_paginator("describe_load_balancers").paginate(), "LoadBalancers")
    for lb in lbs:
        pages = elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb["LoadBalancerArn"])
        yield from iter_items(pages, "Listeners")


def _listener_details(item: Item, scope: Scope) -> Item:
    arn = item["ListenerArn"]
    resp = scope.client("elbv2").describe_listener_attributes(ListenerArn=arn)
    return {
        **item,
        "_Attributes": _attributes(resp.get("Attributes") or []),
        "_Tags": _elbv2_tags(scope, arn),
    }


def _forward(config: dict[str, Any]) -> list[dict[str, Any]]:
    sticky = config.get("TargetGroupStickinessConfig")
    return [
        {
            "target_group": tf_set(
                {"arn": g.get("TargetGroupArn", ""), "weight": g.get("Weight", 0)}
                for g in config.get("TargetGroups") or []
            ),
            "stickiness": [
                {"enabled": bool(sticky.get("Enabled", False)), "duration": sticky.get("DurationSeconds", 0)}
            ]
            if sticky
            else [],
        }
    ]


def _auth_common(cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "authentication_request_extra_params": null_if_empty(cfg.get("AuthenticationRequestExtraParams")),
        "on_unauthenticated_request": cfg.get("OnUnauthenticatedRequest", ""),
        "scope": cfg.get("Scope", ""),
        "session_cookie_name": cfg.get("SessionCookieName", ""),
        "session_timeout": cfg.get("SessionTimeout", 0),
    }


def _action(action: dict[str, Any]) -> dict[str, Any]:
    kind = action.get("Type", "")
    out: dict[str, Any] = {
        "type": kind, "order": action.get("Order", 0), "target_group_arn": "", "forward": [], "redirect": [],
        "fixed_response": [], "authenticate_cognito": [], "authenticate_oidc": [],
    }  # fmt: skip
    if kind == "forward":
        config = action.get("ForwardConfig")
        groups = (config or {}).get("TargetGroups") or []
        sticky = ((config or {}).get("TargetGroupStickinessConfig") or {}).get("Enabled", False)
        if action.get("TargetGroupArn") and len(groups) <= 1 and not sticky:
            out["target_group_arn"] = action["TargetGroupArn"]
        elif config:
            out["forward"] = _forward(config)
    elif kind == "redirect" and action.get("RedirectConfig"):
        r = action["RedirectConfig"]
        keys = {"host": "Host", "path": "Path", "port": "Port", "protocol": "Protocol", "query": "Query"}
        out["redirect"] = [
            {**{k: r.get(v, "") for k, v in keys.items()}, "status_code": r.get("StatusCode", "")}
        ]
    elif kind == "fixed-response" and action.get("FixedResponseConfig"):
        f = action["FixedResponseConfig"]
        out["fixed_response"] = [
            {"content_type": f.get("ContentType", ""), "message_body": f.get("MessageBody", ""),
             "status_code": f.get("StatusCode", "")}
        ]  # fmt: skip
    elif kind == "authenticate-cognito" and action.get("AuthenticateCognitoConfig"):
        c = action["AuthenticateCognitoConfig"]
        keys = {"user_pool_arn": "UserPoolArn", "user_pool_client_id": "UserPoolClientId",
                "user_pool_domain": "UserPoolDomain"}  # fmt: skip
        out["authenticate_cognito"] = [{**_auth_common(c), **{k: c.get(v, "") for k, v in keys.items()}}]
    elif kind == "authenticate-oidc" and action.get("AuthenticateOidcConfig"):
        o = action["AuthenticateOidcConfig"]
        keys = {"authorization_endpoint": "AuthorizationEndpoint", "client_id": "ClientId",
                "issuer": "Issuer", "token_endpoint": "TokenEndpoint",
                "user_info_endpoint": "UserInfoEndpoint"}  # fmt: skip
        # client_secret is never returned: left out (unknown)
        out["authenticate_oidc"] = [{**_auth_common(o), **{k: o.get(v, "") for k, v in keys.items()}}]
    return out


def _mutual_authentication(mutual: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not mutual:
        return []
    values = {
        "mode": mutual.get("Mode"),
        "trust_store_arn": mutual.get("TrustStoreArn"),
        "ignore_client_certificate_expiry": mutual.get("IgnoreClientCertificateExpiry"),
        "advertise_trust_store_ca_names": mutual.get("AdvertiseTrustStoreCaNames"),
    }
    zeros = {"advertise_trust_store_ca_names": "", "ignore_client_certificate_expiry": False, "mode": "",
             "trust_store_arn": ""}  # fmt: skip
    return [_filled({k: v for k, v in values.items() if v is not None}, zeros)]


def _listener_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    actions = sorted(item.get("DefaultActions") or [], key=lambda a: int(a.get("Order") or 0))
    out: dict[str, Any] = {
        "arn": item["ListenerArn"],
        "load_balancer_arn": item.get("LoadBalancerArn", ""),
        "port": item.get("Port"),
        "protocol": item.get("Protocol", ""),
        "ssl_policy": item.get("SslPolicy", ""),
        "default_action": [_action(a) for a in actions],
        "mutual_authentication": _mutual_authentication(item.get("MutualAuthentication")),
        "tags": item.get("_Tags"),
    }
    if len(item.get("AlpnPolicy") or []) == 1:
        out["alpn_policy"] = item["AlpnPolicy"][0]
    if len(item.get("Certificates") or []) == 1:
        out["certificate_arn"] = item["Certificates"][0].get("CertificateArn", "")
    out.update(_mapped(item["_Attributes"], _LISTENER_ATTRIBUTES))
    return out


register_type(
    "aws",
    ResourceType(
        tf_type="aws_lb_listener",
        service="elbv2",
        collect=_collect_listeners,
        id_key="ListenerArn",
        details=_listener_details,
        to_attributes=_listener_attributes,
    ),
)
