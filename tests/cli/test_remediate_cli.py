"""`driftmgr remediate …` in-process: plan files from a report, the four-eyes rule on the CLI
(`--as USER`), a dry run that changes nothing, apply --wait and rollback --wait on moto, and one clear
error line for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from driftmgr.config import load_settings
from driftmgr.engine.report import build_report
from driftmgr.models import Change, DriftItem
from driftmgr.platform.db.engine import open_database
from driftmgr.services.access import AccessService, Actor
from tests.cli.helpers import run
from tests.fixtures.moto_server import AwsEnv
from tests.platform.test_jobs_workflow import write_state


@pytest.fixture
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data dir of this test's own, with an operator, an approver, an approver-operator, a viewer."""
    monkeypatch.setenv("DRIFTMGR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DRIFTMGR_USER", raising=False)
    settings = load_settings()
    db = open_database(settings)
    try:
        access = AccessService(settings, db)
        roles = {
            "olga": ["operator"],
            "alice": ["approver"],
            "abe": ["approver", "operator"],
            "vic": ["viewer"],
        }
        for name, granted in roles.items():
            access.add_user(Actor.cli(), name, None, granted)
    finally:
        db.dispose()


def _report_file(tmp_path: Path, aws: AwsEnv) -> tuple[Path, str, str]:
    ec2 = aws.client("ec2")
    drifted = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[drifted], Tags=[{"Key": "Name", "Value": "changed-by-hand"}])
    shadow = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    state = write_state(tmp_path / "prod.tfstate", drifted, "10.90.0.0/16")  # says Name=main
    change = Change("tags.Name", "main", "changed-by-hand", "medium")
    common: dict[str, Any] = {
        "type": "aws_vpc",
        "provider": "aws",
        "region": "us-east-1",
        "severity": "medium",
    }
    items = [
        DriftItem(
            id=drifted,
            status="drifted",
            address="aws_vpc.main",
            changes=[change],
            source=str(state),
            **common,
        ),
        DriftItem(id=shadow, status="unmanaged", **common),
    ]
    path = tmp_path / "drift.json"
    path.write_bytes(orjson.dumps(build_report(items, sources=[str(state)]).to_dict()))
    return path, drifted, shadow


def _name(aws: AwsEnv, vpc: str) -> str:
    tags = aws.client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"][0].get("Tags", [])
    return str({t["Key"]: t["Value"] for t in tags}.get("Name"))


def _show(capsys: pytest.CaptureFixture[str], plan_id: str) -> dict[str, Any]:
    rc, out, err = run(capsys, "remediate", "show", plan_id, "--format", "json", "--as", "vic")
    assert rc == 0, err
    return dict(orjson.loads(out))


def test_plan_review_apply_and_roll_back(
    users: None, aws_env: AwsEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, drifted, shadow = _report_file(tmp_path, aws_env)
    out = tmp_path / "plan"
    rc, stdout, err = run(capsys, "remediate", "plan", "--report", str(report), "--output-dir", str(out),
                          "--as", "abe")  # fmt: skip
    assert rc == 0, err
    plan_id = stdout.strip()
    assert sorted(p.name for p in out.iterdir()) == ["generated.tf", "imports.tf", "plan.json", "summary.md"]
    written = orjson.loads((out / "plan.json").read_bytes())
    assert written["id"] == plan_id and written["status"] == "pending" and written["needs_approval"]
    assert {a["kind"] for a in written["actions"]} == {"revert", "codify"}
    assert (
        shadow in (out / "imports.tf").read_text()
        and 'resource "aws_vpc"' in (out / "generated.tf").read_text()
    )
    summary = (out / "summary.md").read_text()
    assert (
        f"# Remediation plan {plan_id}" in summary and "tags.Name" in summary and "## Blast radius" in summary
    )

    # four eyes: the creator, an operator and a viewer cannot approve; nothing runs unapproved
    for who, why in (("abe", "four eyes"), ("olga", "remediation:approve"), ("vic", "remediation:approve")):
        rc, _, err = run(capsys, "remediate", "approve", plan_id, "--as", who)
        assert rc == 1 and why in err and err.count("\n") == 1, (who, err)
    rc, _, err = run(capsys, "remediate", "apply", plan_id, "--as", "olga")
    assert rc == 1 and "approved by an approver" in err

    rc, stdout, err = run(capsys, "remediate", "apply", plan_id, "--dry-run", "--as", "olga")
    assert rc == 0 and drifted in stdout and "nothing was changed" in err
    assert _name(aws_env, drifted) == "changed-by-hand"

    rc, stdout, err = run(capsys, "remediate", "approve", plan_id, "--as", "alice", "--comment", "ok")
    assert rc == 0 and "approved by alice" in stdout, err
    rc, stdout, err = run(capsys, "remediate", "apply", plan_id, "--wait", "--timeout", "120", "--as", "olga")
    assert rc == 0, (stdout, err)
    assert f"plan {plan_id}: succeeded" in stdout
    assert _name(aws_env, drifted) == "main"
    assert _show(capsys, plan_id)["status"] == "succeeded"

    rc, stdout, err = run(
        capsys, "remediate", "rollback", plan_id, "--wait", "--timeout", "120", "--as", "olga"
    )
    assert rc == 0, (stdout, err)
    assert _name(aws_env, drifted) == "changed-by-hand"
    shown = _show(capsys, plan_id)
    assert shown["status"] == "rolled_back" and shown["comments"][0]["body"] == "ok"

    rc, stdout, _ = run(capsys, "remediate", "list", "--format", "json", "--as", "vic")
    assert rc == 0 and [p["id"] for p in orjson.loads(stdout)["plans"]] == [plan_id]


def test_the_local_operator_cannot_approve_its_own_plan(
    users: None, aws_env: AwsEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, _, _ = _report_file(tmp_path, aws_env)
    rc, stdout, err = run(
        capsys, "remediate", "plan", "--report", str(report), "--output-dir", str(tmp_path / "p")
    )
    assert rc == 0, err
    plan_id = stdout.strip()
    rc, _, err = run(capsys, "remediate", "approve", plan_id)  # cli:<login> made it, cli:<login> approves
    assert rc == 1 and "four eyes" in err
    rc, _, err = run(capsys, "remediate", "reject", plan_id, "--as", "alice", "--comment", "no")
    assert rc == 0, err


def test_bad_input_is_one_error_line(
    users: None, aws_env: AwsEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "o")
    cases: list[tuple[list[str], str]] = [
        (["--report", str(tmp_path / "absent.json")], "cannot read the report"),
        (["--report", str(tmp_path / "bad.json")], "not JSON"),
        (["--report", str(tmp_path / "other.json")], "not a drift report"),
        (["--report", str(tmp_path / "bad.json"), "--strategy", "drifted=delete"], "revert|accept"),
        ([], "--report"),
        (["--scan", "nope"], "no such scan"),
    ]
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"resources": []}')
    for args, message in cases:
        rc, _, err = run(capsys, "remediate", "plan", *args, "--output-dir", out)
        assert rc == 1 and message in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)
    rc, _, err = run(capsys, "remediate", "show", "nope")
    assert rc == 1 and "no such remediation plan" in err
    rc, _, err = run(capsys, "remediate", "list", "--as", "nobody")
    assert rc == 1 and "no active DriftMgr user" in err
    assert not Path(out).exists()
