"""The drift report: summary, DESIGN §3 JSON shape, and the JSON Schema in docs/."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from driftmgr.engine.report import DriftReport, Source, build_report
from driftmgr.models import Change, DiscoveryError, DriftItem, StateHeader

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report-schema.json").read_text())
WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def sample_items() -> list[DriftItem]:
    return [
        DriftItem(
            "aws_vpc",
            "vpc-1",
            "aws",
            "in_sync",
            "aws_vpc.main",
            "123456789012",
            "us-east-1",
            source="s3://b/prod.tfstate",
        ),
        DriftItem(
            "aws_instance",
            "i-0abc",
            "aws",
            "drifted",
            "aws_instance.web",
            "123456789012",
            "us-east-1",
            severity="medium",
            source="s3://b/prod.tfstate",
            changes=[Change("instance_type", "t3.micro", "t3.large", "medium")],
        ),
        DriftItem(
            "aws_s3_bucket",
            "hand-made",
            "aws",
            "unmanaged",
            None,
            "123456789012",
            "us-east-1",
            severity="medium",
        ),
        DriftItem(
            "aws_sqs_queue",
            "https://q/1",
            "aws",
            "missing",
            "aws_sqs_queue.q",
            "123456789012",
            "us-east-1",
            severity="high",
            source="s3://b/prod.tfstate",
        ),
        DriftItem("aws_iam_user", "ci", "aws", "ignored", None, note="unmanaged, ignored by .driftignore:1"),
        DriftItem("aws_glue_job", "j", "aws", "unsupported", "aws_glue_job.j", source="s3://b/prod.tfstate"),
    ]


def sample_report() -> DriftReport:
    header = StateHeader(4, "1.7.0", 12, "lin-1", source="s3://b/prod.tfstate")
    errors = [DiscoveryError("aws", "ec2", "eu-west-1", "denied", "UnauthorizedOperation", "aws_instance")]
    return build_report(
        sample_items(), [header], errors, defaults_count=5, duration=1.23456, generated_at=WHEN
    )


def test_summary_counts_each_status_and_defaults_apart() -> None:
    r = sample_report()
    assert r.summary.to_dict() == {
        "total": 6,
        "in_sync": 1,
        "drifted": 1,
        "missing": 1,
        "unmanaged": 1,
        "ignored": 1,
        "unsupported": 1,
        "defaults": 5,
        "coverage": 0.6667,  # (1 in sync + 1 drifted) / (2 + 1 unmanaged)
        # 4 assessed (in_sync, drifted, missing, unmanaged); bad = 0.5 + 0.5 + 0.75 = 1.75
        # → floor(100 × (1 − 1.75/4)) = floor(56.25)
        "score": 56,
    }


def test_to_dict_has_exactly_the_design_shape() -> None:
    d = sample_report().to_dict()
    assert list(d) == [
        "version",
        "generated_at",
        "duration_s",
        "summary",
        "sources",
        "resources",
        "errors",
        "partial",
    ]
    assert d["version"] == 1
    assert d["generated_at"] == "2024-05-01T12:00:00Z"
    assert d["duration_s"] == 1.235
    assert d["sources"] == [{"state": "s3://b/prod.tfstate", "serial": 12, "lineage": "lin-1"}]
    drifted = d["resources"][0]
    assert drifted == {
        "address": "aws_instance.web",
        "type": "aws_instance",
        "id": "i-0abc",
        "provider": "aws",
        "account": "123456789012",
        "region": "us-east-1",
        "status": "drifted",
        "severity": "medium",
        "source": "s3://b/prod.tfstate",
        "changes": [
            {"path": "instance_type", "expected": "t3.micro", "actual": "t3.large", "severity": "medium"}
        ],
    }
    assert d["errors"] == [
        {
            "provider": "aws",
            "service": "ec2",
            "region": "eu-west-1",
            "kind": "denied",
            "message": "UnauthorizedOperation",
            "type": "aws_instance",
        }
    ]
    assert d["partial"] is True


def test_resources_are_sorted_by_status_then_type_then_address() -> None:
    d = sample_report().to_dict()
    assert [(r["status"], r["type"]) for r in d["resources"]] == [
        ("drifted", "aws_instance"),
        ("missing", "aws_sqs_queue"),
        ("unmanaged", "aws_s3_bucket"),
        ("unsupported", "aws_glue_job"),
        ("ignored", "aws_iam_user"),
        ("in_sync", "aws_vpc"),
    ]


def test_report_without_errors_is_not_partial_and_has_no_drift_when_clean() -> None:
    r = build_report([DriftItem("aws_vpc", "v", "aws", "in_sync")], generated_at=WHEN)
    assert r.partial is False and r.errors == []
    assert r.has_drift is False
    assert sample_report().has_drift is True


def test_to_dict_validates_against_the_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(sample_report().to_dict(), SCHEMA, cls=jsonschema.Draft202012Validator)
    empty = build_report([], generated_at=WHEN).to_dict()
    jsonschema.validate(empty, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["resources"][0].update(status="gone"),
        lambda d: d["resources"][0].update(severity="urgent"),
        lambda d: d["resources"][0].update(changes=[]),  # drifted needs at least one change
        lambda d: d["resources"][0].pop("address"),
        lambda d: d["resources"][0].update(extra=1),
        lambda d: d["summary"].update(score=101),
        lambda d: d["summary"].pop("defaults"),
        lambda d: d.update(version=2),
        lambda d: d["resources"][1].update(severity=None),  # missing needs a severity
    ],
)
def test_schema_rejects_documents_that_break_the_contract(mutate: Callable[[dict[str, Any]], object]) -> None:
    d = sample_report().to_dict()
    mutate(d)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(d, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_from_dict_round_trips() -> None:
    r = sample_report()
    d = r.to_dict()
    assert DriftReport.from_dict(json.loads(json.dumps(d))).to_dict() == d


def test_sources_accept_headers_dicts_and_strings() -> None:
    r = build_report(
        [],
        [
            StateHeader(4, None, 3, "l", source="a.tfstate"),
            {"state": "b.tfstate", "serial": 1},
            "c.tfstate",
            Source("d.tfstate", 9, "x"),
        ],
        generated_at="2024-01-01T00:00:00Z",
    )
    assert [s.to_dict() for s in r.sources] == [
        {"state": "a.tfstate", "serial": 3, "lineage": "l"},
        {"state": "b.tfstate", "serial": 1, "lineage": None},
        {"state": "c.tfstate", "serial": None, "lineage": None},
        {"state": "d.tfstate", "serial": 9, "lineage": "x"},
    ]
    assert r.generated_at == "2024-01-01T00:00:00Z"


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown drift status 'gone'"):
        build_report([DriftItem("aws_vpc", "v", "aws", "gone")])
