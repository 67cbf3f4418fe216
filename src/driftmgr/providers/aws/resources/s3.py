"""S3: aws_s3_bucket and its configuration sub-resources.

S3 lists every bucket of the account in one call, but each bucket lives in one region. Every type here
therefore runs per region and keeps the buckets of that region (ListBuckets' `BucketRegion` filter; the
bucket's location is asked only when the endpoint does not say it), so a bucket is reported once, in
its own region, and read with that region's client.

The sub-resources (versioning, policy, public access block, default encryption, lifecycle) exist as
Terraform resources only when configured; their id — and import id — is the bucket name. What S3 sets
on every new bucket by itself is reported but flagged as a default, never as unmanaged:
- versioning never enabled: the provider reads it as status "Disabled" (a state may hold such an
  aws_s3_bucket_versioning), so it is reported that way, as a default;
- SSE-S3 (AES256, no KMS key, no bucket key): S3's default encryption of every bucket since 2023-01;
- Block Public Access with all four settings on: the default of new buckets since 2023-04.
Anything else on a bucket that no state holds (a policy, a lifecycle, versioning turned on by hand, …)
is an unmanaged sub-resource, whoever manages the bucket itself.

aws_s3_bucket's deprecated inline blocks and arguments (versioning, grant, acl, policy, lifecycle_rule,
server_side_encryption_configuration, …) are left out: they duplicate the sub-resources, and a state
keeps whatever they were when the bucket was created, so comparing them would only report noise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import policy_json, tags
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type

Item = dict[str, Any]

# S3 website hosted zones, the value the provider stores as `hosted_zone_id` (AWS general reference,
# "Amazon S3 website endpoints"). Regions not listed leave the attribute out (unknown).
_HOSTED_ZONES = {
    "us-east-1": "Z3AQBSTGFYJSTF",
    "us-east-2": "Z2O1EMRO9K5GLX",
    "us-west-1": "Z2F56UZL2M1ACD",
    "us-west-2": "Z3BJ6K6RIION7M",
    "ca-central-1": "Z1QDHH18159H29",
    "eu-west-1": "Z1BKCTXD74EZPE",
    "eu-west-2": "Z3GKZC51ZF0DB4",
    "eu-west-3": "Z3R1K369G5AVDG",
    "eu-central-1": "Z21DNDUVLTQW6Q",
    "eu-north-1": "Z3BAZG2TWCNX0D",
    "ap-south-1": "Z11RGJOFQNVJUP",
    "ap-southeast-1": "Z3O0J2DXBE1FTB",
    "ap-southeast-2": "Z1WCIGYICN2BYD",
    "ap-northeast-1": "Z2M4EHUR26P7ZW",
    "ap-northeast-2": "Z3W03O7B5YMIYP",
    "ap-northeast-3": "Z2YQB5RD63NC85",
    "sa-east-1": "Z7KQH4QJS55SO",
    "us-gov-west-1": "Z31GFT0UA1I2HV",
}


class _BucketGone(Exception):
    """The bucket was deleted between the listing and a detail call."""


def _read(call: Callable[..., Any], bucket: str, absent: str | None = None) -> Item | None:
    """One GetBucket* call: the response, or None when S3 answers the error code `absent` — that
    setting is simply not configured on the bucket, a normal state rather than an error."""
    try:
        resp: Item = call(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if absent is not None and code == absent:
            return None
        if code == "NoSuchBucket":
            raise _BucketGone(bucket) from exc
        raise
    return resp


def _unless_gone(fn: Callable[[Item, Scope], Item | None]) -> Callable[[Item, Scope], Item | None]:
    """A `details` function that drops the bucket (returns None) if it vanished meanwhile."""

    @functools.wraps(fn)
    def wrapper(item: Item, scope: Scope) -> Item | None:
        try:
            return fn(item, scope)
        except _BucketGone:
            return None

    return wrapper


def _location(s3: Any, bucket: str) -> str | None:
    try:
        resp = _read(s3.get_bucket_location, bucket)
    except _BucketGone:
        return None
    constraint = (resp or {}).get("LocationConstraint")
    if not constraint:
        return "us-east-1"  # buckets of us-east-1 have no location constraint
    return "eu-west-1" if constraint == "EU" else str(constraint)


def buckets(scope: Scope) -> Iterator[Item]:
    """The buckets of the scope's region, each with `_Region` set."""
    s3 = scope.client("s3")
    pages = s3.get_paginator("list_buckets").paginate(BucketRegion=scope.region)
    for bucket in iter_items(pages, "Buckets"):
        region = bucket.get("BucketRegion") or _location(s3, bucket["Name"])
        if region == scope.region:
            yield {**bucket, "_Region": region}


def _partition(region: str) -> tuple[str, str]:
    """(ARN partition, DNS suffix) of a region."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


def _bucket_id(item: Item) -> str:
    return str(item["Name"])


# --- aws_s3_bucket ----------------------------------------------------------------------------


@_unless_gone
def _bucket_details(item: Item, scope: Scope) -> Item:
    s3 = scope.client("s3")
    name = item["Name"]
    tagging = _read(s3.get_bucket_tagging, name, "NoSuchTagSet") or {}
    item["_TagSet"] = tagging.get("TagSet") or []
    lock = _read(s3.get_object_lock_configuration, name, "ObjectLockConfigurationNotFoundError") or {}
    item["_ObjectLockEnabled"] = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
    return item


def _bucket_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    name = item["Name"]
    region = item["_Region"]
    partition, dns = _partition(region)
    attrs: dict[str, Any] = {
        "bucket": name,
        "arn": f"arn:{partition}:s3:::{name}",
        "bucket_domain_name": f"{name}.s3.{dns}",
        "bucket_regional_domain_name": f"{name}.s3.{region}.{dns}",
        "region": region,
        "object_lock_enabled": item["_ObjectLockEnabled"],
        "tags": tags(item, "_TagSet"),
    }
    if region in _HOSTED_ZONES:
        attrs["hosted_zone_id"] = _HOSTED_ZONES[region]
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_s3_bucket",
        service="s3",
        collect=buckets,
        id_key=_bucket_id,
        details=_bucket_details,
        to_attributes=_bucket_attributes,
    ),
)


# --- aws_s3_bucket_versioning -----------------------------------------------------------------


@_unless_gone
def _versioning_details(item: Item, scope: Scope) -> Item:
    resp = _read(scope.client("s3").get_bucket_versioning, item["Name"]) or {}
    item["_Versioning"] = {k: v for k, v in resp.items() if k != "ResponseMetadata"}
    return item


def _versioning_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    conf = item["_Versioning"]
    return {
        "bucket": item["Name"],
        "versioning_configuration": [
            {"status": conf.get("Status") or "Disabled", "mfa_delete": conf.get("MFADelete", "")}
        ],
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_s3_bucket_versioning",
        service="s3",
        collect=buckets,
        id_key=_bucket_id,
        details=_versioning_details,
        to_attributes=_versioning_attributes,
        default_reason=lambda item, _s: (
            None if item["_Versioning"].get("Status") else "versioning never enabled (S3 default)"
        ),
    ),
)


# --- aws_s3_bucket_policy ---------------------------------------------------------------------


@_unless_gone
def _policy_details(item: Item, scope: Scope) -> Item | None:
    resp = _read(scope.client("s3").get_bucket_policy, item["Name"], "NoSuchBucketPolicy")
    if resp is None or not resp.get("Policy"):
        return None
    item["_Policy"] = resp["Policy"]
    return item


register_type(
    "aws",
    ResourceType(
        tf_type="aws_s3_bucket_policy",
        service="s3",
        collect=buckets,
        id_key=_bucket_id,
        details=_policy_details,
        to_attributes=lambda item, _s: {"bucket": item["Name"], "policy": policy_json(item["_Policy"])},
    ),
)


# --- aws_s3_bucket_public_access_block --------------------------------------------------------

_PAB_FIELDS = (
    ("BlockPublicAcls", "block_public_acls"),
    ("BlockPublicPolicy", "block_public_policy"),
    ("IgnorePublicAcls", "ignore_public_acls"),
    ("RestrictPublicBuckets", "restrict_public_buckets"),
)


@_unless_gone
def _pab_details(item: Item, scope: Scope) -> Item | None:
    resp = _read(
        scope.client("s3").get_public_access_block, item["Name"], "NoSuchPublicAccessBlockConfiguration"
    )
    if resp is None:
        return None
    item["_PublicAccessBlock"] = resp.get("PublicAccessBlockConfiguration") or {}
    return item


def _pab_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    conf = item["_PublicAccessBlock"]
    return {"bucket": item["Name"], **{name: bool(conf.get(key, False)) for key, name in _PAB_FIELDS}}


def _pab_default(item: Item, scope: Scope) -> str | None:
    conf = item["_PublicAccessBlock"]
    if all(conf.get(key) for key, _ in _PAB_FIELDS):
        return "Block Public Access all on (S3 default for new buckets)"
    return None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_s3_bucket_public_access_block",
        service="s3",
        collect=buckets,
        id_key=_bucket_id,
        details=_pab_details,
        to_attributes=_pab_attributes,
        default_reason=_pab_default,
    ),
)


# --- aws_s3_bucket_server_side_encryption_configuration ---------------------------------------


@_unless_gone
def _sse_details(item: Item, scope: Scope) -> Item | None:
    resp = _read(
        scope.client("s3").get_bucket_encryption,
        item["Name"],
        "ServerSideEncryptionConfigurationNotFoundError",
    )
    rules = ((resp or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if not rules:
        return None
    item["_SseRules"] = rules
    return item


def _sse_rule(rule: Item) -> dict[str, Any]:
    by_default = rule.get("ApplyServerSideEncryptionByDefault")
    return {
        "apply_server_side_encryption_by_default": (
            [
                {
                    "sse_algorithm": by_default.get("SSEAlgorithm"),
                    "kms_master_key_id": by_default.get("KMSMasterKeyID") or "",
                }
            ]
            if by_default
            else []
        ),
        # The provider sets it only when S3 returns it.
        "bucket_key_enabled": rule.get("BucketKeyEnabled"),
    }


def _sse_default(item: Item, scope: Scope) -> str | None:
    rules = item["_SseRules"]
    if len(rules) != 1:
        return None
    by_default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    if (
        by_default.get("SSEAlgorithm") == "AES256"
        and not by_default.get("KMSMasterKeyID")
        and not rules[0].get("BucketKeyEnabled")
    ):
        return "SSE-S3 default encryption (S3 default for every bucket)"
    return None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_s3_bucket_server_side_encryption_configuration",
        service="s3",
        collect=buckets,
        id_key=_bucket_id,
        details=_sse_details,
        to_attributes=lambda item, _s: {
            "bucket": item["Name"],
            "rule": [_sse_rule(r) for r in item["_SseRules"]],
        },
        default_reason=_sse_default,
    ),
)


# --- aws_s3_bucket_lifecycle_configuration ----------------------------------------------------


@_unless_gone
def _lifecycle_details(item: Item, scope: Scope) -> Item | None:
    resp = _read(
        scope.client("s3").get_bucket_lifecycle_configuration, item["Name"], "NoSuchLifecycleConfiguration"
    )
    if resp is None or not resp.get("Rules"):
        return None
    item["_Lifecycle"] = resp
    return item


def _rfc3339(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _lifecycle_filter(f: Item | None) -> list[dict[str, Any]]:
    # Flattened by the provider's framework code: legacy fields become ""/0 when absent, others null.
    if not f:
        return []
    and_ = f.get("And")
    tag = f.get("Tag")
    return [
        {
            "prefix": f.get("Prefix") or "",
            "object_size_greater_than": f.get("ObjectSizeGreaterThan"),
            "object_size_less_than": f.get("ObjectSizeLessThan"),
            "tag": [{"key": tag.get("Key"), "value": tag.get("Value")}] if tag else [],
            "and": (
                [
                    {
                        "prefix": and_.get("Prefix") or "",
                        "object_size_greater_than": and_.get("ObjectSizeGreaterThan") or 0,
                        "object_size_less_than": and_.get("ObjectSizeLessThan") or 0,
                        "tags": tags(and_) or None,
                    }
                ]
                if and_
                else []
            ),
        }
    ]


def _lifecycle_rule(rule: Item) -> dict[str, Any]:
    exp = rule.get("Expiration")
    abort = rule.get("AbortIncompleteMultipartUpload")
    nve = rule.get("NoncurrentVersionExpiration")
    return {
        "id": rule.get("ID", ""),
        "status": rule.get("Status"),
        "prefix": rule.get("Prefix") or "",
        "filter": _lifecycle_filter(rule.get("Filter")),
        "expiration": (
            [
                {
                    "date": _rfc3339(exp.get("Date")),
                    "days": exp.get("Days") or 0,
                    "expired_object_delete_marker": bool(exp.get("ExpiredObjectDeleteMarker", False)),
                }
            ]
            if exp
            else []
        ),
        "abort_incomplete_multipart_upload": (
            [{"days_after_initiation": abort.get("DaysAfterInitiation")}] if abort else []
        ),
        "noncurrent_version_expiration": (
            [
                {
                    "newer_noncurrent_versions": nve.get("NewerNoncurrentVersions"),
                    "noncurrent_days": nve.get("NoncurrentDays"),
                }
            ]
            if nve
            else []
        ),
        "noncurrent_version_transition": [
            {
                "newer_noncurrent_versions": t.get("NewerNoncurrentVersions"),
                "noncurrent_days": t.get("NoncurrentDays"),
                "storage_class": t.get("StorageClass"),
            }
            for t in rule.get("NoncurrentVersionTransitions") or []
        ],
        "transition": [
            {"date": _rfc3339(t.get("Date")), "days": t.get("Days"), "storage_class": t.get("StorageClass")}
            for t in rule.get("Transitions") or []
        ],
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_s3_bucket_lifecycle_configuration",
        service="s3",
        collect=buckets,
        id_key=_bucket_id,
        details=_lifecycle_details,
        to_attributes=lambda item, _s: {
            "bucket": item["Name"],
            "rule": [_lifecycle_rule(r) for r in item["_Lifecycle"]["Rules"]],
            "transition_default_minimum_object_size": item["_Lifecycle"].get(
                "TransitionDefaultMinimumObjectSize", ""
            ),
        },
    ),
)
