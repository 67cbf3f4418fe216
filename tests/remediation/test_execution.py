"""Executing revert plans (issue 6), with the real Terraform CLI + hashicorp/aws against moto.

One small configuration is applied once on a private moto server. Out-of-band boto3 edits of 16
kinds (EC2/S3/IAM tags, a security group rule, an instance type, subnet/VPC settings, S3 versioning
and public access block, SQS/SNS/IAM/Logs/KMS/SSM settings) are made, and a real scan
(DriftService, what `driftmgr drift detect` runs) reports them. Each test starts from that drifted
state and leaves it so (its rollback must restore it):
- revert by direct API calls → the next scan is in sync; rollback → the scan shows the out-of-band
  values again;
- the same through Terraform (targeted applies in the working directory), the rollback pushing the
  backed-up state back;
- an access denial injected midway stops the run, the report says what ran, failed and was
  skipped, and the rollback restores what had changed (the stopped instance runs again);
- accept, forget and recreate (state changes through Terraform) validate, and their rollback
  pushes the backed-up state back and deletes what the recreate created;
- a dry run (preview) leaves the emulator and the state file byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from driftmgr.engine.remediation import Action, Plan
from driftmgr.models import DriftItem
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.services.drift import DetectOptions, DriftService
from driftmgr.services.remediation_exec import RemediationExecutor, build_steps
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env, start_moto
from tests.fixtures.terraform import Terraform

pytestmark = pytest.mark.emulator

CONFIG = """
resource "aws_vpc" "main" {
  cidr_block           = "10.40.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "rx-main", env = "test" }
}
resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.40.1.0/24"
  availability_zone = "us-east-1a"
  tags              = { Name = "rx-a" }
}
resource "aws_security_group" "web" {
  name        = "rx-web"
  description = "web tier"
  vpc_id      = aws_vpc.main.id
  ingress {
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { Name = "rx-web" }
}
resource "aws_instance" "app" {
  ami                    = "ami-12c6146b"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.a.id
  vpc_security_group_ids = [aws_security_group.web.id]
  tags                   = { Name = "rx-app", env = "test" }
}
resource "aws_s3_bucket" "data" {
  bucket = "rx-data"
  tags   = { env = "test" }
}
resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}
resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = false
}
resource "aws_sqs_queue" "jobs" {
  name                       = "rx-jobs"
  visibility_timeout_seconds = 45
}
resource "aws_sns_topic" "alerts" {
  name         = "rx-alerts"
  display_name = "RX alerts"
}
resource "aws_iam_role" "app" {
  name                 = "rx-app"
  description          = "rx application role"
  max_session_duration = 7200
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}
resource "aws_cloudwatch_log_group" "app" {
  name              = "/rx/app"
  retention_in_days = 14
}
resource "aws_cloudwatch_log_group" "spare" {
  name              = "/rx/spare"
  retention_in_days = 7
}
resource "aws_kms_key" "app" {
  description             = "rx key"
  deletion_window_in_days = 7
}
resource "aws_ssm_parameter" "mode" {
  name        = "/rx/mode"
  type        = "String"
  value       = "blue"
  description = "rx deployment mode"
}
"""

ANY = object()  # a change whose path is asserted, not its values (a set of rules)
HAND = "changed by hand"
# What the out-of-band edits make the scan report: address -> {path: (expected, actual) | ANY}.
EXPECTED: dict[str, dict[str, Any]] = {
    "aws_vpc.main": {"tags.owner": (None, "bob"), "enable_dns_hostnames": (True, False)},  # EC2 tags, VPC
    "aws_subnet.a": {"map_public_ip_on_launch": (False, True)},
    "aws_security_group.web": {"ingress": ANY},  # a rule added
    "aws_instance.app": {"instance_type": ("t3.micro", "t3.small"), "tags.env": ("test", None)},
    "aws_s3_bucket.data": {"tags.env": ("test", "prod")},  # S3 tags
    "aws_s3_bucket_versioning.data": {"versioning_configuration[0].status": ("Enabled", "Suspended")},
    "aws_s3_bucket_public_access_block.data": {"restrict_public_buckets": (False, True)},
    "aws_sqs_queue.jobs": {"visibility_timeout_seconds": (45, 90)},
    "aws_sns_topic.alerts": {"display_name": ("RX alerts", HAND)},
    "aws_iam_role.app": {  # IAM settings and IAM tags
        "description": ("rx application role", HAND),
        "max_session_duration": (7200, 3600),
        "tags.team": (None, "red"),
    },
    "aws_cloudwatch_log_group.app": {"retention_in_days": (14, 30)},
    "aws_kms_key.app": {"description": ("rx key", HAND)},
    "aws_ssm_parameter.mode": {"description": ("rx deployment mode", HAND)},
}


@dataclass
class Env:
    terraform: Terraform
    server: MotoServer
    workdir: Path
    tmp: Path

    @property
    def state_path(self) -> Path:
        return self.workdir / "terraform.tfstate"

    def ids(self) -> dict[str, str]:
        state = json.loads(self.state_path.read_text())
        return {
            f"{r['type']}.{r['name']}": r["instances"][0]["attributes"]["id"]
            for r in state["resources"]
            if r["mode"] == "managed"
        }

    def scan(self) -> dict[str, DriftItem]:
        """Managed items of a real scan (what `driftmgr drift detect --state STATE` computes)."""
        report = DriftService().detect([str(self.state_path)], DetectOptions())
        assert not report.errors, report.errors
        return {i.address: i for i in report.resources if i.address}

    def executor(self, **kwargs: Any) -> RemediationExecutor:
        return RemediationExecutor(
            backup_dir=self.tmp / "backups", terraform_env=self.terraform.env(), **kwargs
        )


def drift_of(items: dict[str, DriftItem]) -> dict[str, dict[str, Any]]:
    return {
        a: {c.path: (c.expected, c.actual) for c in i.changes}
        for a, i in items.items()
        if i.status != "in_sync"
    }


def assert_drift_is_expected(items: dict[str, DriftItem]) -> None:
    found = drift_of(items)
    assert set(found) == set(EXPECTED), f"drifted: {sorted(found)}"
    for address, paths in EXPECTED.items():
        assert set(found[address]) == set(paths), (address, found[address])
        for path, values in paths.items():
            if values is not ANY:
                assert found[address][path] == values, (address, path, found[address][path])
    sg = items["aws_security_group.web"].changes[0]
    assert sg.expected == [] and [r["from_port"] for r in sg.actual] == [8443], sg


def assert_in_sync(items: dict[str, DriftItem]) -> None:
    assert not drift_of({a: items[a] for a in EXPECTED}), drift_of(items)
    assert all(items[a].status == "in_sync" for a in EXPECTED)


def out_of_band(ids: dict[str, str]) -> None:
    """The edits someone makes by hand (one thread: moto can fail concurrent writes)."""
    ec2, s3 = boto3.client("ec2"), boto3.client("s3")
    vpc, instance = ids["aws_vpc.main"], ids["aws_instance.app"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "owner", "Value": "bob"}])
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": False})
    ec2.modify_subnet_attribute(SubnetId=ids["aws_subnet.a"], MapPublicIpOnLaunch={"Value": True})
    ec2.authorize_security_group_ingress(
        GroupId=ids["aws_security_group.web"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}
        ],
    )
    ec2.delete_tags(Resources=[instance], Tags=[{"Key": "env"}])
    ec2.stop_instances(InstanceIds=[instance])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1})
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "t3.small"})
    ec2.start_instances(InstanceIds=[instance])
    s3.put_bucket_tagging(Bucket="rx-data", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    s3.put_bucket_versioning(Bucket="rx-data", VersioningConfiguration={"Status": "Suspended"})
    s3.put_public_access_block(
        Bucket="rx-data",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    )
    boto3.client("sqs").set_queue_attributes(
        QueueUrl=ids["aws_sqs_queue.jobs"], Attributes={"VisibilityTimeout": "90"}
    )
    boto3.client("sns").set_topic_attributes(
        TopicArn=ids["aws_sns_topic.alerts"], AttributeName="DisplayName", AttributeValue=HAND
    )
    iam = boto3.client("iam")
    iam.update_role(RoleName="rx-app", Description=HAND, MaxSessionDuration=3600)
    iam.tag_role(RoleName="rx-app", Tags=[{"Key": "team", "Value": "red"}])
    boto3.client("logs").put_retention_policy(logGroupName="/rx/app", retentionInDays=30)
    boto3.client("kms").update_key_description(KeyId=ids["aws_kms_key.app"], Description=HAND)
    boto3.client("ssm").put_parameter(
        Name="/rx/mode", Value="blue", Type="String", Overwrite=True, Description=HAND
    )


@pytest.fixture(scope="module")
def env(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    server = start_moto()
    tmp = tmp_path_factory.mktemp("remediation")
    try:
        with pytest.MonkeyPatch.context() as mp:
            set_fake_aws_env(mp, server.endpoint, tmp)
            workdir = tmp / "tf"
            terraform.apply(workdir, CONFIG, server.endpoint)
            e = Env(terraform, server, workdir, tmp)
            untouched = e.scan()
            assert_in_sync(untouched)
            out_of_band(e.ids())
            yield e
    finally:
        server.stop()


@pytest.fixture
def drifted(env: Env) -> dict[str, DriftItem]:
    """The scan at the start of a test: exactly the out-of-band drift (every test restores it)."""
    if env.server.process.poll() is not None:
        pytest.fail("the moto server died")
    items = env.scan()
    assert_drift_is_expected(items)
    return items


def revert_plan(
    items: dict[str, DriftItem], method: str, terraform_dir: Path | None = None, first: tuple[str, ...] = ()
) -> Plan:
    """One revert action per drifted item (`first` ones first), its steps built by build_steps."""
    drifted = sorted(
        (i for i in items.values() if i.status == "drifted"),
        key=lambda i: (
            i.address not in first,
            first.index(i.address) if i.address in first else 0,
            i.address,
        ),
    )
    actions = []
    for n, item in enumerate(drifted, start=1):
        action = Action(
            id=f"a{n}",
            kind="revert",
            type=item.type,
            resource_id=item.id,
            address=item.address,
            region=item.region,
            source=item.source,
            method=method,
            changes=[
                {"path": c.path, "expected": c.expected, "actual": c.actual, "severity": c.severity}
                for c in item.changes
            ],
        )
        action.steps = build_steps(
            action, terraform_dir=str(terraform_dir) if terraform_dir else None, live=None
        )
        actions.append(action)
    return Plan(actions=actions, terraform_dir=str(terraform_dir) if terraform_dir else None)


def run_and_roll_back(env: Env, plan: Plan) -> dict[str, Any]:
    progress: list[tuple[int, int, str]] = []
    executor = env.executor()
    outcome = executor.execute(plan, progress=lambda d, t, m: progress.append((d, t, m)))
    assert outcome["ok"], json.dumps(
        {k: outcome[k] for k in ("actions", "validation", "error")}, default=str
    )[:4000]
    assert [a["status"] for a in outcome["actions"]] == ["succeeded"] * len(plan.actions)
    assert [v["in_sync"] for v in outcome["validation"]] == [True] * len(plan.actions)
    assert progress[0][0] == 0 and progress[-1][:2] == (len(plan.actions), len(plan.actions))
    snapshot = outcome["snapshot"]
    assert snapshot["resources"]["a1"]["attributes"], snapshot["resources"]["a1"]

    assert_in_sync(env.scan())  # the next scan agrees

    rolled = executor.rollback(plan, snapshot, outcome)
    assert rolled["ok"], json.dumps(rolled, default=str)[:4000]
    assert_drift_is_expected(env.scan())  # the out-of-band values are back
    return outcome


def test_api_revert_of_sixteen_change_kinds_is_in_sync_and_rollback_restores(
    env: Env, drifted: dict[str, DriftItem]
) -> None:
    plan = revert_plan(drifted, "api")
    operations = {s.call.operation for a in plan.actions for s in a.steps if s.call}
    assert {
        "create_tags",
        "delete_tags",
        "put_bucket_tagging",
        "untag_role",
        "revoke_security_group_ingress",
        "modify_instance_attribute",
        "modify_subnet_attribute",
        "modify_vpc_attribute",
        "put_bucket_versioning",
        "put_public_access_block",
        "set_queue_attributes",
        "set_topic_attributes",
        "update_role",
        "put_retention_policy",
        "update_key_description",
        "put_parameter",
    } <= operations
    run_and_roll_back(env, plan)


def test_terraform_revert_is_in_sync_and_rollback_pushes_the_state_back(
    env: Env, drifted: dict[str, DriftItem]
) -> None:
    plan = revert_plan(drifted, "terraform", env.workdir)
    lines = [s.command_line() for a in plan.actions for s in a.steps]
    assert (
        f"(cd {env.workdir.resolve()} && terraform apply -target=aws_instance.app -auto-approve -input=false)"
        in lines
    )
    serial_before = json.loads(env.state_path.read_text())["serial"]
    outcome = run_and_roll_back(env, plan)
    ran = {tuple(a["ran"]) for a in outcome["actions"]}  # one apply with every target
    assert len(ran) == 1 and all(f"-target={a.address} " in next(iter(ran))[0] for a in plan.actions), ran
    state = json.loads(env.state_path.read_text())
    assert state["serial"] > serial_before  # the backup went back as a newer version, not over history
    assert {
        r["instances"][0]["attributes"]["instance_type"]
        for r in state["resources"]
        if r["type"] == "aws_instance"
    } == {"t3.micro"}


def _deny(operation: str) -> Any:
    def hook(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "UnauthorizedOperation", "Message": "injected denial"}}, operation
        )

    return hook


def test_a_denied_call_midway_stops_the_run_and_rollback_restores_what_changed(
    env: Env, drifted: dict[str, DriftItem]
) -> None:
    clients: dict[tuple[str, str | None], Any] = {}

    def factory(service: str, region: str | None) -> Any:
        if (service, region) not in clients:
            client = boto3.client(service, region_name=region or "us-east-1")
            client.meta.events.register(
                "before-call.ec2.ModifyInstanceAttribute", _deny("ModifyInstanceAttribute")
            )
            clients[(service, region)] = client
        return clients[(service, region)]

    plan = revert_plan(drifted, "api", first=("aws_security_group.web", "aws_instance.app"))
    executor = env.executor(client_factory=factory)
    outcome = executor.execute(plan)
    assert not outcome["ok"]
    statuses = [(a["id"], a["status"]) for a in outcome["actions"]]
    assert statuses == [("a1", "succeeded"), ("a2", "failed")] + [
        (f"a{n}", "skipped") for n in range(3, len(plan.actions) + 1)
    ]
    sg, inst = outcome["actions"][0], outcome["actions"][1]
    assert sg["address"] == "aws_security_group.web" and inst["address"] == "aws_instance.app"
    assert [line.split("(")[0] for line in inst["ran"]] == [
        "aws ec2.stop_instances",
        "aws ec2.wait:instance_stopped",
    ]
    assert inst["failed_step"].startswith("aws ec2.modify_instance_attribute(")
    assert inst["error_kind"] == "denied" and "UnauthorizedOperation" in inst["error"]
    assert all(a["error"] == "not run: a2 failed" for a in outcome["actions"][2:])
    assert [v["id"] for v in outcome["validation"]] == ["a1"] and outcome["validation"][0]["in_sync"]

    middle = env.scan()  # what ran changed the cloud: the rule is gone, the instance stopped
    assert middle["aws_security_group.web"].status == "in_sync"
    live = AwsProvider().get("aws_instance", env.ids()["aws_instance.app"], "us-east-1")
    assert live is not None and live.attributes["instance_state"] == "stopped"

    rolled = env.executor().rollback(plan, outcome["snapshot"], outcome)
    assert rolled["ok"], json.dumps(rolled, default=str)[:4000]
    assert [(a["id"], a["status"]) for a in rolled["actions"]] == [("a2", "succeeded"), ("a1", "succeeded")]
    assert_drift_is_expected(env.scan())
    live = AwsProvider().get("aws_instance", env.ids()["aws_instance.app"], "us-east-1")
    assert live is not None and live.attributes["instance_state"] == "running"


def _discovery_json() -> str:
    found = AwsProvider().discover(regions=["us-east-1"])
    assert not found.errors, found.errors
    return json.dumps(
        [{"type": r.type, "id": r.id, "attributes": r.attributes} for r in found.resources],
        sort_keys=True,
        default=str,
    )


def test_a_dry_run_shows_the_exact_lines_and_changes_nothing(env: Env, drifted: dict[str, DriftItem]) -> None:
    api = revert_plan(drifted, "api")
    tf = revert_plan(drifted, "terraform", env.workdir)
    backups = sorted((env.tmp / "backups").glob("**/*"))
    before, state_before = _discovery_json(), env.state_path.read_bytes()
    executor = env.executor()
    api_lines, tf_lines = executor.preview(api), executor.preview(tf)
    assert _discovery_json() == before
    assert env.state_path.read_bytes() == state_before
    assert sorted((env.tmp / "backups").glob("**/*")) == backups  # not even a snapshot was taken
    for action in api.actions:  # API calls: each action's header, then its calls
        header = api_lines.index(
            next(x for x in api_lines if x.startswith(f"# {action.id} revert {action.address} "))
        )
        assert api_lines[header + 1 : header + 1 + len(action.steps)] == [
            s.command_line() for s in action.steps
        ]
    # Terraform: every header, then ONE targeted apply with all the targets (what really runs)
    headers = [f"# {a.id} revert {a.address} " for a in tf.actions]
    assert [x for x in tf_lines if x.startswith("# a")] == [
        next(x for x in tf_lines if x.startswith(h)) for h in headers
    ]
    targets = " ".join(f"-target={a.address}" for a in tf.actions)
    merged = f"(cd {env.workdir.resolve()} && terraform apply {targets} -auto-approve -input=false)"
    assert tf_lines[-2:] == [merged, "# then: a scan of the targets confirms their drift is gone"]
    vpc = env.ids()["aws_vpc.main"]
    assert (
        f'aws ec2.modify_vpc_attribute(VpcId="{vpc}", EnableDnsHostnames={{"Value": true}}) [us-east-1]'
        in api_lines
    )
    assert f"# snapshot: (cd {env.workdir.resolve()} && terraform state pull) → a state backup" in tf_lines


def test_accept_forget_recreate_and_codify_change_the_state_and_rollback_pushes_it_back(
    env: Env, drifted: dict[str, DriftItem]
) -> None:
    logs = boto3.client("logs")
    logs.delete_log_group(logGroupName="/rx/spare")  # by hand: the state now holds a missing resource
    logs.create_log_group(logGroupName="/rx/hand")  # by hand: unmanaged
    logs.put_retention_policy(logGroupName="/rx/hand", retentionInDays=3)
    items = env.scan()
    assert items["aws_cloudwatch_log_group.spare"].status == "missing"
    queue, param = items["aws_sqs_queue.jobs"], items["aws_ssm_parameter.mode"]
    actions = [
        Action(
            id="a1",
            kind="accept",
            type=queue.type,
            resource_id=queue.id,
            address=queue.address,
            region=queue.region,
            source=queue.source,
            method="terraform",
            changes=[{"path": c.path, "expected": c.expected, "actual": c.actual} for c in queue.changes],
        ),
        Action(
            id="a2",
            kind="forget",
            type=param.type,
            resource_id=param.id,
            address=param.address,
            region=param.region,
            source=param.source,
            method="terraform",
        ),
        Action(
            id="a3",
            kind="recreate",
            type="aws_cloudwatch_log_group",
            resource_id="/rx/spare",
            address="aws_cloudwatch_log_group.spare",
            region="us-east-1",
            method="terraform",
        ),
        Action(
            id="a4",
            kind="codify",
            type="aws_cloudwatch_log_group",
            resource_id="/rx/hand",
            region="us-east-1",
            method="terraform",
        ),  # steps built when it runs: import block + resource written, then a targeted apply
    ]
    for a in actions[:3]:
        a.steps = build_steps(a, terraform_dir=str(env.workdir), live=None)
    cwd = env.workdir.resolve()
    assert [s.command_line() for a in actions for s in a.steps] == [
        f"(cd {cwd} && terraform apply -refresh-only -target=aws_sqs_queue.jobs -auto-approve -input=false)",
        f"(cd {cwd} && terraform state rm aws_ssm_parameter.mode)",
        f"(cd {cwd} && terraform apply -target=aws_cloudwatch_log_group.spare -auto-approve -input=false)",
    ]
    plan = Plan(actions=actions, terraform_dir=str(env.workdir))
    executor = env.executor()
    outcome = executor.execute(plan)
    assert outcome["ok"], json.dumps({k: outcome[k] for k in ("actions", "validation")}, default=str)[:4000]
    assert outcome["actions"][2]["created"]["id"] == "/rx/spare"
    codify = outcome["actions"][3]
    written = Path(codify["files"][0]["path"])
    assert codify["files"][0]["existed"] is False and written.parent == cwd
    assert 'id = "/rx/hand"' in written.read_text() and "retention_in_days = 3" in written.read_text()
    assert (
        codify["ran"][-1]
        == f"(cd {cwd} && terraform apply -target={codify['target']} -auto-approve -input=false)"
    )
    saved = outcome["snapshot"]["states"][0]
    assert saved["dir"] == str(cwd) and Path(saved["backup"]).stat().st_mode & 0o077 == 0  # secrets: 0600
    after = env.scan()
    assert after["aws_sqs_queue.jobs"].status == "in_sync"  # the state took the live value
    assert "aws_ssm_parameter.mode" not in after  # forgotten (the live parameter is unmanaged now)
    assert after["aws_cloudwatch_log_group.spare"].status == "in_sync"
    assert (
        after[codify["target"]].status == "in_sync" and after[codify["target"]].id == "/rx/hand"
    )  # imported

    rolled = executor.rollback(plan, outcome["snapshot"], outcome)
    assert rolled["ok"], json.dumps(rolled, default=str)[:4000]
    assert (
        rolled["state"][0]["pushed"] and rolled["state"][0]["serial"] > outcome["states_after"][0]["serial"]
    )
    back = env.scan()
    assert back["aws_cloudwatch_log_group.spare"].status == "missing"  # what the recreate created is gone
    assert_drift_is_expected({a: i for a, i in back.items() if a != "aws_cloudwatch_log_group.spare"})
    assert not written.exists() and codify["target"] not in back  # configuration and import undone
    assert boto3.client("logs").describe_log_groups(logGroupNamePrefix="/rx/hand")["logGroups"]  # not deleted
    env.terraform.run(
        env.workdir, "apply", "-target=aws_cloudwatch_log_group.spare", "-auto-approve", "-input=false"
    )
