"""aws_kms_key, aws_kms_alias, aws_secretsmanager_secret and aws_ssm_parameter against real
Terraform state.

One `terraform apply` per module; discovery is checked against the state after `terraform apply
-refresh-only`, `driftmgr drift detect` runs on the state the first apply wrote. All live calls happen
in the module fixture. Secret values and SecureString values are never read: the unit tests at the
end prove which calls discovery makes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.base import Scope, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import Scenario, assert_discovered_matches_state, by_key
from tests.providers.aws.helpers import detect as run_detect

TYPES = ["aws_kms_key", "aws_kms_alias", "aws_secretsmanager_secret", "aws_ssm_parameter"]

CONFIG = """
resource "aws_kms_key" "k" {
  for_each                = { app = 7, logs = 10 }
  description             = "key ${each.key}"
  deletion_window_in_days = each.value
  enable_key_rotation     = each.key == "app"
  tags                    = { Name = "key-${each.key}", env = "test" }
}
resource "aws_kms_key" "custom" {
  description = "custom policy"
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "custom"
    Statement = [{
      Sid = "root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::123456789012:root" },
      Action = "kms:*", Resource = "*"
    }]
  })
}
resource "aws_kms_alias" "a" {
  for_each      = aws_kms_key.k
  name          = "alias/drift-${each.key}"
  target_key_id = each.value.key_id
}
resource "aws_kms_alias" "custom" {
  name          = "alias/drift-custom"
  target_key_id = aws_kms_key.custom.key_id
}
resource "aws_secretsmanager_secret" "s" {
  count                   = 3
  name                    = "drift/secret-${count.index}"
  description             = "secret ${count.index}"
  recovery_window_in_days = 0
  kms_key_id              = count.index == 1 ? aws_kms_key.k["app"].arn : null
  tags                    = { idx = tostring(count.index) }
}
resource "aws_ssm_parameter" "p" {
  for_each    = { plain = "String", list = "StringList", secure = "SecureString" }
  name        = "/drift/${each.key}"
  type        = each.value
  value       = each.key == "list" ? "a,b,c" : "value-${each.key}"
  description = "param ${each.key}"
  tags        = { kind = each.key }
}
resource "aws_ssm_parameter" "adv" {
  name            = "/drift/advanced"
  type            = "String"
  tier            = "Advanced"
  value           = "big"
  allowed_pattern = "^[a-z]+$"
}
"""

SECRET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    ],
}
FILTER_TYPES = (
    "contains(['aws_kms_key', 'aws_kms_alias', 'aws_secretsmanager_secret', 'aws_ssm_parameter'], type)"
)


def detect(state: Path, out: Path) -> tuple[int, dict[str, Any]]:
    return run_detect(state, out, FILTER_TYPES)


@pytest.fixture(scope="module")
def scn(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("kms_secrets")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        workdir = tmp / "tf"
        terraform.apply(workdir, CONFIG, moto_server.endpoint)
        fresh = tmp / "fresh.tfstate"
        shutil.copy(workdir / "terraform.tfstate", fresh)
        terraform.run(workdir, "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
        state = json.loads((workdir / "terraform.tfstate").read_text())
        scn = Scenario(state=state, before=AwsProvider().discover(types=TYPES))
        scn.detect_before = detect(fresh, tmp / "before.json")
        _change_out_of_band(scn)
        scn.after = AwsProvider().discover(types=TYPES)
        scn.detect_after = detect(fresh, tmp / "after.json")
        yield scn


def _change_out_of_band(scn: Scenario) -> None:
    kms, sm, ssm = boto3.client("kms"), boto3.client("secretsmanager"), boto3.client("ssm")
    sid = scn.sid
    app, logs, custom = (
        sid("aws_kms_key", "k", "app"),
        sid("aws_kms_key", "k", "logs"),
        sid("aws_kms_key", "custom"),
    )
    # Hand-made: a key with an alias, a secret (no value) and a parameter.
    key = kms.create_key(Description="hand")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/hand", TargetKeyId=key)
    secret = sm.create_secret(Name="hand/secret", Description="made by hand")["ARN"]
    ssm.put_parameter(Name="/hand/param", Type="String", Value="x")
    scn.hand = {"key": key, "alias": "alias/hand", "secret": secret, "parameter": "/hand/param"}
    # Keys: rotation off and a tag on one, the other disabled with its policy re-ordered (a no-op),
    # the third scheduled for deletion (Terraform reads that as gone).
    kms.disable_key_rotation(KeyId=app)
    kms.tag_resource(KeyId=app, Tags=[{"TagKey": "owner", "TagValue": "sec"}])
    kms.disable_key(KeyId=logs)
    policy = json.loads(scn.attrs("aws_kms_key", "k", "logs")["policy"])
    kms.put_key_policy(
        KeyId=logs, PolicyName="default", Policy=json.dumps(dict(reversed(list(policy.items()))))
    )
    kms.schedule_key_deletion(KeyId=custom, PendingWindowInDays=7)
    kms.update_alias(AliasName="alias/drift-app", TargetKeyId=logs)
    # Secrets: a resource policy attached, description and tag edited, one deleted.
    sm.put_resource_policy(
        SecretId=sid("aws_secretsmanager_secret", "s", 0), ResourcePolicy=json.dumps(SECRET_POLICY)
    )
    sm.update_secret(SecretId=sid("aws_secretsmanager_secret", "s", 1), Description="changed")
    sm.tag_resource(SecretId=sid("aws_secretsmanager_secret", "s", 1), Tags=[{"Key": "team", "Value": "db"}])
    sm.delete_secret(SecretId=sid("aws_secretsmanager_secret", "s", 2), ForceDeleteWithoutRecovery=True)
    # Parameters: a String value and a description edited, a tag added, one deleted; the SecureString's
    # new value must stay invisible (never read).
    ssm.put_parameter(Name="/drift/plain", Type="String", Value="edited", Overwrite=True)
    ssm.put_parameter(
        Name="/drift/list", Type="StringList", Value="a,b,c", Description="changed", Overwrite=True
    )
    ssm.put_parameter(Name="/drift/secure", Type="SecureString", Value="rotated", Overwrite=True)
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/drift/secure", Tags=[{"Key": "owner", "Value": "sec"}]
    )
    ssm.delete_parameter(Name="/drift/advanced")


# --- untouched: discovery reproduces the state ---------------------------------------------------
@pytest.mark.parametrize("tf_type", TYPES)
def test_untouched_resources_match_refreshed_state(scn: Scenario, tf_type: str) -> None:
    assert_discovered_matches_state(scn.before, scn.state, tf_type)


def test_key_attributes_include_rotation_policy_and_tags(scn: Scenario) -> None:
    found = by_key(scn.before)
    app = found[("aws_kms_key", scn.sid("aws_kms_key", "k", "app"))].attributes
    assert (app["enable_key_rotation"], app["is_enabled"], app["tags"]) == (
        True,
        True,
        {"Name": "key-app", "env": "test"},
    )
    custom = found[("aws_kms_key", scn.sid("aws_kms_key", "custom"))].attributes
    assert json.loads(custom["policy"])["Id"] == "custom"
    alias = found[("aws_kms_alias", "alias/drift-app")].attributes
    assert alias["target_key_arn"] == scn.attrs("aws_kms_key", "k", "app")["arn"]


def test_parameter_values_are_read_for_plain_types_only(scn: Scenario) -> None:
    found = by_key(scn.before)
    assert found[("aws_ssm_parameter", "/drift/plain")].attributes["value"] == "value-plain"
    assert found[("aws_ssm_parameter", "/drift/list")].attributes["value"] == "a,b,c"
    secure = found[("aws_ssm_parameter", "/drift/secure")].attributes
    assert "value" not in secure and secure["key_id"] == "alias/aws/ssm"
    adv = found[("aws_ssm_parameter", "/drift/advanced")].attributes
    assert (adv["tier"], adv["allowed_pattern"]) == ("Advanced", "^[a-z]+$")


# --- defaults and hand-made resources -----------------------------------------------------------------
def test_aws_managed_aliases_are_defaults(scn: Scenario) -> None:
    defaults = {(r.type, r.id): r.default_reason for r in scn.before.resources if r.default}
    assert defaults[("aws_kms_alias", "alias/aws/ssm")] == "AWS-managed KMS alias"
    assert defaults and all(t == "aws_kms_alias" and i.startswith("alias/aws/") for t, i in defaults)


def test_aws_managed_key_and_service_owned_secret_are_defaults() -> None:
    rtypes = registered_types("aws")
    scope = Scope("aws", "123456789012", "us-east-1", lambda service: None)
    key_default = rtypes["aws_kms_key"].default_reason
    secret_default = rtypes["aws_secretsmanager_secret"].default_reason
    assert key_default is not None and secret_default is not None
    assert key_default({"KeyId": "k", "KeyManager": "AWS"}, scope) == "AWS-managed KMS key"
    assert key_default({"KeyId": "k", "KeyManager": "CUSTOMER"}, scope) is None
    assert secret_default({"ARN": "a", "OwningService": "rds"}, scope) == "secret managed by rds"
    assert secret_default({"ARN": "a"}, scope) is None


def test_hand_made_resources_are_unmanaged_with_import_ids(scn: Scenario) -> None:
    found = by_key(scn.after)
    in_state = {(i["type"], i["attributes"]["id"]) for i in state_instances(scn.state)}
    hand_types = {"key": "aws_kms_key", "alias": "aws_kms_alias", "secret": "aws_secretsmanager_secret",
                  "parameter": "aws_ssm_parameter"}  # fmt: skip
    for name, tf_type in hand_types.items():
        res = found.get((tf_type, scn.hand[name]))
        assert res is not None and not res.default and (tf_type, res.id) not in in_state, name
    assert found[("aws_kms_alias", "alias/hand")].attributes["target_key_id"] == scn.hand["key"]
    assert (
        found[("aws_secretsmanager_secret", scn.hand["secret"])].attributes["description"] == "made by hand"
    )


# --- out-of-band changes: discovery reads the live value --------------------------------------------
def test_key_and_alias_changes_show(scn: Scenario) -> None:
    app = scn.after_attrs("aws_kms_key", scn.sid("aws_kms_key", "k", "app"))
    assert (app["enable_key_rotation"], app["tags"]["owner"]) == (False, "sec")
    logs = scn.after_attrs("aws_kms_key", scn.sid("aws_kms_key", "k", "logs"))
    assert logs["is_enabled"] is False
    assert logs["policy"] == scn.attrs("aws_kms_key", "k", "logs")["policy"]  # re-ordered: same document
    assert ("aws_kms_key", scn.sid("aws_kms_key", "custom")) not in by_key(scn.after)  # pending deletion
    alias = scn.after_attrs("aws_kms_alias", "alias/drift-app")
    assert alias["target_key_id"] == scn.sid("aws_kms_key", "k", "logs")


def test_secret_and_parameter_changes_show(scn: Scenario) -> None:
    s0 = scn.after_attrs("aws_secretsmanager_secret", scn.sid("aws_secretsmanager_secret", "s", 0))
    assert json.loads(s0["policy"]) == SECRET_POLICY
    s1 = scn.after_attrs("aws_secretsmanager_secret", scn.sid("aws_secretsmanager_secret", "s", 1))
    assert (s1["description"], s1["tags"]) == ("changed", {"idx": "1", "team": "db"})
    assert scn.after_attrs("aws_ssm_parameter", "/drift/plain")["value"] == "edited"
    assert scn.after_attrs("aws_ssm_parameter", "/drift/list")["description"] == "changed"
    secure = scn.after_attrs("aws_ssm_parameter", "/drift/secure")
    assert "value" not in secure and secure["tags"] == {"kind": "secure", "owner": "sec"}


# --- driftmgr drift detect on the state the apply wrote ---------------------------------------------
def _not_in_sync(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, tuple[Any, Any]]]:
    return {
        (r["status"], r["type"], r["id"]): {c["path"]: (c["expected"], c["actual"]) for c in r["changes"]}
        for r in report["resources"]
        if r["status"] != "in_sync"
    }


def test_drift_detect_finds_nothing_untouched_and_exactly_the_out_of_band_changes(scn: Scenario) -> None:
    code, report = scn.detect_before
    s = report["summary"]
    assert (code, s["drifted"], s["missing"], s["unmanaged"]) == (0, 0, 0, 0), _not_in_sync(report)
    assert s["in_sync"] == len([i for i in state_instances(scn.state) if i["type"] in TYPES]) == 13
    assert s["defaults"] >= 1  # alias/aws/* counted apart

    code, report = scn.detect_after
    assert code == 2
    sid = scn.sid
    changes = _not_in_sync(report)
    policy = changes.pop(("drifted", "aws_secretsmanager_secret", sid("aws_secretsmanager_secret", "s", 0)))
    assert list(policy) == ["policy"] and policy["policy"][0] in ("", None)
    assert json.loads(policy["policy"][1]) == SECRET_POLICY
    assert changes == {
        ("drifted", "aws_kms_key", sid("aws_kms_key", "k", "app")): {
            "enable_key_rotation": (True, False),
            "tags.owner": (None, "sec"),
        },
        ("drifted", "aws_kms_key", sid("aws_kms_key", "k", "logs")): {"is_enabled": (True, False)},
        ("missing", "aws_kms_key", sid("aws_kms_key", "custom")): {},
        ("drifted", "aws_kms_alias", "alias/drift-app"): {
            "target_key_id": (sid("aws_kms_key", "k", "app"), sid("aws_kms_key", "k", "logs"))
        },
        ("drifted", "aws_secretsmanager_secret", sid("aws_secretsmanager_secret", "s", 1)): {
            "description": ("secret 1", "changed"),
            "tags.team": (None, "db"),
        },
        ("missing", "aws_secretsmanager_secret", sid("aws_secretsmanager_secret", "s", 2)): {},
        ("drifted", "aws_ssm_parameter", "/drift/plain"): {"value": ("(sensitive)", "(sensitive)")},
        ("drifted", "aws_ssm_parameter", "/drift/list"): {"description": ("param list", "changed")},
        ("drifted", "aws_ssm_parameter", "/drift/secure"): {"tags.owner": (None, "sec")},
        ("missing", "aws_ssm_parameter", "/drift/advanced"): {},
        ("unmanaged", "aws_kms_key", scn.hand["key"]): {},
        ("unmanaged", "aws_kms_alias", "alias/hand"): {},
        ("unmanaged", "aws_secretsmanager_secret", scn.hand["secret"]): {},
        ("unmanaged", "aws_ssm_parameter", "/hand/param"): {},
    }


# --- what discovery calls: never a secret value ---------------------------------------------------------
class _Recorder:
    """A fake SDK client: answers the listed calls, records every call, fails on anything else."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name not in self.answers:
                raise AssertionError(f"unexpected call {name}")
            answer = self.answers[name]
            return answer(**kwargs) if callable(answer) else answer

        return call

    def get_paginator(self, name: str) -> Any:
        recorder = self

        class _Pages:
            def paginate(self, **kwargs: Any) -> list[Any]:
                recorder.calls.append((name, kwargs))
                return [recorder.answers[name]]

        return _Pages()


def test_parameter_discovery_never_requests_securestring_values() -> None:
    params = [{"Name": f"/p/{i}", "Type": "SecureString" if i % 3 == 0 else "String"} for i in range(24)]

    def get_parameters(Names: list[str], WithDecryption: bool) -> dict[str, Any]:
        return {"Parameters": [{"Name": n, "Value": f"v{n}"} for n in Names]}

    ssm = _Recorder({"describe_parameters": {"Parameters": params}, "get_parameters": get_parameters})
    rtype = registered_types("aws")["aws_ssm_parameter"]
    assert rtype.collect is not None
    items = list(rtype.collect(Scope("aws", "123456789012", "us-east-1", lambda service: ssm)))
    fetched = [kw for name, kw in ssm.calls if name == "get_parameters"]
    assert all(kw["WithDecryption"] is False and len(kw["Names"]) <= 10 for kw in fetched)
    asked = [n for kw in fetched for n in kw["Names"]]
    assert asked == [p["Name"] for p in params if p["Type"] == "String"]
    secure = [i for i in items if i["Type"] == "SecureString"]
    assert len(secure) == 8 and all("_Value" not in i for i in secure)


def test_secret_discovery_reads_metadata_only() -> None:
    sm = _Recorder({"describe_secret": {"ARN": "arn:s", "Name": "s"}, "get_resource_policy": {}})
    details = registered_types("aws")["aws_secretsmanager_secret"].details
    assert details is not None
    details({"ARN": "arn:s"}, Scope("aws", "123456789012", "us-east-1", lambda service: sm))
    assert [name for name, _ in sm.calls] == ["describe_secret", "get_resource_policy"]
