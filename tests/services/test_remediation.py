"""RemediationService: plans from drift reports (strategies, refusals, order), the plan's state
machine, the four-eyes approval rules, expiry, and the job wiring (a tag reverted through the API
method on moto by the `remediation` job, then rolled back)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from driftmgr.config import Settings
from driftmgr.engine.remediation import Action, ApiCall, Plan, Step
from driftmgr.engine.report import build_report
from driftmgr.errors import ConflictError, StateNotFoundError, UsageError
from driftmgr.models import Change, DriftItem
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import RemediationPlan
from driftmgr.platform.runtime import Platform, build_platform
from driftmgr.security.errors import PermissionDeniedError
from driftmgr.services.access import AccessService, Actor
from driftmgr.services.audit import AuditService
from driftmgr.services.remediation import RemediationService
from driftmgr.services.remediation_planner import BuiltPlan, parse_strategy
from driftmgr.services.remediation_store import TRANSITIONS, check_transition
from tests.fixtures.moto_server import AwsEnv
from tests.platform.test_jobs_workflow import write_state

REGION = "us-east-1"


# --- fixtures --------------------------------------------------------------------------------------


@dataclass
class Env:
    platform: Platform
    service: RemediationService
    users: dict[str, Actor]

    def audit(self, action: str) -> list[dict[str, Any]]:
        records = AuditService(self.platform.settings, self.platform.db).list(Actor.cli(), limit=500)
        return [r for r in records if r["action"] == action]


def make_env(tmp_path: Path, **overrides: Any) -> Env:
    settings = Settings(data_dir=tmp_path / "data", secret_key="r" * 48, **overrides)
    platform = build_platform(settings)
    access = AccessService(settings, platform.db)
    roles = {
        "olga": ["operator"],
        "alice": ["approver"],
        "abe": ["approver", "operator"],  # may create and approve, but never both on one plan
        "vic": ["viewer"],
    }
    for name, granted in roles.items():
        access.add_user(Actor.cli(), name, None, granted)
    service = RemediationService.for_platform(platform, access)
    service.register(platform.jobs)  # type: ignore[arg-type]
    users = {name: service.cli_actor(name) for name in roles}
    return Env(platform, service, users)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    yield e
    e.platform.close()


def vpc_item(
    vpc_id: str, *changes: Change, status: str = "drifted", severity: str = "low", **kw: Any
) -> DriftItem:
    return DriftItem(
        type=kw.pop("type", "aws_vpc"),
        id=vpc_id,
        provider="aws",
        status=status,
        address=kw.pop("address", None if status == "unmanaged" else f"aws_vpc.v_{vpc_id[-6:]}"),
        region=REGION,
        severity=severity,
        changes=list(changes),
        **kw,
    )


def report(*items: DriftItem) -> Any:
    return build_report(items, sources=["prod.tfstate"], generated_at="2026-12-07T10:00:00Z")


def hand_plan(risk: str = "medium", kind: str = "revert") -> BuiltPlan:
    """A plan assembled by hand: the workflow tests need a plan, not a cloud."""
    step = Step(kind="api", call=ApiCall("aws", "ec2", "create_tags", {"Resources": ["vpc-1"]}, REGION))
    action = Action(id="a1", kind=kind, type="aws_vpc", resource_id="vpc-1", risk=risk, steps=[step])
    return BuiltPlan(Plan(actions=[action], strategy=parse_strategy(None)))


# --- building plans (live resources on moto) --------------------------------------------------------


def _vpc(aws: AwsEnv, cidr: str, **tags: str) -> str:
    ec2 = aws.client("ec2")
    vpc = str(ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"])
    if tags:
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return vpc


def _subnet(aws: AwsEnv, vpc: str, cidr: str, **tags: str) -> str:
    ec2 = aws.client("ec2")
    subnet = str(ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"])
    if tags:
        ec2.create_tags(Resources=[subnet], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return subnet


def _build(env: Env, doc: Any, *strategy: str, **options: Any) -> BuiltPlan:
    opts = env.service.options(strategy=parse_strategy(list(strategy)), **options)
    return env.service.build(env.users["olga"], doc, opts)


def test_default_strategy_reverts_drift_and_codifies_shadow_it(env: Env, aws_env: AwsEnv) -> None:
    drifted = _vpc(aws_env, "10.1.0.0/16", Name="changed-by-hand")
    shadow = _vpc(aws_env, "10.2.0.0/16", Name="shadow")
    doc = report(
        vpc_item(drifted, Change("tags.Name", "main", "changed-by-hand", "low")),
        vpc_item(shadow, status="unmanaged", severity="medium"),
    )
    built = _build(env, doc)
    kinds = {a.resource_id: a.kind for a in built.plan.actions}
    assert kinds == {drifted: "revert", shadow: "codify"}, built.plan.refused
    revert = next(a for a in built.plan.actions if a.kind == "revert")
    assert revert.method == "api" and revert.risk == "low" and not revert.destructive
    lines = [s.command_line() for s in revert.steps]
    assert any(drifted in line and "main" in line for line in lines), lines
    codify = next(a for a in built.plan.actions if a.kind == "codify")
    assert codify.risk == "low" and codify.address and codify.address.startswith("aws_vpc.")
    assert built.imports_tf and shadow in built.imports_tf and codify.address in built.imports_tf
    assert built.generated_tf and 'resource "aws_vpc"' in built.generated_tf
    assert "10.2.0.0/16" in built.generated_tf
    assert built.plan.risk == "low" and built.plan.summary()["by_kind"] == {"revert": 1, "codify": 1}


def test_other_strategies_delete_is_destructive_and_critical(
    env: Env, aws_env: AwsEnv, tmp_path: Path
) -> None:
    shadow = _vpc(aws_env, "10.3.0.0/16")
    built = _build(env, report(vpc_item(shadow, status="unmanaged")), "unmanaged=delete")
    (action,) = built.plan.actions
    assert action.kind == "delete" and action.destructive and action.risk == "critical"
    assert any(s.call and s.call.operation == "delete_vpc" for s in action.steps), action.steps
    assert built.plan.summary()["destructive"] == 1

    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    missing = vpc_item("vpc-0000000000000dead", status="missing", severity="high")
    built = _build(env, report(missing), "missing=forget", terraform_dir=str(tf_dir))
    (forget,) = built.plan.actions
    assert forget.kind == "forget" and forget.method == "terraform" and forget.risk == "high"
    assert any(missing.address in s.command_line() for s in forget.steps), forget.steps


def test_strategy_names_are_checked() -> None:
    assert parse_strategy(["drifted=accept"])["drifted"] == "accept"
    with pytest.raises(UsageError, match=r"revert\|accept"):
        parse_strategy(["drifted=delete"])
    with pytest.raises(UsageError, match="no strategy for status"):
        parse_strategy(["in_sync=revert"])
    with pytest.raises(UsageError, match="STATUS=ACTION"):
        parse_strategy(["revert"])


def test_protected_resources_are_refused(env: Env, aws_env: AwsEnv) -> None:
    tagged = _vpc(aws_env, "10.4.0.0/16", **{"Name": "x", "driftmgr:protected": "true"})
    untagged_now = _vpc(aws_env, "10.5.0.0/16", Name="y")
    by_pattern = _vpc(aws_env, "10.6.0.0/16")
    doc = report(
        vpc_item(tagged, Change("tags.Name", "main", "x", "low")),
        # the tag was removed by hand: the state still says protected
        vpc_item(untagged_now, Change("tags.driftmgr:protected", "true", None, "low")),
        vpc_item(by_pattern, status="unmanaged", address=None),
    )
    built = _build(env, doc, protect=[by_pattern])
    assert built.plan.actions == []
    reasons = {r["id"]: r["reason"] for r in built.plan.refused}
    assert "driftmgr:protected" in reasons[tagged] and "driftmgr:protected" in reasons[untagged_now]
    assert "pattern" in reasons[by_pattern]


def test_the_cap_refuses_what_exceeds_it(env: Env, aws_env: AwsEnv) -> None:
    vpcs = [_vpc(aws_env, f"10.{10 + i}.0.0/16") for i in range(3)]
    built = _build(env, report(*(vpc_item(v, status="unmanaged") for v in vpcs)), max_actions=2)
    assert len(built.plan.actions) == 2
    (refused,) = built.plan.refused
    assert "cap of 2" in refused["reason"]


def test_unsupported_and_vanished_resources_are_refused_with_the_reason(env: Env, aws_env: AwsEnv) -> None:
    vpc = _vpc(aws_env, "10.20.0.0/16")
    doc = report(
        vpc_item(vpc, Change("cidr_block", "10.99.0.0/16", "10.20.0.0/16", "high")),
        vpc_item("vpc-00000000000000bad", Change("tags.Name", "a", "b", "low")),
    )
    built = _build(env, doc)
    assert built.plan.actions == []
    reasons = {r["id"]: r["reason"] for r in built.plan.refused}
    assert "cidr_block" in reasons[vpc]
    assert "gone since the scan" in reasons["vpc-00000000000000bad"]


def test_selection_narrows_and_must_match(env: Env, aws_env: AwsEnv) -> None:
    a = _vpc(aws_env, "10.30.0.0/16")
    b = _vpc(aws_env, "10.31.0.0/16")
    doc = report(vpc_item(a, status="unmanaged"), vpc_item(b, status="unmanaged"))
    built = _build(env, doc, select=[b])
    assert [x.resource_id for x in built.plan.actions] == [b]
    with pytest.raises(UsageError, match="matches no"):
        _build(env, doc, select=["aws_instance.*"])


def test_dependencies_parents_first_deletes_children_first(env: Env, aws_env: AwsEnv) -> None:
    vpc = _vpc(aws_env, "10.40.0.0/16", Name="x")
    subnet = _subnet(aws_env, vpc, "10.40.1.0/24", Name="y")
    subnet_item = vpc_item(
        subnet, Change("tags.Name", "s", "y", "low"), type="aws_subnet", address="aws_subnet.a"
    )
    doc = report(subnet_item, vpc_item(vpc, Change("tags.Name", "v", "x", "low"), address="aws_vpc.main"))
    built = _build(env, doc)
    ids = {a.resource_id: a for a in built.plan.actions}
    assert ids[subnet].depends_on == [ids[vpc].id]
    assert [a.resource_id for a in built.plan.ordered()] == [vpc, subnet]

    doc = report(
        vpc_item(vpc, status="unmanaged"),
        vpc_item(subnet, status="unmanaged", type="aws_subnet"),
    )
    built = _build(env, doc, "unmanaged=delete")
    ids = {a.resource_id: a for a in built.plan.actions}
    assert ids[vpc].depends_on == [ids[subnet].id]
    assert [a.resource_id for a in built.plan.ordered()] == [subnet, vpc]


# --- the state machine --------------------------------------------------------------------------------


def test_transition_table() -> None:
    for current, allowed in TRANSITIONS.items():
        for new in TRANSITIONS:
            if new in allowed:
                check_transition(current, new)
            else:
                with pytest.raises(ConflictError):
                    check_transition(current, new)
    for terminal in ("rejected", "expired", "rolled_back"):
        assert not TRANSITIONS[terminal]
    assert "running" not in TRANSITIONS["rejected"] and "approved" not in TRANSITIONS["running"]


def test_illegal_moves_are_conflicts(env: Env) -> None:
    olga, alice = env.users["olga"], env.users["alice"]
    view = env.service.create(olga, hand_plan(), submit=False)
    assert view.status == "draft"
    with pytest.raises(ConflictError, match="draft"):
        env.service.approve(alice, view.id)  # a draft is not up for review
    env.service.submit(olga, view.id)
    env.service.reject(alice, view.id, "not now")
    for attempt in (lambda: env.service.approve(alice, view.id), lambda: env.service.apply(olga, view.id)):
        with pytest.raises(ConflictError, match="rejected"):
            attempt()
    with pytest.raises(ConflictError, match="no snapshot"):
        env.service.rollback(olga, view.id)
    with pytest.raises(ConflictError):  # the conditional update: a stale "from" state loses
        env.service.store.transition(view.id, ("pending",), "approved")
    assert env.service.get(olga, view.id).status == "rejected"
    with pytest.raises(StateNotFoundError):
        env.service.get(olga, "no-such-plan")


# --- approval rules ---------------------------------------------------------------------------------


def test_no_execution_without_approval_above_the_threshold(env: Env) -> None:
    olga, alice = env.users["olga"], env.users["alice"]
    view = env.service.create(olga, hand_plan(risk="medium"))
    assert view.status == "pending" and view.needs_approval
    with pytest.raises(ConflictError, match="approved by an approver"):
        env.service.apply(olga, view.id)
    assert (
        env.service.get(olga, view.id).status == "pending" and env.service.get(olga, view.id).job_id is None
    )
    assert env.platform.jobs.list(kind="remediation") == []
    dry = env.service.apply(olga, view.id, dry_run=True)  # a dry run needs no approval: it runs nothing
    assert dry.dry_run and 'aws ec2.create_tags(Resources=["vpc-1"]) [us-east-1]' in dry.lines
    env.service.approve(alice, view.id, "looked at it")
    queued = env.service.apply(olga, view.id)
    assert queued.job_id and env.service.get(olga, view.id).status == "running"
    assert env.service.get(olga, view.id).job_id == queued.job_id


def test_below_the_threshold_an_operator_applies_directly(env: Env) -> None:
    olga = env.users["olga"]
    view = env.service.create(olga, hand_plan(risk="low"))
    assert not view.needs_approval
    assert env.service.apply(olga, view.id).job_id


def test_the_threshold_is_a_setting(tmp_path: Path) -> None:
    e = make_env(tmp_path, remediation_approval_risk="critical")
    try:
        view = e.service.create(e.users["olga"], hand_plan(risk="high"))
        assert not view.needs_approval
        assert e.service.apply(e.users["olga"], view.id).job_id
    finally:
        e.platform.close()


def test_creators_cannot_approve_their_own_plans(env: Env) -> None:
    abe = env.users["abe"]  # approver and operator
    view = env.service.create(abe, hand_plan())
    with pytest.raises(PermissionDeniedError, match="four eyes"):
        env.service.approve(abe, view.id)
    with pytest.raises(PermissionDeniedError, match="four eyes"):
        env.service.reject(abe, view.id, "withdrawn")
    assert env.service.get(abe, view.id).status == "pending"
    denied = env.audit("remediation.approve")
    assert denied and denied[0]["result"] == "denied" and denied[0]["user"] == "abe"
    assert env.service.approve(env.users["alice"], view.id).approved_by == "alice"


def test_viewers_and_operators_cannot_approve(env: Env) -> None:
    view = env.service.create(env.users["olga"], hand_plan())
    for who in ("vic", "olga"):
        with pytest.raises(PermissionDeniedError, match="remediation:approve"):
            env.service.approve(env.users[who], view.id)
    with pytest.raises(PermissionDeniedError):
        env.service.create(env.users["vic"], hand_plan())
    with pytest.raises(PermissionDeniedError):
        env.service.apply(env.users["alice"], view.id)  # approvers approve, they do not execute
    with pytest.raises(PermissionDeniedError):
        env.service.comment(env.users["vic"], view.id, "me too")
    assert env.service.get(env.users["vic"], view.id).status == "pending"


def test_plans_expire_unapplied(env: Env) -> None:
    olga, alice = env.users["olga"], env.users["alice"]
    view = env.service.create(olga, hand_plan())
    assert view.expires_at is not None
    assert timedelta(days=6, hours=23) < view.expires_at - view.created_at <= timedelta(days=7)
    env.service.approve(alice, view.id)
    with env.platform.db.session() as s:
        s.execute(
            update(RemediationPlan)
            .where(RemediationPlan.id == view.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(ConflictError, match="expired"):
        env.service.apply(olga, view.id)
    assert env.service.get(olga, view.id).status == "expired"
    assert env.audit("remediation.expire")


def test_comments_and_events(env: Env) -> None:
    olga, alice = env.users["olga"], env.users["alice"]
    view = env.service.create(olga, hand_plan(risk="high"))
    env.service.comment(olga, view.id, "please look")
    env.service.reject(alice, view.id, "wrong window")
    with pytest.raises(UsageError):
        env.service.reject(alice, view.id, "  ")
    got = env.service.get(olga, view.id)
    assert [(c["author"], c["body"]) for c in got.comments] == [
        ("olga", "please look"),
        ("alice", "wrong window"),
    ]
    events = env.platform.events.query("remediation.*")
    assert [e.type for e in events] == ["remediation.plan_created", "remediation.rejected"]
    assert all(e.payload["plan_id"] == view.id and e.severity == "high" for e in events)


# --- the job wiring -----------------------------------------------------------------------------------


def test_a_reverted_tag_through_the_job_then_rolled_back(env: Env, aws_env: AwsEnv, tmp_path: Path) -> None:
    vpc = _vpc(aws_env, "10.50.0.0/16", Name="changed-by-hand")
    state = write_state(tmp_path / "prod.tfstate", vpc, "10.50.0.0/16")  # says Name=main
    change = Change("tags.Name", "main", "changed-by-hand", "medium")
    doc = report(vpc_item(vpc, change, severity="medium", address="aws_vpc.main", source=str(state)))
    olga, alice = env.users["olga"], env.users["alice"]
    view = env.service.create(olga, _build(env, doc))
    assert view.risk == "medium" and view.summary["actions"] == 1
    env.service.approve(alice, view.id)
    queued = env.service.apply(olga, view.id)
    assert queued.job_id
    env.service.run_here(queued.job_id, timeout=120)

    done = env.service.get(olga, view.id)
    assert done.status == "succeeded", done.outcome and done.outcome["validation"]
    assert done.snapshot and done.outcome and done.outcome["ok"]
    assert [a["status"] for a in done.outcome["actions"]] == ["succeeded"]
    assert all(v["in_sync"] for v in done.outcome["validation"])
    assert env.platform.jobs.get(queued.job_id).status == "succeeded"
    assert _tags(aws_env, vpc)["Name"] == "main"
    assert {r["result"] for r in env.audit("remediation.action")} == {"success"}

    back = env.service.rollback(olga, view.id)
    assert back.job_id
    env.service.run_here(back.job_id, timeout=120)
    rolled = env.service.get(olga, view.id)
    assert rolled.status == "rolled_back", rolled.outcome
    assert _tags(aws_env, vpc)["Name"] == "changed-by-hand"
    types = [e.type for e in env.platform.events.query("remediation.*")]
    assert types == [
        "remediation.plan_created",
        "remediation.approved",
        "remediation.executed",
        "remediation.rolled_back",
    ]


def _tags(aws: AwsEnv, vpc: str) -> dict[str, str]:
    found = aws.client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"][0].get("Tags", [])
    return {t["Key"]: t["Value"] for t in found}


def test_a_job_that_ends_without_finishing_the_plan_fails_it(env: Env) -> None:
    olga = env.users["olga"]
    view = env.service.create(olga, hand_plan(risk="low"))
    queued = env.service.apply(olga, view.id)
    assert queued.job_id
    env.platform.jobs.cancel(queued.job_id)  # cancelled before any worker ran it
    got = env.service.get(olga, view.id)
    assert got.status == "failed" and got.outcome and got.outcome["interrupted"]
    assert "cancelled" in got.outcome["error"] and "nothing ran" in got.outcome["error"]
    assert [e.type for e in env.platform.events.query("remediation.failed")] == ["remediation.failed"]
    with pytest.raises(ConflictError, match="no snapshot"):
        env.service.rollback(olga, view.id)


def test_the_workflow_on_each_database(database: Database, tmp_path: Path) -> None:
    e = make_env(tmp_path, database_url=database.url)
    try:
        olga, alice, abe = e.users["olga"], e.users["alice"], e.users["abe"]
        view = e.service.create(olga, hand_plan())
        assert e.service.approve(alice, view.id).status == "approved"
        with pytest.raises(ConflictError, match="approved"):
            e.service.approve(abe, view.id)  # a second approval of the same plan loses
        assert e.service.apply(olga, view.id).job_id
        with pytest.raises(ConflictError):
            e.service.apply(olga, view.id)
        views, total = e.service.list(olga, status="running")
        assert total == 1 and views[0].id == view.id
    finally:
        e.platform.close()
