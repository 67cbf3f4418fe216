"""WorkflowService's real job kinds on the embedded pool: drift scans, discovery, reports, plugins."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import InventorySnapshot, Scan
from driftmgr.platform.jobs import LocalQueue
from driftmgr.platform.jobs.runner import RunContext
from driftmgr.platform.jobs.store import Claimed
from driftmgr.platform.runtime import Platform
from driftmgr.services.workflow import WorkflowService, load_plugins
from tests.fixtures.db import settings_for
from tests.platform.job_plugins import RecordingBus

AWS_PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'


def write_state(path: Path, vpc_id: str, cidr: str) -> Path:
    """A small Terraform state (format 4) holding one VPC, as `terraform apply` writes it."""
    state = {
        "version": 4,
        "terraform_version": "1.7.0",
        "serial": 3,
        "lineage": "0b6d2e4c-3c1f-4d2a-9a57-7d1f3a9f0c11",
        "outputs": {},
        "resources": [
            {
                "mode": "managed",
                "type": "aws_vpc",
                "name": "main",
                "provider": AWS_PROVIDER,
                "instances": [
                    {
                        "schema_version": 1,
                        "attributes": {
                            "id": vpc_id,
                            "arn": f"arn:aws:ec2:us-east-1:123456789012:vpc/{vpc_id}",
                            "cidr_block": cidr,
                            "tags": {"Name": "main"},
                        },
                    }
                ],
            }
        ],
    }
    path.write_text(json.dumps(state))
    return path


@pytest.fixture
def small_state(aws_env: Any, tmp_path: Path) -> Path:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "main"}])
    ec2.create_vpc(CidrBlock="10.61.0.0/16")  # unmanaged
    return write_state(tmp_path / "small.tfstate", vpc, "10.60.0.0/16")


@pytest.fixture
def workflow(database: Database, tmp_path: Path) -> Iterator[tuple[WorkflowService, RecordingBus]]:
    bus = RecordingBus()
    settings = settings_for(database, tmp_path, jobs_retry_delay=0.05)
    queue = LocalQueue(settings, database, bus, poll_s=0.1)
    platform = Platform(settings=settings, db=database, events=bus, cache=None, jobs=queue)  # type: ignore[arg-type]
    service = WorkflowService(platform)
    service.register_handlers()
    yield service, bus
    queue.close(timeout=5)


def scans_for(db: Database, job_id: str) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Scan).where(Scan.job_id == job_id)) or 0


def test_drift_job_stores_its_scan_once(workflow: Any, small_state: Path, database: Database) -> None:
    service, bus = workflow
    service.jobs.start()
    job_id = service.submit("drift", {"sources": [str(small_state)], "regions": ["us-east-1"]})
    view = service.wait(job_id, timeout=60)
    assert view.status == "succeeded", view.error
    assert view.result is not None
    scan_id = view.result["scan_id"]
    assert (view.result["unmanaged"], view.result["missing"], view.result["drifted"]) == (1, 0, 0)
    with database.session() as s:
        scan = s.get(Scan, scan_id)
        assert scan is not None and scan.job_id == job_id and scan.sources == [str(small_state)]
    progress = bus.query("job.progress", job_id=job_id, limit=1000)
    assert progress and progress[-1].payload["percent"] >= 90
    # the same job run again (its worker died after storing) stores nothing more
    ctx = RunContext(Claimed(job_id, "drift", view.payload, 2, 3, 60.0, "again"), service.jobs.store)
    assert service.run_drift(ctx)["scan_id"] == scan_id
    assert scans_for(database, job_id) == 1


def test_discovery_job_stores_an_inventory_snapshot(
    workflow: Any, small_state: Path, database: Database
) -> None:
    service, _bus = workflow
    service.jobs.start()
    job_id = service.submit("discovery", {"regions": ["us-east-1"], "types": ["aws_vpc"]})
    view = service.wait(job_id, timeout=60)
    assert view.status == "succeeded", view.error
    assert view.result is not None and view.result["count"] == 3  # default + managed + unmanaged
    with database.session() as s:
        snap = s.scalars(select(InventorySnapshot).where(InventorySnapshot.job_id == job_id)).one()
        assert {r["attributes"]["cidr_block"] for r in snap.resources} >= {"10.60.0.0/16", "10.61.0.0/16"}
    ctx = RunContext(Claimed(job_id, "discovery", view.payload, 2, 3, 60.0, "again"), service.jobs.store)
    assert service.run_discovery(ctx)["snapshot_id"] == view.result["snapshot_id"]


def test_report_job_renders_a_stored_scan(workflow: Any, small_state: Path, tmp_path: Path) -> None:
    service, _bus = workflow
    service.jobs.start()
    drift = service.wait(service.submit("drift", {"sources": [str(small_state)]}), timeout=60)
    assert drift.status == "succeeded", drift.error
    out = tmp_path / "out" / "report.md"
    job_id = service.submit(
        "report", {"scan_id": drift.result["scan_id"], "format": "markdown", "output": str(out)}
    )
    view = service.wait(job_id, timeout=30)
    assert view.status == "succeeded", view.error
    assert view.result is not None and view.result["path"] == str(out)
    assert "unmanaged" in out.read_text().lower()


def test_cancelled_discovery_stops_within_two_seconds(workflow: Any, small_state: Path) -> None:
    service, bus = workflow
    service.jobs.start()
    job_id = service.submit("discovery", {"regions": ["us-east-1", "us-west-2", "eu-west-1"]})
    deadline = time.monotonic() + 30
    while service.status(job_id).progress <= 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    asked = time.monotonic()
    service.cancel(job_id)
    view = service.wait(job_id, timeout=10)
    took = time.monotonic() - asked
    assert view.status == "cancelled"
    assert took < 2.0, f"stopped {took:.2f}s after the cancel"
    assert bus.types(job_id)[-1] == "job.cancelled"


def test_submit_validates_payloads(workflow: Any) -> None:
    service, _bus = workflow
    with pytest.raises(UsageError, match="'sources' list is required"):
        service.submit("drift", {})
    with pytest.raises(UsageError, match="unknown drift job option"):
        service.submit("drift", {"sources": ["a.tfstate"], "color": "red"})
    with pytest.raises(UsageError, match="must be a list of non-empty strings"):
        service.submit("discovery", {"regions": "us-east-1"})
    with pytest.raises(UsageError, match="no such scan"):
        service.submit("report", {"scan_id": "nope"})
    with pytest.raises(UsageError, match="unknown job kind"):
        service.submit("mystery")
    assert service.list() == []  # nothing was queued by a rejected command


def test_a_bad_state_fails_the_drift_job_once_with_its_reason(workflow: Any, tmp_path: Path) -> None:
    service, _bus = workflow
    bad = tmp_path / "bad.tfstate"
    bad.write_text("{not json")
    service.jobs.start()
    view = service.wait(service.submit("drift", {"sources": [str(bad)]}), timeout=30)
    assert view.status == "failed" and view.attempts == 1
    assert view.error is not None and "bad.tfstate" in view.error


def test_plugins_register_kinds_and_bad_specs_are_clear(workflow: Any) -> None:
    service, _bus = workflow
    assert load_plugins("tests.platform.job_plugins:register", service.jobs) == [
        "tests.platform.job_plugins:register"
    ]
    assert {"probe", "record"} <= set(service.jobs.handlers)
    with pytest.raises(UsageError, match="cannot load job plugin"):
        load_plugins("tests.platform.nothing_here:register", service.jobs)
    with pytest.raises(UsageError, match="'module:function'"):
        load_plugins("just_a_module", service.jobs)
