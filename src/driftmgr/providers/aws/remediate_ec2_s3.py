"""AWS call builders for EC2 and S3: which API call sets each attribute back (tags: remediate_tags).

Every builder receives the target (type, id, region, live attributes) and the drift changes of the
attributes it registered for, and returns the calls in the order they must run. `desired(...)` gives
the live attributes with the changes set back, for APIs that take a whole structure. What an API
cannot do (shrink a volume, disable versioning once enabled, reveal a sensitive value) raises
UnsupportedRemediation naming the type and attribute — nothing is skipped silently.
"""

from __future__ import annotations

from typing import Any

from driftmgr.engine.remediation import ApiCall
from driftmgr.providers.aws.remediate_core import (
    Change,
    Target,
    api_text,
    as_bool,
    as_int,
    builds,
    changed_attributes,
    desired,
    first,
    top,
)

# --- EC2: security groups ----------------------------------------------------------------------


def permission(rule: dict[str, Any], group_id: str, *, with_descriptions: bool = True) -> dict[str, Any]:
    """One Terraform `ingress`/`egress` object → an EC2 IpPermission."""
    proto = str(rule.get("protocol", "-1"))
    perm: dict[str, Any] = {"IpProtocol": proto}
    if proto not in ("-1", "all"):
        perm["FromPort"] = as_int(rule.get("from_port"))
        perm["ToPort"] = as_int(rule.get("to_port"))
    desc = rule.get("description") if with_descriptions else None

    def entry(key: str, value: str) -> dict[str, Any]:
        return {key: value, "Description": desc} if desc else {key: value}

    pairs = []
    for ref in rule.get("security_groups") or []:
        user, _, gid = str(ref).rpartition("/")
        pair = entry("GroupId", gid)
        if user:
            pair["UserId"] = user
        pairs.append(pair)
    if rule.get("self"):
        pairs.append(entry("GroupId", group_id))
    for key, values in (
        ("IpRanges", [entry("CidrIp", c) for c in rule.get("cidr_blocks") or []]),
        ("Ipv6Ranges", [entry("CidrIpv6", c) for c in rule.get("ipv6_cidr_blocks") or []]),
        ("PrefixListIds", [entry("PrefixListId", p) for p in rule.get("prefix_list_ids") or []]),
        ("UserIdGroupPairs", pairs),
    ):
        if values:
            perm[key] = values
    return perm


@builds("aws_security_group", "ingress", "egress")
def _sg_rules(t: Target, changes: list[Change]) -> list[ApiCall]:
    """A set-of-rules change lists the rules missing live as `expected` and the extra live rules as
    `actual`: the extra ones are revoked first (a rule whose description changed is the same rule
    to EC2), then the missing ones authorized."""
    revoke: list[ApiCall] = []
    grant: list[ApiCall] = []
    for c in changes:
        kind = "egress" if top(str(c["path"])) == "egress" else "ingress"
        extra = [r for r in c.get("actual") or [] if isinstance(r, dict)]
        missing = [r for r in c.get("expected") or [] if isinstance(r, dict)]
        if extra:
            revoke.append(
                t.call(
                    "ec2",
                    f"revoke_security_group_{kind}",
                    f"revoke {len(extra)} {kind} rule(s) added to {t.id}",
                    GroupId=t.id,
                    IpPermissions=[permission(r, t.id, with_descriptions=False) for r in extra],
                )
            )
        if missing:
            grant.append(
                t.call(
                    "ec2",
                    f"authorize_security_group_{kind}",
                    f"authorize {len(missing)} {kind} rule(s) missing from {t.id}",
                    GroupId=t.id,
                    IpPermissions=[permission(r, t.id) for r in missing],
                )
            )
    return revoke + grant


# --- EC2: instances ----------------------------------------------------------------------------

# Attributes modify_instance_attribute sets one per call: (API key, needs a stopped instance, boolean).
_INSTANCE_MODIFY: dict[str, tuple[str, bool, bool]] = {
    "instance_type": ("InstanceType", True, False),
    "ebs_optimized": ("EbsOptimized", True, True),
    "disable_api_termination": ("DisableApiTermination", False, True),
    "disable_api_stop": ("DisableApiStop", False, True),
    "instance_initiated_shutdown_behavior": ("InstanceInitiatedShutdownBehavior", False, False),
    "source_dest_check": ("SourceDestCheck", False, True),
}
_METADATA = {
    "http_endpoint": "HttpEndpoint",
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_protocol_ipv6": "HttpProtocolIpv6",
    "instance_metadata_tags": "InstanceMetadataTags",
}


def _instance_modify(t: Target, name: str, want: dict[str, Any]) -> tuple[ApiCall, bool]:
    """One instance attribute's call, and whether it needs the instance stopped."""
    ids = {"InstanceIds": [t.id]}
    if name in _INSTANCE_MODIFY:
        key, stop, boolean = _INSTANCE_MODIFY[name]
        value = want.get(name)
        if value is None:
            raise t.unsupported(name, "no value to set")
        value = as_bool(value) if boolean else str(value)
        desc = f"set {name} of {t.id} to {value}"
        return t.call(
            "ec2", "modify_instance_attribute", desc, InstanceId=t.id, **{key: {"Value": value}}
        ), stop
    if name == "monitoring":
        on = as_bool(want.get(name))
        op = "monitor_instances" if on else "unmonitor_instances"
        return t.call("ec2", op, f"turn detailed monitoring of {t.id} {'on' if on else 'off'}", **ids), False
    if name == "vpc_security_group_ids":
        groups = sorted(str(g) for g in want.get(name) or [])
        if not groups:
            raise t.unsupported(name, "an instance needs at least one security group")
        desc = f"set the security groups of {t.id}"
        return t.call("ec2", "modify_instance_attribute", desc, InstanceId=t.id, Groups=groups), False
    meta = first(want.get("metadata_options"))
    params = {api: meta[tf] for tf, api in _METADATA.items() if meta.get(tf) not in (None, "")}
    desc = f"set the metadata options of {t.id}"
    return t.call("ec2", "modify_instance_metadata_options", desc, InstanceId=t.id, **params), False


@builds(
    "aws_instance",
    *_INSTANCE_MODIFY,
    "instance_state",
    "monitoring",
    "vpc_security_group_ids",
    "metadata_options",
)
def _instance(t: Target, changes: list[Change]) -> list[ApiCall]:
    """Stop (and wait) only when an attribute needs a stopped instance, modify, then start it again
    if it was running; `instance_state` (a rollback target) starts or stops it."""
    want = desired(t, changes)
    names = changed_attributes(changes)
    state = str(t.live.get("instance_state") or "running")
    target_state = str(want.get("instance_state") or state) if "instance_state" in names else state
    ids = {"InstanceIds": [t.id]}
    modifies: list[ApiCall] = []
    needs_stop = False
    for name in names:
        if name == "instance_state":
            continue
        call, stop = _instance_modify(t, name, want)
        modifies.append(call)
        needs_stop = needs_stop or stop
    calls: list[ApiCall] = []
    stopped_here = False
    if state == "running" and (needs_stop or target_state == "stopped"):
        calls += [
            t.call("ec2", "stop_instances", f"stop {t.id}", **ids),
            t.wait("ec2", "instance_stopped", f"wait until {t.id} is stopped", **ids),
        ]
        stopped_here = True
    calls += modifies
    if target_state == "running" and (stopped_here or state != "running"):
        calls += [
            t.call("ec2", "start_instances", f"start {t.id}", **ids),
            t.wait("ec2", "instance_running", f"wait until {t.id} is running", **ids),
        ]
    return calls


# --- EC2: VPCs, subnets, volumes ---------------------------------------------------------------

_VPC_ATTRS = {
    "enable_dns_hostnames": "EnableDnsHostnames",
    "enable_dns_support": "EnableDnsSupport",
    "enable_network_address_usage_metrics": "EnableNetworkAddressUsageMetrics",
}


@builds("aws_vpc", *_VPC_ATTRS)
def _vpc(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    return [  # the API takes one attribute per call
        t.call(
            "ec2",
            "modify_vpc_attribute",
            f"set {name} of {t.id} to {as_bool(want.get(name))}",
            VpcId=t.id,
            **{_VPC_ATTRS[name]: {"Value": as_bool(want.get(name))}},
        )
        for name in changed_attributes(changes)
    ]


_SUBNET_BOOLS = {
    "map_public_ip_on_launch": "MapPublicIpOnLaunch",
    "assign_ipv6_address_on_creation": "AssignIpv6AddressOnCreation",
    "enable_dns64": "EnableDns64",
    "enable_resource_name_dns_a_record_on_launch": "EnableResourceNameDnsARecordOnLaunch",
    "enable_resource_name_dns_aaaa_record_on_launch": "EnableResourceNameDnsAAAARecordOnLaunch",
}


@builds("aws_subnet", *_SUBNET_BOOLS, "private_dns_hostname_type_on_launch")
def _subnet(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    calls = []
    for name in changed_attributes(changes):  # one attribute per call
        if name in _SUBNET_BOOLS:
            value: Any = {"Value": as_bool(want.get(name))}
            key = _SUBNET_BOOLS[name]
        else:
            value, key = str(want.get(name) or "ip-name"), "PrivateDnsHostnameTypeOnLaunch"
        calls.append(
            t.call("ec2", "modify_subnet_attribute", f"set {name} of {t.id}", SubnetId=t.id, **{key: value})
        )
    return calls


@builds("aws_ebs_volume", "size", "type", "iops", "throughput")
def _volume(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)
    params: dict[str, Any] = {}
    for name in changed_attributes(changes):
        if name == "size":
            size = as_int(want.get("size"))
            if size < as_int(t.live.get("size")):
                why = f"an EBS volume cannot shrink from {t.live.get('size')} to {size} GiB"
                raise t.unsupported("size", why)
            params["Size"] = size
        elif name == "type":
            params["VolumeType"] = str(want.get("type"))
        elif name == "iops":
            params["Iops"] = as_int(want.get("iops"))
        else:
            params["Throughput"] = as_int(want.get("throughput"))
    return [t.call("ec2", "modify_volume", f"modify volume {t.id}", VolumeId=t.id, **params)]


# --- S3 ----------------------------------------------------------------------------------------


@builds("aws_s3_bucket_versioning", "versioning_configuration")
def _versioning(t: Target, changes: list[Change]) -> list[ApiCall]:
    conf = first(desired(t, changes).get("versioning_configuration"))
    live = first(t.live.get("versioning_configuration"))
    if conf.get("mfa_delete") not in (None, "") and conf.get("mfa_delete") != live.get("mfa_delete"):
        raise t.unsupported(
            "versioning_configuration[0].mfa_delete", "MFA delete needs the root user's MFA token"
        )
    status = str(conf.get("status") or "")
    if status not in ("Enabled", "Suspended"):
        why = f"S3 cannot return versioning to {status or 'never enabled'!r}"
        raise t.unsupported("versioning_configuration[0].status", why)
    return [
        t.call(
            "s3",
            "put_bucket_versioning",
            f"set versioning of bucket {t.id} to {status}",
            Bucket=t.id,
            VersioningConfiguration={"Status": status},
        )
    ]


_PAB = {
    "block_public_acls": "BlockPublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "ignore_public_acls": "IgnorePublicAcls",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


@builds("aws_s3_bucket_public_access_block", *_PAB)
def _public_access_block(t: Target, changes: list[Change]) -> list[ApiCall]:
    want = desired(t, changes)  # the API sets all four: the unchanged ones keep their live value
    return [
        t.call(
            "s3",
            "put_public_access_block",
            f"set the public access block of bucket {t.id}",
            Bucket=t.id,
            PublicAccessBlockConfiguration={api: as_bool(want.get(tf)) for tf, api in _PAB.items()},
        )
    ]


@builds("aws_s3_bucket_policy", "policy")
def _bucket_policy(t: Target, changes: list[Change]) -> list[ApiCall]:
    policy = desired(t, changes).get("policy")
    if not policy:
        return [t.call("s3", "delete_bucket_policy", f"delete the policy of bucket {t.id}", Bucket=t.id)]
    desc = f"set the policy of bucket {t.id}"
    return [t.call("s3", "put_bucket_policy", desc, Bucket=t.id, Policy=api_text(policy))]


@builds("aws_s3_bucket_server_side_encryption_configuration", "rule")
def _bucket_encryption(t: Target, changes: list[Change]) -> list[ApiCall]:
    rules = []
    for rule in desired(t, changes).get("rule") or []:
        by_default = first(rule.get("apply_server_side_encryption_by_default"))
        api: dict[str, Any] = {}
        if by_default:
            sse: dict[str, Any] = {"SSEAlgorithm": by_default.get("sse_algorithm")}
            if by_default.get("kms_master_key_id"):
                sse["KMSMasterKeyID"] = by_default["kms_master_key_id"]
            api["ApplyServerSideEncryptionByDefault"] = sse
        if rule.get("bucket_key_enabled") is not None:
            api["BucketKeyEnabled"] = as_bool(rule["bucket_key_enabled"])
        rules.append(api)
    return [
        t.call(
            "s3",
            "put_bucket_encryption",
            f"set the default encryption of bucket {t.id}",
            Bucket=t.id,
            ServerSideEncryptionConfiguration={"Rules": rules},
        )
    ]
