"""Shared helpers for the `driftmgr state` CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from driftmgr.cli.app import main

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
SECRET = "s3cr3t-value-never-printed"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def doc(
    serial: int = 1,
    lineage: str = "lin-a",
    *,
    resources: list[dict[str, Any]] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "version": 4,
        "terraform_version": "1.9.5",
        "serial": serial,
        "lineage": lineage,
        "outputs": outputs if outputs is not None else {"vpc": {"value": "vpc-1", "type": "string"}},
        "resources": resources
        if resources is not None
        else [
            {
                "mode": "managed",
                "type": "aws_vpc",
                "name": "main",
                "provider": AWS,
                "instances": [
                    {"schema_version": 1, "attributes": {"id": "vpc-1", "cidr_block": "10.0.0.0/16"}}
                ],
            },
            {
                "mode": "managed",
                "type": "aws_subnet",
                "name": "a",
                "provider": AWS,
                "instances": [
                    {"index_key": i, "attributes": {"id": f"subnet-{i}"}, "dependencies": ["aws_vpc.main"]}
                    for i in range(2)
                ],
            },
        ],
    }


def write(path: Path, content: dict[str, Any] | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        content if isinstance(content, bytes) else orjson.dumps(content, option=orjson.OPT_INDENT_2)
    )
    return path


def lock_leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".lock.info"))
