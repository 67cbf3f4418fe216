"""Coverage and compliance score: exact values of the documented formulas."""

from __future__ import annotations

from driftmgr.engine.score import compliance_score, coverage, score_from_counts
from driftmgr.models import DriftItem


def items(*spec: tuple[str, str | None]) -> list[DriftItem]:
    return [
        DriftItem("aws_vpc", f"v{i}", "aws", status, severity=sev) for i, (status, sev) in enumerate(spec)
    ]


def test_coverage_is_managed_over_managed_plus_unmanaged() -> None:
    assert coverage(93, 7) == 0.93
    assert coverage(2, 1) == 0.6667
    assert coverage(0, 5) == 0.0


def test_coverage_is_one_when_nothing_is_live() -> None:
    assert coverage(0, 0) == 1.0


def test_score_is_100_without_drift() -> None:
    assert compliance_score(items(("in_sync", None), ("in_sync", None))) == 100
    assert compliance_score([]) == 100


def test_score_weighs_drift_by_severity() -> None:
    # 10 assessed; bad = 0.25 + 0.5 + 0.75 + 1.0 = 2.5 → 100 × (1 − 2.5/10) = 75
    spec = [("in_sync", None)] * 6 + [
        ("drifted", "low"),
        ("missing", "medium"),
        ("unmanaged", "high"),
        ("drifted", "critical"),
    ]
    assert compliance_score(items(*spec)) == 75


def test_score_floors_so_any_drift_stays_below_100() -> None:
    spec = [("in_sync", None)] * 999 + [("drifted", "low")]
    assert compliance_score(items(*spec)) == 99  # 99.975 floored


def test_score_ignores_ignored_unsupported_and_counts_no_severity_as_medium() -> None:
    spec = [("in_sync", None), ("unmanaged", None), ("ignored", None), ("unsupported", None)]
    # assessed 2, bad 0.5 → 75
    assert compliance_score(items(*spec)) == 75


def test_score_of_all_critical_is_zero() -> None:
    assert compliance_score(items(("missing", "critical"), ("unmanaged", "critical"))) == 0


def test_score_is_computed_in_integers() -> None:
    assert score_from_counts(3, 1) == 91  # 100 × (1 − 0.25/3) = 91.67
    assert score_from_counts(0, 0) == 100
    assert score_from_counts(1, 9) == 0  # never negative
