"""Rendering of `driftmgr drift history` and `driftmgr drift trends` (the commands live in cli/drift.py)."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from driftmgr.services.history import ScanSummary, SourceTrend


def duration(seconds: float | None) -> str:
    """`45s`, `12m 5s`, `3h 20m`, `2d 4h`; `-` when unknown."""
    if seconds is None:
        return "-"
    s = round(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t is not None else "-"


def _print(*renderables: object) -> str:
    buf = StringIO()
    console = Console(file=buf, width=200, highlight=False)
    for r in renderables:
        console.print(r)
    return buf.getvalue()


def history_table(scans: list[ScanSummary]) -> str:
    if not scans:
        return "no scans stored (driftmgr drift detect stores every scan)\n"
    table = Table()
    for col in (
        "FINISHED (UTC)",
        "STATUS",
        "DRIFTED",
        "MISSING",
        "UNMANAGED",
        "SCORE",
        "COVERAGE",
        "SCAN",
        "SOURCES",
    ):
        table.add_column(col, overflow="fold")
    for s in scans:
        table.add_row(
            _when(s.finished_at),
            s.status,
            str(s.drifted),
            str(s.missing),
            str(s.unmanaged),
            str(s.score),
            f"{s.coverage:.0%}",
            s.id,
            " ".join(s.sources),
        )
    return _print(table) + f"{len(scans)} scan(s)\n"


def trends_text(trends: list[SourceTrend]) -> str:
    if not trends:
        return "no scans in this window\n"
    out: list[str] = []
    for t in trends:
        series = Table(title=f"source: {' '.join(t.sources)}", title_justify="left")
        for col in ("AT (UTC)", "SCANS", "DRIFTED", "MISSING", "UNMANAGED", "SCORE", "COVERAGE"):
            series.add_column(col)
        for p in t.points:
            series.add_row(
                _when(p.at),
                str(p.scans),
                str(p.drifted),
                str(p.missing),
                str(p.unmanaged),
                str(p.score),
                f"{p.coverage:.0%}",
            )
        summary = (
            f"drifts detected {t.detected}, resolved {t.resolved}, open {t.open}; "
            f"mean time to detect {duration(t.mttd_s)}, mean time to resolve {duration(t.mttr_s)}"
        )
        drifts = Table(title="drifts", title_justify="left")
        for col in ("STATUS", "TYPE", "ID", "FIRST SEEN", "RESOLVED", "TO DETECT", "TO RESOLVE"):
            drifts.add_column(col, overflow="fold")
        for e in t.episodes:
            drifts.add_row(
                e.status if e.open else "resolved",
                e.type,
                e.resource_id,
                _when(e.first_seen_at),
                _when(e.resolved_at),
                duration(e.ttd_s),
                duration(e.ttr_s),
            )
        out.append(_print(series, summary, *([drifts] if t.episodes else [])))
    return "\n".join(out)
