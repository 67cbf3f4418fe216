"""Apply ignore rules, policy and default severities to the items of a drift report.

Order, for each item (docs/policy.md):
1. `.driftignore` whole-resource rules, then policy rules without `path` that say `ignore`:
   the item becomes `ignored`; its note says what it was and names the rule
   (`unmanaged, ignored by .driftignore:3`).
2. A drifted item's changes: those ignored by a `.driftignore` attribute line or a policy rule
   are dropped; each remaining change takes the severity of the first matching policy rule, else
   the default table's. No change left: the item is `in_sync`.
3. The item's severity: the highest of its changes' (drifted); for missing/unmanaged the severity
   of the first matching policy rule without `path`, else the status default; none otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftmgr.engine.policy.driftignore import DriftIgnore
from driftmgr.engine.policy.policy import Policy, Subject
from driftmgr.engine.policy.severity import DEFAULT_TABLE, SeverityTable, max_severity
from driftmgr.models import DriftItem


class Rules:
    """Everything that decides what is ignored and how bad the rest is, bundled for the engine."""

    __slots__ = ("driftignore", "policy", "table")

    def __init__(
        self,
        driftignore: DriftIgnore | None = None,
        policy: Policy | None = None,
        table: SeverityTable = DEFAULT_TABLE,
    ) -> None:
        self.driftignore = driftignore if driftignore else None
        self.policy = policy if policy else None
        self.table = table

    def apply(self, item: DriftItem, tags: Mapping[str, Any] | None = None) -> DriftItem:
        """Classify `item` in place (status, changes, severities, note) and return it.

        `tags` are the resource's tags (from the state, else the live resource) for policy rules
        that match on tags.
        """
        if item.status == "ignored":
            item.severity = None
            return item
        subject = (
            Subject(item.type, item.id, item.address, item.provider, item.status, tags or {})
            if self.policy is not None
            else None
        )
        if self.driftignore is not None:
            rule = self.driftignore.resource_rule(item.type, item.id)
            if rule is not None and not rule.negate:
                return _ignore(item, f"ignored by {self.driftignore.describe(rule)}")
        decision = None
        if self.policy is not None and subject is not None:
            decision = self.policy.resource_decision(subject)
            if decision is not None and decision.action == "ignore":
                return _ignore(item, f"ignored by {decision.describe(self.policy.source)}")

        if item.status == "drifted":
            kept = []
            for change in item.changes:
                if self.driftignore is not None and self.driftignore.is_path_ignored(
                    item.type, item.id, change.path
                ):
                    continue
                sev: str | None = None
                if self.policy is not None and subject is not None:
                    cd = self.policy.change_decision(subject, change.path)
                    if cd is not None:
                        if cd.action == "ignore":
                            continue
                        sev = cd.severity
                change.severity = sev or self.table.change(item.type, change.path)
                kept.append(change)
            item.changes = kept
            if not kept:
                item.status = "in_sync"
                item.severity = None
            else:
                item.severity = max_severity(c.severity for c in kept)
        elif item.status in ("missing", "unmanaged"):
            if decision is not None and decision.severity is not None:
                item.severity = decision.severity
            else:
                item.severity = self.table.status(item.type, item.status)
        else:
            item.severity = None
        return item


def _ignore(item: DriftItem, why: str) -> DriftItem:
    why = f"{item.status}, {why}"
    item.status = "ignored"
    item.severity = None
    item.note = f"{item.note}; {why}" if item.note else why
    return item


def apply_rules(
    item: DriftItem,
    *,
    tags: Mapping[str, Any] | None = None,
    driftignore: DriftIgnore | None = None,
    policy: Policy | None = None,
    table: SeverityTable = DEFAULT_TABLE,
) -> DriftItem:
    """One-off form of `Rules(driftignore, policy, table).apply(item, tags)`."""
    return Rules(driftignore, policy, table).apply(item, tags)
