"""Generate the provider schema shipped as package data, from `terraform providers schema -json`.

Usage: .venv/bin/python scripts/gen_provider_schema.py [--provider-version 5.100.0]

Finds the Terraform CLI on PATH and the hashicorp/aws provider in a local filesystem mirror (searched
for `terraform-provider-aws_*` under TF_PLUGIN_MIRROR, ~/.terraform.d/plugins, /usr/share/terraform/plugins
and /opt), runs `terraform init` on a throw-away configuration, and writes, for the resource types
DriftMgr supports (`SUPPORTED` below, which the registry meta-test checks against), a compact schema
without descriptions: src/driftmgr/providers/aws/schema.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "src" / "driftmgr" / "providers" / "aws" / "schema.json"

SUPPORTED = sorted(
    """
aws_vpc aws_subnet aws_internet_gateway aws_nat_gateway aws_eip aws_route_table
aws_route_table_association aws_route aws_security_group aws_security_group_rule
aws_vpc_security_group_ingress_rule aws_vpc_security_group_egress_rule aws_network_acl aws_vpc_endpoint
aws_instance aws_ebs_volume aws_volume_attachment aws_key_pair aws_launch_template aws_autoscaling_group
aws_lambda_function aws_ecs_cluster aws_ecs_service aws_ecs_task_definition aws_eks_cluster
aws_ecr_repository aws_lb aws_lb_target_group aws_lb_listener aws_s3_bucket aws_s3_bucket_versioning
aws_s3_bucket_policy aws_s3_bucket_public_access_block aws_s3_bucket_server_side_encryption_configuration
aws_s3_bucket_lifecycle_configuration aws_db_instance aws_db_subnet_group aws_rds_cluster
aws_dynamodb_table aws_elasticache_cluster aws_iam_role aws_iam_policy aws_iam_role_policy_attachment
aws_iam_role_policy aws_iam_user aws_iam_group aws_iam_instance_profile aws_sqs_queue aws_sns_topic
aws_sns_topic_subscription aws_kms_key aws_kms_alias aws_secretsmanager_secret aws_ssm_parameter
aws_cloudwatch_log_group aws_cloudwatch_metric_alarm aws_route53_zone aws_route53_record
""".split()
)


def find_mirror() -> Path:
    """The directory that holds registry.terraform.io/hashicorp/aws/<version>/<platform>/."""
    roots = [
        os.environ.get("TF_PLUGIN_MIRROR", ""),
        str(Path.home() / ".terraform.d" / "plugins"),
        "/usr/share/terraform/plugins",
        "/opt",
    ]
    for root in filter(None, roots):
        base = Path(root)
        if not base.is_dir():
            continue
        for binary in base.rglob("terraform-provider-aws_*"):
            # .../registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_vX
            parts = binary.parents
            if len(binary.parts) >= 7 and parts[4].name == "registry.terraform.io":
                return parts[5]
    raise SystemExit("no terraform-provider-aws_* found in a filesystem mirror (set TF_PLUGIN_MIRROR)")


def compact_block(block: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attrs = {}
    for name, a in block.get("attributes", {}).items():
        entry: dict[str, Any] = {"type": a.get("type")}
        if "nested_type" in a:
            entry["nested_type"] = {
                "nesting_mode": a["nested_type"].get("nesting_mode"),
                "block": compact_block({"attributes": a["nested_type"].get("attributes", {})}),
            }
        for flag in ("required", "optional", "computed", "sensitive", "deprecated"):
            if a.get(flag):
                entry[flag] = True
        attrs[name] = entry
    if attrs:
        out["attributes"] = attrs
    blocks = {}
    for name, b in block.get("block_types", {}).items():
        if name == "timeouts":
            continue
        entry = {"nesting_mode": b.get("nesting_mode"), "block": compact_block(b.get("block", {}))}
        for k in ("min_items", "max_items"):
            if b.get(k):
                entry[k] = b[k]
        blocks[name] = entry
    if blocks:
        out["block_types"] = blocks
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--provider-version", default=None, help="exact version to pin (default: the mirror's)")
    args = ap.parse_args()
    terraform = shutil.which("terraform")
    if not terraform:
        raise SystemExit("terraform is not on PATH")
    mirror = find_mirror()
    versions = sorted(p.name for p in (mirror / "registry.terraform.io" / "hashicorp" / "aws").iterdir())
    version = args.provider_version or versions[-1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rc.tfrc").write_text(
            'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
            '  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }\n}\n' % mirror
        )
        (work / "main.tf").write_text(
            'terraform {\n  required_providers {\n'
            '    aws = { source = "hashicorp/aws", version = "%s" }\n  }\n}\n'
            % version
        )
        env = {**os.environ, "TF_CLI_CONFIG_FILE": str(work / "rc.tfrc"), "TF_IN_AUTOMATION": "1"}
        subprocess.run(
            [terraform, "init", "-input=false", "-no-color"],
            cwd=work,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        raw = subprocess.run(
            [terraform, "providers", "schema", "-json"], cwd=work, env=env, check=True, capture_output=True
        ).stdout
    schema = json.loads(raw)["provider_schemas"]["registry.terraform.io/hashicorp/aws"]
    resources = schema["resource_schemas"]
    missing = [t for t in SUPPORTED if t not in resources]
    if missing:
        sys.exit(f"types missing from provider {version}: {missing}")
    out = {
        "provider": "registry.terraform.io/hashicorp/aws",
        "provider_version": version,
        "generated_by": "scripts/gen_provider_schema.py",
        "resource_schemas": {
            t: {"version": resources[t].get("version", 0), "block": compact_block(resources[t]["block"])}
            for t in SUPPORTED
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}: {len(SUPPORTED)} types from hashicorp/aws {version}")


if __name__ == "__main__":
    main()
