"""Accept with `--config DIR` (issue 6): the state AND the configuration follow the cloud.

With the real Terraform CLI + hashicorp/aws against a private moto server: a small configuration is
applied, changed out of band with boto3 (an SQS queue's literal attribute, an argument the
configuration does not set, tags replaced/added/removed; an S3 versioning block), a real scan reports
the drift, the planner builds drifted=accept with the working directory as Terraform and
configuration directory, and the executor runs it: afterwards `terraform plan -detailed-exitcode`
has nothing to change and a scan is in sync; rollback restores the .tf files byte for byte and the
state. A value the configuration computes with an expression is refused with a reason (the
refresh-only apply still runs). Without Terraform: the executor's backup of an overwritten file, its
refusal of a file changed since the plan, and the dry run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.engine.remediation import Action, Plan, Step
from driftmgr.engine.report import DriftReport
from driftmgr.services.drift import DetectOptions, DriftService
from driftmgr.services.remediation_exec import RemediationExecutor
from driftmgr.services.remediation_planner import Planner, PlanOptions, parse_strategy
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env, start_moto
from tests.fixtures.terraform import Terraform

CONFIG = """\
# accepted drift lands here (this comment stays)
locals {
  timeout = 30
}

resource "aws_sqs_queue" "jobs" {
  name                       = "ax-jobs"
  visibility_timeout_seconds = 45 # seconds
  tags = {
    Name = "ax-jobs"
    env  = "test"
  }
}

resource "aws_sqs_queue" "computed" {
  name                       = "ax-computed"
  visibility_timeout_seconds = local.timeout
}

resource "aws_s3_bucket" "data" {
  bucket = "ax-data"
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}
"""

EXPECTED = {
    "aws_sqs_queue.jobs": {
        "visibility_timeout_seconds": (45, 90),
        "delay_seconds": (0, 5),
        "tags.env": ("test", "prod"),
        "tags.owner": (None, "bob"),
        "tags.Name": ("ax-jobs", None),
    },
    "aws_sqs_queue.computed": {"visibility_timeout_seconds": (30, 60)},
    "aws_s3_bucket_versioning.data": {"versioning_configuration[0].status": ("Enabled", "Suspended")},
}


class Setup:
    def __init__(self, terraform: Terraform, server: MotoServer, workdir: Path, tmp: Path) -> None:
        self.terraform, self.server, self.workdir, self.tmp = terraform, server, workdir, tmp

    @property
    def state_path(self) -> Path:
        return self.workdir / "terraform.tfstate"

    def report(self) -> DriftReport:
        report = DriftService().detect([str(self.state_path)], DetectOptions())
        assert not report.errors, report.errors
        return report

    def drift(self) -> dict[str, dict[str, Any]]:
        return {
            i.address: {c.path: (c.expected, c.actual) for c in i.changes}
            for i in self.report().resources
            if i.address and i.status != "in_sync"
        }

    def tf_files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.workdir.glob("*.tf"))}


def out_of_band(state: dict[str, Any]) -> None:
    urls = {
        r["name"]: r["instances"][0]["attributes"]["id"]
        for r in state["resources"]
        if r["type"] == "aws_sqs_queue"
    }
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(
        QueueUrl=urls["jobs"], Attributes={"VisibilityTimeout": "90", "DelaySeconds": "5"}
    )
    sqs.tag_queue(QueueUrl=urls["jobs"], Tags={"env": "prod", "owner": "bob"})
    sqs.untag_queue(QueueUrl=urls["jobs"], TagKeys=["Name"])
    sqs.set_queue_attributes(QueueUrl=urls["computed"], Attributes={"VisibilityTimeout": "60"})
    boto3.client("s3").put_bucket_versioning(
        Bucket="ax-data", VersioningConfiguration={"Status": "Suspended"}
    )


@pytest.fixture(scope="module")
def setup(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    server = start_moto()
    tmp = tmp_path_factory.mktemp("accept")
    try:
        with pytest.MonkeyPatch.context() as mp:
            set_fake_aws_env(mp, server.endpoint, tmp)
            workdir = tmp / "tf"
            state = terraform.apply(workdir, CONFIG, server.endpoint)
            s = Setup(terraform, server, workdir, tmp)
            assert s.drift() == {}
            out_of_band(state)
            yield s
    finally:
        server.stop()


def _plan(setup: Setup, select: list[str]) -> Plan:
    options = PlanOptions(
        strategy=parse_strategy(["drifted=accept"]),
        select=select,
        terraform_dir=str(setup.workdir.resolve()),
        config_dir=str(setup.workdir.resolve()),
    )
    built = Planner().build(setup.report(), options)
    assert not built.plan.refused, built.plan.refused
    return built.plan


@pytest.mark.emulator
def test_accept_patches_the_configuration_so_terraform_has_nothing_to_change_and_rollback_restores(
    setup: Setup,
) -> None:
    assert setup.drift() == EXPECTED
    files_before, state_before = setup.tf_files(), setup.state_path.read_bytes()

    # an expression is never overwritten: the reason is the note, the refresh-only apply still runs
    whole = _plan(setup, [])
    computed = next(a for a in whole.actions if a.address == "aws_sqs_queue.computed")
    assert [s.kind for s in computed.steps] == ["terraform"]
    assert "not patched" in (computed.note or "") and "local.timeout" in (computed.note or "")

    plan = _plan(setup, ["aws_sqs_queue.jobs", "aws_s3_bucket_versioning.data"])
    main = str((setup.workdir / "main.tf").resolve())
    for a in plan.actions:
        assert [s.kind for s in a.steps] == ["terraform", "file"], a.steps
        assert "-refresh-only" in a.steps[0].args and a.steps[1].path == main
    diff = plan.report["config_patch"]["diff"]
    assert (
        "-  visibility_timeout_seconds = 45 # seconds\n+  visibility_timeout_seconds = 90 # seconds\n" in diff
    )
    assert '+    status = "Suspended"\n' in diff
    assert setup.tf_files() == files_before  # planning writes nothing

    executor = RemediationExecutor(backup_dir=setup.tmp / "backups", terraform_env=setup.terraform.env())
    preview = executor.preview(plan)
    assert any(line.startswith(f"write {main} (") for line in preview)
    assert setup.tf_files() == files_before and setup.state_path.read_bytes() == state_before  # dry run

    outcome = executor.execute(plan)
    assert outcome["ok"], json.dumps(
        {k: outcome[k] for k in ("actions", "validation", "error")}, default=str
    )[:4000]
    patched = (setup.workdir / "main.tf").read_text()
    assert (
        "visibility_timeout_seconds = local.timeout" in patched and "# accepted drift lands here" in patched
    )
    assert (
        'resource "aws_sqs_queue" "jobs" {\n'
        '  name                       = "ax-jobs"\n'
        "  visibility_timeout_seconds = 90 # seconds\n"
        "  tags = {\n"
        '    env   = "prod"\n'
        '    owner = "bob"\n'
        "  }\n"
        "  delay_seconds = 5\n"
        "}\n"
    ) in patched
    fmt = setup.terraform.run(setup.workdir, "fmt", "-check", "-diff", "main.tf", check=False)
    assert fmt.returncode == 0, fmt.stdout  # the edits are laid out as terraform fmt would
    plan_run = setup.terraform.run(
        setup.workdir,
        "plan",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        "-target=aws_sqs_queue.jobs",
        "-target=aws_s3_bucket_versioning.data",
        check=False,
    )
    assert plan_run.returncode == 0, plan_run.stdout[-3000:] + plan_run.stderr[-2000:]
    after = setup.drift()
    assert "aws_sqs_queue.jobs" not in after and "aws_s3_bucket_versioning.data" not in after, after
    backups = [Path(f["backup"]) for r in outcome["actions"] for f in r.get("files") or []]
    assert backups and all(b.stat().st_mode & 0o077 == 0 for b in backups)  # 0600, like the state backup

    rolled = executor.rollback(plan, outcome["snapshot"], outcome)
    assert rolled["ok"], json.dumps(rolled, default=str)[:4000]
    assert setup.tf_files() == files_before  # byte for byte
    assert rolled["state"][0]["pushed"]
    assert setup.drift() == EXPECTED  # the state holds the old values again


@pytest.mark.emulator
def test_the_whole_working_directory_plans_clean_after_accepting_everything_patchable(setup: Setup) -> None:
    """`terraform plan` over the whole directory: 0 changes once even the refused one is accepted by
    hand (its expression edited) — proving the patched resources need nothing more."""
    plan = _plan(setup, ["aws_sqs_queue.jobs", "aws_s3_bucket_versioning.data", "aws_sqs_queue.computed"])
    executor = RemediationExecutor(backup_dir=setup.tmp / "backups2", terraform_env=setup.terraform.env())
    files_before = setup.tf_files()
    outcome = executor.execute(plan)
    assert [a["status"] for a in outcome["actions"]] == ["succeeded"] * 3
    main = setup.workdir / "main.tf"
    patched = main.read_bytes()
    main.write_bytes(patched.replace(b"timeout = 30", b"timeout = 60"))  # what the note asks a human to do
    try:
        proc = setup.terraform.run(
            setup.workdir, "plan", "-detailed-exitcode", "-input=false", "-no-color", check=False
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert setup.drift() == {}
    finally:
        main.write_bytes(patched)
        rolled = executor.rollback(plan, outcome["snapshot"], outcome)
    assert rolled["ok"], json.dumps(rolled, default=str)[:4000]
    assert setup.tf_files() == files_before and setup.drift() == EXPECTED


# --- the executor's file steps, without Terraform ---------------------------------------------------


class NoCloud:
    name = "aws"

    def get(self, tf_type: str, resource_id: str, region: str | None) -> None:
        return None


def _file_plan(tmp_path: Path, content: str, base: str | None = None) -> tuple[Plan, Path]:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    target = conf / "main.tf"
    action = Action(id="a1", kind="accept", type="aws_sqs_queue", resource_id=None, address="aws_sqs_queue.q")
    action.steps = [Step("file", "patch main.tf", path=str(target), content=content)]
    plan = Plan([action], config_dir=str(conf))
    if base is not None:
        plan.report["config_patch"] = {"base_sha256": {str(target.resolve()): base}}
    return plan, target


def _executor(tmp_path: Path) -> RemediationExecutor:
    return RemediationExecutor(provider_factory=lambda _: NoCloud(), backup_dir=tmp_path / "backups")  # type: ignore[arg-type,return-value]


def test_an_overwritten_file_is_backed_up_and_rollback_restores_its_exact_bytes(tmp_path: Path) -> None:
    import hashlib

    original = b'resource "aws_sqs_queue" "q" {\r\n  name = "q"\r\n}\r\n\xe2\x9c\x93 # \r\n'
    plan, target = _file_plan(tmp_path, "new\n", base=hashlib.sha256(original).hexdigest())
    target.write_bytes(original)
    target.chmod(0o640)
    ex = _executor(tmp_path)
    outcome = ex.execute(plan)
    rec = outcome["actions"][0]
    assert rec["status"] == "succeeded" and target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    saved = rec["files"][0]
    assert saved["existed"] and Path(saved["backup"]).read_bytes() == original
    assert Path(saved["backup"]).stat().st_mode & 0o077 == 0
    assert "previous" not in saved  # the content stays out of the outcome JSON
    rolled = ex.rollback(plan, outcome["snapshot"], outcome)
    assert rolled["actions"][0]["status"] == "succeeded" and target.read_bytes() == original


def test_a_file_changed_since_the_plan_is_not_overwritten(tmp_path: Path) -> None:
    plan, target = _file_plan(tmp_path, "new\n", base="0" * 64)
    target.write_bytes(b"edited by someone\n")
    outcome = _executor(tmp_path).execute(plan)
    assert (
        outcome["actions"][0]["status"] == "failed"
        and "changed since the plan" in outcome["actions"][0]["error"]
    )
    assert target.read_bytes() == b"edited by someone\n"


def test_rollback_leaves_a_file_edited_after_the_run(tmp_path: Path) -> None:
    plan, target = _file_plan(tmp_path, "new\n")
    target.write_bytes(b"old\n")
    ex = _executor(tmp_path)
    outcome = ex.execute(plan)
    target.write_bytes(b"someone's later edit\n")
    rolled = ex.rollback(plan, outcome["snapshot"], outcome)
    assert (
        rolled["actions"][0]["status"] == "failed"
        and "changed since the run" in rolled["actions"][0]["error"]
    )
    assert target.read_bytes() == b"someone's later edit\n"


def test_a_dry_run_of_a_file_step_writes_nothing(tmp_path: Path) -> None:
    plan, target = _file_plan(tmp_path, "new\n")
    target.write_bytes(b"old\n")
    lines = _executor(tmp_path).preview(plan)
    assert f"write {target.resolve()} (4 bytes)" in lines or f"write {target} (4 bytes)" in lines
    assert target.read_bytes() == b"old\n" and not (tmp_path / "backups").exists()
