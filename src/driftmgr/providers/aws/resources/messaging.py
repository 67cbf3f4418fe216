"""Messaging: aws_sqs_queue, aws_sns_topic, aws_sns_topic_subscription.

Ids as Terraform stores them: the queue URL, the topic ARN, the subscription ARN. Both APIs return
every setting as a string in one attribute map; absent keys mean "not set", which the provider stores
as "" / false / 0 — except where noted. Policies become the provider's normalized JSON string; other
JSON documents (redrive, delivery and filter policies) are passed through as the API returns them
(the drift engine compares JSON semantically).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from driftmgr.providers.aws.resources.common import tags
from driftmgr.providers.aws.resources.ec2_network import normalized_json, text
from driftmgr.providers.base import ResourceType, Scope, iter_items, register_type

Item = dict[str, Any]
Details = Callable[[Item, Scope], Item | None]


def unless_gone(*codes: str) -> Callable[[Details], Details]:
    """Make a `details` function return None (drop the item) when the API answers one of `codes`:
    the resource was deleted between the listing and the detail calls. Other errors propagate."""

    def deco(fn: Details) -> Details:
        @functools.wraps(fn)
        def wrapper(item: Item, scope: Scope) -> Item | None:
            try:
                return fn(item, scope)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in codes:
                    return None
                raise

        return wrapper

    return deco


def flag(attrs: Item, key: str) -> bool:
    """An SQS/SNS "true"/"false" string attribute; absent is false."""
    return str(attrs.get(key, "")).lower() == "true"


def integer(attrs: Item, key: str) -> int:
    """A number attribute sent as a string; absent is 0 (what the provider stores for "not set")."""
    value = attrs.get(key)
    return 0 if value in (None, "") else int(value)


# --- aws_sqs_queue ------------------------------------------------------------------------------
_SQS_GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
_SQS_NUMBERS = (
    ("VisibilityTimeout", "visibility_timeout_seconds"),
    ("MessageRetentionPeriod", "message_retention_seconds"),
    ("MaximumMessageSize", "max_message_size"),
    ("DelaySeconds", "delay_seconds"),
    ("ReceiveMessageWaitTimeSeconds", "receive_wait_time_seconds"),
    ("KmsDataKeyReusePeriodSeconds", "kms_data_key_reuse_period_seconds"),
)


def _queue_collect(scope: Scope) -> Iterator[Item]:
    sqs = scope.client("sqs")
    pages = sqs.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1000})
    for url in iter_items(pages, "QueueUrls"):
        yield {"QueueUrl": url}


@unless_gone(*_SQS_GONE)
def _queue_details(item: Item, scope: Scope) -> Item | None:
    sqs = scope.client("sqs")
    url = item["QueueUrl"]
    item["Attributes"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    item["Tags"] = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
    return item


def _queue_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    a: Item = item["Attributes"]
    attrs: dict[str, Any] = {
        "url": item["QueueUrl"],
        "name": item["QueueUrl"].rstrip("/").rsplit("/", 1)[-1],
        "arn": text(a, "QueueArn"),
        "policy": normalized_json(a.get("Policy")),
        "redrive_policy": text(a, "RedrivePolicy"),
        "redrive_allow_policy": text(a, "RedriveAllowPolicy"),
        "fifo_queue": flag(a, "FifoQueue"),
        "content_based_deduplication": flag(a, "ContentBasedDeduplication"),
        "deduplication_scope": text(a, "DeduplicationScope"),
        "fifo_throughput_limit": text(a, "FifoThroughputLimit"),
        "kms_master_key_id": text(a, "KmsMasterKeyId"),
        "tags": tags(item),
    }
    # Numbers AWS always returns; KmsDataKeyReusePeriodSeconds only comes with SSE-KMS (the provider
    # then keeps its own value, 300): whatever the API leaves out stays unknown.
    for key, name in _SQS_NUMBERS:
        if a.get(key) not in (None, ""):
            attrs[name] = int(a[key])
    if a.get("SqsManagedSseEnabled") not in (None, ""):
        attrs["sqs_managed_sse_enabled"] = flag(a, "SqsManagedSseEnabled")
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_sqs_queue",
        service="sqs",
        collect=_queue_collect,
        id_key="QueueUrl",
        details=_queue_details,
        to_attributes=_queue_attributes,
    ),
)


# --- aws_sns_topic ------------------------------------------------------------------------------
_SNS_GONE = ("NotFound", "NotFoundException", "ResourceNotFound", "ResourceNotFoundException")
# Delivery-status logging: <prefix>_{success,failure}_feedback_role_arn and _success_feedback_sample_rate.
_FEEDBACK = {
    "application": "Application",
    "firehose": "Firehose",
    "http": "HTTP",
    "lambda": "Lambda",
    "sqs": "SQS",
}


@unless_gone(*_SNS_GONE)
def _topic_details(item: Item, scope: Scope) -> Item | None:
    sns = scope.client("sns")
    arn = item["TopicArn"]
    item["Attributes"] = sns.get_topic_attributes(TopicArn=arn).get("Attributes", {})
    item["Tags"] = sns.list_tags_for_resource(ResourceArn=arn).get("Tags") or []
    return item


def _topic_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    a: Item = item["Attributes"]
    arn: str = item["TopicArn"]
    attrs: dict[str, Any] = {
        "arn": arn,
        "name": arn.rsplit(":", 1)[-1],
        "owner": text(a, "Owner"),
        "display_name": text(a, "DisplayName"),
        "policy": normalized_json(a.get("Policy")),
        "delivery_policy": text(a, "DeliveryPolicy"),
        "kms_master_key_id": text(a, "KmsMasterKeyId"),
        "fifo_topic": flag(a, "FifoTopic"),
        "content_based_deduplication": flag(a, "ContentBasedDeduplication"),
        "signature_version": integer(a, "SignatureVersion"),
        "tracing_config": text(a, "TracingConfig"),
        "archive_policy": text(a, "ArchivePolicy"),
        "beginning_archive_time": text(a, "BeginningArchiveTime"),
        "fifo_throughput_scope": text(a, "FifoThroughputScope"),
        "tags": tags(item),
    }
    for prefix, api in _FEEDBACK.items():
        attrs[f"{prefix}_success_feedback_role_arn"] = text(a, f"{api}SuccessFeedbackRoleArn")
        attrs[f"{prefix}_failure_feedback_role_arn"] = text(a, f"{api}FailureFeedbackRoleArn")
        attrs[f"{prefix}_success_feedback_sample_rate"] = integer(a, f"{api}SuccessFeedbackSampleRate")
    return attrs


register_type(
    "aws",
    ResourceType(
        tf_type="aws_sns_topic",
        service="sns",
        list_call="list_topics",
        result_key="Topics",
        id_key="TopicArn",
        details=_topic_details,
        to_attributes=_topic_attributes,
    ),
)


# --- aws_sns_topic_subscription -----------------------------------------------------------------
@unless_gone(*_SNS_GONE)
def _subscription_details(item: Item, scope: Scope) -> Item | None:
    arn = str(item.get("SubscriptionArn") or "")
    if not arn.startswith("arn:"):
        # "PendingConfirmation"/"Deleted": an unconfirmed subscription has no ARN to read it by yet.
        return None
    item["Attributes"] = (
        scope.client("sns").get_subscription_attributes(SubscriptionArn=arn).get("Attributes", {})
    )
    return item


def _subscription_attributes(item: Item, _scope: Scope) -> dict[str, Any]:
    a: Item = item["Attributes"]
    return {
        "arn": item["SubscriptionArn"],
        "topic_arn": text(a, "TopicArn") or text(item, "TopicArn"),
        "protocol": text(a, "Protocol") or text(item, "Protocol"),
        "endpoint": text(a, "Endpoint") or text(item, "Endpoint"),
        "owner_id": text(a, "Owner") or text(item, "Owner"),
        "raw_message_delivery": flag(a, "RawMessageDelivery"),
        "filter_policy": text(a, "FilterPolicy"),
        "filter_policy_scope": text(a, "FilterPolicyScope"),
        "delivery_policy": text(a, "DeliveryPolicy"),
        "redrive_policy": text(a, "RedrivePolicy"),
        "replay_policy": text(a, "ReplayPolicy"),
        "subscription_role_arn": text(a, "SubscriptionRoleArn"),
        "pending_confirmation": flag(a, "PendingConfirmation"),
        "confirmation_was_authenticated": flag(a, "ConfirmationWasAuthenticated"),
    }


register_type(
    "aws",
    ResourceType(
        tf_type="aws_sns_topic_subscription",
        service="sns",
        list_call="list_subscriptions",
        result_key="Subscriptions",
        id_key="SubscriptionArn",
        details=_subscription_details,
        to_attributes=_subscription_attributes,
    ),
)
