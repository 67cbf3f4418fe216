"""Readable notification title and body from an event, without secrets.

Drift events are summarised ("Drift found: 3 drifted, 1 missing in s3://…/prod.tfstate") with a
short list of resources and the paths that changed — never the expected/actual values, which may
be secrets. Other events list their scalar payload fields, skipping keys that look secret.
"""

from __future__ import annotations

import re
from typing import Any

from driftmgr.platform.events.base import Event
from driftmgr.platform.notify.redact import scrub

MAX_RESOURCES = 10
_SECRET_KEY = re.compile(r"token|secret|pass|pwd|credential|auth|cookie|private|key$", re.I)
_COUNT_KEYS = ("drifted", "missing", "unmanaged")
_TITLES = {
    "drift.drift_found": "Drift found",
    "drift.detection_started": "Drift detection started",
    "drift.detection_completed": "Drift detection completed",
    "discovery.started": "Discovery started",
    "discovery.completed": "Discovery completed",
    "discovery.failed": "Discovery failed",
    "remediation.plan_created": "Remediation plan created",
    "remediation.approved": "Remediation plan approved",
    "remediation.rejected": "Remediation plan rejected",
    "remediation.executed": "Remediation executed",
    "remediation.rolled_back": "Remediation rolled back",
    "job.failed": "Job failed",
    "job.succeeded": "Job succeeded",
    "job.cancelled": "Job cancelled",
    "job.retrying": "Job retrying",
}


def _short(value: Any, limit: int = 200) -> str:
    text = scrub(str(value)).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    summary = payload.get("summary")
    return summary if isinstance(summary, dict) else payload


def _counts(payload: dict[str, Any]) -> str:
    summary = _summary(payload)
    parts = []
    for key in _COUNT_KEYS:
        value = summary.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and (value or key == "drifted"):
            parts.append(f"{value} {key}")
    return ", ".join(parts)


def _sources(event: Event) -> str:
    if event.source:
        return _short(event.source, 120)
    srcs = event.payload.get("sources")
    if isinstance(srcs, list) and srcs:
        names = [_short(s.get("state") if isinstance(s, dict) else s, 120) for s in srcs[:3]]
        return ", ".join(n for n in names if n) + (f" (+{len(srcs) - 3} more)" if len(srcs) > 3 else "")
    return ""


def title_for(event: Event) -> str:
    base = _TITLES.get(event.type) or event.type.replace(".", ": ", 1).replace("_", " ").capitalize()
    counts = (
        _counts(event.payload)
        if event.type.startswith("drift.") and event.type != "drift.detection_started"
        else ""
    )
    where = _sources(event)
    title = f"{base}: {counts}" if counts else base
    if where:
        title += f" in {where}"
    return _short(title, 250)


def _resource_lines(payload: dict[str, Any]) -> list[str]:
    resources = payload.get("resources")
    if not isinstance(resources, list):
        return []
    notable = [
        r for r in resources if isinstance(r, dict) and r.get("status") not in (None, "in_sync", "ignored")
    ]
    lines = []
    for r in notable[:MAX_RESOURCES]:
        name = r.get("address") or f"{r.get('type', '?')} {r.get('id', '?')}"
        detail = [str(r.get("status"))]
        if r.get("severity"):
            detail.append(str(r["severity"]))
        line = f"- {_short(name, 120)} ({', '.join(detail)})"
        changes = r.get("changes")
        if isinstance(changes, list) and changes:
            paths = [str(c.get("path")) for c in changes[:5] if isinstance(c, dict) and c.get("path")]
            more = f" +{len(changes) - 5} more" if len(changes) > 5 else ""
            line += f": {_short(', '.join(paths), 160)}{more}"
        lines.append(line)
    if len(notable) > MAX_RESOURCES:
        lines.append(f"… and {len(notable) - MAX_RESOURCES} more")
    return lines


def body_for(event: Event) -> str:
    lines = [f"Event: {event.type}"]
    if event.severity:
        lines.append(f"Severity: {event.severity}")
    where = _sources(event)
    if where:
        lines.append(f"Source: {where}")
    if event.job_id:
        lines.append(f"Job: {event.job_id}")
    lines.append(f"Time: {event.created_at.isoformat(timespec='seconds')}")
    counts = _counts(event.payload)
    if counts:
        lines.append(f"Summary: {counts}")
    fields = [
        f"{k}: {_short(v)}"
        for k, v in sorted(event.payload.items())
        if isinstance(v, (str, int, float, bool)) and not _SECRET_KEY.search(k) and k not in _COUNT_KEYS
    ]
    lines.extend(fields[:15])
    resources = _resource_lines(event.payload)
    if resources:
        lines.append("Resources:")
        lines.extend(resources)
    return "\n".join(lines)


def notify_type_for(event_type: str) -> str:
    """apprise's notify type (info, success, warning, failure) for an event type."""
    if event_type.endswith((".failed", ".drift_found")) or event_type == "job.cancelled":
        return "failure" if event_type.endswith(".failed") else "warning"
    if event_type.endswith((".completed", ".succeeded", ".executed", ".approved")):
        return "success"
    return "info"
