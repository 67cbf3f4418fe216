"""Ignore rules (`.driftignore`), the YAML policy, default severities and `--filter`."""

from __future__ import annotations

from driftmgr.engine.policy.apply import Rules, apply_rules
from driftmgr.engine.policy.driftignore import DriftIgnore, IgnoreRule
from driftmgr.engine.policy.filter import ResourceFilter
from driftmgr.engine.policy.paths import PathPattern, match_path, split_path
from driftmgr.engine.policy.policy import Decision, Policy, PolicyRule, Subject
from driftmgr.engine.policy.severity import (
    DEFAULT_TABLE,
    SEVERITY_RANK,
    SeverityTable,
    max_severity,
    severity_rank,
)

__all__ = [
    "DEFAULT_TABLE",
    "SEVERITY_RANK",
    "Decision",
    "DriftIgnore",
    "IgnoreRule",
    "PathPattern",
    "Policy",
    "PolicyRule",
    "ResourceFilter",
    "Rules",
    "SeverityTable",
    "Subject",
    "apply_rules",
    "match_path",
    "max_severity",
    "severity_rank",
    "split_path",
]
