"""The drift events of a scan (DESIGN §3), published the same way by the CLI and by jobs.

- `drift.detection_started` before a scan (payload: sources, provider, regions);
- `drift.drift_found`, one per source with something out of sync: that source's drifted and missing
  resources plus the unmanaged ones (they belong to no state), with the counts and the highest
  severity — so notification rules can select by source and minimum severity;
- `drift.detection_completed` after every scan (summary, partial, errors, scan id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftmgr.engine.report import DriftReport
from driftmgr.platform.events.base import Event, EventBus

SEVERITY_ORDER = ("low", "medium", "high", "critical")
MAX_RESOURCES = 100  # per event; the stored scan has them all
OUT_OF_SYNC = ("drifted", "missing", "unmanaged")


def _highest(items: list[dict[str, Any]]) -> str | None:
    ranks = [SEVERITY_ORDER.index(i["severity"]) for i in items if i.get("severity") in SEVERITY_ORDER]
    return SEVERITY_ORDER[max(ranks)] if ranks else None


def _one_source(sources: list[str]) -> str | None:
    return sources[0] if len(sources) == 1 else None


def publish_started(
    bus: EventBus, sources: list[str], *, provider: str, regions: list[str] | None, job_id: str | None = None
) -> Event:
    payload = {"sources": sources, "provider": provider, "regions": regions or []}
    return bus.publish("drift.detection_started", payload, source=_one_source(sources), job_id=job_id)


def publish_results(
    bus: EventBus,
    report: DriftReport | dict[str, Any],
    *,
    sources: list[str],
    scan_id: str | None,
    job_id: str | None = None,
    canonical: Callable[[str], str] = str,
) -> list[Event]:
    """`sources` are the scan's (canonical) sources; each item's own source (a file a directory or glob
    expanded to) is made canonical the same way to attribute it."""
    doc = report.to_dict() if isinstance(report, DriftReport) else report
    items = [r for r in doc.get("resources", []) if r.get("status") in OUT_OF_SYNC]
    unmanaged = [r for r in items if r["status"] == "unmanaged"]
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in items:
        if r["status"] != "unmanaged" and r.get("source"):
            by_source.setdefault(canonical(str(r["source"])), []).append(r)
    published: list[Event] = []
    for src in sorted(set(sources) | set(by_source)):
        mine = by_source.get(src, []) + unmanaged
        if not mine:
            continue
        counts = {status: sum(1 for r in mine if r["status"] == status) for status in OUT_OF_SYNC}
        payload = {
            "scan_id": scan_id,
            "sources": [src],
            "summary": counts,
            "resources": mine[:MAX_RESOURCES],
            "truncated": max(0, len(mine) - MAX_RESOURCES),
        }
        published.append(
            bus.publish("drift.drift_found", payload, source=src, job_id=job_id, severity=_highest(mine))
        )
    payload = {
        "scan_id": scan_id,
        "sources": sources,
        "summary": doc.get("summary", {}),
        "partial": bool(doc.get("partial")),
        "errors": len(doc.get("errors", [])),
    }
    published.append(
        bus.publish(
            "drift.detection_completed",
            payload,
            source=_one_source(sources),
            job_id=job_id,
            severity=_highest(items),
        )
    )
    return published
