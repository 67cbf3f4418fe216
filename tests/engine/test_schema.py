from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftmgr.engine.schema import Kind, ProviderSchema, TypeSchema, split_path, value_format

AWS_SCHEMA = Path(__file__).resolve().parents[2] / "src" / "driftmgr" / "providers" / "aws" / "schema.json"


@pytest.fixture(scope="module")
def aws_schema() -> ProviderSchema:
    return ProviderSchema.from_dict(json.loads(AWS_SCHEMA.read_text()))


def _type(schema: ProviderSchema, name: str) -> TypeSchema:
    found = schema.type(name)
    assert found is not None
    return found


def test_shipped_schema_has_the_58_supported_types(aws_schema: ProviderSchema) -> None:
    assert len(aws_schema.types) == 58
    assert "aws_security_group" in aws_schema
    assert aws_schema.type("aws_not_a_type") is None
    assert aws_schema.provider == "registry.terraform.io/hashicorp/aws"


def test_types_are_parsed_once(aws_schema: ProviderSchema) -> None:
    assert aws_schema.type("aws_vpc") is aws_schema.type("aws_vpc")


def test_security_group_rules_are_a_set_of_objects(aws_schema: ProviderSchema) -> None:
    sg = _type(aws_schema, "aws_security_group")
    assert sg.kind("ingress") is Kind.SET
    ingress = sg.element("ingress")
    assert ingress is not None and ingress.kind is Kind.OBJECT
    # a list in the provider schema, compared as a set: AWS keeps no order (schema.UNORDERED_LISTS)
    assert sg.kind("ingress.cidr_blocks") is Kind.SET
    assert sg.kind("ingress.security_groups") is Kind.SET
    assert sg.kind("ingress[0].from_port") is Kind.NUMBER
    assert sg.kind("ingress.self") is Kind.BOOL


def test_nested_blocks_have_block_kinds_and_limits(aws_schema: ProviderSchema) -> None:
    inst = _type(aws_schema, "aws_instance")
    rbd = inst.node("root_block_device")
    assert rbd is not None and rbd.kind is Kind.BLOCK_LIST and rbd.max_items == 1
    assert inst.kind("root_block_device[0].volume_size") is Kind.NUMBER
    assert inst.kind("ebs_block_device") is Kind.BLOCK_SET
    versioning = _type(aws_schema, "aws_s3_bucket_versioning")
    assert versioning.kind("versioning_configuration[0].status") is Kind.STRING
    assert versioning.is_required("versioning_configuration")
    assert versioning.is_required("versioning_configuration.status")


def test_map_keys_select_the_map_element(aws_schema: ProviderSchema) -> None:
    vpc = _type(aws_schema, "aws_vpc")
    assert vpc.kind("tags") is Kind.MAP
    assert vpc.kind("tags.env") is Kind.STRING
    assert vpc.kind('tags["kubernetes.io/role"]') is Kind.STRING
    tags = vpc.attribute("tags.env")
    assert tags is not None and tags.name == "tags"


def test_flags_and_computed_only(aws_schema: ProviderSchema) -> None:
    sg = _type(aws_schema, "aws_security_group")
    assert sg.is_computed_only("arn")
    assert sg.is_computed_only("owner_id")
    assert not sg.is_computed_only("tags_all")  # optional + computed
    assert not sg.is_computed_only("name")
    assert sg.is_optional("description") and not sg.is_computed("description")
    assert not sg.is_computed_only("no_such_attribute")
    inst = _type(aws_schema, "aws_instance")
    assert inst.is_computed_only("root_block_device.volume_id")
    assert not inst.is_computed_only("root_block_device.volume_size")
    role_policy = _type(aws_schema, "aws_iam_role_policy")
    assert role_policy.is_required("policy")


def test_sensitive_attributes_are_marked_up_the_tree(aws_schema: ProviderSchema) -> None:
    db = _type(aws_schema, "aws_db_instance")
    assert db.is_sensitive("password")
    assert not db.is_sensitive("username")
    listener = _type(aws_schema, "aws_lb_listener")
    assert listener.is_sensitive("default_action.authenticate_oidc.client_secret")
    node = listener.node("default_action")
    assert node is not None and node.has_sensitive
    assert not _type(aws_schema, "aws_vpc").root.has_sensitive


def test_string_formats_come_from_attribute_names(aws_schema: ProviderSchema) -> None:
    role = _type(aws_schema, "aws_iam_role")
    assert (role.node("assume_role_policy") or role.root).fmt == "json"
    task = _type(aws_schema, "aws_ecs_task_definition")
    assert (task.node("container_definitions") or task.root).fmt == "json"
    sg = _type(aws_schema, "aws_security_group")
    assert (sg.node("ingress.cidr_blocks[0]") or sg.root).fmt == "net"
    assert (sg.node("name") or sg.root).fmt is None
    assert value_format("ssl_policy") == "json"  # only if the value parses as a JSON document
    assert value_format("private_ip") == "net"
    assert value_format("ipv6_addresses") == "net"
    assert value_format("description") is None
    assert value_format("ship") is None


def test_raw_terraform_providers_schema_output_is_accepted() -> None:
    raw = {
        "format_version": "1.0",
        "provider_schemas": {
            "registry.terraform.io/hashicorp/example": {
                "resource_schemas": {
                    "example_thing": {
                        "version": 2,
                        "block": {
                            "attributes": {
                                "id": {"type": "string", "computed": True, "optional": True},
                                "rules": {
                                    "type": ["set", ["object", {"port": "number", "cidr": "string"}]],
                                    "optional": True,
                                },
                                "config": {
                                    "nested_type": {
                                        "nesting_mode": "list",
                                        "attributes": {
                                            "key": {"type": "string", "required": True},
                                            "secret": {"type": "string", "sensitive": True},
                                        },
                                    },
                                    "optional": True,
                                },
                                "labels": {"type": ["map", "string"], "optional": True},
                                "anything": {"type": "dynamic", "optional": True},
                            },
                            "block_types": {
                                "single": {
                                    "nesting_mode": "single",
                                    "block": {"attributes": {"x": {"type": "bool", "optional": True}}},
                                },
                                "byname": {
                                    "nesting_mode": "map",
                                    "block": {"attributes": {"y": {"type": "number", "optional": True}}},
                                },
                            },
                        },
                    }
                }
            }
        },
    }
    schema = ProviderSchema.from_dict(raw)
    t = schema.type("example_thing")
    assert t is not None and t.version == 2
    assert schema.provider == "registry.terraform.io/hashicorp/example"
    assert t.kind("rules") is Kind.SET
    assert t.kind("rules.cidr") is Kind.STRING
    assert t.kind("config") is Kind.LIST
    assert t.kind("config[0].key") is Kind.STRING
    assert t.is_sensitive("config.secret")
    assert t.kind("single") is Kind.BLOCK_SINGLE
    assert t.kind("single.x") is Kind.BOOL
    assert t.kind("byname") is Kind.BLOCK_MAP
    assert t.kind("byname.some_key.y") is Kind.NUMBER
    assert t.kind("anything") is Kind.DYNAMIC
    assert sorted(p for p, _ in t.walk()) == [
        "anything",
        "byname",
        "byname.y",
        "config",
        "config.key",
        "config.secret",
        "id",
        "labels",
        "rules",
        "rules.cidr",
        "rules.port",
        "single",
        "single.x",
    ]


def test_a_document_without_schemas_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a provider schema"):
        ProviderSchema.from_dict({"hello": 1})


def test_split_path() -> None:
    assert split_path("a.b[0].c") == ["a", "b", 0, "c"]
    assert split_path('tags["kubernetes.io/role"]') == ["tags", "kubernetes.io/role"]
    assert split_path("tags.*") == ["tags", "*"]
    assert split_path("ingress[*].cidr_blocks") == ["ingress", "*", "cidr_blocks"]
