"""Storing scans: one row per drift detection run, one item row per resource that was not in sync.

`save_scan` is idempotent per job id: a job that ran again after its worker died finds the scan its
first run stored and stores nothing more (the unique `scans.job_id` makes a race lose cleanly).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from driftmgr.platform.db.engine import Database
from driftmgr.platform.db.models import Scan, ScanItem, utcnow

# statuses kept as item rows (in_sync and ignored live only in the stored report)
ITEM_STATUSES = frozenset({"drifted", "missing", "unmanaged", "unsupported"})


def source_key(sources: list[str]) -> str:
    """The identity of "the same scan target" over time: the sorted, de-duplicated sources."""
    return " ".join(sorted(set(sources)))[:400]


def resource_key(item: dict[str, Any]) -> str:
    """Identity of a resource over time: provider/account/region/type/id."""
    parts = (item.get("provider"), item.get("account"), item.get("region"), item.get("type"), item.get("id"))
    return "/".join("" if p is None else str(p) for p in parts)[:600]


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None


def save_scan(
    db: Database,
    report: dict[str, Any],
    *,
    sources: list[str] | None = None,
    job_id: str | None = None,
    provider: str = "aws",
    regions: list[str] | None = None,
    status: str | None = None,
) -> str:
    """Store a drift report (the JSON of DESIGN §3); returns the scan id."""
    if job_id is not None:
        existing = find_scan_for_job(db, job_id)
        if existing is not None:
            return existing
    summary = report.get("summary", {})
    srcs = sources if sources is not None else [s.get("state", "") for s in report.get("sources", [])]
    finished = _parse_time(report.get("generated_at")) or utcnow()
    duration = float(report.get("duration_s") or 0.0)
    scan = Scan(
        job_id=job_id,
        source_key=source_key(srcs),
        sources=srcs,
        provider=provider,
        regions=list(regions or []),
        status=status or ("partial" if report.get("partial") else "completed"),
        started_at=finished - timedelta(seconds=duration),
        finished_at=finished,
        duration_s=duration,
        errors=list(report.get("errors", [])),
        report=report,
        **{
            k: summary.get(k, 0)
            for k in (
                "total",
                "in_sync",
                "drifted",
                "missing",
                "unmanaged",
                "ignored",
                "unsupported",
                "defaults",
            )
        },
        coverage=float(summary.get("coverage", 1.0)),
        score=int(summary.get("score", 100)),
    )
    for r in report.get("resources", []):
        if r.get("status") not in ITEM_STATUSES:
            continue
        scan.items.append(
            ScanItem(
                key=resource_key(r),
                address=r.get("address"),
                type=str(r.get("type", "")),
                resource_id=str(r.get("id", "")),
                provider=str(r.get("provider") or provider),
                account=r.get("account"),
                region=r.get("region"),
                status=str(r["status"]),
                severity=r.get("severity"),
                source=r.get("source"),
                changes=list(r.get("changes") or []),
            )
        )
    try:
        with db.session() as s:
            s.add(scan)
    except IntegrityError:
        if job_id is not None:  # another run of the same job stored it first
            existing = find_scan_for_job(db, job_id)
            if existing is not None:
                return existing
        raise
    return scan.id


def find_scan_for_job(db: Database, job_id: str) -> str | None:
    with db.session() as s:
        return s.scalar(select(Scan.id).where(Scan.job_id == job_id))
