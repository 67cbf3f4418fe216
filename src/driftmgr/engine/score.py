"""Coverage and compliance score of a drift report (formulas in docs/policy.md).

coverage = managed / (managed + unmanaged), managed = in_sync + drifted (resources of a state
           found live); 1.0 when both are 0. Rounded to 4 decimals.
score    = floor(100 × (1 − bad / assessed)), where assessed counts in_sync, drifted, missing
           and unmanaged items, and bad sums a weight per drifted/missing/unmanaged item by its
           severity: low 0.25, medium 0.5, high 0.75, critical 1.0 (no severity: medium).
           100 when nothing is assessed. Computed in integers, so it is exact and any drift at
           all keeps the score below 100.
Ignored, unsupported and default resources count in neither.
"""

from __future__ import annotations

from collections.abc import Iterable

from driftmgr.models import DriftItem

# Weights in quarters, so the arithmetic stays in integers.
SEVERITY_WEIGHTS_Q = {"low": 1, "medium": 2, "high": 3, "critical": 4}
SEVERITY_WEIGHTS = {k: v / 4 for k, v in SEVERITY_WEIGHTS_Q.items()}
BAD_STATUSES = frozenset({"drifted", "missing", "unmanaged"})
ASSESSED_STATUSES = BAD_STATUSES | {"in_sync"}


def coverage(managed: int, unmanaged: int) -> float:
    """Share of live resources that a state manages; 1.0 when there are none."""
    total = managed + unmanaged
    if total <= 0:
        return 1.0
    return round(managed / total, 4)


def compliance_score(items: Iterable[DriftItem]) -> int:
    """0–100: 100 with no drift, lower the more and the worse the drift (see module doc)."""
    assessed = 0
    bad_q = 0
    for item in items:
        if item.status not in ASSESSED_STATUSES:
            continue
        assessed += 1
        if item.status in BAD_STATUSES:
            bad_q += SEVERITY_WEIGHTS_Q.get(item.severity or "medium", 2)
    return score_from_counts(assessed, bad_q)


def score_from_counts(assessed: int, bad_quarters: int) -> int:
    """floor(100 × (1 − bad/assessed)) with `bad` given in quarters; 100 when assessed is 0."""
    if assessed <= 0:
        return 100
    denominator = 4 * assessed
    good = max(denominator - bad_quarters, 0)
    return (100 * good) // denominator
