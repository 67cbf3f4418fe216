"""History and trends over scripted scans with fixed times: series, drift lifecycles, MTTD/MTTR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from driftmgr.errors import UsageError
from driftmgr.platform.db.engine import Database
from driftmgr.services.history import HistoryService, parse_since

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
PROD = "s3://b/prod.tfstate"
DEV = "s3://b/dev.tfstate"
H = 3600.0


def report(
    at: datetime,
    items: dict[str, str],
    *,
    score: int = 100,
    coverage: float = 1.0,
    partial: bool = False,
) -> dict[str, Any]:
    """A drift report at `at` whose resources out of sync are {vpc id: status}."""
    counts = {s: sum(1 for v in items.values() if v == s) for s in ("drifted", "missing", "unmanaged")}
    resources = [
        {
            "address": None if status == "unmanaged" else f"aws_vpc.{rid.replace('-', '_')}",
            "type": "aws_vpc",
            "id": rid,
            "provider": "aws",
            "account": "123456789012",
            "region": "us-east-1",
            "status": status,
            "severity": "high" if status == "missing" else "medium",
            "source": PROD,
            "changes": [],
        }
        for rid, status in sorted(items.items())
    ]
    resources.append(
        {
            "address": "aws_vpc.ok",
            "type": "aws_vpc",
            "id": "vpc-ok",
            "provider": "aws",
            "account": "123456789012",
            "region": "us-east-1",
            "status": "in_sync",
            "severity": None,
            "source": PROD,
            "changes": [],
        }
    )
    return {
        "version": 1,
        "generated_at": at.isoformat(),
        "duration_s": 1.0,
        "summary": {
            "total": len(resources),
            "in_sync": 1,
            **counts,
            "ignored": 0,
            "unsupported": 0,
            "defaults": 0,
            "coverage": coverage,
            "score": score,
        },
        "sources": [{"state": PROD, "serial": 1, "lineage": "l"}],
        "resources": resources,
        "errors": [
            {
                "provider": "aws",
                "service": "ec2",
                "region": "eu-west-1",
                "kind": "throttled",
                "message": "x",
                "type": None,
            }
        ]
        if partial
        else [],
        "partial": partial,
    }


# The scripted sequence of one source (times from T0):
#  S1  0h  completed  vpc-1 drifted                  A opens (first scan: no time to detect)
#  S2  1h  completed  vpc-1 drifted, vpc-2 missing  B opens, detected 1h after S1
#  S3  2h  partial    vpc-3 unmanaged                C opens, 1h after S2; a partial scan resolves nothing
#  S4  4h  completed  vpc-2 drifted                  A resolved (4h), C resolved (2h); B goes on as drifted
#  S5 24h  completed  (nothing)                      B resolved (23h)
#  S6 27h  completed  vpc-1 drifted                  D opens (A again), detected 3h after S5
SCRIPT: list[tuple[float, dict[str, str], int, float, bool]] = [
    (0, {"vpc-1": "drifted"}, 90, 1.0, False),
    (1, {"vpc-1": "drifted", "vpc-2": "missing"}, 80, 1.0, False),
    (2, {"vpc-3": "unmanaged"}, 85, 0.5, True),
    (4, {"vpc-2": "drifted"}, 90, 1.0, False),
    (24, {}, 100, 1.0, False),
    (27, {"vpc-1": "drifted"}, 95, 1.0, False),
]


@pytest.fixture
def scripted(database: Database) -> tuple[HistoryService, list[str]]:
    svc = HistoryService(database)
    ids = [
        svc.record(
            report(T0 + timedelta(hours=h), items, score=score, coverage=cov, partial=partial), sources=[PROD]
        )
        for h, items, score, cov, partial in SCRIPT
    ]
    # other sources must not leak into PROD's lifecycle: vpc-2 stays drifted in DEV throughout
    for h in (0.5, 4.5, 26):
        svc.record(report(T0 + timedelta(hours=h), {"vpc-2": "drifted"}), sources=[DEV])
    svc.record(report(T0 + timedelta(hours=5), {"vpc-9": "missing"}), sources=[DEV, PROD])
    return svc, ids


def test_history_lists_scans_newest_first_with_their_summary(
    scripted: tuple[HistoryService, list[str]],
) -> None:
    svc, ids = scripted
    scans = svc.scans(source=PROD, limit=None)
    # PROD alone (6 scans) and the DEV+PROD scan, which was given PROD too
    assert [s.finished_at for s in scans] == sorted((s.finished_at for s in scans), reverse=True)
    prod_only = [s for s in scans if s.sources == [PROD]]
    assert [s.id for s in prod_only] == list(reversed(ids))
    assert len(scans) == 7
    s3 = next(s for s in scans if s.id == ids[2])
    assert (s3.status, s3.unmanaged, s3.drifted, s3.score, s3.coverage) == ("partial", 1, 0, 85, 0.5)
    assert s3.to_dict()["finished_at"] == "2026-12-01T02:00:00+00:00"


def test_history_filters_by_time_and_limit(scripted: tuple[HistoryService, list[str]]) -> None:
    svc, ids = scripted
    window = svc.scans(source=PROD, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=4), limit=None)
    assert [s.id for s in window] == [ids[3], ids[2], ids[1]]
    assert [s.id for s in svc.scans(source=PROD, limit=2)] == [ids[5], ids[4]]
    assert len(svc.scans(limit=None)) == 10  # every source
    assert svc.scans(source="s3://b/absent.tfstate") == []
    with pytest.raises(UsageError):
        svc.scans(limit=0)
    with pytest.raises(UsageError):
        svc.scans(since=T0 + timedelta(hours=2), until=T0)


def test_source_filter_is_exact_not_a_like_pattern(database: Database) -> None:
    svc = HistoryService(database)
    svc.record(report(T0, {}), sources=["s3://b/prxd.tfstate"])
    svc.record(report(T0, {}), sources=["s3://b/prod.tfstate.bak"])
    assert svc.scans(source="s3://b/pr_d.tfstate") == []
    assert svc.scans(source="s3://b/pr%") == []
    assert svc.scans(source=PROD) == []
    assert len(svc.scans(source="s3://b/prxd.tfstate")) == 1


def test_local_paths_are_one_source_from_any_directory(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    svc = HistoryService(database)
    svc.record(report(T0, {}), sources=["prod.tfstate"])
    monkeypatch.chdir(tmp_path / "sub")
    svc.record(report(T0 + timedelta(hours=1), {}), sources=["../prod.tfstate"])
    scans = svc.scans(source=str(tmp_path / "prod.tfstate"), limit=None)
    assert [s.sources for s in scans] == [[str(tmp_path / "prod.tfstate")]] * 2
    assert len({s.source_key for s in scans}) == 1
    assert len(svc.scans(source="../prod.tfstate", limit=None)) == 2  # relative to the current directory


def test_trend_series_per_scan_are_the_stored_summaries(scripted: tuple[HistoryService, list[str]]) -> None:
    svc, ids = scripted
    trends = {t.source_key: t for t in svc.trends(source=PROD)}
    assert set(trends) == {PROD, f"{DEV} {PROD}"}
    prod = trends[PROD]
    assert [(p.at - T0) / timedelta(hours=1) for p in prod.points] == [0, 1, 2, 4, 24, 27]
    assert [(p.drifted, p.missing, p.unmanaged) for p in prod.points] == [
        (1, 0, 0),
        (1, 1, 0),
        (0, 0, 1),
        (1, 0, 0),
        (0, 0, 0),
        (1, 0, 0),
    ]
    assert [p.score for p in prod.points] == [90, 80, 85, 90, 100, 95]
    assert [p.coverage for p in prod.points] == [1.0, 1.0, 0.5, 1.0, 1.0, 1.0]
    assert [p.scan_id for p in prod.points] == ids


def test_trend_series_by_day_keep_the_last_scan_of_each_day(
    scripted: tuple[HistoryService, list[str]],
) -> None:
    svc, ids = scripted
    (prod,) = [t for t in svc.trends(source=PROD, bucket="day") if t.source_key == PROD]
    assert [(p.at, p.scans, p.scan_id, p.score) for p in prod.points] == [
        (T0, 4, ids[3], 90),
        (T0 + timedelta(days=1), 2, ids[5], 95),
    ]


def test_drift_lifecycle_first_seen_resolved_and_times(scripted: tuple[HistoryService, list[str]]) -> None:
    svc, ids = scripted
    eps = svc.episodes(PROD)
    got = [
        (
            e.resource_id,
            e.first_seen_at - T0,
            None if e.resolved_at is None else e.resolved_at - T0,
            e.ttd_s,
            e.ttr_s,
            e.status,
        )
        for e in eps
    ]
    h = timedelta(hours=1)
    assert got == [
        ("vpc-1", 0 * h, 4 * h, None, 4 * H, "drifted"),  # A: found by the first scan, no time to detect
        ("vpc-2", 1 * h, 24 * h, 1 * H, 23 * H, "drifted"),  # B: was missing, then drifted
        ("vpc-3", 2 * h, 4 * h, 1 * H, 2 * H, "unmanaged"),  # C: the partial S3 found it; S4 resolved it
        ("vpc-1", 27 * h, None, 3 * H, None, "drifted"),  # D: the same resource drifting again
    ]
    assert eps[1].first_scan_id == ids[1] and eps[1].resolved_scan_id == ids[4]
    assert eps[3].open and not eps[0].open


def test_trends_give_mttd_mttr_and_open_resolved_counts(scripted: tuple[HistoryService, list[str]]) -> None:
    svc, _ = scripted
    (prod,) = [t for t in svc.trends(source=PROD) if t.source_key == PROD]
    assert (prod.detected, prod.resolved, prod.open) == (4, 3, 1)
    assert prod.mttd_s == pytest.approx((1 * H + 1 * H + 3 * H) / 3)
    assert prod.mttr_s == pytest.approx((4 * H + 23 * H + 2 * H) / 3)
    (combined,) = [t for t in svc.trends(source=DEV) if t.source_key == f"{DEV} {PROD}"]
    assert (combined.detected, combined.open, combined.mttd_s, combined.mttr_s) == (1, 1, None, None)


def test_trends_in_a_window_count_what_happened_inside_it(scripted: tuple[HistoryService, list[str]]) -> None:
    svc, _ = scripted
    (late,) = [t for t in svc.trends(source=PROD, since=T0 + timedelta(hours=3)) if t.source_key == PROD]
    assert len(late.points) == 3
    assert (late.detected, late.resolved, late.open) == (1, 3, 1)
    assert late.mttd_s == 3 * H  # only D was detected in the window
    assert late.mttr_s == pytest.approx((4 * H + 23 * H + 2 * H) / 3)  # A, B, C were resolved in it
    (early,) = [
        t for t in svc.trends(source=PROD, until=T0 + timedelta(hours=2, minutes=30)) if t.source_key == PROD
    ]
    assert (early.detected, early.resolved, early.open, early.mttr_s) == (3, 0, 3, None)
    assert [e.resource_id for e in early.episodes] == ["vpc-1", "vpc-2", "vpc-3"]


def test_trends_read_neither_reports_nor_other_sources(scripted: tuple[HistoryService, list[str]]) -> None:
    svc, _ = scripted
    statements: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        statements.append(statement)

    event.listen(svc.db.engine, "before_cursor_execute", log)
    try:
        svc.trends(source=PROD, bucket="day")
        svc.scans(source=PROD)
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", log)
    assert statements
    assert not [s for s in statements if "scans.report" in s]


def test_parse_since_accepts_dates_times_and_spans() -> None:
    now = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now=now) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_since("12h", now=now) == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    assert parse_since("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_since("2026-12-01T10:00:00+02:00") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(UsageError, match="not a date"):
        parse_since("last tuesday")
