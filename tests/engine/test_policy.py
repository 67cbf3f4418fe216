"""Policy file, default severities, `--filter`, and applying them all to drift items."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftmgr.engine.policy import (
    DEFAULT_TABLE,
    DriftIgnore,
    Policy,
    ResourceFilter,
    Rules,
    Subject,
    apply_rules,
    max_severity,
)
from driftmgr.errors import UsageError
from driftmgr.models import Change, DriftItem

POLICY = """\
version: 1
rules:
  - name: asg sizes itself
    type: aws_autoscaling_group
    path: desired_capacity
    action: ignore
  - name: prod iam is critical
    type: "aws_iam_*"
    tags: {env: "prod*"}
    severity: critical
  - name: sandbox is low
    address: "module.sandbox.*"
    severity: low
  - name: legacy buckets
    type: aws_s3_bucket
    id: "legacy-*"
    action: ignore
  - name: unmanaged log groups do not matter
    type: aws_cloudwatch_log_group
    status: unmanaged
    action: ignore
  - name: descriptions are cosmetic
    path: description
    severity: low
"""


def drifted(rtype: str, *changes: Change, address: str | None = None, rid: str = "x") -> DriftItem:
    return DriftItem(rtype, rid, "aws", "drifted", address=address or f"{rtype}.r", changes=list(changes))


# --- policy file -------------------------------------------------------------------------------


def test_first_matching_rule_wins_for_a_change() -> None:
    p = Policy.parse(POLICY, "p.yaml")
    s = Subject("aws_iam_role", "r", "module.sandbox.aws_iam_role.r", "aws", "drifted", {"env": "prod-eu"})
    d = p.change_decision(s, "assume_role_policy")
    assert d is not None and (d.action, d.severity, d.index) == ("severity", "critical", 1)
    s2 = Subject("aws_iam_role", "r", "module.sandbox.aws_iam_role.r", "aws", "drifted", {"env": "dev"})
    d2 = p.change_decision(s2, "assume_role_policy")
    assert d2 is not None and (d2.severity, d2.index) == ("low", 2)


def test_path_rule_applies_only_to_matching_paths() -> None:
    p = Policy.parse(POLICY)
    s = Subject("aws_autoscaling_group", "asg", "aws_autoscaling_group.web", "aws", "drifted")
    d = p.change_decision(s, "desired_capacity")
    assert d is not None and d.action == "ignore" and d.index == 0
    assert p.change_decision(s, "max_size") is None
    d3 = p.change_decision(s, "description")
    assert d3 is not None and d3.index == 5


def test_resource_decision_considers_only_rules_without_path() -> None:
    p = Policy.parse(POLICY)
    s = Subject("aws_autoscaling_group", "asg", "aws_autoscaling_group.web", "aws", "drifted")
    assert p.resource_decision(s) is None  # rule 0 has a path: it never ignores the whole resource
    legacy = p.resource_decision(Subject("aws_s3_bucket", "legacy-logs", None, "aws", "unmanaged"))
    assert legacy is not None and (legacy.action, legacy.index) == ("ignore", 3)
    assert p.resource_decision(Subject("aws_s3_bucket", "new-logs", None, "aws", "unmanaged")) is None


def test_status_matcher_accepts_one_status_or_a_list() -> None:
    p = Policy.parse(
        "rules:\n- {type: aws_cloudwatch_log_group, status: [unmanaged, missing], action: ignore}\n"
    )
    assert p.rules[0].status == ["unmanaged", "missing"]
    lg = "aws_cloudwatch_log_group"
    assert p.resource_decision(Subject(lg, "/x", None, "aws", "unmanaged")) is not None
    assert p.resource_decision(Subject(lg, "/x", "a.b", "aws", "drifted")) is None
    p1 = Policy.parse(POLICY)
    assert p1.rules[4].status == ["unmanaged"]


def test_tag_matcher_needs_every_key_and_a_matching_value() -> None:
    p = Policy.parse("rules:\n- {tags: {env: prod, team: '*'}, severity: high}\n")
    ok = Subject("aws_vpc", "v", None, "aws", "unmanaged", {"env": "prod", "team": "net"})
    assert p.resource_decision(ok) is not None
    assert p.resource_decision(Subject("aws_vpc", "v", None, "aws", "unmanaged", {"env": "prod"})) is None
    assert (
        p.resource_decision(
            Subject("aws_vpc", "v", None, "aws", "unmanaged", {"env": "production", "team": "x"})
        )
        is None
    )


def test_yaml_scalars_in_tag_values_compare_as_text() -> None:
    p = Policy.parse("rules:\n- {tags: {public: true, tier: 1}, severity: high}\n")
    assert p.rules[0].tags == {"public": "true", "tier": "1"}
    assert p.resource_decision(
        Subject("aws_vpc", "v", None, "aws", "unmanaged", {"public": "true", "tier": "1"})
    )


def test_address_globs_treat_brackets_literally() -> None:
    p = Policy.parse("""rules:\n- {address: 'module.net.aws_subnet.private["a"]', severity: high}\n""")
    hit = Subject("aws_subnet", "s", 'module.net.aws_subnet.private["a"]', "aws", "drifted")
    miss = Subject("aws_subnet", "s", "module.net.aws_subnet.private[a]", "aws", "drifted")
    assert p.resource_decision(hit) is not None
    assert p.resource_decision(miss) is None


def test_empty_policy_file_has_no_rules() -> None:
    assert len(Policy.parse("")) == 0
    assert len(Policy.parse("version: 1\nrules: []\n")) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - type: aws_vpc\n    severity: low\n  - type: aws_iam_role\n    severity: extreme\n",
            "p.yaml: rules[1] (line 4): severity: Input should be 'low', 'medium', 'high' or 'critical'",
        ),
        (
            "rules:\n  - type: aws_vpc\n    action: delete\n",
            "p.yaml: rules[0] (line 2): action: Input should be 'ignore'",
        ),
        (
            "rules:\n  - type: aws_vpc\n",
            "p.yaml: rules[0] (line 2): a rule needs exactly one of `action: ignore` or `severity: <level>`",
        ),
        (
            "rules:\n  - type: aws_vpc\n    action: ignore\n    severity: low\n",
            "p.yaml: rules[0] (line 2): a rule needs exactly one of `action: ignore` or `severity: <level>`",
        ),
        ("rules:\n  - typ: aws_vpc\n    action: ignore\n", "p.yaml: rules[0] (line 2): typ: unknown field"),
        ("rules:\n  - path: 'tags..x'\n    action: ignore\n", "p.yaml: rules[0] (line 2): path: cannot read"),
        (
            "rules:\n  - tags: [a, b]\n    action: ignore\n",
            "p.yaml: rules[0] (line 2): tags: Input should be",
        ),
        ("version: 2\nrules: []\n", "p.yaml: version: Input should be 1"),
        ("- a\n- b\n", "p.yaml: a policy file must be a mapping with a `rules` list"),
        ("rules: [\n", "p.yaml: line 2: invalid YAML"),
    ],
)
def test_invalid_policy_names_file_rule_and_field(text: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        Policy.parse(text, "p.yaml")
    assert str(exc.value).startswith(message), str(exc.value)


def test_load_reads_a_file(tmp_path: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text(POLICY, encoding="utf-8")
    p = Policy.load(f)
    assert [r.name for r in p.rules][:2] == ["asg sizes itself", "prod iam is critical"]
    with pytest.raises(UsageError, match=r"nope\.yaml: policy file not found"):
        Policy.load(tmp_path / "nope.yaml")


# --- default severities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rtype", "path", "severity"),
    [
        ("aws_security_group", "ingress", "critical"),
        ("aws_security_group", "egress[0].cidr_blocks", "critical"),
        ("aws_security_group", "tags.Name", "low"),
        ("aws_security_group", "description", "medium"),
        ("aws_vpc_security_group_ingress_rule", "cidr_ipv4", "critical"),
        ("aws_iam_policy", "policy", "critical"),
        ("aws_iam_role", "assume_role_policy", "critical"),
        ("aws_iam_role", "max_session_duration", "medium"),
        ("aws_s3_bucket_public_access_block", "block_public_acls", "critical"),
        ("aws_kms_key", "policy", "critical"),
        ("aws_kms_key", "enable_key_rotation", "high"),
        ("aws_sqs_queue", "policy", "critical"),
        ("aws_sqs_queue", "kms_master_key_id", "high"),
        ("aws_instance", "instance_type", "medium"),
        ("aws_instance", "tags_all.env", "low"),
        ("aws_db_instance", "publicly_accessible", "critical"),
        ("aws_lambda_function", "memory_size", "medium"),
    ],
)
def test_default_change_severity_table(rtype: str, path: str, severity: str) -> None:
    assert DEFAULT_TABLE.change(rtype, path) == severity


@pytest.mark.parametrize(
    ("rtype", "status", "severity"),
    [
        ("aws_instance", "missing", "high"),
        ("aws_instance", "unmanaged", "medium"),
        ("aws_iam_role", "unmanaged", "high"),
        ("aws_security_group", "unmanaged", "high"),
        ("aws_vpc_security_group_ingress_rule", "unmanaged", "high"),
        ("aws_s3_bucket_public_access_block", "missing", "critical"),
        ("aws_instance", "drifted", None),
        ("aws_instance", "unsupported", None),
    ],
)
def test_default_status_severity(rtype: str, status: str, severity: str | None) -> None:
    assert DEFAULT_TABLE.status(rtype, status) == severity


def test_max_severity_orders_low_to_critical() -> None:
    assert max_severity(["low", "critical", "medium"]) == "critical"
    assert max_severity(["low", None, "medium"]) == "medium"
    assert max_severity([]) is None


# --- --filter ------------------------------------------------------------------------------------


def test_filter_keeps_resources_where_expression_is_truthy() -> None:
    f = ResourceFilter("type == 'aws_s3_bucket' && attributes.tags.env == 'prod'")
    assert f.matches("aws_s3_bucket", "b", {"tags": {"env": "prod"}}) is True
    assert f.matches("aws_s3_bucket", "b", {"tags": {"env": "dev"}}) is False
    assert f.matches("aws_sqs_queue", "q", {"tags": {"env": "prod"}}) is False


def test_filter_uses_jmespath_truthiness() -> None:
    assert ResourceFilter("attributes.count").matches("t", "i", {"count": 0}) is True
    assert ResourceFilter("attributes.names").matches("t", "i", {"names": []}) is False
    assert ResourceFilter("attributes.missing").matches("t", "i", {}) is False


def test_filter_accepts_driftctl_field_names() -> None:
    f = ResourceFilter("Type=='aws_iam_user' && Attr.name=='ci' && Id=='AIDA1'")
    assert f.matches("aws_iam_user", "AIDA1", {"name": "ci"}) is True


def test_filter_type_error_on_one_resource_drops_it() -> None:
    f = ResourceFilter("contains(attributes.tags.Name, 'web')")
    assert f.matches("aws_instance", "i-1", {"tags": {"Name": "web-1"}}) is True
    assert f.matches("aws_instance", "i-2", {"tags": None}) is False


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("type ==", "--filter: invalid JMESPath expression 'type ==': the expression is incomplete"),
        ("a b", "--filter: invalid JMESPath expression 'a b': unexpected token 'b' at character 3"),
        (
            "type == 'a",
            "--filter: invalid JMESPath expression \"type == 'a\": Unclosed ' delimiter at character 9",
        ),
        (
            "nosuchfn(type)",
            "--filter: invalid JMESPath expression 'nosuchfn(type)': Unknown function: nosuchfn()",
        ),
        (
            "length(type, id)",
            "--filter: invalid JMESPath expression 'length(type, id)': "
            "Expected 1 argument for function length(), received 2",
        ),
        ("  ", "--filter: the expression is empty"),
    ],
)
def test_invalid_filter_is_a_usage_error_naming_it(expr: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        ResourceFilter(expr)
    assert str(exc.value) == message


# --- applying the rules -------------------------------------------------------------------------


def test_changes_get_table_severity_and_item_gets_the_max() -> None:
    item = drifted(
        "aws_security_group", Change("tags.env", "a", "b"), Change("ingress", [], [{"from_port": 22}])
    )
    apply_rules(item)
    assert [c.severity for c in item.changes] == ["low", "critical"]
    assert (item.status, item.severity) == ("drifted", "critical")


def test_policy_severity_overrides_the_table() -> None:
    p = Policy.parse("rules:\n- {type: aws_security_group, path: ingress, severity: low}\n")
    item = drifted("aws_security_group", Change("ingress", [], [1]), Change("description", "a", "b"))
    apply_rules(item, policy=p)
    assert [c.severity for c in item.changes] == ["low", "medium"]
    assert item.severity == "medium"


def test_all_changes_ignored_makes_the_item_in_sync() -> None:
    p = Policy.parse(POLICY)
    item = drifted("aws_autoscaling_group", Change("desired_capacity", 2, 3))
    apply_rules(item, policy=p)
    assert (item.status, item.severity, item.changes) == ("in_sync", None, [])


def test_driftignore_attribute_lines_drop_changes() -> None:
    di = DriftIgnore.parse("aws_instance.*.tags.Name\n")
    item = drifted(
        "aws_instance", Change("tags.Name", "a", "b"), Change("instance_type", "t3.micro", "t3.large")
    )
    apply_rules(item, driftignore=di)
    assert [(c.path, c.severity) for c in item.changes] == [("instance_type", "medium")]
    assert item.severity == "medium"


def test_ignored_resource_keeps_its_former_status_in_the_note() -> None:
    di = DriftIgnore.parse("aws_iam_user.ci\n", "repo/.driftignore")
    item = DriftItem("aws_iam_user", "ci", "aws", "unmanaged")
    apply_rules(item, driftignore=di)
    assert (item.status, item.severity, item.note) == (
        "ignored",
        None,
        "unmanaged, ignored by repo/.driftignore:1",
    )


def test_policy_ignore_names_the_rule() -> None:
    p = Policy.parse(POLICY, "policy.yaml")
    item = DriftItem("aws_cloudwatch_log_group", "/aws/x", "aws", "unmanaged")
    apply_rules(item, policy=p)
    assert item.status == "ignored"
    assert item.note == "unmanaged, ignored by policy.yaml: rules[4] (unmanaged log groups do not matter)"


def test_missing_and_unmanaged_get_status_severity_or_policy_severity() -> None:
    p = Policy.parse(POLICY)
    rules = Rules(policy=p)
    missing = rules.apply(DriftItem("aws_instance", "i-1", "aws", "missing", address="aws_instance.a"))
    assert missing.severity == "high"
    sandbox = rules.apply(
        DriftItem("aws_instance", "i-2", "aws", "missing", address="module.sandbox.aws_instance.a")
    )
    assert sandbox.severity == "low"
    iam = rules.apply(DriftItem("aws_iam_role", "r", "aws", "unmanaged"), tags={"env": "prod"})
    assert iam.severity == "critical"
    iam_dev = rules.apply(DriftItem("aws_iam_role", "r", "aws", "unmanaged"), tags={"env": "dev"})
    assert iam_dev.severity == "high"


def test_negated_driftignore_line_keeps_the_resource() -> None:
    di = DriftIgnore.parse("*\n!aws_iam_*\n")
    assert apply_rules(DriftItem("aws_vpc", "v", "aws", "unmanaged"), driftignore=di).status == "ignored"
    kept = apply_rules(DriftItem("aws_iam_role", "r", "aws", "unmanaged"), driftignore=di)
    assert (kept.status, kept.severity, kept.note) == ("unmanaged", "high", None)


def test_in_sync_and_unsupported_items_have_no_severity() -> None:
    assert apply_rules(DriftItem("aws_vpc", "v", "aws", "in_sync")).severity is None
    assert apply_rules(DriftItem("aws_foo", "v", "aws", "unsupported", severity="high")).severity is None
