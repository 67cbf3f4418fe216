from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftmgr.engine.normalize import boolean, canonical, flat, is_empty, json_document, net, number, string
from driftmgr.engine.schema import Kind, Node, ProviderSchema, TypeSchema

AWS_SCHEMA = Path(__file__).resolve().parents[2] / "src" / "driftmgr" / "providers" / "aws" / "schema.json"

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
            "Principal": {"AWS": "123456789012"},
        },
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Principal": "*",
            "Condition": {"Bool": {"aws:SecureTransport": False}},
        },
    ],
}


@pytest.fixture(scope="module")
def sg() -> TypeSchema:
    found = ProviderSchema.from_dict(json.loads(AWS_SCHEMA.read_text())).type("aws_security_group")
    assert found is not None
    return found


def test_policy_key_order_and_whitespace_do_not_matter() -> None:
    compact = json.dumps(POLICY, separators=(",", ":"))
    pretty = json.dumps(POLICY, indent=4, sort_keys=True)
    assert json_document(compact) == json_document(pretty)


def test_policy_statements_are_order_free() -> None:
    swapped = {**POLICY, "Statement": list(reversed(POLICY["Statement"]))}
    assert json_document(json.dumps(swapped)) == json_document(json.dumps(POLICY))


def test_policy_single_string_equals_list_of_one_and_lists_are_sets() -> None:
    a = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}
    b = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*", "*"]}],
    }
    assert json_document(json.dumps(a)) == json_document(json.dumps(b))
    c = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["b", "a"], "Resource": "*"}]}
    d = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["a", "b"], "Resource": "*"}]}
    assert json_document(json.dumps(c)) == json_document(json.dumps(d))


def test_policy_principal_and_sid_equivalences() -> None:
    aws_form = {
        **POLICY,
        "Statement": [
            {
                **POLICY["Statement"][0],
                "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                "Sid": "Read",
            },
            {
                **POLICY["Statement"][1],
                "Principal": {"AWS": "*"},
                "Sid": "",
                "Condition": {"Bool": {"aws:SecureTransport": ["false"]}},
            },
        ],
    }
    assert json_document(json.dumps(aws_form)) == json_document(json.dumps(POLICY))


def test_policy_differences_remain() -> None:
    base = json_document(json.dumps(POLICY))
    for change in (
        {"Version": "2008-10-17"},
        {"Statement": [{**POLICY["Statement"][0], "Effect": "Deny"}, POLICY["Statement"][1]]},
        {"Statement": [{**POLICY["Statement"][0], "Action": "s3:GetObject"}, POLICY["Statement"][1]]},
        {"Statement": [{**POLICY["Statement"][0], "Sid": "Other"}, POLICY["Statement"][1]]},
        {"Statement": [POLICY["Statement"][0]]},
        {"Statement": [{**POLICY["Statement"][0], "Resource": "ARN:aws:s3:::b"}, POLICY["Statement"][1]]},
    ):
        assert json_document(json.dumps({**POLICY, **change})) != base, change


def test_generic_json_keeps_list_order_but_not_key_order() -> None:
    a = [
        {
            "name": "web",
            "image": "nginx",
            "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        },
        {"name": "side", "image": "envoy", "mountPoints": []},
    ]
    b = [
        {
            "image": "nginx",
            "name": "web",
            "environment": [{"value": "2", "name": "B"}, {"name": "A", "value": "1"}],
        },
        {"name": "side", "image": "envoy"},
    ]
    assert json_document(json.dumps(a)) == json_document(json.dumps(b))
    assert json_document(json.dumps(list(reversed(a)))) != json_document(json.dumps(a))


def test_json_document_is_none_for_non_documents() -> None:
    assert json_document("ELBSecurityPolicy-2016-08") is None
    assert json_document('{"broken": ') is None
    assert json_document("42") is None
    assert json_document("") is None
    assert json_document('  {"a": 1}') == json_document('{"a":1}')


def test_scalars() -> None:
    assert number("10") == 10 and number(10.0) == 10 and type(number(10.0)) is int
    assert number(" 2.5 ") == 2.5
    assert number("1e3") == 1000
    assert number("abc") == "abc"
    assert number("nan") == "nan"
    assert boolean("TRUE") is True and boolean("false") is False and boolean(1) is True
    assert boolean("yes") == "yes"
    assert string(True) == "true" and string(8) == "8" and string(8.0) == "8" and string(1.5) == "1.5"


def test_networks_normalize_host_bits_and_ipv6_form() -> None:
    assert net("10.0.0.5/16") == "10.0.0.0/16"
    assert net("10.0.0.0/016") == "10.0.0.0/16"
    assert net("2001:DB8:0:0:0:0:0:0/32") == "2001:db8::/32"
    assert net("2001:DB8::0001") == "2001:db8::1"
    assert net("sg-123") == "sg-123"
    assert net("10.0.0.0/33") == "10.0.0.0/33"


def test_is_empty() -> None:
    assert all(is_empty(v) for v in (None, "", [], {}, (), frozenset()))
    assert not any(is_empty(v) for v in (0, False, " ", [None], {"a": None}))


def test_canonical_set_of_objects_is_order_free_and_hashable(sg: TypeSchema) -> None:
    node = sg.node("ingress")
    r1 = {
        "cidr_blocks": ["10.0.0.0/8"],
        "description": "",
        "from_port": 22,
        "to_port": 22,
        "protocol": "tcp",
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "security_groups": [],
        "self": False,
    }
    r2 = {**r1, "from_port": 443, "to_port": 443}
    a = canonical([r1, r2], node)
    assert a == canonical([r2, r1], node)
    hash(a)
    # absent, null and empty children are the same; numbers given as strings are numbers
    r1_sparse = {
        "cidr_blocks": ["10.0.0.5/8"],
        "from_port": "22",
        "to_port": 22.0,
        "protocol": "tcp",
        "description": None,
        "self": False,
    }
    assert canonical([r2, r1_sparse], node) == a
    assert canonical([r1], node) != a


def test_canonical_keys_and_skip_restrict_objects(sg: TypeSchema) -> None:
    node = sg.element("ingress")
    a = {"from_port": 22, "description": "x"}
    b = {"from_port": 22, "description": "y"}
    assert canonical(a, node) != canonical(b, node)
    assert canonical(a, node, keys={"from_port"}) == canonical(b, node, keys={"from_port"})
    assert canonical(a, node, skip={"description"}) == canonical(b, node, skip={"description"})


def test_canonical_drops_computed_only_attributes(sg: TypeSchema) -> None:
    a = canonical({"name": "web", "arn": "arn:1", "owner_id": "1"}, sg.root)
    assert a == canonical({"name": "web", "arn": "arn:2"}, sg.root)


def test_canonical_never_raises_on_unexpected_shapes(sg: TypeSchema) -> None:
    assert canonical(["a", "b"], sg.node("tags")) == ("a", "b")
    assert canonical("x", sg.node("ingress")) == "x"
    assert canonical({"k": [1, {"z": None}]}, Node(Kind.DYNAMIC)) == frozenset({("k", (1, frozenset()))})


def test_deep_values_get_an_iterative_exact_form() -> None:
    deep: list[object] = []
    cur = deep
    for _ in range(20_000):
        nxt: list[object] = []
        cur.append(nxt)
        cur = nxt
    form = canonical(deep, None)
    hash(form)
    assert flat([[1]]) != flat([[2]])
    assert flat({"a": 1, "b": 2}) == flat({"b": 2, "a": 1})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_json_documents_are_hashable_and_key_order_free(value: object) -> None:
    text = json.dumps({"Doc": value})
    doc = json_document(text)
    assert doc is not None
    hash(doc)
    assert json_document(json.dumps({"Doc": value}, indent=2, sort_keys=True)) == doc
