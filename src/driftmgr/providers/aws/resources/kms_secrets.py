"""Keys and secrets: aws_kms_key, aws_kms_alias, aws_secretsmanager_secret, aws_ssm_parameter.

Only metadata is read. Secret values are never requested (no GetSecretValue); SSM SecureString values
are never requested either. The value of a plain String/StringList parameter IS read (without
decryption), because an edited configuration value is the drift people look for in SSM; the schema
marks `value` sensitive, so reports mask it.

Known limit: a parameter written with `insecure_value` (or `value_wo`) has a null `value` in state;
the live `value` then differs from it — the engine has to treat `insecure_value` as the value there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ec2_network import cty_sorted, normalized_json, partition, text
from driftmgr.providers.aws.resources.messaging import unless_gone
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type

Item = dict[str, Any]


# --- aws_kms_key --------------------------------------------------------------------------------
_KMS_GONE = ("NotFoundException",)
# Keys the provider no longer reads as existing, and keys of other Terraform types.
_KEY_GONE_STATES = {"PendingDeletion", "PendingReplicaDeletion"}


@unless_gone(*_KMS_GONE)
def _key_details(item: Item, scope: Scope) -> Item | None:
    kms = scope.client("kms")
    meta: Item = kms.describe_key(KeyId=item["KeyId"])["KeyMetadata"]
    if meta.get("KeyState") in _KEY_GONE_STATES:
        return None  # scheduled for deletion: Terraform reads it as gone
    if meta.get("Origin") == "EXTERNAL":
        return None  # aws_kms_external_key
    if (meta.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType") == "REPLICA":
        return None  # aws_kms_replica_key
    if meta.get("KeyManager") == "AWS":
        return meta  # AWS-managed (a default): no policy/rotation/tags of ours to read
    key_id = meta["KeyId"]
    meta["_Policy"] = kms.get_key_policy(KeyId=key_id, PolicyName="default").get("Policy")
    meta["_Rotation"] = kms.get_key_rotation_status(KeyId=key_id)
    pages = kms.get_paginator("list_resource_tags").paginate(KeyId=key_id)
    meta["_Tags"] = {t["TagKey"]: t.get("TagValue", "") for t in iter_items(pages, "Tags")}
    return meta


def _key_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "arn": text(item, "Arn"),
        "key_id": item["KeyId"],
        "description": text(item, "Description"),
        "key_usage": text(item, "KeyUsage"),
        "customer_master_key_spec": text(item, "KeySpec") or text(item, "CustomerMasterKeySpec"),
        "is_enabled": bool(item.get("Enabled")),
        "multi_region": bool(item.get("MultiRegion", False)),
        "custom_key_store_id": text(item, "CustomKeyStoreId"),
        "xks_key_id": text(item.get("XksKeyConfiguration") or {}, "Id"),
    }
    if item.get("KeyManager") == "AWS":
        return attrs
    rotation: Item = item.get("_Rotation") or {}
    attrs["enable_key_rotation"] = bool(rotation.get("KeyRotationEnabled", False))
    attrs["rotation_period_in_days"] = int(rotation.get("RotationPeriodInDays") or 0)
    attrs["policy"] = normalized_json(item.get("_Policy"))
    attrs["tags"] = tags(item, "_Tags")
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_kms_key",
        service="kms",
        list_call="list_keys",
        result_key="Keys",
        id_key="KeyId",
        details=_key_details,
        to_attributes=_key_attributes,
        default_reason=lambda item, _s: "AWS-managed KMS key" if item.get("KeyManager") == "AWS" else None,
    ),
)


# --- aws_kms_alias ------------------------------------------------------------------------------
def _alias_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    arn = text(item, "AliasArn")
    target = text(item, "TargetKeyId")
    key_arn = ""
    if target and ":alias/" in arn:
        key_arn = f"{arn.split(':alias/', 1)[0]}:key/{target}"
    return {"name": item["AliasName"], "arn": arn, "target_key_id": target, "target_key_arn": key_arn}


def _alias_default(item: Item, _scope: Scope) -> str | None:
    return "AWS-managed KMS alias" if str(item.get("AliasName", "")).startswith("alias/aws/") else None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_kms_alias",
        service="kms",
        list_call="list_aliases",
        result_key="Aliases",
        id_key="AliasName",
        to_attributes=_alias_attributes,
        default_reason=_alias_default,
    ),
)


# --- aws_secretsmanager_secret ------------------------------------------------------------------
@unless_gone("ResourceNotFoundException")
def _secret_details(item: Item, scope: Scope) -> Item | None:
    sm = scope.client("secretsmanager")
    arn = item["ARN"]
    described: Item = sm.describe_secret(SecretId=arn)
    described["_Policy"] = sm.get_resource_policy(SecretId=arn).get("ResourcePolicy")
    return described


def _replica(status: Item) -> dict[str, Any]:
    return {
        "region": text(status, "Region"),
        "kms_key_id": text(status, "KmsKeyId"),
        "status": text(status, "Status"),
        "status_message": text(status, "StatusMessage"),
        # last_accessed_date is volatile and its text form is the provider's own: left unknown.
    }


def _secret_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    return {
        "arn": item["ARN"],
        "name": item["Name"],
        "description": text(item, "Description"),
        "kms_key_id": text(item, "KmsKeyId"),
        "policy": normalized_json(item.get("_Policy")),
        "replica": cty_sorted(_replica(r) for r in item.get("ReplicationStatus") or []),
        "tags": tags(item),
    }


def _secret_default(item: Item, _scope: Scope) -> str | None:
    owner = item.get("OwningService")
    return f"secret managed by {owner}" if owner else None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_secretsmanager_secret",
        service="secretsmanager",
        list_call="list_secrets",
        result_key="SecretList",
        id_key="ARN",
        details=_secret_details,
        to_attributes=_secret_attributes,
        default_reason=_secret_default,
    ),
)


# --- aws_ssm_parameter --------------------------------------------------------------------------
_PLAIN_TYPES = ("String", "StringList")
_GET_PARAMETERS_MAX = 10


def _parameter_collect(scope: Scope) -> Iterator[Item]:
    """Every parameter's metadata, plus the value of String/StringList ones (10 per GetParameters
    call, never decrypted: SecureString values are not requested at all)."""
    ssm = scope.client("ssm")
    params = list(iter_items(ssm.get_paginator("describe_parameters").paginate(), "Parameters"))
    plain = [p["Name"] for p in params if p.get("Type") in _PLAIN_TYPES]
    values: dict[str, Item] = {}
    for start in range(0, len(plain), _GET_PARAMETERS_MAX):
        batch = plain[start : start + _GET_PARAMETERS_MAX]
        for found in ssm.get_parameters(Names=batch, WithDecryption=False).get("Parameters", []):
            values[found["Name"]] = found
    for param in params:
        got = values.get(param["Name"])
        if got is not None:
            param["_Value"] = got.get("Value")
            param.setdefault("ARN", got.get("ARN"))
        yield param


@unless_gone("InvalidResourceId", "ParameterNotFound")
def _parameter_details(item: Item, scope: Scope) -> Item | None:
    ssm = scope.client("ssm")
    item["Tags"] = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=item["Name"]).get(
        "TagList", []
    )
    return item


def _parameter_arn(item: Item, scope: Scope) -> str | None:
    if item.get("ARN"):
        return str(item["ARN"])
    part = partition(scope.region)
    if part is None or not scope.account:
        return None
    name = str(item["Name"])
    return f"arn:{part[0]}:ssm:{scope.region}:{scope.account}:parameter/{name.removeprefix('/')}"


def _parameter_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "name": item["Name"],
        "type": text(item, "Type"),
        "description": text(item, "Description"),
        "allowed_pattern": text(item, "AllowedPattern"),
        "data_type": text(item, "DataType"),
        "tier": text(item, "Tier"),
        "key_id": text(item, "KeyId"),
        "version": int(item.get("Version") or 0),
        "tags": tags(item),
    }
    arn = _parameter_arn(item, scope)
    if arn:
        attrs["arn"] = arn
    if item.get("Type") in _PLAIN_TYPES and "_Value" in item:
        attrs["value"] = item["_Value"]
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_ssm_parameter",
        service="ssm",
        collect=_parameter_collect,
        id_key="Name",
        details=_parameter_details,
        to_attributes=_parameter_attributes,
    ),
)
