"""engine/codegen/patch.py: accepting drift into the .tf text, every other byte kept, or a reason."""

from __future__ import annotations

from typing import Any

import pytest

from driftmgr.engine.codegen.patch import patch_config
from driftmgr.services.drift import provider_schema

SCHEMA = provider_schema("aws")

MAIN = """\
# the job queue (keep this comment)
resource "aws_sqs_queue" "jobs" {
  name                       = "rx-jobs" # its name
  visibility_timeout_seconds = 45
  tags = {
    Name = "rx-jobs" // who
    env  = "test"
  }
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}
"""

OTHER = """\
resource "aws_instance" "app" {
  ami           = var.ami
  instance_type = "t3.micro"
  tags          = { Name = "rx-app", env = "test" }
}
"""


def change(path: str, actual: Any, expected: Any = "x") -> dict[str, Any]:
    return {"path": path, "expected": expected, "actual": actual}


def patch(address: str, *changes: dict[str, Any], files: dict[str, str] | None = None) -> Any:
    files = files if files is not None else {"main.tf": MAIN, "app.tf": OTHER}
    return patch_config(files, address, list(changes), schema=SCHEMA.type(address.split(".")[0]))


def test_a_top_level_literal_gets_the_live_value_and_nothing_else_changes() -> None:
    p = patch("aws_sqs_queue.jobs", change("visibility_timeout_seconds", 90, 45))
    assert p.ok and p.patched == ["visibility_timeout_seconds"]
    assert p.files == {
        "main.tf": MAIN.replace("visibility_timeout_seconds = 45", "visibility_timeout_seconds = 90")
    }


def test_a_string_is_written_by_the_hcl_renderer_escaped() -> None:
    p = patch("aws_instance.app", change("instance_type", 'a"b${x}'))
    assert p.files["app.tf"] == OTHER.replace('"t3.micro"', '"a\\"b$${x}"')


def test_a_map_entry_is_replaced_in_place() -> None:
    p = patch("aws_sqs_queue.jobs", change("tags.env", "prod", "test"))
    assert p.files["main.tf"] == MAIN.replace('env  = "test"', 'env  = "prod"')


def test_a_map_entry_is_added_aligned_and_removed_with_realignment() -> None:
    added = patch("aws_sqs_queue.jobs", change("tags.owner", "bob", None))
    assert added.files["main.tf"] == MAIN.replace(
        '    Name = "rx-jobs" // who\n    env  = "test"\n',
        '    Name  = "rx-jobs" // who\n    env   = "test"\n    owner = "bob"\n',
    )
    removed = patch("aws_sqs_queue.jobs", change("tags.Name", None, "rx-jobs"))
    assert removed.files["main.tf"] == MAIN.replace(
        '    Name = "rx-jobs" // who\n    env  = "test"\n', '    env = "test"\n'
    )


def test_entries_of_a_one_line_map_are_replaced_added_and_removed() -> None:
    p = patch(
        "aws_instance.app",
        change("tags.env", None, "test"),
        change("tags.team", "red", None),
        change("tags.Name", "app 2", "rx-app"),
    )
    assert p.files["app.tf"] == OTHER.replace(
        '{ Name = "rx-app", env = "test" }', '{ Name = "app 2", team = "red" }'
    )
    assert p.patched == ["tags.env", "tags.team", "tags.Name"]


def test_a_key_that_is_not_an_identifier_is_quoted() -> None:
    p = patch("aws_instance.app", change('tags["kubernetes.io/role"]', "node", None))
    assert '{ Name = "rx-app", env = "test", "kubernetes.io/role" = "node" }' in p.files["app.tf"]


def test_an_argument_of_a_nested_block_is_set() -> None:
    p = patch(
        "aws_s3_bucket_versioning.data", change("versioning_configuration[0].status", "Suspended", "Enabled")
    )
    assert p.files == {"main.tf": MAIN.replace('status = "Enabled"', 'status = "Suspended"')}


def test_an_absent_argument_is_added_and_its_run_aligned_like_terraform_fmt() -> None:
    text = 'resource "aws_sqs_queue" "q" {\n  name = "q" # n\n\n  tags = {}\n}\n'
    p = patch("aws_sqs_queue.q", change("delay_seconds", 5, 0), files={"q.tf": text})
    # after the last argument (the multi-line-free run of `tags`): its own run
    assert (
        p.files["q.tf"] == 'resource "aws_sqs_queue" "q" {\n  name = "q" # n\n\n'
        "  tags          = {}\n  delay_seconds = 5\n}\n"
    )


def test_a_map_absent_from_the_block_is_added_with_its_key() -> None:
    text = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n'
    p = patch(
        "aws_sqs_queue.q",
        change("tags.team", "red", None),
        change("tags.env", "prod", None),
        files={"q.tf": text},
    )
    assert (
        p.files["q.tf"] == 'resource "aws_sqs_queue" "q" {\n  name = "q"\n'
        '  tags = {\n    team = "red"\n    env  = "prod"\n  }\n}\n'
    )


def test_a_null_live_value_removes_the_line_and_realigns() -> None:
    p = patch("aws_sqs_queue.jobs", change("visibility_timeout_seconds", None, 45))
    assert p.files["main.tf"] == MAIN.replace(
        '  name                       = "rx-jobs" # its name\n  visibility_timeout_seconds = 45\n',
        '  name = "rx-jobs" # its name\n',
    )


def test_a_computed_attribute_needs_no_line() -> None:
    p = patch(
        "aws_sqs_queue.jobs", change("arn", "arn:aws:sqs:x", "arn:old"), change("url", "https://x", "y")
    )
    assert p.ok and p.files == {} and [s for s, _ in p.skipped] == ["arn", "url"]


def test_crlf_files_keep_their_line_endings() -> None:
    crlf = MAIN.replace("\n", "\r\n")
    p = patch(
        "aws_sqs_queue.jobs",
        change("tags.owner", "bob", None),
        change("visibility_timeout_seconds", 90),
        files={"m.tf": crlf},
    )
    out = p.files["m.tf"]
    assert "\n" not in out.replace("\r\n", "") and '    owner = "bob"\r\n' in out
    assert out.startswith("# the job queue (keep this comment)\r\n")


def test_the_unified_diff_shows_exactly_the_edit() -> None:
    p = patch("aws_sqs_queue.jobs", change("visibility_timeout_seconds", 90, 45))
    lines = p.diff.splitlines()
    assert lines[:2] == ["--- a/main.tf", "+++ b/main.tf"]
    assert [x for x in lines if x[:1] in "+-" and not x.startswith(("---", "+++"))] == [
        "-  visibility_timeout_seconds = 45",
        "+  visibility_timeout_seconds = 90",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("var.timeout", "var.timeout"),  # a variable
        ("aws_sqs_queue.other.visibility_timeout_seconds", "aws_sqs_queue.other"),  # a reference
        ("max(30, 45)", "max(30, 45)"),  # a function call
        ("local.base + 15", "local.base + 15"),  # arithmetic
    ],
)
def test_an_expression_is_refused_never_overwritten(value: str, shown: str) -> None:
    text = MAIN.replace("visibility_timeout_seconds = 45", f"visibility_timeout_seconds = {value}")
    p = patch("aws_sqs_queue.jobs", change("visibility_timeout_seconds", 90), files={"main.tf": text})
    assert not p.ok and p.files == {} and p.diff == ""
    assert "expression" in (p.refused or "") and shown in (p.refused or "")


def test_a_template_string_and_an_expression_map_are_refused() -> None:
    text = MAIN.replace('env  = "test"', 'env  = "${var.env}"')
    p = patch("aws_sqs_queue.jobs", change("tags.env", "prod"), files={"main.tf": text})
    assert not p.ok and "expression" in (p.refused or "")
    merged = OTHER.replace('{ Name = "rx-app", env = "test" }', 'merge(local.tags, { env = "test" })')
    p = patch("aws_instance.app", change("tags.env", "prod"), files={"app.tf": merged})
    assert not p.ok and "merge(local.tags" in (p.refused or "")


def test_one_refused_change_means_no_edit_at_all() -> None:
    p = patch("aws_instance.app", change("instance_type", "t3.small"), change("ami", "ami-2"))
    assert not p.ok and p.files == {} and "ami" in (p.refused or "")


def test_a_missing_or_duplicated_block_is_refused() -> None:
    assert "no resource" in (patch("aws_sqs_queue.nope", change("name", "x")).refused or "")
    dup = {"a.tf": MAIN, "b.tf": MAIN}
    assert "2 places" in (patch("aws_sqs_queue.jobs", change("name", "x"), files=dup).refused or "")
    assert "child module" in (patch("module.m.aws_sqs_queue.jobs", change("name", "x")).refused or "")
    override = {
        "main.tf": MAIN,
        "main_override.tf": 'resource "aws_sqs_queue" "jobs" {\n  delay_seconds = 1\n}\n',
    }
    assert "overrid" in (patch("aws_sqs_queue.jobs", change("name", "x"), files=override).refused or "")


SG = """\
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
  }
  ingress {
    description = "http"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
  }
}
"""


def test_a_set_of_blocks_and_whole_block_changes_are_refused() -> None:
    p = patch("aws_security_group.web", change("ingress[1].description", "web"), files={"sg.tf": SG})
    assert "set of blocks" in (p.refused or "")
    p = patch("aws_security_group.web", change("ingress", []), files={"sg.tf": SG})
    assert "whole ingress blocks" in (p.refused or "")
    dyn = SG.replace(
        '  ingress {\n    description = "http"',
        '  dynamic "ingress" {\n    for_each = []\n    content {}\n  }\n'
        '  ingress {\n    description = "http"',
    )
    p = patch("aws_security_group.web", change("ingress[0].description", "web"), files={"sg.tf": dyn})
    assert "dynamic" in (p.refused or "")


def test_count_instances_are_patched_only_when_they_are_the_only_one() -> None:
    many = OTHER.replace("  ami ", "  count         = 2\n  ami ")
    p = patch("aws_instance.app[0]", change("instance_type", "t3.small"), files={"app.tf": many})
    assert not p.ok and "count" in (p.refused or "")
    derived = many.replace('"t3.micro"', 'count.index == 0 ? "t3.micro" : "t3.small"')
    assert not patch("aws_instance.app[1]", change("instance_type", "t3.small"), files={"app.tf": derived}).ok
    one = OTHER.replace("  ami ", "  count         = 1\n  ami ")
    p = patch("aws_instance.app[0]", change("instance_type", "t3.small"), files={"app.tf": one})
    assert p.ok and '"t3.small"' in p.files["app.tf"]
    assert "neither count nor for_each" in (
        patch("aws_instance.app[0]", change("instance_type", "x")).refused or ""
    )
    keyed = OTHER.replace("  ami ", "  for_each      = { blue = 1 }\n  ami ")
    assert patch('aws_instance.app["blue"]', change("instance_type", "x"), files={"app.tf": keyed}).ok


def test_an_argument_the_type_does_not_have_is_refused() -> None:
    p = patch("aws_sqs_queue.jobs", change("no_such_thing", 1))
    assert not p.ok and "no argument" in (p.refused or "")


def test_heredocs_comments_and_braces_in_strings_do_not_confuse_the_reader() -> None:
    text = (
        'locals {\n  doc = <<EOT\n}\nresource "aws_sqs_queue" "jobs" {\nEOT\n}\n'
        '/* resource "aws_sqs_queue" "jobs" { */\n'
        'resource "aws_sqs_queue" "jobs" {\n  name   = "a}b{" # }\n  policy = jsonencode({ a = "}" })\n'
        "  delay_seconds = 1\n}\n"
    )
    p = patch("aws_sqs_queue.jobs", change("delay_seconds", 7, 1), files={"x.tf": text})
    assert p.ok and p.files["x.tf"] == text.replace("delay_seconds = 1", "delay_seconds = 7")
