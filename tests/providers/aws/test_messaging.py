"""aws_sqs_queue, aws_sns_topic and aws_sns_topic_subscription against real Terraform state.

One `terraform apply` per module. Discovery is checked against the state after `terraform apply
-refresh-only` (the provider's own read: a fresh apply stores `tags = null` where the read stores
`{}`); `driftmgr drift detect` runs on the state the first apply wrote, untouched and after the
out-of-band changes below. All live calls happen in the module fixture, so the per-test moto reset
of other modules cannot interfere.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftmgr.models import Resource
from driftmgr.providers.aws.provider import AwsProvider
from driftmgr.providers.base import Scope, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import Scenario, assert_discovered_matches_state, by_key
from tests.providers.aws.helpers import detect as run_detect

TYPES = ["aws_sqs_queue", "aws_sns_topic", "aws_sns_topic_subscription"]

CONFIG = """
resource "aws_sqs_queue" "dlq" {
  name                      = "drift-dlq"
  message_retention_seconds = 1209600
  tags                      = { role = "dlq" }
}
resource "aws_sqs_queue" "work" {
  count                      = 2
  name                       = "drift-work-${count.index}"
  visibility_timeout_seconds = 45
  delay_seconds              = 5
  receive_wait_time_seconds  = 10
  max_message_size           = 2048
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 4
  })
  tags                       = { Name = "work-${count.index}", env = "test" }
}
resource "aws_sqs_queue" "fifo" {
  name                              = "drift-events.fifo"
  fifo_queue                        = true
  content_based_deduplication       = true
  kms_master_key_id                 = "alias/aws/sqs"
  kms_data_key_reuse_period_seconds = 600
}
resource "aws_sqs_queue" "with_policy" {
  name = "drift-policy"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid = "sns", Effect = "Allow", Principal = { Service = "sns.amazonaws.com" },
      Action = "sqs:SendMessage", Resource = "*"
    }]
  })
}
resource "aws_sns_topic" "t" {
  for_each     = toset(["alerts", "audit"])
  name         = "drift-${each.key}"
  display_name = "Drift ${each.key}"
  tags         = { team = each.key }
}
resource "aws_sns_topic" "fifo" {
  name                        = "drift-orders.fifo"
  fifo_topic                  = true
  content_based_deduplication = true
}
resource "aws_sns_topic_subscription" "sqs" {
  count                = 2
  topic_arn            = aws_sns_topic.t["alerts"].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.work[count.index].arn
  raw_message_delivery = count.index == 0
  filter_policy        = count.index == 1 ? jsonencode({ severity = ["high", "critical"] }) : null
}
resource "aws_sns_topic_subscription" "mail" {
  topic_arn = aws_sns_topic.t["audit"].arn
  protocol  = "email"
  endpoint  = "ops@example.com"
}
"""

NEW_QUEUE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "deny", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}],
}
FILTER_TYPES = "contains(['aws_sqs_queue', 'aws_sns_topic', 'aws_sns_topic_subscription'], type)"


def detect(state: Path, out: Path) -> tuple[int, dict[str, Any]]:
    return run_detect(state, out, FILTER_TYPES)


@pytest.fixture(scope="module")
def scn(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("messaging")
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
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    sid = scn.sid
    # Hand-made: a queue, a topic and a subscription of the one to the other.
    queue = sqs.create_queue(QueueName="hand-made", Attributes={"DelaySeconds": "7"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="hand-topic")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)
    scn.hand = {"queue": queue, "topic": topic, "subscription": sub["SubscriptionArn"]}
    # Queues: a setting, tags added and removed, the policy replaced, one queue deleted.
    sqs.set_queue_attributes(
        QueueUrl=sid("aws_sqs_queue", "work", 0), Attributes={"VisibilityTimeout": "120"}
    )
    sqs.tag_queue(QueueUrl=sid("aws_sqs_queue", "work", 1), Tags={"env": "prod"})
    sqs.untag_queue(QueueUrl=sid("aws_sqs_queue", "dlq"), TagKeys=["role"])
    sqs.set_queue_attributes(
        QueueUrl=sid("aws_sqs_queue", "with_policy"), Attributes={"Policy": json.dumps(NEW_QUEUE_POLICY)}
    )
    sqs.delete_queue(QueueUrl=sid("aws_sqs_queue", "fifo"))
    # Topics: display name, a tag, and a semantic no-op (the same policy re-ordered and re-indented).
    alerts, audit = sid("aws_sns_topic", "t", "alerts"), sid("aws_sns_topic", "t", "audit")
    sns.set_topic_attributes(TopicArn=alerts, AttributeName="DisplayName", AttributeValue="Renamed")
    sns.tag_resource(ResourceArn=audit, Tags=[{"Key": "owner", "Value": "ops"}])
    policy = json.loads(scn.attrs("aws_sns_topic", "t", "audit")["policy"])
    reordered = dict(reversed(list(policy.items())))
    sns.set_topic_attributes(
        TopicArn=audit, AttributeName="Policy", AttributeValue=json.dumps(reordered, indent=4)
    )
    # Subscriptions: raw delivery off, a new filter policy, one unsubscribed.
    sns.set_subscription_attributes(
        SubscriptionArn=sid("aws_sns_topic_subscription", "sqs", 0),
        AttributeName="RawMessageDelivery",
        AttributeValue="false",
    )
    sns.set_subscription_attributes(
        SubscriptionArn=sid("aws_sns_topic_subscription", "sqs", 1),
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"severity": ["low"]}),
    )
    sns.unsubscribe(SubscriptionArn=sid("aws_sns_topic_subscription", "mail"))


# --- untouched: discovery reproduces the state ---------------------------------------------------
@pytest.mark.parametrize("tf_type", TYPES)
def test_untouched_resources_match_refreshed_state(scn: Scenario, tf_type: str) -> None:
    assert_discovered_matches_state(scn.before, scn.state, tf_type)


def test_queue_ids_are_urls_and_settings_are_numbers(scn: Scenario) -> None:
    found = by_key(scn.before)
    work = found[("aws_sqs_queue", scn.sid("aws_sqs_queue", "work", 0))]
    assert work.id.endswith("/123456789012/drift-work-0") and work.id.startswith("http")
    a = work.attributes
    assert (a["visibility_timeout_seconds"], a["delay_seconds"], a["max_message_size"]) == (45, 5, 2048)
    assert json.loads(a["redrive_policy"]) == {
        "deadLetterTargetArn": scn.attrs("aws_sqs_queue", "dlq")["arn"],
        "maxReceiveCount": 4,
    }
    fifo = found[("aws_sqs_queue", scn.sid("aws_sqs_queue", "fifo"))].attributes
    assert (
        fifo["fifo_queue"],
        fifo["content_based_deduplication"],
        fifo["kms_data_key_reuse_period_seconds"],
    ) == (
        True,
        True,
        600,
    )
    # Without SSE-KMS the API leaves the reuse period out: unknown, not guessed.
    assert (
        "kms_data_key_reuse_period_seconds"
        not in found[("aws_sqs_queue", scn.sid("aws_sqs_queue", "dlq"))].attributes
    )


def test_topic_policy_is_the_providers_normalized_json(scn: Scenario) -> None:
    topic = by_key(scn.before)[("aws_sns_topic", scn.sid("aws_sns_topic", "t", "alerts"))].attributes
    assert topic["policy"].startswith('{"Id":"__default_policy_ID","Statement":[{"Action":[')
    assert (topic["display_name"], topic["fifo_topic"], topic["tags"]) == (
        "Drift alerts",
        False,
        {"team": "alerts"},
    )


def test_pending_subscription_without_arn_is_skipped() -> None:
    details = registered_types("aws")["aws_sns_topic_subscription"].details
    assert details is not None

    def no_calls(service: str) -> Any:
        raise AssertionError(f"no {service} call expected")

    scope = Scope("aws", "123456789012", "us-east-1", no_calls)
    assert details({"SubscriptionArn": "PendingConfirmation", "Protocol": "email"}, scope) is None


# --- hand-made resources: unmanaged, under the id Terraform would import them by ------------------
def test_hand_made_queue_topic_and_subscription_are_unmanaged_with_import_ids(scn: Scenario) -> None:
    found = by_key(scn.after)
    in_state = {(i["type"], i["attributes"]["id"]) for i in state_instances(scn.state)}
    hand: dict[str, Resource] = {}
    for name, tf_type in (("queue", "aws_sqs_queue"), ("topic", "aws_sns_topic"),
                          ("subscription", "aws_sns_topic_subscription")):  # fmt: skip
        res = found.get((tf_type, scn.hand[name]))
        assert res is not None and not res.default and (tf_type, res.id) not in in_state
        hand[name] = res
    assert hand["queue"].attributes["delay_seconds"] == 7
    assert hand["subscription"].attributes["topic_arn"] == scn.hand["topic"]
    assert not [r for r in scn.before.resources if r.default]  # no defaults among these types


# --- out-of-band changes: discovery reads the live value --------------------------------------------
def test_queue_changes_show(scn: Scenario) -> None:
    assert (
        scn.after_attrs("aws_sqs_queue", scn.sid("aws_sqs_queue", "work", 0))["visibility_timeout_seconds"]
        == 120
    )
    assert scn.after_attrs("aws_sqs_queue", scn.sid("aws_sqs_queue", "work", 1))["tags"] == {
        "Name": "work-1",
        "env": "prod",
    }
    assert scn.after_attrs("aws_sqs_queue", scn.sid("aws_sqs_queue", "dlq"))["tags"] == {}
    policy = scn.after_attrs("aws_sqs_queue", scn.sid("aws_sqs_queue", "with_policy"))["policy"]
    assert json.loads(policy) == NEW_QUEUE_POLICY
    assert ("aws_sqs_queue", scn.sid("aws_sqs_queue", "fifo")) not in by_key(scn.after)


def test_topic_and_subscription_changes_show(scn: Scenario) -> None:
    assert (
        scn.after_attrs("aws_sns_topic", scn.sid("aws_sns_topic", "t", "alerts"))["display_name"] == "Renamed"
    )
    audit = scn.after_attrs("aws_sns_topic", scn.sid("aws_sns_topic", "t", "audit"))
    assert audit["tags"] == {"team": "audit", "owner": "ops"}
    assert audit["policy"] == scn.attrs("aws_sns_topic", "t", "audit")["policy"]  # re-ordered: same document
    sub0 = scn.after_attrs("aws_sns_topic_subscription", scn.sid("aws_sns_topic_subscription", "sqs", 0))
    assert sub0["raw_message_delivery"] is False
    sub1 = scn.after_attrs("aws_sns_topic_subscription", scn.sid("aws_sns_topic_subscription", "sqs", 1))
    assert json.loads(sub1["filter_policy"]) == {"severity": ["low"]}
    assert ("aws_sns_topic_subscription", scn.sid("aws_sns_topic_subscription", "mail")) not in by_key(
        scn.after
    )


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
    assert s["in_sync"] == len([i for i in state_instances(scn.state) if i["type"] in TYPES]) == 11

    code, report = scn.detect_after
    assert code == 2
    sid = scn.sid
    changes = _not_in_sync(report)
    policy = changes.pop(("drifted", "aws_sqs_queue", sid("aws_sqs_queue", "with_policy")))
    assert list(policy) == ["policy"] and json.loads(policy["policy"][1]) == NEW_QUEUE_POLICY
    filt = changes.pop(("drifted", "aws_sns_topic_subscription", sid("aws_sns_topic_subscription", "sqs", 1)))
    assert {k: tuple(json.loads(v) for v in pair) for k, pair in filt.items()} == {
        "filter_policy": ({"severity": ["high", "critical"]}, {"severity": ["low"]})
    }
    assert changes == {
        ("drifted", "aws_sqs_queue", sid("aws_sqs_queue", "work", 0)): {
            "visibility_timeout_seconds": (45, 120)
        },
        ("drifted", "aws_sqs_queue", sid("aws_sqs_queue", "work", 1)): {"tags.env": ("test", "prod")},
        ("drifted", "aws_sqs_queue", sid("aws_sqs_queue", "dlq")): {"tags.role": ("dlq", None)},
        ("missing", "aws_sqs_queue", sid("aws_sqs_queue", "fifo")): {},
        ("drifted", "aws_sns_topic", sid("aws_sns_topic", "t", "alerts")): {
            "display_name": ("Drift alerts", "Renamed")
        },
        ("drifted", "aws_sns_topic", sid("aws_sns_topic", "t", "audit")): {"tags.owner": (None, "ops")},
        ("drifted", "aws_sns_topic_subscription", sid("aws_sns_topic_subscription", "sqs", 0)): {
            "raw_message_delivery": (True, False)
        },
        ("missing", "aws_sns_topic_subscription", sid("aws_sns_topic_subscription", "mail")): {},
        ("unmanaged", "aws_sqs_queue", scn.hand["queue"]): {},
        ("unmanaged", "aws_sns_topic", scn.hand["topic"]): {},
        ("unmanaged", "aws_sns_topic_subscription", scn.hand["subscription"]): {},
    }
