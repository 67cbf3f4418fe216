"""aws_cloudwatch_log_group, aws_cloudwatch_metric_alarm, aws_route53_zone and aws_route53_record
against real Terraform state.

One `terraform apply` per module; discovery is checked against the state after `terraform apply
-refresh-only`, and so is `driftmgr drift detect` — also on the state the first apply wrote, which has
`period = null` inside the metric alarm's `metric_query` set where the provider's read stores 0 (the
engine's provider-default table makes them equal). All live calls happen in the module fixture.
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
from driftmgr.providers.aws.resources.route53 import clean_name, record_id, state_record_id
from driftmgr.providers.base import Scope, registered_types
from tests.fixtures.moto_server import MotoServer, set_fake_aws_env
from tests.fixtures.terraform import Terraform, state_instances
from tests.providers.aws.helpers import Scenario, assert_discovered_matches_state, by_key
from tests.providers.aws.helpers import detect as run_detect

TYPES = ["aws_cloudwatch_log_group", "aws_cloudwatch_metric_alarm", "aws_route53_zone", "aws_route53_record"]
OPS = "arn:aws:sns:us-east-1:123456789012:ops"
PAGE = "arn:aws:sns:us-east-1:123456789012:page"

CONFIG = f"""
resource "aws_kms_key" "logs" {{
  description = "log encryption"
}}
resource "aws_cloudwatch_log_group" "g" {{
  count             = 2
  name              = "/drift/app-${{count.index}}"
  retention_in_days = count.index == 0 ? 14 : 0
  tags              = {{ idx = tostring(count.index) }}
}}
resource "aws_cloudwatch_log_group" "enc" {{
  name       = "/drift/encrypted"
  kms_key_id = aws_kms_key.logs.arn
}}
resource "aws_cloudwatch_metric_alarm" "cpu" {{
  alarm_name          = "drift-cpu-high"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 2
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 120
  statistic           = "Average"
  threshold           = 80
  alarm_description   = "cpu"
  alarm_actions       = ["{PAGE}", "{OPS}"]
  ok_actions          = ["{OPS}"]
  dimensions          = {{ InstanceId = "i-12345678" }}
  treat_missing_data  = "breaching"
  datapoints_to_alarm = 1
  tags                = {{ env = "test" }}
}}
resource "aws_cloudwatch_metric_alarm" "queue" {{
  alarm_name          = "drift-queue-depth"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "ApproximateNumberOfMessagesVisible"
  namespace           = "AWS/SQS"
  period              = 60
  extended_statistic  = "p90"
  threshold           = 10.5
  unit                = "Count"
  dimensions          = {{ QueueName = "jobs" }}
}}
resource "aws_cloudwatch_metric_alarm" "math" {{
  alarm_name          = "drift-error-rate"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 3
  threshold           = 5
  metric_query {{
    id          = "e1"
    expression  = "m1 * 100"
    label       = "rate"
    return_data = true
  }}
  metric_query {{
    id = "m1"
    metric {{
      metric_name = "Errors"
      namespace   = "AWS/Lambda"
      period      = 300
      stat        = "Sum"
      dimensions  = {{ FunctionName = "f" }}
    }}
  }}
}}
resource "aws_route53_zone" "pub" {{
  name    = "drift-example.com"
  comment = "public zone"
  tags    = {{ env = "test" }}
}}
resource "aws_route53_zone" "second" {{
  name = "internal.drift"
}}
resource "aws_route53_record" "www" {{
  zone_id = aws_route53_zone.pub.zone_id
  name    = "www.drift-example.com"
  type    = "A"
  ttl     = 300
  records = ["192.0.2.10", "192.0.2.11"]
}}
resource "aws_route53_record" "txt" {{
  zone_id = aws_route53_zone.pub.zone_id
  name    = "drift-example.com"
  type    = "TXT"
  ttl     = 60
  records = ["v=spf1 -all", "hello"]
}}
resource "aws_route53_record" "wildcard" {{
  zone_id = aws_route53_zone.pub.zone_id
  name    = "*.drift-example.com"
  type    = "CNAME"
  ttl     = 300
  records = ["www.drift-example.com"]
}}
resource "aws_route53_record" "weighted" {{
  for_each       = {{ blue = 80, green = 20 }}
  zone_id        = aws_route53_zone.pub.zone_id
  name           = "api.drift-example.com"
  type           = "CNAME"
  ttl            = 30
  records        = ["${{each.key}}.drift-example.com"]
  set_identifier = each.key
  weighted_routing_policy {{
    weight = each.value
  }}
}}
resource "aws_route53_record" "alias" {{
  zone_id = aws_route53_zone.pub.zone_id
  name    = "app.drift-example.com"
  type    = "A"
  alias {{
    name                   = aws_route53_record.www.fqdn
    zone_id                = aws_route53_zone.pub.zone_id
    evaluate_target_health = false
  }}
}}
resource "aws_route53_record" "db" {{
  zone_id = aws_route53_zone.second.zone_id
  name    = "db.internal.drift"
  type    = "CNAME"
  ttl     = 300
  records = ["db1.internal.drift"]
}}
"""
FILTER_TYPES = (
    "contains(['aws_cloudwatch_log_group', 'aws_cloudwatch_metric_alarm', 'aws_route53_zone', "
    "'aws_route53_record'], type)"
)


def detect(state: Path, out: Path) -> tuple[int, dict[str, Any]]:
    return run_detect(state, out, FILTER_TYPES)


@pytest.fixture(scope="module")
def scn(
    terraform: Terraform, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("cloudwatch_route53")
    with pytest.MonkeyPatch.context() as mp:
        moto_server.reset()
        set_fake_aws_env(mp, moto_server.endpoint, tmp)
        workdir = tmp / "tf"
        terraform.apply(workdir, CONFIG, moto_server.endpoint)
        fresh = tmp / "fresh.tfstate"
        shutil.copy(workdir / "terraform.tfstate", fresh)
        terraform.run(workdir, "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
        refreshed = workdir / "terraform.tfstate"
        scn = Scenario(state=json.loads(refreshed.read_text()), before=AwsProvider().discover(types=TYPES))
        scn.detect_fresh = detect(fresh, tmp / "fresh.json")
        scn.detect_before = detect(refreshed, tmp / "before.json")
        _change_out_of_band(scn)
        scn.after = AwsProvider().discover(types=TYPES)
        scn.detect_after = detect(refreshed, tmp / "after.json")
        yield scn


def _upsert(r53: Any, zone: str, record: dict[str, Any], action: str = "UPSERT") -> None:
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]}
    )


def _change_out_of_band(scn: Scenario) -> None:
    logs, cw, r53, ec2 = (boto3.client(s) for s in ("logs", "cloudwatch", "route53", "ec2"))
    pub = scn.sid("aws_route53_zone", "pub")
    # Hand-made: a log group, an alarm, a public zone (with its NS/SOA), a private zone on the default
    # VPC, and a record in the managed zone.
    logs.create_log_group(logGroupName="/hand/made")
    cw.put_metric_alarm(
        AlarmName="hand-alarm", ComparisonOperator="LessThanThreshold", EvaluationPeriods=1,
        MetricName="Invocations", Namespace="AWS/Lambda", Period=60, Statistic="Sum", Threshold=1,
    )  # fmt: skip
    hand_zone = r53.create_hosted_zone(Name="hand.example", CallerReference="hand-zone")["HostedZone"]["Id"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    private = r53.create_hosted_zone(
        Name="private.hand", CallerReference="hand-private", VPC={"VPCRegion": "us-east-1", "VPCId": vpc},
        HostedZoneConfig={"PrivateZone": True, "Comment": "hand"},
    )["HostedZone"]["Id"]  # fmt: skip
    _upsert(r53, pub, {"Name": "hand.drift-example.com", "Type": "A", "TTL": 60,
                       "ResourceRecords": [{"Value": "198.51.100.1"}]})  # fmt: skip
    scn.hand = {"log_group": "/hand/made", "alarm": "hand-alarm", "zone": hand_zone.split("/")[-1],
                "private": private.split("/")[-1], "vpc": vpc,
                "record": record_id(pub, "hand.drift-example.com", "A")}  # fmt: skip
    # Log groups: retention set, a tag added, one deleted.
    logs.put_retention_policy(logGroupName="/drift/app-1", retentionInDays=30)
    logs.tag_resource(resourceArn=scn.attrs("aws_cloudwatch_log_group", "g", 0)["arn"], tags={"team": "x"})
    logs.delete_log_group(logGroupName="/drift/encrypted")
    # Alarms: threshold raised (everything else re-sent unchanged), actions disabled on another.
    cw.put_metric_alarm(
        AlarmName="drift-cpu-high", ComparisonOperator="GreaterThanOrEqualToThreshold", EvaluationPeriods=2,
        MetricName="CPUUtilization", Namespace="AWS/EC2", Period=120, Statistic="Average", Threshold=90,
        AlarmDescription="cpu", AlarmActions=[PAGE, OPS], OKActions=[OPS], TreatMissingData="breaching",
        Dimensions=[{"Name": "InstanceId", "Value": "i-12345678"}], DatapointsToAlarm=1, ActionsEnabled=True,
        Tags=[{"Key": "env", "Value": "test"}],
    )  # fmt: skip
    cw.disable_alarm_actions(AlarmNames=["drift-queue-depth"])
    # Route 53: zone comment and tag, a record's values and another's TTL edited, one record deleted.
    r53.update_hosted_zone_comment(Id=pub, Comment="edited")
    r53.change_tags_for_resource(
        ResourceType="hostedzone", ResourceId=pub, AddTags=[{"Key": "owner", "Value": "dns"}]
    )
    _upsert(r53, pub, {"Name": "www.drift-example.com", "Type": "A", "TTL": 300,
                       "ResourceRecords": [{"Value": "192.0.2.10"}, {"Value": "192.0.2.99"}]})  # fmt: skip
    _upsert(r53, pub, {"Name": "drift-example.com", "Type": "TXT", "TTL": 120,
                       "ResourceRecords": [{"Value": '"v=spf1 -all"'}, {"Value": '"hello"'}]})  # fmt: skip
    green = {"Name": "api.drift-example.com", "Type": "CNAME", "TTL": 30, "SetIdentifier": "green",
             "Weight": 20, "ResourceRecords": [{"Value": "green.drift-example.com"}]}  # fmt: skip
    _upsert(r53, pub, green, "DELETE")


# --- untouched: discovery reproduces the state ---------------------------------------------------
@pytest.mark.parametrize("tf_type", TYPES)
def test_untouched_resources_match_refreshed_state(scn: Scenario, tf_type: str) -> None:
    assert_discovered_matches_state(scn.before, scn.state, tf_type)


def test_alarm_numbers_sets_and_metric_queries_have_terraform_shapes(scn: Scenario) -> None:
    found = by_key(scn.before)
    cpu = found[("aws_cloudwatch_metric_alarm", "drift-cpu-high")].attributes
    assert (cpu["threshold"], cpu["alarm_actions"], cpu["dimensions"]) == (
        80,
        [OPS, PAGE],
        {"InstanceId": "i-12345678"},
    )
    assert found[("aws_cloudwatch_metric_alarm", "drift-queue-depth")].attributes["threshold"] == 10.5
    math = found[("aws_cloudwatch_metric_alarm", "drift-error-rate")].attributes
    assert [(q["id"], q["expression"], len(q["metric"])) for q in math["metric_query"]] == [
        ("m1", "", 1),
        ("e1", "m1 * 100", 0),
    ]


def test_record_ids_values_and_wildcards_are_terraforms(scn: Scenario) -> None:
    found = by_key(scn.before)
    pub = scn.sid("aws_route53_zone", "pub")
    assert scn.sid("aws_route53_record", "weighted", "blue") == f"{pub}_api.drift-example.com_CNAME_blue"
    txt = found[("aws_route53_record", f"{pub}_drift-example.com_TXT")].attributes
    assert txt["records"] == ["hello", "v=spf1 -all"]  # quotes stripped, set order
    assert ("aws_route53_record", f"{pub}_*.drift-example.com_CNAME") in found
    blue = found[("aws_route53_record", scn.sid("aws_route53_record", "weighted", "blue"))].attributes
    assert blue["weighted_routing_policy"] == [{"weight": 80}]


# --- defaults and hand-made resources -----------------------------------------------------------------
def test_apex_ns_and_soa_records_are_defaults(scn: Scenario) -> None:
    defaults = {(r.type, r.id): r.default_reason for r in scn.after.resources if r.default}
    zones = [scn.sid("aws_route53_zone", "pub"), scn.sid("aws_route53_zone", "second"), scn.hand["zone"]]
    names = ["drift-example.com", "internal.drift", "hand.example"]
    expected = {
        ("aws_route53_record", record_id(z, n, t)): f"{t} record of zone {z}"
        for z, n in zip(zones, names, strict=True)
        for t in ("NS", "SOA")
    }
    assert {k: v for k, v in defaults.items() if k in expected} == expected
    assert set(defaults) - set(expected) == {
        ("aws_route53_record", record_id(scn.hand["private"], "private.hand", t)) for t in ("NS", "SOA")
    }


def test_hand_made_resources_are_unmanaged_with_import_ids(scn: Scenario) -> None:
    found = by_key(scn.after)
    in_state = {(i["type"], i["attributes"]["id"]) for i in state_instances(scn.state)}
    for name, tf_type in (("log_group", "aws_cloudwatch_log_group"), ("alarm", "aws_cloudwatch_metric_alarm"),
                          ("zone", "aws_route53_zone"), ("private", "aws_route53_zone"),
                          ("record", "aws_route53_record")):  # fmt: skip
        res = found.get((tf_type, scn.hand[name]))
        assert res is not None and not res.default and (tf_type, res.id) not in in_state, name
    private = found[("aws_route53_zone", scn.hand["private"])].attributes
    assert (private["vpc"], private["comment"]) == (
        [{"vpc_id": scn.hand["vpc"], "vpc_region": "us-east-1"}],
        "hand",
    )
    assert found[("aws_route53_record", scn.hand["record"])].attributes["records"] == ["198.51.100.1"]


# --- out-of-band changes: discovery reads the live value --------------------------------------------
def test_log_group_and_alarm_changes_show(scn: Scenario) -> None:
    assert scn.after_attrs("aws_cloudwatch_log_group", "/drift/app-1")["retention_in_days"] == 30
    assert scn.after_attrs("aws_cloudwatch_log_group", "/drift/app-0")["tags"] == {"idx": "0", "team": "x"}
    assert ("aws_cloudwatch_log_group", "/drift/encrypted") not in by_key(scn.after)
    assert scn.after_attrs("aws_cloudwatch_metric_alarm", "drift-cpu-high")["threshold"] == 90
    assert scn.after_attrs("aws_cloudwatch_metric_alarm", "drift-queue-depth")["actions_enabled"] is False


def test_zone_and_record_changes_show(scn: Scenario) -> None:
    pub = scn.sid("aws_route53_zone", "pub")
    zone = scn.after_attrs("aws_route53_zone", pub)
    assert (zone["comment"], zone["tags"]) == ("edited", {"env": "test", "owner": "dns"})
    assert scn.after_attrs("aws_route53_record", f"{pub}_www.drift-example.com_A")["records"] == [
        "192.0.2.10",
        "192.0.2.99",
    ]
    assert scn.after_attrs("aws_route53_record", f"{pub}_drift-example.com_TXT")["ttl"] == 120
    assert ("aws_route53_record", scn.sid("aws_route53_record", "weighted", "green")) not in by_key(scn.after)


# --- driftmgr drift detect ------------------------------------------------------------------------------
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
    assert s["in_sync"] == len([i for i in state_instances(scn.state) if i["type"] in TYPES]) == 15
    assert s["defaults"] >= 4  # NS and SOA of both managed zones

    code, report = scn.detect_after
    assert code == 2
    pub = scn.sid("aws_route53_zone", "pub")
    assert _not_in_sync(report) == {
        ("drifted", "aws_cloudwatch_log_group", "/drift/app-0"): {"tags.team": (None, "x")},
        ("drifted", "aws_cloudwatch_log_group", "/drift/app-1"): {"retention_in_days": (0, 30)},
        ("missing", "aws_cloudwatch_log_group", "/drift/encrypted"): {},
        ("drifted", "aws_cloudwatch_metric_alarm", "drift-cpu-high"): {"threshold": (80, 90)},
        ("drifted", "aws_cloudwatch_metric_alarm", "drift-queue-depth"): {"actions_enabled": (True, False)},
        ("drifted", "aws_route53_zone", pub): {
            "comment": ("public zone", "edited"),
            "tags.owner": (None, "dns"),
        },
        ("drifted", "aws_route53_record", f"{pub}_www.drift-example.com_A"): {
            "records": (["192.0.2.10", "192.0.2.11"], ["192.0.2.10", "192.0.2.99"])
        },
        ("drifted", "aws_route53_record", f"{pub}_drift-example.com_TXT"): {"ttl": (60, 120)},
        ("missing", "aws_route53_record", scn.sid("aws_route53_record", "weighted", "green")): {},
        ("unmanaged", "aws_cloudwatch_log_group", "/hand/made"): {},
        ("unmanaged", "aws_cloudwatch_metric_alarm", "hand-alarm"): {},
        ("unmanaged", "aws_route53_zone", scn.hand["zone"]): {},
        ("unmanaged", "aws_route53_zone", scn.hand["private"]): {},
        ("unmanaged", "aws_route53_record", scn.hand["record"]): {},
    }


def test_drift_detect_on_the_freshly_applied_state_reports_no_drift(scn: Scenario) -> None:
    code, report = scn.detect_fresh
    assert (code, _not_in_sync(report)) == (0, {})


# --- pure mapping helpers ------------------------------------------------------------------------------
def test_record_names_decode_octal_escapes_and_drop_the_trailing_dot() -> None:
    assert clean_name("\\052.Example.COM.") == "*.example.com"
    assert clean_name("\\100.example.com.") == "@.example.com"
    assert clean_name(".") == "."
    assert record_id("Z1", "WWW.example.com.", "A") == "Z1_www.example.com_A"
    assert record_id("Z1", "api.example.com", "CNAME", "blue") == "Z1_api.example.com_CNAME_blue"


def test_state_record_id_maps_a_short_configured_name_to_the_live_id() -> None:
    # State written for `name = "api"` (from a real hashicorp/aws 5.100 state): id uses the short name.
    attrs = {"id": "Z1_api_CNAME_blue", "zone_id": "Z1", "name": "api", "fqdn": "api.example.com",
             "type": "CNAME", "set_identifier": "blue"}  # fmt: skip
    assert state_record_id(attrs) == "Z1_api.example.com_CNAME_blue"
    full = {"id": "Z1_www.example.com_A", "zone_id": "Z1", "name": "www.example.com",
            "fqdn": "www.example.com", "type": "A", "set_identifier": ""}  # fmt: skip
    assert state_record_id(full) == full["id"]


def test_routing_policies_map_to_single_item_blocks() -> None:
    rtype = registered_types("aws")["aws_route53_record"]
    scope = Scope("aws", "123456789012", None, lambda service: None)
    base = {"_ZoneId": "Z1", "_ZoneName": "example.com", "Name": "a.example.com.", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.1"}], "SetIdentifier": "s"}  # fmt: skip
    geo = rtype.to_attributes({**base, "GeoLocation": {"CountryCode": "DE"}}, scope)
    assert geo["geolocation_routing_policy"] == [{"continent": "", "country": "DE", "subdivision": ""}]
    assert (geo["weighted_routing_policy"], geo["latency_routing_policy"]) == ([], [])
    lat = rtype.to_attributes({**base, "Region": "eu-west-1", "HealthCheckId": "hc-1"}, scope)
    assert (lat["latency_routing_policy"], lat["health_check_id"]) == ([{"region": "eu-west-1"}], "hc-1")
    fail = rtype.to_attributes({**base, "Failover": "PRIMARY", "MultiValueAnswer": False}, scope)
    assert fail["failover_routing_policy"] == [{"type": "PRIMARY"}]
    target = {
        "DNSName": "LB-1.eu-west-1.elb.amazonaws.com.",
        "HostedZoneId": "Z2",
        "EvaluateTargetHealth": True,
    }
    alias = rtype.to_attributes({**base, "ResourceRecords": [], "TTL": None, "AliasTarget": target}, scope)
    assert (alias["records"], alias["ttl"]) == ([], 0)
    assert alias["alias"] == [
        {"name": "lb-1.eu-west-1.elb.amazonaws.com", "zone_id": "Z2", "evaluate_target_health": True}
    ]


def test_target_tracking_alarms_are_defaults() -> None:
    default = registered_types("aws")["aws_cloudwatch_metric_alarm"].default_reason
    assert default is not None
    scope = Scope("aws", "123456789012", "us-east-1", lambda service: None)
    owned = {
        "AlarmName": "TargetTracking-table/orders-AlarmHigh-1",
        "AlarmDescription": "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy arn:aws:...",
    }
    assert default(owned, scope) == "alarm of a target-tracking scaling policy"
    assert default({"AlarmName": "mine", "AlarmDescription": "cpu"}, scope) is None
