"""Notification channels, rules and deliveries in the database, validated at the boundary.

A channel is a name and an apprise URL (validated by apprise itself; shown only redacted). A rule
sends events whose type matches one of its patterns (fnmatch: `drift.*`), whose severity is at
least `min_severity` (low < medium < high < critical) and whose source matches one of its source
patterns (none: every source) to one channel.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import NotificationChannel, NotificationDelivery, NotificationRule
from driftmgr.platform.events.base import EVENT_TYPES, Event
from driftmgr.platform.notify.redact import ChannelURL, inspect_url, scheme_of

SEVERITIES = ("low", "medium", "high", "critical")
DELIVERY_STATUSES = ("pending", "delivered", "dead")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def severity_rank(severity: str | None) -> int:
    """0..3 for low..critical; -1 for none or an unknown word (below every threshold)."""
    return SEVERITIES.index(severity.lower()) if severity and severity.lower() in SEVERITIES else -1


def rule_matches(
    events: Sequence[str], min_severity: str | None, sources: Sequence[str], event: Event
) -> bool:
    """Whether one rule selects `event`.

    An event without a severity passes only rules without a minimum; an event without a source
    passes only rules without source filters.
    """
    if not any(fnmatch.fnmatchcase(event.type, p) for p in events):
        return False
    if min_severity and severity_rank(event.severity) < severity_rank(min_severity):
        return False
    if sources:
        if not event.source:
            return False
        if not any(event.source == s or fnmatch.fnmatchcase(event.source, s) for s in sources):
            return False
    return True


# --- validation ---------------------------------------------------------------------------------


def validate_channel_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise UsageError(
            "a channel name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            source=f"channel {name!r}",
        )
    return name


def validate_channel_url(name: str, url: str) -> ChannelURL:
    """The parsed URL, or one UsageError naming the channel (never echoing the URL's secrets)."""
    url = (url or "").strip()
    where = f"channel {name}"
    if not url:
        raise UsageError("the apprise URL is empty", source=where)
    info = inspect_url(url)
    if info.accepted:
        return info
    scheme = scheme_of(url)
    if not scheme:
        raise UsageError("not an apprise URL (expected scheme://…, e.g. jsons://host/path)", source=where)
    from apprise import NotificationManager

    if scheme not in NotificationManager():  # type: ignore[no-untyped-call]
        raise UsageError(
            f"unknown notification scheme {scheme}:// (see the apprise documentation)", source=where
        )
    raise UsageError(
        f"apprise rejects this {scheme}:// URL: a token, host or parameter is missing or malformed",
        source=where,
    )


def validate_event_patterns(patterns: Sequence[str]) -> list[str]:
    out = [p.strip() for p in patterns if p and p.strip()]
    if not out:
        raise UsageError("a rule needs at least one --event pattern (e.g. 'drift.*')")
    for p in out:
        if not any(fnmatch.fnmatchcase(t, p) for t in EVENT_TYPES):
            families = sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES})
            raise UsageError(f"--event {p!r} matches no event type (try one of: {', '.join(families)})")
    return out


def validate_severity(severity: str | None) -> str | None:
    if severity is None or severity == "":
        return None
    if severity.lower() not in SEVERITIES:
        raise UsageError(f"--min-severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return severity.lower()


# --- views --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: str
    name: str
    url: str  # redacted
    scheme: str
    enabled: bool
    rules: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "scheme": self.scheme,
            "enabled": self.enabled,
            "rules": self.rules,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class RuleView:
    id: str
    channel: str
    events: list[str]
    min_severity: str | None
    sources: list[str]
    enabled: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "events": self.events,
            "min_severity": self.min_severity,
            "sources": self.sources,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: str
    channel: str
    event_id: str
    event_type: str
    title: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "title": self.title,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
        }


# --- channels -----------------------------------------------------------------------------------


def add_channel(db: Database, name: str, url: str) -> ChannelView:
    validate_channel_name(name)
    info = validate_channel_url(name, url)
    with db.session() as s:
        if s.scalar(select(NotificationChannel.id).where(NotificationChannel.name == name)):
            raise UsageError("a channel with this name already exists", source=f"channel {name}")
        row = NotificationChannel(name=name, url=url.strip(), enabled=True)
        s.add(row)
        s.flush()
        return ChannelView(row.id, name, info.display, info.scheme, True, 0, row.created_at)


def list_channels(db: Database) -> list[ChannelView]:
    with db.session() as s:
        counts = dict(
            s.execute(
                select(NotificationRule.channel_id, func.count()).group_by(NotificationRule.channel_id)
            ).all()
        )
        rows = s.scalars(select(NotificationChannel).order_by(NotificationChannel.name)).all()
        out = []
        for r in rows:
            info = inspect_url(r.url)
            out.append(
                ChannelView(
                    r.id, r.name, info.display, info.scheme, r.enabled, counts.get(r.id, 0), r.created_at
                )
            )
        return out


def channel_url(db: Database, name: str) -> str:
    """The stored (secret-bearing) URL of a channel, for sending only."""
    with db.session() as s:
        url = s.scalar(select(NotificationChannel.url).where(NotificationChannel.name == name))
    if url is None:
        raise UsageError("no such notification channel", source=f"channel {name}")
    return url


def remove_channel(db: Database, name: str) -> None:
    """Remove a channel with its rules and deliveries."""
    with db.session() as s:
        cid = s.scalar(select(NotificationChannel.id).where(NotificationChannel.name == name))
        if cid is None:
            raise UsageError("no such notification channel", source=f"channel {name}")
        s.execute(delete(NotificationDelivery).where(NotificationDelivery.channel_id == cid))
        s.execute(delete(NotificationRule).where(NotificationRule.channel_id == cid))
        s.execute(delete(NotificationChannel).where(NotificationChannel.id == cid))


# --- rules --------------------------------------------------------------------------------------


def add_rule(
    db: Database,
    channel: str,
    events: Sequence[str],
    *,
    min_severity: str | None = None,
    sources: Sequence[str] = (),
) -> RuleView:
    patterns = validate_event_patterns(events)
    severity = validate_severity(min_severity)
    srcs = [s.strip() for s in sources if s and s.strip()]
    with db.session() as s:
        cid = s.scalar(select(NotificationChannel.id).where(NotificationChannel.name == channel))
        if cid is None:
            raise UsageError("no such notification channel", source=f"channel {channel}")
        row = NotificationRule(channel_id=cid, events=patterns, min_severity=severity, sources=srcs)
        s.add(row)
        s.flush()
        return RuleView(row.id, channel, patterns, severity, srcs, True, row.created_at)


def list_rules(db: Database) -> list[RuleView]:
    with db.session() as s:
        rows = s.execute(
            select(NotificationRule, NotificationChannel.name)
            .join(NotificationChannel, NotificationChannel.id == NotificationRule.channel_id)
            .order_by(NotificationChannel.name, NotificationRule.created_at)
        )
        return [
            RuleView(r.id, name, list(r.events), r.min_severity, list(r.sources), r.enabled, r.created_at)
            for r, name in rows
        ]


def remove_rule(db: Database, rule_id: str) -> str:
    """Remove the rule with this id (or unique id prefix of at least 6 characters); its full id."""
    rule_id = (rule_id or "").strip().lower()
    if len(rule_id) < 6 or not re.fullmatch(r"[0-9a-f]+", rule_id):
        raise UsageError("a rule id is the hex id shown by 'notify rule list' (6 characters at least)")
    with db.session() as s:
        ids = s.scalars(select(NotificationRule.id).where(NotificationRule.id.startswith(rule_id))).all()
        if not ids:
            raise UsageError("no such notification rule", source=rule_id)
        if len(ids) > 1:
            raise UsageError("this id prefix matches several rules; give more characters", source=rule_id)
        s.execute(delete(NotificationRule).where(NotificationRule.id == ids[0]))
        return ids[0]


# --- deliveries ---------------------------------------------------------------------------------


def list_deliveries(db: Database, *, status: str | None = None, limit: int = 100) -> list[DeliveryView]:
    if status is not None and status not in DELIVERY_STATUSES:
        raise UsageError(f"--status must be one of {', '.join(DELIVERY_STATUSES)}, got {status!r}")
    with db.session() as s:
        q = (
            select(NotificationDelivery, NotificationChannel.name)
            .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
            .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id)
            .limit(limit)
        )
        if status:
            q = q.where(NotificationDelivery.status == status)
        return [
            DeliveryView(
                d.id,
                name,
                d.event_id,
                d.event_type,
                d.title,
                d.status,
                d.attempts,
                d.last_error,
                d.created_at,
                d.next_attempt_at,
                d.delivered_at,
            )
            for d, name in s.execute(q)
        ]
