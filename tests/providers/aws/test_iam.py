"""IAM types against real Terraform state: roles, customer-managed policies, role policy attachments,
inline role policies, users, groups and instance profiles.

One `terraform apply` per module. The discovery oracle is the state after `terraform apply
-refresh-only` (a fresh apply stores `tags = null` and `attachment_count = 0`, which the provider's own
read turns into `{}` and the live count). `driftmgr drift detect` runs on the FRESH state, as a user
would have it, and must see no drift there.

All live calls run in the module fixture; the tests only assert on what it recorded, so the per-test
moto reset of other modules cannot interfere.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from driftmgr.cli.app import main
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.base import DiscoveryResult, Scope, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import assert_discovered_matches_state, by_key

TYPES = [
    "aws_iam_role",
    "aws_iam_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_role_policy",
    "aws_iam_user",
    "aws_iam_group",
    "aws_iam_instance_profile",
]
ACCOUNT = "123456789012"
IAM_FILTER = "starts_with(type, 'aws_iam_')"

CONFIG = """
locals {
  assume_ec2 = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
}
resource "aws_iam_policy" "p" {
  count       = 2
  name        = "app-policy-${count.index}"
  path        = "/app/"
  description = "policy ${count.index}"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::bucket-${count.index}/*"
    }]
  })
  tags = { team = "data", idx = "${count.index}" }
}
resource "aws_iam_policy" "boundary" {
  name   = "boundary"
  policy = jsonencode({
    Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}
resource "aws_iam_role" "r" {
  for_each             = { app = "/app/", batch = "/" }
  name                 = "role-${each.key}"
  path                 = each.value
  description          = "role for ${each.key}"
  max_session_duration = each.key == "app" ? 7200 : 3600
  assume_role_policy   = local.assume_ec2
  permissions_boundary = each.key == "app" ? aws_iam_policy.boundary.arn : null
  tags                 = { env = "test", role = each.key }
}
resource "aws_iam_role_policy_attachment" "a" {
  for_each   = { p0 = aws_iam_policy.p[0].arn, p1 = aws_iam_policy.p[1].arn }
  role       = aws_iam_role.r["app"].name
  policy_arn = each.value
}
resource "aws_iam_role_policy_attachment" "batch" {
  role       = aws_iam_role.r["batch"].name
  policy_arn = aws_iam_policy.boundary.arn
}
resource "aws_iam_role_policy" "inline" {
  for_each = toset(["logs", "sqs"])
  name     = "inline-${each.key}"
  role     = aws_iam_role.r["batch"].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "${each.key}:*", Resource = "*" }]
  })
}
resource "aws_iam_user" "u" {
  for_each = toset(["alice", "bob"])
  name     = each.key
  path     = "/people/"
  tags     = { owner = each.key }
}
resource "aws_iam_group" "g" {
  count = 2
  name  = "group-${count.index}"
  path  = count.index == 0 ? "/teams/" : "/"
}
resource "aws_iam_instance_profile" "app" {
  name = "profile-app"
  path = "/app/"
  role = aws_iam_role.r["app"].name
  tags = { env = "test" }
}
resource "aws_iam_instance_profile" "empty" {
  name = "profile-empty"
}
"""


def doc(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


ASSUME_LAMBDA = doc(
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
)
S3_ALL = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
LOGS_READ = doc({"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"})


@dataclass
class Scenario:
    state: dict[str, Any]  # after apply -refresh-only: the discovery oracle
    fresh: dict[str, Any]  # as `terraform apply` wrote it: what drift detect reads
    before: DiscoveryResult  # untouched
    after: DiscoveryResult = field(default_factory=DiscoveryResult)  # after the changes below
    drift_before: tuple[int, dict[str, Any]] = (-1, {})  # (exit code, JSON report) untouched
    drift_after: tuple[int, dict[str, Any]] = (-1, {})
    hand: dict[str, str] = field(default_factory=dict)  # hand-made resources: name -> id

    def attrs(self, tf_type: str, name: str, key: Any = None) -> dict[str, Any]:
        for inst in state_instances(self.fresh, tf_type):
            if inst["name"] == name and inst["index_key"] == key:
                return dict(inst["attributes"])
        raise KeyError((tf_type, name, key))

    def sid(self, tf_type: str, name: str, key: Any = None) -> str:
        return str(self.attrs(tf_type, name, key)["id"])


def _detect(state: Path, out: Path) -> tuple[int, dict[str, Any]]:
    code = main(["drift", "detect", "--state", str(state), "--format", "json", "--filter", IAM_FILTER,
                 "--output", str(out)])  # fmt: skip
    return code, json.loads(out.read_text())


@pytest.fixture(scope="module")
def scn(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("iam")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        workdir = tmp / "tf"
        fresh = terraform.apply(workdir, CONFIG, moto_server.endpoint)
        fresh_path = tmp / "fresh.tfstate"
        shutil.copy(workdir / "terraform.tfstate", fresh_path)
        terraform.run(workdir, "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
        state = json.loads((workdir / "terraform.tfstate").read_text())
        scn = Scenario(state=state, fresh=fresh, before=AwsProvider().discover(types=TYPES))
        scn.drift_before = _detect(fresh_path, tmp / "before.json")
        _change_out_of_band(scn)
        scn.after = AwsProvider().discover(types=TYPES)
        scn.drift_after = _detect(fresh_path, tmp / "after.json")
        yield scn


def _change_out_of_band(scn: Scenario) -> None:
    """Seed from this one thread (moto can fail concurrent writes)."""
    iam = boto3.client("iam")
    p0, p1 = scn.sid("aws_iam_policy", "p", 0), scn.sid("aws_iam_policy", "p", 1)
    # Hand-made: one of each type, plus AWS-made roles (service-linked, Identity Center).
    iam.create_role(RoleName="hand-role", AssumeRolePolicyDocument=ASSUME_LAMBDA)
    hand_policy = iam.create_policy(PolicyName="hand-policy", PolicyDocument=S3_ALL)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="role-batch", PolicyArn=hand_policy)
    iam.put_role_policy(RoleName="role-app", PolicyName="hand-inline", PolicyDocument=LOGS_READ)
    iam.create_user(UserName="hand-user")
    iam.create_group(GroupName="hand-group")
    iam.create_instance_profile(InstanceProfileName="hand-profile")
    slr = iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")["Role"]["RoleName"]
    iam.attach_role_policy(RoleName=slr, PolicyArn=hand_policy)
    iam.put_role_policy(RoleName=slr, PolicyName="slr-inline", PolicyDocument=LOGS_READ)
    iam.create_role(
        RoleName="AWSReservedSSO_Admin_0123456789abcdef",
        Path="/aws-reserved/sso.amazonaws.com/",
        AssumeRolePolicyDocument=ASSUME_LAMBDA,
    )
    scn.hand = {"role": "hand-role", "policy": hand_policy, "slr": slr}

    # Out-of-band edits of managed resources.
    iam.update_role(RoleName="role-app", Description="changed by hand", MaxSessionDuration=10800)
    iam.tag_role(RoleName="role-app", Tags=[{"Key": "env", "Value": "prod"}])
    iam.delete_role_permissions_boundary(RoleName="role-app")
    iam.update_assume_role_policy(RoleName="role-batch", PolicyDocument=ASSUME_LAMBDA)
    iam.create_policy_version(PolicyArn=p0, PolicyDocument=S3_ALL, SetAsDefault=True)
    iam.tag_policy(PolicyArn=p1, Tags=[{"Key": "team", "Value": "ml"}])
    iam.detach_role_policy(RoleName="role-app", PolicyArn=p1)
    iam.put_role_policy(RoleName="role-batch", PolicyName="inline-logs", PolicyDocument=LOGS_READ)
    iam.delete_role_policy(RoleName="role-batch", PolicyName="inline-sqs")
    iam.tag_user(UserName="alice", Tags=[{"Key": "owner", "Value": "carol"}])
    iam.update_user(UserName="bob", NewPath="/former/")
    iam.tag_user(UserName="bob", Tags=[{"Key": "owner", "Value": "bob"}])  # moto drops tags on a move
    iam.delete_group(GroupName="group-0")  # recreated under the same name (= id) on another path
    iam.create_group(GroupName="group-0", Path="/moved/")
    iam.remove_role_from_instance_profile(InstanceProfileName="profile-app", RoleName="role-app")
    iam.tag_instance_profile(InstanceProfileName="profile-empty", Tags=[{"Key": "k", "Value": "v"}])


def _after(scn: Scenario, tf_type: str, rid: str) -> dict[str, Any]:
    res = by_key(scn.after).get((tf_type, rid))
    assert res is not None, f"{tf_type} {rid} not discovered after the changes"
    return res.attributes


# --- untouched: discovery reproduces the state ------------------------------------------------------
@pytest.mark.parametrize("tf_type", [t for t in TYPES if t != "aws_iam_role_policy_attachment"])
def test_untouched_resources_match_refreshed_state(scn: Scenario, tf_type: str) -> None:
    assert_discovered_matches_state(scn.before, scn.state, tf_type)


def test_role_attributes_are_read_with_tags_boundary_and_decoded_trust_policy(scn: Scenario) -> None:
    app = by_key(scn.before)[("aws_iam_role", "role-app")].attributes
    assert app["tags"] == {"env": "test", "role": "app"}
    assert app["permissions_boundary"] == scn.sid("aws_iam_policy", "boundary")
    assert app["max_session_duration"] == 7200
    assert json.loads(app["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert "managed_policy_arns" not in app and "inline_policy" not in app and "name_prefix" not in app


def test_attachments_carry_role_and_policy_arn_and_match_state_by_that_pair(scn: Scenario) -> None:
    rtype = registered_types("aws")["aws_iam_role_policy_attachment"]
    assert rtype.match_key is not None
    live = [r for r in scn.before.resources if r.type == "aws_iam_role_policy_attachment"]
    state = state_instances(scn.fresh, "aws_iam_role_policy_attachment")
    # Terraform 5.x stores a generated `<role>-<timestamp>` id; discovery uses the import id.
    assert all(i["attributes"]["id"].startswith(i["attributes"]["role"] + "-20") for i in state)
    assert {r.id for r in live} == {
        f"{i['attributes']['role']}/{i['attributes']['policy_arn']}" for i in state
    }
    assert {rtype.match_key(r.attributes) for r in live} == {rtype.match_key(i["attributes"]) for i in state}
    for r in live:
        assert r.attributes == {"role": r.id.split("/", 1)[0], "policy_arn": r.id.split("/", 1)[1]}


def test_untouched_account_has_nothing_unmanaged_or_default(scn: Scenario) -> None:
    in_state = {(i["type"], i["attributes"]["id"]) for i in state_instances(scn.state)}
    attachments = {f"{i['attributes']['role']}/{i['attributes']['policy_arn']}"
                   for i in state_instances(scn.state, "aws_iam_role_policy_attachment")}  # fmt: skip
    outside = {
        r.key
        for r in scn.before.resources
        if r.key not in in_state and not (r.type == "aws_iam_role_policy_attachment" and r.id in attachments)
    }
    assert outside == set()
    assert not [r.key for r in scn.before.resources if r.default]


# --- drift detect end to end ------------------------------------------------------------------------
def test_drift_detect_on_untouched_iam_reports_everything_in_sync(scn: Scenario) -> None:
    code, report = scn.drift_before
    s = report["summary"]
    assert (code, s["drifted"], s["missing"], s["unmanaged"], s["unsupported"]) == (0, 0, 0, 0, 0)
    assert {(r["type"], r["id"]) for r in report["resources"]} == {
        (i["type"], i["attributes"]["id"]) for i in state_instances(scn.fresh)
    }
    assert {r["status"] for r in report["resources"]} == {"in_sync"}


def test_drift_detect_after_out_of_band_changes_reports_exactly_them(scn: Scenario) -> None:
    code, report = scn.drift_after
    assert code == 2
    p0, p1 = scn.sid("aws_iam_policy", "p", 0), scn.sid("aws_iam_policy", "p", 1)
    hand_policy = scn.hand["policy"]
    statuses = {(r["status"], r["type"], r["id"]) for r in report["resources"] if r["status"] != "in_sync"}
    assert statuses == {
        ("drifted", "aws_iam_role", "role-app"),
        ("drifted", "aws_iam_role", "role-batch"),
        ("drifted", "aws_iam_policy", p0),
        ("drifted", "aws_iam_policy", p1),
        ("drifted", "aws_iam_role_policy", "role-batch:inline-logs"),
        ("drifted", "aws_iam_user", "alice"),
        ("drifted", "aws_iam_user", "bob"),
        ("drifted", "aws_iam_group", "group-0"),
        ("drifted", "aws_iam_instance_profile", "profile-app"),
        ("drifted", "aws_iam_instance_profile", "profile-empty"),
        ("missing", "aws_iam_role_policy_attachment", scn.sid("aws_iam_role_policy_attachment", "a", "p1")),
        ("missing", "aws_iam_role_policy", "role-batch:inline-sqs"),
        ("unmanaged", "aws_iam_role", "hand-role"),
        ("unmanaged", "aws_iam_policy", hand_policy),
        ("unmanaged", "aws_iam_role_policy_attachment", f"role-batch/{hand_policy}"),
        ("unmanaged", "aws_iam_role_policy", "role-app:hand-inline"),
        ("unmanaged", "aws_iam_user", "hand-user"),
        ("unmanaged", "aws_iam_group", "hand-group"),
        ("unmanaged", "aws_iam_instance_profile", "hand-profile"),
    }
    changes = {
        (r["type"], r["id"]): {c["path"]: (c["expected"], c["actual"]) for c in r["changes"]}
        for r in report["resources"]
        if r["status"] == "drifted"
    }
    assert changes[("aws_iam_role", "role-app")] == {
        "description": ("role for app", "changed by hand"),
        "max_session_duration": (7200, 10800),
        "tags.env": ("test", "prod"),
        "permissions_boundary": (scn.sid("aws_iam_policy", "boundary"), ""),
    }
    assert list(changes[("aws_iam_role", "role-batch")]) == ["assume_role_policy"]
    assert list(changes[("aws_iam_policy", p0)]) == ["policy"]
    assert changes[("aws_iam_policy", p1)] == {"tags.team": ("data", "ml")}
    assert list(changes[("aws_iam_role_policy", "role-batch:inline-logs")]) == ["policy"]
    assert changes[("aws_iam_user", "alice")] == {"tags.owner": ("alice", "carol")}
    assert changes[("aws_iam_user", "bob")] == {"path": ("/people/", "/former/")}
    assert changes[("aws_iam_group", "group-0")] == {"path": ("/teams/", "/moved/")}
    assert changes[("aws_iam_instance_profile", "profile-app")] == {"role": ("role-app", None)}
    assert changes[("aws_iam_instance_profile", "profile-empty")] == {"tags.k": (None, "v")}


# --- hand-made resources: unmanaged, under the id Terraform would store -----------------------------
def test_hand_made_resources_are_discovered_under_terraform_import_ids(scn: Scenario) -> None:
    found = by_key(scn.after)
    hand_policy = scn.hand["policy"]
    expected = {
        ("aws_iam_role", "hand-role"),
        ("aws_iam_policy", hand_policy),
        ("aws_iam_role_policy_attachment", f"role-batch/{hand_policy}"),
        ("aws_iam_role_policy", "role-app:hand-inline"),
        ("aws_iam_user", "hand-user"),
        ("aws_iam_group", "hand-group"),
        ("aws_iam_instance_profile", "hand-profile"),
    }
    for key in expected:
        assert key in found, f"{key} not discovered"
        assert not found[key].default, f"{key} flagged default: {found[key].default_reason}"
    assert found[("aws_iam_policy", hand_policy)].attributes["policy"] == json.dumps(
        json.loads(S3_ALL), separators=(",", ":")
    )
    assert found[("aws_iam_role_policy", "role-app:hand-inline")].attributes == {
        "role": "role-app",
        "name": "hand-inline",
        "policy": json.dumps(json.loads(LOGS_READ), separators=(",", ":")),
    }
    profile = found[("aws_iam_instance_profile", "hand-profile")].attributes
    assert (profile["role"], profile["tags"], profile["path"]) == (None, {}, "/")


# --- defaults ---------------------------------------------------------------------------------------
def test_service_linked_and_identity_center_roles_and_their_policies_are_defaults(scn: Scenario) -> None:
    slr, hand_policy = scn.hand["slr"], scn.hand["policy"]
    defaults = {r.key: r.default_reason for r in scn.after.resources if r.default}
    assert defaults == {
        ("aws_iam_role", slr): f"service-linked role {slr}",
        ("aws_iam_role_policy_attachment", f"{slr}/{hand_policy}"): (
            f"policy attachment of service-linked role {slr}"
        ),
        ("aws_iam_role_policy", f"{slr}:slr-inline"): f"inline policy of service-linked role {slr}",
        ("aws_iam_role", "AWSReservedSSO_Admin_0123456789abcdef"): (
            "AWS-reserved role AWSReservedSSO_Admin_0123456789abcdef"
        ),
    }


# --- out-of-band changes: discovery reads the live value --------------------------------------------
def test_out_of_band_changes_show_in_discovered_attributes(scn: Scenario) -> None:
    app = _after(scn, "aws_iam_role", "role-app")
    assert (app["description"], app["tags"]["env"], app["permissions_boundary"]) == (
        "changed by hand",
        "prod",
        "",
    )
    batch = _after(scn, "aws_iam_role", "role-batch")
    assert json.loads(batch["assume_role_policy"]) == json.loads(ASSUME_LAMBDA)
    p0 = _after(scn, "aws_iam_policy", scn.sid("aws_iam_policy", "p", 0))
    assert json.loads(p0["policy"]) == json.loads(S3_ALL)
    assert _after(scn, "aws_iam_policy", scn.sid("aws_iam_policy", "p", 1))["tags"]["team"] == "ml"
    assert json.loads(_after(scn, "aws_iam_role_policy", "role-batch:inline-logs")["policy"]) == json.loads(
        LOGS_READ
    )
    assert ("aws_iam_role_policy", "role-batch:inline-sqs") not in by_key(scn.after)
    p1 = scn.sid("aws_iam_policy", "p", 1)
    assert ("aws_iam_role_policy_attachment", f"role-app/{p1}") not in by_key(scn.after)
    assert _after(scn, "aws_iam_user", "alice")["tags"] == {"owner": "carol"}
    bob = _after(scn, "aws_iam_user", "bob")
    assert (bob["path"], bob["arn"]) == ("/former/", f"arn:aws:iam::{ACCOUNT}:user/former/bob")
    assert _after(scn, "aws_iam_group", "group-0")["path"] == "/moved/"
    assert _after(scn, "aws_iam_instance_profile", "profile-app")["role"] is None
    assert _after(scn, "aws_iam_instance_profile", "profile-empty")["tags"] == {"k": "v"}


# --- API edge cases (botocore Stubber: no server) ----------------------------------------------------
def _stubbed_scope() -> tuple[Scope, Stubber]:
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return Scope("aws", ACCOUNT, "us-east-1", lambda _service: client), Stubber(client)


ROLE = {
    "Path": "/",
    "RoleName": "late",
    "RoleId": "AROAEXAMPLEEXAMPLE01",
    "Arn": f"arn:aws:iam::{ACCOUNT}:role/late",
    "CreateDate": dt.datetime(2024, 1, 2, 4, 4, 5, 678000, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
    "MaxSessionDuration": 3600,
}


def test_a_role_missing_from_authorization_details_leaves_tags_and_boundary_unknown() -> None:
    scope, stub = _stubbed_scope()
    stub.add_response("get_account_authorization_details", {"RoleDetailList": [], "IsTruncated": False})
    stub.add_response("list_roles", {"Roles": [ROLE], "IsTruncated": False})
    rtype = registered_types("aws")["aws_iam_role"]
    assert rtype.collect is not None
    with stub:
        items = list(rtype.collect(scope))
    attrs = rtype.to_attributes(items[0], scope)
    assert "tags" not in attrs and "permissions_boundary" not in attrs
    assert attrs["assume_role_policy"] == '{"Version":"2012-10-17","Statement":[]}'
    assert (attrs["create_date"], attrs["description"]) == ("2024-01-02T03:04:05Z", "")


def test_a_policy_deleted_between_listing_and_details_is_dropped() -> None:
    scope, stub = _stubbed_scope()
    arn = f"arn:aws:iam::{ACCOUNT}:policy/gone"
    stub.add_client_error("get_policy", "NoSuchEntity", "Policy gone does not exist", 404, {"PolicyArn": arn})
    rtype = registered_types("aws")["aws_iam_policy"]
    assert rtype.details is not None
    with stub:
        assert rtype.details({"Arn": arn, "PolicyName": "gone"}, scope) is None
    stub.add_client_error("get_policy", "ServiceFailure", "boom", 500)
    with stub, pytest.raises(Exception, match="ServiceFailure"):
        rtype.details({"Arn": arn, "PolicyName": "gone"}, scope)


def test_discovered_resources_are_global(scn: Scenario) -> None:
    assert {(r.region, r.account) for r in scn.before.resources} == {(None, ACCOUNT)}
