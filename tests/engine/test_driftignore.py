"""`.driftignore`: driftctl's syntax and semantics, plus attribute paths and strict errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftmgr.engine.policy import DriftIgnore, match_path
from driftmgr.errors import UsageError
from driftmgr.models import Change


def ignored(text: str, *resources: tuple[str, str]) -> list[bool]:
    di = DriftIgnore.parse(text)
    return [di.is_resource_ignored(t, i) for t, i in resources]


def test_type_id_line_ignores_exactly_that_resource() -> None:
    assert ignored(
        "aws_iam_user.ci\n", ("aws_iam_user", "ci"), ("aws_iam_user", "cix"), ("aws_iam_role", "ci")
    ) == [
        True,
        False,
        False,
    ]


def test_comments_and_blank_lines_are_skipped() -> None:
    di = DriftIgnore.parse("# aws_iam_user.ci\n\n   \n  # indented comment\naws_s3_bucket.b\n")
    assert len(di) == 1
    assert di.is_resource_ignored("aws_iam_user", "ci") is False
    assert di.is_resource_ignored("aws_s3_bucket", "b") is True


def test_wildcards_in_type_and_id_follow_driftctl_fixture() -> None:
    # driftctl pkg/filter/testdata/drift_ignore_wildcard/.driftignore and its expectations
    text = "*2**.**d1*\ntype3.id1***0\n*.id\\\\WithBa*slas*\\\\**\\\\\n\n# this is *** comment\n"
    assert ignored(
        text,
        ("type1", "id1"),
        ("type2", "id1"),
        ("type2", "id11"),
        ("type2", "id2"),
        ("type3", "id100"),
        ("type3", "id101"),
        ("type4", "id\\WithBac*slash***\\*\\"),
    ) == [False, True, True, False, True, False, True]


def test_escaped_dots_and_backslashes_in_ids_follow_driftctl_fixture() -> None:
    # driftctl pkg/filter/testdata/drift_ignore_valid/.driftignore
    text = (
        "ignored_resource.id2\nwildcard_resource.*\nresource_type.id\\.with\\.dots\n"
        "resource_type.idwith\\\\\nresource_type.idwith\\\\backslashes\n"
    )
    assert ignored(
        text,
        ("type1", "id1"),
        ("wildcard_resource", "id1/with/slash"),
        ("ignored_resource", "id2"),
        ("resource_type", "id.with.dots"),
        ("resource_type", "idwith\\"),
        ("resource_type", "idwith\\backslashes"),
        ("resource_type", "idXwithXdots"),
    ) == [False, True, True, True, True, True, False]


def test_escaped_dot_in_bucket_name_is_not_an_attribute_path() -> None:
    di = DriftIgnore.parse("aws_s3_bucket.my\\.bucket\\.name\n")
    assert di.is_resource_ignored("aws_s3_bucket", "my.bucket.name") is True
    assert di.is_resource_ignored("aws_s3_bucket", "my") is False
    assert di.ignored_paths("aws_s3_bucket", "my") == []


def test_negation_later_line_wins() -> None:
    # driftctl drift_ignore_all_exclude: "*" then "!iam_user.*"
    assert ignored("*\n!iam_user.*\n", ("type1", "id1"), ("iam_user", "x")) == [True, False]
    # and the other way round: a later positive line re-ignores
    assert ignored("!iam_user.*\n*\n", ("iam_user", "x")) == [True]
    assert ignored(
        "aws_iam_user.*\n!aws_iam_user.admin\n", ("aws_iam_user", "admin"), ("aws_iam_user", "ci")
    ) == [
        False,
        True,
    ]


def test_line_without_id_ignores_every_resource_of_matching_types() -> None:
    # driftctl ignores `type` as `type.*`; `*` alone ignores everything
    assert ignored(
        "aws_s3*\n", ("aws_s3_bucket", "a"), ("aws_s3_bucket_policy", "a"), ("aws_sqs_queue", "q")
    ) == [
        True,
        True,
        False,
    ]
    assert ignored("*\n!aws_s3*\n", ("aws_s3_bucket", "a"), ("aws_route53_zone", "z")) == [False, True]


def test_attribute_line_ignores_the_path_not_the_resource() -> None:
    di = DriftIgnore.parse("aws_instance.*.tags.Name\n")
    assert di.is_resource_ignored("aws_instance", "i-1") is False
    assert di.ignored_paths("aws_instance", "i-1") == ["tags.Name"]
    assert di.ignored_paths("aws_vpc", "vpc-1") == []
    assert di.is_path_ignored("aws_instance", "i-1", "tags.Name") is True
    assert di.is_path_ignored("aws_instance", "i-1", "tags.name") is True  # driftctl: case-insensitive
    assert di.is_path_ignored("aws_instance", "i-1", "tags.env") is False
    assert di.is_path_ignored("aws_instance", "i-1", "instance_type") is False


def test_attribute_path_covers_everything_below_it() -> None:
    di = DriftIgnore.parse("aws_security_group.sg-1.ingress\naws_vpc.*.tags.*\n")
    assert di.is_path_ignored("aws_security_group", "sg-1", "ingress") is True
    assert di.is_path_ignored("aws_security_group", "sg-1", "ingress[0].cidr_blocks") is True
    assert di.is_path_ignored("aws_security_group", "sg-2", "ingress") is False
    assert di.is_path_ignored("aws_security_group", "sg-1", "egress") is False
    assert di.is_path_ignored("aws_vpc", "vpc-1", 'tags["kubernetes.io/role"]') is True
    assert di.is_path_ignored("aws_vpc", "vpc-1", "tags") is False  # the rule is narrower than the change


def test_attribute_paths_accept_dots_or_brackets_for_indexes() -> None:
    di = DriftIgnore.parse("aws_s3_bucket_versioning.*.versioning_configuration.0.status\n")
    assert di.is_path_ignored("aws_s3_bucket_versioning", "b", "versioning_configuration[0].status") is True
    di2 = DriftIgnore.parse("aws_s3_bucket_versioning.*.versioning_configuration[*].status\n")
    assert di2.is_path_ignored("aws_s3_bucket_versioning", "b", "versioning_configuration[3].status") is True
    assert (
        di2.is_path_ignored("aws_s3_bucket_versioning", "b", "versioning_configuration[3].mfa_delete")
        is False
    )


def test_escaped_dot_inside_an_attribute_path_is_a_map_key() -> None:
    di = DriftIgnore.parse("aws_eks_cluster.*.tags.kubernetes\\.io/cluster\n")
    assert di.ignored_paths("aws_eks_cluster", "c") == ['tags["kubernetes.io/cluster"]']
    assert di.is_path_ignored("aws_eks_cluster", "c", 'tags["kubernetes.io/cluster"]') is True
    assert di.is_path_ignored("aws_eks_cluster", "c", "tags.kubernetes") is False


def test_negated_attribute_line_takes_a_path_back() -> None:
    di = DriftIgnore.parse("aws_instance.*.tags\n!aws_instance.i-keep.tags\naws_instance.*.user_data\n")
    assert di.ignored_paths("aws_instance", "i-other") == ["tags", "user_data"]
    assert di.ignored_paths("aws_instance", "i-keep") == ["user_data"]
    assert di.is_path_ignored("aws_instance", "i-keep", "tags.env") is False
    assert di.is_path_ignored("aws_instance", "i-other", "tags.env") is True


def test_narrower_negation_keeps_one_attribute_under_an_ignored_one() -> None:
    di = DriftIgnore.parse("aws_instance.*.tags\n!aws_instance.*.tags.owner\n")
    assert di.is_path_ignored("aws_instance", "i-1", "tags.env") is True
    assert di.is_path_ignored("aws_instance", "i-1", "tags.owner") is False


def test_filter_changes_drops_ignored_paths_only() -> None:
    di = DriftIgnore.parse("aws_instance.*.tags.Name\n")
    changes = [Change("tags.Name", "a", "b"), Change("instance_type", "t3.micro", "t3.large")]
    assert [c.path for c in di.filter_changes("aws_instance", "i-1", changes)] == ["instance_type"]


def test_attribute_lines_do_not_ignore_resources_and_resource_lines_no_paths() -> None:
    di = DriftIgnore.parse("aws_instance.i-1\n")
    assert di.is_resource_ignored("aws_instance", "i-1") is True
    assert di.ignored_paths("aws_instance", "i-1") == []


def test_ids_with_slashes_and_colons_match_literally() -> None:
    di = DriftIgnore.parse("aws_iam_role_policy_attachment.role-x/arn:aws:iam::aws:policy/ReadOnlyAccess\n")
    rid = "role-x/arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert di.is_resource_ignored("aws_iam_role_policy_attachment", rid) is True


def test_wildcard_in_id_crosses_slashes() -> None:
    di = DriftIgnore.parse("aws_ssm_parameter./app/*\n")
    assert di.is_resource_ignored("aws_ssm_parameter", "/app/prod/db/password") is True
    assert di.is_resource_ignored("aws_ssm_parameter", "/other/x") is False


def test_missing_id_matches_only_wildcards() -> None:
    di = DriftIgnore.parse("aws_vpc.*\n")
    assert di.is_resource_ignored("aws_vpc", None) is True
    assert DriftIgnore.parse("aws_vpc.vpc-1\n").is_resource_ignored("aws_vpc", None) is False


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (".id", "line 2: empty type"),
        ("aws_vpc.", "line 2: empty id"),
        ("aws_vpc..tags", "line 2: empty id"),
        ("aws_instance.i-1.tags.", "line 2: empty attribute path part"),
        ("aws_vpc.x\\", "line 2: the line ends with a lone backslash"),
        ("!", "line 2: `!` must be followed by a rule"),
        ("4(\"è-(_ç'è-ç'(\".x", "line 2: invalid resource type"),
    ],
)
def test_bad_syntax_names_file_and_line(line: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        DriftIgnore.parse(f"aws_vpc.ok\n{line}\n", source="infra/.driftignore")
    assert str(exc.value).startswith(f"infra/.driftignore: {message}")
    assert repr(line.strip()) in str(exc.value)


def test_load_reads_the_file_and_names_it(tmp_path: Path) -> None:
    p = tmp_path / ".driftignore"
    p.write_text("aws_iam_user.ci\r\n!aws_iam_user.admin\r\n", encoding="utf-8")
    di = DriftIgnore.load(p)
    assert di.source == str(p)
    assert di.is_resource_ignored("aws_iam_user", "ci") is True
    rule = di.resource_rule("aws_iam_user", "ci")
    assert rule is not None and di.describe(rule) == f"{p}:1"


def test_load_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.driftignore: ignore file not found$"):
        DriftIgnore.load(tmp_path / ".driftignore")


def test_match_path_is_a_prefix_match_per_step() -> None:
    assert match_path("tags", "tags.env") is True
    assert match_path("tags.env", "tags") is False
    assert match_path("ingress[*].cidr_blocks", "ingress[2].cidr_blocks[0]") is True
    assert match_path("ingress.*.from_port", "ingress[2].to_port") is False
    assert match_path("Tags", "tags.env") is False
    assert match_path("Tags", "tags.env", ignore_case=True) is True
