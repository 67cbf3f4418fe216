"""Helpers shared by the renderers: labels, value formatting, grouping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from driftmgr.engine.report import STATUS_ORDER, DriftReport
from driftmgr.models import Change, DriftItem

STATUS_TITLES = {
    "drifted": "Drifted",
    "missing": "Missing",
    "unmanaged": "Unmanaged",
    "unsupported": "Unsupported",
    "ignored": "Ignored",
    "in_sync": "In sync",
}
STATUS_HELP = {
    "drifted": "in state and live, with attribute differences",
    "missing": "in state, gone from the cloud",
    "unmanaged": "live, in no state given",
    "unsupported": "type not read by the provider yet",
    "ignored": "matched an ignore rule",
    "in_sync": "no meaningful difference",
}
ARROW = "→"


def dumps(value: Any) -> bytes:
    """JSON of a report value: sorted keys, unknown objects as text, never an exception."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS)


def format_value(value: Any, limit: int | None = 120) -> str:
    """A value as compact JSON (`"t3.micro"`, `null`, `["a","b"]`), cut to `limit` characters."""
    text = dumps(value).decode()
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def format_change(change: Change, limit: int | None = 120) -> str:
    """`path: expected → actual`."""
    return (
        f"{change.path}: {format_value(change.expected, limit)} {ARROW} {format_value(change.actual, limit)}"
    )


def label(item: DriftItem) -> str:
    """The address for a resource of a state, `type.id` for an unmanaged one."""
    return item.address or f"{item.type}.{item.id}"


def location(item: DriftItem) -> str:
    """`provider account/region`, the parts known."""
    where = "/".join(p for p in (item.account, item.region) if p)
    return f"{item.provider} {where}".strip()


def grouped(report: DriftReport, statuses: Iterable[str] = STATUS_ORDER) -> list[tuple[str, list[DriftItem]]]:
    """The report's items by status, in `statuses` order, empty groups left out."""
    wanted = list(statuses)
    groups: dict[str, list[DriftItem]] = {s: [] for s in wanted}
    for item in report.resources:
        if item.status in groups:
            groups[item.status].append(item)
    return [(s, groups[s]) for s in wanted if groups[s]]


def headline(report: DriftReport) -> str:
    s = report.summary
    verdict = "Drift found" if report.has_drift else "No drift"
    partial = " (partial: some discovery failed)" if report.partial else ""
    return (
        f"{verdict}{partial}: {s.drifted} drifted, {s.missing} missing, {s.unmanaged} unmanaged, "
        f"{s.in_sync} in sync, {s.ignored} ignored, {s.unsupported} unsupported, {s.defaults} defaults; "
        f"coverage {s.coverage * 100:.1f}%, score {s.score}/100"
    )
