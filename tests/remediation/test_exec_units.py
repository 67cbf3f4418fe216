"""RemediationExecutor and build_steps without Terraform: exact steps per action kind, refusals,
the dry-run lines, cancellation, file-write confinement, irreversible deletes and the state-restore
guard (tests/remediation/test_execution.py runs the real thing against Terraform + moto)."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.engine.remediation import Action, Plan, Step
from driftmgr.errors import UnsupportedRemediation, UsageError
from driftmgr.models import Resource
from driftmgr.services.remediation_exec import RemediationExecutor, build_steps


class StubProvider:
    """get() answers from a dict; nothing else is used by these tests."""

    name = "aws"

    def __init__(self, resources: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self.resources = resources or {}

    def get(self, tf_type: str, resource_id: str, region: str | None) -> Resource | None:
        attrs = self.resources.get((tf_type, resource_id))
        return None if attrs is None else Resource("aws", tf_type, resource_id, None, region, dict(attrs))


def action(kind: str, **kw: Any) -> Action:
    base: dict[str, Any] = {
        "id": "a1",
        "type": "aws_sqs_queue",
        "resource_id": "https://q/1",
        "address": "aws_sqs_queue.jobs",
        "region": "us-east-1",
        "method": "terraform",
    }
    base.update(kw)
    return Action(kind=kind, **base)


def test_build_steps_gives_the_exact_terraform_command_of_each_kind(tmp_path: Path) -> None:
    d = str(tmp_path)
    lines = {
        kind: [s.command_line() for s in build_steps(action(kind), terraform_dir=d, live=None)]
        for kind in ("revert", "accept", "recreate", "forget")
    }
    assert lines == {
        "revert": [f"(cd {d} && terraform apply -target=aws_sqs_queue.jobs -auto-approve -input=false)"],
        "accept": [
            f"(cd {d} && terraform apply -refresh-only -target=aws_sqs_queue.jobs -auto-approve -input=false)"
        ],
        "recreate": [f"(cd {d} && terraform apply -target=aws_sqs_queue.jobs -auto-approve -input=false)"],
        "forget": [f"(cd {d} && terraform state rm aws_sqs_queue.jobs)"],
    }


def test_build_steps_api_revert_and_delete_use_the_provider_calls() -> None:
    revert = action(
        "revert", method="api", changes=[{"path": "visibility_timeout_seconds", "expected": 45, "actual": 90}]
    )
    steps = build_steps(revert, terraform_dir=None, live={"visibility_timeout_seconds": 90})
    assert [(s.kind, s.call.operation if s.call else None) for s in steps] == [
        ("api", "set_queue_attributes")
    ]
    assert steps[0].call is not None and steps[0].call.params == {
        "QueueUrl": "https://q/1",
        "Attributes": {"VisibilityTimeout": "45"},
    }
    delete = action("delete", method="api", address=None)
    assert [s.command_line() for s in build_steps(delete, terraform_dir=None, live={})] == [
        'aws sqs.delete_queue(QueueUrl="https://q/1") [us-east-1]'
    ]


@pytest.mark.parametrize(
    ("act", "terraform_dir", "message"),
    [
        (
            action("revert"),
            None,
            "aws_sqs_queue aws_sqs_queue.jobs: cannot revert by terraform: it needs a Terraform working dir",
        ),
        (action("accept", address=None), "DIR", "the resource has no Terraform address"),
        (action("forget"), None, "needs a Terraform working directory"),
        (action("delete"), "DIR", "Terraform cannot delete what it does not manage"),
        (action("codify", method="files"), None, "running it needs a Terraform working directory"),
        (
            action(
                "revert", method="api", changes=[{"path": "fifo_queue", "expected": True, "actual": False}]
            ),
            None,
            "aws_sqs_queue https://q/1: no AWS API call reverts 'fifo_queue'",
        ),
    ],
)
def test_build_steps_refuses_what_the_method_cannot_do(
    act: Action, terraform_dir: str | None, message: str
) -> None:
    with pytest.raises(UnsupportedRemediation) as err:
        build_steps(act, terraform_dir=terraform_dir, live={})
    assert message in str(err.value)
    assert err.value.tf_type == "aws_sqs_queue"


def test_an_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown remediation kind 'explode'"):
        build_steps(action("explode"), terraform_dir=None, live=None)


def test_preview_merges_consecutive_targeted_applies_and_flags_destructive_actions(tmp_path: Path) -> None:
    d = str(tmp_path)
    a1 = action("revert", id="a1", address="aws_vpc.main", type="aws_vpc", resource_id="vpc-1")
    a2 = action("revert", id="a2", depends_on=["a1"])
    a3 = action("accept", id="a3", address="aws_sns_topic.t", type="aws_sns_topic", resource_id="arn:t")
    a4 = action("delete", id="a4", method="api", address=None, destructive=True, risk="high")
    for a in (a1, a2, a3):
        a.steps = build_steps(a, terraform_dir=d, live=None)
    a4.steps = build_steps(a4, terraform_dir=None, live={})
    lines = RemediationExecutor(provider_factory=lambda _: StubProvider()).preview(
        Plan([a1, a2, a3, a4], terraform_dir=d)
    )
    assert lines == [
        "# snapshot: the live attributes of 4 target(s)",
        f"# snapshot: (cd {d} && terraform state pull) → a state backup",
        "# a1 revert aws_vpc.main (vpc-1, us-east-1) by terraform (risk low)",
        "# a2 revert aws_sqs_queue.jobs (https://q/1, us-east-1) by terraform (risk low, after a1)",
        f"(cd {d} && terraform apply -target=aws_vpc.main -target=aws_sqs_queue.jobs"
        " -auto-approve -input=false)",
        "# a3 accept aws_sns_topic.t (arn:t, us-east-1) by terraform (risk low)",
        f"(cd {d} && terraform apply -refresh-only -target=aws_sns_topic.t -auto-approve -input=false)",
        "# a4 delete aws_sqs_queue (https://q/1, us-east-1) by api (risk high, DESTRUCTIVE)",
        'aws sqs.delete_queue(QueueUrl="https://q/1") [us-east-1]',
        "# then: a scan of the targets confirms their drift is gone",
    ]


def _api_action(n: int, queue: str = "https://q/1") -> Action:
    a = action(
        "revert",
        id=f"a{n}",
        method="api",
        resource_id=queue,
        changes=[{"path": "visibility_timeout_seconds", "expected": 45, "actual": 90}],
    )
    a.steps = build_steps(a, terraform_dir=None, live={})
    return a


def test_a_cancelled_run_takes_the_snapshot_and_runs_nothing(tmp_path: Path) -> None:
    provider = StubProvider({("aws_sqs_queue", "https://q/1"): {"visibility_timeout_seconds": 90}})
    cancel = threading.Event()
    cancel.set()
    ex = RemediationExecutor(provider_factory=lambda _: provider, backup_dir=tmp_path)
    outcome = ex.execute(Plan([_api_action(1), _api_action(2)]), cancel=cancel)
    assert not outcome["ok"] and outcome["cancelled"]
    assert [(a["status"], a["error"], a["ran"]) for a in outcome["actions"]] == [
        ("skipped", "cancelled before it ran", []),
        ("skipped", "cancelled before it ran", []),
    ]
    assert outcome["snapshot"]["resources"]["a1"]["attributes"] == {"visibility_timeout_seconds": 90}
    assert ex.execute(Plan([_api_action(1)]), cancel=lambda: True)["cancelled"]


def test_a_progress_callback_that_raises_stops_the_run_after_the_current_action(
    aws_env, tmp_path: Path
) -> None:
    url = boto3.client("sqs").create_queue(QueueName="q1", Attributes={"VisibilityTimeout": "90"})["QueueUrl"]

    def progress(done: int, total: int, message: str) -> None:
        if done == 1:
            raise RuntimeError("job cancelled")

    ex = RemediationExecutor(backup_dir=tmp_path)
    outcome = ex.execute(Plan([_api_action(1, url), _api_action(2, url)]), progress=progress)
    assert [a["status"] for a in outcome["actions"]] == ["succeeded", "skipped"]
    assert outcome["actions"][1]["error"] == "cancelled: RuntimeError: job cancelled" and outcome["cancelled"]
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "45"
    # no state source on the action: validation says it could not judge, so the run is not "ok"
    assert outcome["validation"] == [
        {
            "id": "a1",
            "in_sync": False,
            "remaining": [{"path": "", "note": "cannot validate: the action names no state source"}],
        }
    ]


def test_file_steps_outside_the_plans_directories_are_refused(tmp_path: Path) -> None:
    inside, outside = tmp_path / "tf", tmp_path / "elsewhere.tf"
    inside.mkdir()
    a = action("codify", method="terraform", resource_id="https://q/1")
    a.steps = [Step("file", path=str(outside), content="x")]
    ex = RemediationExecutor(provider_factory=lambda _: StubProvider(), backup_dir=tmp_path / "b")
    ex.tf.state_pull = lambda cwd: b""  # type: ignore[method-assign]  # no Terraform needed here
    outcome = ex.execute(Plan([a], terraform_dir=str(inside)))
    assert outcome["actions"][0]["status"] == "failed" and not outside.exists()
    assert "refusing to write" in outcome["actions"][0]["error"]


def test_a_delete_cannot_be_rolled_back_and_says_so(tmp_path: Path) -> None:
    a = action("delete", method="api", address=None)
    plan = Plan([a])
    outcome = {
        "actions": [
            {"id": "a1", "kind": "delete", "status": "succeeded", "ran": ["aws sqs.delete_queue(...)"]}
        ]
    }
    snapshot = {"resources": {"a1": {"exists": True, "attributes": {}}}, "states": []}
    rolled = RemediationExecutor(provider_factory=lambda _: StubProvider(), backup_dir=tmp_path).rollback(
        plan, snapshot, outcome
    )
    assert not rolled["ok"]
    assert (
        rolled["actions"][0]["status"] == "irreversible"
        and "cannot be rolled back" in rolled["actions"][0]["error"]
    )
    with pytest.raises(Exception, match="no snapshot"):
        RemediationExecutor().rollback(plan, {}, outcome)


class FakeStateCli:
    """state pull/push of one working directory, in memory."""

    def __init__(self, current: dict[str, Any]) -> None:
        self.current = current
        self.pushed: list[dict[str, Any]] = []

    def state_pull(self, cwd: str) -> bytes:
        return json.dumps(self.current).encode()

    def state_push(self, cwd: str, data: bytes) -> None:
        self.pushed.append(json.loads(data))
        self.current = self.pushed[-1]


def _saved_state(tmp_path: Path, serial: int) -> dict[str, Any]:
    data = json.dumps({"version": 4, "serial": serial, "lineage": "L", "resources": []}).encode()
    backup = tmp_path / "backup.tfstate"
    backup.write_bytes(data)
    return {
        "dir": str(tmp_path),
        "serial": serial,
        "lineage": "L",
        "backup": str(backup),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


@pytest.mark.parametrize(("current", "pushed"), [(5, True), (6, False)])
def test_the_state_backup_goes_back_only_over_the_version_the_run_left(
    tmp_path: Path, current: int, pushed: bool
) -> None:
    a = action("forget")
    outcome = {
        "actions": [{"id": "a1", "kind": "forget", "status": "succeeded", "ran": ["state rm"]}],
        "states_after": [{"dir": str(tmp_path), "serial": 5}],
    }
    snapshot = {
        "resources": {"a1": {"exists": False, "attributes": None}},
        "states": [_saved_state(tmp_path, 3)],
    }
    ex = RemediationExecutor(provider_factory=lambda _: StubProvider(), backup_dir=tmp_path)
    fake = FakeStateCli({"version": 4, "serial": current, "lineage": "L", "resources": [{"x": 1}]})
    ex.tf = fake  # type: ignore[assignment]
    rolled = ex.rollback(Plan([a]), snapshot, outcome)
    state = rolled["state"][0]
    if pushed:
        assert rolled["ok"] and state["pushed"] and state["serial"] == 6
        assert fake.pushed == [{"version": 4, "serial": 6, "lineage": "L", "resources": []}]
    else:
        assert not rolled["ok"] and not fake.pushed
        assert "the state changed since the run (serial 5 → 6)" in state["error"]


def test_a_run_whose_process_died_midway_is_rolled_back_from_the_snapshot_kept_first(
    aws_env, tmp_path: Path
) -> None:
    url = boto3.client("sqs").create_queue(QueueName="q2", Attributes={"VisibilityTimeout": "90"})["QueueUrl"]
    kept: list[dict[str, Any]] = []

    def die_after_the_first_action(done: int, total: int, message: str) -> None:
        if done == 1:
            raise SystemExit("worker killed")  # not an Exception: nothing records the run's end

    plan = Plan([_api_action(1, url), _api_action(2, url)])
    ex = RemediationExecutor(backup_dir=tmp_path)
    with pytest.raises(SystemExit):
        ex.execute(plan, progress=die_after_the_first_action, on_snapshot=kept.append)
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "45"  # the first action did run
    assert len(kept) == 1 and kept[0]["resources"]["a1"]["attributes"]["visibility_timeout_seconds"] == 90
    rolled = ex.rollback(plan, kept[0], {})  # no outcome was ever stored
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "90"
    assert sorted(a["status"] for a in rolled["actions"]) == ["skipped", "succeeded"]  # one restore did it
    assert rolled["ok"], rolled


def test_a_snapshot_that_cannot_be_kept_runs_nothing(aws_env, tmp_path: Path) -> None:
    url = boto3.client("sqs").create_queue(QueueName="q3", Attributes={"VisibilityTimeout": "90"})["QueueUrl"]

    def refuse(_: dict[str, Any]) -> None:
        raise RuntimeError("database down")

    ex = RemediationExecutor(backup_dir=tmp_path)
    outcome = ex.execute(Plan([_api_action(1, url)]), on_snapshot=refuse)
    assert not outcome["ok"] and "snapshot could not be kept" in outcome["error"]
    assert [a["status"] for a in outcome["actions"]] == ["skipped"]
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "90"
