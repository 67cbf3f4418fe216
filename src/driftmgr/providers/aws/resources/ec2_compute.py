"""EC2 compute: aws_instance, aws_ebs_volume, aws_volume_attachment, aws_key_pair, aws_launch_template.

Implicit children are flagged, not reported as unmanaged: instances launched by an Auto Scaling group
(tag `aws:autoscaling:groupName`), every instance's root volume and its attachment, volumes that came
with an instance's launch block-device mapping (delete-on-termination, i.e. `ebs_block_device`), and
the volumes of Auto Scaling instances.

Attributes whose state value depends on when Terraform last refreshed (an instance's
`ebs_block_device`, which also lists volumes attached by aws_volume_attachment) or on configuration
only (`user_data_base64` vs `user_data`, `security_groups` vs `vpc_security_group_ids` in a VPC,
`get_password_data`, `final_snapshot`, `force_detach`, …) are left out: unknown, never drift.
"""

from __future__ import annotations

import hashlib
from base64 import b64decode
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ec2_security import (
    cty_set_order,
    name_prefix_from_name,
    string_hashcode,
)
from driftmgr.providers.base import ResourceType, Scope, register_type

ASG_TAG = "aws:autoscaling:groupName"
_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
_BURSTABLE = ("t2.", "t3.", "t3a.", "t4g.")
_INSTANCE_ATTRIBUTES = (
    ("disableApiTermination", "DisableApiTermination", "disable_api_termination"),
    ("disableApiStop", "DisableApiStop", "disable_api_stop"),
    (
        "instanceInitiatedShutdownBehavior",
        "InstanceInitiatedShutdownBehavior",
        "instance_initiated_shutdown_behavior",
    ),
    ("userData", "UserData", "user_data"),
)


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _raw_tag(item: dict[str, Any], key: str) -> str | None:
    return next((t.get("Value") for t in item.get("Tags") or [] if t.get("Key") == key), None)


def _instances(scope: Scope) -> Iterator[dict[str, Any]]:
    pages = (
        scope.client("ec2")
        .get_paginator("describe_instances")
        .paginate(Filters=[{"Name": "instance-state-name", "Values": _LIVE_STATES}])
    )
    for page in pages:
        for reservation in page.get("Reservations") or []:
            yield from reservation.get("Instances") or []


def _implicit_volumes(scope: Scope) -> dict[tuple[str, str], str]:
    """(instance id, device name) → why a volume attached there is an implicit child."""
    out: dict[tuple[str, str], str] = {}
    for inst in _instances(scope):
        iid, asg = inst["InstanceId"], _raw_tag(inst, ASG_TAG)
        for bdm in inst.get("BlockDeviceMappings") or []:
            device, ebs = bdm.get("DeviceName", ""), bdm.get("Ebs") or {}
            if device == inst.get("RootDeviceName"):
                out[(iid, device)] = f"root volume of {iid}"
            elif asg:
                out[(iid, device)] = f"volume of {iid}, launched by Auto Scaling group {asg}"
            elif ebs.get("DeleteOnTermination"):
                out[(iid, device)] = f"block device launched with {iid} (ebs_block_device)"
    return out


# --- aws_instance -----------------------------------------------------------------------------


def _collect_instances(scope: Scope) -> Iterator[dict[str, Any]]:
    """Instances plus what Terraform's read adds: root volume details, credit specification."""
    ec2 = scope.client("ec2")
    instances = list(_instances(scope))
    roots = {
        (bdm.get("Ebs") or {}).get("VolumeId"): inst
        for inst in instances
        for bdm in inst.get("BlockDeviceMappings") or []
        if bdm.get("DeviceName") == inst.get("RootDeviceName") and (bdm.get("Ebs") or {}).get("VolumeId")
    }
    volumes: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([v for v in roots if v], 200):
        for page in ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "volume-id", "Values": chunk}]
        ):
            volumes.update({v["VolumeId"]: v for v in page.get("Volumes") or []})
    credits: dict[str, str] = {}
    burstable = [i["InstanceId"] for i in instances if str(i.get("InstanceType", "")).startswith(_BURSTABLE)]
    for chunk in _chunks(burstable, 100):
        try:
            resp = ec2.describe_instance_credit_specifications(InstanceIds=chunk)
        except ClientError:  # not readable here: credit_specification stays unknown
            continue
        credits.update(
            {c["InstanceId"]: c.get("CpuCredits") for c in resp.get("InstanceCreditSpecifications") or []}
        )
    for inst in instances:
        for bdm in inst.get("BlockDeviceMappings") or []:
            vol_id = (bdm.get("Ebs") or {}).get("VolumeId")
            if bdm.get("DeviceName") == inst.get("RootDeviceName") and vol_id in volumes:
                inst["_RootVolume"] = {**volumes[vol_id], "_Mapping": bdm}
        if inst["InstanceId"] in credits:
            inst["_CpuCredits"] = credits[inst["InstanceId"]]
        yield inst


def _instance_details(item: dict[str, Any], scope: Scope) -> dict[str, Any]:
    ec2 = scope.client("ec2")
    for attribute, key, _name in _INSTANCE_ATTRIBUTES:
        try:
            resp = ec2.describe_instance_attribute(InstanceId=item["InstanceId"], Attribute=attribute)
        except ClientError:  # an attribute the endpoint cannot read stays unknown
            continue
        item[f"_{key}"] = (resp.get(key) or {}).get("Value")
    return item


def _root_block_device(item: dict[str, Any]) -> list[dict[str, Any]]:
    vol = item["_RootVolume"]
    volume_tags = tags(vol)
    return [
        {
            "delete_on_termination": bool((vol["_Mapping"].get("Ebs") or {}).get("DeleteOnTermination")),
            "device_name": vol["_Mapping"].get("DeviceName"),
            "encrypted": bool(vol.get("Encrypted")),
            "iops": int(vol.get("Iops") or 0),
            "kms_key_id": vol.get("KmsKeyId", ""),
            "tags": volume_tags,
            "tags_all": volume_tags,
            "throughput": int(vol.get("Throughput") or 0),
            "volume_id": vol["VolumeId"],
            "volume_size": int(vol.get("Size") or 0),
            "volume_type": vol.get("VolumeType", ""),
        }
    ]


def _instance_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    placement = item.get("Placement") or {}
    enis = item.get("NetworkInterfaces") or []
    primary = next((e for e in enis if (e.get("Attachment") or {}).get("DeviceIndex") == 0), None)
    profile_arn = (item.get("IamInstanceProfile") or {}).get("Arn", "")
    attrs: dict[str, Any] = {
        "ami": item.get("ImageId"),
        "instance_type": item.get("InstanceType"),
        "availability_zone": placement.get("AvailabilityZone"),
        "tenancy": placement.get("Tenancy"),
        "placement_group": placement.get("GroupName", ""),
        "placement_partition_number": int(placement.get("PartitionNumber") or 0),
        "host_id": placement.get("HostId", ""),
        "subnet_id": item.get("SubnetId", ""),
        "key_name": item.get("KeyName", ""),
        "ebs_optimized": bool(item.get("EbsOptimized")),
        "monitoring": (item.get("Monitoring") or {}).get("State") in ("enabled", "pending"),
        "source_dest_check": bool(item.get("SourceDestCheck", True)),
        "iam_instance_profile": profile_arn.rsplit("/", 1)[-1] if profile_arn else "",
        "instance_state": (item.get("State") or {}).get("Name"),
        "instance_lifecycle": item.get("InstanceLifecycle", ""),
        "spot_instance_request_id": item.get("SpotInstanceRequestId", ""),
        "outpost_arn": item.get("OutpostArn", ""),
        "private_ip": item.get("PrivateIpAddress", ""),
        "private_dns": item.get("PrivateDnsName", ""),
        "public_ip": item.get("PublicIpAddress", ""),
        "public_dns": item.get("PublicDnsName", ""),
        "vpc_security_group_ids": cty_set_order(g["GroupId"] for g in item.get("SecurityGroups") or []),
        "tags": tags(item),
    }
    if primary is not None:
        attrs["primary_network_interface_id"] = primary.get("NetworkInterfaceId")
        attrs["associate_public_ip_address"] = "Association" in primary
        ipv6 = [a["Ipv6Address"] for a in primary.get("Ipv6Addresses") or []]
        attrs["ipv6_addresses"] = ipv6
        attrs["ipv6_address_count"] = len(ipv6)
        attrs["secondary_private_ips"] = cty_set_order(
            p["PrivateIpAddress"] for p in primary.get("PrivateIpAddresses") or [] if not p.get("Primary")
        )
    if "HibernationOptions" in item:
        attrs["hibernation"] = bool(item["HibernationOptions"].get("Configured"))
    if item.get("MetadataOptions"):
        meta = item["MetadataOptions"]
        attrs["metadata_options"] = [
            {
                "http_endpoint": meta.get("HttpEndpoint"),
                "http_protocol_ipv6": meta.get("HttpProtocolIpv6"),
                "http_put_response_hop_limit": meta.get("HttpPutResponseHopLimit"),
                "http_tokens": meta.get("HttpTokens"),
                "instance_metadata_tags": meta.get("InstanceMetadataTags"),
            }
        ]
    if item.get("CpuOptions"):
        attrs["cpu_core_count"] = item["CpuOptions"].get("CoreCount")
        attrs["cpu_threads_per_core"] = item["CpuOptions"].get("ThreadsPerCore")
    if item.get("MaintenanceOptions"):
        attrs["maintenance_options"] = [{"auto_recovery": item["MaintenanceOptions"].get("AutoRecovery")}]
    if item.get("EnclaveOptions"):
        attrs["enclave_options"] = [{"enabled": bool(item["EnclaveOptions"].get("Enabled"))}]
    if item.get("_CpuCredits"):
        attrs["credit_specification"] = [{"cpu_credits": item["_CpuCredits"]}]
    if item.get("_RootVolume"):
        attrs["root_block_device"] = _root_block_device(item)
    for _attribute, key, name in _INSTANCE_ATTRIBUTES:
        if f"_{key}" not in item:
            continue
        value = item[f"_{key}"]
        if key == "UserData":  # Terraform stores the SHA-1 of `user_data`, not the script
            attrs[name] = hashlib.sha1(b64decode(value)).hexdigest() if value else None  # noqa: S324
        else:
            attrs[name] = value
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_instance",
        service="ec2",
        collect=_collect_instances,
        id_key="InstanceId",
        details=_instance_details,
        to_attributes=_instance_attributes,
        default_reason=lambda item, _s: (
            f"launched by Auto Scaling group {_raw_tag(item, ASG_TAG)}" if _raw_tag(item, ASG_TAG) else None
        ),
    ),
)


# --- aws_ebs_volume and aws_volume_attachment -------------------------------------------------


def _volumes(scope: Scope) -> Iterator[dict[str, Any]]:
    for page in scope.client("ec2").get_paginator("describe_volumes").paginate():
        yield from page.get("Volumes") or []


def _collect_volumes(scope: Scope) -> Iterator[dict[str, Any]]:
    implicit = _implicit_volumes(scope)
    for vol in _volumes(scope):
        for att in vol.get("Attachments") or []:
            reason = implicit.get((att.get("InstanceId", ""), att.get("Device", "")))
            if reason:
                vol["_Implicit"] = reason
        yield vol


def _volume_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    created = item.get("CreateTime")
    attrs: dict[str, Any] = {
        "availability_zone": item.get("AvailabilityZone"),
        "size": item.get("Size"),
        "type": item.get("VolumeType"),
        "iops": int(item.get("Iops") or 0),
        "throughput": int(item.get("Throughput") or 0),
        "encrypted": bool(item.get("Encrypted")),
        "kms_key_id": item.get("KmsKeyId", ""),
        "snapshot_id": item.get("SnapshotId", ""),
        "multi_attach_enabled": bool(item.get("MultiAttachEnabled")),
        "outpost_arn": item.get("OutpostArn", ""),
        "tags": tags(item),
    }
    if isinstance(created, datetime):
        attrs["create_time"] = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_ebs_volume",
        service="ec2",
        collect=_collect_volumes,
        id_key="VolumeId",
        to_attributes=_volume_attributes,
        default_reason=lambda item, _s: item.get("_Implicit"),
    ),
)


def volume_attachment_id(device_name: str, volume_id: str, instance_id: str) -> str:
    """The provider's `volumeAttachmentID`: `vai-<crc32 of "device-instance-volume-">`."""
    return f"vai-{string_hashcode(f'{device_name}-{instance_id}-{volume_id}-')}"


def _collect_attachments(scope: Scope) -> Iterator[dict[str, Any]]:
    implicit = _implicit_volumes(scope)
    for vol in _volumes(scope):
        for att in vol.get("Attachments") or []:
            if att.get("State") not in ("attaching", "attached"):
                continue
            reason = implicit.get((att.get("InstanceId", ""), att.get("Device", "")))
            yield {**att, "_Implicit": f"attachment of the {reason}"} if reason else dict(att)


register_type(
    "aws",
    ResourceType(
        tf_type="aws_volume_attachment",
        service="ec2",
        collect=_collect_attachments,
        id_key=lambda att: volume_attachment_id(att["Device"], att["VolumeId"], att["InstanceId"]),
        to_attributes=lambda att, _s: {
            "device_name": att["Device"],
            "instance_id": att["InstanceId"],
            "volume_id": att["VolumeId"],
        },
        default_reason=lambda att, _s: att.get("_Implicit"),
        import_id=lambda att: f"{att['Device']}:{att['VolumeId']}:{att['InstanceId']}",
    ),
)


# --- aws_key_pair -----------------------------------------------------------------------------


def _key_pair_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "key_name": item.get("KeyName"),
        "key_name_prefix": name_prefix_from_name(item.get("KeyName", "")),
        "key_pair_id": item.get("KeyPairId"),
        "key_type": item.get("KeyType"),
        "fingerprint": item.get("KeyFingerprint"),
        "tags": tags(item),
    }
    if item.get("PublicKey"):
        attrs["public_key"] = str(item["PublicKey"]).strip()
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_key_pair",
        service="ec2",
        list_call="describe_key_pairs",
        result_key="KeyPairs",
        list_kwargs={"IncludePublicKey": True},
        paginate=False,
        id_key="KeyName",
        to_attributes=_key_pair_attributes,
    ),
)


# --- aws_launch_template ----------------------------------------------------------------------


def _launch_template_details(item: dict[str, Any], scope: Scope) -> dict[str, Any] | None:
    """Terraform reads the template's latest version."""
    versions = (
        scope.client("ec2")
        .describe_launch_template_versions(
            LaunchTemplateId=item["LaunchTemplateId"], Versions=[str(item["LatestVersionNumber"])]
        )
        .get("LaunchTemplateVersions")
        or []
    )
    if not versions:
        return None
    item["_Version"] = versions[0]
    return item


def _bool_string(value: Any) -> str:
    return "" if value is None else str(bool(value)).lower()


def _lt_block_device_mappings(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for bdm in data.get("BlockDeviceMappings") or []:
        ebs = bdm.get("Ebs")
        out.append(
            {
                "device_name": bdm.get("DeviceName", ""),
                "no_device": bdm.get("NoDevice", ""),
                "virtual_name": bdm.get("VirtualName", ""),
                "ebs": []
                if ebs is None
                else [
                    {
                        "delete_on_termination": _bool_string(ebs.get("DeleteOnTermination")),
                        "encrypted": _bool_string(ebs.get("Encrypted")),
                        "iops": int(ebs.get("Iops") or 0),
                        "kms_key_id": ebs.get("KmsKeyId", ""),
                        "snapshot_id": ebs.get("SnapshotId", ""),
                        "throughput": int(ebs.get("Throughput") or 0),
                        "volume_initialization_rate": int(ebs.get("VolumeInitializationRate") or 0),
                        "volume_size": int(ebs.get("VolumeSize") or 0),
                        "volume_type": ebs.get("VolumeType", ""),
                    }
                ],
            }
        )
    return out


def _lt_blocks(data: dict[str, Any]) -> dict[str, Any]:
    """The nested blocks mapped faithfully ([] when the version has none)."""
    blocks: dict[str, Any] = {"block_device_mappings": _lt_block_device_mappings(data)}
    meta = data.get("MetadataOptions")
    blocks["metadata_options"] = (
        [
            {
                "http_endpoint": meta.get("HttpEndpoint", ""),
                "http_protocol_ipv6": meta.get("HttpProtocolIpv6", ""),
                "http_put_response_hop_limit": int(meta.get("HttpPutResponseHopLimit") or 0),
                "http_tokens": meta.get("HttpTokens", ""),
                "instance_metadata_tags": meta.get("InstanceMetadataTags", ""),
            }
        ]
        if meta
        else []
    )
    monitoring = data.get("Monitoring")
    blocks["monitoring"] = [{"enabled": bool(monitoring.get("Enabled"))}] if monitoring else []
    profile = data.get("IamInstanceProfile")
    blocks["iam_instance_profile"] = (
        [{"arn": profile.get("Arn", ""), "name": profile.get("Name", "")}] if profile else []
    )
    blocks["tag_specifications"] = [
        {"resource_type": spec.get("ResourceType", ""), "tags": tags(spec)}
        for spec in data.get("TagSpecifications") or []
    ]
    for key, name, field, api_field in (
        ("EnclaveOptions", "enclave_options", "enabled", "Enabled"),
        ("HibernationOptions", "hibernation_options", "configured", "Configured"),
    ):
        value = data.get(key)
        blocks[name] = [{field: bool(value.get(api_field))}] if value else []
    # Blocks DriftMgr does not map: reported only when absent (an empty block is certain).
    for key, name in (
        ("CapacityReservationSpecification", "capacity_reservation_specification"),
        ("CpuOptions", "cpu_options"),
        ("ElasticGpuSpecifications", "elastic_gpu_specifications"),
        ("ElasticInferenceAccelerators", "elastic_inference_accelerator"),
        ("InstanceMarketOptions", "instance_market_options"),
        ("InstanceRequirements", "instance_requirements"),
        ("LicenseSpecifications", "license_specification"),
        ("MaintenanceOptions", "maintenance_options"),
        ("NetworkInterfaces", "network_interfaces"),
        ("Placement", "placement"),
        ("PrivateDnsNameOptions", "private_dns_name_options"),
    ):
        if not data.get(key):
            blocks[name] = []
    return blocks


def _launch_template_attributes(item: dict[str, Any], _scope: Scope) -> dict[str, Any]:
    version = item["_Version"]
    data = version.get("LaunchTemplateData") or {}
    name = item.get("LaunchTemplateName", "")
    attrs: dict[str, Any] = {
        "name": name,
        "name_prefix": name_prefix_from_name(name),
        "default_version": item.get("DefaultVersionNumber"),
        "latest_version": item.get("LatestVersionNumber"),
        "description": version.get("VersionDescription", ""),
        "image_id": data.get("ImageId", ""),
        "instance_type": data.get("InstanceType", ""),
        "key_name": data.get("KeyName", ""),
        "kernel_id": data.get("KernelId", ""),
        "ram_disk_id": data.get("RamDiskId", ""),
        "user_data": data.get("UserData", ""),
        "ebs_optimized": _bool_string(data.get("EbsOptimized")),
        "disable_api_stop": bool(data.get("DisableApiStop")),
        "disable_api_termination": bool(data.get("DisableApiTermination")),
        "instance_initiated_shutdown_behavior": data.get("InstanceInitiatedShutdownBehavior", ""),
        "vpc_security_group_ids": cty_set_order(data.get("SecurityGroupIds") or []),
        "security_group_names": cty_set_order(data.get("SecurityGroups") or []),
        "tags": tags(item),
    }
    attrs.update(_lt_blocks(data))
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_launch_template",
        service="ec2",
        list_call="describe_launch_templates",
        result_key="LaunchTemplates",
        id_key="LaunchTemplateId",
        details=_launch_template_details,
        to_attributes=_launch_template_attributes,
    ),
)
