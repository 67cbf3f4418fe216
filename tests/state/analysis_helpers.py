"""State documents for the analysis tests, built as dicts."""

from __future__ import annotations

from typing import Any

import orjson

from driftmgr.state.parse import StateReader

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'


def res(
    rtype: str,
    name: str,
    instances: list[dict[str, Any]],
    *,
    module: str | None = None,
    mode: str = "managed",
    provider: str = AWS,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "mode": mode,
        "type": rtype,
        "name": name,
        "provider": provider,
        "instances": instances,
    }
    if module:
        r["module"] = module
    return r


def inst(
    id_: str, key: int | str | None = None, deps: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    attrs = extra.pop("attributes", {})
    i: dict[str, Any] = {"schema_version": 0, "attributes": {"id": id_, **attrs}, **extra}
    if key is not None:
        i["index_key"] = key
    if deps:
        i["dependencies"] = deps
    return i


def state(
    resources: list[dict[str, Any]],
    *,
    serial: int = 1,
    lineage: str = "lin-1",
    outputs: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "version": 4,
        "terraform_version": "1.9.5",
        "serial": serial,
        "lineage": lineage,
        "outputs": outputs or {},
        "resources": resources,
        **extra,
    }


def reader(doc: dict[str, Any], name: str = "test.tfstate") -> StateReader:
    return StateReader.from_bytes(orjson.dumps(doc), name)


SECRET = "hunter2-do-not-print"


def rich_state() -> dict[str, Any]:
    return state(
        [
            res("aws_vpc", "main", [inst("vpc-1")]),
            res("aws_subnet", "a", [inst("subnet-0", 0), inst("subnet-1", 1, status="tainted")]),
            res(
                "aws_instance",
                "web",
                [inst("i-new"), inst("i-old", deposed="00000001")],
                module="module.app",
            ),
            res("aws_ami", "ubuntu", [inst("ami-1")], mode="data"),
            res(
                "google_storage_bucket",
                "logs",
                [inst("logs", "eu"), inst("logs-us", "us")],
                module='module.net["x"]',
                provider='provider["registry.terraform.io/hashicorp/google"].west',
            ),
        ],
        outputs={
            "vpc_id": {"value": "vpc-1", "type": "string"},
            "db_password": {"value": SECRET, "type": "string", "sensitive": True},
        },
        check_results=[
            {"object_kind": "resource", "config_addr": "aws_vpc.main", "status": "pass", "objects": []},
            {
                "object_kind": "check",
                "config_addr": "check.health",
                "status": "fail",
                "objects": [
                    {"object_addr": "check.health", "status": "fail", "failure_messages": ["endpoint down"]}
                ],
            },
        ],
    )
