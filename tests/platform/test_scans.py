"""Storing scans: items of every non-in-sync resource, idempotent per job id."""

from __future__ import annotations

from sqlalchemy import func, select

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Scan, ScanItem
from driftmgr.platform.db.scans import save_scan


def _report(**summary: int) -> dict[str, object]:
    base = {
        "total": 3,
        "in_sync": 1,
        "drifted": 1,
        "missing": 1,
        "unmanaged": 0,
        "ignored": 0,
        "unsupported": 0,
        "defaults": 0,
        "coverage": 1.0,
        "score": 80,
    }
    base.update(summary)
    return {
        "version": 1,
        "generated_at": "2026-12-01T10:00:00+00:00",
        "duration_s": 2.5,
        "summary": base,
        "sources": [{"state": "s3://b/prod.tfstate", "serial": 3, "lineage": "l"}],
        "resources": [
            {
                "address": "aws_vpc.a",
                "type": "aws_vpc",
                "id": "vpc-1",
                "provider": "aws",
                "account": "1",
                "region": "us-east-1",
                "status": "in_sync",
                "severity": None,
                "source": "s3://b/prod.tfstate",
                "changes": [],
            },
            {
                "address": "aws_vpc.b",
                "type": "aws_vpc",
                "id": "vpc-2",
                "provider": "aws",
                "account": "1",
                "region": "us-east-1",
                "status": "drifted",
                "severity": "medium",
                "source": "s3://b/prod.tfstate",
                "changes": [{"path": "tags.env", "expected": "a", "actual": "b", "severity": "low"}],
            },
            {
                "address": "aws_vpc.c",
                "type": "aws_vpc",
                "id": "vpc-3",
                "provider": "aws",
                "account": "1",
                "region": "us-east-1",
                "status": "missing",
                "severity": "high",
                "source": "s3://b/prod.tfstate",
                "changes": [],
            },
        ],
        "errors": [],
        "partial": False,
    }


def test_a_scan_keeps_its_summary_and_one_item_per_resource_out_of_sync(database: Database) -> None:
    scan_id = save_scan(database, _report())
    with database.session() as s:
        scan = s.get(Scan, scan_id)
        assert scan is not None
        assert (scan.drifted, scan.missing, scan.score, scan.status) == (1, 1, 80, "completed")
        assert scan.sources == ["s3://b/prod.tfstate"]
        assert scan.finished_at.isoformat() == "2026-12-01T10:00:00+00:00"
        items = s.scalars(select(ScanItem).where(ScanItem.scan_id == scan_id).order_by(ScanItem.key)).all()
        assert [(i.resource_id, i.status) for i in items] == [("vpc-2", "drifted"), ("vpc-3", "missing")]
        assert items[0].key == "aws/1/us-east-1/aws_vpc/vpc-2"
        assert items[0].changes[0]["path"] == "tags.env"


def test_the_same_job_stores_its_scan_once(database: Database) -> None:
    first = save_scan(database, _report(), job_id="job1")
    again = save_scan(database, _report(drifted=9), job_id="job1")
    assert again == first
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Scan)) == 1
        assert s.scalar(select(func.count()).select_from(ScanItem)) == 2


def test_a_partial_report_is_stored_as_partial(database: Database) -> None:
    report = _report()
    report["partial"] = True
    scan_id = save_scan(database, report)
    with database.session() as s:
        scan = s.get(Scan, scan_id)
        assert scan is not None and scan.status == "partial"
