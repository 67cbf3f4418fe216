"""A schedule end to end on the embedded pool: the scheduler submits through WorkflowService, the drift
job runs against moto, and its scan joins the history of the same source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.platform.db.engine import Database
from driftmgr.platform.jobs import LocalQueue
from driftmgr.platform.runtime import Platform
from driftmgr.platform.scheduler import Scheduler
from driftmgr.services.history import HistoryService
from driftmgr.services.schedules import ScheduleService
from driftmgr.services.workflow import WorkflowService
from tests.cli.helpers import AWS, doc, write
from tests.fixtures.db import settings_for
from tests.platform.job_plugins import RecordingBus


@pytest.fixture
def workflow(database: Database, tmp_path: Path) -> Iterator[WorkflowService]:
    settings = settings_for(database, tmp_path, jobs_retry_delay=0.05)
    bus = RecordingBus()
    queue = LocalQueue(settings, database, bus, poll_s=0.1)
    platform = Platform(settings=settings, db=database, events=bus, cache=None, jobs=queue)  # type: ignore[arg-type]
    service = WorkflowService(platform)
    service.register_handlers()
    yield service
    queue.close(timeout=5)


def test_a_scheduled_run_stores_a_scan_in_the_sources_history(
    workflow: WorkflowService,
    database: Database,
    aws_env: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.create_vpc(CidrBlock="10.62.0.0/16")  # unmanaged
    gone = "vpc-0aaaaaaaaaaaaaaa1"
    state = doc(
        resources=[
            {
                "mode": "managed",
                "type": "aws_vpc",
                "name": "gone",
                "provider": AWS,
                "instances": [
                    {"attributes": {"id": gone, "arn": f"arn:aws:ec2:us-east-1:123456789012:vpc/{gone}"}}
                ],
            }
        ]
    )
    write(tmp_path / "prod.tfstate", state)
    monkeypatch.chdir(tmp_path)
    view = ScheduleService(database).add(
        "prod", "*/5 * * * *", ["prod.tfstate"], regions=["us-east-1"], options={"types": ["aws_vpc"]}
    )
    assert view.next_run_at is not None

    workflow.jobs.start()
    (fired,) = Scheduler(database, workflow.submit).tick(view.next_run_at)
    assert fired.job_id is not None and fired.error is None
    job = workflow.wait(fired.job_id, timeout=90)
    assert job.status == "succeeded", job.error
    assert job.payload == {
        "sources": [str(tmp_path / "prod.tfstate")],
        "provider": "aws",
        "regions": ["us-east-1"],
        "types": ["aws_vpc"],
    }

    (scan,) = HistoryService(database).scans(source="prod.tfstate")
    assert scan.job_id == fired.job_id and scan.missing == 1
    assert ScheduleService(database).get("prod").last_job_id == fired.job_id
