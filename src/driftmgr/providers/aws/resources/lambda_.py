"""Lambda: aws_lambda_function (id and import id: the function name).

Read like the provider does: GetFunction (configuration, tags, reserved concurrency) plus the code-signing
config of zip functions. Not read: the deployment package and what only the configuration knows
(`filename`, `s3_*`, `source_code_hash`, `publish`, `skip_destroy`, `replace_security_groups_on_destroy`),
and `version`/`qualified_*arn` (computed from a ListVersionsByFunction call that drift never needs).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ecs import null_if_empty, tf_set
from driftmgr.providers.base import Item, ResourceType, Scope, register_type


def _function_details(item: Item, scope: Scope) -> Item | None:
    client = scope.client("lambda")
    resp = client.get_function(FunctionName=item["FunctionName"])
    detailed: Item = dict(resp.get("Configuration") or item)
    detailed["_Code"] = resp.get("Code") or {}
    detailed["_Tags"] = resp.get("Tags") or {}
    detailed["_Concurrency"] = resp.get("Concurrency")
    if detailed.get("PackageType", "Zip") == "Zip":
        try:
            signing = client.get_function_code_signing_config(FunctionName=item["FunctionName"])
            detailed["_CodeSigningConfigArn"] = signing.get("CodeSigningConfigArn", "")
        except ClientError:  # no code signing in this region/partition: the attribute stays unknown
            pass
    return detailed


def _invoke_arn(scope: Scope, function_arn: str) -> str:
    partition = function_arn.split(":")[1] if function_arn.count(":") > 1 else "aws"
    path = f"path/2015-03-31/functions/{function_arn}/invocations"
    return f"arn:{partition}:apigateway:{scope.region}:lambda:{path}"


def _vpc_config(vpc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not vpc or (not vpc.get("SubnetIds") and not vpc.get("SecurityGroupIds") and not vpc.get("VpcId")):
        return []
    return [
        {
            "ipv6_allowed_for_dual_stack": bool(vpc.get("Ipv6AllowedForDualStack", False)),
            "security_group_ids": tf_set(vpc.get("SecurityGroupIds") or []),
            "subnet_ids": tf_set(vpc.get("SubnetIds") or []),
            "vpc_id": vpc.get("VpcId", ""),
        }
    ]


def _image_config(resp: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not resp or resp.get("Error") or not resp.get("ImageConfig"):
        return []
    cfg = resp["ImageConfig"]
    return [
        {
            "command": null_if_empty(cfg.get("Command")),
            "entry_point": null_if_empty(cfg.get("EntryPoint")),
            "working_directory": cfg.get("WorkingDirectory", ""),
        }
    ]


def _logging_config(cfg: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not cfg:
        return []
    return [
        {
            "application_log_level": cfg.get("ApplicationLogLevel", ""),
            "log_format": cfg.get("LogFormat", ""),
            "log_group": cfg.get("LogGroup", ""),
            "system_log_level": cfg.get("SystemLogLevel", ""),
        }
    ]


def _function_attributes(item: Item, scope: Scope) -> dict[str, Any]:
    arn = str(item["FunctionArn"])
    env = item.get("Environment")
    dlq = item.get("DeadLetterConfig") or {}
    snap = item.get("SnapStart") or {}
    storage = item.get("EphemeralStorage")
    concurrency = item.get("_Concurrency") or {}
    attrs: dict[str, Any] = {
        "function_name": item["FunctionName"],
        "arn": arn,
        "invoke_arn": _invoke_arn(scope, arn),
        "architectures": list(item.get("Architectures") or []),
        "code_sha256": item.get("CodeSha256", ""),
        "dead_letter_config": [{"target_arn": dlq["TargetArn"]}] if dlq.get("TargetArn") else [],
        "description": item.get("Description", ""),
        "environment": [{"variables": null_if_empty(env.get("Variables"))}] if env is not None else [],
        "ephemeral_storage": [{"size": storage.get("Size", 0)}] if storage else [],
        "file_system_config": [
            {"arn": f.get("Arn", ""), "local_mount_path": f.get("LocalMountPath", "")}
            for f in item.get("FileSystemConfigs") or []
        ],
        "handler": item.get("Handler", ""),
        "image_config": _image_config(item.get("ImageConfigResponse")),
        "image_uri": (item.get("_Code") or {}).get("ImageUri", ""),
        "kms_key_arn": item.get("KMSKeyArn", ""),
        "last_modified": item.get("LastModified", ""),
        "layers": null_if_empty([layer["Arn"] for layer in item.get("Layers") or []]),
        "logging_config": _logging_config(item.get("LoggingConfig")),
        "memory_size": item.get("MemorySize", 0),
        "package_type": item.get("PackageType", ""),
        "reserved_concurrent_executions": concurrency.get("ReservedConcurrentExecutions", -1),
        "role": item.get("Role", ""),
        "runtime": item.get("Runtime", ""),
        "signing_job_arn": item.get("SigningJobArn", ""),
        "signing_profile_version_arn": item.get("SigningProfileVersionArn", ""),
        "snap_start": [
            {"apply_on": snap.get("ApplyOn", ""), "optimization_status": snap.get("OptimizationStatus", "")}
        ]
        if snap and snap.get("ApplyOn") not in (None, "None")
        else [],
        "source_code_size": item.get("CodeSize", 0),
        "timeout": item.get("Timeout", 0),
        "tracing_config": [{"mode": (item.get("TracingConfig") or {}).get("Mode", "PassThrough")}],
        "vpc_config": _vpc_config(item.get("VpcConfig")),
        "tags": tags(item, "_Tags") or None,
    }
    if "_CodeSigningConfigArn" in item:
        attrs["code_signing_config_arn"] = item["_CodeSigningConfigArn"]
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_lambda_function",
        service="lambda",
        list_call="list_functions",
        result_key="Functions",
        id_key="FunctionName",
        details=_function_details,
        to_attributes=_function_attributes,
    ),
)
