"""DriftService's matching rules on synthetic inputs (fast, no emulator)."""

from __future__ import annotations

from typing import Any

from driftmgr.models import Resource, StateInstance
from driftmgr.providers.base import ResourceType
from driftmgr.services.drift import _Managed, _Matcher


def inst(tf_type: str, rid: str, **attrs: Any) -> _Managed:
    i = StateInstance(
        address=f"{tf_type}.x", mode="managed", type=tf_type, name="x", module=None, index_key=None,
        provider='provider["registry.terraform.io/hashicorp/aws"]', provider_name="aws", id=rid,
        attributes={"id": rid, **attrs},
    )  # fmt: skip
    return _Managed(i, "us-east-1", ["s"])


def live(tf_type: str, rid: str, *, parent: tuple[str, str] | None = None, parent_attr: str | None = None,
         default: bool = False, **attrs: Any) -> Resource:  # fmt: skip
    return Resource(
        "aws", tf_type, rid, attributes=attrs, parent=parent, parent_attr=parent_attr, default=default
    )


def noop(_: dict[str, Any], __: Any) -> dict[str, Any]:
    return {}


TYPES = {
    "aws_route_table": ResourceType("aws_route_table", "ec2", noop),
    "aws_route": ResourceType(
        "aws_route", "ec2", noop, parent_link=("aws_route_table", "route_table_id", "route")
    ),
    "aws_att": ResourceType("aws_att", "iam", noop, match_key=lambda a: (a.get("role"), a.get("policy_arn"))),
    "aws_rule_old": ResourceType(
        "aws_rule_old",
        "ec2",
        noop,
        object_keys=lambda a: [a["sgr"]] if a.get("sgr") else [],
        report_unmanaged=False,
    ),
    "aws_rule_new": ResourceType("aws_rule_new", "ec2", noop, object_keys=lambda a: [a["sgr"]]),
}


def matcher(managed: list[_Managed], resources: list[Resource]) -> _Matcher:
    return _Matcher(
        {(m.inst.type, m.inst.id or ""): m for m in managed}, {(r.type, r.id): r for r in resources}, TYPES
    )


def test_synthetic_ids_match_by_key_and_the_live_side_is_not_unmanaged() -> None:
    att = live("aws_att", "app/arn:p", role="app", policy_arn="arn:p")
    m = matcher([inst("aws_att", "app-20261126", role="app", policy_arn="arn:p")], [att])
    assert m.live_for("aws_att", "app-20261126") is att
    assert m.unmanaged_verdict(("aws_att", "app/arn:p"), att) == "managed"
    other = live("aws_att", "app/arn:q", role="app", policy_arn="arn:q")
    assert matcher([], [other]).unmanaged_verdict(("aws_att", "app/arn:q"), other) == "unmanaged"


def test_inline_children_are_claimed_and_delegated_children_stand_alone() -> None:
    route = live(
        "aws_route", "r-1", parent=("aws_route_table", "rtb-1"), parent_attr="route", route_table_id="rtb-1"
    )
    inline = matcher([inst("aws_route_table", "rtb-1", route=[{"cidr_block": "0.0.0.0/0"}])], [route])
    assert inline.unmanaged_verdict(("aws_route", "r-1"), route) == "claimed"
    assert inline.delegated_attrs("aws_route_table", "rtb-1", {"route": [{"cidr_block": "0.0.0.0/0"}]}) == []
    empty = matcher([inst("aws_route_table", "rtb-1", route=[])], [route])
    assert empty.unmanaged_verdict(("aws_route", "r-1"), route) == "unmanaged"
    assert empty.delegated_attrs("aws_route_table", "rtb-1", {"route": []}) == ["route"]
    separate = matcher(
        [
            inst("aws_route_table", "rtb-1", route=[{"x": 1}]),
            inst("aws_route", "r-2", route_table_id="rtb-1"),
        ],
        [route],
    )
    assert separate.delegated_attrs("aws_route_table", "rtb-1", {"route": [{"x": 1}]}) == ["route"]
    assert separate.unmanaged_verdict(("aws_route", "r-1"), route) == "unmanaged"


def test_children_of_unmanaged_or_default_parents_are_not_counted_again() -> None:
    child = live("aws_route", "r-9", parent=("aws_route_table", "rtb-9"), parent_attr="route")
    default_parent = live("aws_route_table", "rtb-9", default=True)
    assert matcher([], [child, default_parent]).unmanaged_verdict(("aws_route", "r-9"), child) == "default"
    plain_parent = live("aws_route_table", "rtb-9")
    assert matcher([], [child, plain_parent]).unmanaged_verdict(("aws_route", "r-9"), child) == "claimed"


def test_one_object_two_spellings_is_managed_by_either_and_reported_once() -> None:
    old = live("aws_rule_old", "sgrule-1", sgr="sgr-1")
    new = live("aws_rule_new", "sgr-1", sgr="sgr-1")
    by_old = matcher([inst("aws_rule_old", "sgrule-1", sgr="sgr-1")], [old, new])
    assert by_old.unmanaged_verdict(("aws_rule_new", "sgr-1"), new) == "managed"
    by_new = matcher([inst("aws_rule_new", "sgr-1", sgr="sgr-1")], [old, new])
    assert by_new.unmanaged_verdict(("aws_rule_old", "sgrule-1"), old) == "managed"
    nobody = matcher([], [old, new])
    assert nobody.unmanaged_verdict(("aws_rule_new", "sgr-1"), new) == "unmanaged"
    assert nobody.unmanaged_verdict(("aws_rule_old", "sgrule-1"), old) == "claimed"


def test_value_set_by_a_managed_neighbour_referencing_the_resource_is_not_a_change() -> None:
    from driftmgr.models import Change

    eip = inst("aws_eip", "eipalloc-1", network_interface="")
    nat = inst("aws_nat_gateway", "nat-1", allocation_id="eipalloc-1", network_interface_id="eni-nat")
    other = inst("aws_instance", "i-1", network_interface_id="eni-other")
    m = matcher([eip, nat, other], [])
    key = ("aws_eip", "eipalloc-1")
    assert m.set_by_neighbour(key, Change("network_interface", "", "eni-nat"))
    # held by a managed resource that does not reference this one: an out-of-band association
    assert not m.set_by_neighbour(key, Change("network_interface", "", "eni-other"))
    assert not m.set_by_neighbour(key, Change("network_interface", "", "eni-unknown"))
    # the state had a value: a real change, whoever holds the new one
    assert not m.set_by_neighbour(key, Change("network_interface", "eni-old", "eni-nat"))
    assert not m.set_by_neighbour(key, Change("tags.eni", None, "eni-nat"))
