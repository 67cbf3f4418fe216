"""History and trends of drift scans (issue 4 §6): every scan stored, queried per source over time.

Identity over time:
- a *source* is the set of state SRCs a scan was given (`Scan.source_key`: sorted, de-duplicated;
  local paths made absolute so a scan from another directory or a worker is the same source);
- a *resource* is `provider/account/region/type/id` (`ScanItem.key`).

Lifecycle of a drift (per source, over its scans ordered by finish time): a resource's drift
*appears* at the first scan listing it drifted, missing or unmanaged while no episode of it is open;
it is *resolved* at the first later **completed** scan of the same source that does not list it
(a partial scan — some region or service failed — never resolves anything: the resource may just
not have been read). It may appear again later: that is a new episode.

- time to detect (TTD) of an episode = first detection − the finish time of the last completed scan
  of the source before it (that scan saw the resource in sync, or did not see it at all). The drift
  happened somewhere in that window, so TTD is an upper bound on how long it went unnoticed. An
  episode found by the first scan of a source has no such scan: it has no TTD and is not averaged.
- time to resolve (TTR) = resolution − first detection.
MTTD and MTTR are the means over the episodes detected (MTTD) or resolved (MTTR) in the window.

Queries read the summary columns and item rows only, never the stored report JSON.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from driftmgr.config import Settings
from driftmgr.engine.report import DriftReport
from driftmgr.errors import BackendError, DriftMgrError, UsageError
from driftmgr.platform.db.engine import Database, database_url, open_database
from driftmgr.platform.db.models import Scan, ScanItem, utcnow
from driftmgr.platform.db.scans import save_scan
from driftmgr.platform.events.base import EventBus
from driftmgr.providers.base import ProgressFn
from driftmgr.services.drift import DetectOptions, DriftService
from driftmgr.services.drift_events import publish_results, publish_started
from driftmgr.state.backends.base import scheme_of

DRIFT_STATUSES = ("drifted", "missing", "unmanaged")
Bucket = Literal["scan", "day"]

_SUMMARY_COLUMNS = (
    Scan.id,
    Scan.job_id,
    Scan.source_key,
    Scan.sources,
    Scan.provider,
    Scan.regions,
    Scan.status,
    Scan.started_at,
    Scan.finished_at,
    Scan.duration_s,
    Scan.total,
    Scan.in_sync,
    Scan.drifted,
    Scan.missing,
    Scan.unmanaged,
    Scan.ignored,
    Scan.unsupported,
    Scan.defaults,
    Scan.coverage,
    Scan.score,
)


def canonical_source(src: str) -> str:
    """A SRC as stored: URLs unchanged, local paths (and globs) absolute."""
    if "\x00" in src:
        raise UsageError("a state source cannot contain a NUL character")
    if scheme_of(src) != "file":
        return src
    return os.path.abspath(os.path.expanduser(src))  # lexical: `sub/../x` is `x`, links kept


def canonical_sources(srcs: Iterable[str]) -> list[str]:
    return [canonical_source(s) for s in srcs]


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class ScanSummary:
    id: str
    job_id: str | None
    source_key: str
    sources: list[str]
    provider: str
    regions: list[str]
    status: str
    started_at: datetime
    finished_at: datetime
    duration_s: float
    total: int
    in_sync: int
    drifted: int
    missing: int
    unmanaged: int
    ignored: int
    unsupported: int
    defaults: int
    coverage: float
    score: int

    @classmethod
    def from_row(cls, row: Row[Any]) -> ScanSummary:
        m = row._mapping
        return cls(**{c.key: m[c.key] for c in _SUMMARY_COLUMNS})

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["started_at"] = _iso(self.started_at)
        d["finished_at"] = _iso(self.finished_at)
        return d


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One scan (bucket "scan") or the last scan of one UTC day (bucket "day")."""

    at: datetime
    scan_id: str
    scans: int
    status: str
    drifted: int
    missing: int
    unmanaged: int
    score: int
    coverage: float

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["at"] = _iso(self.at)
        return d


@dataclass(slots=True)
class DriftEpisode:
    """One resource out of sync in one source, from its first detection to its resolution."""

    key: str
    type: str
    resource_id: str
    address: str | None
    status: str  # as last seen
    severity: str | None  # as last seen
    first_seen_at: datetime
    first_scan_id: str
    last_seen_at: datetime
    last_clean_at: datetime | None = None  # the last completed scan before first detection
    resolved_at: datetime | None = None
    resolved_scan_id: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def ttd_s(self) -> float | None:
        if self.last_clean_at is None:
            return None
        return (self.first_seen_at - self.last_clean_at).total_seconds()

    @property
    def ttr_s(self) -> float | None:
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.first_seen_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": self.type,
            "id": self.resource_id,
            "address": self.address,
            "status": self.status,
            "severity": self.severity,
            "first_seen_at": _iso(self.first_seen_at),
            "first_scan_id": self.first_scan_id,
            "last_seen_at": _iso(self.last_seen_at),
            "resolved_at": _iso(self.resolved_at),
            "resolved_scan_id": self.resolved_scan_id,
            "time_to_detect_s": self.ttd_s,
            "time_to_resolve_s": self.ttr_s,
        }


@dataclass(slots=True)
class SourceTrend:
    source_key: str
    sources: list[str]
    points: list[TrendPoint] = field(default_factory=list)
    episodes: list[DriftEpisode] = field(default_factory=list)  # open at the end or active in the window
    detected: int = 0  # episodes first seen in the window
    resolved: int = 0  # episodes resolved in the window
    open: int = 0  # episodes still open at the end of the window
    mttd_s: float | None = None
    mttr_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_key": self.source_key,
            "sources": list(self.sources),
            "points": [p.to_dict() for p in self.points],
            "detected": self.detected,
            "resolved": self.resolved,
            "open": self.open,
            "mttd_s": self.mttd_s,
            "mttr_s": self.mttr_s,
            "episodes": [e.to_dict() for e in self.episodes],
        }


class HistoryService:
    """Queries over stored scans; `record` stores one."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- writing ---

    def record(
        self,
        report: DriftReport | dict[str, Any],
        *,
        sources: list[str],
        provider: str = "aws",
        regions: list[str] | None = None,
        job_id: str | None = None,
    ) -> str:
        """Store a scan (idempotent per job id); returns its id. A database failure is a BackendError."""
        doc = report.to_dict() if isinstance(report, DriftReport) else report
        try:
            return save_scan(
                self.db,
                doc,
                sources=canonical_sources(sources),
                job_id=job_id,
                provider=provider,
                regions=regions,
            )
        except (SQLAlchemyError, OSError) as exc:
            raise BackendError(
                f"storing the scan failed: {_reason(exc)}", source=self.db.redacted_url
            ) from None

    # --- reading ---

    def source_keys(self, source: str | None = None) -> list[str]:
        """The source keys of stored scans; with `source`, those whose scans were given that SRC."""
        q = select(Scan.source_key).distinct()
        if source is None:
            with self.db.session() as s:
                return sorted(s.scalars(q))
        wanted = canonical_source(source)
        keys: list[str] = []
        with self.db.session() as s:
            # a cheap indexed prefilter, then the exact check on one scan's source list per key
            for key in sorted(s.scalars(q.where(Scan.source_key.contains(wanted, autoescape=True)))):
                srcs = s.scalar(select(Scan.sources).where(Scan.source_key == key).limit(1)) or []
                if key == wanted or wanted in srcs:
                    keys.append(key)
        return keys

    def scans(
        self,
        *,
        source: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 50,
    ) -> list[ScanSummary]:
        """Stored scans, newest first."""
        if limit is not None and limit < 1:
            raise UsageError("the limit must be at least 1")
        _check_window(since, until)
        q = select(*_SUMMARY_COLUMNS)
        if source is not None:
            keys = self.source_keys(source)
            if not keys:
                return []
            q = q.where(Scan.source_key.in_(keys))
        if since is not None:
            q = q.where(Scan.finished_at >= since)
        if until is not None:
            q = q.where(Scan.finished_at <= until)
        q = q.order_by(Scan.finished_at.desc(), Scan.id.desc())
        if limit is not None:
            q = q.limit(limit)
        with self.db.session() as s:
            return [ScanSummary.from_row(r) for r in s.execute(q)]

    def episodes(self, key: str, *, until: datetime | None = None) -> list[DriftEpisode]:
        """Every drift episode of one source (by its source key) up to `until`, in order of detection."""
        with self.db.session() as s:
            q = select(Scan.id, Scan.finished_at, Scan.status).where(Scan.source_key == key)
            if until is not None:
                q = q.where(Scan.finished_at <= until)
            scans = [(r[0], r[1], r[2]) for r in s.execute(q.order_by(Scan.finished_at, Scan.id))]
            iq = (
                select(
                    ScanItem.scan_id,
                    ScanItem.key,
                    ScanItem.status,
                    ScanItem.severity,
                    ScanItem.type,
                    ScanItem.resource_id,
                    ScanItem.address,
                )
                .join(Scan, Scan.id == ScanItem.scan_id)
                .where(Scan.source_key == key, ScanItem.status.in_(DRIFT_STATUSES))
            )
            if until is not None:
                iq = iq.where(Scan.finished_at <= until)
            by_scan: dict[str, list[Any]] = defaultdict(list)
            for item in s.execute(iq):
                by_scan[item.scan_id].append(item)
        return _episodes(scans, by_scan)

    def trends(
        self,
        *,
        source: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: Bucket = "scan",
    ) -> list[SourceTrend]:
        """Per source: the series of drifted/missing/unmanaged/score/coverage, the drift episodes
        and MTTD/MTTR, over the window [since, until]."""
        _check_window(since, until)
        if bucket not in ("scan", "day"):
            raise UsageError(f"unknown bucket {bucket!r} (scan or day)")
        keys = self.source_keys(source)
        out: list[SourceTrend] = []
        for key in keys:
            q = select(*_SUMMARY_COLUMNS).where(Scan.source_key == key)
            if since is not None:
                q = q.where(Scan.finished_at >= since)
            if until is not None:
                q = q.where(Scan.finished_at <= until)
            with self.db.session() as s:
                rows = [ScanSummary.from_row(r) for r in s.execute(q.order_by(Scan.finished_at, Scan.id))]
            if not rows:
                continue
            trend = SourceTrend(source_key=key, sources=list(rows[-1].sources))
            trend.points = _points(rows, bucket)
            _summarize(trend, self.episodes(key, until=until), since, until)
            out.append(trend)
        return out


def _check_window(since: datetime | None, until: datetime | None) -> None:
    for t in (since, until):
        if t is not None and t.tzinfo is None:
            raise UsageError("times must carry a timezone (UTC is assumed by the CLI)")
        if t is not None:
            try:
                t.astimezone(UTC)
            except OverflowError:
                raise UsageError(f"time out of range: {t.isoformat()}") from None
    if since is not None and until is not None and since > until:
        raise UsageError("--since is after --until")


def _episodes(scans: list[tuple[str, datetime, str]], by_scan: dict[str, list[Any]]) -> list[DriftEpisode]:
    open_: dict[str, DriftEpisode] = {}
    done: list[DriftEpisode] = []
    last_completed: datetime | None = None
    for scan_id, finished_at, status in scans:
        present: set[str] = set()
        for item in by_scan.get(scan_id, ()):
            present.add(item.key)
            ep = open_.get(item.key)
            if ep is None:
                open_[item.key] = DriftEpisode(
                    key=item.key,
                    type=item.type,
                    resource_id=item.resource_id,
                    address=item.address,
                    status=item.status,
                    severity=item.severity,
                    first_seen_at=finished_at,
                    first_scan_id=scan_id,
                    last_seen_at=finished_at,
                    last_clean_at=last_completed,
                )
            else:
                ep.status, ep.severity, ep.last_seen_at = item.status, item.severity, finished_at
                ep.address = item.address or ep.address
        if status == "completed":
            for k in [k for k in open_ if k not in present]:
                ep = open_.pop(k)
                ep.resolved_at, ep.resolved_scan_id = finished_at, scan_id
                done.append(ep)
            last_completed = finished_at
    episodes = done + list(open_.values())
    episodes.sort(key=lambda e: (e.first_seen_at, e.key))
    return episodes


def _points(rows: list[ScanSummary], bucket: Bucket) -> list[TrendPoint]:
    def point(r: ScanSummary, at: datetime, n: int) -> TrendPoint:
        return TrendPoint(at, r.id, n, r.status, r.drifted, r.missing, r.unmanaged, r.score, r.coverage)

    if bucket == "scan":
        return [point(r, r.finished_at, 1) for r in rows]
    days: dict[datetime, list[ScanSummary]] = {}
    for r in rows:
        day = r.finished_at.replace(hour=0, minute=0, second=0, microsecond=0)
        days.setdefault(day, []).append(r)
    return [point(rs[-1], day, len(rs)) for day, rs in days.items()]  # the day's last scan


def _summarize(
    trend: SourceTrend, episodes: list[DriftEpisode], since: datetime | None, until: datetime | None
) -> None:
    def inside(t: datetime | None) -> bool:
        return t is not None and (since is None or t >= since) and (until is None or t <= until)

    detected = [e for e in episodes if inside(e.first_seen_at)]
    resolved = [e for e in episodes if inside(e.resolved_at)]
    trend.episodes = [e for e in episodes if e.open or inside(e.first_seen_at) or inside(e.resolved_at)]
    trend.detected, trend.resolved = len(detected), len(resolved)
    trend.open = sum(1 for e in episodes if e.open)
    trend.mttd_s = _mean([t for e in detected if (t := e.ttd_s) is not None])
    trend.mttr_s = _mean([t for e in resolved if (t := e.ttr_s) is not None])


# --- opening the history and storing detections ---------------------------------------------------


def open_history(settings: Settings) -> Database:
    """The database of these settings, migrated; any failure is one BackendError line."""
    try:
        return open_database(settings)
    except DriftMgrError:
        raise
    except (SQLAlchemyError, OSError, ImportError) as exc:  # ImportError: a driver we do not ship
        url = make_url(database_url(settings)).render_as_string(hide_password=True)
        raise BackendError(f"cannot open the history database: {_reason(exc)}", source=url) from None


class ScanNotStored(BackendError):
    """The drift report was produced (and delivered), but storing its scan failed."""

    code = "not_stored"


@dataclass(frozen=True, slots=True)
class StoredDetection:
    report: DriftReport
    scan_id: str | None


def detect_and_store(
    sources: list[str],
    options: DetectOptions,
    db: Database | None,
    *,
    drift: DriftService | None = None,
    progress: ProgressFn | None = None,
    deliver: Callable[[DriftReport], None] | None = None,
    job_id: str | None = None,
    events: EventBus | None = None,
) -> StoredDetection:
    """Detect drift, deliver the report (render it, write it), then store the scan when `db` is given.

    The report is delivered before it is stored, so a database that fails at the end of a long scan
    does not cost the user the report: storing then raises `ScanNotStored` (one line saying the
    report was written but not stored), which the CLI turns into exit code 1. With a job id the scan
    is stored once however often the job runs (see `save_scan`).
    """
    if events is not None:
        canonical = canonical_sources(sources)
        publish_started(events, canonical, provider=options.provider, regions=options.regions, job_id=job_id)
    report = (drift or DriftService()).detect(sources, options, progress)
    if deliver is not None:
        deliver(report)
    scan_id = store_detection(report, sources, options, db, events=events, job_id=job_id)
    return StoredDetection(report, scan_id)


def store_detection(
    report: DriftReport,
    sources: list[str],
    options: DetectOptions,
    db: Database | None,
    *,
    events: EventBus | None = None,
    job_id: str | None = None,
) -> str | None:
    """Store a delivered report's scan (when `db` is given) and publish its result events; the scan id.

    Storing fails as `ScanNotStored`: the report was written, the history does not have it."""
    scan_id: str | None = None
    if db is not None:
        try:
            scan_id = HistoryService(db).record(
                report, sources=sources, provider=options.provider, regions=options.regions, job_id=job_id
            )
        except BackendError as exc:
            raise ScanNotStored(
                f"the report was produced, but it was not stored in the history ({exc}); "
                "use --no-store to skip storing"
            ) from None
    if events is not None:
        canonical = canonical_sources(sources)
        publish_results(
            events, report, sources=canonical, scan_id=scan_id, job_id=job_id, canonical=canonical_source
        )
    return scan_id


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`2026-12-01`, `2026-12-01T10:00`, an ISO time with zone, or a span back from now (`7d`, `12h`,
    `30m`, `2w`). Times without a zone are UTC."""
    t = text.strip()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if len(t) > 1 and t[-1] in units and t[:-1].isdigit():
        return (now or utcnow()) - timedelta(**{units[t[-1]]: int(t[:-1])})
    try:
        value = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"not a date or time: {text!r} (use 2026-12-01, 2026-12-01T10:00 or a span such as 7d or 12h)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip() or type(exc).__name__
    return text.splitlines()[0]
