"""The remediation pages over HTTP (no browser, no JavaScript): an Approver reads each action's
expected → actual diff and exact steps and approves with the page's form (CSRF checked); the creator
and a Viewer see no decision buttons and are refused when they post anyway; a dry run shows the steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from driftmgr.api.app import create_app
from driftmgr.config import Settings
from driftmgr.engine.remediation import Action, ApiCall, Plan, Step
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.security import passwords
from driftmgr.services.access import AccessService, Actor
from driftmgr.services.remediation import RemediationService
from driftmgr.services.remediation_planner import BuiltPlan, parse_strategy
from tests.security.hashing import FAST

PASSWORD = "correct horse battery staple"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Platform, str]]:
    monkeypatch.setattr(passwords, "_hasher", FAST)
    monkeypatch.setattr(passwords, "_dummy_hash", None)
    settings = Settings(data_dir=tmp_path / "data", secret_key="g" * 48)
    platform = build_platform(settings, start_workers=False)
    access = AccessService(settings, platform.db)
    access.create_admin("admin", PASSWORD)
    for name, role in (("olga", "operator"), ("alice", "approver"), ("vic", "viewer")):
        access.add_user(Actor.cli(), name, PASSWORD, [role])
    service = RemediationService.for_platform(platform, access)
    params = {"Resources": ["vpc-0abc"], "Tags": [{"Key": "Name", "Value": "main"}]}
    call = ApiCall("aws", "ec2", "create_tags", params, "us-east-1")
    step = Step(kind="api", description="set tag Name of vpc-0abc", call=call)
    action = Action(
        id="a1",
        kind="revert",
        type="aws_vpc",
        resource_id="vpc-0abc",
        address="aws_vpc.main",
        region="us-east-1",
        changes=[
            {"path": "tags.Name", "expected": "main", "actual": "changed-by-hand", "severity": "medium"}
        ],
        risk="medium",
        steps=[step],
    )
    plan = Plan(actions=[action], strategy=parse_strategy(None))
    view = service.create(service.cli_actor("admin"), BuiltPlan(plan))
    with TestClient(create_app(settings, platform=platform), follow_redirects=False) as c:
        yield c, platform, view.id
    platform.close()


def _sign_in(client: TestClient, user: str, target: str) -> str:
    client.cookies.clear()
    r = client.post("/login", data={"username": user, "password": PASSWORD, "next": target}, headers=HTML)
    assert r.status_code == 303, r.text
    page = client.get(target, headers=HTML)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_an_approver_reviews_the_diff_and_steps_then_approves(site: tuple[TestClient, Platform, str]) -> None:
    client, _, plan_id = site
    url = f"/remediation/{plan_id}"
    csrf = _sign_in(client, "alice", url)
    page = client.get(url, headers=HTML).text
    assert "tags.Name" in page and "changed-by-hand" in page and ">main<" in page
    assert "aws ec2.create_tags(Resources=[&#34;vpc-0abc&#34;]" in page  # the exact call, escaped
    assert ">Approve</button>" in page and ">Reject</button>" in page
    assert ">Apply</button>" not in page  # approvers do not execute

    r = client.post(f"{url}/approve", data={"comment": "checked"}, headers=HTML)
    assert r.status_code == 403  # no CSRF token
    r = client.post(f"{url}/approve", data={"comment": "checked", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == url
    page = client.get(url, headers=HTML).text
    assert 'id="plan-status">approved<' in page and "checked" in page and ">Approve</button>" not in page

    listing = client.get("/remediation", headers=HTML).text
    assert plan_id[:8] in listing and "approved" in listing


def test_the_creator_and_viewers_cannot_decide(site: tuple[TestClient, Platform, str]) -> None:
    client, _, plan_id = site
    url = f"/remediation/{plan_id}"
    csrf = _sign_in(client, "admin", url)
    page = client.get(url, headers=HTML).text
    assert "You created this plan" in page and ">Approve</button>" not in page
    r = client.post(f"{url}/approve", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 403 and "four eyes" in r.text

    csrf = _sign_in(client, "vic", url)
    page = client.get(url, headers=HTML).text
    assert 'id="decide"' not in page and "Add a comment" not in page
    for path in ("approve", "reject", "apply"):
        r = client.post(f"{url}/{path}", data={"csrf_token": csrf, "comment": "x"}, headers=HTML)
        assert r.status_code == 403, path
    assert "Plan a remediation" not in client.get("/remediation", headers=HTML).text


def test_operators_dry_run_but_cannot_apply_unapproved(site: tuple[TestClient, Platform, str]) -> None:
    client, _, plan_id = site
    url = f"/remediation/{plan_id}"
    csrf = _sign_in(client, "olga", url)
    page = client.get(url, headers=HTML).text
    assert ">Dry run</button>" in page and ">Apply</button>" not in page
    r = client.post(f"{url}/apply", data={"csrf_token": csrf, "dry_run": "1"}, headers=HTML)
    assert r.status_code == 200 and 'id="dry-run"' in r.text and "ec2.create_tags" in r.text
    r = client.post(f"{url}/apply", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 409 and "approved by an approver" in r.text
