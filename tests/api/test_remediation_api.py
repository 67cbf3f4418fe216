"""/api/v1/remediation/plans: a plan built from a stored scan (live resources on moto), reviewed under
the four-eyes rule (creator 403, viewer/operator 403, approver 200), applied only once approved (409
before), dry-run without change, comments, listing and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from driftmgr.engine.report import build_report
from driftmgr.models import Change, DriftItem
from driftmgr.platform.db.scans import save_scan
from tests.api.conftest import Api
from tests.fixtures.moto_server import AwsEnv

PLANS = "/api/v1/remediation/plans"


@pytest.fixture
def drift(api: Api, aws_env: AwsEnv) -> dict[str, str]:
    """A VPC whose Name tag was changed by hand, and a stored scan reporting it (severity medium)."""
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "changed-by-hand"}])
    item = DriftItem(
        type="aws_vpc",
        id=vpc,
        provider="aws",
        status="drifted",
        address="aws_vpc.main",
        region="us-east-1",
        severity="medium",
        changes=[Change("tags.Name", "main", "changed-by-hand", "medium")],
    )
    doc = build_report([item], sources=["prod.tfstate"]).to_dict()
    return {"vpc": vpc, "scan_id": save_scan(api.platform.db, doc)}


def _create(api: Api, scan_id: str, role: str = "admin", **body: Any) -> dict[str, Any]:
    r = api.client.post(PLANS, json={"scan_id": scan_id, **body}, headers=api.as_role(role))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _name_tag(aws: AwsEnv, vpc: str) -> str:
    tags = aws.client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"][0].get("Tags", [])
    return str({t["Key"]: t["Value"] for t in tags}["Name"])


def test_four_eyes_and_roles_decide_who_approves(api: Api, drift: dict[str, str], aws_env: AwsEnv) -> None:
    plan = _create(api, drift["scan_id"])  # the admin creates it: admins may approve, never their own
    assert plan["status"] == "pending" and plan["risk"] == "medium" and plan["needs_approval"]
    (action,) = plan["plan"]["actions"]
    assert action["kind"] == "revert" and action["steps"], action
    assert plan["created_by"] == "admin"
    url = f"{PLANS}/{plan['id']}"

    r = api.client.post(f"{url}/approve", json={}, headers=api.as_role("admin"))
    assert r.status_code == 403 and "four eyes" in r.json()["error"]["message"]
    for role in ("viewer", "operator"):
        r = api.client.post(f"{url}/approve", json={}, headers=api.as_role(role))
        assert r.status_code == 403, (role, r.text)
        assert r.json()["error"]["code"] == "forbidden"

    r = api.client.post(f"{url}/apply", json={}, headers=api.as_role("operator"))
    assert r.status_code == 409 and "approved" in r.json()["error"]["message"]
    assert api.client.get(url, headers=api.as_role("viewer")).json()["status"] == "pending"

    r = api.client.post(f"{url}/apply", json={"dry_run": True}, headers=api.as_role("operator"))
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert any(drift["vpc"] in line for line in r.json()["lines"]), r.json()
    assert _name_tag(aws_env, drift["vpc"]) == "changed-by-hand"  # the dry run changed nothing

    r = api.client.post(f"{url}/approve", json={"comment": "fine"}, headers=api.as_role("approver"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_by"] == "approver"
    assert r.json()["comments"][0]["body"] == "fine"

    r = api.client.post(f"{url}/apply", json={}, headers=api.as_role("operator"))
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    job = api.client.get(f"/api/v1/jobs/{job_id}", headers=api.as_role("viewer")).json()
    assert job["kind"] == "remediation" and job["priority"] == 9
    assert api.client.get(url, headers=api.as_role("viewer")).json()["status"] == "running"
    r = api.client.post(f"{url}/apply", json={}, headers=api.as_role("operator"))
    assert r.status_code == 409  # it runs once


def test_reject_comment_list_and_show(api: Api, drift: dict[str, str]) -> None:
    plan = _create(api, drift["scan_id"], role="operator", submit=False)
    assert plan["status"] == "draft" and plan["created_by"] == "operator"
    url = f"{PLANS}/{plan['id']}"
    r = api.client.post(f"{url}/comments", json={"body": "ready soon"}, headers=api.as_role("operator"))
    assert r.status_code == 201 and r.json()["comments"][-1]["body"] == "ready soon"
    r = api.client.post(f"{url}/comments", json={"body": "me too"}, headers=api.as_role("viewer"))
    assert r.status_code == 403
    assert api.client.post(f"{url}/submit", headers=api.as_role("operator")).json()["status"] == "pending"
    r = api.client.post(
        f"{url}/reject", json={"comment": "not in the freeze"}, headers=api.as_role("approver")
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert api.client.post(f"{url}/reject", json={}, headers=api.as_role("approver")).status_code == 422

    listed = api.client.get(PLANS, params={"status": "rejected"}, headers=api.as_role("viewer")).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]] and listed["total"] == 1
    assert "plan" not in listed["items"][0]  # lists stay small: actions are on the plan itself
    assert (
        api.client.get(PLANS, params={"status": "approved"}, headers=api.as_role("viewer")).json()["total"]
        == 0
    )
    assert api.client.get(f"{PLANS}/nope", headers=api.as_role("viewer")).status_code == 404


def test_bad_requests_are_clear_errors(api: Api, drift: dict[str, str]) -> None:
    admin = api.as_role("admin")
    r = api.client.post(PLANS, json={"scan_id": "no-such-scan"}, headers=admin)
    assert r.status_code == 404 and "no such scan" in r.json()["error"]["message"]
    r = api.client.post(
        PLANS, json={"scan_id": drift["scan_id"], "strategy": {"drifted": "delete"}}, headers=admin
    )
    assert r.status_code == 400 and "revert|accept" in r.json()["error"]["message"]
    r = api.client.post(
        PLANS, json={"scan_id": drift["scan_id"], "select": ["aws_s3_bucket.*"]}, headers=admin
    )
    assert r.status_code == 400 and "matches no" in r.json()["error"]["message"]
    assert api.client.post(PLANS, json={"scan_id": drift["scan_id"]}).status_code == 401
    r = api.client.post(f"{PLANS}/nope/rollback", headers=api.as_role("operator"))
    assert r.status_code == 404
