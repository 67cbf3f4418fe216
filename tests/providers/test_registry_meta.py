"""Meta-tests over the whole AWS resource-type registry (STYLE 3): every registered type is in the
shipped provider schema, used by the golden configuration, covered by a test module, and maps API
items to attribute names of its Terraform resource; the coverage doc is generated from it."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from driftmgr.providers.aws.resources import load_all
from driftmgr.providers.base import ResourceType, Scope, registered_types

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "src" / "driftmgr" / "providers" / "aws" / "schema.json"
GOLDEN = REPO / "tests" / "golden"
AWS_TESTS = REPO / "tests" / "providers" / "aws"


def _registry() -> dict[str, ResourceType]:
    load_all()
    return registered_types("aws")


def _schema() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SCHEMA.read_text())["resource_schemas"]
    return doc


def _names(block: dict[str, Any]) -> set[str]:
    return set(block.get("attributes") or {}) | set(block.get("block_types") or {})


class Anything(str):
    """A stand-in API value: the string "x" that also reads as an empty mapping or list."""

    def __new__(cls) -> Anything:
        return super().__new__(cls, "x")

    def get(self, _key: Any, default: Any = None) -> Any:
        return default

    def __getitem__(self, key: Any) -> Any:
        return Anything() if isinstance(key, str) else str.__getitem__(self, key)

    def __iter__(self) -> Any:
        return iter(())

    def items(self) -> Any:
        return iter(())


class AnyItem(dict[str, Any]):
    """An API item without fields: every field read with [] is `Anything`, with .get() absent."""

    def __missing__(self, _key: str) -> Any:
        return Anything()


def _offline_scope() -> Scope:
    """A scope whose clients can be introspected but reach no endpoint (nothing listens on port 9)."""
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    config = Config(retries={"max_attempts": 0}, connect_timeout=1)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url="http://127.0.0.1:9", config=config)  # type: ignore[call-overload]

    return Scope("aws", "123456789012", "us-east-1", client)


def _golden_types() -> set[str]:
    text = "\n".join(p.read_text() for p in sorted(GOLDEN.rglob("*.tf")))
    return set(re.findall(r'^\s*resource\s+"(aws_[a-z0-9_]+)"', text, re.MULTILINE))


def _type_mentioned(tf_type: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(tf_type)}(?![\w])", text) is not None


def test_every_registered_type_is_schema_backed_golden_tested_and_unit_tested() -> None:
    registry = _registry()
    schema = _schema()
    golden = _golden_types()
    test_sources = {p.name: p.read_text() for p in sorted(AWS_TESTS.glob("test_*.py"))}
    session = boto3.session.Session()
    services = set(session.get_available_services())
    scope = _offline_scope()
    problems: list[str] = []
    assert len(registry) == 58
    for tf_type, rtype in sorted(registry.items()):
        assert rtype.tf_type == tf_type
        if tf_type not in schema:
            problems.append(f"{tf_type}: not in the shipped provider schema")
            continue
        if tf_type not in golden:
            problems.append(f"{tf_type}: not used by tests/golden/*.tf")
        if not any(_type_mentioned(tf_type, src) for src in test_sources.values()):
            problems.append(f"{tf_type}: no test module under tests/providers/aws/ names it")
        if rtype.service not in services:
            problems.append(f"{tf_type}: {rtype.service!r} is not a boto3 service")
        elif rtype.list_call is not None:
            if not hasattr(scope.client(rtype.service), rtype.list_call):
                problems.append(f"{tf_type}: {rtype.service} has no operation {rtype.list_call}")
            if not rtype.result_key:
                problems.append(f"{tf_type}: list_call without result_key")
        elif rtype.collect is None:
            problems.append(f"{tf_type}: neither list_call nor collect")
        try:
            attrs = rtype.to_attributes(AnyItem(), scope)
        except Exception as exc:  # reported with the type
            problems.append(f"{tf_type}: to_attributes fails on an item without fields: {exc!r}")
            continue
        unknown = sorted(set(attrs) - _names(schema[tf_type]["block"]))
        if unknown:
            problems.append(f"{tf_type}: to_attributes keys not in the schema: {unknown}")
    assert problems == []


def test_shipped_schema_holds_exactly_the_registered_types() -> None:
    assert set(_schema()) == set(_registry())


def test_golden_configuration_uses_no_unsupported_type() -> None:
    assert _golden_types() == set(_registry())


def test_coverage_doc_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_coverage_doc", REPO / "scripts" / "gen_coverage_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    current = (REPO / "docs" / "providers.md").read_text()
    assert current == expected, "docs/providers.md is out of date: run scripts/gen_coverage_doc.py"
    assert all(f"| `{t}` |" in current for t in _registry())
