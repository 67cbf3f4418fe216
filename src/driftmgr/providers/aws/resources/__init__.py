"""AWS resource types, one module per service. Import order is irrelevant; each registers its types."""

from __future__ import annotations

import importlib

MODULES = (
    "ec2_vpc",
    "ec2_security",
    "ec2_compute",
    "autoscaling",
    "ec2_network",
    "ec2_routes",
    "lambda_",
    "ecs",
    "eks_ecr",
    "elbv2",
    "s3",
    "rds",
    "dynamodb_elasticache",
    "iam",
    "iam_attachments",
    "messaging",
    "kms_secrets",
    "cloudwatch",
    "route53",
)
_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for name in MODULES:
        importlib.import_module(f"driftmgr.providers.aws.resources.{name}")
    _loaded = True
