"""The drift report: what `drift detect` returns, stores and renders (JSON shape: DESIGN §3).

`DriftReport.to_dict()` is the versioned JSON document described by docs/report-schema.json:
DESIGN §3's fields, plus `errors` (discovery failures) and `partial` (true when there are any).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from driftmgr.engine.score import compliance_score, coverage
from driftmgr.models import DRIFT_STATUSES, Change, DiscoveryError, DriftItem, StateHeader

REPORT_VERSION = 1
# Order of statuses in sorted reports and renderers: what needs attention first.
STATUS_ORDER = ("drifted", "missing", "unmanaged", "unsupported", "ignored", "in_sync")
_STATUS_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}


@dataclass(slots=True)
class Summary:
    total: int = 0
    in_sync: int = 0
    drifted: int = 0
    missing: int = 0
    unmanaged: int = 0
    ignored: int = 0
    unsupported: int = 0
    defaults: int = 0
    coverage: float = 1.0
    score: int = 100

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "in_sync": self.in_sync,
            "drifted": self.drifted,
            "missing": self.missing,
            "unmanaged": self.unmanaged,
            "ignored": self.ignored,
            "unsupported": self.unsupported,
            "defaults": self.defaults,
            "coverage": self.coverage,
            "score": self.score,
        }


@dataclass(slots=True)
class Source:
    """A state read for the report."""

    state: str
    serial: int | None = None
    lineage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "serial": self.serial, "lineage": self.lineage}


@dataclass(slots=True)
class DriftReport:
    generated_at: str
    duration_s: float
    summary: Summary
    sources: list[Source] = field(default_factory=list)
    resources: list[DriftItem] = field(default_factory=list)
    errors: list[DiscoveryError] = field(default_factory=list)
    partial: bool = False
    version: int = REPORT_VERSION

    @property
    def has_drift(self) -> bool:
        """Anything drifted, missing or unmanaged (exit code 2)."""
        s = self.summary
        return s.drifted + s.missing + s.unmanaged > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "generated_at": self.generated_at,
            "duration_s": self.duration_s,
            "summary": self.summary.to_dict(),
            "sources": [s.to_dict() for s in self.sources],
            "resources": [item_to_dict(i) for i in self.resources],
            "errors": [error_to_dict(e) for e in self.errors],
            "partial": self.partial,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReport:
        """Read back what `to_dict()` wrote (a stored report)."""
        summary = Summary(**{f.name: data["summary"][f.name] for f in fields(Summary)})
        return cls(
            generated_at=data["generated_at"],
            duration_s=data["duration_s"],
            summary=summary,
            sources=[Source(s["state"], s.get("serial"), s.get("lineage")) for s in data.get("sources", [])],
            resources=[item_from_dict(r) for r in data.get("resources", [])],
            errors=[DiscoveryError(**e) for e in data.get("errors", [])],
            partial=bool(data.get("partial", False)),
            version=int(data.get("version", REPORT_VERSION)),
        )


def change_to_dict(c: Change) -> dict[str, Any]:
    return {"path": c.path, "expected": c.expected, "actual": c.actual, "severity": c.severity}


def item_to_dict(i: DriftItem) -> dict[str, Any]:
    return {
        "address": i.address,
        "type": i.type,
        "id": i.id,
        "provider": i.provider,
        "account": i.account,
        "region": i.region,
        "status": i.status,
        "severity": i.severity,
        "source": i.source,
        "changes": [change_to_dict(c) for c in i.changes],
    }


def item_from_dict(d: Mapping[str, Any]) -> DriftItem:
    return DriftItem(
        type=d["type"],
        id=d.get("id"),
        provider=d["provider"],
        status=d["status"],
        address=d.get("address"),
        account=d.get("account"),
        region=d.get("region"),
        severity=d.get("severity"),
        source=d.get("source"),
        changes=[Change(c["path"], c.get("expected"), c.get("actual"), c["severity"]) for c in d["changes"]],
    )


def error_to_dict(e: DiscoveryError) -> dict[str, Any]:
    return {
        "provider": e.provider,
        "service": e.service,
        "region": e.region,
        "kind": e.kind,
        "message": e.message,
        "type": e.type,
    }


def sort_key(item: DriftItem) -> tuple[int, str, str, str]:
    return (_STATUS_RANK.get(item.status, len(STATUS_ORDER)), item.type, item.address or "", item.id or "")


def _as_source(s: Source | StateHeader | Mapping[str, Any] | str) -> Source:
    if isinstance(s, Source):
        return s
    if isinstance(s, StateHeader):
        return Source(s.source, s.serial, s.lineage)
    if isinstance(s, str):
        return Source(s)
    return Source(str(s["state"]), s.get("serial"), s.get("lineage"))


def _timestamp(when: datetime | str | None) -> str:
    if isinstance(when, str):
        return when
    when = when or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summarize(items: Sequence[DriftItem], defaults_count: int = 0) -> Summary:
    counts = dict.fromkeys(DRIFT_STATUSES, 0)
    for item in items:
        if item.status not in counts:
            raise ValueError(f"unknown drift status {item.status!r} for {item.type}.{item.id}")
        counts[item.status] += 1
    return Summary(
        total=len(items),
        in_sync=counts["in_sync"],
        drifted=counts["drifted"],
        missing=counts["missing"],
        unmanaged=counts["unmanaged"],
        ignored=counts["ignored"],
        unsupported=counts["unsupported"],
        defaults=defaults_count,
        coverage=coverage(counts["in_sync"] + counts["drifted"], counts["unmanaged"]),
        score=compliance_score(items),
    )


def build_report(
    items: Iterable[DriftItem],
    sources: Iterable[Source | StateHeader | Mapping[str, Any] | str] = (),
    errors: Iterable[DiscoveryError] = (),
    defaults_count: int = 0,
    duration: float = 0.0,
    *,
    generated_at: datetime | str | None = None,
) -> DriftReport:
    """Assemble a report: items sorted (status, type, address, id), summary computed.

    `total` counts every listed item, ignored and unsupported included; default resources are
    not listed, only counted in `defaults`.
    """
    resources = sorted(items, key=sort_key)
    errs = list(errors)
    return DriftReport(
        generated_at=_timestamp(generated_at),
        duration_s=round(max(duration, 0.0), 3),
        summary=summarize(resources, defaults_count),
        sources=[_as_source(s) for s in sources],
        resources=resources,
        errors=errs,
        partial=bool(errs),
    )
