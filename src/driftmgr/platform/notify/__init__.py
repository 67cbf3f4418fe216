"""Notifications (issue 4 §8): apprise channels, rules, deliveries with retries and a dead letter.

`Notifier(db, bus).start()` subscribes to the bus and delivers in a background thread;
`store` holds the channel/rule/delivery commands and queries the CLI and API use.
"""

from __future__ import annotations

from driftmgr.platform.notify.notifier import Notifier, RetryPolicy, send_test
from driftmgr.platform.notify.redact import ChannelURL, inspect_url, install_log_guard, scrub
from driftmgr.platform.notify.send import DeliveryError, send
from driftmgr.platform.notify.store import (
    SEVERITIES,
    ChannelView,
    DeliveryView,
    RuleView,
    add_channel,
    add_rule,
    list_channels,
    list_deliveries,
    list_rules,
    remove_channel,
    remove_rule,
    rule_matches,
)

__all__ = [
    "SEVERITIES",
    "ChannelURL",
    "ChannelView",
    "DeliveryError",
    "DeliveryView",
    "Notifier",
    "RetryPolicy",
    "RuleView",
    "add_channel",
    "add_rule",
    "inspect_url",
    "install_log_guard",
    "list_channels",
    "list_deliveries",
    "list_rules",
    "remove_channel",
    "remove_rule",
    "rule_matches",
    "scrub",
    "send",
    "send_test",
]
