"""CloudWatch: aws_cloudwatch_log_group, aws_cloudwatch_metric_alarm.

Ids as Terraform stores them: the log group name, the alarm name. Settings the API leaves out are
stored by the provider as "" / 0 / [] / {}, so they are reported that way; `threshold` and other
numbers come back as floats and are reported as integers when integral (Terraform's numbers).
"""

from __future__ import annotations

from typing import Any

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ec2_network import cty_sorted, text
from driftmgr.providers.aws.resources.messaging import unless_gone
from driftmgr.providers.base import ResourceType, Scope, register_type

Item = dict[str, Any]


def number(value: Any) -> int | float:
    """An API number as Terraform stores it: 80.0 -> 80, 10.5 stays 10.5, absent -> 0."""
    if value is None or value == "":
        return 0
    f = float(value)
    return int(f) if f.is_integer() else f


def dimensions(raw: list[Item] | None) -> dict[str, str]:
    return {str(d["Name"]): str(d.get("Value", "")) for d in raw or []}


# --- aws_cloudwatch_log_group -------------------------------------------------------------------
def _log_group_arn(item: Item) -> str:
    # describe_log_groups' `arn` ends in ":*"; the provider stores the ARN without it.
    return text(item, "logGroupArn") or text(item, "arn").removesuffix(":*")


@unless_gone("ResourceNotFoundException")
def _log_group_details(item: Item, scope: Scope) -> Item | None:
    logs = scope.client("logs")
    item["Tags"] = logs.list_tags_for_resource(resourceArn=_log_group_arn(item)).get("tags") or {}
    return item


def _log_group_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    return {
        "name": item["logGroupName"],
        "arn": _log_group_arn(item),
        "retention_in_days": int(item.get("retentionInDays") or 0),
        "kms_key_id": text(item, "kmsKeyId"),
        "log_group_class": text(item, "logGroupClass"),
        "tags": tags(item),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_cloudwatch_log_group",
        service="logs",
        list_call="describe_log_groups",
        result_key="logGroups",
        id_key="logGroupName",
        details=_log_group_details,
        to_attributes=_log_group_attributes,
    ),
)


# --- aws_cloudwatch_metric_alarm ----------------------------------------------------------------
_TARGET_TRACKING_MARK = "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy"


@unless_gone("ResourceNotFound", "ResourceNotFoundException")
def _alarm_details(item: Item, scope: Scope) -> Item | None:
    cw = scope.client("cloudwatch")
    item["Tags"] = cw.list_tags_for_resource(ResourceARN=item["AlarmArn"]).get("Tags") or []
    return item


def _metric(stat: Item) -> list[dict[str, Any]]:
    if not stat:
        return []
    metric: Item = stat.get("Metric") or {}
    return [
        {
            "metric_name": text(metric, "MetricName"),
            "namespace": text(metric, "Namespace"),
            "dimensions": dimensions(metric.get("Dimensions")),
            "period": int(stat.get("Period") or 0),
            "stat": text(stat, "Stat"),
            "unit": text(stat, "Unit"),
        }
    ]


def _metric_query(query: Item) -> dict[str, Any]:
    return {
        "id": query["Id"],
        "account_id": text(query, "AccountId"),
        "expression": text(query, "Expression"),
        "label": text(query, "Label"),
        "period": int(query.get("Period") or 0),
        "return_data": bool(query.get("ReturnData", False)),
        "metric": _metric(query.get("MetricStat") or {}),
    }


def _alarm_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    return {
        "alarm_name": item["AlarmName"],
        "arn": text(item, "AlarmArn"),
        "alarm_description": text(item, "AlarmDescription"),
        "actions_enabled": bool(item.get("ActionsEnabled", True)),
        "alarm_actions": cty_sorted(item.get("AlarmActions") or []),
        "ok_actions": cty_sorted(item.get("OKActions") or []),
        "insufficient_data_actions": cty_sorted(item.get("InsufficientDataActions") or []),
        "comparison_operator": text(item, "ComparisonOperator"),
        "evaluation_periods": int(item.get("EvaluationPeriods") or 0),
        "datapoints_to_alarm": int(item.get("DatapointsToAlarm") or 0),
        "threshold": number(item.get("Threshold")),
        "threshold_metric_id": text(item, "ThresholdMetricId"),
        "metric_name": text(item, "MetricName"),
        "namespace": text(item, "Namespace"),
        "period": int(item.get("Period") or 0),
        "statistic": text(item, "Statistic"),
        "extended_statistic": text(item, "ExtendedStatistic"),
        "unit": text(item, "Unit"),
        "dimensions": dimensions(item.get("Dimensions")),
        "treat_missing_data": text(item, "TreatMissingData"),
        "evaluate_low_sample_count_percentiles": text(item, "EvaluateLowSampleCountPercentile"),
        "metric_query": cty_sorted(_metric_query(q) for q in item.get("Metrics") or []),
        "tags": tags(item),
    }


def _alarm_default(item: Item, _scope: Scope) -> str | None:
    # Target-tracking scaling policies (EC2 Auto Scaling, Application Auto Scaling) create and own
    # their alarms; AWS marks them so in the description.
    if text(item, "AlarmDescription").startswith(_TARGET_TRACKING_MARK):
        return "alarm of a target-tracking scaling policy"
    return None


register_type(
    "aws",
    ResourceType(
        tf_type="aws_cloudwatch_metric_alarm",
        service="cloudwatch",
        list_call="describe_alarms",
        result_key="MetricAlarms",
        list_kwargs={"AlarmTypes": ["MetricAlarm"]},
        id_key="AlarmName",
        details=_alarm_details,
        to_attributes=_alarm_attributes,
        default_reason=_alarm_default,
    ),
)
