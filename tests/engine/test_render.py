"""Renderers: each output parsed back (JSON, XML, HTML, SARIF) and its content asserted."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jsonschema
import pytest

from driftmgr.engine.render import FORMATS, render
from driftmgr.engine.report import DriftReport, build_report
from driftmgr.models import Change, DiscoveryError, DriftItem
from tests.engine.test_report import SCHEMA, WHEN, sample_report

EVIL = '<script>alert("x")</script>|`'

# What GitHub code scanning requires of an uploaded SARIF 2.1.0 log (docs: "SARIF support for code
# scanning"): version, runs[].tool.driver.name, rules with ids, results with ruleId, message.text,
# a level from the SARIF enum and at least one location with a physical artifact URI and region.
GITHUB_SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "semanticVersion": {"type": "string"},
                                    "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
                                },
                            }
                        },
                    },
                    "results": {"type": "array", "maxItems": 25000, "items": {"$ref": "#/$defs/result"}},
                },
            },
        },
    },
    "$defs": {
        "message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        "level": {"enum": ["none", "note", "warning", "error"]},
        "rule": {
            "type": "object",
            "required": ["id", "shortDescription", "fullDescription", "defaultConfiguration"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "shortDescription": {"$ref": "#/$defs/message"},
                "fullDescription": {"$ref": "#/$defs/message"},
                "help": {"$ref": "#/$defs/message"},
                "defaultConfiguration": {
                    "type": "object",
                    "properties": {"level": {"$ref": "#/$defs/level"}},
                },
                "properties": {
                    "type": "object",
                    "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
                },
            },
        },
        "result": {
            "type": "object",
            "required": ["ruleId", "message", "locations"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": 0},
                "level": {"$ref": "#/$defs/level"},
                "message": {"$ref": "#/$defs/message"},
                "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                "locations": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 10,
                    "items": {
                        "type": "object",
                        "required": ["physicalLocation"],
                        "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "required": ["artifactLocation", "region"],
                                "properties": {
                                    "artifactLocation": {
                                        "type": "object",
                                        "required": ["uri"],
                                        "properties": {"uri": {"type": "string", "minLength": 1}},
                                    },
                                    "region": {
                                        "type": "object",
                                        "required": ["startLine"],
                                        "properties": {"startLine": {"type": "integer", "minimum": 1}},
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}


def evil_report() -> DriftReport:
    items = [
        DriftItem(
            "aws_instance",
            EVIL,
            "aws",
            "drifted",
            "aws_instance.web",
            severity="high",
            source="prod.tfstate",
            changes=[
                Change("tags.Name", EVIL, "ok\x00", "low"),
                Change("vpc_security_group_ids", ["sg-1"], [], "high"),
            ],
        ),
    ]
    return build_report(items, ["prod.tfstate"], generated_at=WHEN)


def test_every_format_is_registered() -> None:
    assert FORMATS == ("table", "json", "html", "markdown", "sarif", "junit")
    with pytest.raises(ValueError, match="unknown report format 'yaml'"):
        render(sample_report(), "yaml")


# --- table ---------------------------------------------------------------------------------------


def test_table_groups_by_status_and_shows_changes_as_arrows() -> None:
    out = render(sample_report(), "table", width=200)
    titles = [line.strip() for line in out.splitlines() if line.strip().endswith("(1)")]
    assert titles == ["Drifted (1)", "Missing (1)", "Unmanaged (1)", "Unsupported (1)", "Ignored (1)"]
    assert 'instance_type: "t3.micro" → "t3.large"' in out
    assert "│ aws_sqs_queue.q │ https://q/1 │ high" in out
    assert "UnauthorizedOperation" in out
    assert out.rstrip().splitlines()[-1] == (
        "Drift found (partial: some discovery failed): 1 drifted, 1 missing, 1 unmanaged, 1 in sync, "
        "1 ignored, 1 unsupported, 5 defaults; coverage 66.7%, score 56/100"
    )
    assert "aws_vpc.main" not in out  # in-sync resources are counted, not listed, by default
    assert "\x1b[" not in out  # no colour codes unless asked


def test_table_lists_in_sync_on_request_and_colours_on_request() -> None:
    out = render(sample_report(), "table", width=200, show_in_sync=True, color=True)
    assert "aws_vpc.main" in out
    assert "\x1b[" in out


# --- json ----------------------------------------------------------------------------------------


def test_json_is_the_report_document_and_matches_the_schema() -> None:
    r = sample_report()
    doc = json.loads(render(r, "json"))
    assert doc == r.to_dict()
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


# --- html ----------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(doc: str) -> _Collector:
    c = _Collector()
    c.feed(doc)
    c.close()
    return c


def test_html_is_self_contained() -> None:
    page = parse_html(render(sample_report(), "html"))
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert [a for a, _ in page.attrs if a in ("src", "href")] == []
    assert page.tags.count("style") == 1
    text = " ".join(page.text)
    assert "DriftMgr drift report" in text
    assert "Drifted (1)" in text and "Missing (1)" in text and "In sync (1)" in text
    assert '"t3.micro"' in text and '"t3.large"' in text
    assert "UnauthorizedOperation" in text
    assert "66.7%" in text and "56/100" in text


def test_html_escapes_every_value() -> None:
    doc = render(evil_report(), "html")
    page = parse_html(doc)
    assert "script" not in page.tags
    assert "<script>" not in doc
    assert EVIL in " ".join(page.text)  # shown as text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in doc


# --- markdown ------------------------------------------------------------------------------------


def test_markdown_has_summary_and_one_table_per_status() -> None:
    md = render(sample_report(), "markdown")
    lines = md.splitlines()
    assert lines[0] == "## DriftMgr: ⚠️ Drift detected"
    assert (
        "**1 drifted · 1 missing · 1 unmanaged** · 1 in sync · 1 ignored · 1 unsupported · 5 defaults"
        in lines
    )
    assert [ln for ln in lines if ln.startswith("### ")] == [
        "### Drifted (1)",
        "### Missing (1)",
        "### Unmanaged (1)",
        "### Unsupported (1)",
    ]
    assert (
        "| `aws_instance.web` | 🟡 medium | aws 123456789012/us-east-1 | "
        '`instance_type`: `"t3.micro"` → `"t3.large"` |'
    ) in lines
    assert "> - aws ec2 eu\\-west\\-1: denied, UnauthorizedOperation" not in md  # '-' is not escaped
    assert "> - aws ec2 eu-west-1: denied, UnauthorizedOperation" in lines


def test_markdown_cells_cannot_break_the_table() -> None:
    md = render(evil_report(), "markdown")
    row = next(ln for ln in md.splitlines() if ln.startswith("| `aws_instance.web`"))
    # 4 cells → 5 unescaped pipes
    unescaped = [i for i, ch in enumerate(row) if ch == "|" and row[i - 1] != "\\"]
    assert len(unescaped) == 5
    # the value with a backtick goes into a double-backtick span, where HTML is inert
    assert '`` "<script>alert(\\"x\\")</script>\\|`" ``' in row


def test_markdown_escapes_html_and_markup_in_plain_text() -> None:
    item = DriftItem("aws_vpc", "v", "aws", "missing", "aws_vpc.v", severity="high", note="<b>*x*</b>")
    md = render(build_report([item], generated_at=WHEN), "markdown")
    assert "| `aws_vpc.v` | 🟠 high | aws | &lt;b&gt;\\*x\\*&lt;/b&gt; |" in md.splitlines()


def test_markdown_caps_rows_per_section() -> None:
    items = [DriftItem("aws_vpc", f"v{i}", "aws", "unmanaged", severity="medium") for i in range(5)]
    md = render(build_report(items, generated_at=WHEN), "markdown", max_items=2)
    assert "| … and 3 more | | | |" in md.splitlines()
    assert md.count("| `aws_vpc.v") == 2


def test_markdown_without_drift_says_so() -> None:
    md = render(build_report([DriftItem("aws_vpc", "v", "aws", "in_sync")], generated_at=WHEN), "markdown")
    assert md.splitlines()[0] == "## DriftMgr: ✅ No drift"
    assert "###" not in md


# --- sarif ---------------------------------------------------------------------------------------


def test_sarif_has_one_result_per_drifted_missing_unmanaged_item() -> None:
    log = json.loads(render(sample_report(), "sarif"))
    jsonschema.validate(log, GITHUB_SARIF_SUBSET)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["driftmgr/drifted", "driftmgr/missing", "driftmgr/unmanaged"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("driftmgr/drifted", "warning"),
        ("driftmgr/missing", "error"),
        ("driftmgr/unmanaged", "warning"),
    ]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert results[0]["message"]["text"] == (
        'aws_instance.web (i-0abc) drifted: instance_type: "t3.micro" → "t3.large"'
    )
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "s3://b/prod.tfstate"
    assert results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "aws_instance.web"
    # unmanaged resources have no state: they point at the first source of the run
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "s3://b/prod.tfstate"
    assert results[2]["message"]["text"] == "aws_s3_bucket hand-made exists in the cloud but in no state"
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == (
        "aws ec2 eu-west-1: denied: UnauthorizedOperation"
    )


def test_sarif_levels_follow_severity_and_fingerprints_are_stable() -> None:
    items = [
        DriftItem("aws_vpc", f"v-{sev}", "aws", "unmanaged", severity=sev)
        for sev in ("low", "medium", "high", "critical")
    ]
    log = json.loads(render(build_report(items, generated_at=WHEN), "sarif"))
    results = log["runs"][0]["results"]
    by_id = {r["properties"]["id"]: r["level"] for r in results}
    assert by_id == {"v-low": "note", "v-medium": "warning", "v-high": "error", "v-critical": "error"}
    again = json.loads(render(build_report(list(reversed(items)), generated_at=WHEN), "sarif"))
    fp = {r["properties"]["id"]: r["partialFingerprints"] for r in results}
    assert fp == {r["properties"]["id"]: r["partialFingerprints"] for r in again["runs"][0]["results"]}
    assert len({v["driftmgrResource/v1"] for v in fp.values()}) == 4
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "terraform.tfstate"


# --- junit ---------------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_resource_and_fails_drift() -> None:
    root = ET.fromstring(render(sample_report(), "junit"))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7",
        "failures": "3",
        "errors": "1",
        "skipped": "2",
    }
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {
        "aws_instance.web",
        "aws_sqs_queue.q",
        "aws_s3_bucket.hand-made",
        "aws_glue_job.j",
        "aws_iam_user.ci",
        "aws_vpc.main",
        "aws ec2 aws_instance eu-west-1",
    }
    fail = cases["aws_instance.web"].find("failure")
    assert fail is not None
    assert (fail.get("type"), fail.get("message"), fail.text) == (
        "drifted",
        "1 attribute drifted (severity medium)",
        'instance_type: "t3.micro" → "t3.large"',
    )
    assert cases["aws_vpc.main"].find("failure") is None and cases["aws_vpc.main"].find("skipped") is None
    skipped = cases["aws_iam_user.ci"].find("skipped")
    assert skipped is not None and skipped.get("message") == "ignored: unmanaged, ignored by .driftignore:1"
    err = cases["aws ec2 aws_instance eu-west-1"].find("error")
    assert err is not None and err.get("type") == "denied"


def test_junit_survives_characters_xml_cannot_carry() -> None:
    report = evil_report()
    report.errors.append(DiscoveryError("aws", "s3", None, "error", "bad\x07byte"))
    root = ET.fromstring(render(report, "junit"))  # would raise on a raw control character
    fail = root.find("testsuite/testcase/failure")
    assert fail is not None and fail.text is not None
    assert 'tags.Name: "<script>alert(\\"x\\")</script>|`" → "ok\\u0000"' in fail.text
    err = root.find("testsuite/testcase/error")
    assert err is not None and err.get("message") == "bad\ufffdbyte"


def test_table_caps_rows_per_status_when_asked() -> None:
    items = [DriftItem("aws_vpc", f"v{i}", "aws", "unmanaged", severity="medium") for i in range(5)]
    out = render(build_report(items, generated_at=WHEN), "table", width=200, max_rows=2)
    assert "aws_vpc.v0" in out and "aws_vpc.v1" in out and "aws_vpc.v2" not in out
    assert "… and 3 more (see --format json or html)" in out
