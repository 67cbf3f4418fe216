"""Terminal table: one Rich table per status, each change as `path: expected → actual`."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from driftmgr.engine.render.common import STATUS_TITLES, format_change, grouped, headline, label, location
from driftmgr.engine.report import DriftReport

SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
STATUS_STYLES = {
    "drifted": "yellow",
    "missing": "red",
    "unmanaged": "magenta",
    "unsupported": "blue",
    "ignored": "dim",
    "in_sync": "green",
}


def render_table(
    report: DriftReport,
    *,
    color: bool = False,
    width: int = 120,
    show_in_sync: bool = False,
    max_rows: int | None = None,
) -> str:
    """The report as text for a terminal; in-sync resources are only counted unless asked for.

    `max_rows` caps the rows of each status table (Rich lays out ~2,000 rows a second); the
    rest is summed up in a last row.
    """
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    statuses = ["drifted", "missing", "unmanaged", "unsupported", "ignored"]
    if show_in_sync:
        statuses.append("in_sync")
    for status, items in grouped(report, statuses):
        table = Table(
            title=Text(f"{STATUS_TITLES[status]} ({len(items)})", style=f"bold {STATUS_STYLES[status]}"),
            title_justify="left",
            show_lines=True,
            expand=False,
        )
        table.add_column("Resource", overflow="fold")
        table.add_column("Id", overflow="fold")
        table.add_column("Severity")
        table.add_column("Where", overflow="fold")
        table.add_column("Changes" if status == "drifted" else "Details", overflow="fold")
        shown = items if max_rows is None else items[:max_rows]
        for item in shown:
            if status == "drifted":
                detail = "\n".join(format_change(c) for c in item.changes)
            else:
                detail = item.note or (item.source or "")
            sev = item.severity or ""
            table.add_row(
                Text(label(item)),
                Text(item.id or ""),
                Text(sev, style=SEVERITY_STYLES.get(sev, "")),
                Text(location(item)),
                Text(detail),
            )
        if len(shown) < len(items):
            more = len(items) - len(shown)
            note = Text(f"… and {more} more (see --format json or html)", style="italic")
            table.add_row(note, "", "", "", "")
        console.print(table)
        console.print()
    if report.errors:
        errors = Table(title=Text("Discovery errors", style="bold red"), title_justify="left")
        for col in ("Provider", "Service", "Region", "Kind", "Message"):
            errors.add_column(col, overflow="fold")
        for e in report.errors:
            errors.add_row(
                e.provider, e.service + (f" ({e.type})" if e.type else ""), e.region or "", e.kind, e.message
            )
        console.print(errors)
        console.print()
    console.print(Text(headline(report), style="bold"))
    return buf.getvalue()
